package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/shared/crypto"
)

// SenderConfig configures the Sender.
type SenderConfig struct {
	// URL is the SMS service's base URL, such as http://127.0.0.1:7105.
	URL string
	// Timeout bounds one call to the SMS service.
	Timeout time.Duration
	// Interval is the pause between rounds when nothing was due.
	Interval time.Duration
	// BatchSize is the most messages one round claims.
	BatchSize int
	// Backoff is the delay before the second attempt; each later attempt
	// waits twice as long as the one before, up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// ReceiptDelay is how long after a send the sender first requests the
	// delivery status. ReceiptWindow is how long it keeps polling.
	ReceiptDelay  time.Duration
	ReceiptWindow time.Duration
}

// Sender sends due outbox messages and polls the delivery status of sent
// ones. Several senders may run against one database: each claims its rows
// with FOR UPDATE SKIP LOCKED and holds them under a lease.
type Sender struct {
	DB      *sqlx.DB
	Keyring *crypto.Keyring
	Config  SenderConfig
	Client  *http.Client
	Now     func() time.Time
}

// NewSender returns a sender with an HTTP client bounded by cfg.Timeout.
func NewSender(db *sqlx.DB, keyring *crypto.Keyring, cfg SenderConfig) *Sender {
	return &Sender{DB: db, Keyring: keyring, Config: cfg, Client: &http.Client{Timeout: cfg.Timeout}, Now: time.Now}
}

// Run sends and polls until ctx ends.
func (s *Sender) Run(ctx context.Context) {
	slog.Info("sms sender started", "url", s.Config.URL, "batch_size", s.Config.BatchSize)
	defer slog.Info("sms sender stopped")
	for ctx.Err() == nil {
		sent, err := s.SendDue(ctx)
		if err != nil && ctx.Err() == nil {
			slog.Error("sms send round failed", "error", err)
		}
		if _, err := s.PollReceipts(ctx); err != nil && ctx.Err() == nil {
			slog.Error("sms delivery status round failed", "error", err)
		}
		if sent == s.Config.BatchSize {
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.Config.Interval):
		}
	}
}

// claimed is an outbox row a sender holds.
type claimed struct {
	ID          int64  `db:"id"`
	Phone       []byte `db:"phone"`
	Body        []byte `db:"body"`
	Attempts    int    `db:"attempts"`
	MaxAttempts int    `db:"max_attempts"`
}

// SendDue claims the due messages, sends each once, and records the
// outcome: sent, another attempt after a backoff, or failed. It returns how
// many messages it claimed.
func (s *Sender) SendDue(ctx context.Context) (int, error) {
	now := s.Now().UTC()
	lease := now.Add(2*s.Config.Timeout + time.Second)
	const claim = `
		UPDATE sms_outbox SET status = 'sending', attempts = attempts + 1, lease_until = $2
		WHERE id IN (
			SELECT id FROM sms_outbox
			WHERE (status = 'pending' OR status = 'sending' AND lease_until < $1) AND next_attempt_at <= $1
			ORDER BY next_attempt_at
			LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING id, phone, body, attempts, max_attempts`
	var rows []claimed
	if err := s.DB.SelectContext(ctx, &rows, claim, now, lease, s.Config.BatchSize); err != nil {
		return 0, fmt.Errorf("claim due messages: %w", err)
	}
	for _, row := range rows {
		if ctx.Err() != nil {
			break
		}
		s.sendOne(ctx, row)
	}
	return len(rows), nil
}

// sendRequest is the SMS service's send body.
type sendRequest struct {
	ClientReference string `json:"clientReference"`
	Phone           string `json:"phone"`
	Content         string `json:"content"`
}

