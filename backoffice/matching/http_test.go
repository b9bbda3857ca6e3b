package matching_test

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/xuri/excelize/v2"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/audit/audittest"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/matching"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

const (
	xuhui     = backofficetest.Xuhui
	changning = backofficetest.Changning
)

// countingPublisher counts the publications the handlers request.
type countingPublisher struct{ calls atomic.Int64 }

func (p *countingPublisher) Publish(context.Context) (*snapshot.Snapshot, error) {
	p.calls.Add(1)
	return &snapshot.Snapshot{}, nil
}

type fixture struct {
	env       *backofficetest.Env
	server    *audittest.Server
	publisher *countingPublisher
	city      *audittest.Client
	xuhui     *audittest.Client
	changning *audittest.Client
	teacher   *audittest.Client
	year      int
	street    string // a street of Xuhui with committees
	committee string // a committee of street
	campuses  []int64
}

// newFixture seeds a fresh database and serves the matching API with staff
// of several scopes signed in.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := backofficetest.New(t)
	publisher := &countingPublisher{}
	server := audittest.NewServer(t, env.DB.DB, env.Redis, func(r chi.Router, trail *audit.Trail) {
		handlers := &matching.Handlers{DB: env.DB.DB, Trail: trail, Keyring: env.Keyring, Publisher: publisher}
		handlers.Routes(r)
	})
	address := env.AddressIn(t, xuhui)
	f := &fixture{
		env: env, server: server, publisher: publisher,
		city:      server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity}),
		xuhui:     server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: xuhui}),
		changning: server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: changning}),
		teacher:   server.SignIn(t, "teacher", access.Scope{Level: access.LevelKindergarten, KindergartenID: 1}),
		year:      env.Year.Year,
		street:    address.Street,
		committee: address.Committee,
	}
	err := env.DB.DB.Select(&f.campuses, `
		SELECT c.id FROM campus c JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE c.district_code = $1 AND k.operating_status = 'normal' ORDER BY c.id`, xuhui)
	if err != nil || len(f.campuses) < 2 {
		t.Fatalf("Xuhui campuses: %v (%d found, 2 needed)", err, len(f.campuses))
	}
	return f
}

func (f *fixture) create(t *testing.T, client *audittest.Client, body map[string]any) matching.Rule {
	t.Helper()
	response := client.Send(t, http.MethodPost, "/api/v1/matching/rules", body)
	response.Expect(t, http.StatusCreated, "")
	var rule matching.Rule
	response.Decode(t, &rule)
	return rule
}

func (f *fixture) list(t *testing.T, client *audittest.Client, query string) matching.ListBody {
	t.Helper()
	response := client.Get(t, "/api/v1/matching/rules?"+query)
	response.Expect(t, http.StatusOK, "")
	var body matching.ListBody
	response.Decode(t, &body)
	return body
}

func rulePath(id int64) string { return "/api/v1/matching/rules/" + strconv.FormatInt(id, 10) }

