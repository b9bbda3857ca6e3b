package review

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/admission"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/backoffice/masking"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Errors of document verification.
var (
	errVerifyDistrictOnly = apierror.New(http.StatusForbidden, "verification_district_only",
		"只有区级工作人员可以核验本区报名的材料。")
	errNotVerifiable = apierror.New(http.StatusConflict, "application_not_verifiable",
		"只有已入库或验证通过的报名可以核验材料；已退回、已录取、未录取或已删除的报名不能核验。")
	errVerificationChanged = apierror.New(http.StatusConflict, "verification_changed",
		"该报名的材料或核验结果已被他人修改，请刷新后重新核验。")
	errNothingToVerify = apierror.New(http.StatusConflict, "no_certificates_to_verify",
		"本区本年度录取规则没有设置需验证的证件材料，请先在“录取规则”中选择需验证的证件材料。")
	errCertificateNotListed = apierror.Invalid("code", "certificate_not_listed",
		"该证件材料不在本区本年度需验证的证件材料中，请刷新后重试。")
	errCertificateMissing = apierror.New(http.StatusConflict, "certificate_missing",
		"家长没有提供该证件材料，不能核验通过；可退回报名，请家长补充材料后重新报名。")
	errChecksIncomplete = apierror.New(http.StatusConflict, "certificates_not_verified",
		"还有需验证的证件材料没有核验通过，全部核验通过后才能标记验证通过。")
)

// certificateCode is the shape of form_certificate.code.
var certificateCode = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)

// CertificateCopy is one copy of a certificate that the family provided.
type CertificateCopy struct {
	// Source is "prefill" for an electronic certificate fetched from the
	// certificate API, "upload" for a file, "supplementary" for one a
	// district admin recorded.
	Source      string `json:"source"`
	SourceLabel string `json:"sourceLabel"`
	// RecordNumber is the registration or application whose form values
	// carry the copy. GET /api/v1/forms/filled/{RecordNumber}/files/{FileID}
	// serves an uploaded file.
	RecordNumber string `json:"recordNumber"`
	// Number is the certificate's number and Holder the holder's identity
	// document number, both masked unless the staff member may see them.
	Number string `json:"number,omitempty"`
	Holder string `json:"holder,omitempty"`
	FileID string `json:"fileId,omitempty"`
}

// CertificateCheck is one certificate the rules list, with the copies the
// family provided and the reviewer's check.
type CertificateCheck struct {
	Code   string            `json:"code"`
	Name   string            `json:"name"`
	Copies []CertificateCopy `json:"copies"`
	// Verified is null before the first check.
	Verified *bool `json:"verified"`
	// Outdated is true when the certificate data changed after the check,
	// which then does not count.
	Outdated  bool       `json:"outdated"`
	CheckedBy string     `json:"checkedBy,omitempty"`
	CheckedAt *time.Time `json:"checkedAt,omitempty"`
}

// Verification is the response of the verification endpoints.
type Verification struct {
	ApplicationNumber  string             `json:"applicationNumber"`
	RegistrationNumber string             `json:"registrationNumber"`
	Status             string             `json:"status"`
	StatusLabel        string             `json:"statusLabel"`
	Certificates       []CertificateCheck `json:"certificates"`
	// Complete is true when every listed certificate has a verified check
	// on its current data, so the application may be marked verified.
	Complete bool `json:"complete"`
	// Revision identifies the status, review version and certificate data
	// this response shows. A change sends it back and is rejected when it
	// differs from the stored state.
	Revision string `json:"revision"`
	// ParentStatusSynced is set after a status change. It is false when
	// Redis could not be updated, and the parent's status page then shows
	// the old status.
	ParentStatusSynced *bool `json:"parentStatusSynced,omitempty"`
}

