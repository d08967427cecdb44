// Package replicatest is the shared harness, scenarios and benchmark
// bodies for running several torii servers on one storage, as a highly
// available deployment does: test/ha runs them on PostgreSQL and
// test/kubernetes on a real Kubernetes API server.
//
// Topology: each replica is server.New on its own store (its own
// connection pool or client), served by its own httptest server. In front
// of them a small round-robin reverse proxy plays the load balancer; the
// issuer URL is the proxy's, so discovery, cookies and redirects look
// exactly as in production. Tests that need a request to land on a given
// replica address that replica directly (same paths, same issuer).
package replicatest

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
	IssuerPath   = "/dex"
	ClientID     = "web-app"
	ClientSecret = "web-app-secret"
	RedirectURI  = "https://app.example/callback"
	UserLogin    = "jane@example.com"
	UserPassword = "correct horse"
	JaneUserID   = "08a8684b-db88-4b73-90a9-3cd1661f5466"
)

// Clock is the injected time source shared by the replicas (as NTP keeps
// real replicas' clocks together).
type Clock = testclock.Clock

func NewClock() *Clock { return testclock.New(time.Now().UTC().Truncate(time.Second)) }

// Users is a cheap password connector (no bcrypt), so the tests and
// benchmarks measure storage and the protocol, not password hashing.
type Users struct{}

func (Users) Prompt() string { return "Email Address" }

func (Users) Login(_ context.Context, s connector.Scopes, login, password string) (connector.Identity, bool, error) {
	if login != UserLogin || password != UserPassword {
		return connector.Identity{}, false, nil
	}
	return jane(s), true, nil
}

func (Users) Refresh(_ context.Context, s connector.Scopes, id connector.Identity) (connector.Identity, error) {
	if id.UserID != JaneUserID {
		return connector.Identity{}, connector.ErrUserGone
	}
	return jane(s), nil
}

func jane(s connector.Scopes) connector.Identity {
	id := connector.Identity{UserID: JaneUserID, Username: "Jane Doe",
		PreferredUsername: "jane", Email: UserLogin, EmailVerified: true}
	if s.Groups {
		id.Groups = []string{"admins"}
	}
	return id
}

// Deployment is several replicas behind one round-robin load balancer.
type Deployment struct {
	t        testing.TB
	Clock    *Clock
	LB       *httptest.Server
	Issuer   string
	Replicas []*Replica
}

// Replica is one torii server.
type Replica struct {
	t      testing.TB
	Name   string
	Issuer string
	Torii  *server.Server
	Srv    *httptest.Server
	Client *http.Client
}

type Option func(*server.Config)

// NewDeployment starts one Replica per store behind a round-robin proxy.
// Everything is stopped in t.Cleanup.
func NewDeployment(t testing.TB, clk *Clock, stores []storage.Storage, opts ...Option) *Deployment {
	t.Helper()
	d := &Deployment{t: t, Clock: clk}
	var next atomic.Uint64
	var proxies []*httputil.ReverseProxy
	// Unstarted, so its address (the issuer) is known before the replicas
	// exist and proxies is complete before the first request.
	d.LB = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxies[(next.Add(1)-1)%uint64(len(proxies))].ServeHTTP(w, r)
	}))
	d.Issuer = "http://" + d.LB.Listener.Addr().String() + IssuerPath
	for i, st := range stores {
		r := NewReplica(t, string(rune('A'+i)), d.Issuer, st, clk, opts...)
		d.Replicas = append(d.Replicas, r)
		target, _ := url.Parse(r.Srv.URL)
		proxies = append(proxies, httputil.NewSingleHostReverseProxy(target))
	}
	d.LB.Start()
	t.Cleanup(d.LB.Close)
	return d
}

