package drain_test

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
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

func TestRaiseSequencesAfterRedisLostCounters(t *testing.T) {
	env := backofficetest.New(t)
	first := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))
	last := env.Register(t, backofficetest.Subject(2), env.ShanghaiChild(t, 2, xuhui, xuhui))
	application := env.Apply(t, backofficetest.Subject(1), first, xuhui)
	drainer := env.Drainer(backofficetest.DrainConfig("drainer-1"))
	running := backofficetest.Start(t, drainer)
	env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM application WHERE application_number = $1`, application)
	env.WaitForDrained(t, drainWait)
	running.Stop(t)

	registrations, applications := loseCounters(t, env)
	raised, err := drainer.RaiseSequences(context.Background())
	if err != nil {
		t.Fatalf("RaiseSequences: %v", err)
	}
	if raised != 2 {
		t.Errorf("RaiseSequences raised %d counters, want 2", raised)
	}
	if got, want := counter(t, env, registrations), enrol.NumberSequence(last); got != want {
		t.Errorf("registration counter = %d, want %d, the sequence of %s", got, want, last)
	}
	if got, want := counter(t, env, applications), enrol.NumberSequence(application); got != want {
		t.Errorf("application counter = %d, want %d, the sequence of %s", got, want, application)
	}

	// A counter ahead of the database, the normal case, stays where it is.
	if err := env.Do(env.Redis.Client.B().Set().Key(registrations).Value("1000").Build()).Error(); err != nil {
		t.Fatalf("SET counter: %v", err)
	}
	if raised, err := drainer.RaiseSequences(context.Background()); err != nil || raised != 0 {
		t.Errorf("RaiseSequences with counters ahead = %d, %v; want 0, nil", raised, err)
	}
	if got := counter(t, env, registrations); got != 1000 {
		t.Errorf("registration counter = %d after a check, want it left at 1000", got)
	}
}

// TestTakenNumberIsNotLost: after Redis lost its counter, the edge hands a
// stored number to another child, whose family also applies with it before
// the drainer runs. The drainer must neither count either submission as
// stored nor touch the first record: it keeps both in the dead-letter
// stream, asks the family to submit again, and the new submissions get new
// numbers.
func TestTakenNumberIsNotLost(t *testing.T) {
	env := backofficetest.New(t)
	first := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))
	running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("drainer-1")))
	env.WaitForRows(t, drainWait, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, first)
	env.WaitForDrained(t, drainWait)
	running.Stop(t)
	firstChild := env.RegistrationOf(t, first).ChildIndex

	loseCounters(t, env)
	subject := backofficetest.Subject(3)
	request := env.ShanghaiChild(t, 3, xuhui, xuhui)
	if again := env.Register(t, subject, request); again != first {
		t.Fatalf("with the counter lost, the edge handed out %s, want the stored %s again", again, first)
	}
	application := env.Apply(t, subject, first, xuhui)
	// Delete the counter again: the drainer that starts now would raise it
	// before reading the entry, which the test wants to reach the database.
	loseCounters(t, env)
	drainer := env.Drainer(backofficetest.DrainConfig("drainer-1"))
	running = backofficetest.Start(t, drainer)
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
	letter := env.DeadLetters(t)[0].FieldValues
	if letter["number"] != first || letter["body"] == "" || !strings.Contains(letter["reason"], "another child") {
		t.Errorf("dead letter = number %q, reason %q, body of %d bytes; want %s, a reason naming another child, and the record",
			letter["number"], letter["reason"], len(letter["body"]), first)
	}
	receipt := env.Receipt(t, first)
	if receipt[enrol.FieldStatus] != enrol.StatusFailed || !strings.Contains(receipt[enrol.FieldNote], "请重新提交登记") {
		t.Errorf("receipt %s = status %q, note %q; want failed, asking for a new submission", first, receipt[enrol.FieldStatus], receipt[enrol.FieldNote])
	}
	if rows := env.Count(t, `SELECT count(*) FROM application`); rows != 0 {
		t.Errorf("application rows = %d, want 0: the application names another child's registration", rows)
	}
	if letter := env.DeadLetters(t)[1].FieldValues; letter["number"] != application || letter["body"] == "" {
		t.Errorf("second dead letter = number %q, body of %d bytes; want %s and its record", letter["number"], len(letter["body"]), application)
	}
	receipt = env.Receipt(t, application)
	if receipt[enrol.FieldStatus] != enrol.StatusFailed || !strings.Contains(receipt[enrol.FieldNote], "重新提交登记后再报名") {
		t.Errorf("receipt %s = status %q, note %q; want failed, asking to register again first", application, receipt[enrol.FieldStatus], receipt[enrol.FieldNote])
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
