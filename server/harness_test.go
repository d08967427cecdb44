package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/internal/testclock"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/memory"
)

// clock is an injectable time source tests can move forward.
type clock = testclock.Clock

func newClock() *clock { return testclock.New(time.Now().Truncate(time.Second)) }

// fakeUsers is a unit-test password connector (the real ones are tested in
// their own packages and in the interop suite).
type fakeUsers struct {
	mu     sync.Mutex
	users  map[string]fakeUser // by login
	logins int
	// delay is how long each check takes (as a bcrypt comparison would);
	// err, when set, is what every check returns.
	delay time.Duration
	err   error
}

type fakeUser struct {
	password string
	ident    connector.Identity
}

func (f *fakeUsers) Prompt() string { return "Email Address" }

func (f *fakeUsers) Login(ctx context.Context, s connector.Scopes, username, password string) (connector.Identity, bool, error) {
	f.mu.Lock()
	delay := f.delay
	f.mu.Unlock()
	time.Sleep(delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins++
	if f.err != nil {
		return connector.Identity{}, false, f.err
	}
	u, ok := f.users[strings.ToLower(strings.TrimSpace(username))]
	if !ok || u.password != password {
		return connector.Identity{}, false, nil
	}
	id := u.ident
	if !s.Groups {
		id.Groups = nil
	}
	return id, true, nil
}

func (f *fakeUsers) Refresh(ctx context.Context, s connector.Scopes, id connector.Identity) (connector.Identity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if u.ident.UserID == id.UserID {
			return u.ident, nil
		}
	}
	return connector.Identity{}, connector.ErrUserGone
}

func (f *fakeUsers) set(login string, u fakeUser) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[login] = u
}

func (f *fakeUsers) remove(login string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.users, login)
}

const (
	janeUserID = "08a8684b-db88-4b73-90a9-3cd1661f5466"
	// Dex's sub for that user on connector "local".
	janeSub = "CiQwOGE4Njg0Yi1kYjg4LTRiNzMtOTBhOS0zY2QxNjYxZjU0NjYSBWxvY2Fs"
)

func defaultUsers() *fakeUsers {
	return &fakeUsers{users: map[string]fakeUser{
		"jane@example.com": {password: "correct horse", ident: connector.Identity{
			UserID: janeUserID, Username: "Jane Doe", PreferredUsername: "jane",
			Email: "jane@example.com", EmailVerified: true, Groups: []string{"admins", "devs"},
		}},
	}}
}

// env is one running torii under test.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	issuer string
	clock  *clock
	store  storage.Storage
	users  *fakeUsers
	torii  *server.Server
}

type envOption func(*server.Config)

const (
	confidentialID     = "web-app"
	confidentialSecret = "web-app-secret"
	webRedirect        = "https://app.example/callback"
	publicID           = "cli"
	kubeflowID         = "oauth2-proxy"
)

func newEnv(t *testing.T, opts ...envOption) *env {
	return newEnvTLS(t, false, opts...)
}

func newEnvTLS(t *testing.T, useTLS bool, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(), store: memory.New(), users: defaultUsers()}
	var h http.Handler = http.NotFoundHandler()
	var mu sync.RWMutex
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.RLock()
		hh := h
		mu.RUnlock()
		hh.ServeHTTP(w, r)
	}))
	if useTLS {
		e.srv.StartTLS()
	} else {
		e.srv.Start()
	}
	t.Cleanup(e.srv.Close)
	e.issuer = e.srv.URL + "/dex"
	cfg := server.Config{
		Issuer:  e.issuer,
		Storage: e.store,
		Connectors: []server.Connector{
			{ID: "local", Type: "local", Name: "Email", Password: e.users, Refresh: e.users},
		},
		Clients: []server.Client{
			{ID: confidentialID, Secret: confidentialSecret, Name: "Web App", RedirectURIs: []string{webRedirect}},
			{ID: publicID, Public: true, Name: "kubectl"},
			{ID: kubeflowID, Secret: "kf-secret", Name: "Kubeflow", RedirectURIs: []string{"/oauth2/callback"}},
		},
		PasswordConnector:  "local",
		SkipApprovalScreen: true,
		Now:                e.clock.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("server.New: %v", err)
	}
	t.Cleanup(func() { cancel(); s.Close() })
	e.torii = s
	mu.Lock()
	h = s
	mu.Unlock()
	return e
}

