package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/storage"
)

// passwordLogins checks passwords for the login form and the password grant:
// throttling (see throttle), and the same answer (and about the same time)
// for an unknown user and a wrong password.
type passwordLogins struct {
	throttle *throttle // nil: throttling disabled
	log      *slog.Logger
	now      func() time.Time
	metrics  *Metrics
	audit    *audit.Logger

	mu sync.Mutex
	// typical is a moving average of how long a successful login takes,
	// per connector; failures are padded to it.
	typical map[string]time.Duration
}

var (
	errBadCredentials = errors.New("invalid username or password")
	errThrottled      = errors.New("too many failed login attempts; try again later")
)

func newPasswordLogins(c ThrottleConfig, store storage.ThrottleStore, log *slog.Logger, now func() time.Time) *passwordLogins {
	p := &passwordLogins{log: log, now: now, typical: map[string]time.Duration{}}
	if !c.Disabled {
		p.throttle = &throttle{store: store, cfg: c, now: now}
	}
	return p
}

// login returns errBadCredentials, errThrottled, or a connector error.
func (p *passwordLogins) login(ctx context.Context, conn Connector, s connector.Scopes, username, password, ip string) (connector.Identity, error) {
	if password == "" || strings.TrimSpace(username) == "" {
		return connector.Identity{}, errBadCredentials
	}
	start := time.Now()
	t := p.throttle
	if t == nil {
		ident, ok, err := conn.Password.Login(ctx, s, username, password)
		return p.result(ctx, conn, ident, ok, err, ip, start)
	}
	a := t.keys(conn.ID, "", ip)
	if err := t.reserveErrors(ctx, &a); err != nil {
		return connector.Identity{}, p.throttled(ctx, conn, ip, "connector_errors", err)
	}
	reserved := false
	gate := func(ctx context.Context, userID string) error {
		user := "id\x00" + userID
		if userID == "" {
			user = "name\x00" + normalizeLogin(username)
		}
		keyed := t.keys(conn.ID, user, ip)
		a.pair, a.user, a.known = keyed.pair, keyed.user, keyed.known
		if err := t.reserve(ctx, &a); err != nil {
			return err
		}
		reserved = true
		return nil
	}
	var (
		ident connector.Identity
		ok    bool
		err   error
	)
	if gc, gated := conn.Password.(connector.GatedPasswordConnector); gated {
		ident, ok, err = gc.LoginGated(ctx, s, username, password, gate)
	} else if err = gate(ctx, ""); err == nil {
		ident, ok, err = conn.Password.Login(ctx, s, username, password)
	}
	o := outcomeWrong
	switch {
	case errors.Is(err, errThrottled):
		o = outcomeNone
	case err != nil:
		o = outcomeError
	case ok:
		o = outcomeSuccess
	}
	if !reserved && o != outcomeError {
		o = outcomeNone
	}
	// Settle even if the request was cancelled meanwhile.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if serr := t.settle(sctx, &a, o); serr != nil {
		p.log.WarnContext(ctx, "login throttle: could not record the outcome", "err", serr)
	}
	if errors.Is(err, errThrottled) {
		return connector.Identity{}, p.throttled(ctx, conn, ip, "user", err)
	}
	return p.result(ctx, conn, ident, ok, err, ip, start)
}

func (p *passwordLogins) throttled(ctx context.Context, conn Connector, ip, reason string, err error) error {
	if !errors.Is(err, errThrottled) {
		return err // storage trouble: 503
	}
	p.log.WarnContext(ctx, "login throttled", "reason", reason, "connector_id", conn.ID, "client_ip", ip)
	p.metrics.login(conn.ID, loginThrottled)
	p.audit.Log(ctx, audit.Record{Event: audit.LoginThrottled, Result: audit.ResultDenied, Reason: "throttled: " + reason, ConnectorID: conn.ID})
	return err
}

func (p *passwordLogins) result(ctx context.Context, conn Connector, ident connector.Identity, ok bool, err error, ip string, start time.Time) (connector.Identity, error) {
	switch {
	case err != nil:
		p.metrics.login(conn.ID, loginFailedError)
		p.audit.Log(ctx, audit.Record{Event: audit.LoginFailed, Result: audit.ResultError, Reason: "connector error", ConnectorID: conn.ID})
		return connector.Identity{}, err
	case !ok:
		p.metrics.login(conn.ID, loginBadPassword)
		p.audit.Log(ctx, audit.Record{Event: audit.LoginFailed, Result: audit.ResultDenied, Reason: "invalid credentials", ConnectorID: conn.ID})
		p.log.InfoContext(ctx, "login failed", "connector_id", conn.ID, "client_ip", ip)
		p.pad(ctx, conn.ID, time.Since(start))
		return connector.Identity{}, errBadCredentials
	}
	p.metrics.login(conn.ID, loginSuccess)
	p.audit.Log(ctx, audit.Record{Event: audit.LoginSucceeded, Subject: subject.Encode(ident.UserID, conn.ID), ConnectorID: conn.ID})
	p.record(conn.ID, time.Since(start))
	// User IDs are logged at debug only (see logger.excludeFields).
	p.log.InfoContext(ctx, "login succeeded", "connector_id", conn.ID, "client_ip", ip)
	p.log.DebugContext(ctx, "login succeeded", "connector_id", conn.ID, "user_id", ident.UserID)
	return ident, nil
}

func (p *passwordLogins) record(connID string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.typical[connID]; ok {
		p.typical[connID] = (t*7 + d) / 8
	} else {
		p.typical[connID] = d
	}
}

// pad waits until a failure has taken as long as a typical success, so the
// response time does not tell an unknown user from a wrong password.
func (p *passwordLogins) pad(ctx context.Context, connID string, took time.Duration) {
	p.mu.Lock()
	want := p.typical[connID]
	p.mu.Unlock()
	if want <= took {
		return
	}
	t := time.NewTimer(want - took)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// ipResolver finds the client address of a request: the TCP peer, or,
// when the peer is a trusted proxy, the last untrusted hop of the
// configured header. An untrusted peer cannot choose its address.
type ipResolver struct {
	header  string
	trusted []netip.Prefix
}

func (p ipResolver) isTrusted(a netip.Addr) bool {
	for _, pr := range p.trusted {
		if pr.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

func (p ipResolver) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || p.header == "" || !p.isTrusted(peer) {
		return host
	}
	var hops []string
	for _, v := range r.Header.Values(p.header) {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: stop at the last address we could trust
		}
		client = a.Unmap()
		if !p.isTrusted(client) {
			break
		}
	}
	return client.String()
}
