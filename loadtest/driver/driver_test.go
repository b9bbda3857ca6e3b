package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/document"
)

func TestHistogramBucketBounds(t *testing.T) {
	for _, microseconds := range []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 1023, 1024, 99_999, 1_000_000, 60_000_000} {
		index := bucketOf(microseconds)
		upper := bucketUpperBound(index)
		if upper < microseconds {
			t.Errorf("bucket %d of %d µs has upper bound %d, below the value", index, microseconds, upper)
		}
		if index > 0 && bucketUpperBound(index-1) >= microseconds {
			t.Errorf("value %d µs also fits bucket %d below its own bucket %d", microseconds, index-1, index)
		}
		if microseconds >= 64 && float64(upper-microseconds) > float64(microseconds)/64 {
			t.Errorf("bucket of %d µs ends at %d, more than 1/64 above it", microseconds, upper)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.50, 500 * time.Millisecond}, {0.95, 950 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}}
	for _, tt := range tests {
		got := h.quantile(tt.q)
		if got < tt.want || float64(got-tt.want) > float64(tt.want)/64 {
			t.Errorf("quantile(%v) = %s, want %s to 1/64 above", tt.q, got, tt.want)
		}
	}
	var empty histogram
	if got := empty.quantile(0.99); got != 0 {
		t.Errorf("quantile of an empty histogram = %s, want 0", got)
	}
}

func TestHistogramMerge(t *testing.T) {
	var a, b histogram
	a.record(time.Millisecond)
	b.record(3 * time.Second)
	a.merge(&b)
	if a.total != 2 {
		t.Errorf("total after merge = %d, want 2", a.total)
	}
	if a.max != 3*time.Second {
		t.Errorf("max after merge = %s, want 3s", a.max)
	}
}

func TestChildrenDistinctAndValid(t *testing.T) {
	p := fixedPopulation()
	today := time.Date(2027, time.January, 1, 0, 0, 0, 0, time.UTC)
	seen := map[string]int64{}
	// Every child of the first few blocks, and a stride through the rest
	// of the population up to its capacity.
	numbers := make([]int64, 0, 30_000)
	for n := range int64(20_000) {
		numbers = append(numbers, n)
	}
	for n := int64(20_000); n < p.capacity(); n += p.capacity() / 10_000 {
		numbers = append(numbers, n)
	}
	for _, n := range numbers {
		c := p.child(n)
		if first, ok := seen[c.id]; ok {
			t.Fatalf("children %d and %d share the resident ID %s", first, n, c.id)
		}
		seen[c.id] = n
		parsed, err := document.Parse(document.ResidentID, c.id, "", today)
		if err != nil {
			t.Fatalf("child %d: resident ID %s is invalid: %v", n, c.id, err)
		}
		if !parsed.BirthDate.Equal(c.birthDate) || byte(parsed.Sex) != c.sex {
			t.Fatalf("child %d: ID %s encodes %s %c, want %s %c", n, c.id,
				parsed.BirthDate.Format(time.DateOnly), parsed.Sex, c.birthDate.Format(time.DateOnly), c.sex)
		}
	}
}

func TestChildrenRepeatAfterCapacity(t *testing.T) {
	p := fixedPopulation()
	if got, want := p.child(p.capacity()+7).id, p.child(7).id; got != want {
		t.Errorf("child at capacity+7 has ID %s, want the ID of child 7, %s", got, want)
	}
}

func TestRegistrationBodyDecodes(t *testing.T) {
	p := fixedPopulation()
	for _, n := range []int64{0, 1, 5, 123_456, p.capacity() - 1} {
		c := p.child(n)
		body := p.appendRegistration(nil, &c)
		var request precheck.RegistrationRequest
		decoder := json.NewDecoder(bytes.NewReader(body))
		decoder.DisallowUnknownFields()
		if err := decoder.Decode(&request); err != nil {
			t.Fatalf("child %d: body does not decode as the edge decodes it: %v\n%s", n, err, body)
		}
		if request.Child.Document.Number != c.id {
			t.Errorf("child %d: document number %q, want %q", n, request.Child.Document.Number, c.id)
		}
		if request.Child.BirthDate != c.birthDate.Format(time.DateOnly) {
			t.Errorf("child %d: birth date %q, want %s", n, request.Child.BirthDate, c.birthDate.Format(time.DateOnly))
		}
		if request.Child.Hukou.DistrictCode != c.id[:6] {
			t.Errorf("child %d: hukou district %q, want the ID's region %s", n, request.Child.Hukou.DistrictCode, c.id[:6])
		}
		if len(request.Guardians) != 1 || request.Guardians[0].Document.Number == c.id {
			t.Errorf("child %d: want one guardian with a document of their own, got %+v", n, request.Guardians)
		}
		if _, err := document.Parse(document.ResidentID, request.Guardians[0].Document.Number, "", time.Now()); err != nil {
			t.Errorf("child %d: guardian's resident ID %s is invalid: %v", n, request.Guardians[0].Document.Number, err)
		}
		if n%5 == 0 && request.Residence.AtHukouAddress {
			t.Errorf("child %d: want a family that lives away from its hukou address", n)
		}
	}
}

