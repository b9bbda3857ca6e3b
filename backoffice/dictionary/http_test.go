package dictionary_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/audit/audittest"
	"github.com/sh-preschool/preschool/backoffice/dictionary"
	"github.com/sh-preschool/preschool/backoffice/seed"
	"github.com/sh-preschool/preschool/shared/snapshot"
	"github.com/sh-preschool/preschool/shared/testenv"
)

const (
	xuhui     = "310104"
	changning = "310105"
)

// countingPublisher counts the publications the handlers ask for.
type countingPublisher struct{ calls atomic.Int64 }

func (p *countingPublisher) Publish(context.Context) (*snapshot.Snapshot, error) {
	p.calls.Add(1)
	return &snapshot.Snapshot{}, nil
}

type fixture struct {
	server    *audittest.Server
	publisher *countingPublisher
	city      *audittest.Client
	xuhui     *audittest.Client
	changning *audittest.Client
	street    *audittest.Client
	auditor   *audittest.Client
}

// newFixture seeds a fresh database with the divisions and dictionaries and
// serves the dictionary API with staff of several scopes signed in.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	database := testenv.NewDatabase(t)
	if err := seed.LoadDivisions(ctx, database.DB); err != nil {
		t.Fatalf("load divisions: %v", err)
	}
	if err := dictionary.Seed(ctx, database.DB); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	publisher := &countingPublisher{}
	server := audittest.NewServer(t, database.DB, testenv.NewRedis(t), func(r chi.Router, trail *audit.Trail) {
		handlers := &dictionary.Handlers{DB: database.DB, Trail: trail, Publisher: publisher}
		handlers.Routes(r)
	})
	return &fixture{
		server:    server,
		publisher: publisher,
		city:      server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity}),
		xuhui:     server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: xuhui}),
		changning: server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: changning}),
		street:    server.SignIn(t, "street_officer", access.Scope{Level: access.LevelStreet, StreetCode: "310104003"}),
		auditor:   server.SignIn(t, "auditor", access.Scope{Level: access.LevelNone}),
	}
}

func (f *fixture) items(t *testing.T, client *audittest.Client, code, district string) dictionary.ItemsBody {
	t.Helper()
	path := "/api/v1/dictionaries/" + code + "/items"
	if district != "" {
		path += "?district=" + district
	}
	answer := client.Get(t, path)
	answer.Expect(t, http.StatusOK, "")
	var body dictionary.ItemsBody
	answer.Decode(t, &body)
	return body
}

func (f *fixture) create(t *testing.T, client *audittest.Client, code string, body map[string]any) dictionary.Item {
	t.Helper()
	answer := client.Send(t, http.MethodPost, "/api/v1/dictionaries/"+code+"/items", body)
	answer.Expect(t, http.StatusCreated, "")
	var item dictionary.Item
	answer.Decode(t, &item)
	return item
}

func findItem(items []dictionary.EffectiveItem, value string) (dictionary.EffectiveItem, bool) {
	for _, item := range items {
		if item.Value == value {
			return item, true
		}
	}
	return dictionary.EffectiveItem{}, false
}

func cityItemID(t *testing.T, body dictionary.ItemsBody, value string) int64 {
	t.Helper()
	for _, item := range body.CityItems {
		if item.Value == value {
			return item.ID
		}
	}
	t.Fatalf("dictionary %s has no city item %s", body.Dictionary.Code, value)
	return 0
}

func itemPath(code string, id int64) string {
	return "/api/v1/dictionaries/" + code + "/items/" + strconv.FormatInt(id, 10)
}

