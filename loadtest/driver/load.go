package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/signin"
	"github.com/sh-preschool/preschool/shared/session"
)

// sessionTTL is the lifetime of the generated parents' session tokens, which
// only have to outlast a run.
const sessionTTL = 2 * time.Hour

// transportBackoff is how long a connection waits after a transport error
// before its next request, so that a stopped server does not turn a closed
// loop into a busy loop.
const transportBackoff = 10 * time.Millisecond

// minSchedulerSleep bounds how often the open model's clock wakes up: at
// high rates it sends the few arrivals that fell due together, each still
// stamped with its own scheduled time.
const minSchedulerSleep = 250 * time.Microsecond

// generator hands out children and fills requests for them. Each request is
// a different child. The parents' session tokens are signed before the load
// starts, so the driver spends its CPU on sending, not on HMAC-SM3, and each
// parent comes round again only after all the others, far within the edge's
// per-parent limit.
type generator struct {
	population *population
	url        string
	tokens     []string
	firstChild int64
	next       atomic.Int64
}

// signTokens signs the session tokens of count parents whose subjects carry
// runTag, which keeps one run's parents apart from another's.
func (g *generator) signTokens(sealer session.Sealer, runTag string, count int) {
	g.tokens = make([]string, count)
	now := time.Now()
	for i := range g.tokens {
		subject := "load-" + runTag + "-" + strconv.Itoa(i)
		g.tokens[i] = signin.IssueToken(sealer, subject, "模拟家长", now, sessionTTL)
	}
}

// prepare sets the parts of req that every registration shares.
func (g *generator) prepare(req *fasthttp.Request) {
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(g.url)
	req.Header.SetContentType("application/json")
}

// fill makes req, prepared once, a registration of the next child, building
// its body in *body, which must stay unchanged until the request is sent.
func (g *generator) fill(req *fasthttp.Request, body *[]byte) {
	n := g.firstChild + g.next.Add(1) - 1
	c := g.population.child(n)
	*body = g.population.appendRegistration((*body)[:0], &c)
	req.Header.SetCookie(signin.SessionCookie, g.tokens[n%int64(len(g.tokens))])
	req.SetBodyRaw(*body)
}

// used returns how many children the run has taken.
func (g *generator) used() int64 { return g.next.Load() }

// recorder collects the outcomes seen by one goroutine. Recorders are merged
// after the run, so recording takes no lock.
type recorder struct {
	latency histogram
	// acceptedLatency is the latency of 202 responses alone, so that the
	// fast 429s of a shedding limit do not hide what accepted parents waited.
	acceptedLatency histogram
	statuses        map[int]int64
	codes           map[string]int64 // "409 already_registered"
	transport       map[string]int64
	receipts        []uint64
	accepted        *atomic.Int64
}

func newRecorder(accepted *atomic.Int64) *recorder {
	return &recorder{
		statuses:  map[int]int64{},
		codes:     map[string]int64{},
		transport: map[string]int64{},
		accepted:  accepted,
	}
}

var (
	receiptField = []byte(`"receiptNumber":"`)
	codeField    = []byte(`"code":"`)
)

// observe records one request: its latency and status, the receipt number
// of a 202, the error code of a rejection, or the kind of transport error.
func (r *recorder) observe(resp *fasthttp.Response, err error, latency time.Duration) {
	if err != nil {
		r.transport[transportErrorKind(err)]++
		return
	}
	r.latency.record(latency)
	status := resp.StatusCode()
	r.statuses[status]++
	body := resp.Body()
	if status == fasthttp.StatusAccepted {
		r.acceptedLatency.record(latency)
		r.accepted.Add(1)
		if number, ok := receiptNumber(body); ok {
			r.receipts = append(r.receipts, number)
		} else {
			r.codes["202 without a receipt number"]++
		}
		return
	}
	if status >= 300 {
		r.codes[strconv.Itoa(status)+" "+string(jsonStringField(body, codeField))]++
	}
}

// receiptNumber reads the 12-digit receipt number from a 202 body.
func receiptNumber(body []byte) (uint64, bool) {
	value := jsonStringField(body, receiptField)
	if len(value) != 12 {
		return 0, false
	}
	number, err := strconv.ParseUint(string(value), 10, 64)
	return number, err == nil
}

// jsonStringField returns the value of the first string field named by
// prefix (`"name":"`) in body, or nil. The edge's responses have no escaped quotes in
// the fields read here.
func jsonStringField(body, prefix []byte) []byte {
	start := bytes.Index(body, prefix)
	if start < 0 {
		return nil
	}
	value := body[start+len(prefix):]
	end := bytes.IndexByte(value, '"')
	if end < 0 {
		return nil
	}
	return value[:end]
}

func transportErrorKind(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "no_free_connections"
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return "connection_closed"
	case errors.Is(err, fasthttp.ErrDialTimeout):
		return "dial_timeout"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return opErr.Op + "_error"
	}
	return "other"
}

// result is the measurements of one run.
type result struct {
	mode        string
	connections int
	rate        int
	duration    time.Duration
	elapsed     time.Duration
	latency     histogram
	// acceptedLatency is the latency of the 202 responses.
	acceptedLatency histogram
	statuses        map[int]int64
	codes           map[string]int64
	transport       map[string]int64
	receipts        []uint64
	// dropped counts open-model arrivals that found the send queue full.
	dropped int64
	// perSecond holds the number of 202 responses in each whole second.
	perSecond []int64
	// cpu is the driver's own CPU time (user and system) during the load.
	cpu time.Duration
}

