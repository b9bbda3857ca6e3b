package drain

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// StoredBefore reports whether every submission that the stream took before
// the given time has left it: delivered to a drainer and acknowledged, so
// stored in PostgreSQL or dead-lettered. Admission confirms a district's
// list only then, so an application accepted just before the window closed
// is not left outside the confirmed list while it waits in the stream.
func StoredBefore(ctx context.Context, client rueidis.Client, keys enrol.Keys, before time.Time) (bool, error) {
	limit := strconv.FormatInt(before.UnixMilli(), 10) + "-0"
	results := client.DoMulti(ctx,
		client.B().XinfoGroups().Key(keys.Stream()).Build(),
		client.B().Xpending().Key(keys.Stream()).Group(keys.ConsumerGroup()).Build())

	// Entries after the group's last delivered ID wait for a drainer. With
	// no group (or no stream) every entry of the stream still waits.
	start := "-"
	groups, err := results[0].ToArray()
	if err != nil && !rueidis.IsRedisNil(err) && !isNoSuchKey(err) {
		return false, fmt.Errorf("read the consumer groups: %w", err)
	}
	for _, group := range groups {
		fields, err := group.AsMap()
		if err != nil {
			return false, err
		}
		name, last := fields["name"], fields["last-delivered-id"]
		if groupName, _ := name.ToString(); groupName == keys.ConsumerGroup() {
			lastID, _ := last.ToString()
			start = "(" + lastID
		}
	}
	waiting, err := client.Do(ctx, client.B().Xrange().Key(keys.Stream()).Start(start).End(limit).Count(1).Build()).ToArray()
	if err != nil && !rueidis.IsRedisNil(err) {
		return false, fmt.Errorf("look for undelivered submissions: %w", err)
	}
	if len(waiting) > 0 {
		return false, nil
	}

	// Delivered entries not yet acknowledged are being stored.
	summary, err := results[1].ToArray()
	if err != nil {
		if rueidis.IsRedisNil(err) || isNoSuchKey(err) {
			return true, nil
		}
		return false, fmt.Errorf("read the pending submissions: %w", err)
	}
	if len(summary) >= 2 {
		pending, _ := summary[0].AsInt64()
		oldest, _ := summary[1].ToString()
		if pending > 0 && oldest != "" && enrol.LessStreamID(oldest, limit) {
			return false, nil
		}
	}
	return true, nil
}

// isNoSuchKey reports whether err is the Redis error for a stream or group
// that does not exist.
func isNoSuchKey(err error) bool {
	message := err.Error()
	return strings.Contains(message, "no such key") || strings.Contains(message, "NOGROUP")
}
