package throttle

import (
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Scopes name what turned a request away, for metrics and logs.
const (
	ScopeRoute  = "route"
	ScopeEntry  = "entry"
	ScopeClient = "client"
	ScopeShed   = "shed"
)

// Decision is the outcome of a check. RetryAfter is set when Allowed is
// false.
type Decision struct {
	Allowed    bool
	Scope      string
	RetryAfter time.Duration
}

var allowed = Decision{Allowed: true}

// Throttle applies Limits. It is safe for concurrent use.
type Throttle struct {
	state   atomic.Pointer[state]
	backlog atomic.Int64
}

type state struct {
	limits    *Limits
	routes    sync.Map // route name → *rate.Limiter
	entries   sync.Map // entry key → *rate.Limiter
	clients   *clientTable
	anonymous *clientTable
	prefill   *clientTable
}

// New returns a Throttle applying limits.
func New(limits *Limits) *Throttle {
	t := &Throttle{}
	t.Apply(limits)
	return t
}

// Apply replaces the limits. Buckets start full again.
func (t *Throttle) Apply(limits *Limits) {
	t.state.Store(&state{
		limits:    limits,
		clients:   newClientTable(limits.Clients),
		anonymous: newClientTable(limits.Anonymous),
		prefill:   newClientTable(limits.Prefill),
	})
}

// Limits returns the limits in force.
func (t *Throttle) Limits() *Limits { return t.state.Load().limits }

// Route takes a token from the bucket of a route.
func (t *Throttle) Route(name string) Decision {
	s := t.state.Load()
	return take(&s.routes, name, s.limits.Routes, ScopeRoute)
}

// Entry takes a token from the bucket of an entry. Callers pass only keys
// of known entries, so the map stays bounded.
func (t *Throttle) Entry(key string) Decision {
	s := t.state.Load()
	return take(&s.entries, key, s.limits.Entries, ScopeEntry)
}

func take(limiters *sync.Map, key string, buckets map[string]Bucket, scope string) Decision {
	value, ok := limiters.Load(key)
	if !ok {
		bucket, named := buckets[key]
		if !named {
			bucket = buckets["default"]
		}
		value, _ = limiters.LoadOrStore(key, rate.NewLimiter(rate.Limit(bucket.Rate), bucket.Burst))
	}
	limiter := value.(*rate.Limiter)
	if limiter.Allow() {
		return allowed
	}
	return Decision{Scope: scope, RetryAfter: retryAfter(float64(limiter.Limit()))}
}

// Client takes a token from the bucket of one signed-in parent.
func (t *Throttle) Client(key string) Decision {
	s := t.state.Load()
	if s.clients.allow(key, time.Now()) {
		return allowed
	}
	return Decision{Scope: ScopeClient, RetryAfter: retryAfter(s.limits.Clients.Rate)}
}

// Anonymous takes a token from the bucket of one IP address, for requests
// made before sign-in.
func (t *Throttle) Anonymous(address string) Decision {
	s := t.state.Load()
	if s.anonymous.allow(address, time.Now()) {
		return allowed
	}
	return Decision{Scope: ScopeClient, RetryAfter: retryAfter(s.limits.Anonymous.Rate)}
}

// SetBacklog records the current stream backlog, which Shed compares with
// the limit.
func (t *Throttle) SetBacklog(entries int64) { t.backlog.Store(entries) }

// Backlog returns the last recorded stream backlog.
func (t *Throttle) Backlog() int64 { return t.backlog.Load() }

// Shed turns a submission away while the backlog exceeds the limit.
func (t *Throttle) Shed() Decision {
	shedding := t.state.Load().limits.Shedding
	if t.backlog.Load() <= shedding.MaxBacklog {
		return allowed
	}
	return Decision{Scope: ScopeShed, RetryAfter: shedding.RetryAfter.Duration}
}

// Prefill takes a token from a signed-in parent's certificate look-up
// bucket.
func (t *Throttle) Prefill(subject string) Decision {
	s := t.state.Load()
	if s.prefill.allow(subject, time.Now()) {
		return allowed
	}
	return Decision{Scope: ScopeClient, RetryAfter: retryAfter(s.limits.Prefill.Rate)}
}

// TrackedClients returns how many client buckets are held, signed-in and
// anonymous.
func (t *Throttle) TrackedClients() int {
	s := t.state.Load()
	return s.clients.size() + s.anonymous.size() + s.prefill.size()
}

// SweepIdle forgets clients idle for longer than the limits' IdleTTL.
func (t *Throttle) SweepIdle(now time.Time) {
	s := t.state.Load()
	s.clients.sweep(now)
	s.anonymous.sweep(now)
	s.prefill.sweep(now)
}

// retryAfter is the time to wait for one token at rate per second, at least
// one second since Retry-After counts whole seconds.
func retryAfter(perSecond float64) time.Duration {
	if perSecond <= 0 {
		return time.Minute
	}
	seconds := math.Ceil(1 / perSecond)
	return time.Duration(math.Max(seconds, 1)) * time.Second
}

// clientTable holds one token bucket per client in shards, each capped at
// an equal share of MaxTracked.
type clientTable struct {
	limits      ClientLimits
	seed        maphash.Seed
	shards      [clientShards]clientShard
	maxPerShard int
}

const clientShards = 64

type clientShard struct {
	mutex   sync.Mutex
	clients map[string]*clientBucket
}

type clientBucket struct {
	limiter  *rate.Limiter
	lastSeen int64 // Unix nanoseconds
}

func newClientTable(limits ClientLimits) *clientTable {
	table := &clientTable{limits: limits, seed: maphash.MakeSeed(), maxPerShard: max(1, limits.MaxTracked/clientShards)}
	for i := range table.shards {
		table.shards[i].clients = make(map[string]*clientBucket)
	}
	return table
}

func (t *clientTable) allow(key string, now time.Time) bool {
	shard := &t.shards[maphash.String(t.seed, key)%clientShards]
	shard.mutex.Lock()
	bucket, ok := shard.clients[key]
	if !ok {
		if len(shard.clients) >= t.maxPerShard {
			shard.evictIdlest()
		}
		bucket = &clientBucket{limiter: rate.NewLimiter(rate.Limit(t.limits.Rate), t.limits.Burst)}
		shard.clients[key] = bucket
	}
	bucket.lastSeen = now.UnixNano()
	shard.mutex.Unlock()
	return bucket.limiter.AllowN(now, 1)
}

// evictIdlest removes the idlest of a few clients sampled from the map's
// random iteration order: an approximate LRU at constant cost.
func (s *clientShard) evictIdlest() {
	const samples = 8
	var idlest string
	oldest := int64(math.MaxInt64)
	seen := 0
	for key, bucket := range s.clients {
		if bucket.lastSeen < oldest {
			idlest, oldest = key, bucket.lastSeen
		}
		if seen++; seen == samples {
			break
		}
	}
	delete(s.clients, idlest)
}

func (t *clientTable) sweep(now time.Time) {
	cutoff := now.Add(-t.limits.IdleTTL.Duration).UnixNano()
	for i := range t.shards {
		shard := &t.shards[i]
		shard.mutex.Lock()
		for key, bucket := range shard.clients {
			if bucket.lastSeen < cutoff {
				delete(shard.clients, key)
			}
		}
		shard.mutex.Unlock()
	}
}

func (t *clientTable) size() int {
	total := 0
	for i := range t.shards {
		shard := &t.shards[i]
		shard.mutex.Lock()
		total += len(shard.clients)
		shard.mutex.Unlock()
	}
	return total
}
