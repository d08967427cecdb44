package server_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/torii-idp/torii/server"
)

const deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

var userCodeRe = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// deviceConfig is x/oauth2's view of the public kubectl client.
func (e *env) deviceConfig(scopes ...string) *oauth2.Config {
	return &oauth2.Config{ClientID: publicID, Endpoint: e.provider().Endpoint(),
		Scopes: append([]string{oidc.ScopeOpenID}, scopes...)}
}

func (e *env) deviceAuth(cfg *oauth2.Config, opts ...oauth2.AuthCodeOption) *oauth2.DeviceAuthResponse {
	e.t.Helper()
	da, err := cfg.DeviceAuth(e.ctx(), opts...)
	if err != nil {
		e.t.Fatalf("DeviceAuth: %v", err)
	}
	return da
}

// devicePoll is one raw poll of /token.
func (e *env) devicePoll(deviceCode, id, secret string, extra ...string) (int, map[string]any) {
	e.t.Helper()
	form := url.Values{"grant_type": {deviceGrantType}, "device_code": {deviceCode}}
	if secret == "" {
		form.Set("client_id", id)
		id = ""
	}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	st, body, _ := e.tokenRequest(form, id, secret)
	return st, body
}

// enterCode opens verification_uri_complete (or the plain page with the
// typed code) and submits the code; it returns the confirmation page.
func (b *browser) enterCode(pageURL, typed string) page {
	b.e.t.Helper()
	p := b.get(pageURL)
	if p.status != http.StatusOK {
		b.e.t.Fatalf("GET %s: %d %s", pageURL, p.status, p.body)
	}
	action, form := parseForm(b.e.t, p.body)
	if typed != "" {
		form.Set("user_code", typed)
	} else if m := regexp.MustCompile(`name="user_code" value="([^"]*)"`).FindStringSubmatch(p.body); m != nil {
		form.Set("user_code", unescapeHTML(m[1]))
	}
	return b.post(action, form)
}

// approveDevice confirms the code and logs Jane in; it returns the page
// the login ends on.
func (b *browser) approveDevice(confirm page) page {
	b.e.t.Helper()
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `id="confirm"`) {
		b.e.t.Fatalf("no confirmation page: %d %s", confirm.status, confirm.body)
	}
	action, form := parseForm(b.e.t, confirm.body) // the first form: confirm=yes
	p := b.post(action, form)
	if p.location == "" {
		b.e.t.Fatalf("confirming did not start a login: %d %s", p.status, p.body)
	}
	p = b.follow(p.location)
	p = b.submitLogin(p, "jane@example.com", "correct horse")
	for i := 0; i < 10 && p.location != "" && b.internal(p.location); i++ {
		p = b.get(p.location)
	}
	return p
}

func retrieveCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func TestDeviceFlow(t *testing.T) {
	t.Parallel() // x/oauth2 polls on a real 5 s ticker
	e := newEnv(t)
	disc := e.provider()
	var meta struct {
		Device string   `json:"device_authorization_endpoint"`
		Grants []string `json:"grant_types_supported"`
	}
	disc.Claims(&meta)
	if meta.Device != e.issuer+"/device/code" || !strings.Contains(strings.Join(meta.Grants, " "), deviceGrantType) {
		t.Fatalf("discovery: %+v", meta)
	}
	cfg := e.deviceConfig("email", "groups", "offline_access")
	da := e.deviceAuth(cfg)
	if !userCodeRe.MatchString(da.UserCode) || da.VerificationURI != e.issuer+"/device" ||
		da.VerificationURIComplete != e.issuer+"/device?user_code="+da.UserCode || da.Interval != 5 || len(da.DeviceCode) < 43 {
		t.Fatalf("device authorization response: %+v", da)
	}
	if left := time.Until(da.Expiry); left < 4*time.Minute || left > 5*time.Minute {
		t.Errorf("expires in %v; want the default 5m", left)
	}
	b := e.browser()
	confirm := b.enterCode(da.VerificationURIComplete, "")
	if !strings.Contains(confirm.body, "<strong>kubectl</strong>") || !strings.Contains(confirm.body, da.UserCode) {
		t.Errorf("the confirmation does not name the client and the code:\n%s", confirm.body)
	}
	done := b.approveDevice(confirm)
	if done.status != http.StatusOK || !strings.Contains(done.body, "You signed in kubectl") {
		t.Fatalf("end of the login: %d %q %s", done.status, done.location, done.body)
	}
	tok, err := cfg.DeviceAccessToken(e.ctx(), da)
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	idt, err := e.verifier(publicID).Verify(e.ctx(), tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	var claims struct {
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
	}
	idt.Claims(&claims)
	if idt.Subject != janeSub || claims.Email != "jane@example.com" || len(claims.Groups) != 2 {
		t.Errorf("id token sub %q claims %+v", idt.Subject, claims)
	}
	if tok.RefreshToken == "" {
		t.Error("offline_access gave no refresh token")
	}
	if st, ui := e.userinfo(tok.AccessToken); st != 200 || ui["sub"] != janeSub {
		t.Errorf("userinfo: %d %v", st, ui)
	}
	refreshed, err := cfg.TokenSource(e.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || refreshed.AccessToken == "" {
		t.Fatalf("refresh: %v", err)
	}

	// Handed out once: another poll is invalid_grant, and revokes what
	// the code produced.
	e.clock.Add(10 * time.Second)
	if st, body := e.devicePoll(da.DeviceCode, publicID, ""); st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("poll after the tokens were issued: %d %v; want invalid_grant", st, body)
	}
	if st, _ := e.userinfo(refreshed.AccessToken); st != 401 {
		t.Errorf("userinfo after the replay: %d; want 401 (grant revoked)", st)
	}
	if st, body := e.introspect(refreshed.RefreshToken, ""); st != 200 || body["active"] != false {
		t.Errorf("refresh token after the replay: %v", body)
	}
}

// Every RFC 8628 §3.5 answer, in the order a device meets them.
func TestDevicePolling(t *testing.T) {
	e := newEnv(t)
	cfg := e.deviceConfig()
	da := e.deviceAuth(cfg)
	poll := func(want string, wantStatus int) map[string]any {
		t.Helper()
		st, body := e.devicePoll(da.DeviceCode, publicID, "")
		if st != wantStatus || body["error"] != want {
			t.Fatalf("poll: %d %v; want %d %s", st, body, wantStatus, want)
		}
		return body
	}
	poll("authorization_pending", 400) // the first poll may come at once
	body := poll("slow_down", 400)     // the second did not wait
	if !strings.Contains(body["error_description"].(string), "10 seconds") {
		t.Errorf("slow_down does not give the new interval: %v", body)
	}
	e.clock.Add(6 * time.Second) // waited the old interval, not the new one
	body = poll("slow_down", 400)
	if !strings.Contains(body["error_description"].(string), "15 seconds") {
		t.Errorf("the interval did not grow again: %v", body)
	}
	e.clock.Add(15 * time.Second)
	poll("authorization_pending", 400)
	e.clock.Add(15 * time.Second)
	poll("authorization_pending", 400)

	b := e.browser()
	b.approveDevice(b.enterCode(da.VerificationURI, strings.ToLower(strings.ReplaceAll(da.UserCode, "-", ""))))
	e.clock.Add(15 * time.Second)
	st, tok := e.devicePoll(da.DeviceCode, publicID, "")
	if st != 200 || tok["access_token"] == nil || tok["id_token"] == nil || tok["token_type"] != "bearer" {
		t.Fatalf("poll after approval: %d %v", st, tok)
	}
	e.clock.Add(15 * time.Second)
	poll("invalid_grant", 400)

	// Expired: expired_token, through x/oauth2's poller too.
	da2 := e.deviceAuth(cfg)
	e.clock.Add(5*time.Minute + time.Second)
	if _, err := cfg.DeviceAccessToken(e.ctx(), &oauth2.DeviceAuthResponse{DeviceCode: da2.DeviceCode, Interval: 1}); retrieveCode(err) != "expired_token" {
		t.Errorf("expired device code: %v; want expired_token", err)
	}
	if p := e.browser().enterCode(da2.VerificationURIComplete, ""); p.status != http.StatusBadRequest || !strings.Contains(p.body, "not valid or has expired") {
		t.Errorf("expired user code in the browser: %d %s", p.status, p.body)
	}
}

func TestDeviceDenied(t *testing.T) {
	t.Run("I did not start this", func(t *testing.T) {
		e := newEnv(t)
		cfg := e.deviceConfig()
		da := e.deviceAuth(cfg)
		p := e.browser()
		confirm := p.enterCode(da.VerificationURIComplete, "")
		action, form := parseForm(t, confirm.body)
		form.Set("confirm", "deny")
		if got := p.post(action, form); got.status != 200 || !strings.Contains(got.body, "You denied access") {
			t.Fatalf("deny: %d %s", got.status, got.body)
		}
		if _, err := cfg.DeviceAccessToken(e.ctx(), &oauth2.DeviceAuthResponse{DeviceCode: da.DeviceCode, Interval: 1}); retrieveCode(err) != "access_denied" {
			t.Errorf("poll after deny: %v; want access_denied", err)
		}
	})
	t.Run("Cancel on the approval page", func(t *testing.T) {
		e := newEnv(t, func(c *server.Config) { c.SkipApprovalScreen = false })
		cfg := e.deviceConfig("email")
		da := e.deviceAuth(cfg)
		b := e.browser()
		approval := b.approveDevice(b.enterCode(da.VerificationURIComplete, ""))
		if !strings.Contains(approval.body, `id="reject"`) || !strings.Contains(approval.body, "kubectl") {
			t.Fatalf("no approval page: %d %s", approval.status, approval.body)
		}
		rejectAt := strings.Index(approval.body, `value="rejected"`)
		formStart := strings.LastIndex(approval.body[:rejectAt], "<form")
		action, form := parseForm(t, approval.body[formStart:])
		if got := b.post(action, form); got.status != 200 || !strings.Contains(got.body, "You denied access") {
			t.Fatalf("reject: %d %s", got.status, got.body)
		}
		if st, body := e.devicePoll(da.DeviceCode, publicID, ""); st != 400 || body["error"] != "access_denied" {
			t.Errorf("poll after Cancel: %d %v", st, body)
		}
	})
}

func TestDeviceRejections(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.Clients = append(c.Clients, server.Client{ID: "other-cli", Public: true, Name: "Other"})
	})
	post := func(path string, form url.Values, id, secret string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.issuer+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if id != "" {
			req.SetBasicAuth(id, secret)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	pub := e.deviceAuth(e.deviceConfig())
	conf := &oauth2.Config{ClientID: confidentialID, ClientSecret: confidentialSecret, Endpoint: e.provider().Endpoint(), Scopes: []string{"openid"}}
	// x/oauth2's DeviceAuth never sends the secret; a confidential client
	// adds it (as kubelogin does).
	confDA := e.deviceAuth(conf, oauth2.SetAuthURLParam("client_secret", confidentialSecret))
	for _, tc := range []struct {
		name       string
		path       string
		form       url.Values
		id, secret string
		status     int
		code       string
	}{
		{"confidential client without its secret at /device/code", "/device/code", url.Values{"client_id": {confidentialID}, "scope": {"openid"}}, "", "", 401, "invalid_client"},
		{"wrong secret at /device/code", "/device/code", url.Values{"scope": {"openid"}}, confidentialID, "nope", 401, "invalid_client"},
		{"unknown client at /device/code", "/device/code", url.Values{"client_id": {"nobody"}, "scope": {"openid"}}, "", "", 401, "invalid_client"},
		{"no openid scope", "/device/code", url.Values{"client_id": {publicID}, "scope": {"email"}}, "", "", 400, "invalid_scope"},
		{"unknown scope", "/device/code", url.Values{"client_id": {publicID}, "scope": {"openid admin"}}, "", "", 400, "invalid_scope"},
		{"untrusted peer", "/device/code", url.Values{"client_id": {publicID}, "scope": {"openid audience:server:client_id:web-app"}}, "", "", 400, "invalid_scope"},
		{"scope twice", "/device/code", url.Values{"client_id": {publicID}, "scope": {"openid", "openid"}}, "", "", 400, "invalid_request"},
		{"bad PKCE method", "/device/code", url.Values{"client_id": {publicID}, "scope": {"openid"}, "code_challenge": {s256("v")}, "code_challenge_method": {"S512"}}, "", "", 400, "invalid_request"},
		{"method without challenge", "/device/code", url.Values{"client_id": {publicID}, "scope": {"openid"}, "code_challenge_method": {"S256"}}, "", "", 400, "invalid_request"},
		{"no device_code", "/token", url.Values{"grant_type": {deviceGrantType}, "client_id": {publicID}}, "", "", 400, "invalid_request"},
		{"unknown device_code", "/token", url.Values{"grant_type": {deviceGrantType}, "client_id": {publicID}, "device_code": {"nope"}}, "", "", 400, "invalid_grant"},
		{"another client's device_code", "/token", url.Values{"grant_type": {deviceGrantType}, "client_id": {"other-cli"}, "device_code": {pub.DeviceCode}}, "", "", 400, "invalid_grant"},
		{"confidential client polls without its secret", "/token", url.Values{"grant_type": {deviceGrantType}, "client_id": {confidentialID}, "device_code": {confDA.DeviceCode}}, "", "", 401, "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := post(tc.path, tc.form, tc.id, tc.secret)
			if st != tc.status || body["error"] != tc.code {
				t.Errorf("%d %v; want %d %s", st, body, tc.status, tc.code)
			}
		})
	}
	// The confidential client polls with its secret, as kubelogin does.
	if st, body := e.devicePoll(confDA.DeviceCode, confidentialID, confidentialSecret); st != 400 || body["error"] != "authorization_pending" {
		t.Errorf("authenticated poll: %d %v", st, body)
	}
}

