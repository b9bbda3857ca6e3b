package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Round is a district's admission round.
type Round struct {
	Status      string     `db:"status" json:"status"`
	RuleText    string     `db:"rule_text" json:"-"`
	ProposedBy  string     `db:"proposed_by_name" json:"proposedBy"`
	ProposedAt  time.Time  `db:"proposed_at" json:"proposedAt"`
	ConfirmedBy *string    `db:"confirmed_by_name" json:"confirmedBy"`
	ConfirmedAt *time.Time `db:"confirmed_at" json:"confirmedAt"`
	// Rule is the rule the proposal was computed with.
	Rule Rule `db:"-" json:"rule"`
}

// CampusSummary is a campus's seats and proposed admissions.
type CampusSummary struct {
	ID       int64  `db:"id" json:"id"`
	Name     string `db:"name" json:"name"`
	Seats    int    `db:"seats" json:"seats"`
	Admitted int    `db:"admitted" json:"admitted"`
}

// ProposalItem is one application of the proposal.
type ProposalItem struct {
	ApplicationNumber string      `db:"application_number" json:"applicationNumber"`
	ChildName         string      `db:"-" json:"childName"`
	SealedChildName   []byte      `db:"child_name" json:"-"`
	CategoryName      string      `db:"category_name" json:"categoryName"`
	Outcome           string      `db:"outcome" json:"outcome"`
	CampusID          pgtype.Int8 `db:"campus_id" json:"-"`
	CampusName        *string     `db:"campus_name" json:"campusName"`
	ChoiceRank        *int        `db:"choice_rank" json:"choiceRank"`
	CampusRank        *int        `db:"campus_rank" json:"campusRank"`
	Reason            string      `db:"reason" json:"reason"`
	PriorityNote      string      `db:"priority_note" json:"priorityNote"`
	// Status is the application's status now: proposed rows keep their
	// status until the confirmation.
	Status      string `db:"status" json:"status"`
	StatusLabel string `db:"-" json:"statusLabel"`
}

// ProposalView is the response of GET /api/v1/admission/proposal.
type ProposalView struct {
	Year         int    `json:"year"`
	DistrictCode string `json:"districtCode"`
	DistrictName string `json:"districtName"`
	// Round is null before the first proposal.
	Round       *Round          `json:"round"`
	Campuses    []CampusSummary `json:"campuses"`
	Admitted    int             `json:"admitted"`
	NotAdmitted int             `json:"notAdmitted"`
	// NotVerified counts the not admitted applications that the rules
	// left out because their documents are not verified.
	NotVerified int `json:"notVerified"`
	// Supplementary counts the district's live 补报名 applications of the
	// year, which the round leaves out: the district placed each of them
	// at its campus already (补录取).
	Supplementary int            `json:"supplementary"`
	Items         []ProposalItem `json:"items"`
	Total         int            `json:"total"`
	Page          int            `json:"page"`
	Size          int            `json:"size"`
}

// getProposal handles GET
// /api/v1/admission/proposal?district=&year=&campus=&outcome=&page=&size=:
// the round, every campus's seats and admissions, and one page of the
// proposal. campus lists one campus's children by rank; outcome
// not_admitted lists those not admitted.
func (h *Handlers) getProposal(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	district, year, err := h.queryTarget(r, access.StaffFrom(ctx))
	if err != nil {
		return err
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		return err
	}
	query := r.URL.Query()
	var campus int64
	if value := query.Get("campus"); value != "" {
		if campus, err = strconv.ParseInt(value, 10, 64); err != nil || campus <= 0 {
			return apierror.Invalid("campus", "invalid_campus", "办园点编号应为正整数。")
		}
	}
	outcome := query.Get("outcome")
	if outcome != "" && outcome != enrol.StatusAdmitted && outcome != enrol.StatusNotAdmitted {
		return apierror.Invalid("outcome", "invalid_outcome", "结果应为 admitted（拟录取）或 not_admitted（未录取）。")
	}

	view := ProposalView{
		Year: year, DistrictCode: district, DistrictName: h.districtName(district),
		Campuses: []CampusSummary{}, Items: []ProposalItem{}, Page: page.Number, Size: page.Size,
	}
	round, err := loadRound(ctx, h.DB, year, district)
	if err != nil {
		return err
	}
	if round == nil {
		httpx.WriteJSON(w, http.StatusOK, view)
		return nil
	}
	view.Round = round
	if err := h.fillCampuses(ctx, &view, round.Rule.SeatGrade); err != nil {
		return err
	}
	if err := h.fillItems(ctx, &view, campus, outcome, page); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, view)
	return nil
}

