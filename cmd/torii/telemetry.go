package main

import (
	"net/http"
	"net/http/pprof"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/torii-idp/torii/connector/ldap"
	"github.com/torii-idp/torii/connector/oidc"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage/metered"
)

// telemetry is every metric torii exports, on one registry that the
// telemetry listener serves at /metrics.
type telemetry struct {
	reg     *prometheus.Registry
	server  *server.Metrics
	storage *metered.Metrics
	ldap    *ldapMetrics
	oidc    *oidcMetrics
	reloads *reloadMetrics
}

func newTelemetry() *telemetry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	labels := []string{"version", "go_version", "platform"}
	version := strings.TrimSuffix(versionString(), " "+runtime.Version())
	platform := runtime.GOOS + "/" + runtime.GOARCH
	for _, ns := range []string{"torii", "dex"} { // dex_build_info: for Dex's dashboards
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "build_info",
			Help: "A metric with a constant '1' value labeled by the version torii was built from.",
		}, labels)
		g.WithLabelValues(version, runtime.Version(), platform).Set(1)
		reg.MustRegister(g)
	}
	return &telemetry{
		reg:     reg,
		server:  server.NewMetrics(reg),
		storage: metered.NewMetrics(reg),
		ldap:    newLDAPMetrics(reg),
		oidc:    newOIDCMetrics(reg),
		reloads: newReloadMetrics(reg),
	}
}

// ldapMetrics measures LDAP operations and reports the pools of the
// connectors currently in use (replaced on reload).
type ldapMetrics struct {
	duration *prometheus.HistogramVec
	failures *prometheus.CounterVec
	pools    atomic.Pointer[map[string]*ldap.Connector]

	inUse, idle, misses, waits *prometheus.Desc
}

func newLDAPMetrics(reg prometheus.Registerer) *ldapMetrics {
	l := &ldapMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "torii_ldap_operation_duration_seconds",
			Help:    "Latency of LDAP operations by connector and op (service_bind, user_bind, search).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"connector", "op"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "torii_ldap_operation_failures_total",
			Help: "LDAP operations that got no answer (connection lost, timeout), by connector and op.",
		}, []string{"connector", "op"}),
		inUse:  prometheus.NewDesc("torii_ldap_pool_in_use", "LDAP connections borrowed by running logins and refreshes.", []string{"connector"}, nil),
		idle:   prometheus.NewDesc("torii_ldap_pool_idle", "Bound LDAP connections waiting in the pool.", []string{"connector"}, nil),
		misses: prometheus.NewDesc("torii_ldap_pool_misses_total", "Borrowings that found no idle pooled connection and dialled one; counts restart when a reload replaces the pool.", []string{"connector"}, nil),
		waits:  prometheus.NewDesc("torii_ldap_pool_waits_total", "Borrowings that found all poolSize connections taken and waited for one (bounded by the timeout); counts restart when a reload replaces the pool.", []string{"connector"}, nil),
	}
	reg.MustRegister(l.duration, l.failures, l)
	return l
}

func (l *ldapMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- l.inUse
	ch <- l.idle
	ch <- l.misses
	ch <- l.waits
}

func (l *ldapMetrics) Collect(ch chan<- prometheus.Metric) {
	p := l.pools.Load()
	if p == nil {
		return
	}
	for id, c := range *p {
		s := c.PoolStats()
		ch <- prometheus.MustNewConstMetric(l.inUse, prometheus.GaugeValue, float64(s.InUse), id)
		ch <- prometheus.MustNewConstMetric(l.idle, prometheus.GaugeValue, float64(s.Idle), id)
		ch <- prometheus.MustNewConstMetric(l.misses, prometheus.CounterValue, float64(s.Misses), id)
		ch <- prometheus.MustNewConstMetric(l.waits, prometheus.CounterValue, float64(s.Waits), id)
	}
}

// attach observes the LDAP connectors among conns and makes their pools
// the reported ones. Call it before the connectors serve.
func (l *ldapMetrics) attach(conns []server.Connector) {
	pools := map[string]*ldap.Connector{}
	for _, cn := range conns {
		if c, ok := cn.Password.(*ldap.Connector); ok {
			c.SetObserver(ldapObserver{id: cn.ID, l: l})
			pools[cn.ID] = c
		}
	}
	l.pools.Store(&pools)
}

