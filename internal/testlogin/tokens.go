package testlogin

import (
	"errors"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Claims are the ID token claims the switch from Dex must keep.
type Claims struct {
	Subject string   `json:"sub"`
	Email   string   `json:"email"`
	Groups  []string `json:"groups"`
	Nonce   string   `json:"nonce"`
}

// VerifyClaims verifies raw with v and returns its claims.
func VerifyClaims(t testing.TB, v *oidc.IDTokenVerifier, raw string) Claims {
	t.Helper()
	tok, err := v.Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var c Claims
	if err := tok.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// IDToken is the id_token of a token response (fatal without one).
func IDToken(t testing.TB, tok *oauth2.Token) string {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("no id_token in the token response")
	}
	return raw
}

// Refresh redeems the refresh token rt at oc's token endpoint.
func Refresh(t testing.TB, oc *oauth2.Config, rt string) *oauth2.Token {
	t.Helper()
	tok, err := oc.TokenSource(t.Context(), &oauth2.Token{RefreshToken: rt}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	return tok
}

// RefreshFails asserts that rt is refused with invalid_grant.
func RefreshFails(t testing.TB, oc *oauth2.Config, rt, what string) {
	t.Helper()
	_, err := oc.TokenSource(t.Context(), &oauth2.Token{RefreshToken: rt}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("%s: want invalid_grant, got %v", what, err)
	}
}