func TestListDictionaries(t *testing.T) {
	f := newFixture(t)
	answer := f.city.Get(t, "/api/v1/dictionaries")
	answer.Expect(t, http.StatusOK, "")
	var body struct {
		Items []dictionary.Summary `json:"items"`
	}
	answer.Decode(t, &body)
	want := map[string]int{
		"birth_province": 35, "nationality": 249, "ethnicity": 58, "native_place": 34, "hukou_nature": 4,
		"relation_to_householder": 9, "hukou_category": 4, "hukou_at_residence": 2, "housing_type": 7, "owner_relation": 10,
	}
	if len(body.Items) != len(want) {
		t.Errorf("dictionaries = %d, want %d", len(body.Items), len(want))
	}
	for _, summary := range body.Items {
		if summary.CityItems != want[summary.Code] {
			t.Errorf("%s has %d city items, want %d", summary.Code, summary.CityItems, want[summary.Code])
		}
		if summary.Name == "" {
			t.Errorf("%s has no name", summary.Code)
		}
	}
}

func TestSeededContent(t *testing.T) {
	f := newFixture(t)
	ethnicity := f.items(t, f.city, "ethnicity", "")
	wantEthnicity := map[string]string{"01": "汉族", "36": "毛南族", "56": "基诺族", "97": "其他", "98": "外国血统中国籍人士"}
	for value, label := range wantEthnicity {
		if item, ok := findItem(ethnicity.Items, value); !ok || item.Label != label {
			t.Errorf("ethnicity %s = %+v, want %s", value, item, label)
		}
	}
	if first := ethnicity.Items[0]; first.Value != "01" {
		t.Errorf("first ethnicity = %+v, want 01 汉族", first)
	}

	nationality := f.items(t, f.city, "nationality", "")
	if first := nationality.Items[0]; first.Value != "CHN" || first.Label != "中国" {
		t.Errorf("first nationality = %+v, want CHN 中国", first)
	}
	for value, label := range map[string]string{"HKG": "中国香港", "MAC": "中国澳门", "TWN": "中国台湾", "USA": "美国"} {
		if item, ok := findItem(nationality.Items, value); !ok || item.Label != label {
			t.Errorf("nationality %s = %+v, want %s", value, item, label)
		}
	}

	provinces := f.items(t, f.city, "birth_province", "")
	if item, ok := findItem(provinces.Items, "310000"); !ok || item.Label != "上海市" {
		t.Errorf("birth province 310000 = %+v, want 上海市", item)
	}
	if last := provinces.Items[len(provinces.Items)-1]; last.Label != "境外" {
		t.Errorf("last birth province = %+v, want 境外", last)
	}
}

func TestSeedIdempotent(t *testing.T) {
	f := newFixture(t)
	body := f.items(t, f.city, "ethnicity", "")
	id := cityItemID(t, body, "01")
	f.city.Send(t, http.MethodPut, itemPath("ethnicity", id), map[string]any{"label": "汉族（已改）"}).Expect(t, http.StatusOK, "")

	ctx := context.Background()
	if err := dictionary.Seed(ctx, f.server.DB); err != nil {
		t.Fatalf("second Seed: %v", err)
	}
	var items int
	if err := f.server.DB.Get(&items, `SELECT count(*) FROM dictionary_item`); err != nil {
		t.Fatal(err)
	}
	if items != 35+249+58+34+4+9+4+2+7+10 {
		t.Errorf("items after a second seed = %d, want %d", items, 35+249+58+34+4+9+4+2+7+10)
	}
	again := f.items(t, f.city, "ethnicity", "")
	if item, _ := findItem(again.Items, "01"); item.Label != "汉族（已改）" {
		t.Errorf("label after a second seed = %q, want the edited 汉族（已改）", item.Label)
	}
}

