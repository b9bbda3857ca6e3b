// Package admission applies a district's admission rules (录取规则): which
// entries (household categories) take part, which certificates the
// district verifies, and the order of priority within a campus. From them
// it proposes the admission list of every campus within its seat plan.
// The district admin reviews the proposal and confirms it, which sets each
// application to admitted or not admitted, queues the family's admission
// notice in the SMS outbox and updates the parent's status. Each step is
// audited.
package admission

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"
	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/drain"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// Permissions: reading needs enrolment.read, changing enrolment.write,
// like the other parts of a district's enrolment policy.
const (
	PermissionRead  = "enrolment.read"
	PermissionWrite = "enrolment.write"
)

// Audited actions.
const (
	ActionRulesUpdate = "admission.rules.update"
	ActionPropose     = "admission.propose"
	ActionConfirm     = "admission.confirm"
)

const maxBodyBytes = 8 << 10

// Publisher publishes the edge's configuration snapshot, as
// *publish.Publisher does.
type Publisher interface {
	Publish(ctx context.Context) (*snapshot.Snapshot, error)
}

// Handlers serve the admission API.
type Handlers struct {
	DB      *sqlx.DB
	Redis   rueidis.Client
	Keys    enrol.Keys
	Keyring *crypto.Keyring
	Trail   *audit.Trail
	// DistrictName returns a district's Chinese name.
	DistrictName func(code string) (string, bool)
	Now          func() time.Time
	// Publisher, when not nil, republishes the edge snapshot after the
	// rules change, so the edge stops taking applications through the
	// entries the rules leave out.
	Publisher Publisher
}

// Routes mounts the handlers under /api/v1 behind the session middleware.
func (h *Handlers) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionRead))
		r.Get("/admission/rules", httpx.Handle(h.getRules))
		r.Get("/admission/proposal", httpx.Handle(h.getProposal))
	})
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionWrite))
		r.Put("/admission/rules", httpx.Handle(h.putRules))
		r.Post("/admission/proposal", httpx.Handle(h.propose))
		r.Post("/admission/proposal/confirm", httpx.Handle(h.confirm))
		r.Post("/admission/proposal/resync", httpx.Handle(h.resync))
	})
}

func (h *Handlers) districtName(code string) string {
	if name, ok := h.DistrictName(code); ok {
		return name
	}
	return code
}

