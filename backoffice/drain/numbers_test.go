package drain_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	"github.com/sh-preschool/preschool/backoffice/drain"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// counter reads a number counter in Redis; 0 when it is missing.
func counter(t *testing.T, env *backofficetest.Env, key string) int64 {
	t.Helper()
	value, err := env.Do(env.Redis.Client.B().Get().Key(key).Build()).AsInt64()
	if err != nil && !rueidis.IsRedisNil(err) {
		t.Fatalf("GET %s: %v", key, err)
	}
	return value
}

// loseCounters deletes the year's registration counter and Xuhui's
// application counter, as a Redis that restarted from an append-only file
// written before they moved would.
func loseCounters(t *testing.T, env *backofficetest.Env) (registrations, applications string) {
	t.Helper()
	registrations = env.Keys.RegistrationSequence(env.Year.Year)
	applications = env.Keys.ApplicationSequence(env.Year.Year, xuhui)
	if err := env.Do(env.Redis.Client.B().Del().Key(registrations, applications).Build()).Error(); err != nil {
		t.Fatalf("DEL counters: %v", err)
	}
	return registrations, applications
}

// drainerWithoutTicker is a drainer whose periodic counter check never
// comes during a test, so only its start and its batches raise counters.
func drainerWithoutTicker(env *backofficetest.Env) *drain.Drainer {
	config := backofficetest.DrainConfig("drainer-1")
	config.SequenceCheck = time.Hour
	return env.Drainer(config)
}

