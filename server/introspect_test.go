package server_test

import (
	"net/url"
	"reflect"
	"testing"
	"time"
)

func (e *env) introspect(tok, hint string) (int, map[string]any) {
	form := url.Values{"token": {tok}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	return e.postClient("/token/introspect", form, kubeflowID, "kf-secret")
}

func wantInactive(t *testing.T, st int, body map[string]any) {
	t.Helper()
	if st != 200 || !reflect.DeepEqual(body, map[string]any{"active": false}) {
		t.Errorf("got %d %v, want 200 {\"active\":false} and nothing else", st, body)
	}
}

func TestIntrospectActiveTokens(t *testing.T) {
	e := newEnv(t)
	tok := e.passwordTokens("openid email profile groups offline_access")
	for _, tc := range []struct{ name, tok, hint, use string }{
		{"access", tok["access_token"].(string), "", "access_token"},
		{"access wrong hint", tok["access_token"].(string), "refresh_token", "access_token"},
		{"refresh", tok["refresh_token"].(string), "refresh_token", "refresh_token"},
		{"refresh no hint", tok["refresh_token"].(string), "", "refresh_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := e.introspect(tc.tok, tc.hint)
			if st != 200 || body["active"] != true {
				t.Fatalf("got %d %v", st, body)
			}
			for k, want := range map[string]any{
				"client_id": confidentialID, "aud": confidentialID, "iss": e.issuer,
				"token_type": "Bearer", "token_use": tc.use,
				"scope": "openid email profile groups offline_access",
			} {
				if body[k] != want {
					t.Errorf("%s = %v, want %v", k, body[k], want)
				}
			}
			for _, k := range []string{"sub", "iat", "nbf", "username"} {
				if body[k] == nil || body[k] == "" {
					t.Errorf("%s missing: %v", k, body)
				}
			}
			ext, _ := body["ext"].(map[string]any)
			if ext["email"] != "jane@example.com" || ext["email_verified"] == nil || ext["groups"] == nil || ext["name"] == nil {
				t.Errorf("ext = %v", ext)
			}
		})
	}
	_, at := e.introspect(tok["access_token"].(string), "")
	if at["exp"] == nil {
		t.Errorf("access token introspection has no exp: %v", at)
	}
	if st, _ := e.userinfo(tok["access_token"].(string)); st != 200 {
		t.Errorf("introspection changed the token: userinfo %d", st)
	}
}

func TestIntrospectInactive(t *testing.T) {
	e := newEnv(t)
	other := newEnv(t) // another issuer with keys torii never had
	foreign := other.passwordTokens("openid")["access_token"].(string)

	t.Run("unknown", func(t *testing.T) {
		st, body := e.introspect("never-issued", "")
		wantInactive(t, st, body)
		st, body = e.introspect("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "access_token")
		wantInactive(t, st, body)
	})
	t.Run("foreign key and other issuer", func(t *testing.T) {
		st, body := e.introspect(foreign, "")
		wantInactive(t, st, body)
	})
	t.Run("revoked", func(t *testing.T) {
		tok := e.passwordTokens("openid offline_access")
		if st, _ := e.revoke(tok["refresh_token"].(string), "", confidentialID, confidentialSecret); st != 200 {
			t.Fatal("revoke failed")
		}
		st, body := e.introspect(tok["access_token"].(string), "")
		wantInactive(t, st, body)
		st, body = e.introspect(tok["refresh_token"].(string), "")
		wantInactive(t, st, body)
	})
	t.Run("family revoked by replay", func(t *testing.T) {
		tok := e.passwordTokens("openid offline_access")
		old := tok["refresh_token"].(string)
		if st, _ := e.refresh(old); st != 200 {
			t.Fatal("refresh failed")
		}
		e.clock.Add(time.Minute) // past the reuse interval
		if st, _ := e.refresh(old); st != 400 {
			t.Fatal("replay was not refused")
		}
		st, body := e.introspect(tok["access_token"].(string), "")
		wantInactive(t, st, body)
		st, body = e.introspect(old, "refresh_token")
		wantInactive(t, st, body)
	})
	t.Run("rotated", func(t *testing.T) {
		tok := e.passwordTokens("openid offline_access")
		if st, _ := e.refresh(tok["refresh_token"].(string)); st != 200 {
			t.Fatal("refresh failed")
		}
		e.clock.Add(time.Minute)
		st, body := e.introspect(tok["refresh_token"].(string), "")
		wantInactive(t, st, body)
	})
	t.Run("expired", func(t *testing.T) {
		tok := e.passwordTokens("openid")
		e.clock.Add(25 * time.Hour)
		st, body := e.introspect(tok["access_token"].(string), "")
		wantInactive(t, st, body)
	})
}

func TestIntrospectRequiresClientAuthentication(t *testing.T) {
	e := newEnv(t)
	tok := e.passwordTokens("openid")["access_token"].(string)
	for _, tc := range []struct {
		name, id, secret string
		form             url.Values
		status           int
		code             string
	}{
		{"anonymous", "", "", url.Values{"token": {tok}}, 401, "invalid_client"},
		{"bad secret", kubeflowID, "wrong", url.Values{"token": {tok}}, 401, "invalid_client"},
		{"no token", kubeflowID, "kf-secret", url.Values{}, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := e.postClient("/token/introspect", tc.form, tc.id, tc.secret)
			if st != tc.status || body["error"] != tc.code || body["active"] != nil {
				t.Errorf("got %d %v, want %d %s", st, body, tc.status, tc.code)
			}
		})
	}
	var d struct {
		Introspection string `json:"introspection_endpoint"`
	}
	if err := e.provider().Claims(&d); err != nil || d.Introspection != e.issuer+"/token/introspect" {
		t.Errorf("introspection_endpoint = %q (%v)", d.Introspection, err)
	}
}
