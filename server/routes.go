package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/torii-idp/torii/web"
)

// newRouter builds every handler and lists every route. It runs at start
// and again on each config reload; what must outlive a reload (signing
// keys, throttle counts, metrics) comes in sh.
func newRouter(c Config, sh *shared) (http.Handler, *sessionEnder, error) {
	iss, sig, logins := sh.iss, sh.sig, newLogins(c)
	dynamic := c.DynamicClients
	if dynamic == nil {
		dynamic = storedClients{c.Storage}
	}
	clients := newClientLookup(withBuiltinClient(c.Clients, iss), dynamic)
	byID := make(map[string]Connector, len(c.Connectors))
	for _, cn := range c.Connectors {
		if cn.Name == "" {
			cn.Name = cn.ID
		}
		byID[cn.ID] = cn
	}
	site, err := web.Load(c.Web.Dir)
	if err != nil {
		return nil, nil, fmt.Errorf("frontend.dir: %w", err)
	}
	pg, err := newPages(c.Web, site, iss, c.Logger)
	if err != nil {
		return nil, nil, err
	}
	ips := ipResolver{header: c.ClientIP.Header, trusted: c.ClientIP.TrustedProxies}
	m := &minter{issuer: iss, signer: sig, ttl: c.Expiry.IDTokens, now: c.Now, clients: clients, audit: c.Audit}
	ri := &refreshIssuer{store: c.Storage, policy: c.Expiry.RefreshTokens, now: c.Now, clients: clients}
	canRefresh := func(id string) bool { cn, ok := byID[id]; return ok && cn.Refresh != nil }

	cg := &codeGrant{store: c.Storage, minter: m, refresh: ri, canRefresh: canRefresh, now: c.Now, revokeFor: c.Expiry.IDTokens, log: c.Logger, metrics: c.Metrics, audit: c.Audit}
	rg := &refreshGrant{store: c.Storage, minter: m, refresh: ri, connectors: byID, now: c.Now, sleep: c.Sleep, revokeFor: c.Expiry.IDTokens, log: c.Logger, metrics: c.Metrics, audit: c.Audit}
	grants := map[string]grant{
		grantAuthorizationCode: cg,
		grantRefreshToken:      rg,
	}
	if pc, ok := byID[c.PasswordConnector]; ok {
		grants[grantPassword] = &passwordGrant{conn: pc, logins: logins, ips: ips, clients: clients, minter: m, refresh: ri, now: c.Now}
	}
	grants[grantClientCredentials] = &clientCredentialsGrant{minter: m}
	grants[grantDeviceCode] = &deviceGrant{store: c.Storage, minter: m, refresh: ri, canRefresh: canRefresh, now: c.Now, revokeFor: c.Expiry.IDTokens, log: c.Logger, audit: c.Audit}
	grants[grantTokenExchange] = &tokenExchangeGrant{connectors: byID, clients: clients, minter: m, now: c.Now, metrics: c.Metrics, audit: c.Audit}
	grants = enabledGrants(grants, c.GrantTypes)
	var grantNames []string
	for _, g := range []string{grantAuthorizationCode, grantRefreshToken, grantPassword, grantClientCredentials, grantTokenExchange, grantDeviceCode} {
		if grants[g] != nil {
			grantNames = append(grantNames, g)
		}
	}

	disc, err := newCachedDocument(discoveryDocument(iss, sig.Algorithms(), grantNames, c.PKCEMethods), "public, max-age=3600")
	if err != nil {
		return nil, nil, err
	}
	flow := &authFlow{
		issuer: iss, store: c.Storage, clients: clients, connectors: c.Connectors, byID: byID,
		pages: pg, browser: browserBinding{path: iss.Path, secure: strings.HasPrefix(iss.URL, "https://"), store: c.Storage, ttl: c.Expiry.AuthRequests, now: c.Now},
		logins: logins, ips: ips, responseTypes: c.ResponseTypes, skipApproval: c.SkipApprovalScreen, alwaysChooser: c.AlwaysShowLoginScreen,
		authReqTTL: c.Expiry.AuthRequests, unstartedTTL: c.Expiry.UnstartedAuthRequests, pkceMethods: c.PKCEMethods, now: c.Now, log: c.Logger, audit: c.Audit,
	}
	flow.completions = map[string]completion{"code": flow.issueCode, responseTypeDevice: flow.approveDevice}
	flow.rejections = map[string]completion{responseTypeDevice: flow.denyDevice}
	verifier := &tokenVerifier{issuer: iss, signer: sig, store: c.Storage, now: c.Now}
	flow.verify = verifier
	flow.promptNone = c.PromptNoneWithoutSession
	if c.Sessions != nil {
		flow.sessions = newSessions(*c.Sessions, c.Storage, iss, clients, c.Now)
	}
	for i := range flow.connectors {
		flow.connectors[i] = byID[flow.connectors[i].ID]
	}
	ender := &sessionEnder{store: c.Storage, clients: clients, revokeFor: c.Expiry.IDTokens, retryFor: sh.backchannel.cfg.RetryFor,
		kick: sh.backchannel.kick, now: c.Now, log: c.Logger, audit: c.Audit, metrics: c.Metrics}
	// torii's own pages log in through the built-in client (pageLogin.user).
	pageLogins := newPageLogin(c, iss, flow.sessions, cg, verifier, sig, pg)
	account := &accountHandler{login: pageLogins, pages: pg, store: c.Storage, clients: clients, minter: m, ender: ender,
		revokeFor: c.Expiry.IDTokens, now: c.Now, log: c.Logger, audit: c.Audit}
	kubeconfig := &kubeconfigHandler{cfg: c.Kubeconfig, issuer: iss, clients: clients, pages: pg, login: pageLogins, log: c.Logger}
	logout := &logoutHandler{clients: clients, verify: verifier, sessions: flow.sessions, ender: ender, browser: flow.browser, pages: pg, pageLogin: pageLogins, log: c.Logger}
	auth := clientAuth{clients: clients}
	tok := &tokenHandler{auth: auth, grants: grants, log: c.Logger, metrics: c.Metrics}
	ui := &userinfoHandler{verifier: verifier, log: c.Logger}
	introspect := &introspectHandler{auth: auth, verifier: verifier, store: c.Storage, refresh: rg, minter: m, now: c.Now, log: c.Logger, audit: c.Audit}
	revoke := &revokeHandler{auth: auth, verifier: verifier, store: c.Storage, now: c.Now, accessTTL: c.Expiry.IDTokens, log: c.Logger, audit: c.Audit}
	device := &deviceCodeHandler{issuer: iss, auth: auth, clients: clients, store: c.Storage, ttl: c.Expiry.DeviceRequests,
		enabled: grants[grantDeviceCode] != nil, throttle: logins.throttle, ips: ips, now: c.Now, log: c.Logger}
	keys := &keysHandler{signer: sig, log: c.Logger}
	health := &healthHandler{store: c.Storage, signer: sig, draining: sh.draining}
	cors := corsPolicy{origins: c.AllowedOrigins}
	rw := routeWrapper{metrics: c.Metrics, ips: ips}

	r := chi.NewRouter()
	r.Use(headers(c.Headers, strings.HasPrefix(iss.URL, "https://")), withPageLocale)
	r.Route(iss.Path+"/", func(r chi.Router) {
		// route registers every route, wrapped once (request ID, audit
		// context, metrics labelled with the pattern).
		route := func(method, pattern string, h http.HandlerFunc, mw ...func(http.Handler) http.Handler) {
			r.With(mw...).Method(method, pattern, rw.wrap(pattern, h))
		}
		route(http.MethodGet, "/", (&home{pages: pg, issuerURL: iss.URL}).ServeHTTP)
		route(http.MethodGet, "/.well-known/openid-configuration", disc.ServeHTTP, cors.wrap)
		route(http.MethodGet, "/keys", keys.ServeHTTP, cors.wrap)
		route(http.MethodPost, "/token", tok.ServeHTTP, cors.wrap)
		route(http.MethodOptions, "/token", noContent, cors.wrap)
		route(http.MethodPost, "/token/introspect", introspect.ServeHTTP, cors.wrap)
		route(http.MethodOptions, "/token/introspect", noContent, cors.wrap)
		route(http.MethodPost, "/token/revoke", revoke.ServeHTTP, cors.wrap)
		route(http.MethodOptions, "/token/revoke", noContent, cors.wrap)
		route(http.MethodGet, "/userinfo", ui.ServeHTTP, cors.wrap)
		route(http.MethodPost, "/userinfo", ui.ServeHTTP, cors.wrap)
		route(http.MethodOptions, "/userinfo", noContent, cors.wrap)
		route(http.MethodGet, "/auth", flow.authorize)
		route(http.MethodPost, "/auth", flow.authorize)
		route(http.MethodGet, "/auth/{connector}", flow.login)
		route(http.MethodPost, "/auth/{connector}", flow.login)
		// Dex's own password-form address, for scripts written against it.
		route(http.MethodGet, "/auth/{connector}/login", flow.login)
		route(http.MethodPost, "/auth/{connector}/login", flow.login)
		route(http.MethodGet, callbackPath, flow.callback)
		route(http.MethodPost, "/device/code", device.ServeHTTP, cors.wrap)
		route(http.MethodOptions, "/device/code", noContent, cors.wrap)
		route(http.MethodGet, "/device", flow.deviceEntry)
		route(http.MethodPost, "/device/auth/verify_code", flow.deviceVerify)
		route(http.MethodGet, "/device/callback", flow.deviceCallback)
		route(http.MethodGet, "/approval", flow.approval)
		route(http.MethodPost, "/approval", flow.approval)
		route(http.MethodGet, "/logout", logout.ServeHTTP)
		route(http.MethodPost, "/logout", logout.ServeHTTP)
		route(http.MethodGet, "/account", account.show)
		route(http.MethodGet, "/kubeconfig", kubeconfig.page)
		route(http.MethodGet, "/kubeconfig/{cluster}", kubeconfig.download)
		route(http.MethodPost, "/account", account.end)
		route(http.MethodGet, builtinCallbackPath, pageLogins.callback)
		route(http.MethodGet, "/healthz", health.live)
		route(http.MethodGet, "/healthz/live", health.live)
		route(http.MethodGet, "/healthz/ready", health.ready)
		static := http.StripPrefix(iss.Path+"/static/", noDirectoryListing(http.FileServerFS(site.Static)))
		route(http.MethodGet, "/static/*", static.ServeHTTP)
		route(http.MethodHead, "/static/*", static.ServeHTTP)
	})
	r.NotFound(rw.wrap("not_found", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pg.errorPage(w, r, http.StatusNotFound, "err.not_found")
	})).ServeHTTP)
	r.MethodNotAllowed(rw.wrap("method_not_allowed", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMethodNotAllowed)
		w.Write([]byte("method not allowed\n"))
	})).ServeHTTP)
	return r, ender, nil
}

func noContent(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

// noDirectoryListing serves files only: a directory (a path ending in /,
// or the static root) is not found rather than listed.
func noDirectoryListing(files http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// headers sets the security headers on every response, then the
// operator's web.headers (which may override them).
func headers(extra map[string]string, https bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			if https {
				// The issuer is https: browsers should never try http
				// (a year, the usual HSTS preload minimum).
				h.Set("Strict-Transport-Security", "max-age=31536000")
			}
			h.Set("X-Frame-Options", "DENY")
			h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' https: data:; style-src 'self'; frame-ancestors 'none'; form-action 'self' http: https:")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Content-Type-Options", "nosniff")
			for k, v := range extra {
				h.Set(k, v)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// corsPolicy answers browsers calling the JSON endpoints from web.allowedOrigins.
type corsPolicy struct{ origins []string }

func (p corsPolicy) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (slices.Contains(p.origins, "*") || slices.Contains(p.origins, origin)) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				h.Set("Access-Control-Max-Age", "600")
			}
		}
		next.ServeHTTP(w, r)
	})
}
