package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/throttle"
	"github.com/sh-preschool/preschool/edge/web"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// Route names, also the keys of the [routes] table in the limits file.
const (
	routePostRegistration = "POST /api/v1/registrations"
	routePostApplication  = "POST /api/v1/applications"
)

// uploadPath takes certificate files, whose size limit the server's
// transport error names too.
const uploadPath = "/api/v1/uploads"

// routeKind says which checks a route needs beyond the common ones.
type routeKind int

const (
	readRoute  routeKind = iota
	writeRoute           // checks the Origin header
	// submissionRoute is a write that also sheds load on stream backlog.
	// Its handler's Redis script checks whether the session was revoked
	// (api.RevocationKey), which the middleware then leaves to it.
	submissionRoute
)

func (e *Edge) routes() fasthttp.RequestHandler {
	r := router.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.PanicHandler = e.panicked

	e.registerRoutes(func(method, path string, kind routeKind, handler api.HandlerFunc) {
		r.Handle(method, path, e.wrap(routeName(method, path), kind, handler))
	})

	r.GET("/healthz", e.alive)
	r.GET("/readyz", e.ready)

	app := web.Handler()
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		setSecurityHeaders(ctx)
		if strings.HasPrefix(string(ctx.Path()), "/api/") {
			api.WriteError(ctx, apierror.New(http.StatusNotFound, "route_not_found", "请求的接口不存在。"))
			return
		}
		app(ctx)
	}
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		api.WriteError(ctx, apierror.New(http.StatusMethodNotAllowed, "method_not_allowed", "不支持该请求方法。"))
	}
	return r.Handler
}

// routeName returns the name of a route in metrics and in the [routes]
// table of the limits file, such as "POST /api/v1/registrations".
func routeName(method, path string) string { return method + " " + path }

// throttledRoutes returns the names of the routes whose requests pass
// through the throttle in wrap. With "default", they are the only keys that
// the limits file's [routes] table may use. It runs registerRoutes on an
// Edge without services, which is safe because registerRoutes only takes
// method values of the services' pointers and calls none of them.
func throttledRoutes() []string {
	var names []string
	(&Edge{}).registerRoutes(func(method, path string, _ routeKind, _ api.HandlerFunc) {
		names = append(names, routeName(method, path))
	})
	return names
}

// registerRoutes passes each API and sign-in route of the public listener
// to handle. It must not call the handlers, because throttledRoutes runs it
// before the services exist.
func (e *Edge) registerRoutes(handle func(method, path string, kind routeKind, handler api.HandlerFunc)) {
	catalogueHandlers := &catalogue.Handlers{Store: e.catalogue, Now: time.Now}
	handle(http.MethodGet, "/api/v1/catalogue", readRoute, catalogueHandlers.GetCatalogue)
	handle(http.MethodGet, "/api/v1/districts/{code}/streets", readRoute, catalogueHandlers.GetStreets)
	handle(http.MethodGet, "/api/v1/districts/{code}/entries", readRoute, catalogueHandlers.GetEntries)
	handle(http.MethodGet, "/api/v1/streets/{code}/committees", readRoute, catalogueHandlers.GetCommittees)
	handle(http.MethodGet, "/api/v1/matching", readRoute, catalogueHandlers.GetMatching)
	handle(http.MethodGet, "/api/v1/dictionaries/{code}", readRoute, catalogueHandlers.GetDictionary)

	handle(http.MethodPost, "/api/v1/registrations", submissionRoute, e.submit.PostRegistration)
	handle(http.MethodPost, "/api/v1/applications", submissionRoute, e.submit.PostApplication)
	handle(http.MethodGet, "/api/v1/registrations/{number}/options", readRoute, e.submit.GetOptions)
	handle(http.MethodGet, "/api/v1/registrations/{number}/form.pdf", readRoute, e.submit.GetFormPDF)
	handle(http.MethodGet, "/api/v1/receipts/{number}", readRoute, e.submit.GetReceipt)
	handle(http.MethodGet, "/api/v1/me/receipts", readRoute, e.submit.GetMyReceipts)
	handle(http.MethodGet, "/api/v1/me", readRoute, e.signin.Me)

	handle(http.MethodPost, "/api/v1/prefill/certificates", writeRoute, e.prefill.PostPrefill)
	handle(http.MethodPost, uploadPath, writeRoute, e.uploads.PostUpload)

	handle(http.MethodGet, "/api/v1/feedback/settings", readRoute, e.feedback.GetSettings)
	handle(http.MethodPost, "/api/v1/feedback", writeRoute, e.feedback.PostFeedback)
	handle(http.MethodPost, "/api/v1/page-views", writeRoute, e.visits.PostPageView)

	handle(http.MethodGet, "/auth/login", readRoute, e.signin.Login)
	handle(http.MethodGet, "/auth/callback", readRoute, e.signin.Callback)
	handle(http.MethodPost, "/auth/logout", writeRoute, e.signin.Logout)
}

