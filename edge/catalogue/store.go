package catalogue

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// ErrNoSnapshot is returned by Refresh when the back office has not yet
// published a snapshot.
var ErrNoSnapshot = errors.New("no configuration snapshot published yet")

// Store holds the current Catalogue and refreshes it from Redis when the
// back office publishes a new snapshot.
type Store struct {
	client  rueidis.Client
	keys    enrolment.Keys
	current atomic.Pointer[Catalogue]
	// PollInterval is how often Run checks the version key, as a backstop
	// for a missed publish message.
	PollInterval time.Duration
}

// NewStore returns a Store that reads snapshots under keys.
func NewStore(client rueidis.Client, keys enrolment.Keys) *Store {
	return &Store{client: client, keys: keys, PollInterval: 15 * time.Second}
}

// Current returns the current catalogue, or nil before the first snapshot.
func (s *Store) Current() *Catalogue { return s.current.Load() }

// Set replaces the current catalogue; tests use it to serve a snapshot
// without Redis.
func (s *Store) Set(c *Catalogue) { s.current.Store(c) }

// Refresh loads the published snapshot when its version differs from the
// current one. It keeps the current catalogue on any error.
func (s *Store) Refresh(ctx context.Context) error {
	version, err := s.client.Do(ctx, s.client.B().Get().Key(s.keys.SnapshotVersion()).Build()).AsInt64()
	if rueidis.IsRedisNil(err) {
		return ErrNoSnapshot
	}
	if err != nil {
		return err
	}
	if current := s.current.Load(); current != nil && current.Version() == version {
		return nil
	}

	data, err := s.client.Do(ctx, s.client.B().Get().Key(s.keys.Snapshot()).Build()).AsBytes()
	if rueidis.IsRedisNil(err) {
		return ErrNoSnapshot
	}
	if err != nil {
		return err
	}
	decoded, err := snapshot.Decode(data)
	if err != nil {
		return err
	}
	catalogue, err := New(decoded)
	if err != nil {
		return err
	}
	s.current.Store(catalogue)
	slog.Info("configuration snapshot loaded", "version", decoded.Version,
		"entries", len(decoded.Entries), "campuses", len(decoded.Campuses), "rules", len(decoded.Rules))
	return nil
}

// Run refreshes on every publish message and every PollInterval until ctx
// ends.
func (s *Store) Run(ctx context.Context) {
	published := make(chan struct{}, 1)
	go s.subscribe(ctx, published)

	ticker := time.NewTicker(s.PollInterval)
	defer ticker.Stop()
	for {
		if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
			level := slog.LevelError
			if errors.Is(err, ErrNoSnapshot) {
				level = slog.LevelWarn
			}
			slog.Log(ctx, level, "configuration refresh failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-published:
		}
	}
}

func (s *Store) subscribe(ctx context.Context, published chan<- struct{}) {
	for ctx.Err() == nil {
		err := s.client.Receive(ctx, s.client.B().Subscribe().Channel(s.keys.SnapshotChannel()).Build(),
			func(message rueidis.PubSubMessage) {
				if _, err := strconv.ParseInt(message.Message, 10, 64); err != nil {
					return
				}
				select {
				case published <- struct{}{}:
				default:
				}
			})
		if ctx.Err() != nil {
			return
		}
		slog.Warn("configuration subscription ended, resubscribing", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		// A message may have been missed while unsubscribed.
		select {
		case published <- struct{}{}:
		default:
		}
	}
}
