package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// discovery is the part of the OpenID configuration the modes use.
type discovery struct {
	Issuer                      string `json:"issuer"`
	AuthorizationEndpoint       string `json:"authorization_endpoint"`
	TokenEndpoint               string `json:"token_endpoint"`
	JWKSURI                     string `json:"jwks_uri"`
	IntrospectionEndpoint       string `json:"introspection_endpoint"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
}

// user is one account the sessions log in as.
type user struct{ name, password string }

// target is one issuer under load.
type target struct {
	issuer string
	opts   *options
	http   *http.Client // shared keep-alive transport, redirects not followed
	disc   discovery
	// setupMu serializes the setup logins of each user: torii's login
	// throttle charges an attempt while it is in flight, so many parallel
	// logins of one user from one address look like guessing.
	setupMu sync.Map // user name -> *sync.Mutex
}

// setupLogin runs fn (a login of u while preparing a mode) after any other
// setup login of the same user has finished.
func (t *target) setupLogin(u user, fn func() error) error {
	mu, _ := t.setupMu.LoadOrStore(u.name, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	return fn()
}

func newTarget(ctx context.Context, issuer string, o *options, tr http.RoundTripper) (*target, error) {
	t := &target{issuer: strings.TrimSuffix(issuer, "/"), opts: o, http: &http.Client{
		Transport:     tr,
		Timeout:       o.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	body, err := t.get(ctx, t.discoveryURL())
	if err != nil {
		return nil, fmt.Errorf("discovery of %s: %w", t.issuer, err)
	}
	if err := json.Unmarshal(body, &t.disc); err != nil {
		return nil, fmt.Errorf("discovery of %s: %w", t.issuer, err)
	}
	if t.disc.TokenEndpoint == "" || t.disc.JWKSURI == "" || t.disc.AuthorizationEndpoint == "" {
		return nil, fmt.Errorf("discovery of %s lacks token_endpoint, jwks_uri or authorization_endpoint", t.issuer)
	}
	return t, nil
}

func (t *target) discoveryURL() string { return t.issuer + "/.well-known/openid-configuration" }

// statusError is an answer other than the expected one.
type statusError struct {
	url    string
	status int
	body   string
}

// The body is folded to one line: each mode prints one line.
func (e *statusError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %.200s", e.url, e.status, strings.Join(strings.Fields(e.body), " "))
}

func (t *target) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return t.do(t.http, req, http.StatusOK)
}

func (t *target) do(c *http.Client, req *http.Request, want int) ([]byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, &statusError{url: req.URL.Path, status: resp.StatusCode, body: string(body)}
	}
	return body, nil
}

// postForm posts to an endpoint with the client's credentials (HTTP Basic
// for a confidential client, client_id in the form for a public one) and
// decodes the JSON answer.
func (t *target) postForm(ctx context.Context, endpoint string, form url.Values, out any) error {
	if t.opts.clientSecret == "" {
		form.Set("client_id", t.opts.clientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if t.opts.clientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(t.opts.clientID), url.QueryEscape(t.opts.clientSecret))
	}
	body, err := t.do(t.http, req, http.StatusOK)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	return nil
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

func (t *target) token(ctx context.Context, form url.Values) (tokenResponse, error) {
	var tr tokenResponse
	if err := t.postForm(ctx, t.disc.TokenEndpoint, form, &tr); err != nil {
		return tr, err
	}
	if tr.AccessToken == "" {
		return tr, errors.New("token response without access_token")
	}
	return tr, nil
}

func (t *target) passwordGrant(ctx context.Context, u user) (tokenResponse, error) {
	return t.token(ctx, url.Values{"grant_type": {"password"}, "username": {u.name}, "password": {u.password},
		"scope": {t.opts.scope}})
}

// session starts a session with a refresh token: by the password grant,
// or by a browser login and code exchange where the password grant is off.
func (t *target) session(ctx context.Context, u user) (tokenResponse, error) {
	tr, err := t.passwordGrant(ctx, u)
	if err == nil && tr.RefreshToken != "" {
		return tr, nil
	}
	c, lerr := t.login(ctx, u)
	if lerr != nil {
		return tr, fmt.Errorf("password grant: %v; browser login: %w", err, lerr)
	}
	tr, err = t.exchange(ctx, c)
	if err == nil && tr.RefreshToken == "" {
		err = fmt.Errorf("no refresh token (is offline_access in --scope?)")
	}
	return tr, err
}

// code is an authorization code with its PKCE verifier.
type code struct{ value, verifier string }

func (t *target) exchange(ctx context.Context, c code) (tokenResponse, error) {
	return t.token(ctx, url.Values{"grant_type": {"authorization_code"}, "code": {c.value},
		"redirect_uri": {t.opts.redirectURI}, "code_verifier": {c.verifier}})
}

var (
	formRe   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	actionRe = regexp.MustCompile(`(?i)\baction="([^"]*)"`)
	inputRe  = regexp.MustCompile(`(?i)<input\b[^>]*>`)
	attrRe   = regexp.MustCompile(`(?i)\b(name|value|type)="([^"]*)"`)
)

