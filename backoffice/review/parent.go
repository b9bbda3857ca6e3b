package review

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/rueidis"

	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// releaseScript writes a new status into a receipt and releases the
// child's claim when the claim still names this record, so the family may
// submit again. A claim naming another record (a newer submission) stays.
//
// KEYS[1] receipt, KEYS[2] claim. ARGV[1] status, ARGV[2] note, ARGV[3]
// the record's number.
//
// Returns 1 when the claim was released, 0 otherwise.
var releaseScript = rueidis.NewLuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'status', ARGV[1])
  if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'note', ARGV[2]) end
end
local claim = redis.call('GET', KEYS[2])
if claim and string.sub(claim, 1, string.len(ARGV[3]) + 1) == ARGV[3] .. '|' then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
`)

// parentUpdate is one receipt to update and claim to release after a
// committed change.
type parentUpdate struct {
	Number string
	Claim  string
	Status string
	Note   string
}

// syncParent applies the updates to Redis, where the edge reads the
// parent's status and the claims. Each script is idempotent, so a failed
// call is retried, and a later repeat of the whole action syncs again.
func syncParent(ctx context.Context, client rueidis.Client, keys enrol.Keys, updates []parentUpdate) error {
	ctx = context.WithoutCancel(ctx)
	for _, update := range updates {
		var err error
		for attempt := range 3 {
			if attempt > 0 {
				time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
			}
			callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err = releaseScript.Exec(callCtx, client, []string{keys.Receipt(update.Number), update.Claim},
				[]string{update.Status, update.Note, update.Number}).Error()
			cancel()
			if err == nil {
				break
			}
		}
		if err != nil {
			slog.Error("parent status not updated in Redis; repeat the action to retry", "number", update.Number, "status", update.Status, "error", err)
			return fmt.Errorf("update receipt %s: %w", update.Number, err)
		}
	}
	return nil
}
