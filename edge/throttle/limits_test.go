package throttle_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/throttle"
)

// limitsText returns a valid limits file with the given tables replaced.
// Each argument is a whole table, such as "[clients]\nrate = 1 ...".
func limitsText(replacements map[string]string) string {
	tables := []struct{ name, body string }{
		{"routes", "default = { rate = 100, burst = 10 }\n\"POST /api/v1/registrations\" = { rate = 0.01, burst = 2 }\n"},
		{"entries", "default = { rate = 100, burst = 10 }\nregistration = { rate = 0.5, burst = 1 }\n"},
		{"clients", "rate = 0.25\nburst = 3\nmax_tracked = 1000\nidle_ttl = \"10m\"\n"},
		{"shedding", "max_backlog = 100\nretry_after = \"7s\"\n"},
	}
	var b strings.Builder
	for _, table := range tables {
		body := table.body
		if replacement, ok := replacements[table.name]; ok {
			body = replacement
		}
		b.WriteString("[" + table.name + "]\n" + body + "\n")
	}
	return b.String()
}

// testRoutes are the route names that the tests' limits files may use.
var testRoutes = []string{"GET /api/v1/catalogue", "POST /api/v1/applications", registrationRoute}

func parse(t *testing.T, text string) *throttle.Limits {
	t.Helper()
	limits, err := throttle.ParseLimits([]byte(text), testRoutes)
	if err != nil {
		t.Fatalf("ParseLimits returned %v for\n%s", err, text)
	}
	return limits
}

// TestParseLimitsDeployFile checks the values read from deploy/limits.toml.
// TestStartDeployLimits in edge/server checks its route names against the
// edge's routes.
func TestParseLimitsDeployFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "limits.toml"))
	if err != nil {
		t.Fatal(err)
	}
	deployRoutes := []string{
		"POST /api/v1/registrations", "POST /api/v1/applications", "POST /api/v1/prefill/certificates",
		"POST /api/v1/uploads", "POST /api/v1/feedback", "POST /api/v1/page-views",
	}
	limits, err := throttle.ParseLimits(data, deployRoutes)
	if err != nil {
		t.Fatalf("ParseLimits(deploy/limits.toml) returned %v", err)
	}
	if got := limits.Routes["POST /api/v1/registrations"]; got.Rate != 30000 || got.Burst != 10000 {
		t.Errorf("registrations route = %+v, want rate 30000 burst 10000", got)
	}
	if limits.Clients.MaxTracked != 200000 {
		t.Errorf("max_tracked = %d, want 200000", limits.Clients.MaxTracked)
	}
	if limits.Clients.IdleTTL.Duration != 10*time.Minute {
		t.Errorf("idle_ttl = %s, want 10m", limits.Clients.IdleTTL.Duration)
	}
	if limits.Shedding.RetryAfter.Duration != 5*time.Second {
		t.Errorf("retry_after = %s, want 5s", limits.Shedding.RetryAfter.Duration)
	}
}

