package review_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/review"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// certificateJSON is a certificate as the edge seals it in form values.
type certificateJSON struct {
	Type   string `json:"type"`
	Source string `json:"source"`
	Number string `json:"number,omitempty"`
	Holder string `json:"holder,omitempty"`
	FileID string `json:"fileId,omitempty"`
}

// sealCertificates replaces the form values of a registration or an
// application with the certificates.
func (f *fixture) sealCertificates(t *testing.T, table, column, number, context string, certificates ...certificateJSON) {
	t.Helper()
	plain, err := json.Marshal(map[string]any{"certificates": certificates})
	if err != nil {
		t.Fatal(err)
	}
	sealed := f.env.Keyring.Seal(plain, context)
	if _, err := f.env.DB.DB.Exec(`UPDATE `+table+` SET form_values = $2 WHERE `+column+` = $1`, number, sealed); err != nil {
		t.Fatalf("seal certificates of %s: %v", number, err)
	}
}

// listCertificates saves Xuhui's admission rules for the year with the
// certificates to verify.
func (f *fixture) listCertificates(t *testing.T, codes ...string) {
	t.Helper()
	_, err := f.env.DB.DB.Exec(`
		INSERT INTO admission_rule (enrolment_year, district_code, category_order, verified_certificates,
		                            priority_criteria, updated_by, updated_by_name)
		SELECT $1, $2, array_agg(category_code), $3, '{}', 0, 'test'
		FROM entry WHERE enrolment_year = $1 AND district_code = $2
		ON CONFLICT (enrolment_year, district_code) DO UPDATE SET verified_certificates = EXCLUDED.verified_certificates`,
		f.env.Year.Year, xuhui, codes)
	if err != nil {
		t.Fatalf("save admission rules: %v", err)
	}
}

func (f *fixture) verification(t *testing.T, number string) review.Verification {
	t.Helper()
	var view review.Verification
	f.xuhui.Get(t, "/api/v1/applications/"+number+"/verification").Decode(t, &view)
	return view
}

func checkPath(number, code string) string {
	return "/api/v1/applications/" + number + "/verification/certificates/" + code
}

func certificateByCode(t *testing.T, view review.Verification, code string) review.CertificateCheck {
	t.Helper()
	for _, certificate := range view.Certificates {
		if certificate.Code == code {
			return certificate
		}
	}
	t.Fatalf("verification of %s lists no %s: %+v", view.ApplicationNumber, code, view.Certificates)
	return review.CertificateCheck{}
}

