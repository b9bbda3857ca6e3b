package drain

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// defaultSequenceCheck is how often each drainer compares Redis's number
// counters with the numbers PostgreSQL holds, unless Config.SequenceCheck
// is set. A counter that Redis rolled back hands out stored numbers
// until the next check. The drainer also checks at once when it finds such
// a number in a batch (see finish).
const defaultSequenceCheck = 10 * time.Second

func (d *Drainer) sequenceCheck() time.Duration {
	if d.config.SequenceCheck > 0 {
		return d.config.SequenceCheck
	}
	return defaultSequenceCheck
}

// sequenceMargin is how far past the highest stored number a counter found
// behind is set. The numbers the edge drew in the writes Redis lost, whose
// entries were lost too, may be on families' screens and printed forms, so
// they are skipped rather than handed out again. The append-only file's
// fsync every second loses about one second of writes, about 10,000
// numbers at the rate measured on a 2-core machine (docs/benchmarks.md).
const sequenceMargin = 20_000

// raiseSequencesScript sets each counter in KEYS that is below a threshold
// to the floor at the same position in ARGV plus the margin, and returns
// how many it raised. ARGV[#KEYS + 1] is the margin. The threshold is the
// floor, or the floor plus the margin when ARGV[#KEYS + 2] is "1".
var raiseSequencesScript = rueidis.NewLuaScript(`
local margin = tonumber(ARGV[#KEYS + 1])
local force = ARGV[#KEYS + 2] == '1'
local raised = 0
for i, key in ipairs(KEYS) do
  local floor = tonumber(ARGV[i])
  local threshold = floor
  if force then threshold = floor + margin end
  if tonumber(redis.call('GET', key) or '0') < threshold then
    redis.call('SET', key, floor + margin)
    raised = raised + 1
  end
end
return raised
`)

// RaiseSequences sets every number counter in Redis that is below the
// highest sequence stored under it in PostgreSQL to that sequence plus
// sequenceMargin, so that the next number drawn is new. A counter is
// behind only when Redis lost writes that had reached the database: a
// restart from an append-only file that missed its last second, or a
// failover to a replica that lagged. It returns how many counters it
// raised.
func (d *Drainer) RaiseSequences(ctx context.Context) (int, error) {
	return d.raiseSequences(ctx, false)
}

// raiseSequences is RaiseSequences, and when afterTaken is set it also
// raises a counter at or just above its floor. A batch that met a stored
// number shows that Redis lost writes, even when the counter has climbed
// back to the floor by the time of the check. The counter must then also
// skip the numbers of the lost writes above the floor.
func (d *Drainer) raiseSequences(ctx context.Context, afterTaken bool) (int, error) {
	floors, err := d.store.SequenceFloors(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the stored numbers: %w", err)
	}
	if len(floors) == 0 {
		return 0, nil
	}

	keys := make([]string, 0, len(floors))
	args := make([]string, 0, len(floors))
	for _, floor := range floors {
		if floor.Kind == enrol.KindRegistration {
			keys = append(keys, d.keys.RegistrationSequence(floor.Year))
		} else {
			keys = append(keys, d.keys.ApplicationSequence(floor.Year, floor.District))
		}
		args = append(args, strconv.FormatInt(floor.Sequence, 10))
	}
	force := "0"
	if afterTaken {
		force = "1"
	}
	args = append(args, strconv.Itoa(sequenceMargin), force)

	raised, err := raiseSequencesScript.Exec(ctx, d.redis, keys, args).AsInt64()
	if err != nil {
		return 0, fmt.Errorf("raise the number counters: %w", err)
	}
	if raised > 0 {
		slog.Error("number counters in Redis were behind the numbers stored; raised them (Redis lost writes)",
			"raised", raised, "counters", len(keys))
		d.metrics.SequencesRaised.Add(float64(raised))
	}
	// After a batch that met a stored number, finish calls lostWrites
	// itself once the receipts are marked, which the restore reads.
	if raised > 0 && !afterTaken {
		d.lostWrites()
	}
	return int(raised), nil
}