func TestParseLimitsInvalid(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string // a part of the error message that names the problem
	}{
		{"not TOML", "[routes\ndefault = 1", "parse limits"},
		{"unknown key", limitsText(map[string]string{"shedding": "max_backlog = 100\nretry_after = \"7s\"\nmax_backlogg = 5\n"}), "unknown key"},
		{"unknown table", limitsText(nil) + "[queues]\nsize = 1\n", "unknown key"},
		{"rate as text", limitsText(map[string]string{"routes": "default = { rate = \"fast\", burst = 10 }\n"}), "parse limits"},
		{"no default route", limitsText(map[string]string{"routes": "\"GET /x\" = { rate = 1, burst = 1 }\n"}), "[routes] needs a default"},
		{"no default entry", limitsText(map[string]string{"entries": "registration = { rate = 1, burst = 1 }\n"}), "[entries] needs a default"},
		{"zero route rate", limitsText(map[string]string{"routes": "default = { rate = 0, burst = 10 }\n"}), "routes.default.rate is 0"},
		{"negative entry rate", limitsText(map[string]string{"entries": "default = { rate = -1, burst = 10 }\n"}), "entries.default.rate is -1"},
		{"zero burst", limitsText(map[string]string{"routes": "default = { rate = 1, burst = 0 }\n"}), "routes.default.burst is 0"},
		{"zero client rate", limitsText(map[string]string{"clients": "rate = 0\nburst = 3\nmax_tracked = 1000\nidle_ttl = \"10m\"\n"}), "clients.rate is 0"},
		{"small max_tracked", limitsText(map[string]string{"clients": "rate = 1\nburst = 3\nmax_tracked = 999\nidle_ttl = \"10m\"\n"}), "clients.max_tracked is 999"},
		{"missing idle_ttl", limitsText(map[string]string{"clients": "rate = 1\nburst = 3\nmax_tracked = 1000\n"}), "clients.idle_ttl is 0s"},
		{"idle_ttl not a duration", limitsText(map[string]string{"clients": "rate = 1\nburst = 3\nmax_tracked = 1000\nidle_ttl = \"ten minutes\"\n"}), "use a form such as 5s or 10m"},
		{"zero backlog", limitsText(map[string]string{"shedding": "max_backlog = 0\nretry_after = \"7s\"\n"}), "shedding.max_backlog is 0"},
		{"retry_after below a second", limitsText(map[string]string{"shedding": "max_backlog = 1\nretry_after = \"500ms\"\n"}), "shedding.retry_after is 500ms"},
		{"empty file", "", "[routes] needs a default"},
		{"misspelt route", limitsText(map[string]string{"routes": "default = { rate = 1, burst = 1 }\n\"POST /api/v1/registrationz\" = { rate = 1, burst = 1 }\n"}), `unknown route "POST /api/v1/registrationz"`},
		{"route without method", limitsText(map[string]string{"routes": "default = { rate = 1, burst = 1 }\n\"/api/v1/registrations\" = { rate = 1, burst = 1 }\n"}), `unknown route "/api/v1/registrations"`},
		{"misspelt entry", limitsText(map[string]string{"entries": "default = { rate = 1, burst = 1 }\nregistraton = { rate = 1, burst = 1 }\n"}), `invalid key "registraton"`},
		{"entry ID with leading zero", limitsText(map[string]string{"entries": "default = { rate = 1, burst = 1 }\n\"01234\" = { rate = 1, burst = 1 }\n"}), `invalid key "01234"`},
		{"entry ID with plus sign", limitsText(map[string]string{"entries": "default = { rate = 1, burst = 1 }\n\"+1234\" = { rate = 1, burst = 1 }\n"}), `invalid key "+1234"`},
		{"entry ID beyond int64", limitsText(map[string]string{"entries": "default = { rate = 1, burst = 1 }\n\"9223372036854775808\" = { rate = 1, burst = 1 }\n"}), `invalid key "9223372036854775808"`},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			limits, err := throttle.ParseLimits([]byte(test.text), testRoutes)
			if err == nil {
				t.Fatalf("ParseLimits accepted %+v", limits)
			}
			if !strings.Contains(err.Error(), test.want) {
				t.Errorf("error %q does not contain %q", err, test.want)
			}
			if !strings.HasPrefix(err.Error(), "parse limits: ") {
				t.Errorf("error %q does not start with \"parse limits: \"", err)
			}
		})
	}
}

func TestParseLimitsUnknownRoutes(t *testing.T) {
	text := limitsText(map[string]string{"routes": "default = { rate = 1, burst = 1 }\n" +
		"\"POST /api/v1/registrationz\" = { rate = 1, burst = 1 }\n" +
		"\"GET /api/v1/catalog\" = { rate = 1, burst = 1 }\n" +
		"\"POST /api/v1/applications\" = { rate = 1, burst = 1 }\n"})

	_, err := throttle.ParseLimits([]byte(text), testRoutes)

	if err == nil {
		t.Fatal("ParseLimits accepted two unknown routes")
	}
	message := err.Error()
	if !strings.Contains(message, `unknown route "GET /api/v1/catalog", "POST /api/v1/registrationz"`) {
		t.Errorf("error %q does not name both unknown routes", message)
	}
	for _, known := range testRoutes {
		if !strings.Contains(message, strconv.Quote(known)) {
			t.Errorf("error %q does not list the known route %q", message, known)
		}
	}
}

func TestParseLimitsEntryKeys(t *testing.T) {
	text := limitsText(map[string]string{"entries": "default = { rate = 1, burst = 1 }\n" +
		"registration = { rate = 1, burst = 1 }\n" +
		"\"1234\" = { rate = 2, burst = 1 }\n" +
		"\"9223372036854775807\" = { rate = 3, burst = 1 }\n"})

	limits := parse(t, text)

	if got := limits.Entries["1234"].Rate; got != 2 {
		t.Errorf("rate of entry 1234 = %g, want 2", got)
	}
	if got := limits.Entries["9223372036854775807"].Rate; got != 3 {
		t.Errorf("rate of the largest int64 entry ID = %g, want 3", got)
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := throttle.LoadFile(filepath.Join(t.TempDir(), "missing.toml"), testRoutes)
	if !os.IsNotExist(err) {
		t.Errorf("LoadFile of a missing file returned %v, want a not-exist error", err)
	}
}

// waitFor polls condition until it holds or ten seconds pass.
func waitFor(t *testing.T, what string, condition func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// reload is one result that WatchFile reported to onReload.
type reload struct {
	result string
	err    error
}

// nextReload returns the error of the next reload whose result is want,
// skipping the others. It gives up after ten seconds.
func nextReload(t *testing.T, reloads <-chan reload, want string) error {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-reloads:
			if got.result == want {
				return got.err
			}
		case <-deadline:
			t.Fatalf("gave up waiting for a reload with result %q", want)
		}
	}
}

