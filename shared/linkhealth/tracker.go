// Package linkhealth tracks the health of the links a process depends on:
// the Redis stream, the identity service, the data API, the certificate
// API, the SMS gateway and the rating system. A Reporter writes it, with
// the host's resource use, as a heartbeat in Redis, which the back office's
// system state panel reads.
package linkhealth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/redis/rueidis"
)

// Link names. Each is one line of the system state panel.
const (
	// LinkStream is the edge writing accepted submissions to the Redis
	// stream.
	LinkStream = "stream"
	// LinkDrain is the back office reading the stream into PostgreSQL.
	LinkDrain = "drain"
	// LinkIdentity is the unified identity service the edge signs parents
	// in with.
	LinkIdentity = "identity"
	// LinkDataAPI is the data API the back office verifies registrations
	// with.
	LinkDataAPI = "data_api"
	// LinkCertificates is the certificate API the edge prefills from.
	LinkCertificates = "certificates"
	// LinkSMS is the SMS gateway the back office sends notices through.
	LinkSMS = "sms"
	// LinkRating is the rating system the back office forwards 办不成事
	// feedback to.
	LinkRating = "rating"
)

// Breaker states, as gobreaker's State.String spells them, and "none" for
// a link without a breaker.
const (
	BreakerClosed   = "closed"
	BreakerHalfOpen = "half-open"
	BreakerOpen     = "open"
	BreakerNone     = "none"
)

// Status is the health of one link as one process observes it.
type Status struct {
	Link    string `json:"link"`
	Breaker string `json:"breaker"`
	// LastSuccess and LastFailure are nil until the first call of that
	// outcome.
	LastSuccess *time.Time `json:"lastSuccess,omitempty"`
	LastFailure *time.Time `json:"lastFailure,omitempty"`
	// Interface and ErrorCode describe the last failure: the call that
	// failed (method and path, or a Redis command) and a stable code such
	// as timeout, connection_refused or http_503.
	Interface string `json:"interface,omitempty"`
	ErrorCode string `json:"errorCode,omitempty"`
}

// Failing reports whether the link is down as this status shows it: its
// breaker is open, or its last call failed.
func (s Status) Failing() bool {
	if s.Breaker == BreakerOpen {
		return true
	}
	if s.LastFailure == nil {
		return false
	}
	return s.LastSuccess == nil || s.LastFailure.After(*s.LastSuccess)
}

type linkEntry struct {
	status  Status
	breaker func() string
}

// Tracker records the outcome of each link's calls. It is safe for
// concurrent use, and a nil *Tracker records nothing.
type Tracker struct {
	mu    sync.Mutex
	links map[string]*linkEntry
	now   func() time.Time
}

// NewTracker returns an empty Tracker. now may be nil for time.Now.
func NewTracker(now func() time.Time) *Tracker {
	if now == nil {
		now = time.Now
	}
	return &Tracker{links: map[string]*linkEntry{}, now: now}
}

// Register adds link to the reports. breaker returns the link's breaker
// state and may be nil for a link without a breaker.
func (t *Tracker) Register(link string, breaker func() string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entry(link).breaker = breaker
}

func (t *Tracker) entry(link string) *linkEntry {
	entry, ok := t.links[link]
	if !ok {
		entry = &linkEntry{status: Status{Link: link}}
		t.links[link] = entry
	}
	return entry
}

// Success records a successful call of link.
func (t *Tracker) Success(link string) {
	if t == nil {
		return
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entry(link).status.LastSuccess = &now
}

// Failure records a failed call of link: the interface called and a
// stable error code.
func (t *Tracker) Failure(link, calledInterface, code string) {
	if t == nil {
		return
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	status := &t.entry(link).status
	status.LastFailure, status.Interface, status.ErrorCode = &now, calledInterface, code
}

// Record records err as the outcome of a call of calledInterface on link:
// a success when err is nil, else a failure with ErrorCode(err).
func (t *Tracker) Record(link, calledInterface string, err error) {
	if err == nil {
		t.Success(link)
		return
	}
	t.Failure(link, calledInterface, ErrorCode(err))
}

// Snapshot returns the status of every registered or called link, sorted
// by name.
func (t *Tracker) Snapshot() []Status {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	entries := make([]linkEntry, 0, len(t.links))
	for _, entry := range t.links {
		entries = append(entries, *entry)
	}
	t.mu.Unlock()

	statuses := make([]Status, 0, len(entries))
	for _, entry := range entries {
		status := entry.status
		status.Breaker = BreakerNone
		if entry.breaker != nil {
			status.Breaker = entry.breaker()
		}
		statuses = append(statuses, status)
	}
	sort.Slice(statuses, func(i, j int) bool { return statuses[i].Link < statuses[j].Link })
	return statuses
}

// StatusError is an HTTP response that counts as a failure of the link.
type StatusError struct{ Code int }

func (e StatusError) Error() string { return "status " + strconv.Itoa(e.Code) }

// CodedError is a failure with its own error code.
type CodedError struct {
	Code string
	Err  error
}

func (e CodedError) Error() string { return e.Err.Error() }

func (e CodedError) Unwrap() error { return e.Err }

// ErrorCode returns a stable code for err: timeout, connection_refused,
// dns_error, connection_error, http_NNN, redis_error, canceled or error.
func ErrorCode(err error) string {
	var status StatusError
	var dnsError *net.DNSError
	var netError net.Error
	var redisError *rueidis.RedisError
	var coded CodedError
	switch {
	case errors.As(err, &coded):
		return coded.Code
	case errors.As(err, &status):
		return "http_" + strconv.Itoa(status.Code)
	case errors.As(err, &redisError):
		return "redis_error"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &dnsError):
		return "dns_error"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.As(err, &netError) && netError.Timeout():
		return "timeout"
	case errors.As(err, &netError):
		return "connection_error"
	}
	return "error"
}

// Transport records each HTTP call's outcome on a link. A transport error
// or a 5xx response is a failure and any other response a success, because
// a 4xx means the service is up and rejected the request.
type Transport struct {
	// Base is the transport that makes the call; nil uses
	// http.DefaultTransport.
	Base    http.RoundTripper
	Tracker *Tracker
	Link    string
}

// RoundTrip makes the call through Base and records its outcome.
func (t *Transport) RoundTrip(request *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	calledInterface := request.Method + " " + request.URL.Path
	response, err := base.RoundTrip(request)
	switch {
	case err != nil && errors.Is(request.Context().Err(), context.Canceled):
		// The caller gave up; the service did not fail.
	case err != nil:
		t.Tracker.Failure(t.Link, calledInterface, ErrorCode(err))
	case response.StatusCode >= 500:
		t.Tracker.Failure(t.Link, calledInterface, ErrorCode(StatusError{Code: response.StatusCode}))
	default:
		t.Tracker.Success(t.Link)
	}
	return response, err
}

// Wrap makes client record its calls on link and returns it.
func (t *Tracker) Wrap(client *http.Client, link string) *http.Client {
	if t == nil || client == nil {
		return client
	}
	client.Transport = &Transport{Base: client.Transport, Tracker: t, Link: link}
	return client
}
