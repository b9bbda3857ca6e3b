package drain_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/drain"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// acceptedReceipt writes the receipt the edge writes with an entry, so the
// test can see the drainer move it on.
func acceptedReceipt(t *testing.T, env *backofficetest.Env, kind, number string) {
	t.Helper()
	command := env.Redis.Client.B().Hset().Key(env.Keys.Receipt(number)).FieldValue().
		FieldValue(enrol.FieldKind, kind).FieldValue(enrol.FieldStatus, enrol.StatusAccepted).
		FieldValue(enrol.FieldOwner, "00").Build()
	if err := env.Do(command).Error(); err != nil {
		t.Fatalf("HSET receipt %s: %v", number, err)
	}
}

func deadLetterOf(t *testing.T, env *backofficetest.Env, entryID string) (map[string]string, bool) {
	t.Helper()
	for _, letter := range env.DeadLetters(t) {
		if letter.FieldValues["original_id"] == entryID {
			return letter.FieldValues, true
		}
	}
	return nil, false
}

func randomIndex(t *testing.T) []byte {
	t.Helper()
	index := make([]byte, 32)
	if _, err := rand.Read(index); err != nil {
		t.Fatal(err)
	}
	return index
}

// encodeBody returns the stream body of a record, as the edge writes it.
func encodeBody(t *testing.T, record any) string {
	t.Helper()
	body, err := enrol.EncodeRecord(record)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func TestDeadLetterMalformedEntry(t *testing.T) {
	env := backofficetest.New(t)
	year := env.Year.Year
	applicationNumber := enrol.FormatApplicationNumber(year, xuhui, 9_000_100)

	cases := []struct {
		name       string
		number     string
		kind       string
		fields     []string
		wantReason string
	}{
		{
			name: "body of another format", number: enrol.FormatRegistrationNumber(year, 9_000_001), kind: enrol.KindRegistration,
			fields: []string{enrol.StreamFieldBody, `{"year": 2027, "childName": `}, wantReason: "malformed record body",
		},
		{
			name: "missing fields", number: enrol.FormatRegistrationNumber(year, 9_000_002), kind: enrol.KindRegistration,
			fields: []string{enrol.StreamFieldBody, encodeBody(t, &enrol.RegistrationRecord{Year: year})}, wantReason: "missing child index",
		},
		{
			name: "application without choices", number: applicationNumber, kind: enrol.KindApplication,
			fields: []string{enrol.StreamFieldBody, encodeBody(t, &enrol.ApplicationRecord{
				RegistrationNumber: enrol.FormatRegistrationNumber(year, 9_000_003), Year: year,
			})},
			wantReason: "missing child index, owner or choices",
		},
		{
			name: "number of another kind", number: enrol.FormatApplicationNumber(year, xuhui, 9_000_101), kind: enrol.KindRegistration,
			fields: []string{enrol.StreamFieldBody, `{}`}, wantReason: "does not fit kind",
		},
		{
			name: "no body", number: enrol.FormatRegistrationNumber(year, 9_000_004), kind: enrol.KindRegistration,
			fields: nil, wantReason: "no data",
		},
	}
	ids := map[string]string{}
	for _, test := range cases {
		acceptedReceipt(t, env, test.kind, test.number)
		fields := append([]string{enrol.StreamFieldKind, test.kind, enrol.StreamFieldNumber, test.number}, test.fields...)
		ids[test.name] = env.AddEntry(t, fields...)
	}
	sentinel := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))

	running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("drainer-1")))
	env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, sentinel)
	env.WaitForDrained(t, drainWait)
	running.Stop(t)

	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			letter, ok := deadLetterOf(t, env, ids[test.name])
			if !ok {
				t.Fatalf("entry %s is not in the dead-letter stream", ids[test.name])
			}
			if !strings.Contains(letter["reason"], test.wantReason) {
				t.Errorf("reason = %q, want it to contain %q", letter["reason"], test.wantReason)
			}
			if letter["number"] != test.number {
				t.Errorf("dead letter number = %q, want %q", letter["number"], test.number)
			}
			if letter["failed_at"] == "" {
				t.Errorf("dead letter has no failed_at")
			}
			receipt := env.Receipt(t, test.number)
			if receipt[enrol.FieldStatus] != enrol.StatusFailed {
				t.Errorf("receipt status = %q, want %q", receipt[enrol.FieldStatus], enrol.StatusFailed)
			}
			if receipt[enrol.FieldNote] == "" {
				t.Errorf("receipt has no note for the parent")
			}
		})
	}
	if letters := env.DeadLetters(t); len(letters) != len(cases) {
		t.Errorf("dead letters = %d, want %d", len(letters), len(cases))
	}
	if rows := env.Count(t, `SELECT count(*) FROM registration`); rows != 1 {
		t.Errorf("registration rows = %d, want only the sentinel", rows)
	}
}

