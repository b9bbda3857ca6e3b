package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
	"golang.org/x/sync/singleflight"

	"github.com/sh-preschool/preschool/backoffice/access"
)

// Cache keeps the JSON responses of dashboard panels in Redis for a short
// time, per viewer scope and request, so many staff watching the same
// panel cost one query. A figure is at most TTL old.
type Cache struct {
	Redis  rueidis.Client
	Prefix string
	// TTL is how long a response is kept. Zero turns the cache off.
	TTL time.Duration
	// Versioned lists the paths (matched at the end of the request path)
	// whose entries carry a version number, so that Bump retires them at
	// once: the alert list, which a threshold change must show.
	Versioned []string

	flight singleflight.Group
}

// maxCachedBytes bounds one cached response. Larger responses are served
// without caching.
const maxCachedBytes = 1 << 20

// Middleware serves a GET from the cache when it holds the response, and
// stores the wrapped handler's 200 responses whose body is valid JSON
// otherwise. Exports (.xlsx) and the threshold list pass through. Redis
// failures are logged and the request is served uncached.
func (c *Cache) Middleware(next http.Handler) http.Handler {
	if c == nil || c.Redis == nil || c.TTL <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		staff := access.StaffFrom(r.Context())
		// Exports stream, and an edited threshold must show at once, so
		// neither is cached.
		if r.Method != http.MethodGet || staff == nil || strings.HasSuffix(r.URL.Path, ".xlsx") ||
			strings.HasSuffix(r.URL.Path, "/alert-thresholds") {
			next.ServeHTTP(w, r)
			return
		}
		key := c.key(staff.Scope, r.URL)
		if path, ok := c.versioned(r.URL.Path); ok {
			ctx, cancel := context.WithTimeout(r.Context(), 200*time.Millisecond)
			version, err := c.Redis.Do(ctx, c.Redis.B().Get().Key(c.versionKey(path)).Build()).ToString()
			cancel()
			if err != nil && !rueidis.IsRedisNil(err) {
				slog.Warn("dashboard cache version read failed", "path", path, "error", err)
				next.ServeHTTP(w, r)
				return
			}
			key += "#v" + version
		}
		ctx, cancel := context.WithTimeout(r.Context(), 200*time.Millisecond)
		cached, err := c.Redis.Do(ctx, c.Redis.B().Get().Key(key).Build()).AsBytes()
		cancel()
		if err == nil {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Dashboard-Cache", "hit")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(cached)
			return
		}
		if !rueidis.IsRedisNil(err) {
			slog.Warn("dashboard cache read failed", "key", key, "error", err)
		}

		// Concurrent misses of one key wait for the first request's response
		// instead of all querying the database when an entry expires.
		shared, _, joined := c.flight.Do(key, func() (any, error) {
			recorder := &recordingWriter{ResponseWriter: w, status: http.StatusOK}
			w.Header().Set("X-Dashboard-Cache", "miss")
			next.ServeHTTP(recorder, r)
			if recorder.status != http.StatusOK || recorder.overflow {
				return nil, nil
			}
			body := bytes.Clone(recorder.body.Bytes())
			if !json.Valid(body) {
				// An empty or cut-off body must not be served to every
				// viewer for the next TTL.
				slog.Warn("dashboard response is not valid JSON, not cached", "key", key, "bytes", len(body))
				return nil, nil
			}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 200*time.Millisecond)
			defer cancel()
			err := c.Redis.Do(ctx, c.Redis.B().Set().Key(key).Value(rueidis.BinaryString(body)).Px(c.TTL).Build()).Error()
			if err != nil {
				slog.Warn("dashboard cache write failed", "key", key, "error", err)
			}
			return body, nil
		})
		if !joined {
			return
		}
		body, _ := shared.([]byte)
		if body == nil {
			// The first request failed or was too large to share, so this
			// one runs on its own.
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Dashboard-Cache", "shared")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

// Bump retires every cached response of a Versioned path: later requests
// read a new version number and miss. A response still being computed
// is stored under the old number, which no request reads again.
func (c *Cache) Bump(ctx context.Context, path string) {
	if c == nil || c.Redis == nil || c.TTL <= 0 {
		return
	}
	if err := c.Redis.Do(ctx, c.Redis.B().Incr().Key(c.versionKey(path)).Build()).Error(); err != nil {
		slog.Warn("dashboard cache version not raised; the old responses expire within the TTL", "path", path, "error", err)
	}
}

func (c *Cache) versioned(requestPath string) (string, bool) {
	for _, path := range c.Versioned {
		if strings.HasSuffix(requestPath, path) {
			return path, true
		}
	}
	return "", false
}

func (c *Cache) versionKey(path string) string {
	return c.Prefix + "dashboard:cache:version:" + path
}

// key names the response to one request for one scope. The query is
// re-encoded in sorted order, so parameter order does not split entries.
func (c *Cache) key(scope access.Scope, u *url.URL) string {
	return c.Prefix + "dashboard:cache:" + scope.Level + ":" + scope.DistrictCode + ":" + scope.StreetCode + ":" +
		strconv.FormatInt(scope.KindergartenID, 10) + ":" + u.Path + "?" + u.Query().Encode()
}

// recordingWriter passes the response through and keeps a copy of its
// body, up to maxCachedBytes.
type recordingWriter struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	overflow bool
}

func (r *recordingWriter) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recordingWriter) Write(p []byte) (int, error) {
	if !r.overflow {
		if r.body.Len()+len(p) > maxCachedBytes {
			r.overflow = true
			r.body.Reset()
		} else {
			r.body.Write(p)
		}
	}
	return r.ResponseWriter.Write(p)
}