// NewReplica starts a torii server on store; it is stopped in t.Cleanup.
func NewReplica(t testing.TB, name, issuer string, store storage.Storage, clk *Clock, opts ...Option) *Replica {
	t.Helper()
	cfg := server.Config{
		Issuer:  issuer,
		Storage: store,
		Connectors: []server.Connector{
			{ID: "local", Type: "local", Name: "Email", Password: Users{}, Refresh: Users{}},
		},
		Clients: []server.Client{
			{ID: ClientID, Secret: ClientSecret, Name: "Web App", RedirectURIs: []string{RedirectURI}},
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
	r := &Replica{t: t, Name: name, Issuer: issuer, Torii: s, Srv: httptest.NewServer(s)}
	t.Cleanup(func() {
		r.Srv.Close()
		cancel()
		s.Close()
	})
	// A hang is a failure: nothing torii does should take this long, even
	// with the database gone (connection attempts give up after 5 s).
	r.Client = &http.Client{Transport: r.Srv.Client().Transport, Timeout: 30 * time.Second}
	return r
}

// url maps an issuer URL or an issuer-relative path to this Replica.
func (r *Replica) URL(u string) string {
	return r.Srv.URL + strings.TrimPrefix(u, strings.TrimSuffix(r.Issuer, IssuerPath))
}

type TokenResponse struct {
	Status       int
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

func (tr TokenResponse) String() string {
	if tr.Error != "" {
		return fmt.Sprintf("%d %s (%s)", tr.Status, tr.Error, tr.Description)
	}
	return fmt.Sprintf("%d", tr.Status)
}

// token posts form to /token as the confidential client. It is safe to
// call from any goroutine (it never calls t.Fatal).
func (r *Replica) Token(form url.Values) (TokenResponse, error) {
	return r.TokenAs(ClientID, ClientSecret, form)
}

// tokenAs is token as another client.
func (r *Replica) TokenAs(id, secret string, form url.Values) (TokenResponse, error) {
	req, err := http.NewRequest(http.MethodPost, r.URL(IssuerPath+"/token"), strings.NewReader(form.Encode()))
	if err != nil {
		return TokenResponse{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := r.Client.Do(req)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("%s: POST /token: %w", r.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return TokenResponse{}, err
	}
	var tr TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return TokenResponse{}, fmt.Errorf("%s: POST /token: %d, body is not JSON: %q", r.Name, resp.StatusCode, body)
	}
	tr.Status = resp.StatusCode
	return tr, nil
}

// passwordLogin runs the password grant and returns the response.
func (r *Replica) PasswordLogin() TokenResponse {
	r.t.Helper()
	tr, err := r.Token(url.Values{"grant_type": {"password"}, "username": {UserLogin}, "password": {UserPassword},
		"scope": {"openid email offline_access"}})
	if err == nil && (tr.Status != http.StatusOK || tr.RefreshToken == "") {
		err = fmt.Errorf("%s: password grant: %v", r.Name, tr)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return tr
}

func (r *Replica) Refresh(token string) (TokenResponse, error) {
	return r.Token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
}

func (r *Replica) Exchange(code string) (TokenResponse, error) {
	return r.Token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {RedirectURI}})
}

// get fetches an issuer-relative path; safe from any goroutine.
func (r *Replica) Get(path string) (int, []byte, error) {
	resp, err := r.Client.Get(r.URL(IssuerPath + path))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// jwks fetches the Replica's key set.
func (r *Replica) JWKS() []byte {
	r.t.Helper()
	status, b, err := r.Get("/keys")
	if err != nil || status != http.StatusOK {
		r.t.Fatalf("%s: GET /keys: %d %v", r.Name, status, err)
	}
	return b
}

// Browser is a user agent with a cookie jar that sends its requests to
// Bases in turn (so consecutive steps of one login land on different
// replicas) and stops at the client's redirect URI.
type Browser struct {
	t      testing.TB
	Issuer string
	Bases  []string
	n      int
	c      *http.Client
}

func NewBrowser(t testing.TB, issuer string, bases ...string) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{t: t, Issuer: issuer, Bases: bases, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type Page struct {
	Status   int
	Location string
	Body     string
}

// do sends one request to the next base; u is absolute under the issuer or
// issuer-relative.
func (b *Browser) Do(method, u string, form url.Values) Page {
	b.t.Helper()
	base := b.Bases[b.n%len(b.Bases)]
	b.n++
	target := base + strings.TrimPrefix(u, strings.TrimSuffix(b.Issuer, IssuerPath))
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
	return Page{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(rb)}
}

func (b *Browser) internal(loc string) bool {
	return strings.HasPrefix(loc, IssuerPath+"/") || strings.HasPrefix(loc, b.Issuer+"/")
}

// follow GETs redirects within torii until a Page or a redirect elsewhere.
func (b *Browser) Follow(p Page) Page {
	b.t.Helper()
	for i := 0; i < 10 && p.Location != "" && b.internal(p.Location); i++ {
		p = b.Do(http.MethodGet, p.Location, nil)
	}
	return p
}

var (
	FormActionRe = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	HiddenRe     = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// loginCode runs the Browser flow (authorize, login form) and returns the
// authorization code handed to the client.
func (b *Browser) LoginCode() string {
	b.t.Helper()
	return b.LoginCodeFor(ClientID, RedirectURI)
}

// loginCodeFor is loginCode for another client.
func (b *Browser) LoginCodeFor(ClientID, RedirectURI string) string {
	b.t.Helper()
	return b.LoginAs(ClientID, RedirectURI, UserLogin, UserPassword)
}

// loginAs is loginCodeFor with another user's login and password.
func (b *Browser) LoginAs(ClientID, RedirectURI, login, password string) string {
	b.t.Helper()
	q := url.Values{"client_id": {ClientID}, "redirect_uri": {RedirectURI}, "response_type": {"code"},
		"scope": {"openid email offline_access"}, "state": {"st"}}
	p := b.Follow(b.Do(http.MethodGet, IssuerPath+"/auth?"+q.Encode(), nil))
	m := FormActionRe.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		b.t.Fatalf("login Page: %d %q %s", p.Status, p.Location, p.Body)
	}
	form := url.Values{}
	first := p.Body[strings.Index(p.Body, m[0]):]
	if end := strings.Index(first, "</form>"); end > 0 {
		first = first[:end]
	}
	for _, h := range HiddenRe.FindAllStringSubmatch(first, -1) {
		form.Set(h[1], UnescapeHTML(h[2]))
	}
	form.Set("login", login)
	form.Set("password", password)
	p = b.Follow(b.Do(http.MethodPost, UnescapeHTML(m[1]), form))
	if !strings.HasPrefix(p.Location, RedirectURI) {
		b.t.Fatalf("after login: %d %q %s", p.Status, p.Location, p.Body)
	}
	u, err := url.Parse(p.Location)
	if err != nil || u.Query().Get("code") == "" || u.Query().Get("state") != "st" {
		b.t.Fatalf("no code or wrong state in %q", p.Location)
	}
	return u.Query().Get("code")
}

func UnescapeHTML(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}