func TestDistrictOverrides(t *testing.T) {
	f := newFixture(t)
	city := f.items(t, f.city, "ethnicity", "")
	hanSortOrder := city.Items[0].SortOrder

	replaced := f.create(t, f.xuhui, "ethnicity", map[string]any{"value": "01", "label": "汉族（徐汇）"})
	if replaced.DistrictCode != xuhui {
		t.Errorf("override district = %q, want the admin's own %s", replaced.DistrictCode, xuhui)
	}
	if replaced.SortOrder != hanSortOrder {
		t.Errorf("override sort order = %d, want the city item's %d", replaced.SortOrder, hanSortOrder)
	}
	added := f.create(t, f.xuhui, "ethnicity", map[string]any{"districtCode": xuhui, "value": "99", "label": "未识别民族", "sortOrder": 5})
	f.create(t, f.xuhui, "ethnicity", map[string]any{"value": "97", "label": "其他", "enabled": false})

	xuhuiBody := f.items(t, f.xuhui, "ethnicity", xuhui)
	if len(xuhuiBody.Items) != 58 {
		t.Errorf("徐汇 sees %d items, want 58 (one added, one hidden)", len(xuhuiBody.Items))
	}
	if first := xuhuiBody.Items[0]; first.Value != "99" || first.Source != dictionary.SourceDistrict || first.ID != added.ID {
		t.Errorf("first 徐汇 item = %+v, want the added 99 with sort order 5", first)
	}
	if han, _ := findItem(xuhuiBody.Items, "01"); han.Label != "汉族（徐汇）" || han.Source != dictionary.SourceDistrict || han.ID != replaced.ID {
		t.Errorf("徐汇 01 = %+v, want the override", han)
	}
	if other, ok := findItem(xuhuiBody.Items, "97"); ok {
		t.Errorf("徐汇 still sees the hidden item %+v", other)
	}
	if len(xuhuiBody.Overrides) != 3 {
		t.Errorf("徐汇 overrides = %d, want 3", len(xuhuiBody.Overrides))
	}
	for _, override := range xuhuiBody.Overrides {
		wantReplaces := override.Value != "99"
		if override.ReplacesCity != wantReplaces {
			t.Errorf("override %s replacesCity = %v, want %v", override.Value, override.ReplacesCity, wantReplaces)
		}
		if !override.Editable {
			t.Errorf("override %s is not editable for the 徐汇 admin", override.Value)
		}
	}
	for _, item := range xuhuiBody.CityItems {
		if item.Editable {
			t.Errorf("city item %s is editable for a district admin", item.Value)
			break
		}
	}

	t.Run("default district", func(t *testing.T) {
		implicit := f.items(t, f.xuhui, "ethnicity", "")
		if implicit.DistrictCode != xuhui || len(implicit.Overrides) != 3 {
			t.Errorf("without ?district the 徐汇 admin gets district %q with %d overrides, want %s with 3",
				implicit.DistrictCode, len(implicit.Overrides), xuhui)
		}
	})
	t.Run("other district unchanged", func(t *testing.T) {
		other := f.items(t, f.changning, "ethnicity", changning)
		if len(other.Items) != 58 || len(other.Overrides) != 0 {
			t.Errorf("长宁 sees %d items and %d overrides, want 58 and 0", len(other.Items), len(other.Overrides))
		}
		if han, _ := findItem(other.Items, "01"); han.Label != "汉族" || han.Source != dictionary.SourceCity {
			t.Errorf("长宁 01 = %+v, want the city item", han)
		}
	})
	t.Run("city view of the district", func(t *testing.T) {
		seen := f.items(t, f.city, "ethnicity", xuhui)
		for _, override := range seen.Overrides {
			if !override.Editable {
				t.Errorf("override %s is not editable for the city admin", override.Value)
			}
		}
	})
	t.Run("delete override restores the city item", func(t *testing.T) {
		f.xuhui.Send(t, http.MethodDelete, itemPath("ethnicity", replaced.ID), nil).Expect(t, http.StatusNoContent, "")
		after := f.items(t, f.xuhui, "ethnicity", xuhui)
		if han, _ := findItem(after.Items, "01"); han.Label != "汉族" || han.Source != dictionary.SourceCity {
			t.Errorf("徐汇 01 after deleting the override = %+v, want the city item", han)
		}
	})
	t.Run("list counts overrides in scope", func(t *testing.T) {
		var body struct {
			Items []dictionary.Summary `json:"items"`
		}
		f.changning.Get(t, "/api/v1/dictionaries").Decode(t, &body)
		for _, summary := range body.Items {
			if summary.Code == "ethnicity" && summary.Overrides != 0 {
				t.Errorf("长宁 admin counts %d ethnicity overrides, want 0", summary.Overrides)
			}
		}
		f.xuhui.Get(t, "/api/v1/dictionaries").Decode(t, &body)
		for _, summary := range body.Items {
			if summary.Code == "ethnicity" && summary.Overrides != 2 {
				t.Errorf("徐汇 admin counts %d ethnicity overrides, want 2", summary.Overrides)
			}
		}
	})
}

