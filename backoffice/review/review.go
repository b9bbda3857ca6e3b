// Package review holds the district's review actions on enrolment records:
// verifying an application's documents (验证通过) against the
// certificates the district's admission rules list, returning an
// application to the family (退回), and the two-step deletion
// of a registration or application, requested by a district admin and
// approved or rejected by a city admin. Each action is audited, queues an
// SMS to the family in the same transaction, and then updates the parent's
// status and releases the child's claim in Redis, so the family may submit
// again.
package review

import (
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"
	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Permissions: lists need enrolment.read, actions enrolment.write.
const (
	PermissionRead  = "enrolment.read"
	PermissionWrite = "enrolment.write"
)

// Audited actions.
const (
	ActionReturn          = "application.return"
	ActionDeletionRequest = "deletion.request"
	ActionDeletionApprove = "deletion.approve"
	ActionDeletionReject  = "deletion.reject"
	// ActionCertificateCheck records a reviewer's check of one certificate
	// and ActionVerify the application's 验证通过.
	ActionCertificateCheck = "application.certificate.check"
	ActionVerify           = "application.verify"
)

// DeleteConfirmation is the text a district admin types to request a
// deletion.
const DeleteConfirmation = "确认删除"

// maxSMSDelay bounds how far ahead a scheduled SMS may be sent.
const maxSMSDelay = 30 * 24 * time.Hour

const maxBodyBytes = 4 << 10

// Handlers serve the review actions.
type Handlers struct {
	DB      *sqlx.DB
	Redis   rueidis.Client
	Keys    enrol.Keys
	Keyring *crypto.Keyring
	Trail   *audit.Trail
	// DistrictName returns a district's Chinese name.
	DistrictName func(code string) (string, bool)
	Now          func() time.Time
}

// Routes mounts the handlers under /api/v1 behind the session middleware.
func (h *Handlers) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionRead))
		r.Get("/application-returns", httpx.Handle(h.listReturns))
		r.Get("/deletion-requests", httpx.Handle(h.listDeletionRequests))
		r.Get("/applications/{number}/verification", httpx.Handle(h.getVerification))
	})
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionWrite))
		r.Post("/applications/{number}/return", httpx.Handle(h.returnApplication))
		r.Post("/applications/{number}/verification", httpx.Handle(h.verifyApplication))
		r.Put("/applications/{number}/verification/certificates/{code}", httpx.Handle(h.checkCertificate))
		r.Post("/deletion-requests", httpx.Handle(h.requestDeletion))
		r.Post("/deletion-requests/{id}/approve", httpx.Handle(h.approveDeletion))
		r.Post("/deletion-requests/{id}/reject", httpx.Handle(h.rejectDeletion))
	})
}

// checkReason trims a reason and checks its length: 2 to 200 characters.
func checkReason(field, reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	length := utf8.RuneCountInString(reason)
	if length == 0 {
		return "", apierror.Invalid(field, "reason_required", "请填写原因。")
	}
	if length < 2 || length > 200 {
		return "", apierror.Invalid(field, "invalid_reason_length", "原因应为 2 至 200 个字。")
	}
	// The reason reaches the parent in an SMS and on the receipt page, so it
	// is plain text of one line: no control characters (line breaks
	// included) and no angle brackets.
	for _, r := range reason {
		if unicode.IsControl(r) || r == '<' || r == '>' || r == '\u2028' || r == '\u2029' {
			return "", apierror.Invalid(field, "invalid_reason_characters", "原因只能包含文字、数字和常用标点，不能换行，也不能包含尖括号等特殊字符。")
		}
	}
	return reason, nil
}

// checkSendAt checks the optional scheduled time of the SMS: not in the
// past (a minute of clock skew allowed) and at most 30 days ahead. The zero
// time means at once.
func (h *Handlers) checkSendAt(sendAt *time.Time) (time.Time, error) {
	if sendAt == nil || sendAt.IsZero() {
		return time.Time{}, nil
	}
	now := h.Now()
	if sendAt.Before(now.Add(-time.Minute)) || sendAt.After(now.Add(maxSMSDelay)) {
		return time.Time{}, apierror.Invalid("smsSendAt", "invalid_sms_send_at", "短信定时发送时间应在现在至 30 天之内。")
	}
	return *sendAt, nil
}

func (h *Handlers) districtName(code string) string {
	name, ok := h.DistrictName(code)
	if !ok {
		return code
	}
	return name
}

var errNotFound = apierror.New(http.StatusNotFound, "record_not_found", "未找到该登记或报名信息，请核对编号。")
