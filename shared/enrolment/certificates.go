package enrolment

import (
	"slices"
	"time"
)

// CertificateAPIType is a certificate type the certificate API (用证接口)
// serves, with its Chinese name.
type CertificateAPIType struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// CertificateAPITypes lists the types the certificate API serves, the same
// list the certificate simulator and the edge's prefill accept.
var CertificateAPITypes = []CertificateAPIType{
	{Code: "birth_certificate", Name: "出生医学证明"},
	{Code: "household_register", Name: "户口簿"},
	{Code: "residence_permit", Name: "上海市居住证"},
	{Code: "property_certificate", Name: "不动产权证书"},
	{Code: "tenancy_registration", Name: "租赁登记备案证明"},
}

// Outcomes of one certificate type in one prefill call.
const (
	// CallSuccess: the certificate API returned a certificate of the type.
	CallSuccess = "success"
	// CallNotFound: the certificate API responded without that type.
	CallNotFound = "not_found"
	// CallFailure: the certificate API failed, timed out or its circuit
	// breaker was open.
	CallFailure = "failure"
)

// UnknownDistrict stands for the district of a prefill call made before
// the parent chose a residence district.
const UnknownDistrict = "unknown"

// CertificateCallRetention is how long the prefill counters of a day are
// kept: three enrolment years, the longest custom range of a dashboard.
const CertificateCallRetention = 3 * 366 * 24 * time.Hour

// CertificateCallDays is the set of Shanghai days (YYYY-MM-DD) that have
// prefill counters, so a reader finds them without scanning keys.
func (k Keys) CertificateCallDays() string { return k.Prefix + "certcalls:days" }

// CertificateCalls is the hash of one Shanghai day's prefill counts. A
// field is CertificateCallField(district, type, outcome).
func (k Keys) CertificateCalls(day string) string { return k.Prefix + "certcalls:" + day }

// CertificateCallers is the HyperLogLog of the owner blind indexes (hex)
// that called the certificate API on one Shanghai day from the forms of
// one district.
func (k Keys) CertificateCallers(day, district string) string {
	return k.Prefix + "certcallers:" + day + ":" + district
}

// CertificateCallField names one counter of a CertificateCalls hash. None
// of the three parts contains a colon.
func CertificateCallField(district, certificateType, outcome string) string {
	return district + ":" + certificateType + ":" + outcome
}

// NewCertificateSources returns the types fetched (source "prefill") and
// uploaded (source "upload") among certificates, each once and sorted.
func NewCertificateSources[C any](certificates []C, typeAndSource func(C) (string, string)) *CertificateSources {
	sources := &CertificateSources{}
	for _, certificate := range certificates {
		certificateType, source := typeAndSource(certificate)
		switch source {
		case "prefill":
			sources.Fetched = append(sources.Fetched, certificateType)
		case "upload":
			sources.Uploaded = append(sources.Uploaded, certificateType)
		}
	}
	slices.Sort(sources.Fetched)
	sources.Fetched = slices.Compact(sources.Fetched)
	slices.Sort(sources.Uploaded)
	sources.Uploaded = slices.Compact(sources.Uploaded)
	return sources
}