// providerMessage is the SMS service's view of one message.
type providerMessage struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func (s *Sender) sendOne(ctx context.Context, row claimed) {
	phone, errPhone := s.Keyring.Open(row.Phone, ContextPhone)
	body, errBody := s.Keyring.Open(row.Body, ContextBody)
	if errPhone != nil || errBody != nil {
		slog.Error("sms outbox row does not open; marking it failed", "outbox_id", row.ID, "phone_error", errPhone, "body_error", errBody)
		s.finish(ctx, row, StatusFailed, "", "短信内容无法解密")
		return
	}

	// The outbox ID is the client reference, so a retry of a send whose
	// response was lost does not send the message twice.
	request := sendRequest{ClientReference: "outbox-" + strconv.FormatInt(row.ID, 10), Phone: string(phone), Content: string(body)}
	message, permanent, err := s.post(ctx, request)
	switch {
	case err == nil:
		s.finish(ctx, row, StatusSent, message.ID, "")
	case permanent || row.Attempts >= row.MaxAttempts:
		slog.Warn("sms not sent; giving up", "outbox_id", row.ID, "attempts", row.Attempts, "error", err)
		s.finish(ctx, row, StatusFailed, "", failureText(err))
	default:
		retryAt := s.Now().Add(s.backoff(row.Attempts))
		slog.Info("sms not sent; will retry", "outbox_id", row.ID, "attempts", row.Attempts, "retry_at", retryAt, "error", err)
		s.retryLater(ctx, row, retryAt, failureText(err))
	}
}

// backoff returns the wait after the given number of attempts.
func (s *Sender) backoff(attempts int) time.Duration {
	wait := s.Config.Backoff
	for range attempts - 1 {
		wait *= 2
		if wait >= s.Config.MaxBackoff {
			return s.Config.MaxBackoff
		}
	}
	return wait
}

// post sends one message. permanent is true when the SMS service rejected
// the request itself (a 4xx response), which a retry cannot fix.
func (s *Sender) post(ctx context.Context, request sendRequest) (providerMessage, bool, error) {
	payload, err := json.Marshal(request)
	if err != nil {
		return providerMessage{}, true, err
	}
	httpRequest, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Config.URL+"/v1/sms/messages", bytes.NewReader(payload))
	if err != nil {
		return providerMessage{}, true, err
	}
	httpRequest.Header.Set("Content-Type", "application/json")
	var message providerMessage
	status, err := s.do(httpRequest, &message)
	if err != nil {
		return providerMessage{}, false, err
	}
	if status >= 400 && status < 500 {
		return providerMessage{}, true, &statusError{Status: status}
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return providerMessage{}, false, &statusError{Status: status}
	}
	if message.ID == "" {
		return providerMessage{}, false, errNoMessageID
	}
	return message, false, nil
}

// statusError is a response of the SMS service with a status other than
// success.
type statusError struct{ Status int }

func (e *statusError) Error() string {
	if e.Status >= 400 && e.Status < 500 {
		return fmt.Sprintf("SMS service rejected the message: HTTP %d", e.Status)
	}
	return fmt.Sprintf("SMS service failed: HTTP %d", e.Status)
}

var errNoMessageID = errors.New("SMS service returned no message ID")

// failureText is the reason staff read in the outbox's 失败原因 column; the
// log keeps the error itself.
func failureText(err error) string {
	var status *statusError
	switch {
	case errors.As(err, &status) && status.Status >= 400 && status.Status < 500:
		return fmt.Sprintf("短信服务拒收（HTTP %d），请核对手机号码和短信内容", status.Status)
	case errors.As(err, &status):
		return fmt.Sprintf("短信服务暂时不可用（HTTP %d）", status.Status)
	case errors.Is(err, errNoMessageID):
		return "短信服务的应答缺少短信编号"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return "短信服务应答超时"
	}
	return "无法连接短信服务"
}

// do sends a request and decodes a 2xx JSON body into into. It returns the
// status code, or an error when no response arrived.
func (s *Sender) do(request *http.Request, into any) (int, error) {
	response, err := s.Client.Do(request)
	if err != nil {
		return 0, fmt.Errorf("call SMS service: %w", err)
	}
	defer response.Body.Close()
	data, err := io.ReadAll(io.LimitReader(response.Body, 64<<10))
	if err != nil {
		return 0, fmt.Errorf("read SMS service response: %w", err)
	}
	if response.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, into); err != nil {
			return 0, fmt.Errorf("decode SMS service response: %w", err)
		}
	}
	return response.StatusCode, nil
}

