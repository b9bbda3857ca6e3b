package enrolment

import (
	"encoding/json"
	"fmt"
	"time"
)

// RegistrationRecord is a registration as the edge writes it to the stream
// and the back office stores it. Fields of type []byte named Sealed… are
// SM4-GCM ciphertexts; the …Index fields are HMAC-SM3 blind indexes.
type RegistrationRecord struct {
	// Number is drawn inside the claim script, so it travels in the stream
	// entry's own "number" field, not in the body.
	Number        string    `json:"-"`
	Year          int       `json:"year"`
	AcceptedAt    time.Time `json:"acceptedAt"`
	Supplementary bool      `json:"supplementary"`
	SchemaVersion int       `json:"schemaVersion"`
	KeyID         string    `json:"keyId"`
	PayloadHash   []byte    `json:"payloadHash"`
	OwnerIndex    []byte    `json:"ownerIndex"`

	ChildIndex                []byte `json:"childIndex"`
	ChildDocumentType         string `json:"childDocumentType"`
	SealedChildDocumentNumber []byte `json:"childDocumentNumber,omitempty"`
	SealedChildName           []byte `json:"childName"`
	ChildSex                  string `json:"childSex"`
	ChildBirthDate            string `json:"childBirthDate"`
	ChildNationality          string `json:"childNationality"`

	CategoryGroup         string   `json:"categoryGroup"`
	HukouInShanghai       bool     `json:"hukouInShanghai"`
	HukouProvince         string   `json:"hukouProvince,omitempty"`
	HukouDistrict         string   `json:"hukouDistrict,omitempty"`
	HukouStreet           string   `json:"hukouStreet,omitempty"`
	HukouCommittee        string   `json:"hukouCommittee,omitempty"`
	SealedHukouAddress    []byte   `json:"hukouAddress,omitempty"`
	ResidenceDistrict     string   `json:"residenceDistrict"`
	ResidenceStreet       string   `json:"residenceStreet"`
	ResidenceCommittee    string   `json:"residenceCommittee,omitempty"`
	SealedResidenceAddr   []byte   `json:"residenceAddress"`
	HukouAtResidence      bool     `json:"hukouAtResidence"`
	SealedGuardians       []byte   `json:"guardians"`
	GuardianIndexes       [][]byte `json:"guardianIndexes"`
	GuardianShanghaiHukou bool     `json:"guardianShanghaiHukou"`
	GuardianResidenceDoc  string   `json:"guardianResidenceDocument,omitempty"`
	GuardianPoints        bool     `json:"guardianPointsQualified"`
	SealedFormValues      []byte   `json:"formValues,omitempty"`
}

// ApplicationRecord is an application as the edge writes it to the stream
// and the back office stores it.
type ApplicationRecord struct {
	Number string `json:"-"` // in the stream entry's "number" field

	RegistrationNumber string    `json:"registrationNumber"`
	Year               int       `json:"year"`
	AcceptedAt         time.Time `json:"acceptedAt"`
	Supplementary      bool      `json:"supplementary"`
	SchemaVersion      int       `json:"schemaVersion"`
	KeyID              string    `json:"keyId"`
	PayloadHash        []byte    `json:"payloadHash"`
	OwnerIndex         []byte    `json:"ownerIndex"`
	ChildIndex         []byte    `json:"childIndex"`
	DistrictCode       string    `json:"districtCode"`
	EntryID            int64     `json:"entryId"`
	CategoryCode       string    `json:"categoryCode"`
	CampusChoices      []int64   `json:"campusChoices"`
	SealedFormValues   []byte    `json:"formValues,omitempty"`
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

// EncodeRecord returns the stream body of a RegistrationRecord or an
// ApplicationRecord.
func EncodeRecord(record any) ([]byte, error) {
	return json.Marshal(record)
}

// DecodeRegistration parses the stream body of registration number, as
// written by EncodeRecord, and checks the fields the database needs.
func DecodeRegistration(number string, body []byte) (RegistrationRecord, error) {
	var record RegistrationRecord
	if err := json.Unmarshal(body, &record); err != nil {
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
	var record ApplicationRecord
	if err := json.Unmarshal(body, &record); err != nil {
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