// replaceFile replaces the file at path with one holding data, by renaming,
// so that a watcher never reads it half written.
func replaceFile(t *testing.T, path string, data string) {
	t.Helper()
	temporary := path + ".new"
	if err := os.WriteFile(temporary, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(temporary, path); err != nil {
		t.Fatal(err)
	}
}

// startWatch writes text to a limits file, starts a Throttle from it and
// watches the file until the test ends. It returns the file's path, the
// Throttle and the results reported to onReload.
func startWatch(t *testing.T, text string) (string, *throttle.Throttle, <-chan reload) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "limits.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	limits, err := throttle.LoadFile(path, testRoutes)
	if err != nil {
		t.Fatal(err)
	}
	th := throttle.New(limits)
	reloads := make(chan reload, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		throttle.WatchFile(ctx, path, testRoutes, th, 5*time.Millisecond, func(result string, err error) {
			reloads <- reload{result, err}
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})
	return path, th, reloads
}

func TestWatchFile(t *testing.T) {
	path, th, reloads := startWatch(t, limitsText(nil))

	// WatchFile compares with the file as it was when it started, which may
	// be after a first write, so the change is written with a growing
	// comment until a reload is seen.
	changed := limitsText(map[string]string{"shedding": "max_backlog = 12345\nretry_after = \"9s\"\n"})
	writes := 0
	waitFor(t, "the valid change to be applied", func() bool {
		writes++
		replaceFile(t, path, changed+strings.Repeat("#", writes)+"\n")
		time.Sleep(20 * time.Millisecond)
		return th.Limits().Shedding.MaxBacklog == 12345
	})
	if got := th.Limits().Shedding.RetryAfter.Duration; got != 9*time.Second {
		t.Errorf("retry_after after a valid change = %s, want 9s", got)
	}

	replaceFile(t, path, limitsText(map[string]string{"routes": "default = { rate = 0, burst = 1 }\n"}))
	reloadErr := nextReload(t, reloads, throttle.ReloadRejected)
	if reloadErr == nil || !strings.Contains(reloadErr.Error(), "routes.default.rate is 0") {
		t.Errorf("reload error %v does not name the invalid rate", reloadErr)
	}
	if got := th.Limits().Shedding.MaxBacklog; got != 12345 {
		t.Errorf("max_backlog after an invalid change = %d, want the previous 12345", got)
	}
	if got := th.Limits().Routes["default"].Rate; got != 100 {
		t.Errorf("default route rate after an invalid change = %g, want the previous 100", got)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := nextReload(t, reloads, throttle.ReloadRejected); !os.IsNotExist(err) {
		t.Errorf("reload error after the file was removed = %v, want a not-exist error", err)
	}
	if got := th.Limits().Shedding.MaxBacklog; got != 12345 {
		t.Errorf("max_backlog after the file was removed = %d, want the previous 12345", got)
	}
}

// TestWatchFileUnchangedContent touches the limits file without changing
// it: nothing is applied, and an empty bucket stays empty.
func TestWatchFileUnchangedContent(t *testing.T) {
	text := slowLimits(nil)
	path, th, reloads := startWatch(t, text)
	inForce := th.Limits()
	drainBuckets(t, map[string]func() throttle.Decision{
		"client": func() throttle.Decision { return th.Client("s:parent") },
	})

	// As in TestWatchFile, the modification time moves on until the
	// watcher, which may have started after the first change, detects one.
	start := time.Now()
	touches := 0
	waitFor(t, "the touched file to be read again", func() bool {
		touches++
		modified := start.Add(time.Duration(touches) * time.Second)
		if err := os.Chtimes(path, modified, modified); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		return len(reloads) > 0
	})
	if err := nextReload(t, reloads, throttle.ReloadUnchanged); err != nil {
		t.Errorf("unchanged reload reported error %v", err)
	}
	for len(reloads) > 0 {
		if got := <-reloads; got.result != throttle.ReloadUnchanged {
			t.Errorf("touching the file reported %q (%v), want only %q", got.result, got.err, throttle.ReloadUnchanged)
		}
	}
	if th.Limits() != inForce {
		t.Error("the touched file was applied again")
	}
	if decision := th.Client("s:parent"); decision.Allowed {
		t.Error("touching the limits file refilled an empty client bucket")
	}

	// A new comment changes the bytes but no limit: the file is applied,
	// and the bucket stays empty all the same.
	replaceFile(t, path, text+"# reviewed\n")
	if err := nextReload(t, reloads, throttle.ReloadApplied); err != nil {
		t.Errorf("applied reload reported error %v", err)
	}
	if th.Limits() == inForce {
		t.Error("Limits() after a changed file still returns the previous limits")
	}
	if decision := th.Client("s:parent"); decision.Allowed {
		t.Error("a change of comments only refilled an empty client bucket")
	}
}
