package submit

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/document"
	"github.com/sh-preschool/preschool/shared/enrolment"
)

// ChildIndex returns the blind index that makes a child unique within a
// year: the identity document, or for a child without one, the name, birth
// date and the guardians' documents in sorted order (so listing the
// guardians the other way round is the same child).
//
// NOTE: a child without a document registered again with a different set
// of guardians gets another index. Every such registration goes to manual
// verification, where staff catch it.
func ChildIndex(index func(domain string, value []byte) []byte, r *precheck.Registration) []byte {
	if r.Child.Document.Type != document.None {
		return index("child_document", r.Child.Document.IndexValue())
	}
	documents := make([]string, 0, len(r.Guardians))
	for _, guardian := range r.Guardians {
		documents = append(documents, string(document.IndexValue(guardian.DocumentType, guardian.Nationality, guardian.DocumentNumber)))
	}
	slices.Sort(documents)
	return index("child_no_document", []byte(r.Child.Name.Text+"|"+r.Child.BirthDate+"|"+strings.Join(documents, "|")))
}

// registrationForm is the sealed JSON of the form values of a registration
// or an application.
type registrationForm struct {
	Certificates []storedCertificate `json:"certificates,omitempty"`
	Extra        map[string]any      `json:"extra,omitempty"`
}

// storedCertificate is a certificate as the back office reads it: the
// number and holder of a fetched one, the file ID of an uploaded one.
type storedCertificate struct {
	Type   string `json:"type"`
	Source string `json:"source"`
	Number string `json:"number,omitempty"`
	Holder string `json:"holder,omitempty"`
	FileID string `json:"fileId,omitempty"`
}

// certificateSources returns the non-personal part of requests: which
// types were fetched and which uploaded.
func certificateSources(requests []precheck.CertificateRequest) *enrolment.CertificateSources {
	return enrolment.NewCertificateSources(requests, func(c precheck.CertificateRequest) (string, string) { return c.Type, c.Source })
}

func storedCertificates(requests []precheck.CertificateRequest) []storedCertificate {
	stored := make([]storedCertificate, 0, len(requests))
	for _, c := range requests {
		stored = append(stored, storedCertificate{Type: c.Type, Source: c.Source, Number: c.Number, Holder: c.Holder, FileID: c.FileID})
	}
	return stored
}

// seal encrypts one personal value with SM4-GCM under the keyring's active
// key, bound to its column by context.
func (s *Service) seal(plaintext []byte, context string) []byte {
	if PlaintextBuild || s.plaintextForBenchmark {
		return append([]byte{0}, plaintext...)
	}
	return s.Keyring.Seal(plaintext, context)
}

// sealString is seal for a string; the empty string seals to nil.
func (s *Service) sealString(plaintext, context string) []byte {
	if plaintext == "" {
		return nil
	}
	return s.seal([]byte(plaintext), context)
}

