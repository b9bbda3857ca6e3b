package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/sony/gobreaker/v2"

	"github.com/sh-preschool/preschool/edge/throttle"
)

// metrics are the edge's Prometheus metrics, on a registry of their own so
// tests can run several edges in one process.
type metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	throttled   *prometheus.CounterVec
	submissions *prometheus.CounterVec
	prefill     *prometheus.CounterVec
	backlog     prometheus.Gauge
	breaker     *prometheus.GaugeVec
	reloads     *prometheus.CounterVec
	limitRate   *prometheus.GaugeVec
	clients     prometheus.GaugeFunc
}

func newMetrics(trackedClients func() float64) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "edge_request_duration_seconds", Help: "HTTP request duration by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_throttled_total", Help: "Requests turned away, by scope (route, entry, client, shed, pdf).",
		}, []string{"scope"}),
		submissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_submissions_total", Help: "Submissions by kind and result (accepted, duplicate, conflict, rejected, failed).",
		}, []string{"kind", "result"}),
		prefill: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_certificate_prefill_total", Help: "Certificate prefill calls by result (ok, fallback, rejected).",
		}, []string{"result"}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edge_stream_backlog", Help: "Stream entries not yet stored by the back office, as last read.",
		}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edge_breaker_state", Help: "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
		}, []string{"name"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_limits_reloads_total",
			Help: "Limits file reloads by result: applied (new content in force), unchanged (same content as in force, nothing applied), rejected (invalid or unreadable, previous limits stay).",
		}, []string{"result"}),
		limitRate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edge_limit_rate", Help: "Configured token bucket rate per second, by scope and key.",
		}, []string{"scope", "key"}),
	}
	m.clients = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edge_throttle_tracked_clients", Help: "Clients with a token bucket in memory.",
	}, trackedClients)
	for _, scope := range []string{"route", "entry", "client", "shed", "pdf"} {
		m.throttled.WithLabelValues(scope) // so dashboards see a zero before the first rejection
	}
	for _, result := range []string{throttle.ReloadApplied, throttle.ReloadUnchanged, throttle.ReloadRejected} {
		m.reloads.WithLabelValues(result) // so an alert on rejected reloads has a zero to start from
	}
	m.registry.MustRegister(m.requests, m.duration, m.throttled, m.submissions, m.prefill, m.backlog,
		m.breaker, m.reloads, m.limitRate, m.clients,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) breakerChanged(name string, _, to gobreaker.State) {
	m.breaker.WithLabelValues(name).Set(float64(to))
}
