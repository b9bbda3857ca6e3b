package fault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Failure modes of Config.FailureMode.
const (
	// ModeError responds 503 Service Unavailable with a JSON error body.
	ModeError = "error"
	// ModeHang holds the request until the client gives up or the hang
	// timeout (30 s by default) passes, then responds 503.
	ModeHang = "hang"
	// ModeReset hijacks the connection and closes it with a TCP reset.
	ModeReset = "reset"
)

// Config is the fault behaviour of one simulator.
//
// In JSON the durations are Go duration strings ("20ms", "1.5s"):
//
//	{"latency":"20ms","jitter":"5ms","failureRate":0.05,"failureMode":"error"}
type Config struct {
	// Latency is added to every request before it is served or failed.
	Latency time.Duration
	// Jitter is the upper bound of a uniformly random extra delay in
	// [0, Jitter] added on top of Latency.
	Jitter time.Duration
	// FailureRate is the probability in [0, 1] that a request fails.
	FailureRate float64
	// FailureMode is ModeError, ModeHang or ModeReset; "" means ModeError.
	FailureMode string
}

// Validate returns an error naming the first invalid field: a negative
// duration, a failure rate outside [0, 1] or NaN, or an unknown mode.
func (c Config) Validate() error {
	switch {
	case c.Latency < 0:
		return fmt.Errorf("invalid latency %s: must not be negative", c.Latency)
	case c.Jitter < 0:
		return fmt.Errorf("invalid jitter %s: must not be negative", c.Jitter)
	case math.IsNaN(c.FailureRate) || c.FailureRate < 0 || c.FailureRate > 1:
		return fmt.Errorf("invalid failure rate %v: must be between 0 and 1", c.FailureRate)
	}
	switch c.FailureMode {
	case "", ModeError, ModeHang, ModeReset:
		return nil
	default:
		return fmt.Errorf("invalid failure mode %q: must be %q, %q or %q", c.FailureMode, ModeError, ModeHang, ModeReset)
	}
}

// normalized returns c with an empty FailureMode replaced by ModeError.
func (c Config) normalized() Config {
	if c.FailureMode == "" {
		c.FailureMode = ModeError
	}
	return c
}

type configJSON struct {
	Latency     string  `json:"latency"`
	Jitter      string  `json:"jitter"`
	FailureRate float64 `json:"failureRate"`
	FailureMode string  `json:"failureMode"`
}

// MarshalJSON encodes the durations as Go duration strings.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(configJSON{
		Latency:     c.Latency.String(),
		Jitter:      c.Jitter.String(),
		FailureRate: c.FailureRate,
		FailureMode: c.FailureMode,
	})
}

// UnmarshalJSON decodes a JSON object onto c. Fields missing from the object
// keep their current value, so {"failureRate":0.5} changes only the rate.
// Unknown fields and durations that are not Go duration strings are errors.
// The result is not validated: call Validate.
func (c *Config) UnmarshalJSON(data []byte) error {
	var fields struct {
		Latency     *string  `json:"latency"`
		Jitter      *string  `json:"jitter"`
		FailureRate *float64 `json:"failureRate"`
		FailureMode *string  `json:"failureMode"`
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&fields); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && (typeErr.Field == "latency" || typeErr.Field == "jitter") {
			return fmt.Errorf("invalid %s: expected a Go duration string such as \"20ms\"", typeErr.Field)
		}
		return err
	}

	updated := *c
	if fields.Latency != nil {
		latency, err := time.ParseDuration(*fields.Latency)
		if err != nil {
			return fmt.Errorf("invalid latency %q: expected a Go duration string such as \"20ms\"", *fields.Latency)
		}
		updated.Latency = latency
	}
	if fields.Jitter != nil {
		jitter, err := time.ParseDuration(*fields.Jitter)
		if err != nil {
			return fmt.Errorf("invalid jitter %q: expected a Go duration string such as \"5ms\"", *fields.Jitter)
		}
		updated.Jitter = jitter
	}
	if fields.FailureRate != nil {
		updated.FailureRate = *fields.FailureRate
	}
	if fields.FailureMode != nil {
		updated.FailureMode = *fields.FailureMode
	}
	*c = updated
	return nil
}