// httpClient trusts the test server (TLS) and does not follow redirects.
func (e *env) httpClient() *http.Client {
	c := *e.srv.Client()
	jar, _ := cookiejar.New(nil)
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (e *env) ctx() context.Context {
	return oidc.ClientContext(context.Background(), e.srv.Client())
}

func (e *env) provider() *oidc.Provider {
	e.t.Helper()
	p, err := oidc.NewProvider(e.ctx(), e.issuer)
	if err != nil {
		e.t.Fatalf("discovery: %v", err)
	}
	return p
}

func (e *env) oauth2Config(scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: confidentialID, ClientSecret: confidentialSecret, RedirectURL: webRedirect,
		Endpoint: e.provider().Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, scopes...),
	}
}

// browser is a user agent with a cookie jar that stops at the client's
// redirect URI.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser { return &browser{e: e, c: e.httpClient()} }

type page struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, body: string(body), location: resp.Header.Get("Location"), header: resp.Header}
}

func (b *browser) get(u string) page {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.abs(u), nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) page {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.abs(u), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return b.e.srv.URL + u
	}
	return u
}

// follow GETs redirects within torii until a page or a redirect elsewhere.
func (b *browser) follow(u string) page {
	b.e.t.Helper()
	p := b.get(u)
	for i := 0; i < 10 && p.location != "" && b.internal(p.location); i++ {
		p = b.get(p.location)
	}
	return p
}

func (b *browser) internal(loc string) bool {
	return strings.HasPrefix(loc, "/dex/") || strings.HasPrefix(loc, b.e.issuer)
}

var (
	formActionRe = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	hiddenRe     = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// submitLogin fills in the login form of p and posts it.
func (b *browser) submitLogin(p page, login, password string) page {
	b.e.t.Helper()
	action, form := parseForm(b.e.t, p.body)
	form.Set("login", login)
	form.Set("password", password)
	return b.post(action, form)
}

func parseForm(t testing.TB, body string) (string, url.Values) {
	t.Helper()
	m := formActionRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form in page:\n%s", body)
	}
	form := url.Values{}
	// Only the first form's hidden fields.
	first := body[strings.Index(body, m[0]):]
	if end := strings.Index(first, "</form>"); end > 0 {
		first = first[:end]
	}
	for _, h := range hiddenRe.FindAllStringSubmatch(first, -1) {
		form.Set(h[1], unescapeHTML(h[2]))
	}
	return unescapeHTML(m[1]), form
}

func unescapeHTML(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// loginCode runs the browser flow from authURL and returns the redirect
// back to the client.
func (b *browser) loginCode(authURL, login, password string) *url.URL {
	b.e.t.Helper()
	p := b.follow(authURL)
	if p.status != http.StatusOK {
		b.e.t.Fatalf("login page: status %d location %q body %s", p.status, p.location, p.body)
	}
	p = b.submitLogin(p, login, password)
	if p.location != "" && b.internal(p.location) {
		p = b.follow(p.location)
	}
	if p.location == "" {
		b.e.t.Fatalf("expected a redirect to the client, got %d: %s", p.status, p.body)
	}
	u, err := url.Parse(p.location)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return u
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// tokenRequest posts a form to /token with optional basic auth.
func (e *env) tokenRequest(form url.Values, id, secret string) (int, map[string]any, http.Header) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m, resp.Header
}

func (e *env) userinfo(accessToken string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (e *env) verifier(clientID string) *oidc.IDTokenVerifier {
	return e.provider().Verifier(&oidc.Config{ClientID: clientID, Now: e.clock.Now})
}

func oauth2Param(k, v string) oauth2.AuthCodeOption { return oauth2.SetAuthURLParam(k, v) }