// verificationRow is an application with what verification reads.
type verificationRow struct {
	Number             string `db:"application_number"`
	RegistrationNumber string `db:"registration_number"`
	Year               int    `db:"enrolment_year"`
	DistrictCode       string `db:"district_code"`
	Status             string `db:"status"`
	ReviewVersion      int    `db:"review_version"`
	ApplicationForm    []byte `db:"application_form"`
	RegistrationForm   []byte `db:"registration_form"`
	InScope            bool   `db:"in_scope"`
}

// readForVerification reads an application and its registration's form
// values. With lock it locks the application row for update and the
// registration row for share, so neither a return nor a change of the
// registration's certificates (补报名) commits between the read and the
// caller's commit. It returns errNotFound when there is none and
// access.ErrOutOfScope when it lies outside scope.
func readForVerification(ctx context.Context, q sqlx.QueryerContext, scope access.Scope, number string, lock bool) (verificationRow, error) {
	condition := scope.Filter(enrolment.ApplicationColumns, 2)
	query := `
		SELECT a.application_number, a.registration_number, a.enrolment_year, a.district_code, a.status,
		       a.review_version, a.form_values AS application_form, r.form_values AS registration_form,
		       (` + condition.SQL + `) IS TRUE AS in_scope
		FROM application a
		JOIN registration r ON r.registration_number = a.registration_number
		WHERE a.application_number = $1`
	if lock {
		query += ` FOR UPDATE OF a FOR SHARE OF r`
	}
	var row verificationRow
	err := sqlx.GetContext(ctx, q, &row, query, append([]any{number}, condition.Args...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return row, errNotFound
	}
	if err != nil {
		return row, err
	}
	if !row.InScope {
		return row, access.ErrOutOfScope
	}
	return row, nil
}

// sealedCertificate is a certificate as the edge and the supplementary
// application seal it in form values.
type sealedCertificate struct {
	Type   string `json:"type"`
	Source string `json:"source"`
	Number string `json:"number,omitempty"`
	Holder string `json:"holder,omitempty"`
	FileID string `json:"fileId,omitempty"`
}

// openCertificates returns the certificates in sealed form values.
func (h *Handlers) openCertificates(sealed []byte, context, number string) ([]sealedCertificate, error) {
	if len(sealed) == 0 {
		return nil, nil
	}
	plain, err := h.Keyring.Open(sealed, context)
	if err != nil {
		return nil, fmt.Errorf("open the form values of %s: %w", number, err)
	}
	var values struct {
		Certificates []sealedCertificate `json:"certificates"`
	}
	if err := json.Unmarshal(plain, &values); err != nil {
		return nil, fmt.Errorf("decode the form values of %s: %w", number, err)
	}
	return values.Certificates, nil
}

// storedCheck is an application_certificate_check row.
type storedCheck struct {
	Code      string    `db:"certificate_code"`
	Verified  bool      `db:"verified"`
	Digest    []byte    `db:"certificate_digest"`
	CheckedBy string    `db:"checked_by_name"`
	CheckedAt time.Time `db:"checked_at"`
}

var copySourceLabels = map[string]string{"prefill": "电子证照", "upload": "家长上传", "supplementary": "补报名时补录"}

// copiedCertificate is one copy with the record that carries it.
type copiedCertificate struct {
	RecordNumber string `json:"recordNumber"`
	sealedCertificate
}

// buildVerification returns the verification state of an application and
// the digest of each listed certificate's current data, by code.
func (h *Handlers) buildVerification(ctx context.Context, q sqlx.QueryerContext, row verificationRow, policy masking.Policy) (Verification, map[string][]byte, error) {
	view := Verification{
		ApplicationNumber: row.Number, RegistrationNumber: row.RegistrationNumber,
		Status: row.Status, StatusLabel: enrol.StatusLabel(row.Status), Certificates: []CertificateCheck{},
	}
	listed, err := admission.CertificatesToVerify(ctx, q, row.Year, row.DistrictCode)
	if err != nil {
		return view, nil, err
	}
	registrationCopies, err := h.openCertificates(row.RegistrationForm, enrol.ContextRegistrationForm, row.RegistrationNumber)
	if err != nil {
		return view, nil, err
	}
	applicationCopies, err := h.openCertificates(row.ApplicationForm, enrol.ContextApplicationForm, row.Number)
	if err != nil {
		return view, nil, err
	}
	var stored []storedCheck
	err = sqlx.SelectContext(ctx, q, &stored, `
		SELECT certificate_code, verified, certificate_digest, checked_by_name, checked_at
		FROM application_certificate_check WHERE application_number = $1`, row.Number)
	if err != nil {
		return view, nil, err
	}
	checks := make(map[string]storedCheck, len(stored))
	for _, check := range stored {
		checks[check.Code] = check
	}

	digests := make(map[string][]byte, len(listed))
	revision := []string{row.Status, strconv.Itoa(row.ReviewVersion)}
	view.Complete = len(listed) > 0
	for _, certificate := range listed {
		var copies []copiedCertificate
		for _, c := range registrationCopies {
			if c.Type == certificate.Value {
				copies = append(copies, copiedCertificate{RecordNumber: row.RegistrationNumber, sealedCertificate: c})
			}
		}
		for _, c := range applicationCopies {
			if c.Type == certificate.Value {
				copies = append(copies, copiedCertificate{RecordNumber: row.Number, sealedCertificate: c})
			}
		}
		digest, err := h.certificateDigest(certificate.Value, copies)
		if err != nil {
			return view, nil, err
		}
		digests[certificate.Value] = digest
		revision = append(revision, certificate.Value, hex.EncodeToString(digest))

		item := CertificateCheck{Code: certificate.Value, Name: certificate.Label, Copies: []CertificateCopy{}}
		for _, c := range copies {
			item.Copies = append(item.Copies, CertificateCopy{
				Source: c.Source, SourceLabel: copySourceLabels[c.Source], RecordNumber: c.RecordNumber,
				Number: maskIfSet(policy, c.Number), Holder: maskHolder(policy, c.Holder), FileID: c.FileID,
			})
		}
		if check, ok := checks[certificate.Value]; ok {
			verified, checkedAt := check.Verified, check.CheckedAt
			item.Verified, item.CheckedBy, item.CheckedAt = &verified, check.CheckedBy, &checkedAt
			item.Outdated = !bytes.Equal(check.Digest, digest)
		}
		if item.Verified == nil || !*item.Verified || item.Outdated || len(copies) == 0 {
			view.Complete = false
		}
		view.Certificates = append(view.Certificates, item)
	}
	view.Revision = hex.EncodeToString(h.Keyring.Index("application_verification_revision", []byte(strings.Join(revision, "\x1f"))))[:32]
	return view, digests, nil
}

// certificateDigest returns the keyed hash of a certificate's copies, so
// a check records the data it was made on without storing that data in
// the clear.
func (h *Handlers) certificateDigest(code string, copies []copiedCertificate) ([]byte, error) {
	data, err := json.Marshal(copies)
	if err != nil {
		return nil, err
	}
	return h.Keyring.Index("application_certificate_check", append([]byte(code+"\x1f"), data...)), nil
}

func maskIfSet(policy masking.Policy, value string) string {
	if value == "" {
		return ""
	}
	return policy.DocumentNumber(value)
}

// maskHolder masks the number of a holder stored as "type:number".
func maskHolder(policy masking.Policy, holder string) string {
	if _, number, found := strings.Cut(holder, ":"); found {
		return maskIfSet(policy, number)
	}
	return maskIfSet(policy, holder)
}

// verificationNumber checks the {number} of a verification request.
func verificationNumber(r *http.Request) (string, error) {
	number := chi.URLParam(r, "number")
	return number, enrol.CheckNumber("number", "invalid_application_number", number, enrol.KindApplication)
}

// getVerification handles GET /api/v1/applications/{number}/verification:
// the certificates the district's rules list for verification, what the
// family provided of each, and the reviewer's checks.
func (h *Handlers) getVerification(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	number, err := verificationNumber(r)
	if err != nil {
		return err
	}
	row, err := readForVerification(ctx, h.DB, staff.Scope, number, false)
	if err != nil {
		return err
	}
	view, _, err := h.buildVerification(ctx, h.DB, row, masking.For(staff))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, view)
	return nil
}

