package catalogue_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
	"github.com/sh-preschool/preschool/shared/testenv"
)

// publishSnapshot stores s and its version under keys and announces it, as
// the back office's publisher does.
func publishSnapshot(t *testing.T, client rueidis.Client, keys enrolment.Keys, s *snapshot.Snapshot) {
	t.Helper()
	encoded, err := snapshot.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	publishRaw(t, client, keys, encoded, s.Version)
}

func publishRaw(t *testing.T, client rueidis.Client, keys enrolment.Keys, data []byte, version int64) {
	t.Helper()
	ctx := context.Background()
	for _, result := range client.DoMulti(ctx,
		client.B().Set().Key(keys.Snapshot()).Value(rueidis.BinaryString(data)).Build(),
		client.B().Set().Key(keys.SnapshotVersion()).Value(strconv.FormatInt(version, 10)).Build(),
		client.B().Publish().Channel(keys.SnapshotChannel()).Message(strconv.FormatInt(version, 10)).Build()) {
		if err := result.Error(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStoreRefresh(t *testing.T) {
	t.Parallel()
	redis := testenv.NewRedis(t)
	keys := edgetest.Keys(redis.Prefix)
	store := catalogue.NewStore(redis.Client, keys)
	ctx := context.Background()

	if err := store.Refresh(ctx); !errors.Is(err, catalogue.ErrNoSnapshot) {
		t.Errorf("Refresh before a snapshot returned %v, want ErrNoSnapshot", err)
	}
	if store.Current() != nil {
		t.Error("Current() before a snapshot is not nil")
	}

	publishSnapshot(t, redis.Client, keys, small())
	if err := store.Refresh(ctx); err != nil {
		t.Fatalf("Refresh returned %v", err)
	}
	first := store.Current()
	if first == nil || first.Version() != 7 {
		t.Fatalf("Current() = %+v, want version 7", first)
	}
	if err := store.Refresh(ctx); err != nil {
		t.Fatalf("second Refresh returned %v", err)
	}
	if store.Current() != first {
		t.Error("Refresh of an unchanged version replaced the catalogue")
	}

	publishRaw(t, redis.Client, keys, []byte("not gzip"), 8)
	if err := store.Refresh(ctx); err == nil {
		t.Error("Refresh of a corrupt snapshot returned no error")
	}
	if store.Current() != first {
		t.Error("a corrupt snapshot replaced the catalogue")
	}

	broken := small()
	broken.Version = 9
	broken.Entries[0].CategoryCode = "vip"
	publishSnapshot(t, redis.Client, keys, broken)
	if err := store.Refresh(ctx); err == nil {
		t.Error("Refresh of a snapshot with unknown codes returned no error")
	}
	if store.Current() != first {
		t.Error("a snapshot with unknown codes replaced the catalogue")
	}
}

func TestStoreRunFollowsPublish(t *testing.T) {
	t.Parallel()
	redis := testenv.NewRedis(t)
	keys := edgetest.Keys(redis.Prefix)
	store := catalogue.NewStore(redis.Client, keys)
	store.PollInterval = time.Hour // so only the publish message can trigger the refresh
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		store.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})

	// The subscription starts in the background, so the snapshot is
	// published again until the store has it.
	next := small()
	deadline := time.Now().Add(15 * time.Second)
	for store.Current() == nil || store.Current().Version() != next.Version {
		if time.Now().After(deadline) {
			t.Fatal("gave up waiting for the store to load the published snapshot")
		}
		next.Version++
		publishSnapshot(t, redis.Client, keys, next)
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGetCatalogue(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	store := catalogue.NewStore(nil, enrolment.Keys{})
	now := f.Seeded
	handlers := &catalogue.Handlers{Store: store, Now: func() time.Time { return now }}

	ctx := &fasthttp.RequestCtx{}
	if err := handlers.GetCatalogue(ctx); err == nil {
		t.Error("GetCatalogue without a snapshot returned no error")
	}

	store.Set(f.Catalogue)
	ctx = &fasthttp.RequestCtx{}
	if err := handlers.GetCatalogue(ctx); err != nil {
		t.Fatalf("GetCatalogue returned %v", err)
	}
	var body struct {
		Version int64 `json:"version"`
		Year    struct {
			Year             int  `json:"year"`
			RegistrationOpen bool `json:"registrationOpen"`
		} `json:"year"`
		Categories []json.RawMessage `json:"categories"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil {
		t.Fatal(err)
	}
	if ctx.Response.StatusCode() != http.StatusOK || body.Version != f.Catalogue.Version() || !body.Year.RegistrationOpen {
		t.Errorf("answer = %d %+v, want 200 with the fixture's version and registration open", ctx.Response.StatusCode(), body)
	}
	if len(body.Categories) != 13 {
		t.Errorf("%d categories, want 13", len(body.Categories))
	}

	// A new catalogue is served at once, not after the one-second cache.
	newer := f.CatalogueWith(t, func(s *snapshot.Snapshot) { s.Version++ })
	store.Set(newer)
	ctx = &fasthttp.RequestCtx{}
	if err := handlers.GetCatalogue(ctx); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Version != newer.Version() {
		t.Errorf("version = %d after a new snapshot, want %d", body.Version, newer.Version())
	}

	// After the registration window the flag turns within a second.
	now = f.Year.RegistrationClosesAt.Add(time.Second)
	ctx = &fasthttp.RequestCtx{}
	if err := handlers.GetCatalogue(ctx); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Year.RegistrationOpen {
		t.Error("registrationOpen = true after the window closed")
	}
}
