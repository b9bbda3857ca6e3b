package enrolment

import (
	"context"
	"fmt"

	"github.com/sh-preschool/preschool/backoffice/access"
	shared "github.com/sh-preschool/preschool/shared/feedback"
)

// feedbackColumns tie a 办不成事 report (alias x) to a data scope: the
// district of the page the parent was on. A report without a district
// counts for city viewers only, and street and kindergarten staff see none.
var feedbackColumns = access.Columns{Districts: []string{"x.district_code"}}

// feedbackStage is the enrolment stage of the page a report came from.
// The parent pages are /register, /receipt/{number} (shown after
// registering) and /apply/{number}. The home page and any other page count
// as "other".
const feedbackStage = `CASE WHEN x.page = '/register' OR x.page LIKE '/receipt/%' THEN 'registration'
	WHEN x.page LIKE '/apply/%' THEN 'application' ELSE 'other' END`

// maxFeedbackSteps bounds the steps listed, because the step is free text
// that the parent's browser sends.
const maxFeedbackSteps = 20

// FeedbackCount is the number of reports of one value of a dimension.
type FeedbackCount struct {
	Code  string `json:"code" db:"code"`
	Name  string `json:"name" db:"-"`
	Count int64  `json:"count" db:"count"`
}

// FeedbackDayCount is the number of reports of one Shanghai day and stage.
type FeedbackDayCount struct {
	Day   string `json:"day" db:"day"`
	Stage string `json:"stage" db:"stage"`
	Count int64  `json:"count" db:"count"`
}

// Feedback is the 办不成事 reports that parents sent from the enrolment
// pages, as stored in service_feedback.
type Feedback struct {
	Total int64              `json:"total"`
	ByDay []FeedbackDayCount `json:"byDay"`
	// ByStage groups by the page's stage: registration, application or
	// other.
	ByStage []FeedbackCount `json:"byStage"`
	// ByDistrict has the code "" for reports sent before a district was
	// chosen.
	ByDistrict []FeedbackCount `json:"byDistrict"`
	// ByCategory lists every category, with zero counts too.
	ByCategory []FeedbackCount `json:"byCategory"`
	ByTrigger  []FeedbackCount `json:"byTrigger"`
	// ByStep is the form sections the parents were in, the most reported
	// first, at most maxFeedbackSteps of them.
	ByStep []FeedbackCount `json:"byStep"`
}

// Feedback returns the 办不成事 report counts of the year's enrolment
// season and the query's range within the scope. A district area narrows
// them to that district.
func (s *Store) Feedback(ctx context.Context, q Query) (Feedback, error) {
	feedback := Feedback{ByDay: []FeedbackDayCount{}}
	from, where, args := seasonRows(q, "service_feedback x", "x.submitted_at", "x.district_code", feedbackColumns)

	err := s.DB.SelectContext(ctx, &feedback.ByDay, `
		SELECT CAST(CAST(x.submitted_at AT TIME ZONE 'Asia/Shanghai' AS date) AS text) AS day, `+feedbackStage+` AS stage,
		       count(*) AS count
		FROM `+from+` WHERE `+where+` GROUP BY 1, 2 ORDER BY 1, 2`, args...)
	if err != nil {
		return feedback, fmt.Errorf("feedback reports by day: %w", err)
	}

	groups := []struct {
		target *[]FeedbackCount
		code   string
		order  string
	}{
		{&feedback.ByStage, feedbackStage, "2"},
		{&feedback.ByDistrict, "COALESCE(x.district_code, '')", "2"},
		{&feedback.ByCategory, "x.category", "2"},
		{&feedback.ByTrigger, "x.trigger", "2"},
		{&feedback.ByStep, "x.step", "count(*) DESC, 1 LIMIT " + fmt.Sprint(maxFeedbackSteps)},
	}
	for _, group := range groups {
		*group.target = []FeedbackCount{}
		err := s.DB.SelectContext(ctx, group.target, `SELECT `+group.code+` AS code, count(*) AS count
			FROM `+from+` WHERE `+where+` GROUP BY 1 ORDER BY `+group.order, args...)
		if err != nil {
			return feedback, fmt.Errorf("feedback reports by %s: %w", group.code, err)
		}
	}
	for _, c := range feedback.ByStage {
		feedback.Total += c.Count
	}

	for i := range feedback.ByDistrict {
		district := &feedback.ByDistrict[i]
		district.Name = "未选择区"
		if district.Code != "" {
			district.Name = s.Names.District(ctx, district.Code)
		}
	}
	feedback.ByCategory = withAllCategories(feedback.ByCategory)
	return feedback, nil
}

// withAllCategories returns a count for every category in the order the
// parent page offers them, with the category names.
func withAllCategories(counts []FeedbackCount) []FeedbackCount {
	byCode := map[string]int64{}
	for _, c := range counts {
		byCode[c.Code] = c.Count
	}
	all := make([]FeedbackCount, 0, len(shared.Categories))
	for _, category := range shared.Categories {
		all = append(all, FeedbackCount{Code: category.Code, Name: category.Name, Count: byCode[category.Code]})
	}
	return all
}