func TestRaiseSequencesAfterRedisLostCounters(t *testing.T) {
	env := backofficetest.New(t)
	first := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))
	last := env.Register(t, backofficetest.Subject(2), env.ShanghaiChild(t, 2, xuhui, xuhui))
	application := env.Apply(t, backofficetest.Subject(1), first, xuhui)
	drainer := drainerWithoutTicker(env)
	running := backofficetest.Start(t, drainer)
	env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM application WHERE application_number = $1`, application)
	env.WaitForDrained(t, drainWait)
	running.Stop(t)
	// Generated records are numbered from sequence 9,000,000 and are not
	// the edge's, so they must not move the counters.
	if _, _, err := dashboardenrolment.Generate(context.Background(), env.DB.DB, env.Year.Year, 20); err != nil {
		t.Fatalf("Generate: %v", err)
	}

	registrations, applications := loseCounters(t, env)
	raised, err := drainer.RaiseSequences(context.Background())
	if err != nil {
		t.Fatalf("RaiseSequences: %v", err)
	}
	if raised != 2 {
		t.Errorf("RaiseSequences raised %d counters, want 2", raised)
	}
	if got, want := counter(t, env, registrations), enrol.NumberSequence(last)+drain.SequenceMargin; got != want {
		t.Errorf("registration counter = %d, want %d, the sequence of %s plus the margin", got, want, last)
	}
	if got, want := counter(t, env, applications), enrol.NumberSequence(application)+drain.SequenceMargin; got != want {
		t.Errorf("application counter = %d, want %d, the sequence of %s plus the margin", got, want, application)
	}

	// A counter ahead of the database, the normal case, stays where it is.
	if err := env.Do(env.Redis.Client.B().Set().Key(registrations).Value("3").Build()).Error(); err != nil {
		t.Fatalf("SET counter: %v", err)
	}
	if raised, err := drainer.RaiseSequences(context.Background()); err != nil || raised != 0 {
		t.Errorf("RaiseSequences with counters ahead = %d, %v; want 0, nil", raised, err)
	}
	if got := counter(t, env, registrations); got != 3 {
		t.Errorf("registration counter = %d after a check, want it left at 3", got)
	}
}

// TestTakenNumberIsNotLost: after Redis lost its counter, the edge hands a
// stored number to another child, whose family also applies with it. The
// drainer must neither count either submission as stored nor touch the
// first record. It keeps both in the dead-letter stream, requests a new
// submission on the receipts, and keeps the first record's status writes
// out of them. The new submissions get new numbers.
func TestTakenNumberIsNotLost(t *testing.T) {
	env := backofficetest.New(t)
	running := backofficetest.Start(t, drainerWithoutTicker(env))
	first := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))
	env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, first)
	env.WaitForDrained(t, drainWait)
	firstChild := env.RegistrationOf(t, first).ChildIndex

	// The drainer checked the counters when it started, before they were
	// lost, so only the batch that meets the taken number can raise them.
	registrations, _ := loseCounters(t, env)
	subject := backofficetest.Subject(3)
	request := env.ShanghaiChild(t, 3, xuhui, xuhui)
	if again := env.Register(t, subject, request); again != first {
		t.Fatalf("with the counter lost, the edge handed out %s, want the stored %s again", again, first)
	}
	application := env.Apply(t, subject, first, xuhui)
	backofficetest.WaitFor(t, drainWait, "two dead letters", func() (bool, error) { return len(env.DeadLetters(t)) == 2, nil })
	env.WaitForDrained(t, drainWait)

	var stored []byte
	if err := env.DB.DB.Get(&stored, `SELECT child_index FROM registration WHERE registration_number = $1`, first); err != nil {
		t.Fatalf("select the first record: %v", err)
	}
	if string(stored) != string(firstChild) {
		t.Errorf("the record under %s changed children", first)
	}
	if rows := env.Count(t, `SELECT count(*) FROM registration`); rows != 1 {
		t.Errorf("registration rows = %d, want 1", rows)
	}
	if rows := env.Count(t, `SELECT count(*) FROM application`); rows != 0 {
		t.Errorf("application rows = %d, want 0: the application names another child's registration", rows)
	}
	letters := env.DeadLetters(t)
	if letter := letters[0].FieldValues; letter["number"] != first || letter["body"] == "" || !strings.Contains(letter["reason"], "another child") {
		t.Errorf("dead letter = number %q, reason %q, body of %d bytes; want %s, a reason naming another child, and the record",
			letter["number"], letter["reason"], len(letter["body"]), first)
	}
	if letter := letters[1].FieldValues; letter["number"] != application || letter["body"] == "" {
		t.Errorf("second dead letter = number %q, body of %d bytes; want %s and its record", letter["number"], len(letter["body"]), application)
	}
	receipt := env.Receipt(t, first)
	if receipt[enrol.FieldStatus] != enrol.StatusFailed || !strings.Contains(receipt[enrol.FieldNote], "请重新提交登记") {
		t.Errorf("receipt %s = status %q, note %q; want failed, asking for a new submission", first, receipt[enrol.FieldStatus], receipt[enrol.FieldNote])
	}
	receipt = env.Receipt(t, application)
	if receipt[enrol.FieldStatus] != enrol.StatusFailed || !strings.Contains(receipt[enrol.FieldNote], "重新提交登记后再报名") {
		t.Errorf("receipt %s = status %q, note %q; want failed, asking to register again first", application, receipt[enrol.FieldStatus], receipt[enrol.FieldNote])
	}
	if got := counter(t, env, registrations); got < enrol.NumberSequence(first)+drain.SequenceMargin {
		t.Errorf("registration counter = %d after the taken number, want at least %d", got, enrol.NumberSequence(first)+drain.SequenceMargin)
	}

	// A status written for the stored record, such as the verifier's,
	// must not reach the other family's receipt under the same number.
	if err := enrolment.StatusScript.Exec(context.Background(), env.Redis.Client, []string{env.Keys.Receipt(first)},
		[]string{enrol.StatusVerified}).Error(); err != nil {
		t.Fatalf("StatusScript: %v", err)
	}
	if status := env.Receipt(t, first)[enrol.FieldStatus]; status != enrol.StatusFailed {
		t.Errorf("receipt %s status = %q after a status write for the stored record, want it left %q", first, status, enrol.StatusFailed)
	}

	renewed := env.Register(t, subject, request)
	if renewed == first {
		t.Fatalf("submitting again returned the taken number %s", first)
	}
	env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, renewed)
	renewedApplication := env.Apply(t, subject, renewed, xuhui)
	env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM application WHERE application_number = $1`, renewedApplication)
	env.WaitForDrained(t, drainWait)
	running.Stop(t)
	if status := env.Receipt(t, renewed)[enrol.FieldStatus]; status != enrol.StatusRecorded {
		t.Errorf("receipt %s of the new registration = %q, want %q", renewed, status, enrol.StatusRecorded)
	}
}

