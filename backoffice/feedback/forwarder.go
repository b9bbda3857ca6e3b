package feedback

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/shared/crypto"
	shared "github.com/sh-preschool/preschool/shared/feedback"
)

// Matter is the name of the government service the reports are about, as
// the rating system files them.
const Matter = "幼儿园入园报名"

// Delivery statuses of a report.
const (
	StatusPending   = "pending"   // waiting for its first or next attempt
	StatusSending   = "sending"   // a forwarder holds the lease
	StatusDelivered = "delivered" // the rating system filed it under a ticket
	StatusFailed    = "failed"    // rejected, or out of attempts
)

// ForwarderConfig configures the Forwarder.
type ForwarderConfig struct {
	// URL is the rating system's base URL, such as http://127.0.0.1:7107.
	URL string
	// Timeout bounds one call to the rating system.
	Timeout time.Duration
	// Interval is the pause between rounds when nothing was due.
	Interval  time.Duration
	BatchSize int
	// Backoff is the wait before the second attempt; each later attempt
	// waits twice as long as the one before, up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// MaxAttempts is the number of attempts before a report is failed.
	MaxAttempts int
	// Concurrency is how many calls to the rating system run at once; 0
	// means one.
	Concurrency int
}

// Forwarder delivers stored reports to the rating system. Several
// forwarders may run against one database: each claims rows with FOR
// UPDATE SKIP LOCKED and holds them under a lease, and the rating system
// files a repeated clientReference once.
type Forwarder struct {
	DB      *sqlx.DB
	Keyring *crypto.Keyring
	Config  ForwarderConfig
	Client  *http.Client
}

// NewForwarder returns a forwarder with an HTTP client bounded by
// cfg.Timeout.
func NewForwarder(db *sqlx.DB, keyring *crypto.Keyring, cfg ForwarderConfig) *Forwarder {
	return &Forwarder{DB: db, Keyring: keyring, Config: cfg, Client: &http.Client{Timeout: cfg.Timeout}}
}

// Run forwards due reports until ctx ends.
func (f *Forwarder) Run(ctx context.Context) {
	slog.Info("feedback forwarder started", "url", f.Config.URL, "batch_size", f.Config.BatchSize)
	defer slog.Info("feedback forwarder stopped")
	for ctx.Err() == nil {
		forwarded, err := f.ForwardDue(ctx)
		if err != nil && ctx.Err() == nil {
			slog.Error("feedback forwarding round failed", "error", err)
		}
		if forwarded == f.Config.BatchSize {
			continue
		}
		sleep(ctx, f.Config.Interval)
	}
}

// due is a claimed report.
type due struct {
	ID           int64          `db:"id"`
	Category     string         `db:"category"`
	Body         string         `db:"body"`
	Page         string         `db:"page"`
	Step         string         `db:"step"`
	Trigger      string         `db:"trigger"`
	DistrictCode sql.NullString `db:"district_code"`
	Phone        []byte         `db:"phone"`
	SubmittedAt  time.Time      `db:"submitted_at"`
	Attempts     int            `db:"attempts"`
}

// ForwardDue claims up to BatchSize due reports, sends each, and records
// the outcome. It returns how many it claimed.
func (f *Forwarder) ForwardDue(ctx context.Context) (int, error) {
	// The lease outlasts one call; a row whose forwarder died comes due
	// again when it ends.
	lease := 2*f.Config.Timeout + 5*time.Second
	const claim = `
		UPDATE service_feedback
		SET delivery_status = 'sending', attempts = attempts + 1,
		    lease_until = now() + $2 * interval '1 millisecond', next_attempt_at = now() + $2 * interval '1 millisecond'
		WHERE id IN (SELECT id FROM service_feedback
		             WHERE delivery_status IN ('pending', 'sending') AND next_attempt_at <= now()
		             ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING id, category, body, page, step, trigger, district_code, phone, submitted_at, attempts`
	var claimed []due
	if err := f.DB.SelectContext(ctx, &claimed, claim, f.Config.BatchSize, lease.Milliseconds()); err != nil {
		return 0, fmt.Errorf("claim due feedback: %w", err)
	}

	// Each call waits on the rating system, so a slow one would hold the
	// whole batch. The calls of a batch therefore run side by side.
	slots := make(chan struct{}, max(1, f.Config.Concurrency))
	errs := make(chan error, len(claimed))
	var wg sync.WaitGroup
	for _, report := range claimed {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			ticket, permanent, err := f.send(ctx, report)
			errs <- f.record(ctx, report, ticket, permanent, err)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return len(claimed), err
		}
	}
	return len(claimed), nil
}

