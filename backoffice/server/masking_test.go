package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/masking"
)

type detailBody struct {
	ChildName           string `json:"childName"`
	ChildDocumentNumber string `json:"childDocumentNumber"`
	Masked              bool   `json:"masked"`
	Guardians           []struct {
		Relation       string `json:"relation"`
		Name           string `json:"name"`
		Phone          string `json:"phone"`
		DocumentNumber string `json:"documentNumber"`
	} `json:"guardians"`
}

func getDetail(t *testing.T, c client, number string) detailBody {
	t.Helper()
	answer := c.get(t, "/api/v1/registrations/"+number)
	if answer.status != http.StatusOK {
		t.Fatalf("GET detail = %d %s, want 200", answer.status, answer.body)
	}
	var body detailBody
	if err := json.Unmarshal(answer.body, &body); err != nil {
		t.Fatalf("detail does not decode: %v", err)
	}
	if len(body.Guardians) != 1 {
		t.Fatalf("detail has %d guardians, want 1: %s", len(body.Guardians), answer.body)
	}
	return body
}

func TestDetailMasksByPermission(t *testing.T) {
	env := backofficetest.New(t)
	request := env.ShanghaiChild(t, 3, xuhui, xuhui)
	request.Guardians[0].Phone = "13912345678"
	number := env.Register(t, backofficetest.Subject(3), request)
	running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("masking-drainer")))
	env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM registration`)
	if err := running.Stop(t); err != nil {
		t.Fatal(err)
	}
	backOffice := env.StartServer(t, map[string]string{"BACKOFFICE_DEV_SIGN_IN": "true", "BACKOFFICE_WORKERS": "false"})
	base := "http://" + backOffice.Addr()

	childID := request.Child.Document.Number
	guardianID := request.Guardians[0].Document.Number
	masked := getDetail(t, signIn(t, base, `{"level": "city"}`), number)
	if !masked.Masked {
		t.Error("detail for a role without personal.unmask is not marked masked")
	}
	if want := childID[:3] + strings.Repeat("*", 11) + childID[14:]; masked.ChildDocumentNumber != want {
		t.Errorf("child document number = %q, want %q", masked.ChildDocumentNumber, want)
	}
	if masked.Guardians[0].Phone != "139****5678" {
		t.Errorf("guardian phone = %q, want 139****5678", masked.Guardians[0].Phone)
	}
	if strings.Contains(masked.Guardians[0].DocumentNumber, guardianID[3:14]) {
		t.Errorf("guardian document number %q shows its middle", masked.Guardians[0].DocumentNumber)
	}
	if masked.ChildName == request.Child.Name || masked.Guardians[0].Relation != "母亲" {
		t.Errorf("child name %q or relation %q: want a masked name and 母亲", masked.ChildName, masked.Guardians[0].Relation)
	}

	// The security admin grants the permission through the role editor,
	// which signs the row. Here the test signs it as the editor would.
	if _, err := env.DB.DB.Exec(`UPDATE role SET permissions = array_append(permissions, $1) WHERE code = 'city_admin'`, masking.Permission); err != nil {
		t.Fatal(err)
	}
	if err := env.Integrity.SignRole(context.Background(), env.DB.DB, "city_admin"); err != nil {
		t.Fatal(err)
	}
	whole := getDetail(t, signIn(t, base, `{"level": "city"}`), number)
	if whole.Masked {
		t.Error("detail for a role with personal.unmask is marked masked")
	}
	if whole.ChildDocumentNumber != childID || whole.Guardians[0].DocumentNumber != guardianID {
		t.Errorf("document numbers = %q, %q, want %q, %q", whole.ChildDocumentNumber, whole.Guardians[0].DocumentNumber, childID, guardianID)
	}
	if whole.Guardians[0].Phone != "13912345678" || whole.ChildName != request.Child.Name {
		t.Errorf("phone %q, name %q: want them whole", whole.Guardians[0].Phone, whole.ChildName)
	}
}