// TestSameNumberOtherContentsKeepsFirst: after Redis lost both the counter
// and the child's claim, the family submits the child again with other
// contents and draws the child's own stored number. The child stays
// registered with the first contents, the receipt reads 已入库, and the
// new contents are kept in the dead-letter stream for staff.
func TestSameNumberOtherContentsKeepsFirst(t *testing.T) {
	env := backofficetest.New(t)
	running := backofficetest.Start(t, drainerWithoutTicker(env))
	subject := backofficetest.Subject(1)
	request := env.ShanghaiChild(t, 1, xuhui, xuhui)
	first := env.Register(t, subject, request)
	env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, first)
	env.WaitForDrained(t, drainWait)
	var firstHash []byte
	if err := env.DB.DB.Get(&firstHash, `SELECT payload_hash FROM registration WHERE registration_number = $1`, first); err != nil {
		t.Fatalf("select the first record: %v", err)
	}

	registrations, _ := loseCounters(t, env)
	record := env.RegistrationOf(t, first)
	if err := env.Do(env.Redis.Client.B().Del().Key(env.Keys.RegistrationClaim(record.Year, record.ChildIndex)).Build()).Error(); err != nil {
		t.Fatalf("DEL claim: %v", err)
	}
	request.Extra = map[string]any{"birthProvince": "浙江省"}
	if again := env.Register(t, subject, request); again != first {
		t.Fatalf("with the counter and claim lost, the edge handed out %s, want the stored %s again", again, first)
	}
	backofficetest.WaitFor(t, drainWait, "a dead letter", func() (bool, error) { return len(env.DeadLetters(t)) == 1, nil })
	env.WaitForDrained(t, drainWait)
	running.Stop(t)

	var hash []byte
	if err := env.DB.DB.Get(&hash, `SELECT payload_hash FROM registration WHERE registration_number = $1`, first); err != nil {
		t.Fatalf("select the record: %v", err)
	}
	if string(hash) != string(firstHash) {
		t.Errorf("the record under %s changed contents", first)
	}
	if rows := env.Count(t, `SELECT count(*) FROM registration`); rows != 1 {
		t.Errorf("registration rows = %d, want 1", rows)
	}
	letter := env.DeadLetters(t)[0].FieldValues
	if letter["number"] != first || letter["body"] == "" || !strings.Contains(letter["reason"], "other contents") {
		t.Errorf("dead letter = number %q, reason %q, body of %d bytes; want %s, a reason naming other contents, and the record",
			letter["number"], letter["reason"], len(letter["body"]), first)
	}
	if status := env.Receipt(t, first)[enrol.FieldStatus]; status != enrol.StatusRecorded {
		t.Errorf("receipt %s status = %q, want %q: the child is registered", first, status, enrol.StatusRecorded)
	}
	if got, want := counter(t, env, registrations), enrol.NumberSequence(first)+drain.SequenceMargin; got < want {
		t.Errorf("registration counter = %d after the number was drawn again, want at least %d", got, want)
	}
}

// TestTakenNumberDeadLetteredOnce stops a drainer after it dead-lettered
// an entry with a taken number and before it acknowledged it. The drainer
// that reclaims the entry adds no second copy.
func TestTakenNumberDeadLetteredOnce(t *testing.T) {
	env := backofficetest.New(t)
	first := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))
	running := backofficetest.Start(t, drainerWithoutTicker(env))
	env.WaitForDrained(t, drainWait)
	running.Stop(t)
	loseCounters(t, env)
	if again := env.Register(t, backofficetest.Subject(2), env.ShanghaiChild(t, 2, xuhui, xuhui)); again != first {
		t.Fatalf("with the counter lost, the edge handed out %s, want the stored %s again", again, first)
	}

	crashing := drainerWithoutTicker(env)
	crashing.BeforeAck = func([]string) error { return errors.New("simulated crash before the acknowledgement") }
	crashed := backofficetest.Start(t, crashing)
	select {
	case <-crashed.Done():
	case <-time.After(drainWait):
		t.Fatalf("the crashing drainer did not stop within %s", drainWait)
	}
	if letters := len(env.DeadLetters(t)); letters != 1 {
		t.Fatalf("after the crash, %d dead letters, want 1", letters)
	}

	config := backofficetest.DrainConfig("rescuer")
	config.ClaimIdle = time.Millisecond
	rescuer := env.Drainer(config)
	backofficetest.WaitFor(t, drainWait, "the entry reclaimed", func() (bool, error) {
		if err := rescuer.Reclaim(context.Background()); err != nil {
			return false, err
		}
		return env.Pending(t) == 0, nil
	})
	if letters := len(env.DeadLetters(t)); letters != 1 {
		t.Errorf("after the reclaim, %d dead letters, want 1", letters)
	}
}