// ratingReport is the rating system's report body.
type ratingReport struct {
	ClientReference string    `json:"clientReference"`
	Matter          string    `json:"matter"`
	Category        string    `json:"category"`
	CategoryName    string    `json:"categoryName"`
	Content         string    `json:"content"`
	Page            string    `json:"page"`
	Step            string    `json:"step"`
	Trigger         string    `json:"trigger"`
	DistrictCode    string    `json:"districtCode,omitempty"`
	Phone           string    `json:"phone,omitempty"`
	SubmittedAt     time.Time `json:"submittedAt"`
}

// send files one report. permanent is true when retrying cannot help: the
// stored phone does not open with any key (malformed, unknown key, or
// failed authentication), or the rating system rejected the report itself
// (a 4xx other than 429). Any other failure to open the phone, such as a
// timed-out cryptography service with CRYPTO_PROVIDER=cloud, is retried.
func (f *Forwarder) send(ctx context.Context, report due) (ticket string, permanent bool, err error) {
	phone := ""
	if len(report.Phone) > 0 {
		plain, err := f.Keyring.Open(report.Phone, shared.ContextPhone)
		if err != nil {
			return "", unopenable(err), fmt.Errorf("open phone: %w", err)
		}
		phone = string(plain)
	}

	name, _ := shared.CategoryName(report.Category)
	body, err := json.Marshal(ratingReport{
		ClientReference: "feedback-" + strconv.FormatInt(report.ID, 10), Matter: Matter,
		Category: report.Category, CategoryName: name, Content: report.Body, Page: report.Page, Step: report.Step,
		Trigger: report.Trigger, DistrictCode: report.DistrictCode.String, Phone: phone, SubmittedAt: report.SubmittedAt,
	})
	if err != nil {
		return "", true, err
	}
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, f.Config.URL+"/v1/bad-experience/reports", bytes.NewReader(body))
	if err != nil {
		return "", true, err
	}
	request.Header.Set("Content-Type", "application/json")

	response, err := f.Client.Do(request)
	if err != nil {
		return "", false, err
	}
	defer response.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(response.Body, 64<<10))
	if response.StatusCode != http.StatusOK && response.StatusCode != http.StatusCreated {
		permanent := response.StatusCode >= 400 && response.StatusCode < 500 && response.StatusCode != http.StatusTooManyRequests
		return "", permanent, fmt.Errorf("rating system returned %d: %.200s", response.StatusCode, answer)
	}

	var filed struct {
		TicketID string `json:"ticketId"`
	}
	if err := json.Unmarshal(answer, &filed); err != nil || filed.TicketID == "" {
		return "", false, fmt.Errorf("rating system returned no ticket ID: %.200s", answer)
	}
	return filed.TicketID, false, nil
}

// unopenable reports whether a Keyring.Open error is about the ciphertext
// itself, so opening it again fails the same way.
func unopenable(err error) bool {
	return errors.Is(err, crypto.ErrMalformed) || errors.Is(err, crypto.ErrUnknownKey) ||
		errors.Is(err, crypto.ErrAuthenticationFailed)
}

// record stores the outcome of one attempt: delivered, failed, or pending
// again after the backoff.
func (f *Forwarder) record(ctx context.Context, report due, ticket string, permanent bool, sendErr error) error {
	if sendErr == nil {
		_, err := f.DB.ExecContext(ctx, `
			UPDATE service_feedback
			SET delivery_status = 'delivered', rating_ticket_id = $2, delivered_at = now(), lease_until = NULL, last_error = NULL
			WHERE id = $1`, report.ID, ticket)
		return err
	}
	if permanent || report.Attempts >= f.Config.MaxAttempts {
		slog.Error("feedback not delivered; giving up", "feedback_id", report.ID, "attempts", report.Attempts, "error", sendErr)
		_, err := f.DB.ExecContext(ctx, `
			UPDATE service_feedback SET delivery_status = 'failed', lease_until = NULL, last_error = $2 WHERE id = $1`,
			report.ID, truncate(sendErr.Error()))
		return err
	}
	wait := f.backoff(report.Attempts)
	slog.Warn("feedback not delivered; will retry", "feedback_id", report.ID, "attempts", report.Attempts, "retry_in", wait.String(), "error", sendErr)
	_, err := f.DB.ExecContext(ctx, `
		UPDATE service_feedback
		SET delivery_status = 'pending', lease_until = NULL, last_error = $2,
		    next_attempt_at = now() + $3 * interval '1 millisecond'
		WHERE id = $1`, report.ID, truncate(sendErr.Error()), wait.Milliseconds())
	return err
}

// backoff returns the wait after the given number of failed attempts.
func (f *Forwarder) backoff(attempts int) time.Duration {
	wait := f.Config.Backoff
	for i := 1; i < attempts && wait < f.Config.MaxBackoff; i++ {
		wait *= 2
	}
	return min(wait, f.Config.MaxBackoff)
}

// truncate keeps an error message within 500 bytes of valid UTF-8.
func truncate(message string) string {
	if len(message) > 500 {
		return strings.ToValidUTF8(message[:500], "")
	}
	return message
}
