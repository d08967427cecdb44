package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/torii-idp/torii/internal/secret"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
)

// fakeClients is a unit-test ClientSource whose contents change under a
// running server.
type fakeClients struct {
	mu      sync.Mutex
	clients map[string]server.Client
	err     error
}

func (f *fakeClients) Client(ctx context.Context, id string) (server.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return server.Client{}, f.err
	}
	c, ok := f.clients[id]
	if !ok {
		return server.Client{}, storage.ErrNotFound
	}
	return c, nil
}

func (f *fakeClients) set(c server.Client) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients[c.ID] = c
}

func (f *fakeClients) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.clients, id)
}

func TestDynamicClients(t *testing.T) {
	dyn := &fakeClients{clients: map[string]server.Client{}}
	e := newEnv(t, func(c *server.Config) { c.DynamicClients = dyn })
	const redirect = "https://dyn.example/cb"
	sec := secret.Generate()
	cfg := &oauth2.Config{ClientID: "dyn", ClientSecret: sec, RedirectURL: redirect,
		Endpoint: e.provider().Endpoint(), Scopes: []string{"openid"}}

	// Unknown until the source has it: no restart, no cache.
	if p := e.browser().get(cfg.AuthCodeURL("st")); p.status != http.StatusBadRequest {
		t.Fatalf("unknown client: status %d, want 400", p.status)
	}
	dyn.set(server.Client{ID: "dyn", SecretHash: secret.HashGenerated(sec), RedirectURIs: []string{redirect},
		TrustedPeers: []string{confidentialID}})
	u := e.browser().loginCode(cfg.AuthCodeURL("st"), "jane@example.com", "correct horse")
	tok, err := cfg.Exchange(e.ctx(), u.Query().Get("code"))
	if err != nil {
		t.Fatalf("code exchange with the hashed secret: %v", err)
	}
	if _, err := e.verifier("dyn").Verify(e.ctx(), tok.Extra("id_token").(string)); err != nil {
		t.Fatalf("id token: %v", err)
	}

	// The wrong secret, and the hash itself, are refused.
	for _, bad := range []string{sec + "x", string(secret.HashGenerated(sec))} {
		status, body, _ := e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {"jane@example.com"},
			"password": {"correct horse"}, "scope": {"openid"}}, "dyn", bad)
		if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Errorf("secret %q: %d %v, want 401 invalid_client", bad, status, body)
		}
	}

	// A static client may name the dynamic one as a trusting peer.
	status, body, _ := e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {"jane@example.com"},
		"password": {"correct horse"}, "scope": {"openid audience:server:client_id:dyn"}}, confidentialID, confidentialSecret)
	if status != http.StatusOK {
		t.Errorf("cross-client scope for a dynamic peer: %d %v", status, body)
	}

	// Deleted: refused at once.
	dyn.remove("dyn")
	status, body, _ = e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {"jane@example.com"},
		"password": {"correct horse"}}, "dyn", sec)
	if status != http.StatusUnauthorized {
		t.Errorf("deleted client: %d %v, want 401", status, body)
	}

	// A failing source is a 503, not "unknown client".
	dyn.mu.Lock()
	dyn.err = errors.Join(storage.ErrUnavailable, errors.New("database down"))
	dyn.mu.Unlock()
	status, body, _ = e.tokenRequest(url.Values{"grant_type": {"password"}}, "dyn", sec)
	if status != http.StatusServiceUnavailable {
		t.Errorf("source down at /token: %d %v, want 503", status, body)
	}
	if p := e.browser().get(cfg.AuthCodeURL("st")); p.status != http.StatusServiceUnavailable {
		t.Errorf("source down at /auth: %d, want 503", p.status)
	}
	// Static clients do not depend on the source.
	status, _, _ = e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {"jane@example.com"},
		"password": {"correct horse"}, "scope": {"openid"}}, confidentialID, confidentialSecret)
	if status != http.StatusOK {
		t.Errorf("static client while the source is down: %d", status)
	}
}

func TestStoredClients(t *testing.T) {
	e := newEnv(t)
	const redirect = "https://stored.example/cb"
	sec := secret.Generate()
	if err := e.store.CreateClient(context.Background(), storage.Client{ID: "stored", SecretHash: secret.HashGenerated(sec),
		RedirectURIs: []string{redirect}, Name: "Stored"}); err != nil {
		t.Fatal(err)
	}
	cfg := &oauth2.Config{ClientID: "stored", ClientSecret: sec, RedirectURL: redirect,
		Endpoint: e.provider().Endpoint(), Scopes: []string{"openid"}}
	u := e.browser().loginCode(cfg.AuthCodeURL("st"), "jane@example.com", "correct horse")
	if _, err := cfg.Exchange(e.ctx(), u.Query().Get("code")); err != nil {
		t.Fatalf("code flow with a client from storage: %v", err)
	}
	// A stored client cannot shadow a static one.
	if err := e.store.CreateClient(context.Background(), storage.Client{ID: confidentialID, SecretHash: secret.HashGenerated(sec)}); err != nil {
		t.Fatal(err)
	}
	status, _, _ := e.tokenRequest(url.Values{"grant_type": {"password"}, "username": {"jane@example.com"},
		"password": {"correct horse"}}, confidentialID, sec)
	if status != http.StatusUnauthorized {
		t.Errorf("stored secret for a static client's id: %d, want 401", status)
	}
}