type ldapObserver struct {
	id string
	l  *ldapMetrics
}

func (o ldapObserver) ObserveLDAP(op string, took time.Duration, failed bool) {
	o.l.duration.WithLabelValues(o.id, op).Observe(took.Seconds())
	if failed {
		o.l.failures.WithLabelValues(o.id, op).Inc()
	}
}

// oidcMetrics measure the requests of oidc connectors to their upstream
// providers, by connector and op (discovery, keys, token, userinfo).
type oidcMetrics struct {
	duration *prometheus.HistogramVec
	failures *prometheus.CounterVec
}

func newOIDCMetrics(reg prometheus.Registerer) *oidcMetrics {
	o := &oidcMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "torii_oidc_upstream_request_duration_seconds",
			Help:    "Latency of requests to upstream OpenID providers by connector and op (discovery, keys, token, userinfo).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"connector", "op"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "torii_oidc_upstream_request_failures_total",
			Help: "Requests to upstream OpenID providers that got no answer (connection refused, timeout, 5xx), by connector and op.",
		}, []string{"connector", "op"}),
	}
	reg.MustRegister(o.duration, o.failures)
	return o
}

// attach observes the oidc connectors among conns.
func (o *oidcMetrics) attach(conns []server.Connector) {
	for _, cn := range conns {
		if c, ok := cn.Callback.(*oidc.Connector); ok {
			c.SetObserver(oidcObserver{id: cn.ID, o: o})
		}
	}
}

type oidcObserver struct {
	id string
	o  *oidcMetrics
}

func (ob oidcObserver) ObserveOIDC(op string, took time.Duration, failed bool) {
	ob.o.duration.WithLabelValues(ob.id, op).Observe(took.Seconds())
	if failed {
		ob.o.failures.WithLabelValues(ob.id, op).Inc()
	}
}

// reloadMetrics are the config reload metrics.
type reloadMetrics struct {
	total       *prometheus.CounterVec
	successful  prometheus.Gauge
	lastSuccess prometheus.Gauge
}

func newReloadMetrics(reg prometheus.Registerer) *reloadMetrics {
	r := &reloadMetrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "torii_config_reloads_total",
			Help: "Config reloads by result (success, failure).",
		}, []string{"result"}),
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "torii_config_last_reload_successful",
			Help: "1 if the last config reload (or the start) applied the file, 0 if the file was refused and the previous config is still serving.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "torii_config_last_reload_success_timestamp_seconds",
			Help: "When the config was last applied (start or reload), as a Unix time.",
		}),
	}
	r.successful.Set(1)
	r.lastSuccess.SetToCurrentTime()
	reg.MustRegister(r.total, r.successful, r.lastSuccess)
	return r
}

func (r *reloadMetrics) result(ok bool) {
	if ok {
		r.total.WithLabelValues("success").Inc()
		r.successful.Set(1)
		r.lastSuccess.SetToCurrentTime()
		return
	}
	r.total.WithLabelValues("failure").Inc()
	r.successful.Set(0)
}

// telemetryHandler serves, at the root of the telemetry address, the
// server's health checks (/healthz, /healthz/live, /healthz/ready, where
// Kubernetes probes expect them, whatever the issuer's path), /metrics when
// metrics is set, and pprof under /debug/pprof/ when profiling is on.
func telemetryHandler(issuer string, h, metrics http.Handler, profiling bool) http.Handler {
	prefix := ""
	if u, err := url.Parse(issuer); err == nil {
		prefix = strings.TrimSuffix(u.Path, "/")
	}
	mux := http.NewServeMux()
	for _, p := range []string{"/healthz", "/healthz/live", "/healthz/ready"} {
		mux.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
			r2 := r.Clone(r.Context())
			r2.URL.Path = prefix + p
			r2.URL.RawPath = ""
			h.ServeHTTP(w, r2)
		})
	}
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	if profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

func (t *telemetry) handler() http.Handler {
	return promhttp.HandlerFor(t.reg, promhttp.HandlerOpts{})
}
