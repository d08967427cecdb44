// The replicas harness: several torii servers (server.New) on stores of
// one namespace of one API server, behind a round-robin load balancer, as
// in test/ha (which does the same on PostgreSQL).
package kubernetes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/internal/testclock"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
)

const (
	issuerPath   = "/dex"
	clientID     = "web-app"
	clientSecret = "web-app-secret"
	redirectURI  = "https://app.example/callback"
	userLogin    = "jane@example.com"
	userPassword = "correct horse"
	janeUserID   = "08a8684b-db88-4b73-90a9-3cd1661f5466"
)

// clock is the injected time source shared by the replicas (as NTP keeps
// real replicas' clocks together).
type clock = testclock.Clock

func newClock() *clock { return testclock.New(time.Now().UTC().Truncate(time.Second)) }

// users is a cheap password connector (no bcrypt), so the tests and
// benchmarks measure storage and the protocol, not password hashing.
type users struct{}

func (users) Prompt() string { return "Email Address" }

func (users) Login(_ context.Context, s connector.Scopes, login, password string) (connector.Identity, bool, error) {
	if login != userLogin || password != userPassword {
		return connector.Identity{}, false, nil
	}
	return jane(s), true, nil
}

func (users) Refresh(_ context.Context, s connector.Scopes, id connector.Identity) (connector.Identity, error) {
	if id.UserID != janeUserID {
		return connector.Identity{}, connector.ErrUserGone
	}
	return jane(s), nil
}

func jane(s connector.Scopes) connector.Identity {
	id := connector.Identity{UserID: janeUserID, Username: "Jane Doe",
		PreferredUsername: "jane", Email: userLogin, EmailVerified: true}
	if s.Groups {
		id.Groups = []string{"admins"}
	}
	return id
}

// deployment is several replicas behind one round-robin load balancer.
type deployment struct {
	t        testing.TB
	clock    *clock
	lb       *httptest.Server
	issuer   string
	replicas []*replica
}

// replica is one torii server.
type replica struct {
	t      testing.TB
	name   string
	issuer string
	torii  *server.Server
	srv    *httptest.Server
	client *http.Client
}

type option func(*server.Config)

// newDeployment starts one replica per store behind a round-robin proxy.
// Everything is stopped in t.Cleanup.
func newDeployment(t testing.TB, clk *clock, stores []storage.Storage, opts ...option) *deployment {
	t.Helper()
	d := &deployment{t: t, clock: clk}
	var next atomic.Uint64
	var proxies []*httputil.ReverseProxy
	// Unstarted, so its address (the issuer) is known before the replicas
	// exist and proxies is complete before the first request.
	d.lb = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxies[(next.Add(1)-1)%uint64(len(proxies))].ServeHTTP(w, r)
	}))
	d.issuer = "http://" + d.lb.Listener.Addr().String() + issuerPath
	for i, st := range stores {
		r := newReplica(t, string(rune('A'+i)), d.issuer, st, clk, opts...)
		d.replicas = append(d.replicas, r)
		target, _ := url.Parse(r.srv.URL)
		proxies = append(proxies, httputil.NewSingleHostReverseProxy(target))
	}
	d.lb.Start()
	t.Cleanup(d.lb.Close)
	return d
}

// newReplica starts a torii server on store; it is stopped in t.Cleanup.
func newReplica(t testing.TB, name, issuer string, store storage.Storage, clk *clock, opts ...option) *replica {
	t.Helper()
	cfg := server.Config{
		Issuer:  issuer,
		Storage: store,
		Connectors: []server.Connector{
			{ID: "local", Type: "local", Name: "Email", Password: users{}, Refresh: users{}},
		},
		Clients: []server.Client{
			{ID: clientID, Secret: clientSecret, Name: "Web App", RedirectURIs: []string{redirectURI}},
		},
		PasswordConnector:  "local",
		SkipApprovalScreen: true,
		Throttle:           server.ThrottleConfig{Disabled: true},
		Logger:             slog.New(slog.DiscardHandler),
		Now:                clk.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("%s: server.New: %v", name, err)
	}
	r := &replica{t: t, name: name, issuer: issuer, torii: s, srv: httptest.NewServer(s)}
	t.Cleanup(func() {
		r.srv.Close()
		cancel()
		s.Close()
	})
	// A hang is a failure: nothing torii does should take this long, even
	// with the database gone (connection attempts give up after 5 s).
	r.client = &http.Client{Transport: r.srv.Client().Transport, Timeout: 30 * time.Second}
	return r
}

// url maps an issuer URL or an issuer-relative path to this replica.
func (r *replica) url(u string) string {
	return r.srv.URL + strings.TrimPrefix(u, strings.TrimSuffix(r.issuer, issuerPath))
}

