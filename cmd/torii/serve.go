package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage/metered"
)

// shutdownTimeout bounds the wait for in-flight requests on SIGTERM.
const shutdownTimeout = 20 * time.Second

// drainDelay is how long readiness reports 503 before the listeners close,
// so that the Service (or any balancer probing /healthz/ready) stops
// sending requests first. Kubernetes' default grace period (30s) covers it
// plus shutdownTimeout.
const drainDelay = 5 * time.Second

func serveCommand(ctx context.Context, path string, flags serveFlags, stdout, stderr io.Writer) int {
	c, err := checkFile(ctx, path, flags)
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	level := new(slog.LevelVar)
	logger := c.newLogger(stderr, level)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one kills at once instead of
		// waiting for the graceful shutdown.
		<-ctx.Done()
		stop()
	}()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	opts := serveOptions{logger: logger, level: level, stdout: stdout, stderr: stderr,
		watch: true, reload: hup, drain: drainDelay}
	if err := serve(ctx, c, opts); err != nil {
		var p *Problem
		if errors.As(err, &p) {
			printProblems(stderr, err)
		} else {
			logger.Error("torii stopped", "err", err)
		}
		return 1
	}
	return 0
}

// serveOptions is what serve needs beyond the config.
type serveOptions struct {
	logger *slog.Logger
	level  *slog.LevelVar // logger's level, set on reload (nil: fixed)
	// stdout and stderr are the audit outputs of those names.
	stdout, stderr io.Writer
	// ready, if not nil, is called with the bound addresses (by name)
	// once listening.
	ready func(map[string]string)
	// watch reloads the config when its file changes; reload requests a
	// reload (SIGHUP).
	watch  bool
	reload <-chan os.Signal
	// drain is how long readiness is 503 before the listeners close.
	drain time.Duration
}

// listener is one address torii serves.
type listener struct {
	name string // http, https, telemetry
	ln   net.Listener
	srv  *http.Server // TLS when srv.TLSConfig is set
}

// serve opens storage and connectors, starts the server and its listeners,
// reloads the config on request, and blocks until ctx is done. Then it
// shuts down in order: readiness 503 for o.drain, the listeners finish the
// requests in flight (bounded), the background loops stop, connectors and
// storage close.
func serve(ctx context.Context, c *Config, o serveOptions) error {
	logger := o.logger
	if o.level == nil {
		o.level = new(slog.LevelVar)
	}
	tel := newTelemetry()
	raw, err := c.openStorage(ctx, logger)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer raw.Close()
	if err := c.importDexAtStart(ctx, raw, logger); err != nil {
		return err
	}
	store := metered.New(raw, c.Storage.Type, tel.storage)

	aw, closeAudit, err := c.openAudit(o.stdout, o.stderr)
	if err != nil {
		return err
	}
	var auditLog *audit.Logger
	if aw != nil {
		auditLog = audit.New(aw, nil)
	}
	if closeAudit != nil {
		defer closeAudit()
	}

	conns, err := c.openConnectors(ctx, logger, store)
	if err != nil {
		return err
	}
	tel.ldap.attach(conns)
	tel.oidc.attach(conns)
	sc := c.serverConfig(store, conns, logger)
	sc.Metrics, sc.Audit = tel.server, auditLog
	// The server's background loops stop after the listeners have drained,
	// not at the signal.
	srv, err := server.New(context.WithoutCancel(ctx), sc)
	if err != nil {
		closeConnectors(conns, logger)
		return fmt.Errorf("server: %w", err)
	}
	rl := &reloader{path: c.File, boot: c, logger: logger, level: o.level, srv: srv, store: store,
		tel: tel, audit: auditLog, conns: conns, sum: c.sum}
	defer func() { closeConnectors(rl.current(), logger) }()
	defer srv.Close()

	admin, err := c.startAdminAPI(store, srv, srv.EndSession, rl.connectorIDs, logger, auditLog)
	if err != nil {
		return err
	}
	defer admin.stop()

	lns, err := c.listen(srv, tel.handler(), logger)
	if err != nil {
		return err
	}
	errc := make(chan error, len(lns))
	addrs := map[string]string{}
	if admin.addr != "" {
		addrs["grpc"] = admin.addr
	}
	for _, l := range lns {
		addrs[l.name] = l.ln.Addr().String()
		logger.Info("listening", "listener", l.name, "addr", l.ln.Addr().String())
		go func() {
			var err error
			if l.srv.TLSConfig != nil {
				err = l.srv.ServeTLS(l.ln, "", "") // certificates from GetCertificate
			} else {
				err = l.srv.Serve(l.ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s listener: %w", l.name, err)
			}
		}()
	}
	rctx, stopReloads := context.WithCancel(ctx)
	reloadsDone := make(chan struct{})
	reloads := rl.watch(o.reload, o.watch)
	go func() {
		defer close(reloadsDone)
		reloads(rctx)
	}()
	logger.Info("torii started", "version", versionString(), "issuer", c.Issuer, "storage", c.Storage.Type)
	if o.ready != nil {
		o.ready(addrs)
	}

	var serveErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down: readiness is now 503", "drain", o.drain)
		srv.Drain()
		if o.drain > 0 {
			time.Sleep(o.drain)
		}
	case serveErr = <-errc:
	}
	stopReloads()
	<-reloadsDone
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	for _, l := range lns {
		if err := l.srv.Shutdown(sctx); err != nil {
			logger.Warn("shutdown", "listener", l.name, "err", err)
		}
	}
	logger.Info("listeners closed; stopping background work and closing storage")
	return serveErr
}

// listen binds every configured address; on error, those already bound are
// closed.
func (c *Config) listen(h, metrics http.Handler, logger *slog.Logger) ([]listener, error) {
	var lns []listener
	fail := func(err error) ([]listener, error) {
		for _, l := range lns {
			l.ln.Close()
		}
		return nil, err
	}
	errLog := slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          errLog,
		}
	}
	if c.Web.HTTP != "" {
		ln, err := net.Listen("tcp", c.Web.HTTP)
		if err != nil {
			return fail(fmt.Errorf("web.http: %w", err))
		}
		lns = append(lns, listener{name: "http", ln: ln, srv: newServer(h)})
	}
	if c.Web.HTTPS != "" {
		certs, err := newCertReloader(c.Web.TLSCert, c.Web.TLSKey, logger)
		if err != nil {
			return fail(fmt.Errorf("web.tlsCert/web.tlsKey: %w", err))
		}
		tc := &tls.Config{
			MinVersion:     tls.VersionTLS12,
			MaxVersion:     c.Web.TLSMaxVersion,
			GetCertificate: certs.get,
		}
		if c.Web.TLSMinVersion != 0 {
			tc.MinVersion = c.Web.TLSMinVersion
		}
		ln, err := net.Listen("tcp", c.Web.HTTPS)
		if err != nil {
			return fail(fmt.Errorf("web.https: %w", err))
		}
		s := newServer(h)
		s.TLSConfig = tc
		lns = append(lns, listener{name: "https", ln: ln, srv: s})
	}
	if c.Telemetry.HTTP != "" {
		ln, err := net.Listen("tcp", c.Telemetry.HTTP)
		if err != nil {
			return fail(fmt.Errorf("telemetry.http: %w", err))
		}
		lns = append(lns, listener{name: "telemetry", ln: ln, srv: newServer(telemetryHandler(c.Issuer, h, metrics, c.Telemetry.EnableProfiling))})
	}
	return lns, nil
}
