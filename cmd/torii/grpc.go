package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/connector/static"
	"github.com/torii-idp/torii/server/adminapi"
	"github.com/torii-idp/torii/storage"
)

// adminListener is the running admin API; the zero value is "not configured".
type adminListener struct {
	addr string
	srv  *grpc.Server
	done chan struct{}
}

// startAdminAPI serves Dex's gRPC API on grpc.addr, when set. h is the
// HTTP server (for GetDiscovery); endSession ends a session as a logout
// does (server.Server.EndSession; nil: without back-channel notices).
func (c *Config) startAdminAPI(store storage.Storage, h http.Handler, endSession func(context.Context, storage.Session) (bool, error), connectorIDs func() []string, logger *slog.Logger, auditLog *audit.Logger) (*adminListener, error) {
	g := c.GRPC
	if g.Addr == "" {
		return &adminListener{}, nil
	}
	var opts []grpc.ServerOption
	if g.TLSCert != "" {
		tc, err := g.tlsConfig(logger)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	}
	ln, err := listenAdmin(g.Addr)
	if err != nil {
		return nil, fmt.Errorf("grpc.addr: %w", err)
	}
	srv := grpc.NewServer(opts...)
	svc := adminapi.New(adminapi.Config{
		Storage: store, ConnectorIDs: connectorIDs, StaticClients: c.Clients, StaticPasswords: c.staticPasswords(),
		Issuer: c.Issuer, Handler: h, Version: versionString(), RevokeFor: c.idTokenLifetime(), EndSession: endSession,
		Logger: logger.With("component", "adminapi"), Audit: auditLog,
	})
	svc.Register(srv)
	if g.Reflection {
		svc.RegisterReflection(srv)
	}
	switch {
	case g.TLSClientCA != "":
		logger.Info("admin API: mutual TLS, only clients with a certificate signed by grpc.tlsClientCA get in", "addr", ln.Addr().String())
	case g.TLSCert != "":
		logger.Warn("admin API: TLS without client certificates (grpc.tlsClientCA): anyone who reaches the address can manage clients and users", "addr", ln.Addr().String())
	default:
		logger.Info("admin API: no TLS, listening only on a loopback address or Unix socket", "addr", ln.Addr().String())
	}
	a := &adminListener{addr: ln.Addr().String(), srv: srv, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			logger.Error("admin API stopped", "err", err)
		}
	}()
	return a, nil
}

// stop ends in-flight calls gracefully, for at most a few seconds.
func (a *adminListener) stop() {
	if a.srv == nil {
		return
	}
	t := time.AfterFunc(5*time.Second, a.srv.Stop)
	defer t.Stop()
	a.srv.GracefulStop()
	<-a.done
}

// listenAdmin listens on host:port or unix:/path. A stale socket file is
// replaced; the socket is readable and writable by its owner only.
func listenAdmin(addr string) (net.Listener, error) {
	sock, ok := unixSocket(addr)
	if !ok {
		return net.Listen("tcp", addr)
	}
	if fi, err := os.Lstat(sock); err == nil && fi.Mode().Type() == fs.ModeSocket {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s is in use by another process", sock)
		}
		os.Remove(sock)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// tlsConfig is the server side of the admin API's TLS: the certificate is
// re-read when its files change, as for web.https.
func (g GRPCConfig) tlsConfig(logger *slog.Logger) (*tls.Config, error) {
	certs, err := newCertReloader(g.TLSCert, g.TLSKey, logger)
	if err != nil {
		return nil, fmt.Errorf("grpc.tlsCert/grpc.tlsKey: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: g.TLSMaxVersion, GetCertificate: certs.get}
	if g.TLSMinVersion != 0 {
		tc.MinVersion = g.TLSMinVersion
	}
	if g.TLSClientCA != "" {
		pem, err := os.ReadFile(g.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("grpc.tlsClientCA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("grpc.tlsClientCA: %s holds no PEM certificate", g.TLSClientCA)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// staticPasswords are the config's users, when the password database is on.
func (c *Config) staticPasswords() []static.User {
	if !c.EnablePasswordDB {
		return nil
	}
	return c.Users
}

// idTokenLifetime is expiry.idTokens with the server's default.
func (c *Config) idTokenLifetime() time.Duration {
	if c.Expiry.IDTokens > 0 {
		return c.Expiry.IDTokens
	}
	return 24 * time.Hour
}