func TestRuleLifecycle(t *testing.T) {
	f := newFixture(t)

	rule := f.create(t, f.xuhui, map[string]any{
		"mode": 2, "roadRange": "漕溪北路１００－１２０号", "parity": "双号", "campusId": f.campuses[0],
	})
	if rule.DistrictCode != xuhui || rule.Year != f.year {
		t.Errorf("created rule of %s %d, want the admin's district %s and year %d", rule.DistrictCode, rule.Year, xuhui, f.year)
	}
	if rule.RoadRange != "漕溪北路100-120号" || rule.Road != "漕溪北路" || rule.Parity != "even" {
		t.Errorf("created rule %+v, want the normal range 漕溪北路100-120号 on 漕溪北路, even", rule)
	}
	if f.publisher.calls.Load() != 1 {
		t.Errorf("publications after create = %d, want 1", f.publisher.calls.Load())
	}

	// Another district can neither read nor change it, and each attempt
	// is a 403 that the audit trail records.
	f.changning.Send(t, http.MethodPut, rulePath(rule.ID), map[string]any{"mode": 4, "campusId": f.campuses[0]}).
		Expect(t, http.StatusForbidden, "out_of_scope")
	f.changning.Send(t, http.MethodDelete, rulePath(rule.ID), nil).Expect(t, http.StatusForbidden, "out_of_scope")
	if n := f.server.DeniedEvents(t, "out_of_scope", rulePath(rule.ID)); n != 2 {
		t.Errorf("denied events of %s = %d, want 2 (the update and the delete)", rulePath(rule.ID), n)
	}
	f.xuhui.Send(t, http.MethodDelete, rulePath(rule.ID+1_000_000), nil).Expect(t, http.StatusNotFound, "matching_rule_not_found")
	if body := f.list(t, f.changning, "mode=2"); body.Total != 0 {
		t.Errorf("Changning lists %d mode-2 rules, want 0", body.Total)
	}
	f.teacher.Get(t, "/api/v1/matching/rules").Expect(t, http.StatusForbidden, "no_permission")

	updated := f.xuhui.Send(t, http.MethodPut, rulePath(rule.ID), map[string]any{
		"year": f.year, "mode": 2, "roadRange": "漕溪北路101号-121号", "parity": "odd", "campusId": f.campuses[1],
	})
	updated.Expect(t, http.StatusOK, "")
	updated.Decode(t, &rule)
	if rule.RoadRange != "漕溪北路101-121号" || rule.Parity != "odd" || rule.CampusID != f.campuses[1] {
		t.Errorf("updated rule %+v, want 漕溪北路101-121号, odd, campus %d", rule, f.campuses[1])
	}

	compoundRule := map[string]any{
		"mode": 3, "streetCode": f.street, "committeeCode": f.committee, "compound": "田林十二村", "campusId": f.campuses[0],
	}
	compound := f.create(t, f.xuhui, compoundRule)
	f.xuhui.Send(t, http.MethodPost, "/api/v1/matching/rules", compoundRule).Expect(t, http.StatusConflict, "duplicate_matching_rule")
	openList := f.create(t, f.city, map[string]any{
		"districtCode": xuhui, "mode": 4, "audience": "other_province", "offer": "public",
	})
	if openList.CampusID != 0 || openList.Offer != "public" {
		t.Errorf("out-of-province rule %+v, want offer public without a campus", openList)
	}

	body := f.list(t, f.xuhui, "year="+strconv.Itoa(f.year)+"&mode=2")
	if body.Total != 1 || len(body.Items) != 1 || body.Items[0].ID != rule.ID {
		t.Errorf("mode-2 list = %+v, want only rule %d", body, rule.ID)
	}
	if body := f.list(t, f.xuhui, "search=田林十二村"); body.Total != 1 || body.Items[0].ID != compound.ID {
		t.Errorf("search 田林十二村 = %+v, want only rule %d", body, compound.ID)
	}

	f.xuhui.Send(t, http.MethodDelete, rulePath(rule.ID), nil).Expect(t, http.StatusNoContent, "")
	if body := f.list(t, f.xuhui, "mode=2"); body.Total != 0 {
		t.Errorf("mode-2 rules after delete = %d, want 0", body.Total)
	}
	for _, action := range []string{matching.ActionCreate, matching.ActionUpdate, matching.ActionDelete} {
		var events int
		err := f.env.DB.DB.Get(&events, `SELECT count(*) FROM audit_event WHERE action = $1 AND district_code = $2`, action, xuhui)
		if err != nil || events == 0 {
			t.Errorf("audit events of %s = %d (%v), want at least 1", action, events, err)
		}
	}
	if got := f.publisher.calls.Load(); got != 5 {
		t.Errorf("publications = %d, want 5 (one per change)", got)
	}
}

func TestRuleRejectsInvalidInput(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		body map[string]any
		code string
	}{
		{"unknown mode", map[string]any{"mode": 5, "campusId": f.campuses[0]}, "invalid_mode"},
		{"mode 1 without street", map[string]any{"mode": 1, "campusId": f.campuses[0]}, "missing_street"},
		{"bad range", map[string]any{"mode": 2, "roadRange": "漕溪北路120-100号", "campusId": f.campuses[0]}, "reversed_house_number_range"},
		{"range without road", map[string]any{"mode": 2, "roadRange": "100-120号", "campusId": f.campuses[0]}, "address_missing_road"},
		{"odd single even", map[string]any{"mode": 2, "roadRange": "漕溪北路101号", "parity": "双号", "campusId": f.campuses[0]}, "parity_of_single_number"},
		{"bad parity", map[string]any{"mode": 2, "roadRange": "漕溪北路1-9号", "parity": "单双", "campusId": f.campuses[0]}, "invalid_parity"},
		{"compound too wide", map[string]any{
			"mode": 3, "streetCode": f.street, "committeeCode": f.committee, "compound": "上海市徐汇区田林街道田林十二村小区", "campusId": f.campuses[0],
		}, "compound_too_wide"},
		{"compound without committee", map[string]any{"mode": 3, "streetCode": f.street, "compound": "田林十二村", "campusId": f.campuses[0]}, "missing_committee"},
		{"street of another district", map[string]any{"mode": 1, "streetCode": "310105001", "campusId": f.campuses[0]}, "street_not_in_district"},
		{"campus of another district", map[string]any{"mode": 4, "campusId": 999999}, "campus_not_in_district"},
		{"public offer for local entries", map[string]any{"mode": 4, "offer": "public"}, "offer_only_for_other_province"},
		{"unknown year", map[string]any{"year": 1999, "mode": 4, "campusId": f.campuses[0]}, "unknown_year"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			f.xuhui.Send(t, http.MethodPost, "/api/v1/matching/rules", test.body).Expect(t, http.StatusBadRequest, test.code)
		})
	}
	f.xuhui.Send(t, http.MethodPost, "/api/v1/matching/rules", map[string]any{"districtCode": changning, "mode": 4, "campusId": f.campuses[0]}).
		Expect(t, http.StatusForbidden, "out_of_scope")
	if f.publisher.calls.Load() != 0 {
		t.Errorf("publications after rejected writes = %d, want 0", f.publisher.calls.Load())
	}
}