// checkRequest is the body of PUT
// /api/v1/applications/{number}/verification/certificates/{code}.
type checkRequest struct {
	Verified *bool  `json:"verified"`
	Revision string `json:"revision"`
}

// verifyRequest is the body of POST
// /api/v1/applications/{number}/verification.
type verifyRequest struct {
	Revision string `json:"revision"`
}

// beginVerification starts the transaction of a verification change: it
// checks that the staff member is district staff, locks the application
// and returns its current state, which must match revision.
func (h *Handlers) beginVerification(ctx context.Context, staff *access.Staff, number, revision string) (*sqlx.Tx, verificationRow, Verification, map[string][]byte, error) {
	var view Verification
	if staff.Scope.Level != access.LevelDistrict {
		return nil, verificationRow{}, view, nil, errVerifyDistrictOnly
	}
	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return nil, verificationRow{}, view, nil, err
	}
	row, err := readForVerification(ctx, tx, staff.Scope, number, true)
	if err == nil && row.Status != enrol.StatusRecorded && row.Status != enrol.StatusDocumentsVerified {
		err = errNotVerifiable
	}
	var digests map[string][]byte
	if err == nil {
		view, digests, err = h.buildVerification(ctx, tx, row, masking.For(staff))
	}
	if err == nil && len(view.Certificates) == 0 {
		err = errNothingToVerify
	}
	if err == nil && revision != view.Revision {
		err = errVerificationChanged
	}
	if err != nil {
		tx.Rollback()
		return nil, row, view, nil, err
	}
	return tx, row, view, digests, nil
}

