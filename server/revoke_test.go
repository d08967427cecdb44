package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server"
	"golang.org/x/oauth2"
)

// postClient posts a form to an endpoint under the issuer, with basic auth
// when secret is set and client_id in the form otherwise.
func (e *env) postClient(path string, form url.Values, id, secret string) (int, map[string]any) {
	e.t.Helper()
	if secret == "" && id != "" {
		form.Set("client_id", id)
	}
	req, _ := http.NewRequest(http.MethodPost, e.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	m := map[string]any{}
	if err := decodeJSON(resp, &m); err != nil && resp.StatusCode != 200 {
		e.t.Fatalf("%s: %d, undecodable body: %v", path, resp.StatusCode, err)
	}
	return resp.StatusCode, m
}

func (e *env) revoke(tok, hint, id, secret string) (int, map[string]any) {
	form := url.Values{"token": {tok}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	return e.postClient("/token/revoke", form, id, secret)
}

func TestRevokeRefreshTokenRevokesFamilyOnly(t *testing.T) {
	e := newEnv(t)
	laptop := e.passwordTokens("openid email offline_access")
	other := e.passwordTokens("openid email offline_access")

	if st, body := e.revoke(laptop["refresh_token"].(string), "refresh_token", confidentialID, confidentialSecret); st != 200 {
		t.Fatalf("revoke: %d %v", st, body)
	}
	if st, body := e.refresh(laptop["refresh_token"].(string)); st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refresh after revocation: %d %v, want invalid_grant", st, body)
	}
	if st, _ := e.userinfo(laptop["access_token"].(string)); st != 401 {
		t.Errorf("userinfo with the revoked family's access token: %d, want 401", st)
	}
	// The other login of the same person is untouched.
	if st, _ := e.userinfo(other["access_token"].(string)); st != 200 {
		t.Errorf("userinfo of the other family: %d, want 200", st)
	}
	if st, body := e.refresh(other["refresh_token"].(string)); st != 200 {
		t.Errorf("refresh of the other family: %d %v", st, body)
	}
	// Revoking again is still 200.
	if st, _ := e.revoke(laptop["refresh_token"].(string), "", confidentialID, confidentialSecret); st != 200 {
		t.Errorf("second revocation: %d, want 200", st)
	}
}

func TestRevokeAccessTokenRevokesItsGrant(t *testing.T) {
	e := newEnv(t)
	tok := e.passwordTokens("openid email offline_access")
	// A wrong hint is only an ordering.
	if st, body := e.revoke(tok["access_token"].(string), "refresh_token", confidentialID, confidentialSecret); st != 200 {
		t.Fatalf("revoke: %d %v", st, body)
	}
	if st, _ := e.userinfo(tok["access_token"].(string)); st != 401 {
		t.Errorf("userinfo after revoking the access token: %d, want 401", st)
	}
	if st, body := e.refresh(tok["refresh_token"].(string)); st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refresh after revoking the access token: %d %v, want invalid_grant", st, body)
	}
}

func TestRevokeForeignAndUnknownTokensChangeNothing(t *testing.T) {
	e := newEnv(t)
	tok := e.passwordTokens("openid email offline_access")
	for name, raw := range map[string]string{
		"foreign refresh": tok["refresh_token"].(string),
		"foreign access":  tok["access_token"].(string),
		"unknown opaque":  "not-a-token-torii-issued",
		"unknown jwt":     "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
	} {
		t.Run(name, func(t *testing.T) {
			if st, body := e.revoke(raw, "", kubeflowID, "kf-secret"); st != 200 {
				t.Errorf("revoke: %d %v, want 200", st, body)
			}
		})
	}
	if st, _ := e.userinfo(tok["access_token"].(string)); st != 200 {
		t.Errorf("userinfo after another client's revocation attempt: %d, want 200", st)
	}
	if st, body := e.refresh(tok["refresh_token"].(string)); st != 200 {
		t.Errorf("refresh after another client's revocation attempt: %d %v", st, body)
	}
}

