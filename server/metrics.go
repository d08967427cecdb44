package server

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/torii-idp/torii/server/signer"
	"github.com/torii-idp/torii/storage"
)

// Metrics are the server's Prometheus metrics. Build them with NewMetrics
// on the registry the telemetry listener serves; a nil *Metrics records
// nothing. Every label value comes from the config or a fixed list (route
// patterns, connector IDs, grant types, results), never from a request.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	size     *prometheus.HistogramVec

	logins          *prometheus.CounterVec
	tokens          *prometheus.CounterVec
	refreshReplays  prometheus.Counter
	familiesRevoked prometheus.Counter
	codeReplays     prometheus.Counter
	gcRuns          *prometheus.CounterVec
	gcRemoved       *prometheus.CounterVec
	sessionsLive    *liveGauge
	logouts         prometheus.Counter
	backchannels    *prometheus.CounterVec

	// signer is the running server's, read at scrape time.
	signer atomic.Pointer[signer.Signer]
}

// Login results (the result label of torii_logins_total).
const (
	loginSuccess     = "success"
	loginBadPassword = "invalid_credentials"
	loginThrottled   = "throttled"
	loginFailedError = "error"
	loginRefused     = "refused" // an upstream provider (or a policy on its claims) refused the login
)

// NewMetrics registers the server's metrics on reg. Dex's three request
// metrics keep Dex's names, labels and buckets so its dashboards work.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "Count of all HTTP requests, by route (handler), method and status code.",
		}, []string{"code", "method", "handler"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "request_duration_seconds",
			Help:    "A histogram of latencies for requests.",
			Buckets: []float64{.25, .5, 1, 2.5, 5, 10},
		}, []string{"code", "method", "handler"}),
		size: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "response_size_bytes",
			Help:    "A histogram of response sizes for requests.",
			Buckets: []float64{200, 500, 900, 1500},
		}, []string{"code", "method", "handler"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "torii_logins_total",
			Help: "Logins (login form, password grant, upstream providers) by connector and result: success, invalid_credentials, throttled, refused, error.",
		}, []string{"connector", "result"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "torii_tokens_issued_total",
			Help: "Token responses issued at /token, by grant type.",
		}, []string{"grant_type"}),
		refreshReplays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "torii_refresh_replays_total",
			Help: "Rotated refresh tokens presented again outside the reuse interval.",
		}),
		familiesRevoked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "torii_refresh_families_revoked_total",
			Help: "Refresh token families revoked because of a replay.",
		}),
		codeReplays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "torii_code_replays_total",
			Help: "Authorization codes presented again after redemption (what they produced is revoked).",
		}),
		gcRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "torii_gc_runs_total",
			Help: "Garbage collection runs, by result (success, error).",
		}, []string{"result"}),
		gcRemoved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "torii_gc_removed_total",
			Help: "Expired records removed by garbage collection, by kind (auth_requests, auth_codes, refresh_tokens, revoked_grants, throttle_counters, sessions).",
		}, []string{"kind"}),
		sessionsLive: &liveGauge{desc: prometheus.NewDesc("torii_sessions_live",
			"Browser sessions not yet expired, counted in storage every minute (the same number on every replica of one storage).", nil, nil)},
	}
	m.logouts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "torii_logouts_total",
		Help: "Browser sessions ended at /logout.",
	})
	m.backchannels = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "torii_backchannel_logouts_total",
		Help: "Back-channel Logout Tokens finished, by result (delivered, failed: refused or retried for the whole retry period).",
	}, []string{"result"})
	reg.MustRegister(m.requests, m.duration, m.size, m.logins, m.tokens,
		m.refreshReplays, m.familiesRevoked, m.codeReplays, m.gcRuns, m.gcRemoved, m.sessionsLive, m.logouts, m.backchannels)
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "torii_signing_key_age_seconds",
			Help: "How long the active signing key has been signing.",
		}, func() float64 { return m.keyTimes(func(age, _ time.Duration) time.Duration { return age }) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "torii_signing_key_rotation_seconds",
			Help: "Seconds until the next signing key rotation (negative when overdue).",
		}, func() float64 { return m.keyTimes(func(_, until time.Duration) time.Duration { return until }) }),
	)
	return m
}

func (m *Metrics) keyTimes(pick func(age, until time.Duration) time.Duration) float64 {
	s := m.signer.Load()
	if s == nil {
		return 0
	}
	age, until := s.KeyTimes()
	return pick(age, until).Seconds()
}

func (m *Metrics) observeRequest(handler, method string, code int, size int64, took time.Duration) {
	if m == nil {
		return
	}
	if !knownMethod(method) {
		method = "other" // the method is client-chosen: keep the label bounded
	}
	c := strconv.Itoa(code)
	m.requests.WithLabelValues(c, method, handler).Inc()
	m.duration.WithLabelValues(c, method, handler).Observe(took.Seconds())
	m.size.WithLabelValues(c, method, handler).Observe(float64(size))
}

func knownMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return true
	}
	return false
}

func (m *Metrics) login(connectorID, result string) {
	if m != nil {
		m.logins.WithLabelValues(connectorID, result).Inc()
	}
}

func (m *Metrics) tokenIssued(grant string) {
	if m != nil {
		m.tokens.WithLabelValues(grant).Inc()
	}
}

func (m *Metrics) refreshReplayed(revoked bool) {
	if m == nil {
		return
	}
	m.refreshReplays.Inc()
	if revoked {
		m.familiesRevoked.Inc()
	}
}

func (m *Metrics) codeReplayed() {
	if m != nil {
		m.codeReplays.Inc()
	}
}

func (m *Metrics) gc(res storage.GCResult, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.gcRuns.WithLabelValues("error").Inc()
		return
	}
	m.gcRuns.WithLabelValues("success").Inc()
	m.gcRemoved.WithLabelValues("auth_requests").Add(float64(res.AuthRequests))
	m.gcRemoved.WithLabelValues("auth_codes").Add(float64(res.AuthCodes))
	m.gcRemoved.WithLabelValues("refresh_tokens").Add(float64(res.RefreshTokens))
	m.gcRemoved.WithLabelValues("revoked_grants").Add(float64(res.RevokedGrants))
	m.gcRemoved.WithLabelValues("throttle_counters").Add(float64(res.ThrottleCounters))
	m.gcRemoved.WithLabelValues("sessions").Add(float64(res.Sessions))
	m.gcRemoved.WithLabelValues("device_requests").Add(float64(res.DeviceRequests))
}

// sessionsCounted records a count of live sessions from storage.
func (m *Metrics) sessionsCounted(n int64) {
	if m != nil {
		m.sessionsLive.set(n)
	}
}

// liveGauge is torii_sessions_live: absent from a scrape until storage has
// been counted once (a backend that cannot count reports nothing rather
// than a false zero).
type liveGauge struct {
	desc  *prometheus.Desc
	value atomic.Int64
	known atomic.Bool
}

func (g *liveGauge) set(n int64) {
	g.value.Store(n)
	g.known.Store(true)
}

func (g *liveGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *liveGauge) Collect(ch chan<- prometheus.Metric) {
	if g.known.Load() {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(g.value.Load()))
	}
}

func (m *Metrics) loggedOut() {
	if m != nil {
		m.logouts.Inc()
	}
}

func (m *Metrics) backchannel(delivered bool) {
	if m == nil {
		return
	}
	r := "delivered"
	if !delivered {
		r = "failed"
	}
	m.backchannels.WithLabelValues(r).Inc()
}
