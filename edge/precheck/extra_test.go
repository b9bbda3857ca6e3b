package precheck_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// extraForm is version 2 of the registration form with one extra field of
// each type.
const extraForm = `{"title": "适龄幼儿入园信息登记", "sections": [{"key": "extra", "title": "补充信息", "fields": [
  {"key": "child.name", "label": "幼儿姓名", "type": "name", "required": true},
  {"key": "extra.birthProvince", "label": "出生地省份", "type": "select", "options": [{"value": "上海市", "label": "上海市"}]},
  {"key": "extra.householdSize", "label": "家庭人数", "type": "number", "required": true, "min": 1, "max": 10},
  {"key": "extra.note", "label": "备注", "type": "textarea", "maxLength": 20},
  {"key": "extra.onlyChild", "label": "是否独生子女", "type": "boolean"},
  {"key": "extra.movedInOn", "label": "入住日期", "type": "date"},
  {"key": "extra.contactPhone", "label": "紧急联系电话", "type": "phone"}
]}]}`

// extraCatalogue returns the fixture's catalogue with version 2 of the
// registration form.
func extraCatalogue(t *testing.T) *catalogue.Catalogue {
	f := edgetest.Shared(t)
	return f.CatalogueWith(t, func(s *snapshot.Snapshot) {
		s.Forms = append(s.Forms, snapshot.Form{Kind: enrolment.KindRegistration, Version: 2, Body: json.RawMessage(extraForm)})
	})
}

func TestCheckRegistrationExtraValid(t *testing.T) {
	f := edgetest.Shared(t)
	c := extraCatalogue(t)
	request := f.Registration(t)
	request.SchemaVersion = 2
	request.Extra = map[string]any{
		"birthProvince": "上海市",
		"householdSize": 3.0,
		"note":          "  家里有 ２ 只猫\n ",
		"onlyChild":     false,
		"movedInOn":     " 2024-01-05 ",
		"contactPhone":  "+86 139 0000 0000",
	}

	got, err := precheck.CheckRegistration(request, c, time.Now())
	if err != nil {
		t.Fatalf("CheckRegistration returned %v", err)
	}

	want := map[string]any{
		"birthProvince": "上海市",
		"householdSize": 3.0,
		"note":          "家里有 2 只猫",
		"onlyChild":     false,
		"movedInOn":     "2024-01-05",
		"contactPhone":  "13900000000",
	}
	if diff := cmp.Diff(want, got.Extra); diff != "" {
		t.Errorf("extra differs (-want +got):\n%s", diff)
	}
	if got.SchemaVersion != 2 {
		t.Errorf("SchemaVersion = %d, want 2", got.SchemaVersion)
	}
}

// TestCheckRegistrationExtraOlderSchema accepts a form filled in on
// version 1 when its fields are still valid, and records version 2.
func TestCheckRegistrationExtraOlderSchema(t *testing.T) {
	f := edgetest.Shared(t)
	request := f.Registration(t)
	request.SchemaVersion = 1
	request.Extra = map[string]any{"birthProvince": "上海市", "householdSize": 4.0}

	got, err := precheck.CheckRegistration(request, extraCatalogue(t), time.Now())
	if err != nil {
		t.Fatalf("CheckRegistration returned %v", err)
	}
	if got.SchemaVersion != 2 {
		t.Errorf("SchemaVersion = %d, want 2", got.SchemaVersion)
	}
}

func TestCheckRegistrationExtraInvalid(t *testing.T) {
	f := edgetest.Shared(t)
	c := extraCatalogue(t)
	tests := []struct {
		name          string
		schemaVersion int
		extra         map[string]any
		code          string
		field         string
	}{
		{"missing required", 2, map[string]any{"note": "无"}, "missing_field", "extra.householdSize"},
		{"blank required", 2, map[string]any{"householdSize": " "}, "missing_field", "extra.householdSize"},
		{"null required", 2, map[string]any{"householdSize": nil}, "missing_field", "extra.householdSize"},
		{"no extra object", 2, nil, "missing_field", "extra.householdSize"},
		{"number below min", 2, map[string]any{"householdSize": 0.0}, "out_of_range", "extra.householdSize"},
		{"number above max", 2, map[string]any{"householdSize": 10.5}, "out_of_range", "extra.householdSize"},
		{"number as text", 2, map[string]any{"householdSize": "3"}, "invalid_field_type", "extra.householdSize"},
		{"number as list", 2, map[string]any{"householdSize": []any{3.0}}, "invalid_field_type", "extra.householdSize"},
		{"boolean as text", 2, map[string]any{"householdSize": 3.0, "onlyChild": "是"}, "invalid_field_type", "extra.onlyChild"},
		{"impossible date", 2, map[string]any{"householdSize": 3.0, "movedInOn": "2024-02-30"}, "invalid_date", "extra.movedInOn"},
		{"date as number", 2, map[string]any{"householdSize": 3.0, "movedInOn": 20240105.0}, "invalid_field_type", "extra.movedInOn"},
		{"invalid phone", 2, map[string]any{"householdSize": 3.0, "contactPhone": "110"}, "invalid_field_type", "extra.contactPhone"},
		{"select not an option", 2, map[string]any{"householdSize": 3.0, "birthProvince": "北京市"}, "invalid_choice", "extra.birthProvince"},
		{"markup in text", 2, map[string]any{"householdSize": 3.0, "note": "<script>alert(1)</script>"}, "invalid_field_type", "extra.note"},
		{"template in text", 2, map[string]any{"householdSize": 3.0, "note": "{{.Secret}}"}, "invalid_field_type", "extra.note"},
		{"text too long", 2, map[string]any{"householdSize": 3.0, "note": strings.Repeat("猫", 21)}, "too_long", "extra.note"},
		{"text as object", 2, map[string]any{"householdSize": 3.0, "note": map[string]any{"a": "b"}}, "invalid_field_type", "extra.note"},
		{"unknown field", 2, map[string]any{"householdSize": 3.0, "pet": "猫"}, "unknown_field", "extra.pet"},
		{"unknown field without version", 0, map[string]any{"householdSize": 3.0, "pet": "猫"}, "unknown_field", "extra.pet"},
		{"unknown field of older form", 1, map[string]any{"householdSize": 3.0, "pet": "猫"}, "stale_form", "schemaVersion"},
		{"newer schema", 3, map[string]any{"householdSize": 3.0}, "stale_form", "schemaVersion"},
		{"negative schema", -5, map[string]any{"householdSize": 3.0}, "invalid_schema_version", "schemaVersion"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			request := f.Registration(t)
			request.SchemaVersion = test.schemaVersion
			request.Extra = test.extra
			_, err := precheck.CheckRegistration(request, c, time.Now())
			edgetest.CheckError(t, err, http.StatusBadRequest, test.code, test.field)
		})
	}
}