// wrap adds the common steps around a handler: request ID, security
// headers, the session, throttling per route and per client, load shedding
// for submissions, the Origin check for writes, and metrics.
func (e *Edge) wrap(route string, kind routeKind, handler api.HandlerFunc) fasthttp.RequestHandler {
	requests := func(code int) { e.metrics.requests.WithLabelValues(route, strconv.Itoa(code)).Inc() }
	duration := e.metrics.duration.WithLabelValues(route)
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		e.prepare(ctx, kind)
		if err := e.admit(ctx, route, kind); err != nil {
			api.WriteError(ctx, err)
		} else if err := handler(ctx); err != nil {
			api.WriteError(ctx, err)
		}
		requests(ctx.Response.StatusCode())
		duration.Observe(time.Since(start).Seconds())
	}
}

func (e *Edge) prepare(ctx *fasthttp.RequestCtx, kind routeKind) {
	id := string(ctx.Request.Header.Peek("X-Request-ID"))
	if len(id) == 0 || len(id) > 64 || strings.ContainsAny(id, " \t\r\n\"") {
		id = e.idPrefix + "-" + strconv.FormatUint(e.requestID.Add(1), 36)
	}
	api.SetRequestID(ctx, id)
	ctx.Response.Header.Set("X-Request-ID", id)
	setSecurityHeaders(ctx)
	if kind == submissionRoute {
		e.signin.AuthenticateLeavingRevocation(ctx)
	} else {
		e.signin.Authenticate(ctx)
	}
}

// apiContentSecurityPolicy lets a JSON response load and run nothing. The
// app's pages replace it with their own policy (edge/web).
const apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

func setSecurityHeaders(ctx *fasthttp.RequestCtx) {
	header := &ctx.Response.Header
	header.Set("X-Content-Type-Options", "nosniff")
	header.Set("X-Frame-Options", "DENY")
	header.Set("Referrer-Policy", "same-origin")
	header.Set("Content-Security-Policy", apiContentSecurityPolicy)
	// Browsers ignore HSTS over plain HTTP, so sending it always is safe; it
	// takes effect when nginx serves the edge over HTTPS.
	header.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
}

func (e *Edge) admit(ctx *fasthttp.RequestCtx, route string, kind routeKind) error {
	if decision := e.throttle.Route(route); !decision.Allowed {
		return e.rejected(ctx, decision)
	}
	if decision := e.throttleClient(ctx); !decision.Allowed {
		return e.rejected(ctx, decision)
	}
	if kind == submissionRoute {
		if decision := e.throttle.Shed(); !decision.Allowed {
			return e.rejected(ctx, decision)
		}
	}
	if kind != readRoute && !sameOrigin(ctx) {
		return apierror.New(http.StatusForbidden, "cross_site_request", "请求来源无效，请从报名页面重新操作。")
	}
	return nil
}

// admitEntry takes a token from an entry's bucket; submit calls it once it
// knows the entry.
func (e *Edge) admitEntry(ctx *fasthttp.RequestCtx, entry string) error {
	if decision := e.throttle.Entry(entry); !decision.Allowed {
		return e.rejected(ctx, decision)
	}
	return nil
}

