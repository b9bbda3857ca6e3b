package signin

import (
	"context"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/edge/api"
)

// RedisRevocations keeps revoked session IDs in Redis, each until the
// session would have expired.
type RedisRevocations struct {
	Redis   rueidis.Client
	Prefix  string
	Timeout time.Duration
}

// Key returns the key that exists while sessionID is revoked, for a Redis
// script that checks the revocation within its own call.
func (r *RedisRevocations) Key(sessionID string) string {
	return r.Prefix + "session:revoked:" + sessionID
}

// Revoke records sessionID as revoked until until.
func (r *RedisRevocations) Revoke(ctx context.Context, sessionID string, until time.Time) error {
	ttl := time.Until(until)
	if ttl <= 0 {
		return nil
	}
	ctx, cancel := api.WithTimeout(ctx, r.Timeout)
	defer cancel()
	return r.Redis.Do(ctx, r.Redis.B().Set().Key(r.Key(sessionID)).Value("1").Ex(ttl).Build()).Error()
}

// Revoked reports whether sessionID was revoked.
func (r *RedisRevocations) Revoked(ctx context.Context, sessionID string) (bool, error) {
	ctx, cancel := api.WithTimeout(ctx, r.Timeout)
	defer cancel()
	count, err := r.Redis.Do(ctx, r.Redis.B().Exists().Key(r.Key(sessionID)).Build()).AsInt64()
	return count > 0, err
}
