package certificates

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/rueidis"

	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// callCount is the prefill calls of one district, certificate type and
// outcome.
type callCount struct {
	District, CertificateType, Outcome string
	Calls                              int64
}

// callCounts is the content of the edge's counters for a range of days.
type callCounts struct {
	Counts []callCount
	// Callers is the distinct callers over every district read, and
	// CallersByDistrict the distinct callers of each district. Both are
	// HyperLogLog estimates (standard error 0.81%).
	Callers           int64
	CallersByDistrict map[string]int64
}

// CallReader reads the prefill counters that the edge writes.
type CallReader struct {
	Redis rueidis.Client
	Keys  enrol.Keys
}

// read returns the counters of the days in [first, end) (YYYY-MM-DD) for
// districts, in two round trips: the set of counted days, then every
// day's hash and the HyperLogLog counts in one pipeline.
func (c *CallReader) read(ctx context.Context, first, end string, districts []string) (callCounts, error) {
	result := callCounts{CallersByDistrict: map[string]int64{}}
	if len(districts) == 0 {
		return result, nil
	}
	members, err := c.Redis.Do(ctx, c.Redis.B().Smembers().Key(c.Keys.CertificateCallDays()).Build()).AsStrSlice()
	if err != nil {
		return result, fmt.Errorf("read the prefill call days: %w", err)
	}
	var days []string
	for _, day := range members {
		if day >= first && day < end {
			days = append(days, day)
		}
	}
	if len(days) == 0 {
		return result, nil
	}
	slices.Sort(days)

	commands := make(rueidis.Commands, 0, len(days)+len(districts)+1)
	for _, day := range days {
		commands = append(commands, c.Redis.B().Hgetall().Key(c.Keys.CertificateCalls(day)).Build())
	}
	var allCallers []string
	for _, district := range districts {
		keys := make([]string, 0, len(days))
		for _, day := range days {
			keys = append(keys, c.Keys.CertificateCallers(day, district))
		}
		allCallers = append(allCallers, keys...)
		commands = append(commands, c.Redis.B().Pfcount().Key(keys...).Build())
	}
	commands = append(commands, c.Redis.B().Pfcount().Key(allCallers...).Build())

	results := c.Redis.DoMulti(ctx, commands...)
	wanted := make(map[string]bool, len(districts))
	for _, district := range districts {
		wanted[district] = true
	}
	for i := range days {
		fields, err := results[i].AsStrMap()
		if err != nil {
			return result, fmt.Errorf("read the prefill calls of %s: %w", days[i], err)
		}
		for field, value := range fields {
			parts := strings.Split(field, ":")
			calls, err := strconv.ParseInt(value, 10, 64)
			if len(parts) != 3 || err != nil {
				return result, fmt.Errorf("read the prefill calls of %s: invalid counter %q = %q", days[i], field, value)
			}
			if wanted[parts[0]] {
				result.Counts = append(result.Counts, callCount{District: parts[0], CertificateType: parts[1], Outcome: parts[2], Calls: calls})
			}
		}
	}
	for i, district := range districts {
		callers, err := results[len(days)+i].AsInt64()
		if err != nil {
			return result, fmt.Errorf("count the callers of %s: %w", district, err)
		}
		result.CallersByDistrict[district] = callers
	}
	if result.Callers, err = results[len(results)-1].AsInt64(); err != nil {
		return result, fmt.Errorf("count the callers: %w", err)
	}
	return result, nil
}
