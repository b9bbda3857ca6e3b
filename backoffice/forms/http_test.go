package forms_test

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
	"github.com/sh-preschool/preschool/backoffice/forms"
	"github.com/sh-preschool/preschool/backoffice/seed"
	"github.com/sh-preschool/preschool/migrations"
	"github.com/sh-preschool/preschool/shared/snapshot"
	"github.com/sh-preschool/preschool/shared/testenv"
)

const (
	xuhui     = "310104"
	changning = "310105"
	category  = "residence_permit"
)

// countingPublisher counts the publications the handlers ask for.
type countingPublisher struct{ calls atomic.Int64 }

func (p *countingPublisher) Publish(context.Context) (*snapshot.Snapshot, error) {
	p.calls.Add(1)
	return &snapshot.Snapshot{}, nil
}

type fixture struct {
	database  *testenv.Database
	server    *audittest.Server
	publisher *countingPublisher
	city      *audittest.Client
	xuhui     *audittest.Client
	changning *audittest.Client
	street    *audittest.Client
}

// newFixture seeds the divisions, dictionaries, the form library and the
// city-wide base forms, and serves the forms API with staff of several
// scopes signed in.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	database := testenv.NewDatabase(t)
	if err := seed.LoadDivisions(ctx, database.DB); err != nil {
		t.Fatalf("load divisions: %v", err)
	}
	if err := dictionary.Seed(ctx, database.DB); err != nil {
		t.Fatalf("seed dictionaries: %v", err)
	}
	if err := forms.Seed(ctx, database.DB); err != nil {
		t.Fatalf("seed form library: %v", err)
	}
	for _, kind := range []string{forms.KindRegistration, forms.KindApplication} {
		body, err := migrations.Seed.ReadFile("seed/forms/" + kind + ".json")
		if err != nil {
			t.Fatalf("read the base %s form: %v", kind, err)
		}
		if _, err := database.DB.ExecContext(ctx,
			`INSERT INTO form_schema (kind, version, body) VALUES ($1, 1, $2::jsonb)`, kind, string(body)); err != nil {
			t.Fatalf("insert the base %s form: %v", kind, err)
		}
	}
	// Every district has an entry of every category but the broad 本区户籍,
	// as the demo seed opens them: publishing needs the form's entry.
	if _, err := database.DB.ExecContext(ctx, `
		INSERT INTO enrolment_year (year, birth_from, birth_to, registration_opens_at, registration_closes_at,
		                            application_opens_at, application_closes_at, admission_notice_by)
		VALUES (2027, '2023-09-01', '2024-08-31', now(), now() + interval '30 days', now(), now() + interval '60 days', '2027-06-30');
		INSERT INTO entry (enrolment_year, district_code, category_code)
		SELECT 2027, d.code, hc.code FROM district d CROSS JOIN household_category hc WHERE hc.code <> 'district_hukou'`); err != nil {
		t.Fatalf("insert the entries: %v", err)
	}
	publisher := &countingPublisher{}
	server := audittest.NewServer(t, database.DB, testenv.NewRedis(t), func(r chi.Router, trail *audit.Trail) {
		(&forms.Handlers{DB: database.DB, Trail: trail, Publisher: publisher}).Routes(r)
	})
	return &fixture{
		database:  database,
		server:    server,
		publisher: publisher,
		city:      server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity}),
		xuhui:     server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: xuhui}),
		changning: server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: changning}),
		street:    server.SignIn(t, "street_officer", access.Scope{Level: access.LevelStreet, StreetCode: "310104003"}),
	}
}

// designPath returns the path of a designer request: suffix (such as
// "/publish") follows the kind, and the form's district and category go in
// the query.
func designPath(kind, district, categoryCode string, suffix ...string) string {
	path := "/api/v1/forms/designs/" + kind + strings.Join(suffix, "")
	if district != "" {
		path += "?district=" + district + "&category=" + categoryCode
	}
	return path
}

// schemaField is a field of a published body, as the edge reads it.
type schemaField struct {
	Key      string `json:"key"`
	Label    string `json:"label"`
	Type     string `json:"type"`
	Required bool   `json:"required"`
	Pattern  string `json:"pattern"`
	Options  []struct {
		Value string `json:"value"`
	} `json:"options"`
	Linkage []forms.SchemaLinkage `json:"linkage"`
}

