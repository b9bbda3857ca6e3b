package securitytest

import (
	"strconv"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
)

// fixtures are objects of the walker's district (徐汇) and of the district
// it attacks (长宁), so every path parameter can name another district's
// object.
type fixtures struct {
	dictionary string
	// ownItem and otherItem are district overrides of dictionary in 徐汇
	// and 长宁.
	ownItem, otherItem int64
	otherItemLabel     string
	ownItemLabel       string

	ownRegistration, otherRegistration string
	ownApplication, otherApplication   string

	otherStaffID          int64
	otherStreet           string
	otherKindergarten     int64
	otherKindergartenName string
	ownKindergarten       int64
	// ownCampus and otherCampus are a campus of 徐汇 and one of 长宁.
	ownCampus, otherCampus int64

	// year is the latest enrolment year.
	year int
	// fieldCode and certificateCode are codes of city library rows, which
	// a district may override.
	fieldCode, certificateCode string
	// category is the household category of 长宁's application form
	// draft.
	category string
	// The remaining fields are IDs of 长宁 rows that each route's probes
	// name: a form field and an upload certificate override, a matching
	// rule, an SMS template, a failed outbox message and a pending
	// deletion request.
	otherField, otherCertificate int64
	otherRule                    int64
	otherTemplate, otherOutbox   int64
	otherDeletion                int64
}

// otherDistrictLabel is the label of the 长宁 dictionary override. It is
// unique in the database, so a response that contains it leaked the row.
const otherDistrictLabel = "长宁区专用测试选项"

// otherDistrictPrefix starts the label, name or text of every 长宁 row the
// fixtures store, so a response that contains it leaked one of them.
const otherDistrictPrefix = "长宁区专用测试"

// ownDistrictPrefix starts the text of the walker's own rows, which a
// filtered list must still contain.
const ownDistrictPrefix = "徐汇区专用测试"

// newFixtures registers a child in each district, applies in the same
// district and drains both into the database, adds a dictionary override
// per district and looks up a 长宁 street and kindergarten.
func newFixtures(t *testing.T, env *backofficetest.Env) fixtures {
	t.Helper()
	var f fixtures
	f.ownRegistration = env.Register(t, backofficetest.Subject(0), env.ShanghaiChild(t, 0, xuhui, xuhui))
	f.otherRegistration = env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, changning, changning))
	f.ownApplication = env.Apply(t, backofficetest.Subject(0), f.ownRegistration, xuhui)
	f.otherApplication = env.Apply(t, backofficetest.Subject(1), f.otherRegistration, changning)
	running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("security-fixtures")))
	env.WaitForRows(t, time.Minute, 2, `SELECT count(*) FROM registration`)
	env.WaitForRows(t, time.Minute, 2, `SELECT count(*) FROM application`)
	if err := running.Stop(t); err != nil {
		t.Fatalf("drainer: %v", err)
	}

	db := env.DB.DB
	if err := db.Get(&f.dictionary, `SELECT code FROM dictionary ORDER BY code LIMIT 1`); err != nil {
		t.Fatalf("read a dictionary: %v", err)
	}
	insertItem := func(district, value, label string) int64 {
		var id int64
		err := db.Get(&id, `
			INSERT INTO dictionary_item (dictionary_code, district_code, value, label, sort_order, enabled)
			VALUES ($1, $2, $3, $4, 9000, true) RETURNING id`, f.dictionary, district, value, label)
		if err != nil {
			t.Fatalf("insert dictionary item of %s: %v", district, err)
		}
		return id
	}
	f.ownItemLabel = "徐汇区专用测试选项"
	f.ownItem = insertItem(xuhui, "walk-own", f.ownItemLabel)
	f.otherItemLabel = otherDistrictLabel
	f.otherItem = insertItem(changning, "walk-other", f.otherItemLabel)

	if err := db.Get(&f.otherStreet, `SELECT code FROM street WHERE district_code = $1 ORDER BY code LIMIT 1`, changning); err != nil {
		t.Fatalf("read a street of 长宁: %v", err)
	}
	row := db.QueryRow(`SELECT id, name FROM kindergarten WHERE district_code = $1 ORDER BY id LIMIT 1`, changning)
	if err := row.Scan(&f.otherKindergarten, &f.otherKindergartenName); err != nil {
		t.Fatalf("read a kindergarten of 长宁: %v", err)
	}
	row = db.QueryRow(`SELECT id FROM kindergarten WHERE district_code = $1 ORDER BY id LIMIT 1`, xuhui)
	if err := row.Scan(&f.ownKindergarten); err != nil {
		t.Fatalf("read a kindergarten of 徐汇: %v", err)
	}
	for district, campus := range map[string]*int64{xuhui: &f.ownCampus, changning: &f.otherCampus} {
		if err := db.Get(campus, `SELECT id FROM campus WHERE district_code = $1 ORDER BY id LIMIT 1`, district); err != nil {
			t.Fatalf("read a campus of %s: %v", district, err)
		}
	}
	insertOtherDistrictRows(t, env, &f)
	return f
}

