package drain_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/drain"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/testenv"
)

// TestStoredBefore follows one submission through the stream: waiting for
// a drainer, delivered but not acknowledged, then acknowledged. Only the
// last counts as stored, and a later time limit ignores nothing earlier.
func TestStoredBefore(t *testing.T) {
	redis := testenv.NewRedis(t)
	client, keys, ctx := redis.Client, enrol.Keys{Prefix: redis.Prefix}, context.Background()
	stored := func(before time.Time) bool {
		t.Helper()
		done, err := drain.StoredBefore(ctx, client, keys, before)
		if err != nil {
			t.Fatalf("StoredBefore: %v", err)
		}
		return done
	}
	do := func(command rueidis.Completed) rueidis.RedisResult {
		t.Helper()
		result := client.Do(ctx, command)
		if err := result.Error(); err != nil {
			t.Fatalf("redis: %v", err)
		}
		return result
	}

	if !stored(time.Now()) {
		t.Errorf("an empty, absent stream has submissions waiting")
	}
	earlier := time.Now().Add(-time.Second)
	id, err := do(client.B().Xadd().Key(keys.Stream()).Id("*").FieldValue().FieldValue("kind", "application").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Second)
	if stored(later) {
		t.Errorf("submission %s without a consumer group counts as stored", id)
	}
	if !stored(earlier) {
		t.Errorf("a submission after the limit holds back the limit before it")
	}

	do(client.B().XgroupCreate().Key(keys.Stream()).Group(keys.ConsumerGroup()).Id("0").Build())
	if stored(later) {
		t.Errorf("undelivered submission %s counts as stored", id)
	}
	do(client.B().Xreadgroup().Group(keys.ConsumerGroup(), "test").Count(1).Streams().Key(keys.Stream()).Id(">").Build())
	if stored(later) {
		t.Errorf("delivered, unacknowledged submission %s counts as stored", id)
	}
	do(client.B().Xack().Key(keys.Stream()).Group(keys.ConsumerGroup()).Id(id).Build())
	if !stored(later) {
		t.Errorf("acknowledged submission %s does not count as stored", id)
	}
}
