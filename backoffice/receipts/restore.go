// Package receipts writes parents' receipts back into Redis from what
// PostgreSQL stores, after Redis lost them.
//
// A receipt, the child's claim and the parent's list of receipts live only
// in Redis. A Redis that restarts from an append-only file missing its
// last second, or fails over to a replica that lagged or was empty, loses
// them for records the drainer had already stored. The edge then shows the
// family 未找到该回执编号 and rejects an application with the
// registration, and a new registration of the child is never stored,
// because the database rejects a second one. The drainer notices such a
// loss by the number counters (drain.RaiseSequences), or by a batch that
// meets a stored number, and calls Trigger. Operators run
// "backoffice restore-receipts" after a failover. A restore also writes
// again a receipt whose status is behind the database's, as after a lost
// status write.
package receipts

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/edge/catalogue"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// pageSize is how many stored numbers one round of checks reads.
const pageSize = 1000

// restoreScript writes one receipt back unless Redis holds it, with the
// parent's list and the child's claim. A receipt that exists and belongs
// to the record is left alone. The exception is a receipt marked
// enrol.FieldNumberTaken. The edge handed the stored record's number to
// another family after Redis lost its counter, and the drainer rejected
// that family's submission and asked it to submit again. The number
// belongs to the stored record, so its family gets the receipt back. The
// rejected one moves to the name enrol.RejectedReceipt in its family's
// set, whose list and status page still show it.
//
// The claim is overwritten. For a registration that is right, because
// PostgreSQL's unique keys reject any other record of the child. An
// application's claim may name a newer application made after this one's
// return. The restore's second read then releases the claim, and the
// database's unique index still keeps the child to one live application.
// The "#!lua" line makes Redis refuse the script up front when it is out
// of memory, instead of after the RENAME.
//
// KEYS[1] receipt, KEYS[2] owner set, KEYS[3] claim, KEYS[4] print layout
// (registrations only).
//
// ARGV[1] TTL in seconds, ARGV[2] number, ARGV[3] claim value, or "" when
// the record holds no claim, ARGV[4] print layout or "". ARGV[5] the
// mode, ARGV[6] the owner in hex. ARGV[7] and ARGV[8] the key prefixes of
// receipts and owner sets. ARGV[9] the status an updated receipt must
// still have, ARGV[10..] receipt field/value pairs. Returns 1 when it
// wrote.
//
// The modes: "restore" writes a missing receipt. "update" writes the
// fields of an existing receipt again, writes the claim again, and
// releases the claim of a record that holds none any more. It serves a
// receipt whose status or claim is behind the database, and one this
// restore wrote whose record changed before the write. It writes only
// while the receipt has the status the restore read, because any other
// status was written by the back office after that read, and is newer.
// "remove" takes back a receipt this restore wrote for a record deleted
// before the write, unless the deletion's own write reached it.
var restoreScript = rueidis.NewLuaScript(`#!lua
local number, mode = ARGV[2], ARGV[5]
local function release()
  local claim = redis.call('GET', KEYS[3])
  if claim and string.sub(claim, 1, string.len(number) + 1) == number .. '|' then
    redis.call('DEL', KEYS[3])
  end
end
local exists = redis.call('EXISTS', KEYS[1]) == 1
local handedOutTwice = exists and redis.call('HEXISTS', KEYS[1], '` + enrol.FieldNumberTaken + `') == 1
if mode ~= 'restore' then
  if not exists or handedOutTwice or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[6] then
    return 0
  end
  if mode == 'remove' then
    if redis.call('HGET', KEYS[1], 'status') == 'deleted' then
      return 0
    end
    redis.call('DEL', KEYS[1])
    redis.call('SREM', KEYS[2], number)
    release()
    return 1
  end
  if redis.call('HGET', KEYS[1], 'status') ~= ARGV[9] then
    return 0
  end
  redis.call('HSET', KEYS[1], unpack(ARGV, 10))
  if ARGV[3] == '' then
    release()
  else
    redis.call('SET', KEYS[3], ARGV[3], 'EX', tonumber(ARGV[1]))
  end
  return 1
end
if exists and not handedOutTwice then
  return 0
end
if handedOutTwice then
  local rejectedOwner = redis.call('HGET', KEYS[1], 'owner')
  if rejectedOwner then
    local rejected = number .. '` + enrol.RejectedSeparator + `' .. rejectedOwner
    redis.call('RENAME', KEYS[1], ARGV[7] .. rejected)
    local rejectedSet = ARGV[8] .. rejectedOwner
    redis.call('SREM', rejectedSet, number)
    redis.call('SADD', rejectedSet, rejected)
    local left = redis.call('TTL', ARGV[7] .. rejected)
    if left > 0 and redis.call('TTL', rejectedSet) < left then
      redis.call('EXPIRE', rejectedSet, left)
    end
  else
    redis.call('DEL', KEYS[1])
  end
end
local ttl = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 10))
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('SADD', KEYS[2], number)
if redis.call('TTL', KEYS[2]) < ttl then
  redis.call('EXPIRE', KEYS[2], ttl)
end
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[3], ARGV[3], 'EX', ttl)
end
if KEYS[4] and ARGV[4] ~= '' then
  if not redis.call('SET', KEYS[4], ARGV[4], 'NX', 'EX', ttl) then
    redis.call('EXPIRE', KEYS[4], ttl, 'GT')
  end
end
return 1
`)