// workbook builds an xlsx with the template's header and rows.
func workbook(t *testing.T, rows ...[]any) []byte {
	t.Helper()
	file := excelize.NewFile()
	defer file.Close()
	header := []any{"匹配模式", "适用入口", "提供范围", "街道（镇）", "居（村）委", "门牌范围", "单双号", "小区", "办园点"}
	if err := file.SetSheetRow("Sheet1", "A1", &header); err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		if err := file.SetSheetRow("Sheet1", "A"+strconv.Itoa(i+2), &row); err != nil {
			t.Fatal(err)
		}
	}
	var buffer bytes.Buffer
	if err := file.Write(&buffer); err != nil {
		t.Fatal(err)
	}
	return buffer.Bytes()
}

func TestImportAllOrNothing(t *testing.T) {
	f := newFixture(t)
	var streetName, committeeName string
	if err := f.env.DB.DB.Get(&streetName, `SELECT name FROM street WHERE code = $1`, f.street); err != nil {
		t.Fatal(err)
	}
	if err := f.env.DB.DB.Get(&committeeName, `SELECT name FROM committee WHERE code = $1`, f.committee); err != nil {
		t.Fatal(err)
	}
	campus := strconv.FormatInt(f.campuses[0], 10)
	before := f.list(t, f.xuhui, "").Total

	bad := workbook(t,
		[]any{"2", "本市", "指定园所", "", "", "漕溪北路100-120号", "双号", "", campus},
		[]any{"2", "本市", "指定园所", "", "", "漕溪北路120-100号", "双号", "", campus},
		[]any{},
		[]any{"3", "本市", "指定园所", streetName, committeeName, "", "", "一个名字很长很长很长很长的小区名称", "没有这所幼儿园"},
	)
	response := f.xuhui.Upload(t, "/api/v1/matching/rules/import", "file", "rules.xlsx", bad)
	if response.Status != http.StatusUnprocessableEntity {
		t.Fatalf("import with bad rows = %d %s, want 422", response.Status, response.Body)
	}
	var report matching.ImportReport
	response.Decode(t, &report)
	want := []matching.ImportError{
		{Row: 3, Column: "F", Field: "roadRange"},
		{Row: 5, Column: "I", Field: "campusId"},
		{Row: 5, Column: "H", Field: "compound"},
	}
	if len(report.Errors) != len(want) {
		t.Fatalf("report errors = %+v, want %d errors", report.Errors, len(want))
	}
	for i, got := range report.Errors {
		if got.Row != want[i].Row || got.Column != want[i].Column || got.Field != want[i].Field || got.Message == "" {
			t.Errorf("error %d = %+v, want row %d column %s field %s with a message", i, got, want[i].Row, want[i].Column, want[i].Field)
		}
	}
	if report.Rows != 3 || report.Imported != 0 {
		t.Errorf("report rows = %d imported = %d, want 3 and 0", report.Rows, report.Imported)
	}
	if after := f.list(t, f.xuhui, "").Total; after != before {
		t.Errorf("rules after a rejected import = %d, want %d (none imported)", after, before)
	}

	good := workbook(t,
		[]any{"2", "本市", "指定园所", "", "", "漕溪北路１００－１２０号", "双号", "", campus},
		[]any{"详细地址", "", "", "", "", "宝山路1~5弄", "", "", campus},
		[]any{"3", "本市", "指定园所", streetName, committeeName, "", "", "田林十二村", campus},
		[]any{"4", "外省市", "民办园", "", "", "", "", "", ""},
	)
	response = f.xuhui.Upload(t, "/api/v1/matching/rules/import", "file", "rules.xlsx", good)
	response.Expect(t, http.StatusOK, "")
	response.Decode(t, &report)
	if report.Imported != 4 || len(report.Errors) != 0 {
		t.Errorf("good import report = %+v, want 4 imported", report)
	}
	if after := f.list(t, f.xuhui, "").Total; after != before+4 {
		t.Errorf("rules after import = %d, want %d", after, before+4)
	}
	if f.publisher.calls.Load() != 1 {
		t.Errorf("publications after import = %d, want 1", f.publisher.calls.Load())
	}

	// The same file again repeats stored rules, and a file that repeats a
	// row of its own is rejected too.
	response = f.xuhui.Upload(t, "/api/v1/matching/rules/import", "file", "rules.xlsx", good)
	if response.Status != http.StatusUnprocessableEntity {
		t.Fatalf("import of stored rules = %d %s, want 422", response.Status, response.Body)
	}
	response.Decode(t, &report)
	if len(report.Errors) != 4 || report.Errors[0].Row != 2 || report.Errors[0].Column != "" {
		t.Errorf("report of stored rules = %+v, want one whole-row error for each of rows 2 to 5", report.Errors)
	}
	repeated := workbook(t,
		[]any{"2", "本市", "指定园所", "", "", "宛平南路1-99号", "单号", "", campus},
		[]any{"2", "本市", "指定园所", "", "", "宛平南路１－９９号", "单号", "", campus},
	)
	response = f.xuhui.Upload(t, "/api/v1/matching/rules/import", "file", "rules.xlsx", repeated)
	response.Decode(t, &report)
	if response.Status != http.StatusUnprocessableEntity || len(report.Errors) != 1 || report.Errors[0].Row != 3 {
		t.Errorf("import with a repeated row = %d %+v, want 422 with an error on row 3", response.Status, report.Errors)
	}

	f.xuhui.Upload(t, "/api/v1/matching/rules/import", "file", "rules.xlsx", []byte("not a workbook")).
		Expect(t, http.StatusBadRequest, "invalid_import_file")
}