// checkCertificate handles PUT
// /api/v1/applications/{number}/verification/certificates/{code}: a
// district reviewer marks one listed certificate verified or not. Marking
// a certificate of a verified application not verified sets the
// application back to recorded.
func (h *Handlers) checkCertificate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	number, err := verificationNumber(r)
	if err != nil {
		return err
	}
	code := chi.URLParam(r, "code")
	if !certificateCode.MatchString(code) {
		return apierror.Invalid("code", "invalid_certificate_code", "证件材料代码无效，请刷新后重试。")
	}
	var request checkRequest
	if err := httpx.DecodeJSON(r, maxBodyBytes, &request); err != nil {
		return err
	}
	if request.Verified == nil {
		return apierror.Invalid("verified", "verified_required", "请选择核验结果：通过或不通过。")
	}
	verified := *request.Verified

	tx, row, view, digests, err := h.beginVerification(ctx, staff, number, request.Revision)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	index := -1
	for i, certificate := range view.Certificates {
		if certificate.Code == code {
			index = i
		}
	}
	if index < 0 {
		return errCertificateNotListed
	}
	certificate := view.Certificates[index]
	if verified && len(certificate.Copies) == 0 {
		return errCertificateMissing
	}

	_, err = tx.ExecContext(ctx, `
		INSERT INTO application_certificate_check (application_number, certificate_code, verified, certificate_digest,
		                                           checked_by, checked_by_name)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (application_number, certificate_code) DO UPDATE SET
			verified = EXCLUDED.verified, certificate_digest = EXCLUDED.certificate_digest,
			checked_by = EXCLUDED.checked_by, checked_by_name = EXCLUDED.checked_by_name, checked_at = now()`,
		number, code, verified, digests[code], staff.ID, staff.Name)
	if err != nil {
		return err
	}
	status := row.Status
	if !verified && status == enrol.StatusDocumentsVerified {
		status = enrol.StatusRecorded
	}
	if err := bumpReview(ctx, tx, number, status); err != nil {
		return err
	}
	result := map[bool]string{true: "通过", false: "不通过"}[verified]
	detail := "核验证件材料：" + certificate.Name + " " + result
	if status != row.Status {
		detail += "，报名改回已入库"
	}
	err = h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: ActionCertificateCheck, Resource: "application", ResourceID: number, DistrictCode: row.DistrictCode,
		Before: map[string]any{"status": row.Status, "certificate": code, "verified": certificate.Verified},
		After:  map[string]any{"status": status, "certificate": code, "verified": verified},
		Detail: detail,
	})
	if err != nil {
		return err
	}
	return h.finishVerification(w, r, tx, staff, number, row.Status, status)
}