// Modes of restoreScript.
const (
	modeRestore = "restore"
	modeUpdate  = "update"
	modeRemove  = "remove"
)

// Restorer writes missing receipts back from PostgreSQL.
type Restorer struct {
	db       *sqlx.DB
	store    *enrolment.Store
	redis    rueidis.Client
	keys     enrol.Keys
	ttl      time.Duration
	restored prometheus.Counter
	trigger  chan struct{}

	// beforeWrite, when set, runs between a read of a page of records
	// and the write of their receipts. Tests use it.
	beforeWrite func()
}

// New returns a Restorer whose receipts expire ttl (EDGE_RECEIPT_TTL)
// after their records' acceptance. It registers the counter of receipts
// written back in registry, unless registry is nil.
func New(db *sqlx.DB, redis rueidis.Client, keys enrol.Keys, ttl time.Duration, registry prometheus.Registerer) *Restorer {
	restored := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "backoffice_receipts_restored_total",
		Help: "Receipts written back into Redis from PostgreSQL after Redis lost them.",
	})
	if registry != nil {
		registry.MustRegister(restored)
	}
	return &Restorer{db: db, store: &enrolment.Store{DB: db}, redis: redis, keys: keys, ttl: ttl, restored: restored, trigger: make(chan struct{}, 1)}
}

// Trigger requests a restore from Run and returns at once. Triggers that
// come while a restore runs make one more restore after it.
func (r *Restorer) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Run restores receipts on each Trigger until ctx ends. A restore
// that fails is logged and runs again a minute later.
func (r *Restorer) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.trigger:
		}
		start := time.Now()
		summary, err := r.Restore(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			slog.Error("receipts not all written back from the database; retrying in a minute", "error", err,
				"checked", summary.Checked, "registrations", summary.Registrations, "applications", summary.Applications,
				"updated", summary.Updated)
			time.AfterFunc(time.Minute, r.Trigger)
			continue
		}
		slog.Warn("receipts Redis had lost written back from the database", "checked", summary.Checked,
			"registrations", summary.Registrations, "applications", summary.Applications,
			"updated", summary.Updated, "seconds", time.Since(start).Seconds())
	}
}

// Summary counts the receipts of one restore.
type Summary struct {
	// Checked is how many stored records' receipts were looked for.
	Checked int
	// Registrations and Applications are how many receipts were written
	// back, including any taken back again because their records were
	// deleted meanwhile.
	Registrations int
	Applications  int
	// Updated is how many receipts whose status or claim was behind the
	// database's were written again.
	Updated int
}

// Restore looks for the receipt of every registration and application
// stored, and writes back each one Redis no longer holds, with the parent's
// list and the child's claim. It writes again each receipt whose status is
// behind the database's. A record accepted longer ago than the receipts'
// lifetime is left out, as its receipt expired, and a receipt written back
// expires when the edge's would have. Restore is idempotent, and it may
// run while the edge takes submissions.
func (r *Restorer) Restore(ctx context.Context) (Summary, error) {
	var summary Summary
	layouts := map[int]printLayout{}
	for _, kind := range []string{enrol.KindRegistration, enrol.KindApplication} {
		after := ""
		for {
			now := time.Now()
			stored, err := r.store.StoredStatuses(ctx, kind, after, now.Add(-r.ttl), pageSize)
			if err != nil {
				return summary, err
			}
			if len(stored) == 0 {
				break
			}
			after = stored[len(stored)-1].Number
			summary.Checked += len(stored)
			missing, behind, err := r.compare(ctx, kind, stored)
			if err != nil {
				return summary, err
			}
			if len(behind) > 0 {
				numbers := slices.Sorted(maps.Keys(behind))
				writes, err := r.writes(ctx, kind, numbers, layouts, now, modeUpdate, behind)
				if err != nil {
					return summary, err
				}
				if r.beforeWrite != nil {
					r.beforeWrite()
				}
				updated, err := r.run(ctx, numbers, writes)
				summary.Updated += len(updated)
				if err != nil {
					return summary, err
				}
			}
			if len(missing) == 0 {
				continue
			}
			written, err := r.restorePage(ctx, kind, missing, layouts, now)
			if kind == enrol.KindRegistration {
				summary.Registrations += written
			} else {
				summary.Applications += written
			}
			if err != nil {
				return summary, err
			}
		}
	}
	return summary, nil
}

