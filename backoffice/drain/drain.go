// Package drain moves accepted submissions from the Redis stream into
// PostgreSQL. It reads with a consumer group, stores each batch in one
// transaction, writes the status the parent polls, and acknowledges only
// after the commit, so a crash at any point loses nothing and stores
// nothing twice. Entries left pending by a dead consumer are reclaimed with
// XAUTOCLAIM; an entry that keeps failing goes to a dead-letter stream with
// the reason.
package drain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/redisclient"
)

// Config tunes a Drainer.
type Config struct {
	// Consumer names this reader within the group; a restarted process with
	// the same name first re-reads what it left pending.
	Consumer  string
	BatchSize int
	Block     time.Duration
	// Linger is how long a short read of new entries waits for more before
	// the batch is stored (see topUp). Zero stores every read at once.
	Linger        time.Duration
	ClaimIdle     time.Duration
	ClaimInterval time.Duration
	// MaxDeliveries is how many failed attempts an entry gets before it is
	// dead-lettered.
	MaxDeliveries int
	TrimInterval  time.Duration
	// ReceiptTTL is given to a receipt the drainer has to create because
	// Redis lost it.
	ReceiptTTL time.Duration
	// SequenceCheck is how often the drainer compares Redis's number
	// counters with the numbers stored (see RaiseSequences); zero means
	// every 10 seconds.
	SequenceCheck time.Duration
}

// Drainer drains the submissions stream.
type Drainer struct {
	redis   rueidis.Client
	keys    enrol.Keys
	store   *enrolment.Store
	config  Config
	metrics *Metrics
	now     func() time.Time

	// BeforeAck, when set, runs after a batch is committed and before it is
	// acknowledged; a returned error stops the drainer there, as a crash
	// would. Tests use it.
	BeforeAck func(ids []string) error
	// OnLostWrites, when set, is called when the drainer finds that Redis
	// lost writes that had reached the database: a number counter behind
	// the stored numbers, a batch that met a stored number, or one that met
	// a stored child, which the child's claim in Redis should have turned
	// away at the edge. It must not block. The back office writes the lost receipts back then
	// (backoffice/receipts).
	OnLostWrites func()
}

// Metrics counts the drainer's work.
type Metrics struct {
	Stored      *prometheus.CounterVec
	DeadLetters prometheus.Counter
	Reclaimed   prometheus.Counter
	Batch       prometheus.Histogram
	// SequencesRaised counts number counters found behind the database.
	SequencesRaised prometheus.Counter
}

// NewMetrics creates the drainer's metrics and registers them.
func NewMetrics(registry prometheus.Registerer) *Metrics {
	m := &Metrics{
		Stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backoffice_drained_total", Help: "Stream entries handled, by kind and outcome (stored, rejected_duplicate, registration_deleted, number_taken, registration_taken, dead_lettered).",
		}, []string{"kind", "outcome"}),
		DeadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backoffice_dead_letters_total", Help: "Entries moved to the dead-letter stream.",
		}),
		Reclaimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backoffice_reclaimed_total", Help: "Entries reclaimed from idle consumers with XAUTOCLAIM.",
		}),
		Batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "backoffice_drain_batch_seconds", Help: "Time to store and acknowledge one batch.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		SequencesRaised: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backoffice_sequences_raised_total",
			Help: "Number counters in Redis found below the numbers stored and raised (Redis lost writes).",
		}),
	}
	registry.MustRegister(m.Stored, m.DeadLetters, m.Reclaimed, m.Batch, m.SequencesRaised)
	return m
}

// New returns a Drainer. metrics may be nil.
func New(redis rueidis.Client, keys enrol.Keys, store *enrolment.Store, config Config, metrics *Metrics) *Drainer {
	if metrics == nil {
		metrics = NewMetrics(prometheus.NewRegistry())
	}
	return &Drainer{redis: redis, keys: keys, store: store, config: config, metrics: metrics, now: time.Now}
}

// errStopped is returned when BeforeAck stops the drainer.
var errStopped = errors.New("drainer stopped before acknowledging")

// EnsureGroup creates the consumer group, reading from the stream's start
// so that entries added before the back office first ran are drained too.
func (d *Drainer) EnsureGroup(ctx context.Context) error {
	err := d.redis.Do(ctx, d.redis.B().XgroupCreate().Key(d.keys.Stream()).Group(d.keys.ConsumerGroup()).Id("0").Mkstream().Build()).Error()
	if err != nil && !redisclient.IsBusyGroup(err) {
		return fmt.Errorf("create consumer group: %w", err)
	}
	return nil
}

