package dextest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestIntrospectionMatchesDex logs alice in at the real Dex and at the real
// torii on the same config (each with its own database), introspects an
// access token and a refresh token at each, and compares the answers:
// the same fields (torii adds only RFC 7662's scope), the same ext fields,
// and the same values where they do not depend on the moment.
func TestIntrospectionMatchesDex(t *testing.T) {
	bins := buildPrograms(t)
	dir := t.TempDir()
	// An absolute lifetime, so both give a refresh token an exp (Dex
	// always sends one; torii only when the family can expire).
	extra := map[string]any{"expiry": map[string]any{"refreshTokens": map[string]any{
		"reuseInterval": reuseWindow.String(), "absoluteLifetime": "720h"}}}
	answers := map[string]map[string]map[string]any{}
	for _, who := range []string{"dex", "torii"} {
		addr := freeAddr(t)
		issuer := "http://" + addr + "/dex"
		store := map[string]any{"type": "sqlite3", "config": map[string]any{"file": filepath.Join(dir, who+".db")}}
		cfg := writeConfig(t, filepath.Join(dir, who+".yaml"), issuer, addr, store, extra)
		bin := bins.dex
		if who == "torii" {
			bin = bins.torii
		}
		p := start(t, dir, who, bin, "serve", cfg)
		prov := waitProvider(t, issuer)
		oc := &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: "http://127.0.0.1:5555/callback",
			Endpoint: prov.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "groups", "profile", oidc.ScopeOfflineAccess}}
		tok, err := oc.Exchange(t.Context(), login(t, oc, aliceEmail, alicePass, "n-"+who))
		if err != nil {
			t.Fatalf("%s: token exchange: %v", who, err)
		}
		answers[who] = map[string]map[string]any{
			"access":  introspect(t, issuer, tok.AccessToken),
			"refresh": introspect(t, issuer, tok.RefreshToken),
			"unknown": introspect(t, issuer, "not-a-token"),
		}
		p.stop(t)
	}
	for _, kind := range []string{"access", "refresh", "unknown"} {
		d, g := answers["dex"][kind], answers["torii"][kind]
		t.Logf("%s token\n  Dex:   %v\n  torii: %v", kind, d, g)
		dk, gk := keys(d), keys(g)
		gk = slices.DeleteFunc(gk, func(k string) bool { return k == "scope" && d["scope"] == nil })
		if !slices.Equal(dk, gk) {
			t.Errorf("%s token: fields\n  Dex:   %v\n  torii: %v", kind, dk, keys(g))
		}
		if kind == "unknown" {
			continue
		}
		dext, _ := d["ext"].(map[string]any)
		gext, _ := g["ext"].(map[string]any)
		if !slices.Equal(keys(dext), keys(gext)) {
			t.Errorf("%s token: ext fields\n  Dex:   %v\n  torii: %v", kind, keys(dext), keys(gext))
		}
		for _, k := range []string{"active", "client_id", "sub", "aud", "token_type", "token_use", "username"} {
			if !sameJSON(d[k], g[k]) {
				t.Errorf("%s token: %s: Dex %v, torii %v", kind, k, d[k], g[k])
			}
		}
		for k := range dext {
			if !sameJSON(dext[k], gext[k]) {
				t.Errorf("%s token: ext.%s: Dex %v, torii %v", kind, k, dext[k], gext[k])
			}
		}
	}
}

// introspect posts one token to /token/introspect with client_secret_basic
// (torii requires it; Dex ignores it).
func introspect(t *testing.T, issuer, tok string) map[string]any {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, issuer+"/token/introspect",
		strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspect at %s: status %d", issuer, resp.StatusCode)
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