// receiptWrite is one call of restoreScript, with the status it writes
// and, in state, that status with the note.
type receiptWrite struct {
	call   rueidis.LuaExec
	status string
	state  string
}

// restorePage writes back the receipts of the stored records numbers and
// returns how many it wrote. The verifier, a reviewer or an admission may
// change a record between the read and the write, and their own write to
// Redis skipped the receipt that was not there yet. So the records written
// are read again afterwards, and a receipt whose record changed is
// written again.
func (r *Restorer) restorePage(ctx context.Context, kind string, numbers []string, layouts map[int]printLayout, now time.Time) (int, error) {
	first, err := r.writes(ctx, kind, numbers, layouts, now, modeRestore, nil)
	if err != nil {
		return 0, err
	}
	if r.beforeWrite != nil {
		r.beforeWrite()
	}
	written, err := r.run(ctx, numbers, first)
	r.restored.Add(float64(len(written)))
	if err != nil || len(written) == 0 {
		return len(written), err
	}

	wrote := make(map[string]string, len(written))
	for _, number := range written {
		wrote[number] = first[number].status
	}
	again, err := r.writes(ctx, kind, written, layouts, now, modeUpdate, wrote)
	if err != nil {
		return len(written), err
	}
	var changed []string
	updates := map[string]receiptWrite{}
	for _, number := range written {
		update, ok := again[number]
		if !ok {
			// Deleted since the read: take back what was written.
			update = first[number]
			update.call.Args = append([]string{}, update.call.Args[:9]...)
			update.call.Args[2], update.call.Args[4] = "", modeRemove
		} else if update.state == first[number].state {
			continue
		}
		changed = append(changed, number)
		updates[number] = update
	}
	if len(changed) > 0 {
		slog.Info("records changed while their receipts were written back; written again", "receipts", len(changed))
		if _, err := r.run(ctx, changed, updates); err != nil {
			return len(written), err
		}
	}
	return len(written), nil
}

// writes reads the stored records numbers and returns restoreScript's
// call in mode for each, by number. A record no longer stored has none.
// For an update, redisStatus is each receipt's status in Redis.
func (r *Restorer) writes(ctx context.Context, kind string, numbers []string, layouts map[int]printLayout, now time.Time, mode string, redisStatus map[string]string) (map[string]receiptWrite, error) {
	if kind == enrol.KindRegistration {
		return r.registrationWrites(ctx, numbers, layouts, now, mode, redisStatus)
	}
	return r.applicationWrites(ctx, numbers, now, mode, redisStatus)
}

// compare reads the receipts and claims of the stored records and returns
// the numbers whose receipts Redis does not hold, or holds for another
// family's rejected submission (see restoreScript). It also returns the
// Redis status of each receipt that is behind, by number. A receipt is
// behind when its status differs from the record's. It is also behind
// when its child's claim does not name a record that holds the claim (a
// registration, or an application neither returned nor deleted), or
// names one that no longer does. A receipt still accepted (已受理) of a
// record stored as recorded is not behind, because the drainer's
// watermark makes it read recorded (enrol.EffectiveStatus).
func (r *Restorer) compare(ctx context.Context, kind string, stored []enrolment.StoredStatus) (missing []string, behind map[string]string, err error) {
	commands := make(rueidis.Commands, 0, 2*len(stored))
	for _, record := range stored {
		claim := r.keys.RegistrationClaim(record.Year, record.ChildIndex)
		if kind == enrol.KindApplication {
			claim = r.keys.ApplicationClaim(record.Year, record.ChildIndex)
		}
		commands = append(commands,
			r.redis.B().Hmget().Key(r.keys.Receipt(record.Number)).Field(enrol.FieldOwner, enrol.FieldNumberTaken, enrol.FieldStatus).Build(),
			r.redis.B().Get().Key(claim).Build())
	}
	results := r.redis.DoMulti(ctx, commands...)
	for i, record := range stored {
		values, err := results[2*i].ToArray()
		if err != nil {
			return nil, nil, fmt.Errorf("read receipt %s: %w", record.Number, err)
		}
		if len(values) != 3 {
			return nil, nil, fmt.Errorf("read receipt %s: HMGET returned %d values", record.Number, len(values))
		}
		claim, err := results[2*i+1].ToString()
		if err != nil && !rueidis.IsRedisNil(err) {
			return nil, nil, fmt.Errorf("read the claim of %s: %w", record.Number, err)
		}
		if values[0].IsNil() || !values[1].IsNil() {
			missing = append(missing, record.Number)
			continue
		}
		status, _ := values[2].ToString()
		statusBehind := status != record.Status && (status != enrol.StatusAccepted || record.Status != enrol.StatusRecorded)
		claimed := strings.HasPrefix(claim, record.Number+"|")
		holdsClaim := kind == enrol.KindRegistration || (record.Status != enrol.StatusReturned && record.Status != enrol.StatusDeleted)
		if statusBehind || claimed != holdsClaim {
			if behind == nil {
				behind = map[string]string{}
			}
			behind[record.Number] = status
		}
	}
	return missing, behind, nil
}