// loadRound returns the district's round, or nil before the first
// proposal.
func loadRound(ctx context.Context, q sqlx.QueryerContext, year int, district string) (*Round, error) {
	var rounds []Round
	err := sqlx.SelectContext(ctx, q, &rounds, `
		SELECT status, rule_text, proposed_by_name, proposed_at, confirmed_by_name, confirmed_at
		FROM admission_round WHERE enrolment_year = $1 AND district_code = $2`, year, district)
	if err != nil || len(rounds) == 0 {
		return nil, err
	}
	round := rounds[0]
	if err := json.Unmarshal([]byte(round.RuleText), &round.Rule); err != nil {
		return nil, fmt.Errorf("decode the rule of the admission round of %s %d: %w", district, year, err)
	}
	return &round, nil
}

func (h *Handlers) fillCampuses(ctx context.Context, view *ProposalView, grade string) error {
	err := h.DB.SelectContext(ctx, &view.Campuses, `
		SELECT c.id, k.name || '（' || c.name || '）' AS name, p.seats, count(x.application_number) AS admitted
		FROM seat_plan p
		JOIN campus c ON c.id = p.campus_id
		JOIN kindergarten k ON k.id = c.kindergarten_id
		LEFT JOIN admission_proposal x ON x.campus_id = c.id AND x.enrolment_year = p.enrolment_year
		WHERE p.enrolment_year = $1 AND c.district_code = $2 AND p.grade = $3
		GROUP BY c.id, k.name, c.name, p.seats
		ORDER BY k.name, c.name, c.id`, view.Year, view.DistrictCode, grade)
	if err != nil {
		return err
	}
	return h.DB.QueryRowContext(ctx, `
		SELECT count(*) FILTER (WHERE outcome = 'admitted'), count(*) FILTER (WHERE outcome = 'not_admitted'),
		       count(*) FILTER (WHERE outcome = 'not_admitted' AND reason IN ($3, $4)),
		       (SELECT count(*) FROM application
		        WHERE enrolment_year = $1 AND district_code = $2 AND supplementary
		          AND status NOT IN ('returned', 'deleted'))
		FROM admission_proposal WHERE enrolment_year = $1 AND district_code = $2`,
		view.Year, view.DistrictCode, reasonNotVerified, reasonChecksMissing).
		Scan(&view.Admitted, &view.NotAdmitted, &view.NotVerified, &view.Supplementary)
}

func (h *Handlers) fillItems(ctx context.Context, view *ProposalView, campus int64, outcome string, page httpx.Page) error {
	const where = `
		FROM admission_proposal p
		JOIN application a ON a.application_number = p.application_number
		WHERE p.enrolment_year = $1 AND p.district_code = $2
		  AND ($3::bigint = 0 OR p.campus_id = $3::bigint) AND ($4::text = '' OR p.outcome = $4::text)`
	args := []any{view.Year, view.DistrictCode, campus, outcome}
	if err := h.DB.GetContext(ctx, &view.Total, `SELECT count(*) `+where, args...); err != nil {
		return err
	}
	err := h.DB.SelectContext(ctx, &view.Items, `
		SELECT p.application_number, r.child_name, COALESCE(hc.name, a.category_code) AS category_name, p.outcome,
		       p.campus_id, k.name || '（' || c.name || '）' AS campus_name, p.choice_rank, p.campus_rank,
		       p.reason, p.priority_note, a.status
		FROM admission_proposal p
		JOIN application a ON a.application_number = p.application_number
		JOIN registration r ON r.registration_number = a.registration_number
		LEFT JOIN household_category hc ON hc.code = a.category_code
		LEFT JOIN campus c ON c.id = p.campus_id
		LEFT JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE p.enrolment_year = $1 AND p.district_code = $2
		  AND ($3::bigint = 0 OR p.campus_id = $3::bigint) AND ($4::text = '' OR p.outcome = $4::text)
		ORDER BY p.campus_id NULLS LAST, p.campus_rank, p.application_number
		LIMIT $5 OFFSET $6`, append(args, page.Size, page.Offset())...)
	if err != nil {
		return err
	}
	for i := range view.Items {
		item := &view.Items[i]
		item.ChildName = enrolment.MaskedChildName(h.Keyring, item.SealedChildName, item.ApplicationNumber)
		item.StatusLabel = enrol.StatusLabel(item.Status)
	}
	return nil
}
