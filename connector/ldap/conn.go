package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/torii-idp/torii/connector"
)

// counters are what the tests and the benchmark look at to see the pool
// working; they cost one atomic add per event.
type counters struct {
	dials         atomic.Int64
	serviceBinds  atomic.Int64
	userBinds     atomic.Int64
	groupSearches atomic.Int64
	// inUse and misses feed PoolStats.
	inUse  atomic.Int64
	misses atomic.Int64
}

// UnavailableError means no configured server answered (refused, timed out,
// connection lost). It is connector.ErrUnavailable for errors.Is, so callers
// treat it as a temporary failure.
type UnavailableError struct {
	Err error
}

func (e *UnavailableError) Error() string { return "ldap: directory unavailable: " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, connector.ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == connector.ErrUnavailable }

// isNetworkError tells a broken connection from an LDAP result such as
// invalidCredentials.
func isNetworkError(err error) bool {
	var ne net.Error
	return err != nil && (goldap.IsErrorWithCode(err, goldap.ErrorNetwork) || errors.As(err, &ne))
}

// pool bounds the open connections: each holds one of the slots, whether
// borrowed or idle, so a directory that accepts connections and never
// answers ties up at most cap(slots) of them; a login waiting for a slot
// takes the first of a free slot or an idle connection. Up to keep idle
// connections, bound as the service account, are kept for reuse.
type pool struct {
	slots chan struct{}
	idle  chan *goldap.Conn
	keep  int
	// waits counts acquisitions that found neither an idle connection nor
	// a free slot and had to wait (PoolStats).
	waits atomic.Int64

	mu     sync.Mutex
	closed bool
}

func newPool(keep int) *pool {
	n := keep
	if n <= 0 {
		n = DefaultPoolSize // poolSize 0 keeps none, but still caps what is open
	}
	return &pool{slots: make(chan struct{}, n), idle: make(chan *goldap.Conn, n), keep: keep}
}

// acquire returns an idle connection, or nil with a slot reserved for a
// new one (the caller dials, then puts or discards it, or calls release).
func (p *pool) acquire(ctx context.Context, wait time.Duration) (*goldap.Conn, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		var c *goldap.Conn
		select {
		case c = <-p.idle:
		default:
			select {
			case c = <-p.idle:
			case p.slots <- struct{}{}:
				return nil, nil
			default:
				p.waits.Add(1)
				select {
				case c = <-p.idle:
				case p.slots <- struct{}{}:
					return nil, nil
				case <-ctx.Done():
					return nil, p.busy(ctx.Err())
				case <-t.C:
					return nil, p.busy(context.DeadlineExceeded)
				}
			}
		}
		if !c.IsClosing() {
			return c, nil
		}
		p.discard(c)
	}
}

func (p *pool) busy(cause error) error {
	return &UnavailableError{Err: fmt.Errorf("all %d connections busy (%w): %w", cap(p.slots), cause, connector.ErrUnavailable)}
}

// release frees the slot of a connection that was never opened.
func (p *pool) release() { <-p.slots }

// discard closes a connection and frees its slot.
func (p *pool) discard(c *goldap.Conn) {
	c.Close()
	p.release()
}

func (p *pool) put(c *goldap.Conn) {
	p.mu.Lock()
	keep := !p.closed && len(p.idle) < p.keep && !c.IsClosing()
	if keep {
		p.idle <- c // never blocks: len(idle) < keep <= cap(idle), under mu
	}
	p.mu.Unlock()
	if !keep {
		p.discard(c)
	}
}

func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case c := <-p.idle:
			p.discard(c)
		default:
			return
		}
	}
}

// session is one borrowed connection; every operation on it honours ctx
// (the connection is closed when ctx ends) and the configured timeout.
type session struct {
	c      *Connector
	ctx    context.Context
	conn   *goldap.Conn
	addr   string
	broken bool
}

func (s *session) run(op func() error) error {
	if err := s.ctx.Err(); err != nil {
		s.broken = true
		return err
	}
	stop := context.AfterFunc(s.ctx, func() { s.conn.Close() })
	err := op()
	if !stop() {
		s.broken = true
		return fmt.Errorf("ldap: %s: %w", s.addr, s.ctx.Err())
	}
	if isNetworkError(err) {
		s.broken = true
	}
	return err
}

func (s *session) search(req *goldap.SearchRequest) (*goldap.SearchResult, error) {
	var res *goldap.SearchResult
	start := time.Now()
	err := s.run(func() (err error) {
		res, err = s.conn.Search(req)
		return err
	})
	s.c.observe(OpSearch, start, s.broken)
	return res, err
}