func TestDeadLetterEntryWithoutKind(t *testing.T) {
	env := backofficetest.New(t)
	id := env.AddEntry(t, enrol.StreamFieldBody, `{}`)
	sentinel := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))

	running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("drainer-1")))
	env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, sentinel)
	running.Stop(t)

	if _, ok := deadLetterOf(t, env, id); !ok {
		t.Errorf("entry %s without kind and number is not in the dead-letter stream", id)
	}
	if pending := env.Pending(t); pending != 0 {
		t.Errorf("pending entries = %d, want 0", pending)
	}
}

func TestDeadLetterRejectedRecord(t *testing.T) {
	env := backofficetest.New(t)
	year := env.Year.Year

	subject := backofficetest.Subject(1)
	goodRegistration := env.Register(t, subject, env.ShanghaiChild(t, 1, xuhui, xuhui))
	goodApplication := env.Apply(t, subject, goodRegistration, xuhui)

	badRegistration := env.RegistrationOf(t, goodRegistration)
	badRegistration.Number = enrol.FormatRegistrationNumber(year, 8_000_001)
	badRegistration.ChildIndex = randomIndex(t)
	badRegistration.HukouDistrict = "999999" // not a Shanghai district code
	acceptedReceipt(t, env, enrol.KindRegistration, badRegistration.Number)
	badRegistrationID := env.AddRecord(t, enrol.KindRegistration, badRegistration.Number, badRegistration)

	orphan := env.ApplicationOf(t, goodApplication)
	orphan.Number = enrol.FormatApplicationNumber(year, xuhui, 8_000_003)
	orphan.RegistrationNumber = enrol.FormatRegistrationNumber(year, 8_000_002) // never submitted
	orphan.ChildIndex = randomIndex(t)
	acceptedReceipt(t, env, enrol.KindApplication, orphan.Number)
	orphanID := env.AddRecord(t, enrol.KindApplication, orphan.Number, orphan)

	var laterRegistrations []string
	for i := 2; i <= 4; i++ {
		laterRegistrations = append(laterRegistrations, env.Register(t, backofficetest.Subject(i), env.ShanghaiChild(t, i, xuhui, xuhui)))
	}

	config := backofficetest.DrainConfig("drainer-1")
	config.MaxDeliveries = 3
	config.ClaimIdle = 100 * time.Millisecond
	config.ClaimInterval = 50 * time.Millisecond
	running := backofficetest.Start(t, env.Drainer(config))
	backofficetest.WaitFor(t, drainWait, "two dead letters", func() (bool, error) { return len(env.DeadLetters(t)) == 2, nil })
	env.WaitForDrained(t, drainWait)
	running.Stop(t)

	t.Run("good entries stored", func(t *testing.T) {
		for _, number := range append([]string{goodRegistration}, laterRegistrations...) {
			if rows := env.Count(t, `SELECT count(*) FROM registration WHERE registration_number = $1`, number); rows != 1 {
				t.Errorf("rows of registration %s = %d, want 1", number, rows)
			}
			if status := env.Receipt(t, number)[enrol.FieldStatus]; status != enrol.StatusRecorded {
				t.Errorf("receipt %s status = %q, want %q", number, status, enrol.StatusRecorded)
			}
		}
		if rows := env.Count(t, `SELECT count(*) FROM application WHERE application_number = $1`, goodApplication); rows != 1 {
			t.Errorf("rows of application %s = %d, want 1", goodApplication, rows)
		}
	})

	rejected := []struct {
		name, id, number, kind string
	}{
		{"unknown district", badRegistrationID, badRegistration.Number, enrol.KindRegistration},
		{"registration never stored", orphanID, orphan.Number, enrol.KindApplication},
	}
	for _, test := range rejected {
		t.Run(test.name, func(t *testing.T) {
			violation := map[string]string{enrol.KindRegistration: "check constraint", enrol.KindApplication: "foreign key"}[test.kind]
			letter, ok := deadLetterOf(t, env, test.id)
			if !ok {
				t.Fatalf("entry %s is not in the dead-letter stream", test.id)
			}
			if !strings.Contains(letter["reason"], "rejected 3 times by the database") {
				t.Errorf("reason = %q, want it to say the database rejected it 3 times", letter["reason"])
			}
			if !strings.Contains(letter["reason"], violation) {
				t.Errorf("reason = %q, want the %s violation", letter["reason"], violation)
			}
			if strings.Contains(letter["reason"], "Failing row") {
				t.Errorf("reason = %q, want no row content (it holds sealed data and indexes)", letter["reason"])
			}
			if letter["kind"] != test.kind {
				t.Errorf("dead letter kind = %q, want %q", letter["kind"], test.kind)
			}
			if letter["body"] == "" {
				t.Errorf("dead letter has no body")
			}
			if status := env.Receipt(t, test.number)[enrol.FieldStatus]; status != enrol.StatusFailed {
				t.Errorf("receipt %s status = %q, want %q", test.number, status, enrol.StatusFailed)
			}
		})
	}

	if rows := env.Count(t, `SELECT count(*) FROM registration WHERE registration_number = $1`, badRegistration.Number); rows != 0 {
		t.Errorf("rows of the rejected registration = %d, want 0", rows)
	}
	failures, err := env.Do(env.Redis.Client.B().Hlen().Key(env.Keys.Deliveries()).Build()).AsInt64()
	if err != nil {
		t.Fatalf("HLEN failures: %v", err)
	}
	if failures != 0 {
		t.Errorf("failure counts left = %d, want 0 once every entry is acknowledged", failures)
	}
}

