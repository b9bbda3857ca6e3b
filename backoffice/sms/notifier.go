package sms

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/shared/crypto"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// overlap is how far behind the newest recorded_at seen the notifier looks
// again. recorded_at is set when the drainer's transaction starts, so a
// batch that commits late carries times older than batches that committed
// before it. NOTE: a drainer transaction longer than this would be missed;
// drainer batches take well under a second on the benchmark machine.
const overlap = time.Minute

// Notifier queues the 报名成功 message for every application the drainer
// stores. Several back offices may run one each: the outbox's unique index
// keeps one message per application.
type Notifier struct {
	DB      *sqlx.DB
	Keyring *crypto.Keyring
	// DistrictName returns a district's Chinese name.
	DistrictName func(code string) (string, bool)
	Interval     time.Duration
	BatchSize    int
	// Since is the recorded_at where the first round starts. Applications
	// recorded before it get no message.
	Since time.Time
}

// Run queues messages until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	for ctx.Err() == nil {
		queued, err := n.QueueNew(ctx)
		if err != nil && ctx.Err() == nil {
			slog.Error("application SMS round failed", "since", n.Since, "error", err)
		}
		if queued == n.BatchSize {
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(n.Interval):
		}
	}
}

type storedApplication struct {
	Number             string    `db:"application_number"`
	RegistrationNumber string    `db:"registration_number"`
	DistrictCode       string    `db:"district_code"`
	EntryID            int64     `db:"entry_id"`
	RecordedAt         time.Time `db:"recorded_at"`
	ChildName          []byte    `db:"child_name"`
	Guardians          []byte    `db:"guardians"`
}

// QueueNew queues the message of up to BatchSize live applications
// recorded since n.Since that have none yet, then moves n.Since forward.
// It returns how many applications it looked at.
func (n *Notifier) QueueNew(ctx context.Context) (int, error) {
	const q = `
		SELECT a.application_number, a.registration_number, a.district_code, a.entry_id, a.recorded_at,
		       r.child_name, r.guardians
		FROM application a
		JOIN registration r ON r.registration_number = a.registration_number
		WHERE a.recorded_at >= $1 AND a.status NOT IN ('returned', 'deleted')
		  AND NOT EXISTS (SELECT 1 FROM sms_outbox o
		                  WHERE o.record_number = a.application_number AND o.event = 'application_succeeded')
		ORDER BY a.recorded_at, a.application_number
		LIMIT $2`
	var rows []storedApplication
	if err := n.DB.SelectContext(ctx, &rows, q, n.Since, n.BatchSize); err != nil {
		return 0, fmt.Errorf("select new applications: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}

	tx, err := n.DB.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	for _, row := range rows {
		if err := n.queue(ctx, tx, row); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}

	newest := rows[len(rows)-1].RecordedAt.Add(-overlap)
	if newest.After(n.Since) {
		n.Since = newest
	}
	return len(rows), nil
}

func (n *Notifier) queue(ctx context.Context, tx *sqlx.Tx, row storedApplication) error {
	childName, errName := n.Keyring.Open(row.ChildName, enrol.ContextChildName)
	phone, errPhone := GuardianPhone(n.Keyring, row.Guardians, enrol.ContextGuardians)
	if errName != nil || errPhone != nil {
		slog.Error("no application SMS: the registration does not open", "application", row.Number,
			"name_error", errName, "guardians_error", errPhone)
		return n.recordUnsendable(ctx, tx, row, "登记信息无法解密")
	}
	if phone == "" {
		slog.Warn("no application SMS: the family left no phone number", "application", row.Number)
		return n.recordUnsendable(ctx, tx, row, "家长未填写手机号码")
	}
	district, _ := n.DistrictName(row.DistrictCode)
	_, err := Enqueue(ctx, tx, n.Keyring, Message{
		Event: EventApplicationSucceeded, DistrictCode: row.DistrictCode, EntryID: row.EntryID,
		RecordNumber: row.Number, Phone: phone, ChildName: string(childName),
		Values: map[string]string{
			PlaceholderRegistrationNumber: row.RegistrationNumber,
			PlaceholderApplicationNumber:  row.Number,
			PlaceholderDistrict:           district,
		},
	})
	return err
}

// recordUnsendable adds a failed outbox row for an application whose
// message cannot be sent, so staff see why and later rounds skip it.
func (n *Notifier) recordUnsendable(ctx context.Context, tx *sqlx.Tx, row storedApplication, reason string) error {
	const q = `
		INSERT INTO sms_outbox (event, district_code, entry_id, record_number, phone, phone_masked, body, preview,
		                        key_id, status, last_error)
		VALUES ('application_succeeded', $1, $2, $3, $4, '—', $5, '', $6, 'failed', $7)
		ON CONFLICT DO NOTHING`
	_, err := tx.ExecContext(ctx, q, row.DistrictCode, row.EntryID, row.Number, n.Keyring.Seal(nil, ContextPhone),
		n.Keyring.Seal(nil, ContextBody), n.Keyring.ActiveKeyID(), reason)
	return err
}