func (r *result) merge(recorders []*recorder) {
	r.statuses, r.codes, r.transport = map[int]int64{}, map[string]int64{}, map[string]int64{}
	for _, rec := range recorders {
		r.latency.merge(&rec.latency)
		r.acceptedLatency.merge(&rec.acceptedLatency)
		for status, count := range rec.statuses {
			r.statuses[status] += count
		}
		for code, count := range rec.codes {
			r.codes[code] += count
		}
		for kind, count := range rec.transport {
			r.transport[kind] += count
		}
		r.receipts = append(r.receipts, rec.receipts...)
	}
}

func (r *result) accepted() int64 { return r.statuses[fasthttp.StatusAccepted] }

// cpuPerRequest returns the driver's CPU time per request sent, in
// microseconds.
func (r *result) cpuPerRequest() float64 {
	var sent int64
	for _, count := range r.statuses {
		sent += count
	}
	sent += r.transportErrors()
	if sent == 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / float64(sent)
}

func (r *result) transportErrors() int64 {
	var total int64
	for _, count := range r.transport {
		total += count
	}
	return total
}

// acceptedPerSecond returns the mean rate of 202 responses over the run.
func (r *result) acceptedPerSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.accepted()) / r.elapsed.Seconds()
}

// sampleThroughput records the 202 responses of each second until ctx ends and
// logs progress every ten seconds.
func sampleThroughput(ctx context.Context, accepted *atomic.Int64, done chan<- []int64) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	var samples []int64
	var last int64
	for {
		select {
		case <-ctx.Done():
			done <- samples
			return
		case <-ticker.C:
		}
		now := accepted.Load()
		samples = append(samples, now-last)
		last = now
		if len(samples)%10 == 0 {
			slog.Info("load running", "seconds", len(samples), "accepted", now, "accepted_last_second", samples[len(samples)-1])
		}
	}
}

// runClosed runs the closed model: each of the connections sends a request,
// waits for the response and sends the next, until duration has passed.
func runClosed(client *fasthttp.HostClient, gen *generator, connections int, duration time.Duration) *result {
	var accepted atomic.Int64
	recorders := make([]*recorder, connections)
	ctx, cancel := context.WithCancel(context.Background())
	samples := make(chan []int64, 1)
	go sampleThroughput(ctx, &accepted, samples)

	cpuStart := processCPU()
	start := time.Now()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	for i := range recorders {
		rec := newRecorder(&accepted)
		recorders[i] = rec
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			gen.prepare(req)
			var body []byte
			for time.Now().Before(deadline) {
				gen.fill(req, &body)
				sent := time.Now()
				err := client.Do(req, resp)
				rec.observe(resp, err, time.Since(sent))
				if err != nil {
					time.Sleep(transportBackoff)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cancel()

	r := &result{mode: "closed", connections: connections, duration: duration, elapsed: elapsed,
		perSecond: <-samples, cpu: processCPU() - cpuStart}
	r.merge(recorders)
	return r
}

// runOpen runs the open model: arrivals at a fixed rate on a clock, each
// queued for the next free connection without waiting for earlier responses.
// Latency counts from the scheduled arrival, so time spent queued behind a
// slow server is measured (no coordinated omission). An arrival that finds
// maxQueue arrivals already waiting is dropped.
func runOpen(client *fasthttp.HostClient, gen *generator, connections, rate, maxQueue int, duration time.Duration) *result {
	var accepted atomic.Int64
	recorders := make([]*recorder, connections)
	ctx, cancel := context.WithCancel(context.Background())
	samples := make(chan []int64, 1)
	go sampleThroughput(ctx, &accepted, samples)

	queue := make(chan time.Time, maxQueue)
	var wg sync.WaitGroup
	for i := range recorders {
		rec := newRecorder(&accepted)
		recorders[i] = rec
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			gen.prepare(req)
			var body []byte
			for scheduled := range queue {
				gen.fill(req, &body)
				err := client.Do(req, resp)
				rec.observe(resp, err, time.Since(scheduled))
			}
		})
	}

	cpuStart := processCPU()
	start := time.Now()
	interval := float64(time.Second) / float64(rate)
	total := int64(duration.Seconds() * float64(rate))
	var dropped, next int64
	for next < total {
		// Send every arrival that is due, each stamped with its own
		// scheduled time, then sleep until the next one.
		due := min(int64(float64(time.Since(start))/interval)+1, total)
		for ; next < due; next++ {
			scheduled := start.Add(time.Duration(float64(next) * interval))
			select {
			case queue <- scheduled:
			default:
				dropped++
			}
		}
		if next < total {
			wait := time.Until(start.Add(time.Duration(float64(next) * interval)))
			time.Sleep(max(wait, minSchedulerSleep))
		}
	}
	close(queue)
	wg.Wait()
	elapsed := time.Since(start)
	cancel()

	r := &result{mode: "open", connections: connections, rate: rate, duration: duration, elapsed: elapsed,
		dropped: dropped, perSecond: <-samples, cpu: processCPU() - cpuStart}
	r.merge(recorders)
	return r
}

// processCPU returns the CPU time (user and system) the driver has used so
// far, or 0 where getrusage fails.
func processCPU() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}
