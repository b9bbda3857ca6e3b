package throttle

import (
	"hash/maphash"
	"maps"
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
	// applying serializes Apply, which reads the state it replaces.
	applying sync.Mutex
}

type state struct {
	limits    *Limits
	routes    *sync.Map // route name → *rate.Limiter
	entries   *sync.Map // entry key → *rate.Limiter
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

// Apply replaces the limits. A bucket whose rate and burst are the same
// in the old and the new limits keeps its tokens, so that a reload does not
// give every client a full burst again. Buckets whose rate or burst changed
// start full.
func (t *Throttle) Apply(limits *Limits) {
	t.applying.Lock()
	defer t.applying.Unlock()

	previous := t.state.Load()
	if previous == nil {
		t.state.Store(&state{
			limits:    limits,
			routes:    new(sync.Map),
			entries:   new(sync.Map),
			clients:   newClientTable(limits.Clients),
			anonymous: newClientTable(limits.Anonymous),
			prefill:   newClientTable(limits.Prefill),
		})
		return
	}
	t.state.Store(&state{
		limits:    limits,
		routes:    keepLimiters(previous.routes, previous.limits.Routes, limits.Routes),
		entries:   keepLimiters(previous.entries, previous.limits.Entries, limits.Entries),
		clients:   previous.clients.withLimits(limits.Clients),
		anonymous: previous.anonymous.withLimits(limits.Anonymous),
		prefill:   previous.prefill.withLimits(limits.Prefill),
	})
}

// keepLimiters returns the limiters to use after a reload. That is
// previous itself when no bucket changed, or else a new map with the
// limiters of previous whose bucket is unchanged. The result has no key
// that previous lacks, so it stays as bounded as previous.
func keepLimiters(previous *sync.Map, before, after map[string]Bucket) *sync.Map {
	if maps.Equal(before, after) {
		return previous
	}
	// NOTE: a key that a request adds to previous while this loop runs is
	// not copied, so it starts with a full bucket once more.
	unchanged := new(sync.Map)
	previous.Range(func(key, limiter any) bool {
		name := key.(string)
		if bucketFor(before, name) == bucketFor(after, name) {
			unchanged.Store(key, limiter)
		}
		return true
	})
	return unchanged
}

// bucketFor returns the bucket named key, or the default bucket.
func bucketFor(buckets map[string]Bucket, key string) Bucket {
	if bucket, named := buckets[key]; named {
		return bucket
	}
	return buckets["default"]
}

// Limits returns the limits in force.
func (t *Throttle) Limits() *Limits { return t.state.Load().limits }

// Route takes a token from the bucket of a route.
func (t *Throttle) Route(name string) Decision {
	s := t.state.Load()
	return take(s.routes, name, s.limits.Routes, ScopeRoute)
}

// Entry takes a token from the bucket of an entry. Callers pass only keys
// of known entries, so the map stays bounded.
func (t *Throttle) Entry(key string) Decision {
	s := t.state.Load()
	return take(s.entries, key, s.limits.Entries, ScopeEntry)
}

func take(limiters *sync.Map, key string, buckets map[string]Bucket, scope string) Decision {
	value, ok := limiters.Load(key)
	if !ok {
		bucket := bucketFor(buckets, key)
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
// an equal share of MaxTracked. Tables made by withLimits share the shards
// of the table they replace.
type clientTable struct {
	limits      ClientLimits
	seed        maphash.Seed
	shards      *[clientShards]clientShard
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
	table := &clientTable{
		limits:      limits,
		seed:        maphash.MakeSeed(),
		shards:      new([clientShards]clientShard),
		maxPerShard: maxPerShard(limits),
	}
	for i := range table.shards {
		table.shards[i].clients = make(map[string]*clientBucket)
	}
	return table
}

func maxPerShard(limits ClientLimits) int {
	return max(1, limits.MaxTracked/clientShards)
}

// withLimits returns the table to use under limits. When their rate and
// burst are those of t, the new table shares t's buckets, so clients keep
// their tokens, and the idlest clients beyond the new MaxTracked are
// evicted. Otherwise withLimits returns an empty table.
func (t *clientTable) withLimits(limits ClientLimits) *clientTable {
	if limits.Bucket != t.limits.Bucket {
		return newClientTable(limits)
	}
	table := &clientTable{limits: limits, seed: t.seed, shards: t.shards, maxPerShard: maxPerShard(limits)}
	for i := range table.shards {
		shard := &table.shards[i]
		shard.mutex.Lock()
		for len(shard.clients) > table.maxPerShard {
			shard.evictIdlest()
		}
		shard.mutex.Unlock()
	}
	return table
}

func (t *clientTable) allow(key string, now time.Time) bool {
	shard := &t.shards[maphash.String(t.seed, key)%clientShards]
	shard.mutex.Lock()
	bucket, ok := shard.clients[key]
	if !ok {
		// A loop, not a single eviction, because a request still holding
		// the table that withLimits replaced may have filled the shard up
		// to a larger MaxTracked.
		for len(shard.clients) >= t.maxPerShard {
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