// bindService binds as the service account (anonymously without bindDN).
func (s *session) bindService() error {
	s.c.stats.serviceBinds.Add(1)
	start := time.Now()
	err := s.run(func() error {
		if s.c.cfg.BindDN == "" {
			return s.conn.UnauthenticatedBind("")
		}
		return s.conn.Bind(s.c.cfg.BindDN, s.c.cfg.BindPW)
	})
	s.c.observe(OpServiceBind, start, s.broken)
	return err
}

// bindUser checks a password with a simple bind. Afterwards the session
// must be rebound as the service account before it is used again.
func (s *session) bindUser(dn, password string) error {
	s.c.stats.userBinds.Add(1)
	start := time.Now()
	err := s.run(func() error { return s.conn.Bind(dn, password) })
	s.c.observe(OpUserBind, start, s.broken)
	return err
}

// do runs f on a service-account connection from the pool (or a new one).
// A pooled connection found dead is replaced once, transparently.
func (c *Connector) do(ctx context.Context, f func(*session) error) error {
	for attempt := 0; ; attempt++ {
		s, reused, err := c.session(ctx)
		if err != nil {
			return err
		}
		c.stats.inUse.Add(1)
		err = f(s)
		if s.broken {
			c.pool.discard(s.conn)
		} else {
			c.pool.put(s.conn)
		}
		c.stats.inUse.Add(-1)
		if err != nil && s.broken && reused && attempt == 0 && ctx.Err() == nil {
			c.logger.DebugContext(ctx, "ldap: pooled connection failed, retrying on a new one", "addr", s.addr, "err", err)
			continue
		}
		if err != nil && isNetworkError(err) {
			return &UnavailableError{Err: err}
		}
		return err
	}
}

func (c *Connector) session(ctx context.Context) (*session, bool, error) {
	conn, err := c.pool.acquire(ctx, c.set.timeout)
	if err != nil {
		return nil, false, err
	}
	if conn != nil {
		return &session{c: c, ctx: ctx, conn: conn, addr: "pooled"}, true, nil
	}
	c.stats.misses.Add(1)
	s, err := c.dialAny(ctx)
	if err != nil {
		c.pool.release()
	}
	return s, false, err
}

// dialAny dials the servers in order until one answers.
func (c *Connector) dialAny(ctx context.Context) (*session, error) {
	var errs []error
	for _, addr := range c.set.addrs {
		s, err := c.dial(ctx, addr)
		if err == nil {
			return s, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ldap: %s: %w", addr, ctx.Err())
		}
		if !isNetworkError(err) {
			// The server answered (bad service password, StartTLS refused):
			// another replica will not say otherwise.
			return nil, err
		}
		c.logger.WarnContext(ctx, "ldap: server unreachable", "addr", addr, "err", err)
		errs = append(errs, err)
	}
	return nil, &UnavailableError{Err: errors.Join(errs...)}
}

// dial connects to one server within the timeout, sets up TLS as
// configured and binds as the service account.
func (c *Connector) dial(ctx context.Context, addr string) (*session, error) {
	c.stats.dials.Add(1)
	dctx, cancel := context.WithTimeout(ctx, c.set.timeout)
	defer cancel()
	d := net.Dialer{Timeout: c.set.timeout}
	raw, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, goldap.NewError(goldap.ErrorNetwork, err)
	}
	host, _, _ := net.SplitHostPort(addr)
	tlsConf := c.tls.Clone()
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = host
	}
	ldaps := !c.cfg.InsecureNoSSL && !c.cfg.StartTLS
	if ldaps {
		tc := tls.Client(raw, tlsConf)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("ldap: %s: TLS handshake (timeout %s): %w", addr, c.set.timeout, err)
		}
		raw = tc
	}
	conn := goldap.NewConn(raw, ldaps)
	conn.Start()
	conn.SetTimeout(c.set.timeout)
	s := &session{c: c, ctx: dctx, conn: conn, addr: addr}
	if c.cfg.StartTLS {
		if err := s.run(func() error { return conn.StartTLS(tlsConf) }); err != nil {
			conn.Close()
			return nil, fmt.Errorf("ldap: %s: StartTLS (timeout %s): %w", addr, c.set.timeout, err)
		}
	}
	if err := s.bindService(); err != nil {
		conn.Close()
		if isNetworkError(err) || dctx.Err() != nil {
			return nil, fmt.Errorf("ldap: %s: service bind (timeout %s): %w", addr, c.set.timeout, err)
		}
		return nil, fmt.Errorf("ldap: %s: service account bind as %q failed: %w", addr, c.cfg.BindDN, err)
	}
	s.ctx = ctx
	return s, nil
}
