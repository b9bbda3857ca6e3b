package securitytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/audit"
)

// TestAuditVerifyDetectsTampering records events through the API, edits
// one row and deletes another directly in the database, as someone with
// the database's superuser password could, and checks that `backoffice
// audit verify` and the auditor's verify page name both rows.
func TestAuditVerifyDetectsTampering(t *testing.T) {
	h := newHarness(t, nil)
	walker := h.signIn(t, xuhuiAdmin)
	auditor := h.signIn(t, auditorName)
	db := h.env.DB.DB

	walker.send(t, ownItemRequest(h, "audit-first")).expect(t, "first item", http.StatusCreated, "")
	walker.get(t, "/api/v1/registrations/"+h.fixtures.otherRegistration).expect(t, "denied read", http.StatusForbidden, "out_of_scope")
	walker.send(t, ownItemRequest(h, "audit-second")).expect(t, "second item", http.StatusCreated, "")

	var created, deniedRow, after int64
	if err := db.Get(&created, `SELECT id FROM audit_event WHERE action = 'dictionary.item.create' AND detail LIKE '%/audit-first'`); err != nil {
		t.Fatalf("find the first item's event: %v", err)
	}
	if err := db.Get(&deniedRow, `SELECT id FROM audit_event WHERE outcome = 'denied' AND action LIKE 'GET /api/v1/registrations/%'`); err != nil {
		t.Fatalf("find the denial: %v", err)
	}
	if err := db.Get(&after, `SELECT min(id) FROM audit_event WHERE id > $1`, deniedRow); err != nil {
		t.Fatalf("find the row after the denial: %v", err)
	}

	var intact bytes.Buffer
	if err := audit.VerifyCommand(context.Background(), db, nil, &intact); err != nil {
		t.Fatalf("audit verify before tampering: %v\n%s", err, intact.String())
	}
	expectVerifyPage(t, auditor, true, nil)

	tamper(t, db, "audit_event_no_update", `UPDATE audit_event SET after_state = '{"label":"篡改"}' WHERE id = $1`, created)
	tamper(t, db, "audit_event_no_delete", `DELETE FROM audit_event WHERE id = $1`, deniedRow)

	var output bytes.Buffer
	err := audit.VerifyCommand(context.Background(), db, nil, &output)
	if !errors.Is(err, audit.ErrBroken) {
		t.Fatalf("audit verify after tampering returned %v, want ErrBroken (exit status 1)\n%s", err, output.String())
	}
	for _, want := range []string{
		"BROKEN",
		"row " + strconv.FormatInt(created, 10) + ":",
		"第 " + strconv.FormatInt(created, 10) + " 条：记录内容与其哈希值不一致",
		"row " + strconv.FormatInt(after, 10) + ":",
	} {
		if !strings.Contains(output.String(), want) {
			t.Errorf("audit verify output does not contain %q:\n%s", want, output.String())
		}
	}
	expectVerifyPage(t, auditor, false, []int64{created, after})
}

// expectVerifyPage checks the auditor's GET /api/v1/audit-events/verify:
// whether the trail is intact and which rows it names.
func expectVerifyPage(t *testing.T, auditor *client, intact bool, rows []int64) {
	t.Helper()
	answer := auditor.get(t, "/api/v1/audit-events/verify")
	answer.expect(t, "verify page", http.StatusOK, "")
	var body struct {
		Intact   bool `json:"intact"`
		Problems []struct {
			ID int64 `json:"id"`
		} `json:"problems"`
	}
	if err := json.Unmarshal(answer.body, &body); err != nil {
		t.Fatalf("verify body %s does not decode: %v", answer.body, err)
	}
	if body.Intact != intact {
		t.Errorf("verify page intact = %v, want %v: %s", body.Intact, intact, answer.body)
	}
	named := map[int64]bool{}
	for _, problem := range body.Problems {
		named[problem.ID] = true
	}
	for _, row := range rows {
		if !named[row] {
			t.Errorf("verify page does not name row %d: %s", row, answer.body)
		}
	}
}

// tamper runs statement with the rule that stops it switched off, as a
// database superuser could, and switches the rule back on.
func tamper(t *testing.T, db *sqlx.DB, rule, statement string, args ...any) {
	t.Helper()
	if _, err := db.Exec(`ALTER TABLE audit_event DISABLE RULE ` + rule); err != nil {
		t.Fatalf("disable %s: %v", rule, err)
	}
	defer func() {
		if _, err := db.Exec(`ALTER TABLE audit_event ENABLE RULE ` + rule); err != nil {
			t.Fatalf("enable %s: %v", rule, err)
		}
	}()
	result, err := db.Exec(statement, args...)
	if err != nil {
		t.Fatalf("%s: %v", statement, err)
	}
	if n, _ := result.RowsAffected(); n != 1 {
		t.Fatalf("%s changed %d rows, want 1", statement, n)
	}
}
