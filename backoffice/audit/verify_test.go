package audit_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/shared/testenv"
)

var tester = &access.Staff{ID: 7, Username: "tester", Name: "测试员", Role: "city_admin"}

// recordEvents appends n events through Trail.Record and returns their IDs.
func recordEvents(t *testing.T, trail *audit.Trail, n int) []int64 {
	t.Helper()
	for i := range n {
		event := audit.Event{
			Action: "dictionary.item.update", Resource: "dictionary_item", ResourceID: strconv.Itoa(i),
			DistrictCode: "310104", Before: map[string]any{"label": "甲"}, After: map[string]any{"label": "乙"},
			Detail: "event " + strconv.Itoa(i),
		}
		if err := trail.Record(context.Background(), nil, tester, event); err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
	}
	var ids []int64
	if err := trail.DB.Select(&ids, `SELECT id FROM audit_event ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	return ids
}

// tamper runs statement with the rule that stops it switched off, as a
// superuser could, and switches the rule back on.
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

func newTrail(t *testing.T) *audit.Trail {
	t.Helper()
	return &audit.Trail{DB: testenv.NewDatabase(t).DB, Now: time.Now}
}

func verifyBroken(t *testing.T, trail *audit.Trail) audit.Result {
	t.Helper()
	result, err := trail.Verify(context.Background())
	if !errors.Is(err, audit.ErrBroken) {
		t.Fatalf("Verify returned %v, want ErrBroken", err)
	}
	return result
}

func TestVerifyIntact(t *testing.T) {
	trail := newTrail(t)
	recordEvents(t, trail, 10)
	result, err := trail.Verify(context.Background())
	if err != nil {
		t.Fatalf("Verify: %v (problems %+v)", err, result.Problems)
	}
	if result.Rows != 10 || len(result.Problems) != 0 {
		t.Errorf("result = %+v, want 10 rows and no problem", result)
	}
}

func TestRulesKeepTrailAppendOnly(t *testing.T) {
	trail := newTrail(t)
	ids := recordEvents(t, trail, 3)
	if _, err := trail.DB.Exec(`UPDATE audit_event SET detail = 'changed' WHERE id = $1`, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := trail.DB.Exec(`DELETE FROM audit_event WHERE id = $1`, ids[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := trail.Verify(context.Background()); err != nil {
		t.Errorf("Verify after an UPDATE and a DELETE under the rules: %v, want an intact trail", err)
	}
}

func TestVerifyDetectsEditedRow(t *testing.T) {
	trail := newTrail(t)
	ids := recordEvents(t, trail, 10)
	edited := ids[4]
	tamper(t, trail.DB, "audit_event_no_update", `UPDATE audit_event SET after_state = '{"label":"丙"}' WHERE id = $1`, edited)

	result := verifyBroken(t, trail)
	if len(result.Problems) != 1 {
		t.Fatalf("problems = %+v, want one", result.Problems)
	}
	if problem := result.Problems[0]; problem.ID != edited || !strings.Contains(problem.Reason, "edited") {
		t.Errorf("problem = %+v, want row %d reported as edited", problem, edited)
	}
}

func TestVerifyDetectsDeletedRow(t *testing.T) {
	trail := newTrail(t)
	ids := recordEvents(t, trail, 10)
	tamper(t, trail.DB, "audit_event_no_delete", `DELETE FROM audit_event WHERE id = $1`, ids[4])

	result := verifyBroken(t, trail)
	if result.Rows != 9 {
		t.Errorf("rows = %d, want 9", result.Rows)
	}
	if len(result.Problems) != 1 {
		t.Fatalf("problems = %+v, want one", result.Problems)
	}
	if problem := result.Problems[0]; problem.ID != ids[5] || !strings.Contains(problem.Reason, "deleted") {
		t.Errorf("problem = %+v, want row %d, the one after the deleted row, reported as a broken link", problem, ids[5])
	}
}

func TestVerifyDetectsDeletedLastRow(t *testing.T) {
	trail := newTrail(t)
	ids := recordEvents(t, trail, 10)
	last := ids[len(ids)-1]
	tamper(t, trail.DB, "audit_event_no_delete", `DELETE FROM audit_event WHERE id = $1`, last)

	result := verifyBroken(t, trail)
	if len(result.Problems) != 1 {
		t.Fatalf("problems = %+v, want one", result.Problems)
	}
	if problem := result.Problems[0]; problem.ID != last || !strings.Contains(problem.Reason, "head") {
		t.Errorf("problem = %+v, want the head naming the deleted row %d", problem, last)
	}
}

func TestVerifyConcurrentRecords(t *testing.T) {
	trail := newTrail(t)
	const writers, perWriter = 20, 50
	var wait sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for writer := range writers {
		wait.Add(1)
		go func() {
			defer wait.Done()
			staff := &access.Staff{ID: int64(writer + 1), Username: "writer" + strconv.Itoa(writer), Name: "写入者", Role: "city_admin"}
			for i := range perWriter {
				event := audit.Event{Action: "test.concurrent", Resource: "test", ResourceID: strconv.Itoa(writer*perWriter + i)}
				if err := trail.Record(context.Background(), nil, staff, event); err != nil {
					errs <- err
				}
			}
		}()
	}
	wait.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Record: %v", err)
	}

	result, err := trail.Verify(context.Background())
	if err != nil {
		t.Fatalf("Verify: %v (problems %+v)", err, result.Problems)
	}
	if result.Rows != writers*perWriter {
		t.Errorf("rows = %d, want %d", result.Rows, writers*perWriter)
	}
}

func TestVerifyCommand(t *testing.T) {
	trail := newTrail(t)
	ids := recordEvents(t, trail, 5)

	var intact bytes.Buffer
	if err := audit.VerifyCommand(context.Background(), trail.DB, nil, &intact); err != nil {
		t.Fatalf("VerifyCommand on an intact trail: %v", err)
	}
	for _, want := range []string{"intact: 5 rows", "审计日志完整：已校验 5 条记录"} {
		if !strings.Contains(intact.String(), want) {
			t.Errorf("output %q does not contain %q", intact.String(), want)
		}
	}

	tamper(t, trail.DB, "audit_event_no_update", `UPDATE audit_event SET actor_name = '他人' WHERE id = $1`, ids[2])
	tamper(t, trail.DB, "audit_event_no_delete", `DELETE FROM audit_event WHERE id = $1`, ids[4])
	var broken bytes.Buffer
	err := audit.VerifyCommand(context.Background(), trail.DB, nil, &broken)
	if !errors.Is(err, audit.ErrBroken) {
		t.Fatalf("VerifyCommand on a broken trail returned %v, want ErrBroken", err)
	}
	id := strconv.FormatInt(ids[2], 10)
	for _, want := range []string{"BROKEN", "2 problems", "row " + id + ":", "第 " + id + " 条：记录内容与其哈希值不一致", "链头未指向最后一条记录"} {
		if !strings.Contains(broken.String(), want) {
			t.Errorf("output %q does not contain %q", broken.String(), want)
		}
	}
}