func TestReceiptNumberParsing(t *testing.T) {
	number, ok := receiptNumber([]byte(`{"receiptNumber":"202700001235","status":"accepted","statusLabel":"已受理"}` + "\n"))
	if !ok || number != 202700001235 {
		t.Errorf("receiptNumber = %d, %v; want 202700001235, true", number, ok)
	}
	if _, ok := receiptNumber([]byte(`{"error":{"code":"too_many_requests"}}`)); ok {
		t.Error("receiptNumber found a number in an error body")
	}
	if got := string(jsonStringField([]byte(`{"error":{"code":"already_registered","message":"…"}}`), codeField)); got != "already_registered" {
		t.Errorf("error code = %q, want already_registered", got)
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, target := range []string{"http://127.0.0.1:8080", "http://[::1]:8080", "http://localhost:8080", "http://127.0.0.2"} {
		if err := checkLoopback(target); err != nil {
			t.Errorf("checkLoopback(%q) = %v, want nil", target, err)
		}
	}
	for _, target := range []string{"http://10.0.0.1:8080", "http://example.com", "https://127.0.0.1", "127.0.0.1:8080", "http://169.254.169.254"} {
		if err := checkLoopback(target); err == nil {
			t.Errorf("checkLoopback(%q) = nil, want an error", target)
		}
	}
}

func TestFormatReceipt(t *testing.T) {
	if got := formatReceipt(12345); got != "000000012345" {
		t.Errorf("formatReceipt(12345) = %q, want 000000012345", got)
	}
}

func TestAcceptedLatencyCountsOnlyAccepted(t *testing.T) {
	var accepted atomic.Int64
	rec := newRecorder(&accepted)
	respond := func(status int, body string, latency time.Duration) {
		var resp fasthttp.Response
		resp.SetStatusCode(status)
		resp.SetBodyString(body)
		rec.observe(&resp, nil, latency)
	}
	respond(fasthttp.StatusAccepted, `{"receiptNumber":"202700000013"}`, 80*time.Millisecond)
	respond(fasthttp.StatusTooManyRequests, `{"code":"rate_limited"}`, time.Millisecond)
	respond(fasthttp.StatusTooManyRequests, `{"code":"rate_limited"}`, time.Millisecond)

	var r result
	r.merge([]*recorder{rec})
	if got := r.latency.quantile(0.5); got > 2*time.Millisecond {
		t.Errorf("median of all responses = %s, want the 429s' 1ms", got)
	}
	if got := r.acceptedLatency.quantile(0.5); got < 79*time.Millisecond || got > 82*time.Millisecond {
		t.Errorf("median of accepted responses = %s, want about 80ms", got)
	}
	if got := r.acceptedLatency.quantile(1); got > 82*time.Millisecond {
		t.Errorf("largest accepted latency = %s, want about 80ms", got)
	}
}

func TestSummaryLatencyWithoutAccepted(t *testing.T) {
	var accepted atomic.Int64
	rec := newRecorder(&accepted)
	var resp fasthttp.Response
	resp.SetStatusCode(fasthttp.StatusServiceUnavailable)
	resp.SetBodyString(`{"code":"unavailable"}`)
	rec.observe(&resp, nil, 3*time.Millisecond)

	var r result
	r.merge([]*recorder{rec})
	p := &report{result: &r}
	summary := p.summary()
	if !strings.Contains(summary, " accepted_p99_ms=n/a ") {
		t.Errorf("summary %q: want accepted_p99_ms=n/a without any 202", summary)
	}
	if !strings.Contains(summary, " p99_ms=3.") {
		t.Errorf("summary %q: want p99_ms of the 503 at about 3 ms", summary)
	}

	var printed bytes.Buffer
	p.print(&printed)
	if !strings.Contains(printed.String(), "latency of accepted requests: no 202 responses") {
		t.Errorf("report:\n%s\nwant a line saying there were no 202 responses", printed.String())
	}
}
