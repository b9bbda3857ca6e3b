package review

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

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
			err = enrolment.ReleaseScript.Exec(callCtx, client, []string{keys.Receipt(update.Number), update.Claim},
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
