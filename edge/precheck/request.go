// Package precheck validates parents' submissions before they are accepted
// (条件预检): identity documents by their own rules, names, phones and
// addresses, the enrolment year's age window, the household category's
// consistency, required fields and the published form's extra fields.
package precheck

// RegistrationRequest is the JSON body of POST /api/v1/registrations.
type RegistrationRequest struct {
	EnrolmentYear int                  `json:"enrolmentYear"`
	SchemaVersion int                  `json:"schemaVersion"`
	Child         ChildRequest         `json:"child"`
	Residence     ResidenceRequest     `json:"residence"`
	Guardians     []GuardianRequest    `json:"guardians"`
	Certificates  []CertificateRequest `json:"certificates"`
	Extra         map[string]any       `json:"extra"`
}

// ChildRequest is the child part of a registration.
type ChildRequest struct {
	Name      string          `json:"name"`
	Sex       string          `json:"sex"`
	BirthDate string          `json:"birthDate"`
	Document  DocumentRequest `json:"document"`
	Hukou     HukouRequest    `json:"hukou"`
}

// DocumentRequest is an identity document as typed by the parent.
type DocumentRequest struct {
	Type        string `json:"type"`
	Number      string `json:"number"`
	Nationality string `json:"nationality"`
}

// HukouRequest is the child's household registration. Codes apply only when
// InShanghai is true, Province only when it is false.
type HukouRequest struct {
	InShanghai    bool   `json:"inShanghai"`
	Province      string `json:"province"`
	DistrictCode  string `json:"districtCode"`
	StreetCode    string `json:"streetCode"`
	CommitteeCode string `json:"committeeCode"`
	Address       string `json:"address"`
}

// ResidenceRequest is where the child lives.
type ResidenceRequest struct {
	DistrictCode   string `json:"districtCode"`
	StreetCode     string `json:"streetCode"`
	CommitteeCode  string `json:"committeeCode"`
	Address        string `json:"address"`
	AtHukouAddress bool   `json:"atHukouAddress"`
}

// GuardianRequest is one guardian of the child.
type GuardianRequest struct {
	Relation          string                    `json:"relation"`
	Name              string                    `json:"name"`
	Phone             string                    `json:"phone"`
	Document          DocumentRequest           `json:"document"`
	HukouInShanghai   bool                      `json:"hukouInShanghai"`
	ShanghaiResidence *ShanghaiResidenceRequest `json:"shanghaiResidence"`
}

// ShanghaiResidenceRequest is a guardian's Shanghai residence document.
type ShanghaiResidenceRequest struct {
	Type            string `json:"type"`
	Number          string `json:"number"`
	PointsQualified bool   `json:"pointsQualified"`
}

// CertificateRequest is a certificate the parent attached, fetched from the
// certificate API (source "prefill", with the token the prefill call
// returned) or uploaded (source "upload", with the file's ID).
type CertificateRequest struct {
	Type         string `json:"type"`
	Source       string `json:"source"`
	PrefillToken string `json:"prefillToken,omitempty"`
	FileID       string `json:"fileId,omitempty"`
	// Number and Holder are filled in by the edge from the prefill token;
	// a client cannot set them.
	Number string `json:"-"`
	Holder string `json:"-"`
}

// ApplicationRequest is the JSON body of POST /api/v1/applications.
type ApplicationRequest struct {
	RegistrationNumber string         `json:"registrationNumber"`
	DistrictCode       string         `json:"districtCode"`
	CategoryCode       string         `json:"categoryCode"`
	CampusChoices      []int64        `json:"campusChoices"`
	SchemaVersion      int            `json:"schemaVersion"`
	Extra              map[string]any `json:"extra"`
	// Certificates are the files uploaded for the certificates that the
	// entry's form requests: source "upload", Type the certificate's code,
	// one element per file.
	Certificates []CertificateRequest `json:"certificates"`
}
