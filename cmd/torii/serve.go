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
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/torii-idp/torii/server"
)

// shutdownTimeout bounds the wait for in-flight requests on SIGTERM.
const shutdownTimeout = 20 * time.Second

func serveCommand(ctx context.Context, path string, flags serveFlags, stderr io.Writer) int {
	c, err := loadConfig(path, lookupEnv, flags)
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	logger := c.newLogger(stderr)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one kills at once instead of
		// waiting for the graceful shutdown.
		<-ctx.Done()
		stop()
	}()
	if err := serve(ctx, c, logger, nil); err != nil {
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

// listener is one address torii serves.
type listener struct {
	name string // http, https, telemetry
	ln   net.Listener
	srv  *http.Server // TLS when srv.TLSConfig is set
}

// serve opens storage and connectors, starts the server and its listeners,
// and blocks until ctx is done, then shuts down gracefully. ready, if not
// nil, is called with the bound addresses (by name) once listening.
func serve(ctx context.Context, c *Config, logger *slog.Logger, ready func(map[string]string)) error {
	store, err := c.openStorage(ctx, logger)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer store.Close()
	if err := c.importDexAtStart(ctx, store, logger); err != nil {
		return err
	}

	conns, err := c.openConnectors(ctx, logger, store)
	if err != nil {
		return err
	}
	defer closeConnectors(conns, logger)

	srv, err := server.New(ctx, c.serverConfig(store, conns, logger))
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	defer srv.Close()

	admin, err := c.startAdminAPI(store, srv, logger)
	if err != nil {
		return err
	}
	defer admin.stop()

	lns, err := c.listen(srv, logger)
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
	logger.Info("torii started", "version", versionString(), "issuer", c.Issuer, "storage", c.Storage.Type)
	if ready != nil {
		ready(addrs)
	}

	var serveErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	for _, l := range lns {
		if err := l.srv.Shutdown(sctx); err != nil {
			logger.Warn("shutdown", "listener", l.name, "err", err)
		}
	}
	return serveErr
}

// listen binds every configured address; on error, those already bound are
// closed.
func (c *Config) listen(h http.Handler, logger *slog.Logger) ([]listener, error) {
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
		lns = append(lns, listener{name: "telemetry", ln: ln, srv: newServer(telemetryHandler(c.Issuer, h))})
	}
	return lns, nil
}

// telemetryHandler serves the server's health checks at the root of the
// telemetry address (/healthz, /healthz/live, /healthz/ready), where
// Kubernetes probes expect them, whatever the issuer's path.
func telemetryHandler(issuer string, h http.Handler) http.Handler {
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
	return mux
}
