package throttle_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/throttle"
)

const registrationRoute = "POST /api/v1/registrations"

func checkRejected(t *testing.T, decision throttle.Decision, scope string, retryAfter time.Duration) {
	t.Helper()
	if decision.Allowed {
		t.Fatalf("decision = %+v, want a rejection of scope %s", decision, scope)
	}
	if decision.Scope != scope {
		t.Errorf("scope = %q, want %q", decision.Scope, scope)
	}
	if decision.RetryAfter != retryAfter {
		t.Errorf("RetryAfter = %s, want %s", decision.RetryAfter, retryAfter)
	}
}

func TestRouteBucket(t *testing.T) {
	th := throttle.New(parse(t, limitsText(nil)))

	for i := range 2 {
		if decision := th.Route(registrationRoute); !decision.Allowed {
			t.Fatalf("request %d of a burst of 2 was rejected: %+v", i+1, decision)
		}
	}
	// The route's rate is 0.01 per second: one token every 100 seconds.
	checkRejected(t, th.Route(registrationRoute), throttle.ScopeRoute, 100*time.Second)

	if decision := th.Route("GET /api/v1/catalogue"); !decision.Allowed {
		t.Errorf("a route under the default bucket was rejected: %+v", decision)
	}
}

func TestRouteDefaultPerRoute(t *testing.T) {
	th := throttle.New(parse(t, limitsText(map[string]string{"routes": "default = { rate = 0.001, burst = 1 }\n"})))

	if decision := th.Route("GET /a"); !decision.Allowed {
		t.Fatalf("first request of GET /a was rejected: %+v", decision)
	}
	checkRejected(t, th.Route("GET /a"), throttle.ScopeRoute, 1000*time.Second)
	if decision := th.Route("GET /b"); !decision.Allowed {
		t.Errorf("GET /b shares the bucket of GET /a: %+v", decision)
	}
}

func TestEntryBucket(t *testing.T) {
	th := throttle.New(parse(t, limitsText(nil)))

	if decision := th.Entry("registration"); !decision.Allowed {
		t.Fatalf("first registration was rejected: %+v", decision)
	}
	// The registration entry's rate is 0.5 per second.
	checkRejected(t, th.Entry("registration"), throttle.ScopeEntry, 2*time.Second)

	for i := range 10 {
		if decision := th.Entry("1234"); !decision.Allowed {
			t.Fatalf("request %d of entry 1234 within the default burst of 10 was rejected: %+v", i+1, decision)
		}
	}
	if decision := th.Entry("1234"); decision.Allowed || decision.Scope != throttle.ScopeEntry {
		t.Errorf("request 11 of entry 1234 = %+v, want an entry rejection", decision)
	}
}

func TestClientBucket(t *testing.T) {
	th := throttle.New(parse(t, limitsText(nil)))

	for i := range 3 {
		if decision := th.Client("s:parent-1"); !decision.Allowed {
			t.Fatalf("request %d of a burst of 3 was rejected: %+v", i+1, decision)
		}
	}
	// The client rate is 0.25 per second.
	checkRejected(t, th.Client("s:parent-1"), throttle.ScopeClient, 4*time.Second)

	if decision := th.Client("s:parent-2"); !decision.Allowed {
		t.Errorf("another client was rejected: %+v", decision)
	}
	if got := th.TrackedClients(); got != 2 {
		t.Errorf("TrackedClients() = %d, want 2", got)
	}
}

