// Package verify checks stored registrations against the big-data centre's
// data API (用数) in the background, behind a circuit breaker, so the
// parent's submission never waits for it. A registration it cannot finish
// is marked for manual verification (待人工核验).
package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/rueidis"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/time/rate"

	"github.com/sh-preschool/preschool/shared/crypto"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Config tunes the Verifier.
type Config struct {
	DataAPIURL string
	Timeout    time.Duration
	Interval   time.Duration
	BatchSize  int
	// MaxAttempts is how many failed calls a registration gets before it is
	// marked for manual verification.
	MaxAttempts int
	// Deadline is how long a registration may wait for the data API, open
	// breaker included, before it is marked for manual verification.
	Deadline time.Duration
	// BreakerOpenFor is how long the breaker stays open before it tries
	// again.
	BreakerOpenFor time.Duration
	// Rate caps registrations sent for verification per second, so the work
	// (and the data API's quota) does not compete with storing submissions
	// at the peak; the verifier catches up afterwards.
	Rate float64
}

// Verifier runs the background verification.
type Verifier struct {
	db      *sqlx.DB
	redis   rueidis.Client
	keys    enrol.Keys
	keyring *crypto.Keyring
	config  Config
	client  *http.Client
	breaker *gobreaker.CircuitBreaker[[]result]
	limiter *rate.Limiter
	now     func() time.Time

	// BeforeStatusWrite, when set, runs after a batch is committed and
	// before its outcomes are written to the receipts in Redis. Tests use it
	// to act in that gap.
	BeforeStatusWrite func(numbers []string)
}

type item struct {
	DocumentType   string `json:"documentType"`
	DocumentNumber string `json:"documentNumber"`
	Name           string `json:"name"`
}

type result struct {
	Match  bool   `json:"match"`
	Reason string `json:"reason"`
}

// New returns a Verifier. onStateChange may be nil.
func New(db *sqlx.DB, redis rueidis.Client, keys enrol.Keys, keyring *crypto.Keyring, config Config,
	onStateChange func(name string, from, to gobreaker.State)) *Verifier {
	settings := gobreaker.Settings{
		Name:        "data_api",
		MaxRequests: 1,
		Interval:    30 * time.Second,
		Timeout:     config.BreakerOpenFor,
		ReadyToTrip: func(counts gobreaker.Counts) bool { return counts.ConsecutiveFailures >= 3 },
		IsSuccessful: func(err error) bool {
			return err == nil || errors.Is(err, context.Canceled)
		},
		OnStateChange: onStateChange,
	}
	return &Verifier{
		db: db, redis: redis, keys: keys, keyring: keyring, config: config,
		client:  &http.Client{Timeout: config.Timeout},
		breaker: gobreaker.NewCircuitBreaker[[]result](settings),
		limiter: newLimiter(config.Rate, config.BatchSize),
		now:     time.Now,
	}
}

// newLimiter allows perSecond registrations with bursts of one batch; a
// rate of 0 or less means no limit.
func newLimiter(perSecond float64, batchSize int) *rate.Limiter {
	if perSecond <= 0 {
		return rate.NewLimiter(rate.Inf, batchSize)
	}
	return rate.NewLimiter(rate.Limit(perSecond), batchSize)
}

