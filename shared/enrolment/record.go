package enrolment

import (
	"fmt"
	"time"
)

// RegistrationRecord is a registration as the edge writes it to the stream
// and the back office stores it. Fields of type []byte named Sealed… are
// SM4-GCM ciphertexts; the …Index fields are HMAC-SM3 blind indexes.
type RegistrationRecord struct {
	// Number is drawn inside the claim script, so it travels in the stream
	// entry's own "number" field, not in the body (see codec.go).
	Number        string
	Year          int
	AcceptedAt    time.Time
	Supplementary bool
	SchemaVersion int
	KeyID         string
	PayloadHash   []byte
	OwnerIndex    []byte

	ChildIndex                []byte
	ChildDocumentType         string
	SealedChildDocumentNumber []byte
	SealedChildName           []byte
	ChildSex                  string
	ChildBirthDate            string
	ChildNationality          string

	CategoryGroup         string
	HukouInShanghai       bool
	HukouProvince         string
	HukouDistrict         string
	HukouStreet           string
	HukouCommittee        string
	SealedHukouAddress    []byte
	ResidenceDistrict     string
	ResidenceStreet       string
	ResidenceCommittee    string
	SealedResidenceAddr   []byte
	HukouAtResidence      bool
	SealedGuardians       []byte
	GuardianIndexes       [][]byte
	GuardianShanghaiHukou bool
	GuardianResidenceDoc  string
	GuardianPoints        bool
	SealedFormValues      []byte
	// CertificateSources is nil on a record sealed by an edge older than
	// codec version 2.
	CertificateSources *CertificateSources
}

// ApplicationRecord is an application as the edge writes it to the stream
// and the back office stores it.
type ApplicationRecord struct {
	Number string // in the stream entry's "number" field

	RegistrationNumber string
	Year               int
	AcceptedAt         time.Time
	Supplementary      bool
	SchemaVersion      int
	KeyID              string
	PayloadHash        []byte
	OwnerIndex         []byte
	ChildIndex         []byte
	DistrictCode       string
	EntryID            int64
	CategoryCode       string
	CampusChoices      []int64
	SealedFormValues   []byte
	// CertificateSources lists the uploaded certificate codes; applications
	// fetch none. It is nil on a record sealed before codec version 2.
	CertificateSources *CertificateSources
}

// CertificateSources is the certificate types (codes) a record attached,
// by where each came from, each type once and sorted. It is the
// non-personal part of the sealed form values, so the dashboards can count
// certificates without opening them.
type CertificateSources struct {
	// Fetched lists the types fetched from the certificate API.
	Fetched []string
	// Uploaded lists the types the parent uploaded files for.
	Uploaded []string
}

// Contexts bind each sealed value to its column, so a ciphertext moved to
// another column does not open.
const (
	ContextChildName           = "registration.child_name"
	ContextChildDocumentNumber = "registration.child_document_number"
	ContextHukouAddress        = "registration.hukou_address"
	ContextResidenceAddress    = "registration.residence_address"
	ContextGuardians           = "registration.guardians"
	ContextRegistrationForm    = "registration.form_values"
	ContextApplicationForm     = "application.form_values"
)

// Stream entry field names.
const (
	StreamFieldKind   = "kind"
	StreamFieldNumber = "number"
	StreamFieldBody   = "body"
)

// DecodeRegistration parses the stream body of registration number, as
// written by EncodeRecord, and checks the fields the database needs.
func DecodeRegistration(number string, body []byte) (RegistrationRecord, error) {
	record, err := decodeRegistrationBody(body)
	if err != nil {
		return record, fmt.Errorf("decode registration %s: %w", number, err)
	}
	record.Number = number
	switch {
	case NumberKind(record.Number) != KindRegistration:
		return record, fmt.Errorf("decode registration: invalid number %q", record.Number)
	case len(record.ChildIndex) == 0, len(record.OwnerIndex) == 0, len(record.SealedChildName) == 0:
		return record, fmt.Errorf("decode registration %s: missing child index, owner or name", record.Number)
	case record.AcceptedAt.IsZero():
		return record, fmt.Errorf("decode registration %s: missing acceptance time", record.Number)
	}
	return record, nil
}

// DecodeApplication parses the stream body of application number, as
// written by EncodeRecord, and checks the fields the database needs.
func DecodeApplication(number string, body []byte) (ApplicationRecord, error) {
	record, err := decodeApplicationBody(body)
	if err != nil {
		return record, fmt.Errorf("decode application %s: %w", number, err)
	}
	record.Number = number
	switch {
	case NumberKind(record.Number) != KindApplication:
		return record, fmt.Errorf("decode application: invalid number %q", record.Number)
	case NumberKind(record.RegistrationNumber) != KindRegistration:
		return record, fmt.Errorf("decode application %s: invalid registration number %q", record.Number, record.RegistrationNumber)
	case len(record.ChildIndex) == 0, len(record.OwnerIndex) == 0, len(record.CampusChoices) == 0:
		return record, fmt.Errorf("decode application %s: missing child index, owner or choices", record.Number)
	case record.AcceptedAt.IsZero():
		return record, fmt.Errorf("decode application %s: missing acceptance time", record.Number)
	}
	return record, nil
}