type schemaBody struct {
	Sections []struct {
		Key          string                    `json:"key"`
		Title        string                    `json:"title"`
		Fields       []schemaField             `json:"fields"`
		Certificates []forms.SchemaCertificate `json:"certificates"`
	} `json:"sections"`
}

func decodeSchema(t *testing.T, raw json.RawMessage) schemaBody {
	t.Helper()
	var body schemaBody
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("schema %s does not decode: %v", raw, err)
	}
	return body
}

func (b schemaBody) field(key string) (schemaField, bool) {
	for _, section := range b.Sections {
		for _, field := range section.Fields {
			if field.Key == key {
				return field, true
			}
		}
	}
	return schemaField{}, false
}

func createField(t *testing.T, client *audittest.Client, body map[string]any) forms.Field {
	t.Helper()
	answer := client.Send(t, http.MethodPost, "/api/v1/forms/fields", body)
	answer.Expect(t, http.StatusCreated, "")
	var field forms.Field
	answer.Decode(t, &field)
	return field
}

func TestFieldLibraryOverrides(t *testing.T) {
	f := newFixture(t)

	city := createField(t, f.city, map[string]any{
		"code": "petCount", "label": "家中宠物数", "type": "number", "min": 0, "max": 10,
	})
	if city.DistrictCode != "" || city.ID == 0 {
		t.Fatalf("city field = %+v, want a city row with an ID", city)
	}

	// A district's new row is an override of the city row with its code.
	override := createField(t, f.xuhui, map[string]any{
		"code": "petCount", "label": "家中宠物数量（徐汇）", "type": "number", "min": 0, "max": 5,
	})
	if override.DistrictCode != xuhui {
		t.Errorf("override district = %q, want %s", override.DistrictCode, xuhui)
	}
	f.xuhui.Send(t, http.MethodPost, "/api/v1/forms/fields", map[string]any{
		"code": "unknownToCity", "label": "区自建字段", "type": "text",
	}).Expect(t, http.StatusBadRequest, "no_city_row")

	var listed forms.LibraryBody[forms.Field]
	f.xuhui.Get(t, "/api/v1/forms/fields").Decode(t, &listed)
	if len(listed.Overrides) != 1 || listed.Overrides[0].Label != "家中宠物数量（徐汇）" {
		t.Errorf("xuhui overrides = %+v, want the one override", listed.Overrides)
	}
	var changningList forms.LibraryBody[forms.Field]
	f.changning.Get(t, "/api/v1/forms/fields").Decode(t, &changningList)
	if len(changningList.Overrides) != 0 {
		t.Errorf("changning sees overrides %+v, want none", changningList.Overrides)
	}

	// Naming another district's library is a 403 that the audit trail
	// records, and city staff may read any district's.
	f.changning.Get(t, "/api/v1/forms/fields?district="+xuhui).Expect(t, http.StatusForbidden, "out_of_scope")
	f.changning.Get(t, "/api/v1/forms/certificates?district="+xuhui).Expect(t, http.StatusForbidden, "out_of_scope")
	if n := f.server.DeniedEvents(t, "out_of_scope", "/api/v1/forms/fields"); n != 1 {
		t.Errorf("denied events of the other district's field library = %d, want 1", n)
	}
	var cityView forms.LibraryBody[forms.Field]
	f.city.Get(t, "/api/v1/forms/fields?district="+xuhui).Decode(t, &cityView)
	if len(cityView.Overrides) != 1 {
		t.Errorf("city view of xuhui overrides = %+v, want the one override", cityView.Overrides)
	}

	// District staff cannot change city rows or another district's rows.
	update := map[string]any{"label": "改名", "type": "number", "linkage": []any{}, "enabled": true}
	f.xuhui.Send(t, http.MethodPut, "/api/v1/forms/fields/"+strconv.FormatInt(city.ID, 10), update).
		Expect(t, http.StatusForbidden, "out_of_scope")
	f.changning.Send(t, http.MethodDelete, "/api/v1/forms/fields/"+strconv.FormatInt(override.ID, 10), nil).
		Expect(t, http.StatusForbidden, "out_of_scope")
	f.street.Send(t, http.MethodPost, "/api/v1/forms/fields", map[string]any{"code": "x1", "label": "x", "type": "text"}).
		Expect(t, http.StatusForbidden, "no_permission")

	f.city.Send(t, http.MethodPost, "/api/v1/forms/fields", map[string]any{
		"code": "petCount", "label": "重复", "type": "text",
	}).Expect(t, http.StatusConflict, "duplicate_code")
}

