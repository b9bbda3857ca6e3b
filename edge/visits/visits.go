// Package visits counts the parents' page views and unique visitors per
// stage and device class, for the back office's system state panel.
package visits

import (
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/visits"
)

// VisitorHeader carries the random visitor ID the parents' app keeps in
// localStorage. It identifies a browser, not a person, and is sent only to
// this edge.
const VisitorHeader = "X-Visitor-ID"

// yearTTL keeps a year's counters into the next year's enrolment.
const yearTTL = 2 * 366 * 24 * time.Hour

// Handlers serve the page-view beacon.
type Handlers struct {
	Redis   rueidis.Client
	Keys    visits.Keys
	Keyring *crypto.Keyring
	Timeout time.Duration
	Now     func() time.Time
	// ClientAddress returns the client's IP address, the visitor of last
	// resort.
	ClientAddress func(ctx *fasthttp.RequestCtx) string

	failures atomic.Int64
}

type pageView struct {
	Stage string `json:"stage"`
}

// PostPageView handles POST /api/v1/page-views: one page of stage was
// shown. It returns 204 even when Redis fails, because a lost count must
// not disturb the parent. The failure is logged.
func (h *Handlers) PostPageView(ctx *fasthttp.RequestCtx) error {
	var body pageView
	if err := api.DecodeJSON(ctx, 256, &body); err != nil {
		return err
	}
	if !visits.KnownStage(body.Stage) {
		return apierror.Invalid("stage", "invalid_stage", "页面阶段无效，应为 registration、application 或 admission。")
	}
	device := visits.DeviceClass(string(ctx.UserAgent()))
	visitor := h.visitor(ctx)
	now := h.Now()
	day, year := visits.Day(now), visits.Year(now)
	dayViews := h.Keys.DayViews(day, body.Stage, device)
	dayVisitors := h.Keys.DayVisitors(day, body.Stage, device)
	yearViews := h.Keys.YearViews(year, body.Stage, device)
	yearVisitors := h.Keys.YearVisitors(year, body.Stage, device)

	// One pipelined round trip; the expiry is renewed on every view, which
	// costs Redis less than checking it.
	b := h.Redis.B()
	commands := rueidis.Commands{
		b.Incr().Key(dayViews).Build(),
		b.Pfadd().Key(dayVisitors).Element(visitor).Build(),
		b.Pexpire().Key(dayViews).Milliseconds(visits.DayTTL.Milliseconds()).Build(),
		b.Pexpire().Key(dayVisitors).Milliseconds(visits.DayTTL.Milliseconds()).Build(),
		b.Incr().Key(yearViews).Build(),
		b.Pfadd().Key(yearVisitors).Element(visitor).Build(),
		b.Pexpire().Key(yearViews).Milliseconds(yearTTL.Milliseconds()).Build(),
		b.Pexpire().Key(yearVisitors).Milliseconds(yearTTL.Milliseconds()).Build(),
	}
	callCtx, cancel := api.WithTimeout(ctx, h.Timeout)
	defer cancel()
	for _, result := range h.Redis.DoMulti(callCtx, commands...) {
		if err := result.Error(); err != nil {
			if failures := h.failures.Add(1); failures == 1 || failures%100 == 0 {
				slog.Warn("page view not counted", "request_id", api.RequestID(ctx), "stage", body.Stage, "error", err, "failures", failures)
			}
			break
		}
	}
	ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

// visitor returns who viewed the page: the signed-in parent (as a keyed
// hash, so the counter never holds the subject), else the app's visitor ID,
// else the client's address. A parent who signs in mid-visit therefore
// counts twice that day: once by visitor ID and once by subject.
func (h *Handlers) visitor(ctx *fasthttp.RequestCtx) string {
	if subject := api.Subject(ctx); subject != "" {
		return "s:" + hex.EncodeToString(h.Keyring.Index("visitor", []byte(subject)))
	}
	if id := string(ctx.Request.Header.Peek(VisitorHeader)); validVisitorID(id) {
		return "v:" + id
	}
	return "a:" + h.ClientAddress(ctx)
}

// validVisitorID accepts 16 to 64 letters, digits and hyphens, which covers
// crypto.randomUUID and hex IDs.
func validVisitorID(id string) bool {
	if len(id) < 16 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