func TestDistrictAdminOutOfScope(t *testing.T) {
	f := newFixture(t)
	city := f.items(t, f.city, "ethnicity", "")
	hanID := cityItemID(t, city, "01")
	changningOverride := f.create(t, f.changning, "ethnicity", map[string]any{"value": "02", "label": "蒙古族（长宁）"})

	cases := []struct {
		name, method, path string
		body               any
	}{
		{"edit city item", http.MethodPut, itemPath("ethnicity", hanID), map[string]any{"label": "汉"}},
		{"delete city item", http.MethodDelete, itemPath("ethnicity", hanID), nil},
		{"create in other district", http.MethodPost, "/api/v1/dictionaries/ethnicity/items",
			map[string]any{"districtCode": changning, "value": "03", "label": "回族（长宁）"}},
		{"edit other district override", http.MethodPut, itemPath("ethnicity", changningOverride.ID), map[string]any{"label": "蒙古族"}},
		{"delete other district override", http.MethodDelete, itemPath("ethnicity", changningOverride.ID), nil},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			before := f.server.DeniedEvents(t, "out_of_scope", "/api/v1/dictionaries/ethnicity/items")
			f.xuhui.Send(t, test.method, test.path, test.body).Expect(t, http.StatusForbidden, "out_of_scope")
			after := f.server.DeniedEvents(t, "out_of_scope", "/api/v1/dictionaries/ethnicity/items")
			if after != before+1 {
				t.Errorf("denied events = %d after the refusal, want %d", after, before+1)
			}
		})
	}

	after := f.items(t, f.city, "ethnicity", changning)
	if han, _ := findItem(after.Items, "01"); han.Label != "汉族" {
		t.Errorf("city 01 label = %q after refused edits, want 汉族", han.Label)
	}
	if mongol, _ := findItem(after.Items, "02"); mongol.Label != "蒙古族（长宁）" {
		t.Errorf("长宁 02 label = %q after refused edits, want 蒙古族（长宁）", mongol.Label)
	}
}

func TestPermissions(t *testing.T) {
	f := newFixture(t)
	t.Run("street officer reads", func(t *testing.T) {
		f.street.Get(t, "/api/v1/dictionaries/ethnicity/items").Expect(t, http.StatusOK, "")
	})
	t.Run("street officer cannot write", func(t *testing.T) {
		f.street.Send(t, http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "99", "label": "新"}).
			Expect(t, http.StatusForbidden, "no_permission")
	})
	t.Run("auditor cannot read", func(t *testing.T) {
		f.auditor.Get(t, "/api/v1/dictionaries").Expect(t, http.StatusForbidden, "no_permission")
	})
	t.Run("write without CSRF token", func(t *testing.T) {
		f.city.SendWithoutCSRF(t, http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "99", "label": "新"}).
			Expect(t, http.StatusForbidden, "csrf_failed")
	})
}