func TestRetryAfterAtLeastOneSecond(t *testing.T) {
	tests := []struct {
		rate string
		want time.Duration
	}{
		{"1000", time.Second},
		{"2", time.Second},
		{"1", time.Second},
		{"0.3", 4 * time.Second},
	}
	for _, test := range tests {
		t.Run("rate "+test.rate, func(t *testing.T) {
			bucket := "{ rate = " + test.rate + ", burst = 1 }"
			th := throttle.New(parse(t, limitsText(map[string]string{
				"routes":  "default = " + bucket + "\n",
				"entries": "default = " + bucket + "\n",
				"clients": "rate = " + test.rate + "\nburst = 1\nmax_tracked = 1000\nidle_ttl = \"1m\"\n",
			})))
			checks := []struct {
				scope string
				take  func() throttle.Decision
			}{
				{throttle.ScopeRoute, func() throttle.Decision { return th.Route("GET /") }},
				{throttle.ScopeEntry, func() throttle.Decision { return th.Entry("1") }},
				{throttle.ScopeClient, func() throttle.Decision { return th.Client("a:127.0.0.1") }},
			}
			for _, check := range checks {
				// A fast bucket refills between two calls, so take tokens
				// until one is refused.
				var decision throttle.Decision
				for range 1000 {
					if decision = check.take(); !decision.Allowed {
						break
					}
				}
				if decision.Allowed {
					t.Logf("%s: the bucket never ran dry", check.scope)
					continue
				}
				if decision.RetryAfter != test.want {
					t.Errorf("%s: RetryAfter = %s, want %s", check.scope, decision.RetryAfter, test.want)
				}
			}
		})
	}
}

func TestShed(t *testing.T) {
	th := throttle.New(parse(t, limitsText(nil)))

	if decision := th.Shed(); !decision.Allowed {
		t.Errorf("empty backlog: %+v, want allowed", decision)
	}
	th.SetBacklog(100)
	if decision := th.Shed(); !decision.Allowed {
		t.Errorf("backlog at the limit of 100: %+v, want allowed", decision)
	}
	th.SetBacklog(101)
	checkRejected(t, th.Shed(), throttle.ScopeShed, 7*time.Second)
	if got := th.Backlog(); got != 101 {
		t.Errorf("Backlog() = %d, want 101", got)
	}
	th.SetBacklog(3)
	if decision := th.Shed(); !decision.Allowed {
		t.Errorf("backlog back to 3: %+v, want allowed", decision)
	}
}

// slowLimits returns a limits file whose buckets refill so slowly that no
// token comes back while a test runs.
func slowLimits(replacements map[string]string) string {
	tables := map[string]string{
		"routes":   "default = { rate = 0.001, burst = 1 }\n\"POST /api/v1/registrations\" = { rate = 0.001, burst = 2 }\n",
		"entries":  "default = { rate = 0.001, burst = 1 }\nregistration = { rate = 0.001, burst = 1 }\n",
		"clients":  "rate = 0.001\nburst = 1\nmax_tracked = 1000\nidle_ttl = \"10m\"\n",
		"shedding": "max_backlog = 100\nretry_after = \"7s\"\n",
	}
	for name, body := range replacements {
		tables[name] = body
	}
	return limitsText(tables) +
		"[anonymous]\nrate = 0.001\nburst = 1\nmax_tracked = 1000\nidle_ttl = \"10m\"\n" +
		"[prefill]\nrate = 0.001\nburst = 1\nmax_tracked = 1000\nidle_ttl = \"10m\"\n"
}

// bucketChecks returns, by bucket kind, functions that take a token from
// one bucket of that kind.
func bucketChecks(th *throttle.Throttle) map[string]func() throttle.Decision {
	return map[string]func() throttle.Decision{
		"named route":   func() throttle.Decision { return th.Route(registrationRoute) },
		"default route": func() throttle.Decision { return th.Route("GET /api/v1/catalogue") },
		"named entry":   func() throttle.Decision { return th.Entry("registration") },
		"default entry": func() throttle.Decision { return th.Entry("1234") },
		"client":        func() throttle.Decision { return th.Client("s:parent") },
		"anonymous":     func() throttle.Decision { return th.Anonymous("203.0.113.7") },
		"prefill":       func() throttle.Decision { return th.Prefill("s:parent") },
	}
}

// drainBuckets takes every token of each bucket in checks.
func drainBuckets(t *testing.T, checks map[string]func() throttle.Decision) {
	t.Helper()
	for name, take := range checks {
		for range 100 {
			if !take().Allowed {
				break
			}
		}
		if take().Allowed {
			t.Fatalf("%s: the bucket did not stay empty", name)
		}
	}
}