// pendWithoutStoring delivers every entry to consumer through a drainer
// whose database is closed, so they are pending and nothing is stored.
func pendWithoutStoring(t *testing.T, env *backofficetest.Env, consumer string, entries int) {
	t.Helper()
	failing := drain.New(env.Redis.Client, env.Keys, closedStore(t, env), backofficetest.DrainConfig(consumer), nil)
	running := backofficetest.Start(t, failing)
	backofficetest.WaitFor(t, drainWait, "entries delivered", func() (bool, error) {
		return len(env.PendingOf(t, consumer)) == entries, nil
	})
	running.Stop(t)
}

func deleteEntry(t *testing.T, env *backofficetest.Env, id string) {
	t.Helper()
	deleted, err := env.Do(env.Redis.Client.B().Xdel().Key(env.Keys.Stream()).Id(id).Build()).AsInt64()
	if err != nil || deleted != 1 {
		t.Fatalf("XDEL %s = %d, %v; want 1 entry deleted", id, deleted, err)
	}
}

func TestDeadLetterTrimmedEntry(t *testing.T) {
	env := backofficetest.New(t)
	number := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))
	id := env.EntryOf(t, number).ID
	pendWithoutStoring(t, env, "backoffice-0", 1)
	deleteEntry(t, env, id)

	// The same consumer re-reads its pending entry, whose data is gone.
	running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("backoffice-0")))
	env.WaitForDrained(t, drainWait)
	select {
	case <-running.Done():
		t.Fatalf("Run returned %v after a trimmed entry, want it to keep draining", running.Err())
	default:
	}

	letter, ok := deadLetterOf(t, env, id)
	if !ok {
		t.Fatalf("trimmed entry %s is not in the dead-letter stream", id)
	}
	if !strings.Contains(letter["reason"], "no data") {
		t.Errorf("reason = %q, want it to say the entry has no data", letter["reason"])
	}

	later := env.Register(t, backofficetest.Subject(2), env.ShanghaiChild(t, 2, xuhui, xuhui))
	env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, later)
	running.Stop(t)
}

func TestReclaimTrimmedEntry(t *testing.T) {
	env := backofficetest.New(t)
	number := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))
	id := env.EntryOf(t, number).ID
	pendWithoutStoring(t, env, "crashed", 1)
	deleteEntry(t, env, id)

	config := backofficetest.DrainConfig("rescuer")
	config.ClaimIdle = time.Millisecond
	rescuer := env.Drainer(config)
	backofficetest.WaitFor(t, drainWait, "no pending entries", func() (bool, error) {
		if err := rescuer.Reclaim(context.Background()); err != nil {
			return false, err
		}
		return env.Pending(t) == 0, nil
	})
	if _, ok := deadLetterOf(t, env, id); !ok {
		t.Errorf("trimmed entry %s left the pending list without a dead letter", id)
	}
}
