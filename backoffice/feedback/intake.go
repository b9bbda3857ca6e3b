// Package feedback is the back office's side of parents' 办不成事
// (could-not-get-it-done) feedback. Intake stores the reports the edge put
// on the Redis stream, and Forwarder delivers them to the city's
// service-rating system (好差评) with retries. Handlers list them with
// counts for staff.
package feedback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"github.com/redis/rueidis"

	shared "github.com/sh-preschool/preschool/shared/feedback"
	"github.com/sh-preschool/preschool/shared/redisclient"
)

// Intake moves reports from the stream into service_feedback. Several
// back offices may run one each under different consumer names: the
// consumer group gives each entry to one of them, and the unique stream
// entry ID stores a redelivered entry once.
type Intake struct {
	DB     *sqlx.DB
	Redis  rueidis.Client
	Prefix string
	// Consumer is this back office's name in the consumer group.
	Consumer  string
	BatchSize int
	// Block is how long one read waits for new entries.
	Block time.Duration
	// ClaimIdle is how long an entry stays pending with another consumer
	// (which crashed) before this one takes it over.
	ClaimIdle time.Duration
}

// Run stores reports until ctx ends. It first takes its own entries left
// pending by an earlier run, then reads new ones.
func (in *Intake) Run(ctx context.Context) {
	slog.Info("feedback intake started", "consumer", in.Consumer)
	defer slog.Info("feedback intake stopped", "consumer", in.Consumer)
	for ctx.Err() == nil {
		if err := in.EnsureGroup(ctx); err == nil {
			break
		} else if ctx.Err() == nil {
			slog.Error("feedback consumer group not created; retrying", "error", err)
			sleep(ctx, time.Second)
		}
	}
	startID := "0"
	lastClaim := time.Time{}
	for ctx.Err() == nil {
		if time.Since(lastClaim) > in.ClaimIdle {
			if _, err := in.Reclaim(ctx); err != nil && ctx.Err() == nil {
				slog.Error("feedback reclaim failed", "consumer", in.Consumer, "error", err)
			}
			lastClaim = time.Now()
		}
		stored, err := in.ReadOnce(ctx, startID)
		if redisclient.IsNoGroup(err) {
			// Redis restarted empty: reports sent from now on must still
			// reach the rating system.
			slog.Warn("the feedback consumer group is missing from Redis; creating it again", "consumer", in.Consumer, "error", err)
			if err = in.EnsureGroup(ctx); err == nil {
				startID = "0"
				continue
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				slog.Error("feedback intake round failed; retrying", "consumer", in.Consumer, "error", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if startID == "0" && stored == 0 {
			startID = ">"
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// EnsureGroup creates the consumer group, reading from the stream's start.
func (in *Intake) EnsureGroup(ctx context.Context) error {
	stream := shared.Stream(in.Prefix)
	err := in.Redis.Do(ctx, in.Redis.B().XgroupCreate().Key(stream).Group(shared.ConsumerGroup).Id("0").Mkstream().Build()).Error()
	if err != nil && !redisclient.IsBusyGroup(err) {
		return fmt.Errorf("create feedback consumer group: %w", err)
	}
	return nil
}

// ReadOnce reads one batch from startID ("0" for this consumer's pending
// entries, ">" for new ones), stores it and acknowledges it. It returns
// how many entries it handled.
func (in *Intake) ReadOnce(ctx context.Context, startID string) (int, error) {
	stream := shared.Stream(in.Prefix)
	command := in.Redis.B().Xreadgroup().Group(shared.ConsumerGroup, in.Consumer).Count(int64(in.BatchSize)).
		Block(in.Block.Milliseconds()).Streams().Key(stream).Id(startID).Build()
	streams, err := in.Redis.Do(ctx, command).AsXRead()
	if rueidis.IsRedisNil(err) {
		return 0, nil // the BLOCK timed out
	}
	if err != nil {
		return 0, fmt.Errorf("read feedback stream: %w", err)
	}
	entries := streams[stream]
	return len(entries), in.store(ctx, entries)
}

// Reclaim takes over entries pending with any consumer for longer than
// ClaimIdle and stores them. XAUTOCLAIM scans a bounded range per call, so
// it loops until the cursor returns to 0-0.
func (in *Intake) Reclaim(ctx context.Context) (int, error) {
	stream := shared.Stream(in.Prefix)
	cursor, total := "0-0", 0
	for {
		command := in.Redis.B().Xautoclaim().Key(stream).Group(shared.ConsumerGroup).Consumer(in.Consumer).
			MinIdleTime(strconv.FormatInt(in.ClaimIdle.Milliseconds(), 10)).Start(cursor).Count(int64(in.BatchSize)).Build()
		reply, err := in.Redis.Do(ctx, command).ToArray()
		if err != nil {
			return total, fmt.Errorf("reclaim feedback entries: %w", err)
		}
		if len(reply) < 2 {
			return total, nil
		}
		if cursor, err = reply[0].ToString(); err != nil {
			return total, err
		}
		entries, err := reply[1].AsXRange()
		if err != nil {
			return total, err
		}
		if err := in.store(ctx, entries); err != nil {
			return total, err
		}
		total += len(entries)
		if cursor == "0-0" {
			return total, nil
		}
	}
}

// store inserts the entries in one transaction and then acknowledges them.
// Two kinds of entry are logged and acknowledged without a row, because no
// retry can fix them. One is a malformed entry, including one whose data
// was trimmed and comes back with nil fields. The other is an entry whose
// insert PostgreSQL rejects for its values (SQLSTATE class 22 or 23). Each
// insert runs under a savepoint, so such an entry neither fails the rest
// of the batch nor stays pending to stop the next run's read from "0".
// Any other error rolls back the batch and leaves it pending.
// NOTE: unlike the submissions stream, there is no dead-letter stream here,
// so the log line is the only trace of a dropped report.
func (in *Intake) store(ctx context.Context, entries []rueidis.XRangeEntry) error {
	if len(entries) == 0 {
		return nil
	}
	tx, err := in.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ids := make([]string, 0, len(entries))
	for _, raw := range entries {
		ids = append(ids, raw.ID)
		entry, err := shared.ParseEntry(raw.FieldValues)
		if err != nil {
			slog.Error("feedback entry dropped", "entry_id", raw.ID, "error", err)
			continue
		}
		if err := insertEntry(ctx, tx, raw.ID, entry); err != nil {
			if !rejectedData(err) {
				return fmt.Errorf("store feedback entry %s: %w", raw.ID, err)
			}
			slog.Error("feedback entry dropped", "entry_id", raw.ID, "error", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return in.Redis.Do(ctx, in.Redis.B().Xack().Key(shared.Stream(in.Prefix)).Group(shared.ConsumerGroup).Id(ids...).Build()).Error()
}

// insertEntry inserts one report under a savepoint and rolls back to it
// when the insert fails, so the transaction stays usable.
func insertEntry(ctx context.Context, tx *sqlx.Tx, entryID string, entry shared.Entry) error {
	const insert = `
		INSERT INTO service_feedback (stream_entry_id, category, body, page, step, trigger, district_code,
		                              phone, phone_masked, key_id, submitted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (stream_entry_id) DO NOTHING`
	if _, err := tx.ExecContext(ctx, `SAVEPOINT feedback_entry`); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, insert, entryID, entry.Category, entry.Body, entry.Page, entry.Step, entry.Trigger,
		nullString(entry.DistrictCode), nullBytes(entry.SealedPhone), nullString(entry.PhoneMasked), entry.KeyID, entry.SubmittedAt)
	if err == nil {
		_, err = tx.ExecContext(ctx, `RELEASE SAVEPOINT feedback_entry`)
		return err
	}
	if _, rollbackErr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT feedback_entry`); rollbackErr != nil {
		return errors.Join(err, rollbackErr)
	}
	return err
}

// rejectedData reports whether PostgreSQL rejected an insert for the values
// it carried (SQLSTATE class 22 data exception or 23 integrity constraint
// violation), which the same values would hit again on every retry.
func rejectedData(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23")
}

func nullString(value string) any {
	if value == "" {
		return nil
	}
	return value
}

func nullBytes(value []byte) any {
	if len(value) == 0 {
		return nil
	}
	return value
}