func TestApplyKeepsUnchangedBuckets(t *testing.T) {
	th := throttle.New(parse(t, slowLimits(nil)))
	checks := bucketChecks(th)
	drainBuckets(t, checks)

	// Only the shedding table changes, so every bucket keeps its tokens.
	changed := parse(t, slowLimits(map[string]string{"shedding": "max_backlog = 5\nretry_after = \"3s\"\n"}))
	th.Apply(changed)

	if th.Limits() != changed {
		t.Error("Limits() does not return the applied limits")
	}
	for name, take := range checks {
		if decision := take(); decision.Allowed {
			t.Errorf("%s: an empty bucket whose limits did not change was refilled by Apply", name)
		}
	}
	if got := th.TrackedClients(); got != 3 {
		t.Errorf("TrackedClients() after Apply = %d, want the 3 clients seen before", got)
	}
}

func TestApplyRefillsChangedBuckets(t *testing.T) {
	th := throttle.New(parse(t, slowLimits(nil)))
	checks := bucketChecks(th)
	drainBuckets(t, checks)

	// The named route, the default entry and the signed-in parents' bucket
	// change burst; the rest stays.
	th.Apply(parse(t, slowLimits(map[string]string{
		"routes":  "default = { rate = 0.001, burst = 1 }\n\"POST /api/v1/registrations\" = { rate = 0.001, burst = 3 }\n",
		"entries": "default = { rate = 0.001, burst = 2 }\nregistration = { rate = 0.001, burst = 1 }\n",
		"clients": "rate = 0.001\nburst = 2\nmax_tracked = 1000\nidle_ttl = \"10m\"\n",
	})))

	for _, name := range []string{"named route", "default entry", "client"} {
		if decision := checks[name](); !decision.Allowed {
			t.Errorf("%s: the bucket whose burst changed did not start full: %+v", name, decision)
		}
	}
	for _, name := range []string{"default route", "named entry", "anonymous", "prefill"} {
		if decision := checks[name](); decision.Allowed {
			t.Errorf("%s: an empty bucket whose limits did not change was refilled by Apply", name)
		}
	}
}

// TestApplyTrimsClientsToMaxTracked lowers max_tracked of a full table:
// the clients beyond the new cap are forgotten, the others kept.
func TestApplyTrimsClientsToMaxTracked(t *testing.T) {
	th := throttle.New(parse(t, slowLimits(map[string]string{
		"clients": "rate = 0.001\nburst = 1\nmax_tracked = 5000\nidle_ttl = \"10m\"\n",
	})))
	for i := range 5000 {
		th.Client("a:" + strconv.Itoa(i))
	}
	if got := th.TrackedClients(); got < 4000 {
		t.Fatalf("TrackedClients() = %d after 5000 clients, want the table nearly full", got)
	}

	th.Apply(parse(t, slowLimits(nil)))

	tracked := th.TrackedClients()
	if tracked > 1000 {
		t.Errorf("TrackedClients() after lowering max_tracked = %d, want at most 1000", tracked)
	}
	if tracked < 900 {
		t.Errorf("TrackedClients() after lowering max_tracked = %d, want the table nearly full", tracked)
	}
	for i := range 5000 {
		th.Client("b:" + strconv.Itoa(i))
	}
	if got := th.TrackedClients(); got > 1000 {
		t.Errorf("TrackedClients() after 5000 more clients = %d, want at most 1000", got)
	}
}

// TestClientTableBounded sends a million distinct clients through a table
// that tracks at most 1,000.
func TestClientTableBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a million clients take a few seconds")
	}
	th := throttle.New(parse(t, limitsText(nil)))
	const clients = 1_000_000
	for i := range clients {
		th.Client("a:" + strconv.Itoa(i))
	}

	tracked := th.TrackedClients()
	if tracked > 1000 {
		t.Errorf("TrackedClients() = %d after %d clients, want at most max_tracked 1000", tracked, clients)
	}
	if tracked < 900 {
		t.Errorf("TrackedClients() = %d after %d clients, want the table nearly full", tracked, clients)
	}
	if decision := th.Client("a:" + strconv.Itoa(clients-1)); !decision.Allowed {
		t.Errorf("the latest client, seen once with a burst of 3, was rejected: %+v", decision)
	}
}

