package dextest

import (
	"testing"

	"golang.org/x/oauth2"

	"github.com/torii-idp/torii/internal/testlogin"
)

// login drives the issuer's login pages (internal/testlogin, shared with
// test/kubernetes) and returns the authorization code.
func login(t *testing.T, cfg *oauth2.Config, email, password, nonce string) string {
	t.Helper()
	return testlogin.Login(t, cfg, email, password, nonce)
}
