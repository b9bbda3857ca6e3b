package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Errors of the proposal and its confirmation.
var (
	errNoSeatPlan = apierror.New(http.StatusConflict, "seat_plan_missing",
		"本区本年度该年级没有任何办园点的招生计划，请先维护招生计划（学位数）再生成拟录取名单。")
	errNoEntries = apierror.New(http.StatusConflict, "entries_not_found",
		"本区本年度没有已发布的报名入口，无法生成拟录取名单。")
	errConfirmed = apierror.New(http.StatusConflict, "admission_confirmed",
		"本区本年度录取名单已确认，不能重新生成或再次确认。")
	errNoProposal = apierror.New(http.StatusConflict, "admission_proposal_missing",
		"本区本年度尚未生成拟录取名单，请先生成再确认。")
)

// errStaleProposal is returned for a confirmation of a proposal that no
// longer matches the district's applications, rules or seat plan. change
// is the Chinese description of what changed after the proposal.
func errStaleProposal(change string) error {
	return apierror.New(http.StatusConflict, "admission_proposal_stale",
		"拟录取名单已过期："+change+"。请重新生成拟录取名单，核对后再确认。")
}

// errWindowOpen is returned for a proposal while an entry of the district
// still accepts applications.
func errWindowOpen(closesAt time.Time) error {
	return apierror.New(http.StatusConflict, "application_window_open",
		"本区报名尚未截止（最晚的入口于 "+shanghaiMinute(closesAt)+" 截止），截止后才能生成拟录取名单。")
}

// errWindowReopened is returned for a confirmation while an entry of the
// district accepts applications again, which the proposal has not placed.
func errWindowReopened(closesAt time.Time) error {
	return apierror.New(http.StatusConflict, "application_window_open",
		"拟录取名单生成后，本区又有报名入口开放（最晚的入口于 "+shanghaiMinute(closesAt)+
			" 截止），暂不能确认。请在报名截止后重新生成拟录取名单，核对后再确认。")
}

// shanghaiMinute formats t to the minute in Shanghai time (UTC+8).
func shanghaiMinute(t time.Time) string {
	return t.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04")
}

// candidateRow is a live application with the registration facts the
// criteria read.
type candidateRow struct {
	Number            string      `db:"application_number"`
	CategoryCode      string      `db:"category_code"`
	RegisteredAt      time.Time   `db:"registered_at"`
	HukouDistrictCode pgtype.Text `db:"hukou_district_code"`
	ResidenceDistrict string      `db:"residence_district_code"`
	HukouAtResidence  bool        `db:"hukou_at_residence"`
	// ApplicationForm and RegistrationForm are the sealed form values of
	// the application and of its registration.
	ApplicationForm  []byte `db:"application_form_values"`
	RegistrationForm []byte `db:"registration_form_values"`
}

