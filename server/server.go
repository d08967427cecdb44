// Package server is torii's HTTP surface: every OIDC endpoint, the login and
// approval pages, and the background work (key rotation, garbage collection).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/torii-idp/torii/server/signer"
	"github.com/torii-idp/torii/storage"
)

// Server is an http.Handler serving every route under the issuer's path.
// Reload swaps in a new config without dropping a request.
type Server struct {
	gen atomic.Pointer[generation]
	// draining turns readiness to 503 (Drain); it outlives reloads.
	draining atomic.Bool
	cancel   context.CancelFunc
	done     chan struct{}

	mu  sync.Mutex // serializes Reload; guards sh and cfg
	sh  *shared
	cfg Config // the config of the current generation, defaults set
}

// shared is what outlives a reload: the issuer, the signing keys and the
// readiness switch. Throttle counts live in storage, so they survive a
// reload on their own.
type shared struct {
	iss      issuer
	sig      *signer.Signer
	draining *atomic.Bool
	// backchannel delivers Logout Tokens; its loop runs with the others.
	backchannel *backchannel
}

// generation is the router of one config. Requests hold mu for reading
// while they run, so retiring a generation waits for them.
type generation struct {
	handler http.Handler
	ender   *sessionEnder
	mu      sync.RWMutex
	retired bool
}

// issuer is the parsed issuer URL: every route lives under Path.
type issuer struct {
	URL  string // exactly as configured, used in iss
	Path string // "" or "/dex": no trailing slash
}

func (i issuer) at(p string) string { return i.Path + p }

func (i issuer) absolute(p string) string { return strings.TrimSuffix(i.URL, "/") + p }