// htmlForm is a form of a page: where it posts and its fields' values.
type htmlForm struct {
	action   *url.URL
	fields   url.Values
	password bool // has a password input
}

func parseForms(base *url.URL, page string) []htmlForm {
	var out []htmlForm
	for _, m := range formRe.FindAllStringSubmatch(page, -1) {
		f := htmlForm{action: base, fields: url.Values{}}
		if a := actionRe.FindStringSubmatch(m[1]); a != nil {
			if u, err := base.Parse(html.UnescapeString(a[1])); err == nil {
				f.action = u
			}
		}
		for _, in := range inputRe.FindAllString(m[2], -1) {
			attrs := map[string]string{}
			for _, a := range attrRe.FindAllStringSubmatch(in, -1) {
				attrs[strings.ToLower(a[1])] = html.UnescapeString(a[2])
			}
			if strings.EqualFold(attrs["type"], "password") {
				f.password = true
			}
			if attrs["name"] != "" {
				f.fields.Set(attrs["name"], attrs["value"])
			}
		}
		out = append(out, f)
	}
	return out
}

// login runs the browser flow as a browser would: /auth with PKCE, the
// login form (with the binding cookie and the form's CSRF field), the
// approval form if shown, and stops at the redirect to the client, whose
// code it returns.
func (t *target) login(ctx context.Context, u user) (code, error) {
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Transport: t.http.Transport, Timeout: t.opts.timeout, Jar: jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), t.opts.redirectURI) || len(via) > 10 {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	verifier, state := random(), random()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {t.opts.clientID}, "redirect_uri": {t.opts.redirectURI},
		"response_type": {"code"}, "scope": {t.opts.scope}, "state": {state}, "nonce": {random()},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	if t.opts.connectorID != "" {
		q.Set("connector_id", t.opts.connectorID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.disc.AuthorizationEndpoint+"?"+q.Encode(), nil)
	if err != nil {
		return code{}, err
	}
	for step := 0; step < 4; step++ {
		resp, err := browser.Do(req)
		if err != nil {
			return code{}, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return code{}, err
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && strings.HasPrefix(loc, t.opts.redirectURI) {
			back, err := url.Parse(loc)
			if err != nil {
				return code{}, err
			}
			if e := back.Query().Get("error"); e != "" {
				return code{}, fmt.Errorf("login refused: %s: %s", e, back.Query().Get("error_description"))
			}
			if back.Query().Get("state") != state {
				return code{}, errors.New("login: the redirect carries another state")
			}
			c := back.Query().Get("code")
			if c == "" {
				return code{}, errors.New("login: redirect without a code")
			}
			return code{value: c, verifier: verifier}, nil
		}
		if resp.StatusCode != http.StatusOK {
			return code{}, &statusError{url: resp.Request.URL.Path, status: resp.StatusCode, body: string(body)}
		}
		forms := parseForms(resp.Request.URL, string(body))
		f, ok := pickForm(forms)
		if !ok {
			return code{}, fmt.Errorf("login: no login or approval form on %s", resp.Request.URL.Path)
		}
		if f.password {
			f.fields.Set("login", u.name)
			f.fields.Set("password", u.password)
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, f.action.String(), strings.NewReader(f.fields.Encode()))
		if err != nil {
			return code{}, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// What a browser sends with a same-origin form POST.
		req.Header.Set("Origin", f.action.Scheme+"://"+f.action.Host)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	return code{}, errors.New("login: no redirect to the client after four pages")
}

// pickForm takes the login form, else the approval form's approve button.
func pickForm(forms []htmlForm) (htmlForm, bool) {
	for _, f := range forms {
		if f.password {
			return f, true
		}
	}
	for _, f := range forms {
		if f.fields.Get("approval") == "approve" {
			return f, true
		}
	}
	return htmlForm{}, false
}

// random is 256 bits, base64url: 43 characters, as a PKCE verifier must
// be at least (RFC 7636 §4.1).
func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