// ttlLeft returns, in seconds, how long the receipt of a record accepted
// at acceptedAt has left to live, or "" when it has expired.
func (r *Restorer) ttlLeft(acceptedAt, now time.Time) string {
	left := acceptedAt.Add(r.ttl).Sub(now)
	if left < time.Second {
		return ""
	}
	return strconv.FormatInt(int64(left/time.Second), 10)
}

func (r *Restorer) registrationWrites(ctx context.Context, numbers []string, layouts map[int]printLayout, now time.Time, mode string, redisStatus map[string]string) (map[string]receiptWrite, error) {
	stored, err := r.store.LoadRegistrations(ctx, numbers)
	if err != nil {
		return nil, err
	}
	writes := make(map[string]receiptWrite, len(stored))
	for i := range stored {
		row := &stored[i]
		record := &row.Record
		ttl := r.ttlLeft(record.AcceptedAt, now)
		if ttl == "" {
			continue
		}
		body, err := enrol.EncodeRecord(record)
		if err != nil {
			return nil, fmt.Errorf("encode registration %s: %w", record.Number, err)
		}
		layout, err := r.layoutOf(ctx, layouts, record.SchemaVersion)
		if err != nil {
			return nil, err
		}
		owner := hex.EncodeToString(record.OwnerIndex)
		claim := enrol.ClaimValue(record.Number, record.PayloadHash, owner)
		args := []string{ttl, record.Number, claim, string(layout.layout), mode, owner, r.keys.ReceiptPrefix(), r.keys.OwnerPrefix(), redisStatus[record.Number]}
		args = append(args, receiptFields(enrol.KindRegistration, row.Status, owner, record.AcceptedAt, row.RecordedAt, row.Note)...)
		args = append(args, enrol.FieldRecord, string(body), enrol.FieldFacts, enrol.PackRegistrationFacts(record))
		if layout.id != "" {
			args = append(args, enrol.FieldPrintLayoutID, layout.id)
		}
		keys := []string{r.keys.Receipt(record.Number), r.keys.OwnerReceipts(record.OwnerIndex),
			r.keys.RegistrationClaim(record.Year, record.ChildIndex)}
		if layout.id != "" {
			keys = append(keys, r.keys.PrintLayout(layout.id))
		}
		writes[record.Number] = receiptWrite{call: rueidis.LuaExec{Keys: keys, Args: args}, status: row.Status, state: row.Status + "|" + row.Note}
	}
	return writes, nil
}