// lockDistrictYear serialises proposals and confirmations of one district
// and year, including the first, which has no admission_round row to lock,
// with the drainer's storing of the district's applications.
func lockDistrictYear(ctx context.Context, tx *sqlx.Tx, year int, district string) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`,
		enrolment.AdmissionLockClass, enrolment.AdmissionLockKey(year, district))
	return err
}

// roundStatus returns the status of the district's round, or "" when no
// proposal was made.
func roundStatus(ctx context.Context, q sqlx.QueryerContext, year int, district string) (string, error) {
	var statuses []string
	err := sqlx.SelectContext(ctx, q, &statuses,
		`SELECT status FROM admission_round WHERE enrolment_year = $1 AND district_code = $2`, year, district)
	if err != nil || len(statuses) == 0 {
		return "", err
	}
	return statuses[0], nil
}

// latestClosing returns when the last published entry of the district
// stops taking applications, and false when the district has no entry.
func latestClosing(ctx context.Context, q sqlx.QueryerContext, year int, district string) (time.Time, bool, error) {
	var closesAt pgtype.Timestamptz
	err := sqlx.GetContext(ctx, q, &closesAt, `
		SELECT max(COALESCE(e.closes_at, y.application_closes_at))
		FROM entry e JOIN enrolment_year y ON y.year = e.enrolment_year
		WHERE e.enrolment_year = $1 AND e.district_code = $2 AND e.published`, year, district)
	return closesAt.Time, closesAt.Valid, err
}

// loadSeats returns the seats of the grade per campus of the district.
func loadSeats(ctx context.Context, q sqlx.QueryerContext, year int, district, grade string) (map[int64]int, error) {
	var rows []struct {
		CampusID int64 `db:"campus_id"`
		Seats    int   `db:"seats"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT p.campus_id, p.seats FROM seat_plan p JOIN campus c ON c.id = p.campus_id
		WHERE p.enrolment_year = $1 AND c.district_code = $2 AND p.grade = $3`, year, district, grade)
	seats := make(map[int64]int, len(rows))
	for _, row := range rows {
		seats[row.CampusID] = row.Seats
	}
	return seats, err
}

// seatTotal returns the sum of the seats of every campus.
func seatTotal(seats map[int64]int) int {
	total := 0
	for _, count := range seats {
		total += count
	}
	return total
}

// reviewState is an application's status and review version as the
// proposal read them.
type reviewState struct {
	Status  string
	Version int32
}

// Reasons a candidate takes no part in the proposal, as the staff list
// shows them.
const (
	reasonCategoryLeftOut = "该报名入口（户籍类别）不在本区本年度录取范围内"
	reasonNotVerified     = "报名材料尚未验证通过"
	reasonChecksMissing   = "录取规则在验证通过后新增了需验证的证件材料，该报名尚未核验这些材料"
)

// loadCandidates reads the district's live applications of the year and
// turns them into candidates under the rule, and returns the review state
// each one was read in alongside. Supplementary applications (补录) take no
// part. NOTE: they are left for a later round, which this module does not
// run yet.
func loadCandidates(ctx context.Context, q sqlx.QueryerContext, keyring *crypto.Keyring, rule Rule) ([]Candidate, []reviewState, error) {
	const query = `
		SELECT a.application_number, a.category_code, a.status, a.review_version, a.campus_choices, r.accepted_at AS registered_at,
		       r.hukou_district_code, r.residence_district_code, r.hukou_at_residence,
		       a.form_values AS application_form_values, r.form_values AS registration_form_values,
		       (SELECT count(*) FROM application_certificate_check k
		        WHERE k.application_number = a.application_number AND k.verified AND k.certificate_code = ANY($3)) AS verified_checks
		FROM application a JOIN registration r ON r.registration_number = a.registration_number
		WHERE a.enrolment_year = $1 AND a.district_code = $2 AND NOT a.supplementary
		  AND a.status IN ('recorded', 'documents_verified')
		ORDER BY a.application_number`
	rows, err := q.QueryxContext(ctx, query, rule.Year, rule.DistrictCode, rule.VerifiedCertificates)
	if err != nil {
		return nil, nil, fmt.Errorf("read the applications of %s %d: %w", rule.DistrictCode, rule.Year, err)
	}
	defer rows.Close()

	typeMap := pgtype.NewMap()
	needsMoveIn := slices.Contains(rule.PriorityCriteria, CriterionResidenceDuration)
	var candidates []Candidate
	var states []reviewState
	for rows.Next() {
		var row candidateRow
		var choices []int64
		var verifiedChecks int
		var state reviewState
		err := rows.Scan(&row.Number, &row.CategoryCode, &state.Status, &state.Version, typeMap.SQLScanner(&choices), &row.RegisteredAt,
			&row.HukouDistrictCode, &row.ResidenceDistrict, &row.HukouAtResidence, &row.ApplicationForm, &row.RegistrationForm,
			&verifiedChecks)
		if err != nil {
			return nil, nil, fmt.Errorf("read the applications of %s %d: %w", rule.DistrictCode, rule.Year, err)
		}
		hukouInDistrict := row.HukouDistrictCode.Valid && row.HukouDistrictCode.String == rule.DistrictCode
		candidate := Candidate{
			ApplicationNumber: row.Number, CategoryCode: row.CategoryCode, Choices: choices,
			HukouInDistrict:  hukouInDistrict,
			HukouAtResidence: hukouInDistrict && row.HukouAtResidence && row.ResidenceDistrict == rule.DistrictCode,
			RegisteredAt:     row.RegisteredAt,
		}
		if needsMoveIn {
			candidate.MovedInOn = moveInDate(keyring, row)
		}
		switch {
		case !slices.Contains(rule.CategoryOrder, row.CategoryCode):
			candidate.Ineligible = reasonCategoryLeftOut
		case rule.RequireDocumentsVerified && state.Status != enrol.StatusDocumentsVerified:
			candidate.Ineligible = reasonNotVerified
		case rule.RequireDocumentsVerified && verifiedChecks < len(rule.VerifiedCertificates):
			// The rules listed more certificates after the reviewer
			// verified this application.
			candidate.Ineligible = reasonChecksMissing
		}
		candidates = append(candidates, candidate)
		states = append(states, state)
	}
	return candidates, states, rows.Err()
}

// moveInDate reads the form field moveInDate (入住现居住地址的日期) from
// the application's sealed form values, where a district's own application
// form puts it, and else from its registration's. A missing, unreadable or
// invalid date counts as none, so the child ranks last on residence
// duration.
func moveInDate(keyring *crypto.Keyring, row candidateRow) time.Time {
	if date, ok := formDate(keyring, row.Number, row.ApplicationForm, enrol.ContextApplicationForm); ok {
		return date
	}
	date, _ := formDate(keyring, row.Number, row.RegistrationForm, enrol.ContextRegistrationForm)
	return date
}

// formDate opens sealed form values with the sealing context and returns
// the date in extra.moveInDate, and false when there is no valid one.
func formDate(keyring *crypto.Keyring, number string, sealed []byte, context string) (time.Time, bool) {
	if len(sealed) == 0 {
		return time.Time{}, false
	}
	plain, err := keyring.Open(sealed, context)
	if err != nil {
		slog.Warn("sealed form values do not open; the move-in date they contain counts as unknown",
			"application", number, "context", context, "error", err)
		return time.Time{}, false
	}
	var values struct {
		Extra map[string]any `json:"extra"`
	}
	if json.Unmarshal(plain, &values) != nil {
		return time.Time{}, false
	}
	text, _ := values.Extra["moveInDate"].(string)
	date, err := time.Parse(time.DateOnly, text)
	if err != nil {
		return time.Time{}, false
	}
	return date, true
}

// priorityNote describes in Chinese the facts of a candidate that the
// rule's criteria read, for the staff list.
func priorityNote(rule Rule, candidate Candidate, categoryNames map[string]string) string {
	yesNo := map[bool]string{true: "是", false: "否"}
	var parts []string
	for _, criterion := range rule.PriorityCriteria {
		switch criterion {
		case CriterionCategory:
			name := categoryNames[candidate.CategoryCode]
			if name == "" {
				name = candidate.CategoryCode
			}
			parts = append(parts, "类别："+name)
		case CriterionHukouInDistrict:
			parts = append(parts, "本区户籍："+yesNo[candidate.HukouInDistrict])
		case CriterionHukouAtResidence:
			parts = append(parts, "本区人户一致："+yesNo[candidate.HukouAtResidence])
		case CriterionResidenceDuration:
			if candidate.MovedInOn.IsZero() {
				parts = append(parts, "入住日期：未填写")
			} else {
				parts = append(parts, "入住日期："+candidate.MovedInOn.Format(time.DateOnly))
			}
		}
	}
	shanghai := time.FixedZone("CST", 8*3600)
	parts = append(parts, "登记时间："+candidate.RegisteredAt.In(shanghai).Format("2006-01-02 15:04:05"))
	return strings.Join(parts, "；")
}

// ProposalSummary is the outcome of a proposal run.
type ProposalSummary struct {
	Year         int    `json:"year"`
	DistrictCode string `json:"districtCode"`
	Applications int    `json:"applications"`
	Admitted     int    `json:"admitted"`
	NotAdmitted  int    `json:"notAdmitted"`
	Seats        int    `json:"seats"`
	// NotVerified counts the applications left out because the rules admit
	// only verified applications and theirs is not verified.
	NotVerified int       `json:"notVerified"`
	ProposedAt  time.Time `json:"proposedAt"`
}

// storeProposal replaces the district's proposal with placements inside
// tx and returns its summary. states are the candidates' review states,
// stored so the confirmation can tell whether one changed.
func storeProposal(ctx context.Context, tx *sqlx.Tx, rule Rule, candidates []Candidate, states []reviewState, placements []Placement,
	seats map[int64]int, staffID int64, staffName string, categoryNames map[string]string) (ProposalSummary, error) {
	summary := ProposalSummary{Year: rule.Year, DistrictCode: rule.DistrictCode, Applications: len(placements),
		Seats: seatTotal(seats)}
	ruleText, err := json.Marshal(rule)
	if err != nil {
		return summary, err
	}
	err = tx.GetContext(ctx, &summary.ProposedAt, `
		INSERT INTO admission_round (enrolment_year, district_code, rule_text, seats, proposed_by, proposed_by_name)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (enrolment_year, district_code) DO UPDATE SET
			rule_text = EXCLUDED.rule_text, seats = EXCLUDED.seats, proposed_by = EXCLUDED.proposed_by,
			proposed_by_name = EXCLUDED.proposed_by_name, proposed_at = now()
		RETURNING proposed_at`, rule.Year, rule.DistrictCode, string(ruleText), summary.Seats, staffID, staffName)
	if err != nil {
		return summary, fmt.Errorf("store the admission round of %s %d: %w", rule.DistrictCode, rule.Year, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM admission_proposal WHERE enrolment_year = $1 AND district_code = $2`,
		rule.Year, rule.DistrictCode); err != nil {
		return summary, err
	}

	count := len(placements)
	numbers, outcomes, reasons, notes := make([]string, count), make([]string, count), make([]string, count), make([]string, count)
	campusIDs, choiceRanks, campusRanks := make([]*int64, count), make([]*int32, count), make([]*int32, count)
	statuses, versions := make([]string, count), make([]int32, count)
	for i, placement := range placements {
		statuses[i], versions[i] = states[i].Status, states[i].Version
		numbers[i], reasons[i] = placement.ApplicationNumber, placement.Reason
		notes[i] = priorityNote(rule, candidates[i], categoryNames)
		if isNotVerified(candidates[i].Ineligible) {
			summary.NotVerified++
		}
		outcomes[i] = enrol.StatusNotAdmitted
		if placement.CampusID != 0 {
			summary.Admitted++
			outcomes[i] = enrol.StatusAdmitted
			campusID, choiceRank, campusRank := placement.CampusID, int32(placement.ChoiceRank), int32(placement.CampusRank)
			campusIDs[i], choiceRanks[i], campusRanks[i] = &campusID, &choiceRank, &campusRank
		}
	}
	summary.NotAdmitted = summary.Applications - summary.Admitted
	_, err = tx.ExecContext(ctx, `
		INSERT INTO admission_proposal (application_number, enrolment_year, district_code, outcome, campus_id,
		                                choice_rank, campus_rank, reason, priority_note, application_status,
		                                application_review_version)
		SELECT n, $1, $2, o, c, cr, r, reason, note, s, v
		FROM unnest($3::text[], $4::text[], $5::int8[], $6::int4[], $7::int4[], $8::text[], $9::text[], $10::text[], $11::int4[])
		     AS p(n, o, c, cr, r, reason, note, s, v)`,
		rule.Year, rule.DistrictCode, numbers, outcomes, campusIDs, choiceRanks, campusRanks, reasons, notes, statuses, versions)
	if err != nil {
		return summary, fmt.Errorf("store the admission proposal of %s %d: %w", rule.DistrictCode, rule.Year, err)
	}
	return summary, nil
}

// isNotVerified reports whether an ineligibility reason is one of the
// verification reasons.
func isNotVerified(reason string) bool {
	return reason == reasonNotVerified || reason == reasonChecksMissing
}

// categoryNames returns the Chinese names of the household categories.
func categoryNames(ctx context.Context, q sqlx.QueryerContext) (map[string]string, error) {
	var rows []Option
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT code AS value, name AS label FROM household_category`); err != nil {
		return nil, err
	}
	names := make(map[string]string, len(rows))
	for _, row := range rows {
		names[row.Value] = row.Label
	}
	return names, nil
}
