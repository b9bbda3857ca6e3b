// Package audit keeps the back office's audit trail: who did what, when,
// from where, with the state before and after (personal data masked), and
// every refused access. Rows are chained by SM3 hashes in an append-only
// table, and Verify finds a row that was edited or deleted.
package audit

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/tjfoc/gmsm/sm3"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// Outcomes of an audited action.
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"
	OutcomeFailed  = "failed"
)

// Event is one audited action. Before and After are marshalled to JSON after
// masking personal data (see Mask); either may be nil.
type Event struct {
	Action       string
	Resource     string
	ResourceID   string
	DistrictCode string
	Outcome      string
	Before       any
	After        any
	Detail       string
}

// Trail writes and verifies the audit trail.
type Trail struct {
	DB  *sqlx.DB
	Now func() time.Time
}

// row is an audit_event row; its fields in this order are what is hashed.
type row struct {
	ID           int64          `db:"id"`
	At           time.Time      `db:"at"`
	ActorID      sql.NullInt64  `db:"actor_id"`
	ActorName    string         `db:"actor_name"`
	ActorRole    string         `db:"actor_role"`
	IP           string         `db:"ip"`
	Action       string         `db:"action"`
	Resource     string         `db:"resource"`
	ResourceID   string         `db:"resource_id"`
	DistrictCode sql.NullString `db:"district_code"`
	Outcome      string         `db:"outcome"`
	Before       sql.NullString `db:"before_state"`
	After        sql.NullString `db:"after_state"`
	Detail       string         `db:"detail"`
	PreviousHash []byte         `db:"previous_hash"`
	Hash         []byte         `db:"hash"`
}

// contentHash is SM3 over the previous hash and every field of the row, each
// with its length, so no two different rows hash alike.
func (r *row) contentHash() []byte {
	var buffer bytes.Buffer
	write := func(value string) {
		var length [8]byte
		binary.BigEndian.PutUint64(length[:], uint64(len(value)))
		buffer.Write(length[:])
		buffer.WriteString(value)
	}
	write(string(r.PreviousHash))
	write(strconv.FormatInt(r.ID, 10))
	// PostgreSQL keeps microseconds, so the hash does too.
	write(r.At.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000Z"))
	write(nullInt(r.ActorID))
	write(r.ActorName)
	write(r.ActorRole)
	write(r.IP)
	write(r.Action)
	write(r.Resource)
	write(r.ResourceID)
	write(nullString(r.DistrictCode))
	write(r.Outcome)
	write(nullString(r.Before))
	write(nullString(r.After))
	write(r.Detail)
	return sm3.Sm3Sum(buffer.Bytes())
}

func nullInt(v sql.NullInt64) string {
	if !v.Valid {
		return "\x00null"
	}
	return strconv.FormatInt(v.Int64, 10)
}

func nullString(v sql.NullString) string {
	if !v.Valid {
		return "\x00null"
	}
	return v.String
}

// Record appends an event in a transaction of its own: for refused and
// failed actions, which have no business transaction to join.
func (t *Trail) Record(ctx context.Context, r *http.Request, staff *access.Staff, event Event) error {
	tx, err := t.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := t.RecordTx(ctx, tx, r, staff, event); err != nil {
		return err
	}
	return tx.Commit()
}

// RecordTx appends an event inside the caller's transaction, so the event
// and the change it describes commit or roll back together. It locks the
// chain's head until the transaction ends, so keep such transactions short.
func (t *Trail) RecordTx(ctx context.Context, tx *sqlx.Tx, r *http.Request, staff *access.Staff, event Event) error {
	before, err := maskedJSON(event.Before)
	if err != nil {
		return err
	}
	after, err := maskedJSON(event.After)
	if err != nil {
		return err
	}
	entry := row{
		At: t.Now().UTC().Truncate(time.Microsecond), Action: event.Action, Resource: event.Resource,
		ResourceID: event.ResourceID, Outcome: event.Outcome, Before: before, After: after, Detail: event.Detail,
		ActorName: "（系统）", ActorRole: "system",
	}
	if entry.Outcome == "" {
		entry.Outcome = OutcomeSuccess
	}
	if event.DistrictCode != "" {
		entry.DistrictCode = sql.NullString{String: event.DistrictCode, Valid: true}
	}
	if staff != nil {
		entry.ActorName, entry.ActorRole = staff.Name+"（"+staff.Username+"）", staff.Role
		if staff.ID != 0 {
			entry.ActorID = sql.NullInt64{Int64: staff.ID, Valid: true}
		}
	}
	if r != nil {
		entry.IP = access.ClientIP(r)
	}

	var head struct {
		LastID   int64  `db:"last_id"`
		LastHash []byte `db:"last_hash"`
	}
	if err := tx.GetContext(ctx, &head, `SELECT last_id, last_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE`); err != nil {
		return fmt.Errorf("audit: lock chain head: %w", err)
	}
	if err := tx.GetContext(ctx, &entry.ID, `SELECT nextval(pg_get_serial_sequence('audit_event', 'id'))`); err != nil {
		return fmt.Errorf("audit: next id: %w", err)
	}
	entry.PreviousHash = head.LastHash
	entry.Hash = entry.contentHash()

	const insert = `
		INSERT INTO audit_event (id, at, actor_id, actor_name, actor_role, ip, action, resource, resource_id,
		                         district_code, outcome, before_state, after_state, detail, previous_hash, hash)
		VALUES (:id, :at, :actor_id, :actor_name, :actor_role, :ip, :action, :resource, :resource_id,
		        :district_code, :outcome, :before_state, :after_state, :detail, :previous_hash, :hash)`
	if _, err := tx.NamedExecContext(ctx, insert, entry); err != nil {
		return fmt.Errorf("audit: insert: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_chain_head SET last_id = $1, last_hash = $2 WHERE id = 1`, entry.ID, entry.Hash); err != nil {
		return fmt.Errorf("audit: move chain head: %w", err)
	}
	return nil
}

func maskedJSON(value any) (sql.NullString, error) {
	if value == nil {
		return sql.NullString{}, nil
	}
	data, err := json.Marshal(value)
	if err != nil {
		return sql.NullString{}, fmt.Errorf("audit: marshal state: %w", err)
	}
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		return sql.NullString{}, err
	}
	masked, err := json.Marshal(Mask(generic))
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: string(masked), Valid: true}, nil
}

