package forms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/audit/audittest"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/forms"
	"github.com/sh-preschool/preschool/backoffice/publish"
	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/edge/prefill"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// publishDesign saves design as the draft of a form and publishes it,
// returning the new version.
func publishDesign(t *testing.T, client *audittest.Client, kind, district, categoryCode string, design forms.Design) int {
	t.Helper()
	client.Send(t, http.MethodPut, designPath(kind, district, categoryCode), map[string]any{"design": design}).
		Expect(t, http.StatusOK, "")
	answer := client.Send(t, http.MethodPost, designPath(kind, district, categoryCode, "/publish"), nil)
	answer.Expect(t, http.StatusCreated, "")
	var published struct {
		Version forms.Version `json:"version"`
	}
	answer.Decode(t, &published)
	return published.Version.Version
}

// TestPublishedFieldReachesDatabase publishes a city registration form and
// a district application form through the API and the real snapshot path.
// The edge's store picks them up from Redis, the test submits values for
// the new fields, and it opens the sealed form_values the drainer stored.
func TestPublishedFieldReachesDatabase(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	publisher := &publish.Publisher{DB: env.DB.DB, Redis: env.Redis.Client, Keys: env.Keys, Now: time.Now}
	uploads := &prefill.Uploads{Dir: t.TempDir(), Keyring: env.Keyring}
	server := audittest.NewServer(t, env.DB.DB, env.Redis, func(r chi.Router, trail *audit.Trail) {
		(&forms.Handlers{DB: env.DB.DB, Trail: trail, Publisher: publisher, Keyring: env.Keyring, UploadDir: uploads.Dir}).Routes(r)
	})
	city := server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity})
	district := server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: backofficetest.Xuhui})
	changning := server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: backofficetest.Changning})

	// A child registered before the new version keeps version 1.
	before := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, backofficetest.Xuhui, backofficetest.Xuhui))

	required := true
	registrationVersion := publishDesign(t, city, forms.KindRegistration, "", "", forms.Design{Sections: []forms.DesignSection{{
		Title: "家庭信息", Items: []forms.DesignItem{{Kind: forms.ItemField, Code: "fatherEmployer", Required: &required}},
	}}})
	if registrationVersion != 2 {
		t.Fatalf("city registration version = %d, want 2 after the seeded version 1", registrationVersion)
	}

	// The edge's store loads the snapshot the publication wrote to Redis.
	store := catalogue.NewStore(env.Redis.Client, env.Keys)
	if err := store.Refresh(ctx); err != nil {
		t.Fatalf("refresh the edge catalogue: %v", err)
	}
	env.Service.Catalogue, env.Catalogue = store, store.Current()
	if form, ok := store.Current().Form(enrol.KindRegistration); !ok || form.Version != 2 {
		t.Fatalf("edge registration form = %+v, want version 2", form)
	}

	request := env.ShanghaiChild(t, 2, backofficetest.Xuhui, backofficetest.Xuhui)
	request.SchemaVersion = 2
	if _, err := env.Service.Register(ctx, backofficetest.Subject(2), request); err == nil {
		t.Fatal("a registration without the new required field was accepted")
	}
	request.Extra = map[string]any{"fatherEmployer": " 上海𠮷祥贸易有限公司 "}
	after := env.Register(t, backofficetest.Subject(2), request)

	// The district designs the application form of the child's entry.
	facts, err := env.Service.RegistrationFacts(ctx, env.Service.OwnerIndex(backofficetest.Subject(2)), after)
	if err != nil {
		t.Fatalf("registration facts: %v", err)
	}
	options, err := precheck.ApplicationOptions(facts, backofficetest.Xuhui, env.Catalogue, time.Now())
	if err != nil {
		t.Fatalf("application options: %v", err)
	}
	entryCategory := options.Entry.CategoryCode
	applicationVersion := publishDesign(t, district, forms.KindApplication, backofficetest.Xuhui, entryCategory, forms.Design{
		Sections: []forms.DesignSection{{Title: "住房信息", Items: []forms.DesignItem{
			{Kind: forms.ItemField, Code: "housingType", Required: &required},
			{Kind: forms.ItemField, Code: "ownerRelation"},
			{Kind: forms.ItemCertificate, Code: "property_certificate", Required: &required},
		}}},
	})
	if err := store.Refresh(ctx); err != nil {
		t.Fatalf("refresh the edge catalogue: %v", err)
	}
	env.Catalogue = store.Current()

	application := env.ApplicationRequest(t, backofficetest.Subject(2), after, backofficetest.Xuhui)
	application.SchemaVersion = applicationVersion
	application.Extra = map[string]any{"housingType": "owned"}
	if _, err := env.Service.Apply(ctx, backofficetest.Subject(2), application); err == nil {
		t.Fatal("an application without ownerRelation, which housingType makes required, was accepted")
	}
	application.Extra["ownerRelation"] = "father"
	if _, err := env.Service.Apply(ctx, backofficetest.Subject(2), application); apierror.As(err) == nil || apierror.As(err).Code != "missing_certificate" {
		t.Fatalf("an application without the required certificate returned %v, want missing_certificate", err)
	}
	env.Service.UploadExists = uploads.Exists
	pdf := []byte("%PDF-1.4\n1 0 obj\n(房产证扫描件)\nendobj\n%%EOF\n")
	fileID := edgetest.PostUpload(t, uploads, backofficetest.Subject(2), pdf)
	application.Certificates = []precheck.CertificateRequest{{Type: "property_certificate", Source: "upload", FileID: fileID}}
	applicationNumber := env.SubmitApplication(t, backofficetest.Subject(2), application)

	backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("forms-test")))
	env.WaitForRows(t, 30*time.Second, 1, `SELECT count(*) FROM application WHERE application_number = $1`, applicationNumber)
	env.WaitForRows(t, 30*time.Second, 2, `SELECT count(*) FROM registration WHERE registration_number = ANY($1)`, []string{before, after})

	var rows []struct {
		Number        string `db:"registration_number"`
		SchemaVersion int    `db:"schema_version"`
		FormValues    []byte `db:"form_values"`
	}
	if err := env.DB.DB.Select(&rows, `SELECT registration_number, schema_version, form_values FROM registration
		WHERE registration_number = ANY($1)`, []string{before, after}); err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		switch row.Number {
		case before:
			if row.SchemaVersion != 1 {
				t.Errorf("earlier registration schema_version = %d, want 1", row.SchemaVersion)
			}
		case after:
			if row.SchemaVersion != 2 {
				t.Errorf("later registration schema_version = %d, want 2", row.SchemaVersion)
			}
			var values struct {
				Extra map[string]any `json:"extra"`
			}
			if err := json.Unmarshal([]byte(env.Open(t, row.FormValues, enrol.ContextRegistrationForm)), &values); err != nil {
				t.Fatalf("registration form_values: %v", err)
			}
			if values.Extra["fatherEmployer"] != "上海𠮷祥贸易有限公司" {
				t.Errorf("registration form_values = %v, want fatherEmployer 上海𠮷祥贸易有限公司", values)
			}
		}
	}

	var stored struct {
		SchemaVersion int    `db:"schema_version"`
		CategoryCode  string `db:"category_code"`
		FormValues    []byte `db:"form_values"`
	}
	if err := env.DB.DB.Get(&stored, `SELECT schema_version, category_code, form_values FROM application
		WHERE application_number = $1`, applicationNumber); err != nil {
		t.Fatal(err)
	}
	if stored.SchemaVersion != applicationVersion || stored.CategoryCode != entryCategory {
		t.Errorf("application schema %d of %s, want version %d of %s", stored.SchemaVersion, stored.CategoryCode,
			applicationVersion, entryCategory)
	}
	var values struct {
		Extra map[string]any `json:"extra"`
	}
	if err := json.Unmarshal([]byte(env.Open(t, stored.FormValues, enrol.ContextApplicationForm)), &values); err != nil {
		t.Fatalf("application form_values: %v", err)
	}
	if values.Extra["housingType"] != "owned" || values.Extra["ownerRelation"] != "father" {
		t.Errorf("application form_values = %v, want housingType owned and ownerRelation father", values)
	}

	// Reviewers read the values back with the labels of their version.
	var filled forms.FilledBody
	district.Get(t, "/api/v1/forms/filled/"+applicationNumber).Decode(t, &filled)
	if filled.SchemaVersion != applicationVersion || len(filled.Values) != 2 {
		t.Fatalf("filled = %+v, want version %d with two values", filled, applicationVersion)
	}
	if got := filled.Values[0]; got.Key != "extra.housingType" || got.Label != "住房性质" || got.Value != "owned" {
		t.Errorf("first filled value = %+v, want housingType 住房性质 owned", got)
	}
	wantCertificates := []forms.FilledCertificate{{Code: "property_certificate", Name: "不动产权证书", Source: "upload", FileID: fileID}}
	if diff := cmp.Diff(wantCertificates, filled.Certificates); diff != "" {
		t.Errorf("filled certificates differ (-want +got):\n%s", diff)
	}

	// The reviewer opens the uploaded file as the family sent it.
	filePath := "/api/v1/forms/filled/" + applicationNumber + "/files/" + fileID
	file := district.Get(t, filePath)
	file.Expect(t, http.StatusOK, "")
	if got := file.Header.Get("Content-Type"); got != "application/pdf" {
		t.Errorf("file Content-Type = %q, want application/pdf", got)
	}
	if !bytes.Equal(file.Body, pdf) {
		t.Errorf("file body = %q, want the uploaded PDF", file.Body)
	}
	otherFile := edgetest.PostUpload(t, uploads, backofficetest.Subject(2), pdf)
	district.Get(t, "/api/v1/forms/filled/"+applicationNumber+"/files/"+otherFile).
		Expect(t, http.StatusNotFound, "certificate_file_not_found")
	district.Get(t, "/api/v1/forms/filled/"+applicationNumber+"/files/..%2Fkeyring").
		Expect(t, http.StatusBadRequest, "invalid_file_id")

	// Another district's reviewer is refused, and the refusal is audited.
	changning.Get(t, "/api/v1/forms/filled/"+applicationNumber).Expect(t, http.StatusForbidden, "out_of_scope")
	if n := server.DeniedEvents(t, "out_of_scope", "/api/v1/forms/filled/"+applicationNumber); n != 1 {
		t.Errorf("denied events of the other district's read = %d, want 1", n)
	}
	changning.Get(t, filePath).Expect(t, http.StatusForbidden, "out_of_scope")
	body := applicationNumber[:len(applicationNumber)-4] + "999"
	missing := body + string(enrol.LuhnDigit(body))
	district.Get(t, "/api/v1/forms/filled/"+missing).Expect(t, http.StatusNotFound, "submission_not_found")
}
