package prefill

import (
	"context"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/shared/enrolment"
)

// Call is one prefill call to the certificate API, as the certificate-call
// dashboard counts it.
type Call struct {
	// District is the residence district of the form being filled, or
	// enrolment.UnknownDistrict before the parent chose one.
	District string
	// Owner is the caller's owner blind index.
	Owner []byte
	// Outcomes maps each requested certificate type to its outcome:
	// enrolment.CallSuccess, CallNotFound or CallFailure.
	Outcomes map[string]string
	At       time.Time
}

// CallCounter counts prefill calls in Redis per Shanghai day × district ×
// certificate type × outcome, and the distinct callers per day and
// district in a HyperLogLog.
type CallCounter struct {
	Redis   rueidis.Client
	Keys    enrolment.Keys
	Timeout time.Duration

	slotsOnce sync.Once
	slots     chan struct{}
	pending   sync.WaitGroup
}

// maxPendingCounts bounds the counts CountLater runs at once, so a slow
// Redis costs dropped counts, not a growing number of goroutines.
const maxPendingCounts = 256

// CountLater counts the call in the background, so the parent's look-up
// does not wait for the counters. When maxPendingCounts counts are still
// running, the call is dropped and logged.
func (c *CallCounter) CountLater(call Call) {
	c.slotsOnce.Do(func() { c.slots = make(chan struct{}, maxPendingCounts) })
	select {
	case c.slots <- struct{}{}:
		c.pending.Go(func() {
			defer func() { <-c.slots }()
			c.Count(context.Background(), call)
		})
	default:
		slog.Warn("certificate prefill call not counted: too many counts wait for Redis", "district", call.District)
	}
}

// Wait waits until the counts that CountLater started have finished.
func (c *CallCounter) Wait() { c.pending.Wait() }

// Count adds one call to the counters in one pipelined round trip. It logs
// a Redis failure and returns nothing, because the parent's look-up does
// not depend on the counters. The call is then missing from the dashboard.
func (c *CallCounter) Count(ctx context.Context, call Call) {
	day := call.At.In(enrolment.Shanghai).Format(time.DateOnly)
	calls := c.Keys.CertificateCalls(day)
	callers := c.Keys.CertificateCallers(day, call.District)
	days := c.Keys.CertificateCallDays()
	retention := int64(enrolment.CertificateCallRetention / time.Second)

	commands := make(rueidis.Commands, 0, len(call.Outcomes)+5)
	commands = append(commands, c.Redis.B().Sadd().Key(days).Member(day).Build())
	for certificateType, outcome := range call.Outcomes {
		field := enrolment.CertificateCallField(call.District, certificateType, outcome)
		commands = append(commands, c.Redis.B().Hincrby().Key(calls).Field(field).Increment(1).Build())
	}
	commands = append(commands,
		c.Redis.B().Expire().Key(calls).Seconds(retention).Build(),
		c.Redis.B().Pfadd().Key(callers).Element(hex.EncodeToString(call.Owner)).Build(),
		c.Redis.B().Expire().Key(callers).Seconds(retention).Build(),
		c.Redis.B().Expire().Key(days).Seconds(retention).Build(),
	)

	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	for _, result := range c.Redis.DoMulti(ctx, commands...) {
		if err := result.Error(); err != nil {
			slog.Warn("count certificate prefill call failed", "day", day, "district", call.District, "error", err)
			return
		}
	}
}

// outcomes returns the outcome of each requested type: success for the
// types among found, not found for the others, or failure for all when the
// call failed.
func outcomes(requested []string, found []Certificate, failed bool) map[string]string {
	result := make(map[string]string, len(requested))
	for _, certificateType := range requested {
		result[certificateType] = enrolment.CallNotFound
		if failed {
			result[certificateType] = enrolment.CallFailure
		}
	}
	if failed {
		return result
	}
	for _, certificate := range found {
		if _, requested := result[certificate.Type]; requested {
			result[certificate.Type] = enrolment.CallSuccess
		}
	}
	return result
}
