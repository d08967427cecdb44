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

	"github.com/torii-idp/torii/connector"
)

// passwordLogins checks passwords for the login form and the password grant:
// throttling per username and per client IP, and the same answer (and
// about the same time) for an unknown user and a wrong password.
type passwordLogins struct {
	users *throttle
	ips   *throttle
	log   *slog.Logger
	now   func() time.Time

	mu sync.Mutex
	// typical is a moving average of how long a successful login takes,
	// per connector; failures are padded to it.
	typical map[string]time.Duration
}

var (
	errBadCredentials = errors.New("invalid username or password")
	errThrottled      = errors.New("too many failed login attempts; try again later")
)

// ipThrottleFactor: a client IP may fail this many times more often than a
// single username (many people may share a gateway's or NAT's address).
const ipThrottleFactor = 10

func newPasswordLogins(c ThrottleConfig, log *slog.Logger, now func() time.Time) *passwordLogins {
	p := &passwordLogins{log: log, now: now, typical: map[string]time.Duration{}}
	if !c.Disabled {
		p.users = newThrottle(c.MaxFailures, c.Window, c.Ban, now)
		p.ips = newThrottle(c.MaxFailures*ipThrottleFactor, c.Window, c.Ban, now)
	}
	return p
}

// login returns errBadCredentials, errThrottled, or a connector error.
func (p *passwordLogins) login(ctx context.Context, conn Connector, s connector.Scopes, username, password, ip string) (connector.Identity, error) {
	userKey := conn.ID + "\x00" + strings.ToLower(strings.TrimSpace(username))
	if b, _ := p.users.blocked(userKey); b {
		p.log.WarnContext(ctx, "login throttled", "reason", "username", "connector_id", conn.ID, "client_ip", ip)
		return connector.Identity{}, errThrottled
	}
	if b, _ := p.ips.blocked(ip); b {
		p.log.WarnContext(ctx, "login throttled", "reason", "client_ip", "connector_id", conn.ID, "client_ip", ip)
		return connector.Identity{}, errThrottled
	}
	start := time.Now()
	var (
		ident connector.Identity
		ok    bool
		err   error
	)
	if password != "" && strings.TrimSpace(username) != "" {
		ident, ok, err = conn.Password.Login(ctx, s, username, password)
	}
	if err != nil {
		return connector.Identity{}, err
	}
	if !ok {
		p.users.fail(userKey)
		p.ips.fail(ip)
		p.log.InfoContext(ctx, "login failed", "connector_id", conn.ID, "client_ip", ip)
		p.pad(ctx, conn.ID, time.Since(start))
		return connector.Identity{}, errBadCredentials
	}
	p.users.succeed(userKey)
	p.record(conn.ID, time.Since(start))
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
