package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/shared/enrolment"
)

// backlog returns how many stream entries the back office has not yet
// stored: the consumer group's lag (never delivered) plus its pending
// entries (delivered, not acknowledged). exact is false when Redis reports
// no lag, so that the stream's length is returned as an upper bound.
func backlog(ctx context.Context, client rueidis.Client, keys enrolment.Keys) (entries int64, exact bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	groups, err := client.Do(ctx, client.B().XinfoGroups().Key(keys.Stream()).Build()).ToArray()
	if err != nil {
		return 0, false, fmt.Errorf("XINFO GROUPS %s: %w", keys.Stream(), err)
	}
	for _, group := range groups {
		fields, err := group.AsMap()
		if err != nil {
			return 0, false, fmt.Errorf("XINFO GROUPS %s: %w", keys.Stream(), err)
		}
		name, pendingField, lagField := fields["name"], fields["pending"], fields["lag"]
		if groupName, _ := name.ToString(); groupName != keys.ConsumerGroup() {
			continue
		}
		pending, err := pendingField.AsInt64()
		if err != nil {
			return 0, false, fmt.Errorf("XINFO GROUPS %s: pending: %w", keys.Stream(), err)
		}
		if lag, err := lagField.AsInt64(); err == nil {
			return lag + pending, true, nil
		}
		length, err := client.Do(ctx, client.B().Xlen().Key(keys.Stream()).Build()).AsInt64()
		if err != nil {
			return 0, false, fmt.Errorf("XLEN %s: %w", keys.Stream(), err)
		}
		return length, false, nil
	}
	return 0, false, fmt.Errorf("stream %s has no consumer group %q: is the back office running with REDIS_PREFIX=%q?",
		keys.Stream(), keys.ConsumerGroup(), keys.Prefix)
}

// waitDrained polls the backlog until it is empty or timeout passes, and
// returns how long that took.
func waitDrained(ctx context.Context, client rueidis.Client, keys enrolment.Keys, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	lastLog := start
	for {
		entries, exact, err := backlog(ctx, client, keys)
		if err != nil {
			return time.Since(start), err
		}
		if entries == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > timeout {
			return time.Since(start), fmt.Errorf("the back office still had %d entries to store after %s", entries, timeout)
		}
		if time.Since(lastLog) >= 10*time.Second {
			slog.Info("waiting for the back office to drain the stream", "backlog", entries, "exact", exact)
			lastLog = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func deadLetters(ctx context.Context, client rueidis.Client, keys enrolment.Keys) (int64, error) {
	length, err := client.Do(ctx, client.B().Xlen().Key(keys.DeadLetter()).Build()).AsInt64()
	if err != nil {
		return 0, fmt.Errorf("XLEN %s: %w", keys.DeadLetter(), err)
	}
	return length, nil
}

// storeCheck is the comparison of one run's accepted receipts with the
// registration table.
type storeCheck struct {
	// accepted counts the distinct receipt numbers of 202 responses.
	accepted int64
	// repeatedReceipts counts 202 responses that repeated an earlier number.
	repeatedReceipts int64
	// found counts accepted numbers present in the registration table.
	found int64
	// runRows counts rows accepted by the edge since the run started, and
	// runChildren the distinct children among them.
	runRows     int64
	runChildren int64
	// unexpected counts rows of the run whose number no 202 response
	// carried (a request that timed out in the driver may still be stored).
	unexpected int64
}

func (c storeCheck) lost() int64 { return c.accepted - c.found }

// duplicated counts rows beyond one per child in the run, plus receipt
// numbers handed out twice.
func (c storeCheck) duplicated() int64 {
	return c.runRows - c.runChildren + c.repeatedReceipts
}

// checkStore compares the accepted receipt numbers with the registration
// table: each must be there, and the run's rows (accepted_at at or after
// runStart) must be exactly those numbers, one per child.
func checkStore(ctx context.Context, databaseURL string, receipts []uint64, runStart time.Time) (storeCheck, error) {
	var check storeCheck
	numbers := slices.Clone(receipts)
	slices.Sort(numbers)
	numbers = slices.Compact(numbers)
	check.accepted = int64(len(numbers))
	check.repeatedReceipts = int64(len(receipts) - len(numbers))

	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return check, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	if _, err := conn.Exec(ctx, `CREATE TEMPORARY TABLE loadtest_accepted (registration_number char(12) PRIMARY KEY)`); err != nil {
		return check, fmt.Errorf("create the table of accepted numbers: %w", err)
	}
	rows := make([][]any, len(numbers))
	for i, number := range numbers {
		rows[i] = []any{formatReceipt(number)}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"loadtest_accepted"}, []string{"registration_number"}, pgx.CopyFromRows(rows)); err != nil {
		return check, fmt.Errorf("copy the accepted numbers: %w", err)
	}
	err = conn.QueryRow(ctx, `
		SELECT
			(SELECT count(*) FROM loadtest_accepted AS a JOIN registration AS r USING (registration_number)),
			(SELECT count(*) FROM registration WHERE accepted_at >= $1),
			(SELECT count(DISTINCT child_index) FROM registration WHERE accepted_at >= $1),
			(SELECT count(*) FROM registration AS r WHERE r.accepted_at >= $1
				AND NOT EXISTS (SELECT 1 FROM loadtest_accepted AS a WHERE a.registration_number = r.registration_number))`,
		runStart).Scan(&check.found, &check.runRows, &check.runChildren, &check.unexpected)
	if err != nil {
		return check, fmt.Errorf("compare the accepted numbers with the registration table: %w", err)
	}
	return check, nil
}

// formatReceipt returns a receipt number as the 12 digits the edge sent.
func formatReceipt(number uint64) string {
	text := strconv.FormatUint(number, 10)
	for len(text) < 12 {
		text = "0" + text
	}
	return text
}
