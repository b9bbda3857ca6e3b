package drain

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// maintain reclaims entries that another consumer left idle, trims
// acknowledged entries from the stream, advances the watermark and keeps
// the number counters above the stored numbers, until ctx ends.
func (d *Drainer) maintain(ctx context.Context) {
	claim := time.NewTicker(d.config.ClaimInterval)
	defer claim.Stop()
	trim := time.NewTicker(d.config.TrimInterval)
	defer trim.Stop()
	// Batches advance the watermark as they finish; the ticker covers what
	// they miss, such as entries another consumer acknowledged.
	watermark := time.NewTicker(time.Second)
	defer watermark.Stop()
	sequences := time.NewTicker(d.sequenceCheck())
	defer sequences.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sequences.C:
			if _, err := d.RaiseSequences(ctx); err != nil && ctx.Err() == nil {
				slog.Error("number counters not checked", "error", err)
			}
		case <-watermark.C:
			if err := d.AdvanceWatermark(ctx); err != nil && ctx.Err() == nil {
				slog.Error("watermark not advanced", "error", err)
			}
		case <-claim.C:
			if err := d.Reclaim(ctx); err != nil && ctx.Err() == nil {
				slog.Error("reclaim failed", "consumer", d.config.Consumer, "error", err)
			}
		case <-trim.C:
			if err := d.Trim(ctx); err != nil && ctx.Err() == nil {
				slog.Error("trim failed", "error", err)
			}
		}
	}
}

// Reclaim takes over entries pending for longer than ClaimIdle, from any
// consumer, and stores them. An entry delivered more than MaxDeliveries
// times (a crash on every attempt looks like this) is dead-lettered
// instead. XAUTOCLAIM scans a bounded range per call, so Reclaim loops
// until the cursor returns to 0-0.
func (d *Drainer) Reclaim(ctx context.Context) error {
	cursor := "0-0"
	for {
		command := d.redis.B().Xautoclaim().Key(d.keys.Stream()).Group(d.keys.ConsumerGroup()).
			Consumer(d.config.Consumer).MinIdleTime(strconv.FormatInt(d.config.ClaimIdle.Milliseconds(), 10)).
			Start(cursor).Count(int64(d.config.BatchSize)).Build()
		reply, err := d.redis.Do(ctx, command).ToArray()
		if err != nil {
			return err
		}
		if len(reply) < 2 {
			return nil
		}
		next, err := reply[0].ToString()
		if err != nil {
			return err
		}
		entries, err := reply[1].AsXRange()
		if err != nil {
			return err
		}
		if len(reply) >= 3 {
			d.recordDeleted(ctx, reply[2])
		}
		if len(entries) > 0 {
			d.metrics.Reclaimed.Add(float64(len(entries)))
			slog.Info("entries reclaimed", "consumer", d.config.Consumer, "entries", len(entries))
			entries, err = d.dropOverdelivered(ctx, entries)
			if err != nil {
				return err
			}
			if len(entries) > 0 {
				if err := d.handle(ctx, entries); err != nil {
					return err
				}
			}
		}
		if next == "0-0" || ctx.Err() != nil {
			return nil
		}
		cursor = next
	}
}

// recordDeleted dead-letters the IDs XAUTOCLAIM reports as deleted: entries
// that were pending but whose data is gone from the stream. Redis has
// already removed them from the pending list. The dead letter keeps a trace
// for the operators, but without a number no receipt can be updated.
func (d *Drainer) recordDeleted(ctx context.Context, deleted rueidis.RedisMessage) {
	ids, err := deleted.AsStrSlice()
	if err != nil || len(ids) == 0 {
		return
	}
	for _, id := range ids {
		d.deadLetter(ctx, rueidis.XRangeEntry{ID: id}, "", "", "entry deleted from the stream before it was stored")
	}
}

