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

// sequenceCheckInterval is how often each drainer compares Redis's number
// counters with the numbers PostgreSQL holds. A counter that Redis rolled
// back hands out stored numbers until the next check. The drainer also
// checks at once when it finds such a number in a batch (see finish).
const sequenceCheckInterval = 10 * time.Second

// raiseSequencesScript sets each counter in KEYS to the value at the same
// position in ARGV unless it is already that high, and returns how many it
// raised.
var raiseSequencesScript = rueidis.NewLuaScript(`
local raised = 0
for i, key in ipairs(KEYS) do
  local floor = tonumber(ARGV[i])
  if tonumber(redis.call('GET', key) or '0') < floor then
    redis.call('SET', key, ARGV[i])
    raised = raised + 1
  end
end
return raised
`)

// RaiseSequences raises every number counter in Redis to the highest
// sequence stored under it in PostgreSQL, so that the next number drawn
// is new. A counter is behind only when Redis lost writes that had reached
// the database: a restart from an append-only file that missed its last
// second, or a failover to a replica that lagged. It returns how many
// counters it raised.
func (d *Drainer) RaiseSequences(ctx context.Context) (int, error) {
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
	raised, err := raiseSequencesScript.Exec(ctx, d.redis, keys, args).AsInt64()
	if err != nil {
		return 0, fmt.Errorf("raise the number counters: %w", err)
	}
	if raised > 0 {
		slog.Error("number counters in Redis were behind the numbers stored; raised them (Redis lost writes)",
			"raised", raised, "counters", len(keys))
		d.metrics.SequencesRaised.Add(float64(raised))
	}
	return int(raised), nil
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
// nothing the family sent is lost. Its receipt reads failed (处理异常)
// with a note asking for a new submission, and the child's claim is
// released, so that submission is accepted under a new number (the caller
// has raised the counters). It retries until both writes succeed and
// returns false only when ctx ends first.
func (d *Drainer) releaseTaken(ctx context.Context, item decodedEntry) bool {
	claim := d.keys.RegistrationClaim(item.year, item.childIndex)
	if item.kind == enrol.KindApplication {
		claim = d.keys.ApplicationClaim(item.year, item.childIndex)
	}
	note, reason := registrationNumberTakenNote, "number "+item.number+" is stored for another child: Redis handed it out again after losing its counter"
	switch {
	case item.registrationTaken:
		note, reason = registrationTakenNote, "the registration number of application "+item.number+" is stored for another child: the registration got a number Redis handed out again"
	case item.kind == enrol.KindApplication:
		note = applicationNumberTakenNote
	}
	keys := []string{d.keys.Receipt(item.number), claim}
	args := []string{enrol.StatusFailed, note, item.number}
	dead := false
	for attempt := 1; ; attempt++ {
		err := error(nil)
		if !dead {
			err = d.redis.Do(ctx, d.deadLetterCommand(item.entry, item.kind, item.number, reason)).Error()
			dead = err == nil
		}
		if err == nil {
			err = enrolment.ReleaseScript.Exec(ctx, d.redis, keys, args).Error()
		}
		if err == nil {
			slog.Error("entry dead-lettered", "entry_id", item.entry.ID, "kind", item.kind, "number", item.number, "reason", reason)
			d.metrics.DeadLetters.Inc()
			outcome := "number_taken"
			if item.registrationTaken {
				outcome = "registration_taken"
			}
			d.metrics.Stored.WithLabelValues(item.kind, outcome).Inc()
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		slog.Error("entry with a taken number not released, retrying", "number", item.number, "attempt", attempt, "error", err)
		sleep(ctx, backoff(attempt))
	}
}