type tokenResponse struct {
	status       int
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

func (tr tokenResponse) String() string {
	if tr.Error != "" {
		return fmt.Sprintf("%d %s (%s)", tr.status, tr.Error, tr.Description)
	}
	return fmt.Sprintf("%d", tr.status)
}

// token posts form to /token as the confidential client. It is safe to
// call from any goroutine (it never calls t.Fatal).
func (r *replica) token(form url.Values) (tokenResponse, error) {
	return r.tokenAs(clientID, clientSecret, form)
}

// tokenAs is token as another client.
func (r *replica) tokenAs(id, secret string, form url.Values) (tokenResponse, error) {
	req, err := http.NewRequest(http.MethodPost, r.url(issuerPath+"/token"), strings.NewReader(form.Encode()))
	if err != nil {
		return tokenResponse{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := r.client.Do(req)
	if err != nil {
		return tokenResponse{}, fmt.Errorf("%s: POST /token: %w", r.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return tokenResponse{}, err
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return tokenResponse{}, fmt.Errorf("%s: POST /token: %d, body is not JSON: %q", r.name, resp.StatusCode, body)
	}
	tr.status = resp.StatusCode
	return tr, nil
}

// passwordLogin runs the password grant and returns the response.
func (r *replica) passwordLogin() tokenResponse {
	r.t.Helper()
	tr, err := r.token(url.Values{"grant_type": {"password"}, "username": {userLogin}, "password": {userPassword},
		"scope": {"openid email offline_access"}})
	if err == nil && (tr.status != http.StatusOK || tr.RefreshToken == "") {
		err = fmt.Errorf("%s: password grant: %v", r.name, tr)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return tr
}

func (r *replica) refresh(token string) (tokenResponse, error) {
	return r.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
}

func (r *replica) exchange(code string) (tokenResponse, error) {
	return r.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}})
}

// get fetches an issuer-relative path; safe from any goroutine.
func (r *replica) get(path string) (int, []byte, error) {
	resp, err := r.client.Get(r.url(issuerPath + path))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// jwks fetches the replica's key set.
func (r *replica) jwks() []byte {
	r.t.Helper()
	status, b, err := r.get("/keys")
	if err != nil || status != http.StatusOK {
		r.t.Fatalf("%s: GET /keys: %d %v", r.name, status, err)
	}
	return b
}

// browser is a user agent with a cookie jar that sends its requests to
// bases in turn (so consecutive steps of one login land on different
// replicas) and stops at the client's redirect URI.
type browser struct {
	t      testing.TB
	issuer string
	bases  []string
	n      int
	c      *http.Client
}

func newBrowser(t testing.TB, issuer string, bases ...string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, issuer: issuer, bases: bases, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status   int
	location string
	body     string
}

// do sends one request to the next base; u is absolute under the issuer or
// issuer-relative.
func (b *browser) do(method, u string, form url.Values) page {
	b.t.Helper()
	base := b.bases[b.n%len(b.bases)]
	b.n++
	target := base + strings.TrimPrefix(u, strings.TrimSuffix(b.issuer, issuerPath))
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(rb)}
}

func (b *browser) internal(loc string) bool {
	return strings.HasPrefix(loc, issuerPath+"/") || strings.HasPrefix(loc, b.issuer+"/")
}

// follow GETs redirects within torii until a page or a redirect elsewhere.
func (b *browser) follow(p page) page {
	b.t.Helper()
	for i := 0; i < 10 && p.location != "" && b.internal(p.location); i++ {
		p = b.do(http.MethodGet, p.location, nil)
	}
	return p
}

var (
	formActionRe = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	hiddenRe     = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// loginCode runs the browser flow (authorize, login form) and returns the
// authorization code handed to the client.
func (b *browser) loginCode() string {
	b.t.Helper()
	return b.loginCodeFor(clientID, redirectURI)
}

// loginCodeFor is loginCode for another client.
func (b *browser) loginCodeFor(clientID, redirectURI string) string {
	b.t.Helper()
	return b.loginAs(clientID, redirectURI, userLogin, userPassword)
}

// loginAs is loginCodeFor with another user's login and password.
func (b *browser) loginAs(clientID, redirectURI, login, password string) string {
	b.t.Helper()
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid email offline_access"}, "state": {"st"}}
	p := b.follow(b.do(http.MethodGet, issuerPath+"/auth?"+q.Encode(), nil))
	m := formActionRe.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		b.t.Fatalf("login page: %d %q %s", p.status, p.location, p.body)
	}
	form := url.Values{}
	first := p.body[strings.Index(p.body, m[0]):]
	if end := strings.Index(first, "</form>"); end > 0 {
		first = first[:end]
	}
	for _, h := range hiddenRe.FindAllStringSubmatch(first, -1) {
		form.Set(h[1], unescapeHTML(h[2]))
	}
	form.Set("login", login)
	form.Set("password", password)
	p = b.follow(b.do(http.MethodPost, unescapeHTML(m[1]), form))
	if !strings.HasPrefix(p.location, redirectURI) {
		b.t.Fatalf("after login: %d %q %s", p.status, p.location, p.body)
	}
	u, err := url.Parse(p.location)
	if err != nil || u.Query().Get("code") == "" || u.Query().Get("state") != "st" {
		b.t.Fatalf("no code or wrong state in %q", p.location)
	}
	return u.Query().Get("code")
}

func unescapeHTML(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}