func TestFieldValidation(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name string
		body map[string]any
		code string
	}{
		{"bad code", map[string]any{"code": "Bad-Code", "label": "x", "type": "text"}, "invalid_code"},
		{"missing label", map[string]any{"code": "noLabel", "label": " ", "type": "text"}, "missing_field"},
		{"markup label", map[string]any{"code": "markupLabel", "label": "<b>x</b>", "type": "text"}, "markup"},
		{"unknown type", map[string]any{"code": "badType", "label": "x", "type": "file"}, "invalid_type"},
		{"select without dictionary", map[string]any{"code": "noDictionary", "label": "x", "type": "select"}, "missing_field"},
		{"unknown dictionary", map[string]any{"code": "badDictionary", "label": "x", "type": "select", "dictionaryCode": "nope"}, "dictionary_not_found"},
		{"invalid pattern", map[string]any{"code": "badPattern", "label": "x", "type": "text", "pattern": "(["}, "invalid_pattern"},
		{"min above max length", map[string]any{"code": "badLength", "label": "x", "type": "text", "minLength": 5, "maxLength": 2}, "out_of_range"},
		{"self linkage", map[string]any{"code": "selfLinked", "label": "x", "type": "text",
			"linkage": []any{map[string]any{"action": "show", "field": "selfLinked"}}}, "self_linkage"},
		{"bad linkage action", map[string]any{"code": "badAction", "label": "x", "type": "text",
			"linkage": []any{map[string]any{"action": "hide", "field": "housingType"}}}, "invalid_choice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			answer := f.city.Send(t, http.MethodPost, "/api/v1/forms/fields", c.body)
			answer.Expect(t, http.StatusBadRequest, c.code)
		})
	}

	// The pattern's error is explained in Chinese, not in Go's words.
	answer := f.city.Send(t, http.MethodPost, "/api/v1/forms/fields",
		map[string]any{"code": "openBracket", "label": "x", "type": "text", "pattern": "[a-z"})
	answer.Expect(t, http.StatusBadRequest, "invalid_pattern")
	if message := answer.Error(t).Message; !strings.Contains(message, "缺少右方括号 ]（出错处：[a-z）") || strings.Contains(message, "missing") {
		t.Errorf("message of an unclosed bracket = %q, want the Chinese problem and the fragment", message)
	}
}

func TestCertificateLibrary(t *testing.T) {
	f := newFixture(t)
	answer := f.city.Send(t, http.MethodPost, "/api/v1/forms/certificates", map[string]any{
		"code": "vaccination_record", "name": "预防接种证", "acceptedTypes": []string{"jpg", "pdf"}, "maxSizeKB": 2048, "maxCount": 2,
	})
	answer.Expect(t, http.StatusCreated, "")
	override := f.xuhui.Send(t, http.MethodPost, "/api/v1/forms/certificates", map[string]any{
		"code": "vaccination_record", "name": "预防接种证", "help": "徐汇区需上传全部页面", "acceptedTypes": []string{"pdf"},
		"maxSizeKB": 4096, "maxCount": 6,
	})
	override.Expect(t, http.StatusCreated, "")

	f.city.Send(t, http.MethodPost, "/api/v1/forms/certificates", map[string]any{
		"code": "bad_types", "name": "x", "acceptedTypes": []string{"exe"}, "maxSizeKB": 10, "maxCount": 1,
	}).Expect(t, http.StatusBadRequest, "invalid_choice")
	f.city.Send(t, http.MethodPost, "/api/v1/forms/certificates", map[string]any{
		"code": "too_big", "name": "x", "acceptedTypes": []string{"pdf"}, "maxSizeKB": 999999, "maxCount": 1,
	}).Expect(t, http.StatusBadRequest, "out_of_range")

	// The district's design gets the override's limits.
	design := map[string]any{"design": map[string]any{"sections": []any{map[string]any{
		"title": "证照材料", "items": []any{map[string]any{"kind": "certificate", "code": "vaccination_record", "required": true}},
	}}}}
	preview := f.xuhui.Send(t, http.MethodPost, designPath("application", xuhui, category, "/preview"), design)
	preview.Expect(t, http.StatusOK, "")
	var body struct {
		Preview json.RawMessage `json:"preview"`
	}
	preview.Decode(t, &body)
	schema := decodeSchema(t, body.Preview)
	last := schema.Sections[len(schema.Sections)-1]
	if len(last.Certificates) != 1 {
		t.Fatalf("designed section certificates = %+v, want one", last.Certificates)
	}
	if got := last.Certificates[0]; got.MaxCount != 6 || got.MaxSizeKB != 4096 || !got.Required || strings.Join(got.AcceptedTypes, ",") != "pdf" {
		t.Errorf("certificate = %+v, want the district override's limits and required", got)
	}
}