// lostWrites calls OnLostWrites, if set.
func (d *Drainer) lostWrites() {
	if d.OnLostWrites != nil {
		d.OnLostWrites()
	}
}

// Notes on the receipt of a submission not stored because a number was
// handed out twice.
const (
	registrationNumberTakenNote = "系统分配的登记编号与已有记录重复，本次登记未能入库，填报内容已留存。请重新提交登记，系统将分配新的登记编号。"
	applicationNumberTakenNote  = "系统分配的报名编号与已有记录重复，本次报名未能入库，填报内容已留存。请重新提交报名，系统将分配新的报名编号。"
	registrationTakenNote       = "该报名所依据的登记编号与已有记录重复，登记未能入库，本次报名也未能入库，填报内容已留存。请重新提交登记后再报名。"
)

// releaseTaken handles an entry whose number PostgreSQL holds for another
// child, or an application whose registration number it holds for another
// child. The entry goes to the dead-letter stream with its record, so
// nothing the family sent is lost. Its receipt reads failed, marked
// enrol.FieldNumberTaken, with a note requesting a new submission. The
// child's claim is released, so that submission is accepted under a new
// number (the caller has raised the counters). It returns false only when
// ctx ends before both writes succeed.
func (d *Drainer) releaseTaken(ctx context.Context, item decodedEntry) bool {
	claim := d.keys.RegistrationClaim(item.year, item.childIndex)
	if item.kind == enrol.KindApplication {
		claim = d.keys.ApplicationClaim(item.year, item.childIndex)
	}
	note, reason := registrationNumberTakenNote, "number "+item.number+" is stored for another child: Redis handed it out again after losing its counter"
	outcome := "number_taken"
	switch {
	case item.registrationTaken:
		note, reason = registrationTakenNote, "the registration number of application "+item.number+" is stored for another child: the registration got a number Redis handed out again"
		outcome = "registration_taken"
	case item.kind == enrol.KindApplication:
		note = applicationNumberTakenNote
	}

	logArgs := []any{"entry_id", item.entry.ID, "number", item.number}
	if !d.retry(ctx, "dead letter of an entry with a taken number not written", logArgs, func() error {
		return d.writeDeadLetter(ctx, item.entry, item.kind, item.number, reason)
	}) {
		return false
	}
	if !d.retry(ctx, "receipt of an entry with a taken number not released", logArgs, func() error {
		return enrolment.ReleaseScript.Exec(ctx, d.redis, []string{d.keys.Receipt(item.number), claim},
			[]string{enrol.StatusFailed, note, item.number, "1"}).Error()
	}) {
		return false
	}
	slog.Error("entry dead-lettered", "entry_id", item.entry.ID, "kind", item.kind, "number", item.number, "reason", reason)
	d.metrics.Stored.WithLabelValues(item.kind, outcome).Inc()
	return true
}

// keepOtherContents copies to the dead-letter stream an entry whose child
// was stored under the same number with other contents before (a number
// drawn again after Redis lost its counter), so that staff can compare
// the two. The record stored first stays, and the receipt reads 已入库,
// because the child is registered. It returns false only when ctx ends
// before the copy is written.
func (d *Drainer) keepOtherContents(ctx context.Context, item decodedEntry) bool {
	reason := "number " + item.number + " was stored for this child before with other contents, which were kept: Redis handed the number out again after losing its counter"
	if !d.retry(ctx, "copy of an entry with other contents not written", []any{"entry_id", item.entry.ID, "number", item.number}, func() error {
		return d.writeDeadLetter(ctx, item.entry, item.kind, item.number, reason)
	}) {
		return false
	}
	slog.Error("entry copied to the dead-letter stream", "entry_id", item.entry.ID, "kind", item.kind, "number", item.number, "reason", reason)
	return true
}