func TestRevokeRejections(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, id, secret string
		form             url.Values
		status           int
		code             string
	}{
		{"no token", confidentialID, confidentialSecret, url.Values{}, 400, "invalid_request"},
		{"no client", "", "", url.Values{"token": {"x"}}, 401, "invalid_client"},
		{"bad secret", confidentialID, "wrong", url.Values{"token": {"x"}}, 401, "invalid_client"},
		{"confidential without secret", confidentialID, "", url.Values{"token": {"x"}}, 401, "invalid_client"},
		{"unknown client", "nobody", "x", url.Values{"token": {"x"}}, 401, "invalid_client"},
		{"token twice", confidentialID, confidentialSecret, url.Values{"token": {"x", "y"}}, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := e.postClient("/token/revoke", tc.form, tc.id, tc.secret)
			if st != tc.status || body["error"] != tc.code {
				t.Errorf("got %d %v, want %d %s", st, body, tc.status, tc.code)
			}
		})
	}
	resp, err := e.srv.Client().Get(e.issuer + "/token/revoke")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /token/revoke: %d, want 405", resp.StatusCode)
	}
}

func TestRevokePublicClientSendsClientID(t *testing.T) {
	e := newEnv(t)
	cfg := e.oauth2Config("openid", "offline_access")
	cfg.ClientID, cfg.ClientSecret, cfg.RedirectURL = publicID, "", "http://127.0.0.1:41234/cb"
	verifier := oauth2.GenerateVerifier()
	u := e.browser().loginCode(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), "jane@example.com", "correct horse")
	ot, err := cfg.Exchange(e.ctx(), u.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange for the public client: %v", err)
	}
	tok := map[string]any{"access_token": ot.AccessToken, "refresh_token": ot.RefreshToken}
	if st, body := e.revoke(tok["refresh_token"].(string), "", publicID, ""); st != 200 {
		t.Fatalf("revoke: %d %v", st, body)
	}
	if st, _ := e.userinfo(tok["access_token"].(string)); st != 401 {
		t.Errorf("userinfo after revocation: %d, want 401", st)
	}
}

func TestDiscoveryListsRevocationEndpoint(t *testing.T) {
	e := newEnv(t)
	var d struct {
		Revocation string `json:"revocation_endpoint"`
	}
	if err := e.provider().Claims(&d); err != nil {
		t.Fatal(err)
	}
	if d.Revocation != e.issuer+"/token/revoke" {
		t.Errorf("revocation_endpoint = %q", d.Revocation)
	}
}

func decodeJSON(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }

func TestRevocationAndIntrospectionAreAudited(t *testing.T) {
	out := &syncBuffer{}
	e := newEnv(t, func(c *server.Config) { c.Audit = audit.New(out, nil) })
	tok := e.passwordTokens("openid email offline_access")
	rt := tok["refresh_token"].(string)
	if st, body := e.postClient("/token/introspect", url.Values{"token": {rt}}, confidentialID, confidentialSecret); st != 200 || body["active"] != true {
		t.Fatalf("introspect: %d %v", st, body)
	}
	if st, body := e.revoke(rt, "", confidentialID, confidentialSecret); st != 200 {
		t.Fatalf("revoke: %d %v", st, body)
	}
	if st, body := e.postClient("/token/introspect", url.Values{"token": {rt}}, confidentialID, confidentialSecret); st != 200 || body["active"] != false {
		t.Fatalf("introspect after revocation: %d %v", st, body)
	}
	var got []string
	for _, r := range out.records(t) {
		switch r["event"] {
		case "introspection", "token_revoked":
			if r["client_id"] != confidentialID {
				t.Errorf("%v: client_id = %v, want %s", r["event"], r["client_id"], confidentialID)
			}
			if strings.Contains(fmt.Sprint(r), rt) {
				t.Errorf("%v: the audit record carries the token", r["event"])
			}
			got = append(got, fmt.Sprintf("%v/%v", r["event"], r["detail"]))
		}
	}
	want := []string{"introspection/active", "token_revoked/refresh token", "introspection/inactive"}
	if !slices.Equal(got, want) {
		t.Errorf("audit events = %v, want %v", got, want)
	}
}
