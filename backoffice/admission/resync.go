package admission

import (
	"database/sql"
	"errors"
	"net/http"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

var (
	errNotConfirmed = apierror.New(http.StatusConflict, "admission_not_confirmed",
		"本区本年度录取名单尚未确认，没有需要同步到家长端的录取结果。")
	errResyncFailed = apierror.New(http.StatusServiceUnavailable, "parent_status_sync_failed",
		"家长端状态同步失败，请稍后重试；如仍失败，请联系运维检查 Redis。")
)

// ResyncSummary is the response of a resync: the outcomes written again.
type ResyncSummary struct {
	Year               int    `json:"year"`
	DistrictCode       string `json:"districtCode"`
	Applications       int    `json:"applications"`
	ParentStatusSynced bool   `json:"parentStatusSynced"`
}

// resync handles POST /api/v1/admission/proposal/resync: it writes a
// confirmed round's outcomes into the parents' receipts again, for a
// confirmation whose own write to Redis failed. That confirmation's response
// had parentStatusSynced false, and a second confirmation is rejected. It
// reads the outcomes from the application table, so it is idempotent and
// changes nothing in PostgreSQL.
func (h *Handlers) resync(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	district, year, err := h.bodyTarget(r, staff)
	if err != nil {
		return err
	}
	var status string
	err = h.DB.GetContext(ctx, &status,
		`SELECT status FROM admission_round WHERE enrolment_year = $1 AND district_code = $2`, year, district)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && status != roundConfirmed) {
		return errNotConfirmed
	}
	if err != nil {
		return err
	}

	var rows []confirmedRow
	err = h.DB.SelectContext(ctx, &rows, `
		SELECT p.application_number, a.status AS outcome
		FROM admission_proposal p
		JOIN application a ON a.application_number = p.application_number
		WHERE p.enrolment_year = $1 AND p.district_code = $2 AND a.status IN ('admitted', 'not_admitted')
		ORDER BY p.application_number`, year, district)
	if err != nil {
		return err
	}
	if err := h.syncParents(ctx, rows); err != nil {
		return errResyncFailed
	}
	httpx.WriteJSON(w, http.StatusOK, ResyncSummary{Year: year, DistrictCode: district, Applications: len(rows), ParentStatusSynced: true})
	return nil
}