func (e *Edge) rejected(ctx *fasthttp.RequestCtx, decision throttle.Decision) error {
	e.metrics.throttled.WithLabelValues(decision.Scope).Inc()
	api.SetRetryAfter(ctx, decision.RetryAfter)
	seconds := strconv.Itoa(max(1, int(decision.RetryAfter/time.Second)))
	if decision.Scope == throttle.ScopeShed {
		// Counted above; at the peak, a log line each would flood the log.
		return fmt.Errorf("%w: %w", api.ErrShed, apierror.New(http.StatusServiceUnavailable, "system_busy",
			"当前提交人数较多，系统正在排队处理，请 "+seconds+" 秒后再提交。已填写的内容不会丢失。"))
	}
	if decision.Scope == throttle.ScopeClient {
		return apierror.New(http.StatusTooManyRequests, "too_many_requests", "操作过于频繁，请 "+seconds+" 秒后再试。")
	}
	return apierror.New(http.StatusTooManyRequests, "too_many_requests",
		"当前访问人数较多，请 "+seconds+" 秒后再试。")
}

// throttleClient takes a token from the signed-in parent's bucket, or
// before sign-in from the bucket of the client's IP address.
func (e *Edge) throttleClient(ctx *fasthttp.RequestCtx) throttle.Decision {
	if subject := api.Subject(ctx); subject != "" {
		return e.throttle.Client(subject)
	}
	return e.throttle.Anonymous(e.clientAddress(ctx))
}

// clientAddress is the client's IP address: the last one the load balancer
// appended to X-Forwarded-For when it is trusted, else the peer's.
func (e *Edge) clientAddress(ctx *fasthttp.RequestCtx) string {
	if e.config.TrustForwardedFor {
		if forwarded := string(ctx.Request.Header.Peek("X-Forwarded-For")); forwarded != "" {
			if i := strings.LastIndexByte(forwarded, ','); i >= 0 {
				forwarded = forwarded[i+1:]
			}
			return strings.TrimSpace(forwarded)
		}
	}
	return ctx.RemoteIP().String()
}

// sameOrigin rejects a write whose Origin header names another site. Browsers
// send Origin on every cross-site POST, so its absence means a non-browser
// client, which the session cookie alone cannot be sent by.
func sameOrigin(ctx *fasthttp.RequestCtx) bool {
	origin := string(ctx.Request.Header.Peek("Origin"))
	if origin == "" {
		return true
	}
	host := string(ctx.Host())
	return origin == "http://"+host || origin == "https://"+host
}

// operationsRoutes serve the operators' listener: metrics, which would tell
// the public the traffic and the limits, and the probes.
func (e *Edge) operationsRoutes() fasthttp.RequestHandler {
	r := router.New()
	r.GET("/metrics", fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(e.metrics.registry, promhttp.HandlerOpts{})))
	r.GET("/healthz", e.alive)
	r.GET("/readyz", e.ready)
	return r.Handler
}

func (e *Edge) alive(ctx *fasthttp.RequestCtx) {
	api.WriteJSON(ctx, http.StatusOK, map[string]bool{"alive": true})
}

func (e *Edge) ready(ctx *fasthttp.RequestCtx) {
	problems := []string{}
	pingCtx, cancel := api.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if err := e.redis.Do(pingCtx, e.redis.B().Ping().Build()).Error(); err != nil {
		slog.Warn("readiness: Redis unreachable", "error", err)
		problems = append(problems, "redis unreachable")
	}
	if e.catalogue.Current() == nil {
		problems = append(problems, "no configuration snapshot loaded")
	}
	if len(problems) > 0 {
		api.WriteJSON(ctx, http.StatusServiceUnavailable, map[string]any{"ready": false, "problems": problems})
		return
	}
	api.WriteJSON(ctx, http.StatusOK, map[string]any{"ready": true, "snapshotVersion": e.catalogue.Current().Version()})
}

func (e *Edge) panicked(ctx *fasthttp.RequestCtx, recovered any) {
	api.WriteError(ctx, panicError{recovered})
}

type panicError struct{ value any }

func (p panicError) Error() string { return "panic: " + stringOf(p.value) }

func stringOf(value any) string {
	switch v := value.(type) {
	case error:
		return v.Error()
	case string:
		return v
	}
	return "unknown"
}
