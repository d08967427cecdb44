package server_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/torii-idp/torii/server"
	"golang.org/x/oauth2/clientcredentials"
)

func withClientCredentials(c *server.Config) {
	c.GrantTypes = []string{"authorization_code", "refresh_token", "client_credentials"}
	c.Clients[0].ClientCredentialsGroups = []string{"robots", "deployers"}
}

func TestClientCredentialsGrant(t *testing.T) {
	e := newEnv(t, withClientCredentials)
	cc := clientcredentials.Config{ClientID: confidentialID, ClientSecret: confidentialSecret,
		TokenURL: e.issuer + "/token", Scopes: []string{"openid", "groups", "profile"}}
	tok, err := cc.Token(e.ctx())
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	if tok.RefreshToken != "" {
		t.Error("a refresh token was issued")
	}
	idt, err := e.verifier(confidentialID).Verify(e.ctx(), tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	var claims struct {
		Groups []string `json:"groups"`
		Name   string   `json:"name"`
	}
	idt.Claims(&claims)
	// Dex master: sub is the protobuf of {user_id: client_id, connector_id: ""}
	// (proto3 leaves the empty field out): 0x0a 0x07 "web-app".
	if idt.Subject != "Cgd3ZWItYXBw" || !slices.Equal(claims.Groups, []string{"robots", "deployers"}) || claims.Name != "Web App" {
		t.Errorf("sub %q claims %+v", idt.Subject, claims)
	}
	if st, ui := e.userinfo(tok.AccessToken); st != 200 || ui["sub"] != idt.Subject {
		t.Errorf("userinfo: %d %v", st, ui)
	}
	if st, body := e.introspect(tok.AccessToken, ""); st != 200 || body["active"] != true || body["client_id"] != confidentialID {
		t.Errorf("introspect: %d %v", st, body)
	}
	// Revoking the access token ends it.
	if st, _ := e.revoke(tok.AccessToken, "", confidentialID, confidentialSecret); st != 200 {
		t.Fatal("revoke failed")
	}
	if st, _ := e.userinfo(tok.AccessToken); st != 401 {
		t.Errorf("userinfo after revocation: %d, want 401", st)
	}
}

func TestClientCredentialsRejections(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []envOption
		id, sec string
		form    url.Values
		status  int
		code    string
	}{
		{"not enabled", nil, confidentialID, confidentialSecret, url.Values{}, 400, "unsupported_grant_type"},
		{"offline_access", []envOption{withClientCredentials}, confidentialID, confidentialSecret, url.Values{"scope": {"openid offline_access"}}, 400, "invalid_scope"},
		{"unknown scope", []envOption{withClientCredentials}, confidentialID, confidentialSecret, url.Values{"scope": {"openid audience:server:client_id:x"}}, 400, "invalid_scope"},
		{"public client", []envOption{withClientCredentials}, "", "", url.Values{"client_id": {publicID}}, 400, "unauthorized_client"},
		{"bad secret", []envOption{withClientCredentials}, confidentialID, "wrong", url.Values{}, 401, "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			tc.form.Set("grant_type", "client_credentials")
			st, body, _ := e.tokenRequest(tc.form, tc.id, tc.sec)
			if st != tc.status || body["error"] != tc.code {
				t.Errorf("got %d %v, want %d %s", st, body, tc.status, tc.code)
			}
		})
	}
}
