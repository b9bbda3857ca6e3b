package dashboard_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	shared "github.com/sh-preschool/preschool/shared/feedback"
)

// insertFeedback stores reports spread over districts (and none), pages,
// categories, triggers and steps inside the enrolment season, and a few
// before the season opens, which no panel may count.
func insertFeedback(t *testing.T, f *fixture) {
	t.Helper()
	districts := []any{backofficetest.Xuhui, backofficetest.Changning, nil}
	pages := []string{"/register", "/receipt/3101040000017", "/apply/3101040000017", "/"}
	triggers := []string{shared.TriggerIdle, shared.TriggerLeave, shared.TriggerManual}
	steps := []string{"幼儿信息", "监护人信息", "选择园所"}
	opens := f.env.Year.RegistrationOpensAt
	for i := range 70 {
		submitted := opens.Add(time.Duration(i) * 47 * time.Second)
		if i >= 66 {
			submitted = opens.Add(-time.Duration(i) * time.Hour)
		}
		_, err := f.env.DB.DB.Exec(`
			INSERT INTO service_feedback (stream_entry_id, category, body, page, step, trigger, district_code, key_id, submitted_at)
			VALUES ($1, $2, '测试反映', $3, $4, $5, $6, 'test', $7)`,
			fmt.Sprintf("1-%d", i), shared.Categories[i%len(shared.Categories)].Code, pages[i%len(pages)],
			steps[i%len(steps)], triggers[i%len(triggers)], districts[i%len(districts)], submitted)
		if err != nil {
			t.Fatalf("insert feedback report %d: %v", i, err)
		}
	}
}

// feedbackCounts is the counts a panel should show, computed in Go from
// the raw rows of the season in district (all districts when empty).
type feedbackCounts struct {
	total                                                     int64
	byDay, byStage, byDistrict, byCategory, byTrigger, byStep map[string]int64
}

func rawFeedbackCounts(t *testing.T, f *fixture, district string) feedbackCounts {
	t.Helper()
	var rows []struct {
		District  sql.NullString `db:"district_code"`
		Page      string         `db:"page"`
		Category  string         `db:"category"`
		Trigger   string         `db:"trigger"`
		Step      string         `db:"step"`
		Submitted time.Time      `db:"submitted_at"`
	}
	err := f.env.DB.DB.Select(&rows, `SELECT district_code, page, category, trigger, step, submitted_at
		FROM service_feedback WHERE submitted_at BETWEEN $1 AND $2`, f.env.Year.RegistrationOpensAt, f.env.Year.ApplicationClosesAt)
	if err != nil {
		t.Fatal(err)
	}
	counts := feedbackCounts{byDay: map[string]int64{}, byStage: map[string]int64{}, byDistrict: map[string]int64{},
		byCategory: map[string]int64{}, byTrigger: map[string]int64{}, byStep: map[string]int64{}}
	for _, row := range rows {
		if district != "" && row.District.String != district {
			continue
		}
		stage := "other"
		switch {
		case row.Page == "/register", strings.HasPrefix(row.Page, "/receipt/"):
			stage = "registration"
		case strings.HasPrefix(row.Page, "/apply/"):
			stage = "application"
		}
		counts.total++
		counts.byDay[row.Submitted.In(enrol.Shanghai).Format(time.DateOnly)+"/"+stage]++
		counts.byStage[stage]++
		counts.byDistrict[row.District.String]++
		counts.byCategory[row.Category]++
		counts.byTrigger[row.Trigger]++
		counts.byStep[row.Step]++
	}
	return counts
}

func compareFeedback(t *testing.T, viewer string, got dashboardenrolment.Feedback, want feedbackCounts) {
	t.Helper()
	if got.Total != want.total || want.total == 0 {
		t.Errorf("%s: total = %d, want %d (and more than 0)", viewer, got.Total, want.total)
	}

	days := map[string]int64{}
	for _, c := range got.ByDay {
		days[c.Day+"/"+c.Stage] = c.Count
	}
	sameCounts(t, viewer+" reports by day and stage", days, want.byDay)

	toMap := func(counts []dashboardenrolment.FeedbackCount) map[string]int64 {
		m := map[string]int64{}
		for _, c := range counts {
			if c.Count > 0 {
				m[c.Code] = c.Count
			}
		}
		return m
	}
	sameCounts(t, viewer+" reports by stage", toMap(got.ByStage), want.byStage)
	sameCounts(t, viewer+" reports by district", toMap(got.ByDistrict), want.byDistrict)
	sameCounts(t, viewer+" reports by category", toMap(got.ByCategory), want.byCategory)
	sameCounts(t, viewer+" reports by trigger", toMap(got.ByTrigger), want.byTrigger)
	sameCounts(t, viewer+" reports by step", toMap(got.ByStep), want.byStep)

	if len(got.ByCategory) != len(shared.Categories) {
		t.Errorf("%s: %d categories, want all %d", viewer, len(got.ByCategory), len(shared.Categories))
	}

	for _, c := range append(got.ByCategory, got.ByDistrict...) {
		if c.Name == "" || c.Name == c.Code {
			t.Errorf("%s: %q has no name", viewer, c.Code)
		}
	}
}

func TestFeedbackCountsMatchRawRows(t *testing.T) {
	f := newFixture(t, 100)
	insertFeedback(t, f)

	var opinion dashboardenrolment.Opinion
	f.get(t, cityStaff, "/dashboard/enrolment/opinion", http.StatusOK, &opinion)
	compareFeedback(t, "city", opinion.Feedback, rawFeedbackCounts(t, f, ""))
	if len(opinion.Feedback.ByDistrict) != 3 {
		t.Errorf("city sees reports of %d districts (with none), want 3: %+v", len(opinion.Feedback.ByDistrict), opinion.Feedback.ByDistrict)
	}

	opinion = dashboardenrolment.Opinion{}
	f.get(t, cityStaff, "/dashboard/enrolment/opinion?district="+backofficetest.Changning, http.StatusOK, &opinion)
	compareFeedback(t, "city drilled to 长宁", opinion.Feedback, rawFeedbackCounts(t, f, backofficetest.Changning))

	opinion = dashboardenrolment.Opinion{}
	f.get(t, xuhuiStaff, "/dashboard/enrolment/opinion", http.StatusOK, &opinion)
	compareFeedback(t, "徐汇 staff", opinion.Feedback, rawFeedbackCounts(t, f, backofficetest.Xuhui))
	f.get(t, xuhuiStaff, "/dashboard/enrolment/opinion?district="+backofficetest.Changning, http.StatusForbidden, nil)
}
