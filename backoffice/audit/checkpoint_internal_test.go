package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/testenv"
)

func newProvider(t *testing.T, keyID string) crypto.Provider {
	t.Helper()
	keyring, err := crypto.NewKeyring(crypto.GenerateKeyring("k1"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := crypto.GenerateSigner(keyID)
	if err != nil {
		t.Fatal(err)
	}
	provider, err := crypto.NewLocalProvider(keyring, signer, nil, crypto.DefaultUserID)
	if err != nil {
		t.Fatal(err)
	}
	return provider
}

func record(t *testing.T, trail *Trail, n int) {
	t.Helper()
	for i := range n {
		event := Event{Action: "dictionary.item.update", Resource: "dictionary_item", ResourceID: strconv.Itoa(i), Detail: "event " + strconv.Itoa(i)}
		if err := trail.Record(context.Background(), nil, nil, event); err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
	}
}

func writeCheckpoint(t *testing.T, checkpoints *Checkpoints) Checkpoint {
	t.Helper()
	checkpoint, written, err := checkpoints.Write(context.Background())
	if err != nil || !written {
		t.Fatalf("Write = %+v, %v, %v, want a new checkpoint", checkpoint, written, err)
	}
	return checkpoint
}

// rebuildChain recomputes every row's links and hashes from the first and
// moves the head, as someone who can write the database could after
// editing a row.
func rebuildChain(t *testing.T, db *sqlx.DB) {
	t.Helper()
	var rows []row
	err := db.Select(&rows, `SELECT id, at, actor_id, actor_name, actor_role, ip, action, resource, resource_id, district_code,
		outcome, before_state, after_state, detail, previous_hash, hash FROM audit_event ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	setRules(t, db, "DISABLE")
	defer setRules(t, db, "ENABLE")
	previous := []byte{}
	for _, entry := range rows {
		entry.PreviousHash = previous
		entry.Hash = entry.contentHash()
		if _, err := db.Exec(`UPDATE audit_event SET previous_hash = $2, hash = $3 WHERE id = $1`, entry.ID, entry.PreviousHash, entry.Hash); err != nil {
			t.Fatal(err)
		}
		previous = entry.Hash
	}
	if _, err := db.Exec(`UPDATE audit_chain_head SET last_hash = $1`, previous); err != nil {
		t.Fatal(err)
	}
}

func setRules(t *testing.T, db *sqlx.DB, state string) {
	t.Helper()
	if _, err := db.Exec(`ALTER TABLE audit_event ` + state + ` RULE audit_event_no_update`); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpointsVerifyIntact(t *testing.T) {
	db := testenv.NewDatabase(t).DB
	trail := &Trail{DB: db, Now: time.Now}
	checkpoints := &Checkpoints{DB: db, Provider: newProvider(t, "audit-1")}

	if _, written, err := checkpoints.Write(context.Background()); err != nil || written {
		t.Errorf("Write on an empty trail = %v, %v, want nothing written", written, err)
	}
	record(t, trail, 4)
	first := writeCheckpoint(t, checkpoints)
	if again, written, err := checkpoints.Write(context.Background()); err != nil || written || again.ID != first.ID {
		t.Errorf("Write with no new rows = %+v, %v, %v, want the same checkpoint, nothing written", again, written, err)
	}
	record(t, trail, 3)
	second := writeCheckpoint(t, checkpoints)
	if second.LastID != first.LastID+3 {
		t.Errorf("second checkpoint names row %d, want %d", second.LastID, first.LastID+3)
	}

	count, problems, err := checkpoints.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if count != 2 || len(problems) != 0 {
		t.Errorf("Verify = %d checkpoints, problems %+v, want 2 and none", count, problems)
	}
	var out bytes.Buffer
	if err := VerifyCommand(context.Background(), db, checkpoints, &out); err != nil {
		t.Errorf("VerifyCommand = %v\n%s", err, out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("2 signed checkpoints verify")) {
		t.Errorf("VerifyCommand output lacks the checkpoints: %s", out.String())
	}
}

func TestCheckpointsDetectRebuiltChain(t *testing.T) {
	db := testenv.NewDatabase(t).DB
	trail := &Trail{DB: db, Now: time.Now}
	checkpoints := &Checkpoints{DB: db, Provider: newProvider(t, "audit-1")}
	record(t, trail, 5)
	checkpoint := writeCheckpoint(t, checkpoints)
	record(t, trail, 2)

	setRules(t, db, "DISABLE")
	if _, err := db.Exec(`UPDATE audit_event SET detail = '被篡改' WHERE id = $1`, checkpoint.LastID-2); err != nil {
		t.Fatal(err)
	}
	setRules(t, db, "ENABLE")
	rebuildChain(t, db)

	if result, err := trail.Verify(context.Background()); err != nil || len(result.Problems) != 0 {
		t.Fatalf("Trail.Verify after a rebuild = %+v, %v, want the unsigned chain to look intact", result, err)
	}
	_, problems, err := checkpoints.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 {
		t.Fatalf("problems = %+v, want one", problems)
	}
	if problems[0].Reason != ReasonCheckpointHash || problems[0].Checkpoint != checkpoint.ID || problems[0].ID != checkpoint.LastID {
		t.Errorf("problem = %+v, want %q at checkpoint %d, row %d", problems[0], ReasonCheckpointHash, checkpoint.ID, checkpoint.LastID)
	}
	var out bytes.Buffer
	if err := VerifyCommand(context.Background(), db, checkpoints, &out); err == nil {
		t.Errorf("VerifyCommand on a rebuilt chain succeeded:\n%s", out.String())
	}
}

func TestCheckpointsDetectForgery(t *testing.T) {
	db := testenv.NewDatabase(t).DB
	trail := &Trail{DB: db, Now: time.Now}
	checkpoints := &Checkpoints{DB: db, Provider: newProvider(t, "audit-1")}
	record(t, trail, 3)
	writeCheckpoint(t, checkpoints)
	record(t, trail, 3)

	// A forger with another key under the same key ID signs the new head.
	forger := &Checkpoints{DB: db, Provider: newProvider(t, "audit-1")}
	forged := writeCheckpoint(t, forger)

	_, problems, err := checkpoints.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 {
		t.Fatalf("problems = %+v, want one", problems)
	}
	if problems[0].Reason != ReasonCheckpointSignature || problems[0].Checkpoint != forged.ID {
		t.Errorf("problem = %+v, want %q at checkpoint %d", problems[0], ReasonCheckpointSignature, forged.ID)
	}
	if label := ProblemLabel(problems[0].Reason); label == ProblemLabel("unknown") {
		t.Errorf("reason %q has no Chinese label", problems[0].Reason)
	}
}

func TestCheckpointsRulesKeepTableAppendOnly(t *testing.T) {
	db := testenv.NewDatabase(t).DB
	trail := &Trail{DB: db, Now: time.Now}
	checkpoints := &Checkpoints{DB: db, Provider: newProvider(t, "audit-1")}
	record(t, trail, 2)
	checkpoint := writeCheckpoint(t, checkpoints)

	if _, err := db.Exec(`UPDATE audit_checkpoint SET last_id = 1 WHERE id = $1`, checkpoint.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM audit_checkpoint WHERE id = $1`, checkpoint.ID); err != nil {
		t.Fatal(err)
	}
	count, problems, err := checkpoints.Verify(context.Background())
	if err != nil || count != 1 || len(problems) != 0 {
		t.Errorf("Verify after UPDATE and DELETE under the rules = %d, %+v, %v, want the checkpoint intact", count, problems, err)
	}
}

// unavailableProvider is a provider whose cryptography service does not
// respond.
type unavailableProvider struct{ crypto.Provider }

func (unavailableProvider) Verify(context.Context, []byte, crypto.Signature) error {
	return fmt.Errorf("%w: connection refused", crypto.ErrServiceUnavailable)
}

// TestCheckpointsVerifyCauses keeps a missing key and a silent service
// apart from tampering. A checkpoint of a key the provider does not have
// gets its own reason, and a service that does not respond fails the check.
func TestCheckpointsVerifyCauses(t *testing.T) {
	db := testenv.NewDatabase(t).DB
	trail := &Trail{DB: db, Now: time.Now}
	record(t, trail, 2)
	writeCheckpoint(t, &Checkpoints{DB: db, Provider: newProvider(t, "audit-1")})

	_, problems, err := (&Checkpoints{DB: db, Provider: newProvider(t, "audit-2")}).Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].Reason != ReasonCheckpointUnknownKey {
		t.Errorf("Verify with another key = %+v, want one %q", problems, ReasonCheckpointUnknownKey)
	}

	_, problems, err = (&Checkpoints{DB: db, Provider: unavailableProvider{}}).Verify(context.Background())
	if !errors.Is(err, crypto.ErrServiceUnavailable) || len(problems) != 0 {
		t.Errorf("Verify without the service = %+v, %v; want ErrServiceUnavailable and no problems", problems, err)
	}
}