func TestSweepIdle(t *testing.T) {
	th := throttle.New(parse(t, limitsText(nil)))
	for i := range 100 {
		th.Client("a:" + strconv.Itoa(i))
	}

	th.SweepIdle(time.Now())
	if got := th.TrackedClients(); got != 100 {
		t.Errorf("TrackedClients() after sweeping clients just seen = %d, want 100", got)
	}
	th.SweepIdle(time.Now().Add(9 * time.Minute))
	if got := th.TrackedClients(); got != 100 {
		t.Errorf("TrackedClients() after 9 of the 10 idle minutes = %d, want 100", got)
	}
	th.SweepIdle(time.Now().Add(10*time.Minute + time.Second))
	if got := th.TrackedClients(); got != 0 {
		t.Errorf("TrackedClients() after the idle TTL = %d, want 0", got)
	}
}

// TestConcurrentUse runs every check and Apply from many goroutines; run it
// with -race. A bucket of burst 3 must not hand out more than 3 tokens
// however the calls interleave.
func TestConcurrentUse(t *testing.T) {
	text := limitsText(map[string]string{
		"clients": "rate = 0.001\nburst = 3\nmax_tracked = 100000\nidle_ttl = \"10m\"\n",
	})
	th := throttle.New(parse(t, text))
	// The same limits again, which must not refill a bucket.
	same := parse(t, text)
	var clientAllowed, routeAllowed atomic.Int64
	var wait sync.WaitGroup
	for worker := range 32 {
		wait.Go(func() {
			for i := range 200 {
				if th.Client("s:shared").Allowed {
					clientAllowed.Add(1)
				}
				if th.Route(registrationRoute).Allowed {
					routeAllowed.Add(1)
				}
				th.Client("a:" + strconv.Itoa(worker*1000+i))
				th.Entry(strconv.Itoa(i % 5))
				th.Shed()
				th.SetBacklog(int64(i))
			}
		})
	}
	wait.Add(1)
	go func() {
		defer wait.Done()
		for range 20 {
			th.SweepIdle(time.Now())
			th.TrackedClients()
			th.Apply(same)
		}
	}()
	wait.Wait()

	if got := clientAllowed.Load(); got != 3 {
		t.Errorf("one client got %d tokens, want its burst of 3 (rate 0.001/s)", got)
	}
	if got := routeAllowed.Load(); got != 2 {
		t.Errorf("the route handed out %d tokens, want its burst of 2 (rate 0.01/s)", got)
	}
}

func TestAnonymousBucketSeparate(t *testing.T) {
	text := limitsText(nil) + "[anonymous]\nrate = 0.5\nburst = 2\nmax_tracked = 1000\nidle_ttl = \"10m\"\n"
	th := throttle.New(parse(t, text))

	for i := range 2 {
		if decision := th.Anonymous("203.0.113.7"); !decision.Allowed {
			t.Fatalf("request %d of a burst of 2 was rejected: %+v", i+1, decision)
		}
	}
	checkRejected(t, th.Anonymous("203.0.113.7"), throttle.ScopeClient, 2*time.Second)

	// The same text as a parent's key is another bucket.
	if decision := th.Client("203.0.113.7"); !decision.Allowed {
		t.Errorf("a signed-in parent shared the address's bucket: %+v", decision)
	}
}

func TestAnonymousDefaultsToClients(t *testing.T) {
	limits := parse(t, limitsText(nil))
	if limits.Anonymous != limits.Clients {
		t.Errorf("Anonymous = %+v, want the [clients] values %+v when the table is missing", limits.Anonymous, limits.Clients)
	}
}
