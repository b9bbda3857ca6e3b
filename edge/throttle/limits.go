// Package throttle protects the edge on peak days: token buckets per route,
// per application entry and per client with bounded memory, and load
// shedding when the submissions stream backs up. Limits come from a TOML
// file that operators edit; WatchFile applies a change without a restart.
package throttle

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Bucket is a token bucket: Rate tokens per second, up to Burst at once.
type Bucket struct {
	Rate  float64 `toml:"rate"`
	Burst int     `toml:"burst"`
}

// Limits is the content of the limits file.
type Limits struct {
	// Routes maps a route name (such as "POST /api/v1/registrations") to its
	// bucket; the key "default" covers every route not named. ParseLimits
	// rejects a name that is not one of the edge's routes.
	Routes map[string]Bucket `toml:"routes"`
	// Entries maps an entry key ("registration", or an application entry's
	// ID) to its bucket; "default" covers the rest. ParseLimits checks only
	// the form of an ID, because the entries come from the back office's
	// configuration snapshot, which can change while the file stays.
	Entries map[string]Bucket `toml:"entries"`
	// Clients bounds each signed-in parent.
	Clients ClientLimits `toml:"clients"`
	// Anonymous bounds each IP address before sign-in. Many families share
	// one address behind a mobile carrier's NAT, so it is looser than
	// Clients; when the file leaves it out, Clients applies.
	Anonymous ClientLimits `toml:"anonymous"`
	// Prefill bounds each signed-in parent's certificate look-ups, tighter
	// than Clients, because each one queries another agency about a person;
	// when the file leaves it out, Clients applies.
	Prefill  ClientLimits `toml:"prefill"`
	Shedding Shedding     `toml:"shedding"`

	// digest is the SHA-256 of the file these limits were parsed from, so
	// that WatchFile can skip a file whose content is already in force.
	digest [sha256.Size]byte
}

// ClientLimits bound each parent (or IP address before sign-in).
type ClientLimits struct {
	Bucket
	// MaxTracked caps the number of clients with a bucket; beyond it the
	// idlest are forgotten, so memory stays bounded however many addresses
	// arrive.
	MaxTracked int      `toml:"max_tracked"`
	IdleTTL    Duration `toml:"idle_ttl"`
}

// Shedding turns submissions away while the stream backlog is too long.
type Shedding struct {
	// MaxBacklog is the number of stream entries not yet stored by the back
	// office beyond which submissions get 503.
	MaxBacklog int64    `toml:"max_backlog"`
	RetryAfter Duration `toml:"retry_after"`
}

// Duration is a time.Duration written as "10m" or "5s" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(text []byte) error {
	parsed, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("invalid duration %q: use a form such as 5s or 10m", text)
	}
	d.Duration = parsed
	return nil
}

// registrationEntry is the entry key of the city-wide registration, which
// edge/submit passes to Throttle.Entry.
const registrationEntry = "registration"

// ParseLimits reads and checks a limits file. routes are the names of the
// routes the edge throttles, which with "default" are the only keys that
// [routes] may have.
func ParseLimits(data []byte, routes []string) (*Limits, error) {
	var limits Limits
	metadata, err := toml.Decode(string(data), &limits)
	if err != nil {
		return nil, fmt.Errorf("parse limits: %w", err)
	}
	if undecoded := metadata.Undecoded(); len(undecoded) > 0 {
		return nil, fmt.Errorf("parse limits: unknown key %q", undecoded[0].String())
	}
	if limits.Anonymous == (ClientLimits{}) {
		limits.Anonymous = limits.Clients
	}
	if limits.Prefill == (ClientLimits{}) {
		limits.Prefill = limits.Clients
	}
	if err := limits.validate(routes); err != nil {
		return nil, fmt.Errorf("parse limits: %w", err)
	}
	limits.digest = sha256.Sum256(data)
	return &limits, nil
}

func (l *Limits) validate(routes []string) error {
	if _, ok := l.Routes["default"]; !ok {
		return fmt.Errorf("[routes] needs a default bucket")
	}
	if _, ok := l.Entries["default"]; !ok {
		return fmt.Errorf("[entries] needs a default bucket")
	}
	if err := checkRouteNames(l.Routes, routes); err != nil {
		return err
	}
	if err := checkEntryKeys(l.Entries); err != nil {
		return err
	}
	for name, bucket := range l.Routes {
		if err := bucket.validate("routes." + name); err != nil {
			return err
		}
	}
	for name, bucket := range l.Entries {
		if err := bucket.validate("entries." + name); err != nil {
			return err
		}
	}
	if err := l.Clients.validate("clients"); err != nil {
		return err
	}
	if err := l.Anonymous.validate("anonymous"); err != nil {
		return err
	}
	if err := l.Prefill.validate("prefill"); err != nil {
		return err
	}
	if l.Shedding.MaxBacklog < 1 {
		return fmt.Errorf("shedding.max_backlog is %d, want at least 1", l.Shedding.MaxBacklog)
	}
	if l.Shedding.RetryAfter.Duration < time.Second {
		return fmt.Errorf("shedding.retry_after is %s, want at least 1s", l.Shedding.RetryAfter.Duration)
	}
	return nil
}

func (c ClientLimits) validate(name string) error {
	if err := c.Bucket.validate(name); err != nil {
		return err
	}
	if c.MaxTracked < 1000 {
		return fmt.Errorf("%s.max_tracked is %d, want at least 1000", name, c.MaxTracked)
	}
	if c.IdleTTL.Duration < time.Second {
		return fmt.Errorf("%s.idle_ttl is %s, want at least 1s", name, c.IdleTTL.Duration)
	}
	return nil
}

func (b Bucket) validate(name string) error {
	if b.Rate <= 0 {
		return fmt.Errorf("%s.rate is %g, want more than 0 per second", name, b.Rate)
	}
	if b.Burst < 1 {
		return fmt.Errorf("%s.burst is %d, want at least 1", name, b.Burst)
	}
	return nil
}

// checkRouteNames rejects the keys of [routes] that are neither "default"
// nor one of routes, because a misspelt name would silently leave its
// route under the default bucket.
func checkRouteNames(buckets map[string]Bucket, routes []string) error {
	var unknown []string
	for name := range buckets {
		if name != "default" && !slices.Contains(routes, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	known := slices.Sorted(slices.Values(routes))
	return fmt.Errorf("[routes] has unknown route %s: use \"default\" or one of the edge's routes: %s",
		quoteAll(unknown), quoteAll(known))
}

// checkEntryKeys rejects the keys of [entries] that are neither "default",
// "registration" nor written as an entry ID (a decimal integer).
func checkEntryKeys(buckets map[string]Bucket) error {
	var invalid []string
	for key := range buckets {
		if key != "default" && key != registrationEntry && !isEntryID(key) {
			invalid = append(invalid, key)
		}
	}
	if len(invalid) == 0 {
		return nil
	}
	slices.Sort(invalid)
	return fmt.Errorf("[entries] has invalid key %s: use \"default\", %q or an application entry's ID, such as \"1234\"",
		quoteAll(invalid), registrationEntry)
}

// isEntryID reports whether key is an int64 in the form that edge/submit
// passes to Throttle.Entry, without a sign for positive numbers or leading
// zeros.
func isEntryID(key string) bool {
	id, err := strconv.ParseInt(key, 10, 64)
	return err == nil && strconv.FormatInt(id, 10) == key
}

func quoteAll(values []string) string {
	quoted := make([]string, len(values))
	for i, value := range values {
		quoted[i] = strconv.Quote(value)
	}
	return strings.Join(quoted, ", ")
}