func (s *Service) sealRegistration(r *precheck.Registration, owner []byte, now time.Time) (*enrolment.RegistrationRecord, error) {
	keyring := s.Keyring
	record := &enrolment.RegistrationRecord{
		Year:          r.Year,
		AcceptedAt:    now.UTC(),
		SchemaVersion: r.SchemaVersion,
		KeyID:         keyring.ActiveKeyID(),
		OwnerIndex:    owner,
		ChildIndex:    ChildIndex(keyring.Index, r),

		ChildDocumentType:         string(r.Child.Document.Type),
		SealedChildDocumentNumber: s.sealString(r.Child.Document.Number, enrolment.ContextChildDocumentNumber),
		SealedChildName:           s.sealString(r.Child.Name.Text, enrolment.ContextChildName),
		ChildSex:                  r.Child.Sex,
		ChildBirthDate:            r.Child.BirthDate,
		ChildNationality:          r.Child.Document.Nationality,

		CategoryGroup:         r.Facts.Group(),
		HukouInShanghai:       r.Hukou.InShanghai,
		HukouProvince:         r.Hukou.Province,
		HukouDistrict:         r.Hukou.District,
		HukouStreet:           r.Hukou.Street,
		HukouCommittee:        r.Hukou.Committee,
		SealedHukouAddress:    s.sealString(r.Hukou.Address, enrolment.ContextHukouAddress),
		ResidenceDistrict:     r.Residence.District,
		ResidenceStreet:       r.Residence.Street,
		ResidenceCommittee:    r.Residence.Committee,
		SealedResidenceAddr:   s.sealString(r.Residence.Address, enrolment.ContextResidenceAddress),
		HukouAtResidence:      r.Residence.AtHukouAddress,
		GuardianShanghaiHukou: r.Facts.GuardianShanghaiHukou,
		GuardianResidenceDoc:  r.Facts.GuardianResidenceDocument,
		GuardianPoints:        r.Facts.GuardianPointsQualified,
		CertificateSources:    certificateSources(r.Certificates),
	}
	if record.ChildNationality == "" {
		record.ChildNationality = "ZZZ" // a child without a document; ISO 3166 user-assigned "unknown"
	}

	guardians, err := json.Marshal(r.Guardians)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSeal, err)
	}
	record.SealedGuardians = s.seal(guardians, enrolment.ContextGuardians)
	for _, guardian := range r.Guardians {
		record.GuardianIndexes = append(record.GuardianIndexes,
			keyring.Index("guardian_document", document.IndexValue(guardian.DocumentType, guardian.Nationality, guardian.DocumentNumber)))
	}
	form := registrationForm{Certificates: storedCertificates(r.Certificates), Extra: r.Extra}
	var formValues []byte
	if len(form.Certificates) > 0 || len(form.Extra) > 0 {
		if formValues, err = json.Marshal(form); err != nil {
			return nil, fmt.Errorf("%w: %w", errSeal, err)
		}
		record.SealedFormValues = s.seal(formValues, enrolment.ContextRegistrationForm)
	}

	hasher := newPayloadHasher()
	hasher.add(string(owner), strconv.Itoa(r.Year), strconv.Itoa(r.SchemaVersion),
		r.Child.Name.Text, r.Child.Sex, r.Child.BirthDate, string(r.Child.Document.Type), r.Child.Document.Number, r.Child.Document.Nationality,
		flag(r.Hukou.InShanghai), r.Hukou.Province, r.Hukou.District, r.Hukou.Street, r.Hukou.Committee, r.Hukou.Address,
		r.Residence.District, r.Residence.Street, r.Residence.Committee, r.Residence.Address, flag(r.Residence.AtHukouAddress))
	// The JSON just sealed is the guardians' and form values' normal form
	// (maps marshal with sorted keys), so it is hashed as it is.
	hasher.add(string(guardians), string(formValues))
	record.PayloadHash = hasher.bytes()
	return record, nil
}

func (s *Service) sealApplication(a *precheck.Application, facts *precheck.RegistrationFacts, owner []byte, now time.Time) (*enrolment.ApplicationRecord, error) {
	record := &enrolment.ApplicationRecord{
		RegistrationNumber: facts.Number,
		Year:               a.Year,
		AcceptedAt:         now.UTC(),
		SchemaVersion:      a.SchemaVersion,
		KeyID:              s.Keyring.ActiveKeyID(),
		OwnerIndex:         owner,
		ChildIndex:         facts.ChildIndex,
		DistrictCode:       a.DistrictCode,
		EntryID:            a.EntryID,
		CategoryCode:       a.CategoryCode,
		CampusChoices:      a.CampusChoices,
		CertificateSources: certificateSources(a.Certificates),
	}
	form := registrationForm{Certificates: storedCertificates(a.Certificates), Extra: a.Extra}
	if len(form.Certificates) > 0 || len(form.Extra) > 0 {
		values, err := json.Marshal(form)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errSeal, err)
		}
		record.SealedFormValues = s.seal(values, enrolment.ContextApplicationForm)
	}

	hasher := newPayloadHasher()
	hasher.add(string(owner), facts.Number, a.DistrictCode, a.CategoryCode, strconv.Itoa(a.SchemaVersion))
	for _, campus := range a.CampusChoices {
		hasher.add(strconv.FormatInt(campus, 10))
	}
	if err := hasher.addJSON(a.Extra); err != nil {
		return nil, fmt.Errorf("%w: %w", errSeal, err)
	}
	// Files are hashed only when there are some, so an application without
	// certificates keeps the hash it had before applications carried them.
	for _, certificate := range a.Certificates {
		hasher.add(certificate.Type, certificate.FileID)
	}
	record.PayloadHash = hasher.bytes()
	return record, nil
}