// Run drains until ctx ends: it reads new entries, and in the background
// reclaims idle ones and trims acknowledged ones.
func (d *Drainer) Run(ctx context.Context) error {
	if err := d.EnsureGroup(ctx); err != nil {
		return err
	}
	if _, err := d.RaiseSequences(ctx); err != nil {
		slog.Error("number counters not checked at start; the next check is in "+d.sequenceCheck().String(), "error", err)
	}
	// The background work stops with the read loop, so an error there (as
	// when BeforeAck stops the drainer) stops everything, like a crash.
	maintainCtx, stopMaintain := context.WithCancel(ctx)
	claimDone := make(chan struct{})
	go func() {
		defer close(claimDone)
		d.maintain(maintainCtx)
	}()
	err := d.readLoop(ctx)
	stopMaintain()
	<-claimDone
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (d *Drainer) readLoop(ctx context.Context) error {
	// "0" re-reads this consumer's own pending entries after a restart, in
	// one pass: the start moves past each batch, so an entry that still
	// fails waits for Reclaim (which spaces retries by ClaimIdle) instead of
	// being retried at once. Then ">" reads new entries.
	startID := "0"
	failures := 0
	for ctx.Err() == nil {
		entries, err := d.read(ctx, startID, d.config.BatchSize, true)
		if redisclient.IsNoGroup(err) {
			// Redis restarted empty or failed over to a replica without the
			// group: the entries the edges add from now on must still drain.
			slog.Warn("the consumer group is missing from Redis; creating it again", "consumer", d.config.Consumer, "error", err)
			if err = d.EnsureGroup(ctx); err == nil {
				startID = "0"
				continue
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			slog.Error("stream read failed", "consumer", d.config.Consumer, "error", err, "failures", failures)
			sleep(ctx, backoff(failures))
			continue
		}
		failures = 0
		if len(entries) == 0 {
			startID = ">"
			continue
		}
		if startID == ">" {
			entries = d.topUp(ctx, entries)
		} else {
			startID = entries[len(entries)-1].ID
			// A pending entry that crashed this process on every attempt
			// must not crash it again on each restart.
			if entries, err = d.dropOverdelivered(ctx, entries); err != nil {
				slog.Error("delivery counts unreadable", "consumer", d.config.Consumer, "error", err)
				continue
			}
			if len(entries) == 0 {
				continue
			}
		}
		if err := d.handle(ctx, entries); err != nil {
			return err
		}
	}
	return nil
}

// topUp waits Linger after a read of new entries that came back short of
// BatchSize, and reads once more without blocking. Under load, each
// transaction then stores close to BatchSize rows, which matters because
// the rollup triggers and the commit cost per statement. In a 30 s closed
// run, four drainers storing about 130 rows per batch cost PostgreSQL
// 54 µs of CPU per row, and one drainer storing about 940 rows cost 31 µs
// (docs/benchmarks.md). When the stream is quiet, 已入库 shows Linger later.
func (d *Drainer) topUp(ctx context.Context, entries []rueidis.XRangeEntry) []rueidis.XRangeEntry {
	if d.config.Linger <= 0 || len(entries) >= d.config.BatchSize {
		return entries
	}
	sleep(ctx, d.config.Linger)
	if ctx.Err() != nil {
		return entries
	}
	more, err := d.read(ctx, ">", d.config.BatchSize-len(entries), false)
	if err != nil {
		// Whatever that read delivered stays pending for this consumer and
		// is reclaimed after ClaimIdle. The batch in hand is stored.
		slog.Error("stream read failed", "consumer", d.config.Consumer, "error", err)
		return entries
	}
	return append(entries, more...)
}

// read reads up to count entries after startID, waiting up to Block for
// new ones when block is set.
func (d *Drainer) read(ctx context.Context, startID string, count int, block bool) ([]rueidis.XRangeEntry, error) {
	read := d.redis.B().Xreadgroup().Group(d.keys.ConsumerGroup(), d.config.Consumer).Count(int64(count))
	var command rueidis.Completed
	if block {
		command = read.Block(d.config.Block.Milliseconds()).Streams().Key(d.keys.Stream()).Id(startID).Build()
	} else {
		command = read.Streams().Key(d.keys.Stream()).Id(startID).Build()
	}
	streams, err := d.redis.Do(ctx, command).AsXRead()
	if rueidis.IsRedisNil(err) {
		return nil, nil // BLOCK timed out
	}
	if err != nil {
		return nil, err
	}
	return streams[d.keys.Stream()], nil
}

// handle stores a batch and acknowledges it, retrying while the database is
// unavailable. It returns an error only when BeforeAck stopped it.
func (d *Drainer) handle(ctx context.Context, entries []rueidis.XRangeEntry) error {
	start := d.now()
	batch := decode(entries)
	for _, bad := range batch.malformed {
		d.deadLetter(ctx, bad.entry, bad.kind, bad.number, bad.reason)
	}

	attempt := 0
	for {
		result, err := d.store.InsertBatch(ctx, batch.registrations, batch.applications)
		if err == nil {
			if err := d.finish(ctx, batch.entries, result); err != nil {
				return err
			}
			break
		}
		if errors.Is(err, enrolment.ErrPermanent) {
			if err := d.handleEach(ctx, batch); err != nil {
				return err
			}
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		attempt++
		slog.Error("batch not stored, retrying", "consumer", d.config.Consumer, "entries", len(batch.entries), "attempt", attempt, "error", err)
		sleep(ctx, backoff(attempt))
	}
	d.metrics.Batch.Observe(d.now().Sub(start).Seconds())
	return nil
}

// handleEach stores the entries of a rejected batch one by one, so one bad
// record cannot hold back the others.
func (d *Drainer) handleEach(ctx context.Context, batch *decodedBatch) error {
	for _, item := range batch.entries {
		var registrations []enrol.RegistrationRecord
		var applications []enrol.ApplicationRecord
		if item.kind == enrol.KindRegistration {
			registrations = []enrol.RegistrationRecord{batch.registrations[item.index]}
		} else {
			applications = []enrol.ApplicationRecord{batch.applications[item.index]}
		}
		for attempt := 1; ; attempt++ {
			result, err := d.store.InsertBatch(ctx, registrations, applications)
			if err == nil {
				if err := d.finish(ctx, []decodedEntry{item}, result); err != nil {
					return err
				}
				break
			}
			if errors.Is(err, enrolment.ErrPermanent) {
				d.recordFailure(ctx, item, err)
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			slog.Error("entry not stored, retrying", "entry_id", item.entry.ID, "number", item.number, "attempt", attempt, "error", err)
			sleep(ctx, backoff(attempt))
		}
	}
	return nil
}

// recordFailure counts a failed attempt at an entry and dead-letters it at
// the limit; below it the entry stays pending and is retried when
// reclaimed.
func (d *Drainer) recordFailure(ctx context.Context, item decodedEntry, cause error) {
	count, err := d.redis.Do(ctx, d.redis.B().Hincrby().Key(d.keys.Deliveries()).Field(item.entry.ID).Increment(1).Build()).AsInt64()
	if err != nil {
		slog.Error("failure count not recorded", "entry_id", item.entry.ID, "error", err)
		return
	}
	slog.Warn("entry rejected by the database", "entry_id", item.entry.ID, "number", item.number, "attempt", count, "error", cause)
	if count >= int64(d.config.MaxDeliveries) {
		d.deadLetter(ctx, item.entry, item.kind, item.number, fmt.Sprintf("rejected %d times by the database: %v", count, cause))
	}
}

// finish writes the parents' statuses for a committed batch, then
// acknowledges it. Statuses go first: once an entry is acknowledged nothing
// would retry its status.
func (d *Drainer) finish(ctx context.Context, entries []decodedEntry, result enrolment.BatchResult) error {
	// A stored entry needs no write: once acknowledged it lies below the
	// watermark, which the parent's status reads (enrol.EffectiveStatus).
	// Only the other outcomes are written, before the acknowledgement.
	var keys []string
	args := []string{d.now().UTC().Format(time.RFC3339Nano), strconv.FormatInt(int64(d.config.ReceiptTTL/time.Second), 10)}
	ids := make([]string, 0, len(entries))
	var deleted, numberTaken, otherContents, duplicates []decodedEntry
	for _, item := range entries {
		ids = append(ids, item.entry.ID)
		outcome := result[item.number]
		if outcome.Stored {
			if outcome.OtherContents {
				otherContents = append(otherContents, item)
			}
			d.metrics.Stored.WithLabelValues(item.kind, "stored").Inc()
			continue
		}
		if outcome.RegistrationDeleted {
			slog.Warn("application not stored: its registration was deleted while it waited in the stream",
				"number", item.number, "entry_id", item.entry.ID)
			deleted = append(deleted, item)
			d.metrics.Stored.WithLabelValues(item.kind, "registration_deleted").Inc()
			continue
		}
		if outcome.NumberTaken || outcome.RegistrationTaken {
			item.registrationTaken = outcome.RegistrationTaken
			numberTaken = append(numberTaken, item)
			continue
		}
		slog.Warn("record not stored: the child already has another", "number", item.number, "first_number", outcome.FirstNumber, "kind", item.kind)
		duplicates = append(duplicates, item)
		keys = append(keys, d.keys.Receipt(item.number))
		if outcome.OtherFamily {
			args = append(args, enrol.StatusRejectedDuplicate, "", enrol.RegisteredElsewhereNote)
		} else {
			args = append(args, enrol.StatusRejectedDuplicate, outcome.FirstNumber, "")
		}
		d.metrics.Stored.WithLabelValues(item.kind, "rejected_duplicate").Inc()
	}

	for attempt := 1; len(keys) > 0; attempt++ {
		err := setStatusesScript.Exec(ctx, d.redis, keys, args).Error()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		slog.Error("statuses not written, retrying", "entries", len(keys), "attempt", attempt, "error", err)
		sleep(ctx, backoff(attempt))
	}
	for _, item := range deleted {
		if !d.releaseDeleted(ctx, item) {
			return nil
		}
	}
	for _, item := range otherContents {
		if !d.keepOtherContents(ctx, item) {
			return nil
		}
	}
	// A stored number drawn again shows that Redis lost writes. The counters
	// are raised before the claims are released, so that the family's new
	// submission draws a number no record holds. When the raise fails the
	// claims are released all the same, and a new submission that comes
	// before the next check can draw a stored number again, which ends here
	// again.
	if len(numberTaken) > 0 || len(otherContents) > 0 {
		if _, err := d.raiseSequences(ctx, true); err != nil {
			slog.Error("number counters not raised after a stored number was drawn again", "error", err)
		}
	}
	for _, item := range numberTaken {
		if !d.releaseTaken(ctx, item) {
			return nil
		}
	}
	if len(numberTaken) > 0 || len(otherContents) > 0 || len(duplicates) > 0 {
		d.lostWrites()
	}
	if d.BeforeAck != nil {
		if err := d.BeforeAck(ids); err != nil {
			return fmt.Errorf("%w: %w", errStopped, err)
		}
	}
	d.acknowledge(ctx, ids)
	if err := d.AdvanceWatermark(ctx); err != nil && ctx.Err() == nil {
		slog.Warn("watermark not advanced; parents see 已入库 after the next batch", "error", err)
	}
	return nil
}

// deletedRegistrationNote is the note of an application whose registration
// was deleted before the application was stored.
const deletedRegistrationNote = "已删除：该报名对应的登记已按区招生部门的申请删除。如需报名，请重新进行信息登记。"

// releaseDeleted marks the receipt of an application whose registration
// was deleted as deleted (已删除), and releases the child's application
// claim, so that the family may register and apply again. It returns false
// only when ctx ends before the script succeeds.
func (d *Drainer) releaseDeleted(ctx context.Context, item decodedEntry) bool {
	keys := []string{d.keys.Receipt(item.number), d.keys.ApplicationClaim(item.year, item.childIndex)}
	args := []string{enrol.StatusDeleted, deletedRegistrationNote, item.number}
	return d.retry(ctx, "status of an application with a deleted registration not written", []any{"number", item.number}, func() error {
		return enrolment.ReleaseScript.Exec(ctx, d.redis, keys, args).Error()
	})
}

// retry runs step until it succeeds, logging each failure with failure,
// logArgs and the attempt, and waiting longer after each. It returns false
// only when ctx ends first.
func (d *Drainer) retry(ctx context.Context, failure string, logArgs []any, step func() error) bool {
	for attempt := 1; ; attempt++ {
		err := step()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		slog.Error(failure+", retrying", append(slices.Clip(logArgs), "attempt", attempt, "error", err)...)
		sleep(ctx, backoff(attempt))
	}
}

// acknowledge removes ids from the group's pending list and deletes their
// failure counts. A failed XACK leaves them pending; a later delivery finds
// them stored and acknowledges them then.
func (d *Drainer) acknowledge(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	results := d.redis.DoMulti(ctx,
		d.redis.B().Xack().Key(d.keys.Stream()).Group(d.keys.ConsumerGroup()).Id(ids...).Build(),
		d.redis.B().Hdel().Key(d.keys.Deliveries()).Field(ids...).Build())
	if err := firstError(results); err != nil {
		slog.Error("acknowledge failed; the entries will be delivered again", "entries", len(ids), "error", err)
	}
}

func firstError(results []rueidis.RedisResult) error {
	for _, result := range results {
		if err := result.Error(); err != nil {
			return err
		}
	}
	return nil
}

// deadLetter moves an entry to the dead-letter stream with the reason,
// marks its receipt failed and acknowledges it.
func (d *Drainer) deadLetter(ctx context.Context, entry rueidis.XRangeEntry, kind, number, reason string) {
	if err := d.writeDeadLetter(ctx, entry, kind, number, reason); err != nil {
		slog.Error("dead-letter write failed; the entry stays pending", "entry_id", entry.ID, "error", err)
		return
	}
	slog.Error("entry dead-lettered", "entry_id", entry.ID, "kind", kind, "number", number, "reason", reason)
	if number != "" {
		ttl := strconv.FormatInt(int64(d.config.ReceiptTTL/time.Second), 10)
		result := setStatusesScript.Exec(ctx, d.redis, []string{d.keys.Receipt(number)},
			[]string{d.now().UTC().Format(time.RFC3339Nano), ttl, enrol.StatusFailed, "", "提交未能入库，请联系所在区招生服务点。"})
		if err := result.Error(); err != nil {
			slog.Error("status of a dead-lettered entry not written", "number", number, "error", err)
		}
	}
	d.metrics.Stored.WithLabelValues(kind, "dead_lettered").Inc()
	d.acknowledge(ctx, []string{entry.ID})
	if err := d.AdvanceWatermark(ctx); err != nil && ctx.Err() == nil {
		slog.Warn("watermark not advanced after a dead letter", "error", err)
	}
}

// deadLetterMarkTTL is how long the drainer remembers that it
// dead-lettered an entry. A pending entry comes back within ClaimIdle
// while any drainer runs, so a week also covers a back office that stays
// down for days.
const deadLetterMarkTTL = 7 * 24 * time.Hour

// deadLetterScript copies an entry to the dead-letter stream unless an
// earlier delivery of it did. A drainer that stops after the copy and
// before the acknowledgement leaves the entry pending, and the next one
// would otherwise add a second copy.
//
// KEYS[1] dead-letter stream, KEYS[2] the entry's mark. ARGV[1] the mark's
// TTL in seconds, ARGV[2..] the copy's field/value pairs. Returns 1 when
// it added the copy. The "#!lua" line makes Redis refuse the script up
// front when it is out of memory, so no mark is set without its copy.
var deadLetterScript = rueidis.NewLuaScript(`#!lua
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
return 1
`)

// writeDeadLetter copies an entry, with its record, to the dead-letter
// stream with the reason, once per entry.
func (d *Drainer) writeDeadLetter(ctx context.Context, entry rueidis.XRangeEntry, kind, number, reason string) error {
	args := []string{strconv.FormatInt(int64(deadLetterMarkTTL/time.Second), 10),
		"original_id", entry.ID, "kind", kind, "number", number, "reason", reason,
		"failed_at", d.now().UTC().Format(time.RFC3339Nano)}
	if body, ok := entry.FieldValues[enrol.StreamFieldBody]; ok {
		args = append(args, "body", body)
	}
	added, err := deadLetterScript.Exec(ctx, d.redis, []string{d.keys.DeadLetter(), d.keys.DeadLettered(entry.ID)}, args).AsInt64()
	if err != nil {
		return err
	}
	if added == 1 {
		d.metrics.DeadLetters.Inc()
	} else {
		slog.Warn("entry was dead-lettered before; no second copy", "entry_id", entry.ID, "number", number)
	}
	return nil
}

func backoff(attempt int) time.Duration {
	wait := time.Duration(attempt) * 500 * time.Millisecond
	return min(wait, 10*time.Second)
}

func sleep(ctx context.Context, wait time.Duration) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}