// dropOverdelivered dead-letters the entries delivered more than
// MaxDeliveries times and returns the rest.
func (d *Drainer) dropOverdelivered(ctx context.Context, entries []rueidis.XRangeEntry) ([]rueidis.XRangeEntry, error) {
	command := d.redis.B().Xpending().Key(d.keys.Stream()).Group(d.keys.ConsumerGroup()).
		Start(entries[0].ID).End(entries[len(entries)-1].ID).Count(int64(len(entries))).Consumer(d.config.Consumer).Build()
	pending, err := d.redis.Do(ctx, command).ToArray()
	if err != nil {
		return nil, err
	}
	deliveries := make(map[string]int64, len(pending))
	for _, item := range pending {
		fields, err := item.ToArray()
		if err != nil || len(fields) < 4 {
			continue
		}
		id, _ := fields[0].ToString()
		count, _ := fields[3].AsInt64()
		deliveries[id] = count
	}

	kept := entries[:0]
	for _, entry := range entries {
		if count := deliveries[entry.ID]; count > int64(d.config.MaxDeliveries) {
			d.deadLetter(ctx, entry, entry.FieldValues["kind"], entry.FieldValues["number"],
				"delivered "+strconv.FormatInt(count, 10)+" times without being stored")
			continue
		}
		kept = append(kept, entry)
	}
	return kept, nil
}

// Trim removes acknowledged entries from the stream: those older than both
// the oldest pending entry and the last entry delivered to the group.
func (d *Drainer) Trim(ctx context.Context) error {
	summary, err := d.redis.Do(ctx, d.redis.B().Xpending().Key(d.keys.Stream()).Group(d.keys.ConsumerGroup()).Build()).ToArray()
	if err != nil {
		return err
	}
	var oldestPending string
	if len(summary) >= 2 {
		oldestPending, _ = summary[1].ToString()
	}
	groups, err := d.redis.Do(ctx, d.redis.B().XinfoGroups().Key(d.keys.Stream()).Build()).ToArray()
	if err != nil {
		return err
	}
	var lastDelivered string
	for _, group := range groups {
		fields, err := group.AsMap()
		if err != nil {
			return err
		}
		name, last := fields["name"], fields["last-delivered-id"]
		if groupName, _ := name.ToString(); groupName == d.keys.ConsumerGroup() {
			lastDelivered, _ = last.ToString()
		}
	}
	if lastDelivered == "" || lastDelivered == "0-0" {
		return nil
	}
	point := lastDelivered
	if oldestPending != "" && enrol.LessStreamID(oldestPending, point) {
		point = oldestPending
	}
	return d.redis.Do(ctx, d.redis.B().Xtrim().Key(d.keys.Stream()).Minid().Almost().Threshold(point).Build()).Error()
}

// AdvanceWatermark raises the watermark to the first entry not yet known
// to be acknowledged: the oldest pending entry, or the one after the last
// delivered when none is pending. The group is read before the pending
// list, so an entry delivered in between is still pending when counted.
// The watermark only rises, however concurrent drainers interleave.
func (d *Drainer) AdvanceWatermark(ctx context.Context) error {
	results := d.redis.DoMulti(ctx,
		d.redis.B().XinfoGroups().Key(d.keys.Stream()).Build(),
		d.redis.B().Xpending().Key(d.keys.Stream()).Group(d.keys.ConsumerGroup()).Build())
	groups, err := results[0].ToArray()
	if err != nil {
		return err
	}
	var lastDelivered string
	for _, group := range groups {
		fields, err := group.AsMap()
		if err != nil {
			return err
		}
		name, last := fields["name"], fields["last-delivered-id"]
		if groupName, _ := name.ToString(); groupName == d.keys.ConsumerGroup() {
			lastDelivered, _ = last.ToString()
		}
	}
	summary, err := results[1].ToArray()
	if err != nil {
		return err
	}
	var pending int64
	var oldestPending string
	if len(summary) >= 2 {
		pending, _ = summary[0].AsInt64()
		oldestPending, _ = summary[1].ToString()
	}

	var watermark string
	switch {
	case pending > 0 && oldestPending != "":
		watermark = oldestPending
	case lastDelivered != "" && lastDelivered != "0-0":
		millis, sequence, _ := strings.Cut(lastDelivered, "-")
		next, err := strconv.ParseUint(sequence, 10, 64)
		if err != nil {
			return fmt.Errorf("last delivered ID %q: %w", lastDelivered, err)
		}
		watermark = millis + "-" + strconv.FormatUint(next+1, 10)
	default:
		return nil
	}
	return raiseWatermarkScript.Exec(ctx, d.redis, []string{d.keys.Watermark()}, []string{watermark}).Error()
}
