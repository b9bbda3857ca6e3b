package sms

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/shared/crypto"
)

// Outbox statuses.
const (
	StatusPending   = "pending"   // waiting for send_at or the next attempt
	StatusSending   = "sending"   // a sender holds the lease
	StatusSent      = "sent"      // the SMS service accepted it
	StatusDelivered = "delivered" // the handset received it
	StatusFailed    = "failed"    // rejected, undeliverable or out of attempts
)

// Contexts bind the sealed outbox columns to their column.
const (
	ContextPhone = "sms_outbox.phone"
	ContextBody  = "sms_outbox.body"
)

// Message is a message to queue. Values are keyed by placeholder, such as
// PlaceholderReason; ChildName fills {姓名} in the sent text and, masked, in
// the list preview.
type Message struct {
	Event        string
	DistrictCode string
	// EntryID selects the entry's template; 0 means the district's.
	EntryID      int64
	RecordNumber string
	Phone        string
	ChildName    string
	Values       map[string]string
	// SendAt delays the send; the zero time sends at once.
	SendAt time.Time
}

// ErrNoPhone is returned by Enqueue when the message has no phone number.
var ErrNoPhone = errors.New("sms: no phone number to send to")

// template is the template chosen for a message; ID is 0 for the built-in
// default.
type template struct {
	ID   int64  `db:"id"`
	Body string `db:"body"`
}

// Enqueue renders the message from the most specific enabled template and
// adds it to the outbox inside tx, so it is sent only if tx commits. It
// returns the outbox row's ID, 0 when the event allows one message per
// record and it is queued already, or ErrNoPhone.
func Enqueue(ctx context.Context, tx *sqlx.Tx, keyring *crypto.Keyring, message Message) (int64, error) {
	if message.Phone == "" {
		return 0, ErrNoPhone
	}
	info, ok := EventByName(message.Event)
	if !ok {
		return 0, fmt.Errorf("sms: unknown event %q", message.Event)
	}
	chosen, err := chooseTemplate(ctx, tx, message.Event, message.DistrictCode, message.EntryID)
	if err != nil {
		return 0, err
	}
	if chosen.Body == "" {
		chosen.Body = info.DefaultBody
	}

	values := map[string]string{}
	for placeholder, value := range message.Values {
		values[placeholder] = value
	}
	values[PlaceholderChildName] = message.ChildName
	body := Render(chosen.Body, values)
	values[PlaceholderChildName] = enrolment.MaskName(message.ChildName)
	preview := Render(chosen.Body, values)

	sendAt := message.SendAt
	if sendAt.IsZero() {
		sendAt = time.Now()
	}
	const q = `
		INSERT INTO sms_outbox (event, district_code, entry_id, template_id, record_number, phone, phone_masked,
		                        body, preview, key_id, send_at, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
		ON CONFLICT DO NOTHING
		RETURNING id`
	var id int64
	err = tx.GetContext(ctx, &id, q, message.Event, nullString(message.DistrictCode), nullInt(message.EntryID),
		nullInt(chosen.ID), message.RecordNumber, keyring.Seal([]byte(message.Phone), ContextPhone), MaskPhone(message.Phone),
		keyring.Seal([]byte(body), ContextBody), preview, keyring.ActiveKeyID(), sendAt.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sms: queue %s for %s: %w", message.Event, message.RecordNumber, err)
	}
	return id, nil
}

// chooseTemplate returns the entry's, else the district's, else the city's
// enabled template for the event; a zero template when none is stored.
func chooseTemplate(ctx context.Context, tx *sqlx.Tx, event, district string, entryID int64) (template, error) {
	const q = `
		SELECT id, body FROM sms_template
		WHERE event = $1 AND enabled
		  AND (district_code IS NULL OR district_code = $2)
		  AND (entry_id IS NULL OR entry_id = $3)
		ORDER BY (entry_id IS NOT NULL) DESC, (district_code IS NOT NULL) DESC
		LIMIT 1`
	var chosen template
	err := tx.GetContext(ctx, &chosen, q, event, district, entryID)
	if errors.Is(err, sql.ErrNoRows) {
		return template{}, nil
	}
	return chosen, err
}

// GuardianPhone returns the first guardian's phone number from the sealed
// guardians of a registration, or "" when no guardian has one.
func GuardianPhone(keyring *crypto.Keyring, sealedGuardians []byte, context string) (string, error) {
	plain, err := keyring.Open(sealedGuardians, context)
	if err != nil {
		return "", fmt.Errorf("sms: open guardians: %w", err)
	}
	var guardians []struct {
		Phone string `json:"phone"`
	}
	if err := json.Unmarshal(plain, &guardians); err != nil {
		return "", fmt.Errorf("sms: decode guardians: %w", err)
	}
	for _, guardian := range guardians {
		if guardian.Phone != "" {
			return guardian.Phone, nil
		}
	}
	return "", nil
}

func nullString(value string) any {
	if value == "" {
		return nil
	}
	return value
}

func nullInt(value int64) any {
	if value == 0 {
		return nil
	}
	return value
}