func TestTemplateHeader(t *testing.T) {
	f := newFixture(t)
	response := f.xuhui.Get(t, "/api/v1/matching/rules/template.xlsx")
	if response.Status != http.StatusOK {
		t.Fatalf("template = %d %s", response.Status, response.Body)
	}
	file, err := excelize.OpenReader(bytes.NewReader(response.Body))
	if err != nil {
		t.Fatalf("template does not open: %v", err)
	}
	defer file.Close()
	rows, err := file.GetRows(file.GetSheetList()[0])
	if err != nil || len(rows) < 2 {
		t.Fatalf("template rows: %v, %d rows", err, len(rows))
	}
	if rows[0][0] != "匹配模式" || rows[0][8] != "办园点" {
		t.Errorf("template header = %v", rows[0])
	}
}

// TestRuleTableConstraints checks that the table itself rejects rules the
// API rejects, so a rule written by another path cannot break the edge.
func TestRuleTableConstraints(t *testing.T) {
	f := newFixture(t)
	campus := f.campuses[0]
	const insert = `INSERT INTO matching_rule (enrolment_year, district_code, mode, audience, offer, street_code, committee_code,
		road, road_range, compound, campus_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`
	tests := []struct {
		name string
		args []any
	}{
		{"mode 1 without street", []any{1, "local", "campus", nil, nil, nil, nil, nil, campus}},
		{"mode 2 without range", []any{2, "local", "campus", nil, nil, "漕溪北路", nil, nil, campus}},
		{"mode 3 without compound", []any{3, "local", "campus", f.street, f.committee, nil, nil, nil, campus}},
		{"mode 3 compound of 25 characters", []any{3, "local", "campus", f.street, f.committee, nil, nil, "一二三四五六七八九十一二三四五六七八九十一二三四五", campus}},
		{"public offer for local entries", []any{4, "local", "public", nil, nil, nil, nil, nil, nil}},
		{"named campus missing", []any{4, "other_province", "campus", nil, nil, nil, nil, nil, nil}},
		{"campus with public offer", []any{4, "other_province", "public", nil, nil, nil, nil, nil, campus}},
		{"unknown audience", []any{4, "foreign", "campus", nil, nil, nil, nil, nil, campus}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			args := append([]any{f.year, xuhui}, test.args...)
			if _, err := f.env.DB.DB.Exec(insert, args...); err == nil {
				t.Errorf("the table accepted %v", test.args)
			}
		})
	}
	valid := []any{f.year, xuhui, 4, "other_province", "private", nil, nil, nil, nil, nil, nil}
	if _, err := f.env.DB.DB.Exec(insert, valid...); err != nil {
		t.Errorf("the table rejected an out-of-province rule offering private campuses: %v", err)
	}
}