func TestDevicePKCE(t *testing.T) {
	t.Parallel() // x/oauth2 polls on a real 5 s ticker
	e := newEnv(t)
	cfg := e.deviceConfig()
	verifier := oauth2.GenerateVerifier()
	da := e.deviceAuth(cfg, oauth2.S256ChallengeOption(verifier))
	b := e.browser()
	b.approveDevice(b.enterCode(da.VerificationURIComplete, ""))
	for _, v := range []string{"", "wrong-verifier-wrong-verifier-wrong-verifier-1"} {
		e.clock.Add(5 * time.Second)
		if st, body := e.devicePoll(da.DeviceCode, publicID, "", "code_verifier", v); st != 400 || body["error"] != "invalid_grant" {
			t.Errorf("verifier %q: %d %v; want invalid_grant", v, st, body)
		}
	}
	if _, err := cfg.DeviceAccessToken(e.ctx(), &oauth2.DeviceAuthResponse{DeviceCode: da.DeviceCode, Interval: 5}, oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("poll with the verifier: %v", err)
	}
}

func TestDeviceUserCodeEntry(t *testing.T) {
	e := newEnv(t)
	da := e.deviceAuth(e.deviceConfig())
	b := e.browser()
	// Typed differently: lower case, no dash, spaces.
	typed := " " + strings.ToLower(da.UserCode[:4]) + " " + strings.ToLower(da.UserCode[5:]) + " "
	if p := b.enterCode(e.issuer+"/device", typed); !strings.Contains(p.body, `id="confirm"`) {
		t.Errorf("a code typed in lower case with spaces was not accepted: %d %s", p.status, p.body)
	}
	// Posted from another site (no binding cookie): refused.
	p := e.browser().post(e.issuer+"/device/auth/verify_code", url.Values{"user_code": {da.UserCode}})
	if p.status != http.StatusForbidden {
		t.Errorf("verify_code without the page's cookie: %d", p.status)
	}
	// Wrong codes are throttled per address: ten are free, then each costs
	// a delay during which even the right code waits.
	for i := range 10 {
		if p := b.enterCode(e.issuer+"/device", "BCDF-GHJ"+string("KLMNPQRSTV"[i])); p.status != http.StatusBadRequest || !strings.Contains(p.body, "not valid") {
			t.Fatalf("wrong code %d: %d %s", i, p.status, p.body)
		}
	}
	if p := b.enterCode(e.issuer+"/device", da.UserCode); p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Errorf("after 10 wrong codes: %d (Retry-After %q); want 429", p.status, p.header.Get("Retry-After"))
	}
	e.clock.Add(2 * time.Second)
	if p := b.enterCode(e.issuer+"/device", da.UserCode); !strings.Contains(p.body, `id="confirm"`) {
		t.Errorf("after the delay the right code was refused: %d %s", p.status, p.body)
	}
	if p := b.enterCode(e.issuer+"/device", "not a code!"); p.status != http.StatusTooManyRequests && p.status != http.StatusBadRequest {
		t.Errorf("garbage code: %d", p.status)
	}
}

func TestDeviceFlowDisabled(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.GrantTypes = []string{"authorization_code", "refresh_token"} })
	var meta struct {
		Device string `json:"device_authorization_endpoint"`
	}
	e.provider().Claims(&meta)
	if meta.Device != "" {
		t.Errorf("discovery still has device_authorization_endpoint %q", meta.Device)
	}
	cfg := &oauth2.Config{ClientID: publicID, Endpoint: oauth2.Endpoint{DeviceAuthURL: e.issuer + "/device/code", TokenURL: e.issuer + "/token"}, Scopes: []string{"openid"}}
	if _, err := cfg.DeviceAuth(e.ctx()); retrieveCode(err) != "unauthorized_client" {
		t.Errorf("/device/code when disabled: %v", err)
	}
	if st, body := e.devicePoll("x", publicID, ""); st != 400 || body["error"] != "unsupported_grant_type" {
		t.Errorf("device poll when disabled: %d %v", st, body)
	}
}