func (r *Restorer) applicationWrites(ctx context.Context, numbers []string, now time.Time, mode string, redisStatus map[string]string) (map[string]receiptWrite, error) {
	stored, err := r.store.LoadApplications(ctx, numbers)
	if err != nil {
		return nil, err
	}
	writes := make(map[string]receiptWrite, len(stored))
	for i := range stored {
		row := &stored[i]
		record := &row.Record
		ttl := r.ttlLeft(record.AcceptedAt, now)
		if ttl == "" {
			continue
		}
		claim := ""
		if row.Status != enrol.StatusReturned && row.Status != enrol.StatusDeleted {
			claim = enrol.ClaimValue(record.Number, record.PayloadHash, record.DistrictCode)
		}
		owner := hex.EncodeToString(record.OwnerIndex)
		note := applicationNote(row)
		args := []string{ttl, record.Number, claim, "", mode, owner, r.keys.ReceiptPrefix(), r.keys.OwnerPrefix(), redisStatus[record.Number]}
		args = append(args, receiptFields(enrol.KindApplication, row.Status, owner, record.AcceptedAt, row.RecordedAt, note)...)
		args = append(args, enrol.FieldYear, strconv.Itoa(record.Year), enrol.FieldRegistration, record.RegistrationNumber,
			enrol.FieldDistrict, record.DistrictCode, enrol.FieldCategory, record.CategoryCode,
			enrol.FieldChoices, enrol.JoinCampusIDs(record.CampusChoices))
		if record.Supplementary {
			args = append(args, enrol.FieldSupplementary, "1")
		}
		keys := []string{r.keys.Receipt(record.Number), r.keys.OwnerReceipts(record.OwnerIndex),
			r.keys.ApplicationClaim(record.Year, record.ChildIndex)}
		writes[record.Number] = receiptWrite{call: rueidis.LuaExec{Keys: keys, Args: args}, status: row.Status, state: row.Status + "|" + note}
	}
	return writes, nil
}

// receiptFields are the fields every receipt has. The status is the
// stored one, which is final for the drain, so the receipt needs no
// stream entry (enrol.EffectiveStatus).
func receiptFields(kind, status, owner string, acceptedAt, recordedAt time.Time, note string) []string {
	fields := []string{enrol.FieldKind, kind, enrol.FieldStatus, status, enrol.FieldOwner, owner,
		enrol.FieldAcceptedAt, acceptedAt.UTC().Format(time.RFC3339Nano),
		enrol.FieldRecordedAt, recordedAt.UTC().Format(time.RFC3339Nano)}
	if note != "" {
		fields = append(fields, enrol.FieldNote, note)
	}
	return fields
}

// applicationNote is the note the back office wrote beside the
// application's status.
func applicationNote(row *enrolment.StoredApplication) string {
	switch row.Status {
	case enrol.StatusReturned:
		if row.ReturnReason != "" {
			return enrol.ReturnNote(row.ReturnReason)
		}
	case enrol.StatusDeleted:
		if row.DeletionReason != "" {
			return enrol.DeletionNote(row.DeletionReason)
		}
	case enrol.StatusAdmitted, enrol.StatusNotAdmitted:
		return enrol.AdmissionNote(row.Status, row.AdmittedCampus, row.AdmissionReason)
	}
	return ""
}

// run runs the writes of numbers that exist, in order, and returns the
// numbers whose receipts were written. It runs them all even when one
// fails, and then returns the first error.
func (r *Restorer) run(ctx context.Context, numbers []string, writes map[string]receiptWrite) ([]string, error) {
	calls := make([]rueidis.LuaExec, 0, len(numbers))
	called := make([]string, 0, len(numbers))
	for _, number := range numbers {
		if write, ok := writes[number]; ok {
			calls = append(calls, write.call)
			called = append(called, number)
		}
	}
	var written []string
	var first error
	for i, result := range restoreScript.ExecMulti(ctx, r.redis, calls...) {
		wrote, err := result.AsInt64()
		if err != nil && first == nil {
			first = fmt.Errorf("write receipt %s back: %w", called[i], err)
		}
		if wrote == 1 {
			written = append(written, called[i])
		}
	}
	return written, first
}

// printLayout is a registration form version's print layout and its ID.
type printLayout struct {
	layout []byte
	id     string
}

// layoutOf returns the print layout of the city-wide registration form
// version a record was made with, which its receipt names. A version
// missing from the database gives none, and the edge prints such a record
// with the current form's labels.
func (r *Restorer) layoutOf(ctx context.Context, layouts map[int]printLayout, version int) (printLayout, error) {
	if layout, ok := layouts[version]; ok {
		return layout, nil
	}
	var body []byte
	err := r.db.GetContext(ctx, &body, `SELECT body FROM form_schema
		WHERE kind = 'registration' AND district_code IS NULL AND version = $1`, version)
	if errors.Is(err, sql.ErrNoRows) {
		slog.Warn("registration form version not stored; receipts written back without its print layout", "version", version)
		layouts[version] = printLayout{}
		return printLayout{}, nil
	}
	if err != nil {
		return printLayout{}, fmt.Errorf("read registration form version %d: %w", version, err)
	}
	layout, id, err := catalogue.PrintLayoutOf(snapshot.Form{Kind: enrol.KindRegistration, Version: version, Body: body})
	if err != nil {
		return printLayout{}, err
	}
	layouts[version] = printLayout{layout: layout, id: id}
	return layouts[version], nil
}