// finish records a final send outcome. The WHERE clause checks that this
// sender still holds the row, so a sender whose lease ran out and was
// taken over does not overwrite the newer attempt.
func (s *Sender) finish(ctx context.Context, row claimed, status, providerID, lastError string) {
	ctx = context.WithoutCancel(ctx)
	now := s.Now().UTC()
	const q = `
		UPDATE sms_outbox
		SET status = $3, provider_message_id = NULLIF($4, ''), last_error = NULLIF($5, ''), lease_until = NULL,
		    sent_at = CASE WHEN $3 = 'sent' THEN $6::timestamptz END
		WHERE id = $1 AND status = 'sending' AND attempts = $2`
	if _, err := s.DB.ExecContext(ctx, q, row.ID, row.Attempts, status, providerID, truncate(lastError), now); err != nil {
		slog.Error("sms outcome not recorded; the message will be claimed again when its lease ends",
			"outbox_id", row.ID, "status", status, "error", err)
	}
}

func (s *Sender) retryLater(ctx context.Context, row claimed, retryAt time.Time, lastError string) {
	ctx = context.WithoutCancel(ctx)
	const q = `
		UPDATE sms_outbox SET status = 'pending', next_attempt_at = $3, last_error = $4, lease_until = NULL
		WHERE id = $1 AND status = 'sending' AND attempts = $2`
	if _, err := s.DB.ExecContext(ctx, q, row.ID, row.Attempts, retryAt.UTC(), truncate(lastError)); err != nil {
		slog.Error("sms retry not recorded; the message will be claimed again when its lease ends",
			"outbox_id", row.ID, "error", err)
	}
}

func truncate(message string) string {
	const max = 500
	if len(message) > max {
		return message[:max]
	}
	return message
}

// PollReceipts requests the delivery status of messages
// sent at least ReceiptDelay ago and at most ReceiptWindow ago, and records
// delivered and undeliverable ones. It returns how many changed.
func (s *Sender) PollReceipts(ctx context.Context) (int, error) {
	now := s.Now().UTC()
	const q = `
		SELECT id, provider_message_id FROM sms_outbox
		WHERE status = 'sent' AND sent_at <= $1 AND sent_at > $2
		ORDER BY sent_at
		LIMIT $3`
	var rows []struct {
		ID         int64  `db:"id"`
		ProviderID string `db:"provider_message_id"`
	}
	if err := s.DB.SelectContext(ctx, &rows, q, now.Add(-s.Config.ReceiptDelay), now.Add(-s.Config.ReceiptWindow), s.Config.BatchSize); err != nil {
		return 0, fmt.Errorf("select sent messages: %w", err)
	}

	changed := 0
	for _, row := range rows {
		request, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Config.URL+"/v1/sms/messages/"+row.ProviderID, nil)
		if err != nil {
			return changed, err
		}
		var message providerMessage
		status, err := s.do(request, &message)
		if err != nil || status != http.StatusOK {
			// The next round polls again. A service that is down fails every
			// row alike, so one log line is enough.
			slog.Warn("sms delivery status not available", "outbox_id", row.ID, "http_status", status, "error", err)
			return changed, nil
		}
		var errUpdate error
		switch message.Status {
		case "delivered":
			_, errUpdate = s.DB.ExecContext(ctx,
				`UPDATE sms_outbox SET status = 'delivered', delivered_at = $2 WHERE id = $1 AND status = 'sent'`, row.ID, now)
		case "undeliverable":
			_, errUpdate = s.DB.ExecContext(ctx,
				`UPDATE sms_outbox SET status = 'failed', last_error = '运营商投递失败' WHERE id = $1 AND status = 'sent'`, row.ID)
		default:
			continue
		}
		if errUpdate != nil {
			return changed, fmt.Errorf("record delivery status of outbox row %d: %w", row.ID, errUpdate)
		}
		changed++
	}
	return changed, nil
}