func TestValidation(t *testing.T) {
	f := newFixture(t)
	city := f.items(t, f.city, "ethnicity", "")
	hanID := cityItemID(t, city, "01")
	nationality := f.items(t, f.city, "nationality", "")
	chinaID := cityItemID(t, nationality, "CHN")
	long := strings.Repeat("长", dictionary.MaxLabelLength+1)

	cases := []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"value missing", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"label": "新"}, 400, "value_required", "value"},
		{"value blank", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "  ", "label": "新"}, 400, "value_required", "value"},
		{"value with markup", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "<b>", "label": "新"}, 400, "invalid_value", "value"},
		{"value too long", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": strings.Repeat("a", 33), "label": "新"}, 400, "invalid_value", "value"},
		{"value in Chinese", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "汉", "label": "新"}, 400, "invalid_value", "value"},
		{"label missing", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "99"}, 400, "label_required", "label"},
		{"label too long", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "99", "label": long}, 400, "invalid_label", "label"},
		{"label with script", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "99", "label": "<script>alert(1)</script>"}, 400, "label_markup", "label"},
		{"label with ampersand", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "99", "label": "甲&乙"}, 400, "label_markup", "label"},
		{"label with control", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "99", "label": "甲\u0000乙"}, 400, "label_markup", "label"},
		{"sort order negative", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "99", "label": "新", "sortOrder": -1}, 400, "invalid_sort_order", "sortOrder"},
		{"sort order too large", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "99", "label": "新", "sortOrder": dictionary.MaxSortOrder + 1}, 400, "invalid_sort_order", "sortOrder"},
		{"unknown district", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"districtCode": "319999", "value": "99", "label": "新"}, 400, "unknown_district", "districtCode"},
		{"injected district", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"districtCode": "310104' OR '1'='1", "value": "99", "label": "新"}, 400, "unknown_district", "districtCode"},
		{"unknown field", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "99", "label": "新", "id": 1}, 400, "malformed_json", ""},
		{"duplicate city value", http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "01", "label": "汉族"}, 409, "duplicate_value", "value"},
		{"unknown dictionary", http.MethodPost, "/api/v1/dictionaries/religion/items", map[string]any{"value": "99", "label": "新"}, 404, "dictionary_not_found", ""},
		{"changed value", http.MethodPut, itemPath("ethnicity", hanID), map[string]any{"value": "00", "label": "汉族"}, 400, "value_unchangeable", "value"},
		{"update without label", http.MethodPut, itemPath("ethnicity", hanID), map[string]any{"enabled": false}, 400, "label_required", "label"},
		{"item of another dictionary", http.MethodPut, itemPath("ethnicity", chinaID), map[string]any{"label": "中国"}, 404, "item_not_found", ""},
		{"unknown item", http.MethodDelete, itemPath("ethnicity", 99_999_999), nil, 404, "item_not_found", ""},
		{"malformed item ID", http.MethodDelete, "/api/v1/dictionaries/ethnicity/items/1%20OR%201=1", nil, 404, "item_not_found", ""},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			answer := f.city.Send(t, test.method, test.path, test.body)
			answer.Expect(t, test.status, test.code)
			if got := answer.Error(t).Field; got != test.field {
				t.Errorf("field = %q, want %q", got, test.field)
			}
		})
	}
	t.Run("unknown district filter", func(t *testing.T) {
		f.city.Get(t, "/api/v1/dictionaries/ethnicity/items?district=abc").Expect(t, http.StatusBadRequest, "unknown_district")
	})
	t.Run("unknown dictionary read", func(t *testing.T) {
		f.city.Get(t, "/api/v1/dictionaries/NOPE/items").Expect(t, http.StatusNotFound, "dictionary_not_found")
	})
	t.Run("duplicate override", func(t *testing.T) {
		f.create(t, f.xuhui, "ethnicity", map[string]any{"value": "01", "label": "汉族（徐汇）"})
		f.xuhui.Send(t, http.MethodPost, "/api/v1/dictionaries/ethnicity/items", map[string]any{"value": "01", "label": "汉"}).
			Expect(t, http.StatusConflict, "duplicate_value")
	})
	t.Run("nothing stored", func(t *testing.T) {
		var n int
		if err := f.server.DB.Get(&n, `SELECT count(*) FROM dictionary_item WHERE value IN ('99', '<b>')`); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d rejected items were stored", n)
		}
	})
}