// New validates the config, loads or creates the signing keys and starts the
// background loops (key rotation, garbage collection), which stop when ctx is
// done or Close is called.
func New(ctx context.Context, c Config) (*Server, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	c.setDefaults()
	iss, err := parseIssuer(c.Issuer)
	if err != nil {
		return nil, err
	}
	sig, err := signer.New(ctx, signer.Config{
		Storage:        c.Storage,
		Algorithm:      c.SigningAlgorithm,
		RotationPeriod: c.Expiry.SigningKeys,
		TokenLifetime:  c.Expiry.IDTokens,
		Logger:         c.Logger,
		Now:            c.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	s := &Server{done: make(chan struct{}), cfg: c}
	s.sh = &shared{iss: iss, sig: sig, draining: &s.draining, backchannel: newBackchannel(c, sig, iss)}
	r, ender, err := newRouter(c, s.sh)
	if err != nil {
		return nil, err
	}
	if c.Metrics != nil {
		c.Metrics.signer.Store(sig)
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.gen.Store(&generation{handler: r, ender: ender})
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-bg.Done(): // Close was called
		}
	}()
	go func() {
		defer close(s.done)
		var wg sync.WaitGroup
		defer wg.Wait()
		wg.Go(func() { s.sh.backchannel.run(bg) })
		runBackground(bg, c, sig)
	}()
	return s, nil
}

func newLogins(c Config) *passwordLogins {
	p := newPasswordLogins(c.Throttle, c.Storage, c.Logger, c.Now)
	p.metrics, p.audit = c.Metrics, c.Audit
	return p
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := s.gen.Load()
	g.mu.RLock()
	for g.retired { // swapped out between the load and the lock
		g.mu.RUnlock()
		g = s.gen.Load()
		g.mu.RLock()
	}
	defer g.mu.RUnlock()
	if s.draining.Load() {
		// Tell keep-alive clients (a proxy) to open their next request
		// elsewhere while the balancer takes this replica out.
		w.Header().Set("Connection", "close")
	}
	g.handler.ServeHTTP(w, r)
}

// Reload builds the routes of c and swaps them in; requests already running
// finish on the old config, and Reload returns once they have (or ctx is
// done), after which the caller may close the old connectors. Storage,
// the issuer and the signing settings (algorithm, expiry.signingKeys,
// expiry.idTokens, which the kept signing keys depend on) are not
// reloadable: c's values for them are ignored. Throttle counts are in
// storage and survive; changed throttle settings apply to them. Reload and New reject the same
// configs.
func (s *Server) Reload(ctx context.Context, c Config) error {
	if err := c.validate(); err != nil {
		return err
	}
	c.setDefaults()
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cfg
	c.Issuer, c.Storage, c.SigningAlgorithm = old.Issuer, old.Storage, old.SigningAlgorithm
	c.Expiry.SigningKeys, c.Expiry.IDTokens = old.Expiry.SigningKeys, old.Expiry.IDTokens
	c.Metrics, c.Audit, c.Now = old.Metrics, old.Audit, old.Now
	sh := s.sh
	r, ender, err := newRouter(c, sh)
	if err != nil {
		return err
	}
	prev := s.gen.Swap(&generation{handler: r, ender: ender})
	s.sh, s.cfg = sh, c
	retired := make(chan struct{})
	go func() {
		prev.mu.Lock()
		prev.retired = true
		prev.mu.Unlock()
		close(retired)
	}()
	select {
	case <-retired:
	case <-ctx.Done():
		c.Logger.Warn("config reload: requests of the previous config still running", "err", ctx.Err())
	}
	return nil
}

// EndSession ends a browser session exactly as a logout does: its row,
// the refresh families issued from it without offline_access, and a
// back-channel logout notice to each client it was used for. ended is
// false when the session was already gone. The admin API ends sessions
// through it.
func (s *Server) EndSession(ctx context.Context, ss storage.Session) (ended bool, err error) {
	return s.gen.Load().ender.end(ctx, ss, "")
}

// Drain turns readiness to 503 and asks keep-alive clients to reconnect, so
// a load balancer stops sending requests here before the listeners shut
// down. Requests are still served.
func (s *Server) Drain() { s.draining.Store(true) }

// Close stops the background loops and waits for them. It does not close
// Storage or connectors (the caller owns them).
func (s *Server) Close() error {
	s.cancel()
	<-s.done
	return nil
}

func parseIssuer(raw string) (issuer, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return issuer{}, fmt.Errorf("issuer %q must be an absolute http or https URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return issuer{}, fmt.Errorf("issuer %q must not have a query or fragment", raw)
	}
	return issuer{URL: raw, Path: strings.TrimSuffix(u.Path, "/")}, nil
}

func (c *Config) validate() error {
	var errs []error
	if c.Issuer == "" {
		errs = append(errs, errors.New("issuer is required"))
	}
	if c.Storage == nil {
		errs = append(errs, errors.New("storage is required"))
	}
	seen := map[string]bool{}
	for _, cl := range c.Clients {
		if cl.ID == "" {
			errs = append(errs, errors.New("a client has no id"))
		}
		if err := refuseBuiltinClientID(cl.ID); err != nil {
			errs = append(errs, err)
		}
		if seen[cl.ID] {
			errs = append(errs, fmt.Errorf("client %q is listed twice", cl.ID))
		}
		seen[cl.ID] = true
		globalID := c.Expiry.IDTokens
		if globalID <= 0 {
			globalID = 24 * time.Hour
		}
		switch {
		case cl.IDTokenLifetime < 0 || cl.RefreshTokenLifetime < 0 || cl.RefreshTokenValidIfNotUsedFor < 0:
			errs = append(errs, fmt.Errorf("client %q: token lifetimes must not be negative", cl.ID))
		case cl.IDTokenLifetime > globalID:
			errs = append(errs, fmt.Errorf("client %q: idTokenLifetime %s is longer than expiry.idTokens %s (signing keys are kept only that long)", cl.ID, cl.IDTokenLifetime, globalID))
		}
		if !cl.Public && cl.Secret == "" {
			errs = append(errs, fmt.Errorf("client %q is confidential but has no secret", cl.ID))
		}
		for _, u := range cl.RedirectURIs {
			if err := ValidRedirectURI(u); err != nil {
				errs = append(errs, fmt.Errorf("client %q: redirect URI %q: %w", cl.ID, u, err))
			}
		}
		errs = append(errs, validLogoutURIs(cl)...)
	}
	conns := map[string]bool{}
	for _, cn := range c.Connectors {
		if cn.ID == "" || (cn.Password == nil) == (cn.Callback == nil) {
			errs = append(errs, fmt.Errorf("connector %q: an id and exactly one of a password or a callback connector are required", cn.ID))
		}
		if conns[cn.ID] {
			errs = append(errs, fmt.Errorf("connector %q is listed twice", cn.ID))
		}
		conns[cn.ID] = true
	}
	if c.PasswordConnector != "" && !conns[c.PasswordConnector] {
		errs = append(errs, fmt.Errorf("oauth2.passwordConnector %q is not a configured connector", c.PasswordConnector))
	}
	for _, cn := range c.Connectors {
		if cn.ID == c.PasswordConnector && cn.Password == nil {
			errs = append(errs, fmt.Errorf("oauth2.passwordConnector %q does not check passwords", c.PasswordConnector))
		}
	}
	validRule := func(path, v string) {
		if v != "" && v != PromptNoneShowLogin && v != PromptNoneLoginRequired {
			errs = append(errs, fmt.Errorf("%s %q must be %s or %s", path, v, PromptNoneShowLogin, PromptNoneLoginRequired))
		}
	}
	validRule("oauth2.promptNoneWithoutSession", c.PromptNoneWithoutSession)
	for _, cl := range c.Clients {
		validRule(fmt.Sprintf("client %q: promptNoneWithoutSession", cl.ID), cl.PromptNoneWithoutSession)
	}
	switch c.SigningAlgorithm {
	case "", "RS256", "ES256":
	default:
		errs = append(errs, fmt.Errorf("signing algorithm %q is not supported (RS256 or ES256)", c.SigningAlgorithm))
	}
	errs = append(errs, c.Kubeconfig.validate(c.Clients)...)
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	if c.SigningAlgorithm == "" {
		c.SigningAlgorithm = "RS256"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Expiry.SigningKeys, 6*time.Hour)
	def(&c.Expiry.IDTokens, 24*time.Hour)
	def(&c.Expiry.AuthRequests, 24*time.Hour)
	def(&c.Expiry.RefreshTokens.ReuseInterval, 3*time.Second)
	def(&c.Expiry.DeviceRequests, 5*time.Minute)
	if len(c.ResponseTypes) == 0 {
		c.ResponseTypes = []string{"code"}
	}
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{grantAuthorizationCode, grantRefreshToken, grantDeviceCode}
		if c.PasswordConnector != "" {
			c.GrantTypes = append(c.GrantTypes, grantPassword)
		}
		// Dex allows token exchange by default; torii does when a connector
		// can vouch for upstream tokens.
		if slices.ContainsFunc(c.Connectors, func(cn Connector) bool { return cn.TokenIdentity != nil }) {
			c.GrantTypes = append(c.GrantTypes, grantTokenExchange)
		}
	}
	if c.PromptNoneWithoutSession == "" {
		c.PromptNoneWithoutSession = PromptNoneShowLogin
		if c.Sessions != nil {
			c.PromptNoneWithoutSession = PromptNoneLoginRequired
		}
	}
	if s := c.Sessions; s != nil {
		def(&s.AbsoluteLifetime, 24*time.Hour)
		def(&s.ValidIfNotUsedFor, time.Hour)
		if s.SSOSharedWithDefault == nil {
			s.SSOSharedWithDefault = []string{"*"}
		}
	}
	if c.Web.Issuer == "" {
		c.Web.Issuer = "torii"
	}
	def(&c.SessionCountInterval, time.Minute)
	def(&c.Expiry.UnstartedAuthRequests, min(10*time.Minute, c.Expiry.AuthRequests))
	c.Expiry.UnstartedAuthRequests = min(c.Expiry.UnstartedAuthRequests, c.Expiry.AuthRequests)
	c.Throttle.setDefaults()
}