// insertOtherDistrictRows stores the 长宁 rows of the forms, matching,
// SMS, review and attendance routes. It also stores 徐汇 SMS, review and
// attendance rows, which the walker's filtered lists must still return.
func insertOtherDistrictRows(t *testing.T, env *backofficetest.Env, f *fixtures) {
	t.Helper()
	db := env.DB.DB
	get := func(what string, dest any, query string, args ...any) {
		t.Helper()
		if err := db.Get(dest, query, args...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	exec := func(what string, query string, args ...any) {
		t.Helper()
		if _, err := db.Exec(query, args...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	get("read the latest enrolment year", &f.year, `SELECT max(year) FROM enrolment_year`)
	get("read a city text field", &f.fieldCode,
		`SELECT code FROM form_field WHERE district_code IS NULL AND field_type = 'text' ORDER BY id LIMIT 1`)
	get("read a city certificate", &f.certificateCode,
		`SELECT code FROM form_certificate WHERE district_code IS NULL ORDER BY id LIMIT 1`)
	get("insert a 长宁 form field override", &f.otherField, `
		INSERT INTO form_field (code, district_code, label, field_type, dictionary_code, help, required, min_length,
			max_length, pattern, pattern_message, min_value, max_value, linkage, enabled)
		SELECT code, $1, $2, field_type, dictionary_code, help, required, min_length,
			max_length, pattern, pattern_message, min_value, max_value, linkage, enabled
		FROM form_field WHERE district_code IS NULL ORDER BY id LIMIT 1
		RETURNING id`, changning, otherDistrictPrefix+"字段")
	get("insert a 长宁 certificate override", &f.otherCertificate, `
		INSERT INTO form_certificate (code, district_code, name, help, accepted_types, max_size_kb, max_count, enabled)
		SELECT code, $1, $2, help, accepted_types, max_size_kb, max_count, enabled
		FROM form_certificate WHERE district_code IS NULL ORDER BY id LIMIT 1
		RETURNING id`, changning, otherDistrictPrefix+"材料")
	get("read a household category", &f.category, `SELECT code FROM household_category ORDER BY sort_order LIMIT 1`)
	exec("insert a 长宁 form draft", `
		INSERT INTO form_draft (kind, district_code, category_code, design) VALUES ('application', $1, $2, '{"sections": []}')`,
		changning, f.category)

	get("insert a 长宁 matching rule", &f.otherRule, `
		INSERT INTO matching_rule (enrolment_year, district_code, mode, street_code, campus_id)
		SELECT (SELECT max(year) FROM enrolment_year), k.district_code, 1, k.street_code, c.id
		FROM kindergarten k JOIN campus c ON c.kindergarten_id = k.id
		WHERE k.id = $1 ORDER BY c.id LIMIT 1
		RETURNING id`, f.otherKindergarten)

	get("insert a 长宁 SMS template", &f.otherTemplate, `
		INSERT INTO sms_template (event, district_code, body, updated_by)
		VALUES ('application_succeeded', $1, $2, 'fixture') RETURNING id`, changning, otherDistrictPrefix+"短信模板")
	get("insert a failed 长宁 SMS", &f.otherOutbox, `
		INSERT INTO sms_outbox (event, district_code, record_number, phone, phone_masked, body, preview, key_id,
			status, attempts, last_error)
		VALUES ('application_succeeded', $1, $2, '\x00', '138****0000', '\x00', $3, 'fixture', 'failed', 5, 'fixture')
		RETURNING id`, changning, f.otherApplication, otherDistrictPrefix+"短信内容")

	get("insert a 长宁 deletion request", &f.otherDeletion, `
		INSERT INTO deletion_request (record_kind, record_number, enrolment_year, district_code, reason,
			requested_by, requested_by_name)
		SELECT 'registration', r.registration_number, r.enrolment_year, $2, $3, 0, '长宁区测试管理员'
		FROM registration r WHERE r.registration_number = $1
		RETURNING id`, f.otherRegistration, changning, otherDistrictPrefix+"删除理由")
	exec("insert a 长宁 application return", `
		INSERT INTO application_return (application_number, district_code, reason, returned_by, returned_by_name)
		VALUES ($1, $2, $3, 0, '长宁区测试管理员')`, f.otherApplication, changning, otherDistrictPrefix+"退回原因")

	exec("insert a 长宁 feedback report", `
		INSERT INTO service_feedback (stream_entry_id, category, body, page, step, trigger, district_code, key_id, submitted_at)
		VALUES ('1-1', 'other', $2, '/apply', '选择园所', 'leave', $1, 'fixture', now())`, changning, otherDistrictPrefix+"办不成事反映")

	// The walker's own rows, which its filtered lists must still return.
	exec("insert a 徐汇 feedback report", `
		INSERT INTO service_feedback (stream_entry_id, category, body, page, step, trigger, district_code, key_id, submitted_at)
		VALUES ('1-2', 'other', $2, '/apply', '选择园所', 'leave', $1, 'fixture', now())`, xuhui, ownDistrictPrefix+"办不成事反映")
	exec("insert a 徐汇 SMS template", `
		INSERT INTO sms_template (event, district_code, body, updated_by)
		VALUES ('application_succeeded', $1, $2, 'fixture')`, xuhui, ownDistrictPrefix+"短信模板")
	exec("insert a failed 徐汇 SMS", `
		INSERT INTO sms_outbox (event, district_code, record_number, phone, phone_masked, body, preview, key_id,
			status, attempts, last_error)
		VALUES ('application_succeeded', $1, $2, '\x00', '138****0000', '\x00', $3, 'fixture', 'failed', 5, 'fixture')`,
		xuhui, f.ownApplication, ownDistrictPrefix+"短信内容")
	exec("insert a 徐汇 deletion request", `
		INSERT INTO deletion_request (record_kind, record_number, enrolment_year, district_code, reason,
			requested_by, requested_by_name)
		SELECT 'registration', r.registration_number, r.enrolment_year, $2, $3, 0, '徐汇区测试管理员'
		FROM registration r WHERE r.registration_number = $1`, f.ownRegistration, xuhui, ownDistrictPrefix+"删除理由")
	exec("insert a 徐汇 application return", `
		INSERT INTO application_return (application_number, district_code, reason, returned_by, returned_by_name)
		VALUES ($1, $2, $3, 0, '徐汇区测试管理员')`, f.ownApplication, xuhui, ownDistrictPrefix+"退回原因")

	for _, kindergarten := range []int64{f.ownKindergarten, f.otherKindergarten} {
		exec("insert a day of attendance", `
			INSERT INTO attendance_kindergarten_day (day, kindergarten_id, grade, district_code, street_code, expected,
				present, sick, personal, not_checked, sick_disease, sick_symptom, sick_other, morning_checked,
				morning_normal, morning_abnormal, abnormal_sent_home, reason_temperature, reason_mouth, reason_eyes,
				reason_skin_hands, reason_skin_face, reason_other)
			SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date, id, 1, district_code, street_code, 30,
				27, 2, 1, 0, 1, 1, 0, 27, 26, 1, 0, 1, 0, 0, 0, 0, 0
			FROM kindergarten WHERE id = $1`, kindergarten)
	}
}

// otherDistrictMarkers are strings that only a response leaking 长宁's
// rows contains.
func (f fixtures) otherDistrictMarkers() []string {
	return []string{
		f.otherRegistration, f.otherApplication, f.otherItemLabel, changningAdmin, f.otherKindergartenName,
		"district:" + changning, "street:" + f.otherStreet, "kindergarten:" + strconv.FormatInt(f.otherKindergarten, 10),
		otherDistrictPrefix, `"districtCode":"` + changning + `"`,
	}
}