// personalKeys are the (lower-case) key fragments whose values Mask hides.
var personalKeys = []string{"name", "phone", "id_number", "idnumber", "document", "address", "password", "secret", "token"}

// Mask returns value with the values of personal and secret keys masked:
// a name keeps its first character, a number its first and last two, a
// secret nothing. Keys such as "username" and "displayName" of staff are
// kept, since the trail must say who acted on whom.
func Mask(value any) any {
	switch v := value.(type) {
	case map[string]any:
		masked := make(map[string]any, len(v))
		for key, item := range v {
			masked[key] = maskField(key, item)
		}
		return masked
	case []any:
		masked := make([]any, len(v))
		for i, item := range v {
			masked[i] = Mask(item)
		}
		return masked
	}
	return value
}

func maskField(key string, value any) any {
	lower := strings.ToLower(key)
	if lower == "username" || lower == "displayname" || lower == "display_name" || lower == "rolename" || lower == "role_name" {
		return value
	}
	for _, fragment := range personalKeys {
		if !strings.Contains(lower, fragment) {
			continue
		}
		text, ok := value.(string)
		if !ok || text == "" {
			return Mask(value)
		}
		switch {
		case strings.Contains(lower, "password"), strings.Contains(lower, "secret"), strings.Contains(lower, "token"):
			return "******"
		case strings.Contains(lower, "name"):
			runes := []rune(text)
			return string(runes[0]) + strings.Repeat("*", max(1, len(runes)-1))
		}
		runes := []rune(text)
		if len(runes) <= 4 {
			return strings.Repeat("*", len(runes))
		}
		return string(runes[:2]) + strings.Repeat("*", len(runes)-4) + string(runes[len(runes)-2:])
	}
	return Mask(value)
}

// Denied records a refused access; it is the httpx.DeniedFunc of the back
// office.
func (t *Trail) Denied(r *http.Request, err *apierror.Error) {
	staff := access.StaffFrom(r.Context())
	event := Event{
		Action: r.Method + " " + r.URL.Path, Resource: "access", ResourceID: r.URL.RawQuery,
		Outcome: OutcomeDenied, Detail: err.Code,
	}
	if recordErr := t.Record(context.WithoutCancel(r.Context()), r, staff, event); recordErr != nil {
		slog.Error("refused access not audited", "path", r.URL.Path, "error", recordErr)
	}
}

// Problem is the first break in the chain that Verify found.
type Problem struct {
	ID     int64  `json:"id"`
	Reason string `json:"reason"`
	// Checkpoint is the ID of the signed checkpoint that failed, or zero
	// for a problem of the chain itself.
	Checkpoint int64 `json:"checkpoint,omitempty"`
}

// Result is the outcome of Verify.
type Result struct {
	Rows     int64     `json:"rows"`
	Problems []Problem `json:"problems"`
}

// ErrBroken is returned by Verify when the chain is broken.
var ErrBroken = errors.New("audit trail broken")

// Verify walks the whole trail in order, recomputing every hash and link,
// and checks the chain's head. It reports each row whose content no longer
// matches its hash (edited), whose link does not match the row before it
// (a row deleted or inserted), and a head that does not name the last row.
func (t *Trail) Verify(ctx context.Context) (Result, error) {
	var result Result
	rows, err := t.DB.QueryxContext(ctx, `
		SELECT id, at, actor_id, actor_name, actor_role, ip, action, resource, resource_id, district_code,
		       outcome, before_state, after_state, detail, previous_hash, hash
		FROM audit_event ORDER BY id`)
	if err != nil {
		return result, err
	}
	defer rows.Close()
	previous := []byte{}
	var lastID int64
	for rows.Next() {
		var entry row
		if err := rows.StructScan(&entry); err != nil {
			return result, err
		}
		result.Rows++
		if !bytes.Equal(entry.PreviousHash, previous) {
			result.Problems = append(result.Problems, Problem{ID: entry.ID, Reason: "the link to the row before does not match: a row was deleted, inserted or edited"})
		}
		if !bytes.Equal(entry.contentHash(), entry.Hash) {
			result.Problems = append(result.Problems, Problem{ID: entry.ID, Reason: "the row's content does not match its hash: the row was edited"})
		}
		previous, lastID = entry.Hash, entry.ID
	}
	if err := rows.Err(); err != nil {
		return result, err
	}
	var head struct {
		LastID   int64  `db:"last_id"`
		LastHash []byte `db:"last_hash"`
	}
	if err := t.DB.GetContext(ctx, &head, `SELECT last_id, last_hash FROM audit_chain_head WHERE id = 1`); err != nil {
		return result, err
	}
	if head.LastID != lastID || !bytes.Equal(head.LastHash, previous) {
		result.Problems = append(result.Problems, Problem{ID: head.LastID, Reason: "the chain's head does not name the last row: rows at the end were deleted"})
	}
	if len(result.Problems) > 0 {
		return result, ErrBroken
	}
	return result, nil
}