func TestVerificationFlow(t *testing.T) {
	f := newFixture(t)
	registration, application := f.registerAndApply(t, 1)
	verifyPath := "/api/v1/applications/" + application + "/verification"

	// Without certificates in the rules there is nothing to verify.
	f.xuhui.Send(t, http.MethodPost, verifyPath, map[string]string{"revision": f.verification(t, application).Revision}).
		Expect(t, http.StatusConflict, "no_certificates_to_verify")

	f.listCertificates(t, "birth_certificate", "property_certificate")
	f.sealCertificates(t, "registration", "registration_number", registration, enrol.ContextRegistrationForm,
		certificateJSON{Type: "birth_certificate", Source: "prefill", Number: "BC3101042023000123", Holder: "resident_id:310104202301010011"})

	view := f.verification(t, application)
	if len(view.Certificates) != 2 || view.Complete || view.Status != enrol.StatusRecorded {
		t.Fatalf("verification = %+v, want two unchecked certificates of a recorded application", view)
	}
	birth := certificateByCode(t, view, "birth_certificate")
	if len(birth.Copies) != 1 || birth.Copies[0].RecordNumber != registration || birth.Verified != nil {
		t.Fatalf("birth certificate = %+v, want one unchecked copy from the registration", birth)
	}
	if c := birth.Copies[0]; !strings.HasSuffix(c.Number, "0123") || c.Number == "BC3101042023000123" {
		t.Errorf("copy number = %q, want the number masked", c.Number)
	}
	if c := birth.Copies[0]; !strings.HasSuffix(c.Holder, "0011") || strings.Contains(c.Holder, "310104202301010011") {
		t.Errorf("copy holder = %q, want the holder's document number masked", c.Holder)
	}
	if property := certificateByCode(t, view, "property_certificate"); len(property.Copies) != 0 {
		t.Errorf("property certificate copies = %+v, want none", property.Copies)
	}

	// Staff outside Xuhui and city staff change nothing.
	f.changning.Get(t, verifyPath).Expect(t, http.StatusForbidden, "out_of_scope")
	f.changning.Send(t, http.MethodPut, checkPath(application, "birth_certificate"),
		map[string]any{"verified": true, "revision": view.Revision}).Expect(t, http.StatusForbidden, "out_of_scope")
	city := f.server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity})
	city.Send(t, http.MethodPut, checkPath(application, "birth_certificate"),
		map[string]any{"verified": true, "revision": view.Revision}).Expect(t, http.StatusForbidden, "verification_district_only")

	// Bad requests get a stable code.
	f.xuhui.Send(t, http.MethodPut, checkPath(application, "birth_certificate"), map[string]any{"revision": view.Revision}).
		Expect(t, http.StatusBadRequest, "verified_required")
	f.xuhui.Send(t, http.MethodPut, checkPath(application, "Birth-Certificate"), map[string]any{"verified": true, "revision": view.Revision}).
		Expect(t, http.StatusBadRequest, "invalid_certificate_code")
	f.xuhui.Send(t, http.MethodPut, checkPath(application, "household_register"), map[string]any{"verified": true, "revision": view.Revision}).
		Expect(t, http.StatusBadRequest, "certificate_not_listed")
	f.xuhui.Send(t, http.MethodPut, checkPath(application, "property_certificate"), map[string]any{"verified": true, "revision": view.Revision}).
		Expect(t, http.StatusConflict, "certificate_missing")
	f.xuhui.Send(t, http.MethodPut, checkPath(application, "birth_certificate"), map[string]any{"verified": true, "revision": "outdated"}).
		Expect(t, http.StatusConflict, "verification_changed")

	var checked review.Verification
	f.xuhui.Send(t, http.MethodPut, checkPath(application, "birth_certificate"), map[string]any{"verified": true, "revision": view.Revision}).
		Decode(t, &checked)
	if birth := certificateByCode(t, checked, "birth_certificate"); birth.Verified == nil || !*birth.Verified || birth.CheckedBy == "" {
		t.Errorf("birth certificate after the check = %+v, want verified by the reviewer", birth)
	}
	f.xuhui.Send(t, http.MethodPost, verifyPath, map[string]string{"revision": checked.Revision}).
		Expect(t, http.StatusConflict, "certificates_not_verified")

	// The family's uploaded property certificate arrives with the
	// application: a page read before that is outdated.
	f.sealCertificates(t, "application", "application_number", application, enrol.ContextApplicationForm,
		certificateJSON{Type: "property_certificate", Source: "upload", FileID: strings.Repeat("ab", 16)})
	f.xuhui.Send(t, http.MethodPut, checkPath(application, "property_certificate"), map[string]any{"verified": true, "revision": checked.Revision}).
		Expect(t, http.StatusConflict, "verification_changed")
	view = f.verification(t, application)
	if property := certificateByCode(t, view, "property_certificate"); len(property.Copies) != 1 || property.Copies[0].FileID == "" ||
		property.Copies[0].RecordNumber != application {
		t.Fatalf("property certificate = %+v, want the uploaded file of the application", property)
	}
	f.xuhui.Send(t, http.MethodPut, checkPath(application, "property_certificate"), map[string]any{"verified": true, "revision": view.Revision}).
		Decode(t, &view)
	if !view.Complete {
		t.Fatalf("verification = %+v, want complete", view)
	}

	// A change of the registration's birth certificate outdates its check.
	f.sealCertificates(t, "registration", "registration_number", registration, enrol.ContextRegistrationForm,
		certificateJSON{Type: "birth_certificate", Source: "prefill", Number: "BC3101042023000999", Holder: "resident_id:310104202301010011"})
	view = f.verification(t, application)
	if birth := certificateByCode(t, view, "birth_certificate"); !birth.Outdated || view.Complete {
		t.Fatalf("birth certificate after the change = %+v (complete %v), want an outdated check", birth, view.Complete)
	}
	f.xuhui.Send(t, http.MethodPost, verifyPath, map[string]string{"revision": view.Revision}).
		Expect(t, http.StatusConflict, "certificates_not_verified")
	f.xuhui.Send(t, http.MethodPut, checkPath(application, "birth_certificate"), map[string]any{"verified": true, "revision": view.Revision}).
		Decode(t, &view)

	var verified review.Verification
	f.xuhui.Send(t, http.MethodPost, verifyPath, map[string]string{"revision": view.Revision}).Decode(t, &verified)
	if verified.Status != enrol.StatusDocumentsVerified || verified.ParentStatusSynced == nil || !*verified.ParentStatusSynced {
		t.Errorf("verification = %+v, want documents_verified and synced", verified)
	}
	if got := f.status(t, "application", "application_number", application); got != enrol.StatusDocumentsVerified {
		t.Errorf("application status = %q, want documents_verified", got)
	}
	if got := f.env.Receipt(t, application)[enrol.FieldStatus]; got != enrol.StatusDocumentsVerified {
		t.Errorf("receipt status = %q, want documents_verified", got)
	}
	var audited struct {
		Actor  string `db:"actor_name"`
		Detail string `db:"detail"`
	}
	err := f.env.DB.DB.Get(&audited, `SELECT actor_name, detail FROM audit_event WHERE action = $1 AND resource_id = $2`,
		review.ActionVerify, application)
	if err != nil {
		t.Fatalf("audit event of the verification: %v", err)
	}
	if audited.Actor == "" || !strings.Contains(audited.Detail, "验证通过") {
		t.Errorf("audit event = %+v, want the reviewer and the decision", audited)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM audit_event WHERE action = $1 AND resource_id = $2`,
		review.ActionCertificateCheck, application); n != 3 {
		t.Errorf("audited certificate checks = %d, want 3", n)
	}

	// Repeating the verification changes nothing.
	f.xuhui.Send(t, http.MethodPost, verifyPath, map[string]string{"revision": verified.Revision}).Expect(t, http.StatusOK, "")
	if n := f.env.Count(t, `SELECT count(*) FROM audit_event WHERE action = $1 AND resource_id = $2`, review.ActionVerify, application); n != 1 {
		t.Errorf("audited verifications after a repeat = %d, want 1", n)
	}

	// A certificate found wrong afterwards sets the application back.
	f.xuhui.Send(t, http.MethodPut, checkPath(application, "property_certificate"), map[string]any{"verified": false, "revision": verified.Revision}).
		Decode(t, &view)
	if view.Status != enrol.StatusRecorded || view.Complete {
		t.Errorf("verification after a failed check = %+v, want recorded and incomplete", view)
	}
	if got := f.env.Receipt(t, application)[enrol.FieldStatus]; got != enrol.StatusRecorded {
		t.Errorf("receipt status = %q, want recorded", got)
	}
}

func TestVerificationConcurrentReviewers(t *testing.T) {
	f := newFixture(t)
	registration, application := f.registerAndApply(t, 2)
	f.listCertificates(t, "birth_certificate")
	f.sealCertificates(t, "registration", "registration_number", registration, enrol.ContextRegistrationForm,
		certificateJSON{Type: "birth_certificate", Source: "prefill", Number: "BC3101042023000456", Holder: "resident_id:310104202301010022"})
	second := f.server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: xuhui})

	// Both reviewers open the page; the first marks the certificate wrong,
	// and the second's 通过, made on the page before that, is rejected.
	seen := f.verification(t, application)
	f.xuhui.Send(t, http.MethodPut, checkPath(application, "birth_certificate"), map[string]any{"verified": false, "revision": seen.Revision}).
		Expect(t, http.StatusOK, "")
	second.Send(t, http.MethodPut, checkPath(application, "birth_certificate"), map[string]any{"verified": true, "revision": seen.Revision}).
		Expect(t, http.StatusConflict, "verification_changed")
	second.Send(t, http.MethodPost, "/api/v1/applications/"+application+"/verification", map[string]string{"revision": seen.Revision}).
		Expect(t, http.StatusConflict, "verification_changed")
	if got := f.status(t, "application", "application_number", application); got != enrol.StatusRecorded {
		t.Errorf("application status = %q, want recorded", got)
	}
}

func TestVerificationClearedByReturn(t *testing.T) {
	f := newFixture(t)
	registration, application := f.registerAndApply(t, 3)
	f.listCertificates(t, "birth_certificate")
	f.sealCertificates(t, "registration", "registration_number", registration, enrol.ContextRegistrationForm,
		certificateJSON{Type: "birth_certificate", Source: "prefill", Number: "BC3101042023000789", Holder: "resident_id:310104202301010033"})
	verifyPath := "/api/v1/applications/" + application + "/verification"

	view := f.verification(t, application)
	f.xuhui.Send(t, http.MethodPut, checkPath(application, "birth_certificate"), map[string]any{"verified": true, "revision": view.Revision}).
		Decode(t, &view)
	f.xuhui.Send(t, http.MethodPost, verifyPath, map[string]string{"revision": view.Revision}).Decode(t, &view)

	// A reviewer who read the verified page before the return cannot mark
	// anything afterwards.
	f.xuhui.Send(t, http.MethodPost, "/api/v1/applications/"+application+"/return", map[string]string{"reason": "材料不清晰"}).
		Expect(t, http.StatusOK, "")
	if n := f.env.Count(t, `SELECT count(*) FROM application_certificate_check WHERE application_number = $1`, application); n != 0 {
		t.Errorf("certificate checks after the return = %d, want 0", n)
	}
	f.xuhui.Send(t, http.MethodPut, checkPath(application, "birth_certificate"), map[string]any{"verified": true, "revision": view.Revision}).
		Expect(t, http.StatusConflict, "application_not_verifiable")
	f.xuhui.Send(t, http.MethodPost, verifyPath, map[string]string{"revision": view.Revision}).
		Expect(t, http.StatusConflict, "application_not_verifiable")

	// The family's new application starts unchecked.
	again, err := f.applyAgain(t, 3, registration)
	if err != nil {
		t.Fatalf("apply again: %v", err)
	}
	f.env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM application WHERE application_number = $1`, again)
	fresh := f.verification(t, again)
	if birth := certificateByCode(t, fresh, "birth_certificate"); birth.Verified != nil || fresh.Complete || fresh.Status != enrol.StatusRecorded {
		t.Errorf("new application's verification = %+v, want an unchecked recorded application", fresh)
	}
}
