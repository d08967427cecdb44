package server_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/torii-idp/torii/server"
)

// MediaWiki registers a callback with non-ASCII characters, sends it
// percent-encoded at /auth and encodes it once more at /token (Dex #2766).
func TestNonASCIIRedirectURIEncodings(t *testing.T) {
	const raw = "https://wiki.example/wiki/特別:OpenIDConnectCallback"
	encoded := "https://wiki.example/wiki/%E7%89%B9%E5%88%A5:OpenIDConnectCallback"
	double := strings.ReplaceAll(encoded, "%", "%25")
	for _, tc := range []struct{ name, registered, atAuth, atToken string }{
		{"raw registered, encoded at auth, double at token", raw, encoded, double},
		{"encoded registered, raw everywhere", encoded, raw, raw},
		{"raw registered, raw at auth, encoded at token", raw, raw, encoded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *server.Config) {
				c.Clients = append(c.Clients, server.Client{ID: "wiki", Secret: "wiki-secret", RedirectURIs: []string{tc.registered}})
			})
			q := url.Values{"client_id": {"wiki"}, "redirect_uri": {tc.atAuth}, "response_type": {"code"}, "scope": {"openid email"}, "state": {"s"}}
			b := e.browser()
			p := b.follow("/dex/auth?" + q.Encode())
			p = b.submitLogin(p, "jane@example.com", "correct horse")
			if !strings.HasPrefix(p.location, "https://wiki.example/wiki/%E7%89%B9%E5%88%A5:OpenIDConnectCallback?") {
				t.Errorf("Location %q is not the ASCII form of the callback", p.location)
			}
			cb, err := url.Parse(p.location)
			if err != nil || cb.Query().Get("code") == "" {
				t.Fatalf("no code: %d %q %s", p.status, p.location, p.body)
			}
			st, body, _ := e.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")}, "redirect_uri": {tc.atToken}}, "wiki", "wiki-secret")
			if st != 200 {
				t.Fatalf("token: %d %v", st, body)
			}
		})
	}
	t.Run("an encoded slash is another URI", func(t *testing.T) {
		e := newEnv(t, func(c *server.Config) {
			c.Clients = append(c.Clients, server.Client{ID: "wiki", Secret: "wiki-secret", RedirectURIs: []string{"https://wiki.example/a/b"}})
		})
		q := url.Values{"client_id": {"wiki"}, "redirect_uri": {"https://wiki.example/a%2Fb"}, "response_type": {"code"}, "scope": {"openid"}}
		if p := e.browser().get("/dex/auth?" + q.Encode()); p.status != 400 || p.location != "" {
			t.Errorf("%d %q", p.status, p.location)
		}
	})
}