func TestPublishVersions(t *testing.T) {
	f := newFixture(t)
	path := designPath("application", xuhui, category)
	publishPath := designPath("application", xuhui, category, "/publish")

	required := true
	design := forms.Design{Sections: []forms.DesignSection{{
		Title: "住房信息",
		Items: []forms.DesignItem{
			{Kind: forms.ItemField, Code: "housingType", Required: &required},
			{Kind: forms.ItemField, Code: "ownerRelation"},
			{Kind: forms.ItemField, Code: "socialInsuranceNumber"},
		},
	}}}
	f.xuhui.Send(t, http.MethodPost, publishPath, nil).Expect(t, http.StatusConflict, "no_draft")
	f.xuhui.Send(t, http.MethodPut, path, map[string]any{"design": design}).Expect(t, http.StatusOK, "")

	// Versions run across every form of a kind, after the city's version 1.
	for want := 2; want <= 3; want++ {
		answer := f.xuhui.Send(t, http.MethodPost, publishPath, nil)
		answer.Expect(t, http.StatusCreated, "")
		var published struct {
			Version forms.Version   `json:"version"`
			Body    json.RawMessage `json:"body"`
		}
		answer.Decode(t, &published)
		if published.Version.Version != want {
			t.Errorf("published version = %d, want %d", published.Version.Version, want)
		}
		schema := decodeSchema(t, published.Body)
		housing, ok := schema.field("extra.housingType")
		if !ok || !housing.Required || housing.Type != "select" || len(housing.Options) == 0 {
			t.Errorf("housingType in the schema = %+v, %v; want a required select with the dictionary's options", housing, ok)
		}
		relation, _ := schema.field("extra.ownerRelation")
		if len(relation.Linkage) != 1 || relation.Linkage[0] != (forms.SchemaLinkage{Action: "require", Field: "extra.housingType"}) {
			t.Errorf("ownerRelation linkage = %+v, want require when extra.housingType has a value", relation.Linkage)
		}
		if insurance, _ := schema.field("extra.socialInsuranceNumber"); insurance.Pattern == "" {
			t.Errorf("socialInsuranceNumber = %+v, want its pattern", insurance)
		}
		if _, ok := schema.field("campusChoices"); !ok {
			t.Error("the built-in campusChoices field is missing from the schema")
		}
	}
	if calls := f.publisher.calls.Load(); calls != 2 {
		t.Errorf("snapshot publications = %d, want 2", calls)
	}

	var stored int
	if err := f.database.DB.Get(&stored, `SELECT count(*) FROM form_schema WHERE district_code = $1 AND category_code = $2`, xuhui, category); err != nil {
		t.Fatal(err)
	}
	if stored != 2 {
		t.Errorf("stored versions = %d, want 2", stored)
	}
	var events int
	if err := f.database.DB.Get(&events, `SELECT count(*) FROM audit_event WHERE action = $1 AND district_code = $2`, forms.ActionPublish, xuhui); err != nil {
		t.Fatal(err)
	}
	if events != 2 {
		t.Errorf("publish audit events = %d, want 2", events)
	}

	var got forms.DesignBody
	f.xuhui.Get(t, path).Decode(t, &got)
	if len(got.Versions) != 2 || got.Versions[0].Version != 3 || got.Versions[0].PublishedBy == "" {
		t.Errorf("versions = %+v, want 3 then 2 with the publisher's name", got.Versions)
	}
	f.xuhui.Get(t, designPath("application", xuhui, category, "/versions/2")).Expect(t, http.StatusOK, "")
	f.xuhui.Get(t, designPath("application", xuhui, category, "/versions/1")).Expect(t, http.StatusNotFound, "version_not_found")

	// Another district's first version takes the next number of the kind.
	f.changning.Send(t, http.MethodPut, designPath("application", changning, category), map[string]any{"design": design}).
		Expect(t, http.StatusOK, "")
	answer := f.changning.Send(t, http.MethodPost, designPath("application", changning, category, "/publish"), nil)
	answer.Expect(t, http.StatusCreated, "")
	var changningVersion struct {
		Version forms.Version `json:"version"`
	}
	answer.Decode(t, &changningVersion)
	if changningVersion.Version.Version != 4 {
		t.Errorf("changning's first version = %d, want 4", changningVersion.Version.Version)
	}

	// A category without an entry in the district is never shown to a family.
	var missing string
	if err := f.database.DB.Get(&missing, `
		SELECT code FROM household_category hc
		WHERE NOT EXISTS (SELECT 1 FROM entry e WHERE e.district_code = $1 AND e.category_code = hc.code)
		ORDER BY code LIMIT 1`, xuhui); err != nil {
		t.Fatalf("a category without an entry in Xuhui: %v", err)
	}
	f.xuhui.Send(t, http.MethodPut, designPath("application", xuhui, missing), map[string]any{"design": design}).
		Expect(t, http.StatusOK, "")
	f.xuhui.Send(t, http.MethodPost, designPath("application", xuhui, missing, "/publish"), nil).
		Expect(t, http.StatusBadRequest, "category_without_entry")

	// Other districts and the city-wide forms are out of a district's reach.
	f.changning.Get(t, path).Expect(t, http.StatusForbidden, "out_of_scope")
	f.changning.Send(t, http.MethodPost, publishPath, nil).Expect(t, http.StatusForbidden, "out_of_scope")
	f.xuhui.Get(t, designPath("application", "", "")).Expect(t, http.StatusForbidden, "out_of_scope")
	f.xuhui.Get(t, designPath("registration", xuhui, category)).Expect(t, http.StatusBadRequest, "district_registration_form")
	f.city.Get(t, path).Expect(t, http.StatusOK, "")
}

