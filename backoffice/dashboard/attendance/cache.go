package attendance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/backoffice/monitoring"
)

// Cache keeps panel responses in Redis for a short time, so that staff
// looking at the same unit and period share one computation. The key holds
// only the node, the period and the panel's parameters. That is safe
// because the node is checked against the staff member's scope before the
// cache is read, and a scope that covers a node covers all rows under it.
type Cache struct {
	Redis  rueidis.Client
	Prefix string
	// TTL is how long a response is served from the cache, so figures lag
	// ingest by at most this long.
	TTL time.Duration

	mu       sync.Mutex
	inFlight map[string]*computation
}

// computation is one panel response being computed. Requests for the same
// key wait for it instead of computing it again, because a popular entry
// that expires is requested by many staff at once.
type computation struct {
	done chan struct{}
	body []byte
	err  error
}

// compute returns the body that compute produces for key, running compute
// once however many requests for key arrive while it runs.
func (c *Cache) compute(key string, compute func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if c.inFlight == nil {
		c.inFlight = map[string]*computation{}
	}
	if running, ok := c.inFlight[key]; ok {
		c.mu.Unlock()
		<-running.done
		return running.body, running.err
	}
	running := &computation{done: make(chan struct{})}
	c.inFlight[key] = running
	c.mu.Unlock()

	running.body, running.err = compute()
	c.mu.Lock()
	delete(c.inFlight, key)
	c.mu.Unlock()
	close(running.done)
	return running.body, running.err
}

// cacheParameters are the query parameters that change a panel's response
// beyond node and period.
var cacheParameters = []string{"by", "metric", "limit", "granularity", "page"}

func (c *Cache) key(r *http.Request, request panelRequest) string {
	parameters := url.Values{}
	for _, name := range cacheParameters {
		if value := request.query.Get(name); value != "" {
			parameters.Set(name, value)
		}
	}
	node := request.node
	identity := r.URL.Path + "|" + node.Level + "|" + node.DistrictCode + "|" + node.StreetCode + "|" +
		strconv.FormatInt(node.KindergartenID, 10) + "|" + request.period.Kind + "|" +
		request.period.From.Format(time.DateOnly) + "|" + request.period.To.Format(time.DateOnly) + "|" + parameters.Encode()
	sum := sha256.Sum256([]byte(identity))
	return c.Prefix + "dashboard:attendance:" + hex.EncodeToString(sum[:16])
}

func (c *Cache) get(ctx context.Context, key string) ([]byte, bool) {
	body, err := c.Redis.Do(ctx, c.Redis.B().Get().Key(key).Build()).AsBytes()
	if err != nil {
		if !rueidis.IsRedisNil(err) {
			slog.Warn("attendance panel cache: read failed", "key", key, "error", err)
		}
		return nil, false
	}
	return body, true
}

func (c *Cache) set(ctx context.Context, key string, body []byte) {
	err := c.Redis.Do(ctx, c.Redis.B().Set().Key(key).Value(rueidis.BinaryString(body)).Px(c.TTL).Build()).Error()
	if err != nil {
		slog.Warn("attendance panel cache: write failed", "key", key, "error", err)
	}
}

// panelFunc computes one panel's response.
type panelFunc func(r *http.Request, request panelRequest) (any, error)

// serve adapts a panel to a handler. It parses the node and period (with
// defaultRange when the request names none), writes the cached response
// when there is one, and otherwise computes, caches and writes it.
func (h *Handlers) serve(defaultRange string, panel panelFunc) http.HandlerFunc {
	return httpx.Handle(func(w http.ResponseWriter, r *http.Request) error {
		request, err := h.parse(r, defaultRange)
		if err != nil {
			return err
		}
		computeBody := func(r *http.Request) ([]byte, error) {
			response, err := panel(r, request)
			if err != nil {
				return nil, err
			}
			return json.Marshal(response)
		}
		if h.Cache == nil {
			body, err := computeBody(r)
			if err != nil {
				return err
			}
			writeBody(w, body)
			return nil
		}

		key := h.Cache.key(r, request)
		if body, ok := h.Cache.get(r.Context(), key); ok {
			writeBody(w, body)
			return nil
		}
		// Other requests may wait for this computation, so it runs to the
		// end even if this request's client goes away.
		shared := r.WithContext(context.WithoutCancel(r.Context()))
		body, err := h.Cache.compute(key, func() ([]byte, error) {
			body, err := computeBody(shared)
			if err == nil {
				h.Cache.set(r.Context(), key, body)
			}
			return body, err
		})
		if err != nil {
			return err
		}
		writeBody(w, body)
		return nil
	})
}

func writeBody(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(body); err != nil {
		slog.Debug("write panel response", "error", err)
	}
}

// latestDayCache remembers the latest day with data for a few seconds,
// because every panel request needs it.
type latestDayCache struct {
	mu      sync.Mutex
	day     time.Time
	today   time.Time
	checked time.Time
}

const latestDayMaxAge = 10 * time.Second

func (h *Handlers) latestDay(ctx context.Context) (time.Time, error) {
	today := monitoring.Today(h.Now())
	h.latest.mu.Lock()
	defer h.latest.mu.Unlock()
	if h.latest.today.Equal(today) && time.Since(h.latest.checked) < latestDayMaxAge {
		return h.latest.day, nil
	}
	day, err := latestDay(ctx, h.DB, today)
	if err != nil {
		return day, err
	}
	h.latest.day, h.latest.today, h.latest.checked = day, today, time.Now()
	return day, nil
}