func TestWritesAudited(t *testing.T) {
	f := newFixture(t)
	created := f.create(t, f.city, "hukou_category", map[string]any{"value": "school", "label": "学校集体户", "sortOrder": 25})
	updated := f.city.Send(t, http.MethodPut, itemPath("hukou_category", created.ID),
		map[string]any{"value": "school", "label": "学校集体户口", "enabled": false})
	updated.Expect(t, http.StatusOK, "")
	f.city.Send(t, http.MethodDelete, itemPath("hukou_category", created.ID), nil).Expect(t, http.StatusNoContent, "")
	override := f.create(t, f.xuhui, "hukou_category", map[string]any{"value": "family", "label": "家庭户（徐汇）"})

	type event struct {
		Action       string  `db:"action"`
		ResourceID   string  `db:"resource_id"`
		DistrictCode *string `db:"district_code"`
		Before       *string `db:"before_state"`
		After        *string `db:"after_state"`
		ActorRole    string  `db:"actor_role"`
		Outcome      string  `db:"outcome"`
	}
	var events []event
	err := f.server.DB.Select(&events, `
		SELECT action, resource_id, district_code, before_state, after_state, actor_role, outcome
		FROM audit_event WHERE resource = 'dictionary_item' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 4 {
		t.Fatalf("audit events = %d, want 4", len(events))
	}
	wantActions := []string{dictionary.ActionCreate, dictionary.ActionUpdate, dictionary.ActionDelete, dictionary.ActionCreate}
	for i, e := range events {
		if e.Action != wantActions[i] {
			t.Errorf("event %d action = %s, want %s", i, e.Action, wantActions[i])
		}
		if e.Outcome != audit.OutcomeSuccess {
			t.Errorf("event %d outcome = %s, want success", i, e.Outcome)
		}
	}
	state := func(text *string) map[string]any {
		if text == nil {
			return nil
		}
		var decoded map[string]any
		if err := json.Unmarshal([]byte(*text), &decoded); err != nil {
			t.Fatalf("state %s does not decode: %v", *text, err)
		}
		return decoded
	}
	if events[0].Before != nil || state(events[0].After)["label"] != "学校集体户" {
		t.Errorf("create event before %v after %v, want no before and the new label", events[0].Before, state(events[0].After))
	}
	if state(events[1].Before)["label"] != "学校集体户" || state(events[1].After)["label"] != "学校集体户口" {
		t.Errorf("update event before %v after %v, want the old and new labels", state(events[1].Before), state(events[1].After))
	}
	if state(events[1].After)["enabled"] != false {
		t.Errorf("update event after %v, want enabled false", state(events[1].After))
	}
	if events[2].After != nil || state(events[2].Before)["value"] != "school" {
		t.Errorf("delete event before %v after %v, want the deleted item and no after", state(events[2].Before), events[2].After)
	}
	if events[0].ResourceID != strconv.FormatInt(created.ID, 10) {
		t.Errorf("create event resource ID = %s, want %d", events[0].ResourceID, created.ID)
	}
	if events[3].DistrictCode == nil || strings.TrimSpace(*events[3].DistrictCode) != xuhui || events[3].ActorRole != "district_admin" {
		t.Errorf("override event district %v role %s, want %s district_admin", events[3].DistrictCode, events[3].ActorRole, xuhui)
	}
	if events[3].ResourceID != strconv.FormatInt(override.ID, 10) {
		t.Errorf("override event resource ID = %s, want %d", events[3].ResourceID, override.ID)
	}
	if calls := f.publisher.calls.Load(); calls != 4 {
		t.Errorf("publications = %d, want one per change (4)", calls)
	}
	if _, err := f.server.Trail.Verify(context.Background()); err != nil {
		t.Errorf("Verify after the changes: %v", err)
	}
}
