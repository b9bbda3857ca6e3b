// Package supplement is the district admin's supplementary application
// (补报名). The admin finds a family's registration by the number in the
// QR code of its registration form, by the number typed in, or by the
// child's identity document through its blind index. The admin then
// completes a missing guardian phone and certificates and applies at any
// campus in the admin's districts. The application is stored at once as
// 验证通过 (documents_verified) and audited, and the family gets the
// 报名成功 SMS through the outbox.
package supplement

import (
	"net/http"
	"time"

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

// PermissionWrite is the permission of every supplementary route: the
// lookup shows a registration to someone about to apply for it.
const PermissionWrite = "enrolment.write"

// ActionApply is the audited action of a supplementary application.
const ActionApply = "application.supplementary"

const maxBodyBytes = 16 << 10

// Handlers serve the supplementary application.
type Handlers struct {
	DB      *sqlx.DB
	Redis   rueidis.Client
	Keys    enrol.Keys
	Keyring *crypto.Keyring
	Trail   *audit.Trail
	// DistrictName returns a district's Chinese name.
	DistrictName func(code string) (string, bool)
	// ReceiptTTL is how long the parent's receipt and claim stay in Redis
	// when the registration's own receipt has expired.
	ReceiptTTL time.Duration
	Now        func() time.Time
}

// Routes mounts the handlers under /api/v1 behind the session middleware.
func (h *Handlers) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionWrite))
		r.Post("/supplementary/lookup", httpx.Handle(h.lookup))
		r.Get("/supplementary/options", httpx.Handle(h.options))
		r.Post("/supplementary/applications", httpx.Handle(h.apply))
	})
}

var (
	errRegistrationNotFound = apierror.New(http.StatusNotFound, "registration_not_found",
		"未找到该登记信息，请核对登记编号或证件号码。")
	errUnreadable = apierror.New(http.StatusInternalServerError, "sealed_data_unreadable",
		"该登记的加密信息无法解密，请联系系统管理员。")
)

func (h *Handlers) districtName(code string) string {
	if name, ok := h.DistrictName(code); ok {
		return name
	}
	return code
}