func TestDesignValidation(t *testing.T) {
	f := newFixture(t)
	path := designPath("application", xuhui, category)
	cases := []struct {
		name   string
		design forms.Design
		code   string
	}{
		{"unknown field", forms.Design{Sections: []forms.DesignSection{{Title: "其他",
			Items: []forms.DesignItem{{Kind: forms.ItemField, Code: "noSuchField"}}}}}, "unknown_field"},
		{"duplicate item", forms.Design{Sections: []forms.DesignSection{{Title: "其他",
			Items: []forms.DesignItem{{Kind: forms.ItemField, Code: "ethnicity"}, {Kind: forms.ItemField, Code: "ethnicity"}}}}}, "duplicate_item"},
		{"missing title", forms.Design{Sections: []forms.DesignSection{{Title: "",
			Items: []forms.DesignItem{{Kind: forms.ItemField, Code: "ethnicity"}}}}}, "missing_field"},
		// ownerRelation's library linkage depends on housingType, which is not placed.
		{"linkage to absent field", forms.Design{Sections: []forms.DesignSection{{Title: "住房",
			Items: []forms.DesignItem{{Kind: forms.ItemField, Code: "ownerRelation"}}}}}, "unknown_linkage_field"},
		{"bad item kind", forms.Design{Sections: []forms.DesignSection{{Title: "其他",
			Items: []forms.DesignItem{{Kind: "widget", Code: "ethnicity"}}}}}, "invalid_choice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.xuhui.Send(t, http.MethodPut, path, map[string]any{"design": c.design}).Expect(t, http.StatusBadRequest, c.code)
		})
	}
	f.xuhui.Get(t, designPath("application", xuhui, "no_such_category")).Expect(t, http.StatusBadRequest, "unknown_category")
	f.xuhui.Get(t, designPath("leaflet", xuhui, category)).Expect(t, http.StatusBadRequest, "unknown_kind")
}

func TestSeedIdempotent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.database.DB.ExecContext(ctx, `UPDATE form_field SET label = '民族（已改）' WHERE code = 'ethnicity'`); err != nil {
		t.Fatal(err)
	}
	if err := forms.Seed(ctx, f.database.DB); err != nil {
		t.Fatalf("second Seed: %v", err)
	}
	var label string
	if err := f.database.DB.Get(&label, `SELECT label FROM form_field WHERE code = 'ethnicity' AND district_code IS NULL`); err != nil {
		t.Fatal(err)
	}
	if label != "民族（已改）" {
		t.Errorf("label after a second Seed = %q, want the edited one kept", label)
	}
	var fields int
	if err := f.database.DB.Get(&fields, `SELECT count(*) FROM form_field`); err != nil {
		t.Fatal(err)
	}
	if fields < 20 {
		t.Errorf("seeded fields = %d, want the starter library of at least 20", fields)
	}
}