// runBackground rotates keys, collects garbage every five minutes and
// counts live sessions every SessionCountInterval, until ctx is done.
func runBackground(ctx context.Context, c Config, sig *signer.Signer) {
	go sig.Run(ctx, time.Minute)
	gc := time.NewTicker(5 * time.Minute)
	defer gc.Stop()
	count := time.NewTicker(c.SessionCountInterval)
	defer count.Stop()
	collect(ctx, c)
	countSessions(ctx, c)
	for {
		select {
		case <-ctx.Done():
			return
		case <-gc.C:
			collect(ctx, c)
		case <-count.C:
			countSessions(ctx, c)
		}
	}
}

func collect(ctx context.Context, c Config) {
	res, err := c.Storage.GarbageCollect(ctx, c.Now())
	if ctx.Err() == nil {
		c.Metrics.gc(res, err)
	}
	switch {
	case err != nil && ctx.Err() == nil:
		c.Logger.WarnContext(ctx, "garbage collection failed", "err", err)
	case err == nil && res.AuthRequests+res.AuthCodes+res.RefreshTokens+res.RevokedGrants+res.Sessions+res.DeviceRequests > 0:
		c.Logger.InfoContext(ctx, "garbage collected",
			"auth_requests", res.AuthRequests, "auth_codes", res.AuthCodes,
			"refresh_tokens", res.RefreshTokens, "revoked_grants", res.RevokedGrants, "sessions", res.Sessions,
			"device_requests", res.DeviceRequests)
	}
}

// countSessions refreshes torii_sessions_live: one indexed count query a
// minute, whatever the request rate. A backend that cannot count leaves
// the gauge out.
func countSessions(ctx context.Context, c Config) {
	sc, ok := c.Storage.(storage.SessionCounter)
	if !ok || c.Metrics == nil {
		return
	}
	n, err := sc.CountSessions(ctx, c.Now())
	switch {
	case err == nil:
		c.Metrics.sessionsCounted(n)
	case errors.Is(err, errors.ErrUnsupported) || ctx.Err() != nil:
	default:
		c.Logger.WarnContext(ctx, "counting live sessions failed", "err", err)
	}
}