// target resolves the district and year a request names: the district
// defaults to the staff member's own and the year to the latest. Only
// city staff and the district's own staff may name a district, and others
// get access.ErrOutOfScope.
func (h *Handlers) target(ctx context.Context, staff *access.Staff, district string, year int) (string, int, error) {
	district = strings.TrimSpace(district)
	if district == "" && staff.Scope.Level == access.LevelDistrict {
		district = staff.Scope.DistrictCode
	}
	if district == "" {
		return "", 0, apierror.Invalid("district", "missing_district", "请选择区。")
	}
	if !staff.Scope.AllowsDistrict(district) {
		return "", 0, access.ErrOutOfScope
	}
	if _, ok := h.DistrictName(district); !ok {
		return "", 0, apierror.Invalid("district", "district_not_found", "区代码无效："+district+"，请重新选择区。")
	}
	if year == 0 {
		if err := h.DB.GetContext(ctx, &year, `SELECT COALESCE(max(year), 0) FROM enrolment_year`); err != nil {
			return "", 0, err
		}
	}
	var exists bool
	if err := h.DB.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM enrolment_year WHERE year = $1)`, year); err != nil {
		return "", 0, err
	}
	if !exists {
		return "", 0, apierror.New(http.StatusNotFound, "enrolment_year_not_found", "未找到招生年度 "+strconv.Itoa(year)+"。")
	}
	return district, year, nil
}

// queryTarget reads ?district= and ?year= of a GET request.
func (h *Handlers) queryTarget(r *http.Request, staff *access.Staff) (string, int, error) {
	query := r.URL.Query()
	year, err := parseYear(query.Get("year"))
	if err != nil {
		return "", 0, err
	}
	return h.target(r.Context(), staff, query.Get("district"), year)
}

func parseYear(value string) (int, error) {
	if value == "" {
		return 0, nil
	}
	year, err := strconv.Atoi(value)
	if err != nil || year < 2000 || year > 2100 {
		return 0, apierror.Invalid("year", "invalid_year", "年度应为 2000 至 2100 之间的四位数字，如 2026。")
	}
	return year, nil
}

// districtYear is the body of the proposal and confirmation requests.
type districtYear struct {
	DistrictCode string `json:"districtCode"`
	Year         int    `json:"year"`
}

func (h *Handlers) bodyTarget(r *http.Request, staff *access.Staff) (string, int, error) {
	var body districtYear
	if err := httpx.DecodeJSON(r, maxBodyBytes, &body); err != nil {
		return "", 0, err
	}
	if body.Year != 0 {
		if _, err := parseYear(strconv.Itoa(body.Year)); err != nil {
			return "", 0, err
		}
	}
	return h.target(r.Context(), staff, body.DistrictCode, body.Year)
}

// RulesBody is the response of GET and PUT /api/v1/admission/rules.
type RulesBody struct {
	Rule        Rule        `json:"rule"`
	Options     RuleOptions `json:"options"`
	RoundStatus string      `json:"roundStatus"`
	// Published is set in the response to a change. It is false when the
	// rules were saved but the edge snapshot could not be published, so
	// the edge keeps the old entries until the next publication.
	Published *bool `json:"published,omitempty"`
}

// getRules handles GET /api/v1/admission/rules?district=&year=.
func (h *Handlers) getRules(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	district, year, err := h.queryTarget(r, access.StaffFrom(ctx))
	if err != nil {
		return err
	}
	body, err := h.rulesBody(ctx, h.DB, year, district)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (h *Handlers) rulesBody(ctx context.Context, q sqlx.QueryerContext, year int, district string) (RulesBody, error) {
	var body RulesBody
	var err error
	if body.Rule, err = loadRule(ctx, q, year, district); err != nil {
		return body, err
	}
	if body.Options, err = loadOptions(ctx, q, year, district); err != nil {
		return body, err
	}
	body.RoundStatus, err = roundStatus(ctx, q, year, district)
	return body, err
}

// putRules handles PUT /api/v1/admission/rules. Rules are fixed once the
// district confirmed its list.
func (h *Handlers) putRules(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	var input ruleInput
	if err := httpx.DecodeJSON(r, maxBodyBytes, &input); err != nil {
		return err
	}
	if input.Year != 0 {
		if _, err := parseYear(strconv.Itoa(input.Year)); err != nil {
			return err
		}
	}
	district, year, err := h.target(ctx, staff, input.DistrictCode, input.Year)
	if err != nil {
		return err
	}
	input.DistrictCode, input.Year = district, year
	rule, err := checkRule(ctx, h.DB, input)
	if err != nil {
		return err
	}

	tx, status, err := h.beginRound(ctx, year, district)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if status == roundConfirmed {
		return errRulesConfirmed
	}
	before, err := loadRule(ctx, tx, year, district)
	if err != nil {
		return err
	}
	if err := saveRule(ctx, tx, rule, staff.ID, staff.Name); err != nil {
		return err
	}
	err = h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: ActionRulesUpdate, Resource: "admission_rule", ResourceID: resourceID(year, district),
		DistrictCode: district, Outcome: audit.OutcomeSuccess, Before: before, After: rule,
		Detail: "修改录取规则：" + h.districtName(district) + " " + strconv.Itoa(year) + " 年度",
	})
	if err != nil {
		return err
	}
	body, err := h.rulesBody(ctx, tx, year, district)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	published := h.republish(ctx, district, year)
	body.Published = &published
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}

// republish publishes the edge snapshot after a committed rule change and
// reports whether it succeeded. A failure is logged and not returned,
// because the rules are saved. Without a Publisher it returns true.
func (h *Handlers) republish(ctx context.Context, district string, year int) bool {
	if h.Publisher == nil {
		return true
	}
	if _, err := h.Publisher.Publish(context.WithoutCancel(ctx)); err != nil {
		slog.Error("edge snapshot not republished after an admission rule change; the edge takes applications through the old entries until the next publication",
			"district", district, "year", year, "error", err)
		return false
	}
	return true
}

// beginRound starts the transaction of a change to a district's rules or
// round. It holds the district and year's lock until the transaction ends
// and returns the round's status, "" before the first proposal.
func (h *Handlers) beginRound(ctx context.Context, year int, district string) (*sqlx.Tx, string, error) {
	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return nil, "", err
	}
	if err := lockDistrictYear(ctx, tx, year, district); err != nil {
		tx.Rollback()
		return nil, "", err
	}
	status, err := roundStatus(ctx, tx, year, district)
	if err != nil {
		tx.Rollback()
		return nil, "", err
	}
	return tx, status, nil
}

// Round statuses.
const (
	roundProposed  = "proposed"
	roundConfirmed = "confirmed"
)

func resourceID(year int, district string) string { return strconv.Itoa(year) + "/" + district }

// propose handles POST /api/v1/admission/proposal: it computes the
// district's proposed admission list from its rules and seat plan and
// replaces the previous proposal. It is rejected while an entry's window
// is open, without a seat plan, and after confirmation.
func (h *Handlers) propose(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	district, year, err := h.bodyTarget(r, staff)
	if err != nil {
		return err
	}

	tx, status, err := h.beginRound(ctx, year, district)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if status == roundConfirmed {
		return errConfirmed
	}
	if err := h.checkClosed(ctx, tx, year, district, errWindowOpen); err != nil {
		return err
	}
	rule, err := loadRule(ctx, tx, year, district)
	if err != nil {
		return err
	}
	seats, err := loadSeats(ctx, tx, year, district, rule.SeatGrade)
	if err != nil {
		return err
	}
	if len(seats) == 0 {
		return errNoSeatPlan
	}
	candidates, states, err := loadCandidates(ctx, tx, h.Keyring, rule)
	if err != nil {
		return err
	}
	names, err := categoryNames(ctx, tx)
	if err != nil {
		return err
	}

	placements := Propose(Ranking{CategoryOrder: rule.CategoryOrder, Criteria: rule.PriorityCriteria}, candidates, seats)
	summary, err := storeProposal(ctx, tx, rule, candidates, states, placements, seats, staff.ID, staff.Name, names)
	if err != nil {
		return err
	}
	err = h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: ActionPropose, Resource: "admission_round", ResourceID: resourceID(year, district),
		DistrictCode: district, Outcome: audit.OutcomeSuccess, After: summary,
		Detail: "生成拟录取名单：报名 " + strconv.Itoa(summary.Applications) + " 人，拟录取 " + strconv.Itoa(summary.Admitted) +
			" 人，材料未验证通过 " + strconv.Itoa(summary.NotVerified) + " 人",
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, summary)
	return nil
}

// checkClosed returns windowOpen(closing time) while an entry of the
// district still takes applications, and errNoEntries when the district
// has none.
func (h *Handlers) checkClosed(ctx context.Context, tx *sqlx.Tx, year int, district string, windowOpen func(time.Time) error) error {
	closesAt, found, err := latestClosing(ctx, tx, year, district)
	if err != nil {
		return err
	}
	if !found {
		return errNoEntries
	}
	if closesAt.After(h.Now()) {
		return windowOpen(closesAt)
	}
	return nil
}

// confirm handles POST /api/v1/admission/proposal/confirm: it makes the
// district's proposal final, sets every proposed application to admitted
// or not admitted, queues each family's notice and updates the parents'
// statuses.
// Errors of checkStored.
var (
	errNotStored = apierror.New(http.StatusConflict, "applications_not_stored",
		"报名截止前受理的报名还有尚未入库的（正在队列中处理），请稍等片刻再确认录取名单。")
	errQueueUnavailable = apierror.New(http.StatusServiceUnavailable, "queue_unavailable",
		"暂时无法读取报名队列的状态，请稍后再确认录取名单。")
)

// checkStored returns errNotStored while the stream still holds a
// submission taken before the district's window closed (with a minute for
// the edges' clocks): such an application would be stored only after the
// confirmation and stay outside the confirmed list. The drainer stores
// applications under the district's admission lock, which the
// confirmation holds, so none arrives between this check and the commit.
func (h *Handlers) checkStored(ctx context.Context, tx *sqlx.Tx, year int, district string) error {
	closesAt, found, err := latestClosing(ctx, tx, year, district)
	if err != nil || !found {
		return err
	}
	stored, err := drain.StoredBefore(ctx, h.Redis, h.Keys, closesAt.Add(time.Minute))
	if err != nil {
		slog.Error("admission confirmation cannot read the submission stream", "district", district, "error", err)
		return errQueueUnavailable
	}
	if !stored {
		slog.Info("admission confirmation held back: the stream still contains submissions from before the close",
			"year", year, "district", district, "closes_at", closesAt)
		return errNotStored
	}
	return nil
}

func (h *Handlers) confirm(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	district, year, err := h.bodyTarget(r, staff)
	if err != nil {
		return err
	}

	tx, status, err := h.beginRound(ctx, year, district)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	switch status {
	case "":
		return errNoProposal
	case roundConfirmed:
		return errConfirmed
	}
	// A window opened again after the proposal may have let in
	// applications the proposal has not placed.
	if err := h.checkClosed(ctx, tx, year, district, errWindowReopened); err != nil {
		return err
	}
	if err := h.checkStored(ctx, tx, year, district); err != nil {
		return err
	}
	rows, err := lockProposal(ctx, tx, year, district)
	if err != nil {
		return err
	}
	if err := checkProposalCurrent(ctx, tx, year, district); err != nil {
		return err
	}
	if err := applyOutcomes(ctx, tx, year, district); err != nil {
		return err
	}

	summary := ConfirmSummary{Year: year, DistrictCode: district}
	for _, row := range rows {
		if row.Outcome == enrol.StatusAdmitted {
			summary.Admitted++
		} else {
			summary.NotAdmitted++
		}
		queued, err := h.queueNotice(ctx, tx, district, row)
		if err != nil {
			return err
		}
		if queued {
			summary.SMSQueued++
		} else {
			summary.NoPhone++
		}
	}
	err = tx.GetContext(ctx, &summary.ConfirmedAt, `
		UPDATE admission_round SET status = 'confirmed', confirmed_by = $3, confirmed_by_name = $4, confirmed_at = now()
		WHERE enrolment_year = $1 AND district_code = $2
		RETURNING confirmed_at`, year, district, staff.ID, staff.Name)
	if err != nil {
		return err
	}
	err = h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: ActionConfirm, Resource: "admission_round", ResourceID: resourceID(year, district),
		DistrictCode: district, Outcome: audit.OutcomeSuccess,
		Before: map[string]string{"status": roundProposed}, After: summary,
		Detail: "确认录取名单：录取 " + strconv.Itoa(summary.Admitted) + " 人，未录取 " + strconv.Itoa(summary.NotAdmitted) +
			" 人，排队短信 " + strconv.Itoa(summary.SMSQueued) + " 条",
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}

	summary.ParentStatusSynced = h.syncParents(ctx, rows) == nil
	httpx.WriteJSON(w, http.StatusOK, summary)
	return nil
}