// verifyApplication handles POST /api/v1/applications/{number}/verification:
// a district reviewer marks the application documents verified (验证通过)
// once every listed certificate has a verified check on its current data.
// Repeating it for a verified application changes nothing.
func (h *Handlers) verifyApplication(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	number, err := verificationNumber(r)
	if err != nil {
		return err
	}
	var request verifyRequest
	if err := httpx.DecodeJSON(r, maxBodyBytes, &request); err != nil {
		return err
	}

	tx, row, view, _, err := h.beginVerification(ctx, staff, number, request.Revision)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if !view.Complete {
		return errChecksIncomplete
	}
	if row.Status == enrol.StatusDocumentsVerified {
		if err := tx.Commit(); err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, view)
		return nil
	}

	if err := bumpReview(ctx, tx, number, enrol.StatusDocumentsVerified); err != nil {
		return err
	}
	names := make([]string, 0, len(view.Certificates))
	codes := make([]string, 0, len(view.Certificates))
	for _, certificate := range view.Certificates {
		names, codes = append(names, certificate.Name), append(codes, certificate.Code)
	}
	err = h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: ActionVerify, Resource: "application", ResourceID: number, DistrictCode: row.DistrictCode,
		Before: map[string]string{"status": row.Status},
		After:  map[string]any{"status": enrol.StatusDocumentsVerified, "certificates": codes},
		Detail: "报名材料验证通过：" + strings.Join(names, "、"),
	})
	if err != nil {
		return err
	}
	return h.finishVerification(w, r, tx, staff, number, row.Status, enrol.StatusDocumentsVerified)
}

// bumpReview sets an application's status and counts a review change.
func bumpReview(ctx context.Context, tx *sqlx.Tx, number, status string) error {
	_, err := tx.ExecContext(ctx, `UPDATE application SET status = $2, review_version = review_version + 1 WHERE application_number = $1`,
		number, status)
	return err
}

// finishVerification reads the changed state inside tx, commits, updates
// the parent's status when it changed and writes the response.
func (h *Handlers) finishVerification(w http.ResponseWriter, r *http.Request, tx *sqlx.Tx, staff *access.Staff, number, before, after string) error {
	ctx := r.Context()
	row, err := readForVerification(ctx, tx, staff.Scope, number, false)
	if err != nil {
		return err
	}
	view, _, err := h.buildVerification(ctx, tx, row, masking.For(staff))
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if after != before {
		synced := h.syncStatus(ctx, number, after) == nil
		view.ParentStatusSynced = &synced
	}
	httpx.WriteJSON(w, http.StatusOK, view)
	return nil
}

// syncStatus writes an application's new status into the parent's
// receipt in Redis. A failure is logged and returned; the next change of
// the application writes the status again.
func (h *Handlers) syncStatus(ctx context.Context, number, status string) error {
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	err := enrolment.StatusScript.Exec(callCtx, h.Redis, []string{h.Keys.Receipt(number)}, []string{status}).Error()
	if err != nil {
		slog.Error("parent status not updated in Redis after a verification change; the parent sees the old status",
			"application", number, "status", status, "error", err)
	}
	return err
}