// Run verifies batches every Interval until ctx ends.
func (v *Verifier) Run(ctx context.Context) {
	ticker := time.NewTicker(v.config.Interval)
	defer ticker.Stop()
	for {
		for {
			done, err := v.VerifyBatch(ctx)
			if err != nil && ctx.Err() == nil {
				slog.Error("verification batch failed", "error", err)
			}
			if done == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

type pending struct {
	Number         string    `db:"registration_number"`
	DocumentType   string    `db:"child_document_type"`
	DocumentNumber []byte    `db:"child_document_number"`
	Name           []byte    `db:"child_name"`
	Attempts       int       `db:"verification_attempts"`
	RecordedAt     time.Time `db:"recorded_at"`
}

type outcome struct {
	number   string
	status   string
	note     string
	attempts int
}

// VerifyBatch verifies up to BatchSize recorded registrations and returns
// how many it finished (verified or marked for manual verification). Rows
// are locked with SKIP LOCKED, so several back offices share the work. The
// lock is held over the rate limiter's wait and the data API's calls, so it
// is FOR NO KEY UPDATE, the lock its UPDATE takes anyway. With FOR UPDATE,
// the drainer's FOR KEY SHARE of the same registrations and the foreign-key
// checks of their applications would wait that long. A deletion's FOR
// UPDATE still waits for it.
func (v *Verifier) VerifyBatch(ctx context.Context) (int, error) {
	tx, err := v.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()

	const q = `
		SELECT registration_number, child_document_type, child_document_number, child_name,
		       verification_attempts, recorded_at
		FROM registration
		WHERE status = 'recorded'
		ORDER BY recorded_at
		LIMIT $1
		FOR NO KEY UPDATE SKIP LOCKED`
	var rows []pending
	if err := tx.SelectContext(ctx, &rows, q, v.config.BatchSize); err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}

	if err := v.limiter.WaitN(ctx, len(rows)); err != nil {
		return 0, err
	}
	outcomes := v.check(ctx, rows)
	numbers := make([]string, len(outcomes))
	statuses := make([]string, len(outcomes))
	notes := make([]string, len(outcomes))
	attempts := make([]int32, len(outcomes))
	finished := 0
	for i, o := range outcomes {
		numbers[i], statuses[i], notes[i], attempts[i] = o.number, o.status, o.note, int32(o.attempts)
		if o.status != enrol.StatusRecorded {
			finished++
		}
	}
	// The numbers are cast to char(12), the key's type: compared as text,
	// the key's index could not be used and every batch scanned the table.
	const update = `
		UPDATE registration r
		SET status = u.status, verification_note = NULLIF(u.note, ''), verification_attempts = u.attempts,
		    verified_at = CASE WHEN u.status = 'recorded' THEN r.verified_at ELSE now() END
		FROM unnest(CAST($1 AS char(12)[]), CAST($2 AS text[]), CAST($3 AS text[]), CAST($4 AS integer[]))
		     AS u(registration_number, status, note, attempts)
		WHERE r.registration_number = u.registration_number`
	if _, err := tx.ExecContext(ctx, update, numbers, statuses, notes, attempts); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	if v.BeforeStatusWrite != nil {
		v.BeforeStatusWrite(numbers)
	}
	v.writeStatuses(ctx, outcomes)
	return finished, nil
}

// check decides each row's outcome: the data API's answer, or a retry
// later, or manual verification when retries or time run out.
func (v *Verifier) check(ctx context.Context, rows []pending) []outcome {
	outcomes := make([]outcome, len(rows))
	var items []item
	var asked []int
	var unreadable []string
	for i, row := range rows {
		outcomes[i] = outcome{number: row.Number, status: enrol.StatusRecorded, attempts: row.Attempts}
		if row.DocumentType == "none" {
			outcomes[i].status, outcomes[i].note = enrol.StatusNeedsManualVerification, "幼儿无证件，需到区招生服务点人工核验。"
			continue
		}
		number, errNumber := v.keyring.Open(row.DocumentNumber, enrol.ContextChildDocumentNumber)
		name, errName := v.keyring.Open(row.Name, enrol.ContextChildName)
		if errNumber != nil || errName != nil {
			if len(unreadable) == 0 {
				slog.Error("registration does not open for verification", "number", row.Number, "error", errors.Join(errNumber, errName))
			}
			unreadable = append(unreadable, row.Number)
			outcomes[i].status, outcomes[i].note = enrol.StatusNeedsManualVerification, "数据无法解密，需人工核验。"
			continue
		}
		items = append(items, item{DocumentType: row.DocumentType, DocumentNumber: string(number), Name: string(name)})
		asked = append(asked, i)
	}
	if len(unreadable) > 1 {
		// One line for the rest of the batch, because a wrong key fails every row alike.
		slog.Error("more registrations of the batch do not open for verification", "count", len(unreadable)-1, "numbers", unreadable[1:])
	}
	if len(items) == 0 {
		return outcomes
	}

	results, err := v.breaker.Execute(func() ([]result, error) { return v.call(ctx, items) })
	now := v.now()
	for position, i := range asked {
		o := &outcomes[i]
		if err == nil && position < len(results) {
			if results[position].Match {
				o.status, o.note = enrol.StatusVerified, ""
			} else {
				o.status, o.note = enrol.StatusNeedsManualVerification, "与大数据中心信息不一致："+results[position].Reason
			}
			continue
		}
		// The call failed or the breaker is open: count an attempt only for
		// a real call, and give up at the limit or the deadline.
		if !errors.Is(err, gobreaker.ErrOpenState) && !errors.Is(err, gobreaker.ErrTooManyRequests) {
			o.attempts++
		}
		if o.attempts >= v.config.MaxAttempts || now.Sub(rows[i].RecordedAt) >= v.config.Deadline {
			o.status, o.note = enrol.StatusNeedsManualVerification, "核验服务暂不可用，需人工核验。"
		}
	}
	if err != nil {
		slog.Warn("data API verification not done", "registrations", len(items), "error", err, "breaker", v.breaker.State().String())
	}
	return outcomes
}

func (v *Verifier) call(ctx context.Context, items []item) ([]result, error) {
	ctx, cancel := context.WithTimeout(ctx, v.config.Timeout)
	defer cancel()
	body, err := json.Marshal(map[string]any{"items": items})
	if err != nil {
		return nil, err
	}
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(v.config.DataAPIURL, "/")+"/v1/identity/verify-batch", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	request.Header.Set("Content-Type", "application/json")
	response, err := v.client.Do(request)
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	data, err := io.ReadAll(io.LimitReader(response.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if response.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("data API status %d: %.200s", response.StatusCode, data)
	}
	var answer struct {
		Results []result `json:"results"`
	}
	if err := json.Unmarshal(data, &answer); err != nil {
		return nil, fmt.Errorf("decode data API answer: %w", err)
	}
	if len(answer.Results) != len(items) {
		return nil, fmt.Errorf("data API returned %d results for %d items", len(answer.Results), len(items))
	}
	return answer.Results, nil
}

// writeStatuses copies finished outcomes to the parents' receipts. A
// failure only delays what the parent sees; the database is the record.
func (v *Verifier) writeStatuses(ctx context.Context, outcomes []outcome) {
	updates := make([]rueidis.LuaExec, 0, len(outcomes))
	for _, o := range outcomes {
		if o.status == enrol.StatusRecorded {
			continue
		}
		updates = append(updates, rueidis.LuaExec{Keys: []string{v.keys.Receipt(o.number)}, Args: []string{o.status, o.note}})
	}
	if len(updates) == 0 {
		return
	}
	for _, result := range updateReceiptScript.ExecMulti(ctx, v.redis, updates...) {
		if err := result.Error(); err != nil {
			slog.Error("verification status not written to Redis", "error", err)
			return
		}
	}
}

// updateReceiptScript sets a receipt's status and note only when Redis still
// holds the receipt, so a lost receipt is not recreated without its owner
// and expiry. It leaves a deleted receipt (已删除) as it is, because a
// deletion approved while the verification was in flight writes its status
// after the verifier's commit, and the verifier's later write must not undo
// it. A receipt marked enrol.FieldNumberTaken belongs to another family's
// submission and is left alone too.
//
// KEYS[1] receipt. ARGV[1] status, ARGV[2] note (or "").
var updateReceiptScript = rueidis.NewLuaScript(`
local current = redis.call('HGET', KEYS[1], 'status')
if not current or current == '` + enrol.StatusDeleted + `' or redis.call('HEXISTS', KEYS[1], '` + enrol.FieldNumberTaken + `') == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'note', ARGV[2]) end
return 1
`)

// State returns the breaker state, for metrics.
func (v *Verifier) State() string { return v.breaker.State().String() }

// HTTPClient returns the client that calls the data API, so the caller can
// wrap its transport.
func (v *Verifier) HTTPClient() *http.Client { return v.client }
