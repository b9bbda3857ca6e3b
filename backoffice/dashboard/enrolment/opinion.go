package enrolment

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	"github.com/sh-preschool/preschool/backoffice/httpx"
)

// opinionColumns tie a public-opinion record (alias o) to a data scope.
// Records have a district only, so street and kindergarten staff see none.
var opinionColumns = access.Columns{Districts: []string{"o.district_code"}}

// OpinionCount is the records of one source and one value of a dimension.
type OpinionCount struct {
	Source string `json:"source" db:"source"`
	Code   string `json:"code" db:"code"`
	Count  int64  `json:"count" db:"count"`
}

// Opinion is the public-opinion panel: help-desk questions and hotline
// calls by status, problem type, channel, district, stage and day, and the
// parents' 办不成事 reports.
type Opinion struct {
	Year          int             `json:"year"`
	Range         dashboard.Range `json:"range"`
	ByStatus      []OpinionCount  `json:"byStatus"`
	ByProblemType []OpinionCount  `json:"byProblemType"`
	ByChannel     []OpinionCount  `json:"byChannel"`
	ByDistrict    []OpinionCount  `json:"byDistrict"`
	ByStage       []OpinionCount  `json:"byStage"`
	ByDay         []OpinionCount  `json:"byDay"`
	// UnresolvedQuestions is the help-desk questions not resolved, which
	// the unresolved_questions threshold watches.
	UnresolvedQuestions int64 `json:"unresolvedQuestions"`
	// Feedback is the parents' 办不成事 reports of the same range and area.
	Feedback Feedback `json:"feedback"`
}

// Opinion returns the public-opinion panel of the year's range within the
// scope. A district area narrows it to that district.
func (s *Store) Opinion(ctx context.Context, q Query) (Opinion, error) {
	opinion := Opinion{Year: q.Year, Range: q.Range}
	from, where, args := seasonRows(q, "opinion_record o", "o.received_at", "o.district_code", opinionColumns)

	groups := []struct {
		target *[]OpinionCount
		code   string
	}{
		{&opinion.ByStatus, "o.status"},
		{&opinion.ByProblemType, "o.problem_type"},
		{&opinion.ByChannel, "COALESCE(o.channel, '')"},
		{&opinion.ByDistrict, "o.district_code"},
		{&opinion.ByStage, "CASE WHEN o.received_at < y.registration_closes_at THEN 'registration' ELSE 'application' END"},
		{&opinion.ByDay, "CAST(CAST(o.received_at AT TIME ZONE 'Asia/Shanghai' AS date) AS text)"},
	}
	for _, group := range groups {
		err := s.DB.SelectContext(ctx, group.target, `SELECT o.source, `+group.code+` AS code, count(*) AS count
			FROM `+from+` WHERE `+where+` GROUP BY 1, 2 ORDER BY 1, 2`, args...)
		if err != nil {
			return opinion, fmt.Errorf("opinion records by %s: %w", group.code, err)
		}
	}
	for _, c := range opinion.ByStatus {
		if c.Source == "helpdesk" && c.Code != "resolved" {
			opinion.UnresolvedQuestions += c.Count
		}
	}
	var err error
	opinion.Feedback, err = s.Feedback(ctx, q)
	return opinion, err
}

// seasonRows returns the FROM and WHERE clauses, with their arguments, that
// select a table's rows inside the year's enrolment season (registration
// opening to application closing) and the query's range, scope and
// district. The table must have only a district, so street areas and
// street or kindergarten scopes select nothing. FROM joins enrolment_year
// as y.
func seasonRows(q Query, table, timeColumn, districtColumn string, columns access.Columns) (from, where string, args []any) {
	w := &dashboard.Where{}
	w.AddValue(timeColumn+" >= %s", q.Range.From)
	w.AddValue(timeColumn+" < %s", q.Range.To)
	w.Add(q.Scope.Filter(columns, w.Next()))
	w.Add(q.Area.Condition(districtColumn, "''", w.Next()))
	yearArg := w.Next()
	args = append(w.Args, int16(q.Year))
	window := timeColumn + ` >= y.registration_opens_at AND ` + timeColumn + ` < y.application_closes_at`
	from = table + ` JOIN enrolment_year y ON y.year = $` + fmt.Sprint(yearArg) + ` AND ` + window
	return from, w.SQL(), args
}

// UnresolvedQuestionsByDistrict returns the help-desk questions not yet
// resolved per district, counted over the same records as Opinion's
// UnresolvedQuestions, so the alert and the panel agree for the same q.
func (s *Store) UnresolvedQuestionsByDistrict(ctx context.Context, q Query) ([]Count, error) {
	from, where, args := seasonRows(q, "opinion_record o", "o.received_at", "o.district_code", opinionColumns)
	var counts []Count
	err := s.DB.SelectContext(ctx, &counts, `SELECT o.district_code AS code, d.name, count(*) AS count
		FROM `+from+` JOIN district d ON d.code = o.district_code
		WHERE o.source = 'helpdesk' AND o.status <> 'resolved' AND `+where+`
		GROUP BY 1, 2 ORDER BY 1`, args...)
	if err != nil {
		return nil, fmt.Errorf("unresolved help-desk questions by district: %w", err)
	}
	return counts, nil
}

// opinion handles GET /dashboard/enrolment/opinion.
func (h *Handlers) opinion(w http.ResponseWriter, r *http.Request) error {
	q, err := h.parseQuery(r)
	if err != nil {
		return err
	}
	opinion, err := h.Store.Opinion(r.Context(), q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, opinion)
	return nil
}
