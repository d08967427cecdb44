package interop

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// backendLogoutExtra is what docs/sessions.md tells Kubeflow users to add
// to oauth2-proxy once torii keeps sessions: oauth2-proxy's sign-out then
// calls torii from the server with the session's ID token, and torii ends
// the browser session the token's sid names.
const backendLogoutExtra = `backend_logout_url = "{{ISSUER}}/logout?id_token_hint={id_token}"
`

// testSessionsLogout runs Kubeflow's oauth2-proxy against a torii with a
// sessions block: the login works (the client's promptNoneWithoutSession:
// showLogin answers oauth2-proxy's prompt=none with the login page), and
// with backend_logout_url set, /oauth2/sign_out makes the next visit show
// the login page again. Without backend_logout_url the same sign-out is
// followed by a silent sign-in: that is why the setting is needed.
func (s *suite) testSessionsLogout(t *testing.T) {
	t.Run("sessions", func(t *testing.T) {
		c, dir := s.staticConfig(t, "sessions")
		c.Sessions = &sessionsConfig{}
		for i := range c.StaticClients {
			if c.StaticClients[i].ID == proxyClientID {
				c.StaticClients[i].PromptNoneWithoutSession = "showLogin"
			}
		}
		tp := s.startTorii(t, "sessions", c, dir)
		base := source{Name: "sessions", Torii: tp, ConnectorID: "local", Who: staticJane()}
		withLogout, plain := base, base
		withLogout.ProxyExtra = strings.ReplaceAll(backendLogoutExtra, "{{ISSUER}}", tp.Issuer)
		withLogout.ProxyName = "-backend-logout"
		var err error
		if withLogout.Gateway, err = s.startGateway(t, &withLogout); err != nil {
			t.Fatal(err)
		}
		if plain.Gateway, err = s.startGateway(t, &plain); err != nil {
			t.Fatal(err)
		}
		s.scenario(t, "oauth2-proxy-browser-login", func(t *testing.T) {
			b := newBrowser(s.ca)
			p, err := b.login(plain.Gateway.URL+"/oauth2/start?rd=/", "local", base.Who)
			if err != nil {
				t.Fatalf("login through the gateway: %v\n--- torii log:\n%s", err, tail(tp.LogFile, 20))
			}
			auth, err := b.get(plain.Gateway.URL + "/oauth2/auth")
			if err != nil {
				t.Fatal(err)
			}
			if p.URL.Path != "/" {
				t.Errorf("after login the browser is at %s", p.URL)
			}
			wantAuthHeaders(t, auth, base.Who)
		})
		s.scenario(t, "chromium-sign-out-shows-login", func(t *testing.T) {
			ctx, done := s.newChromium(t, chromiumPathOrFail(t))
			defer done()
			s.chromiumLogin(t, ctx, withLogout.Gateway, &withLogout)
			if !s.chromiumSignOut(t, ctx, withLogout.Gateway, &withLogout) {
				t.Errorf("after /oauth2/sign_out with backend_logout_url, /oauth2/start signed the browser in again without the login page\n--- oauth2-proxy log:\n%s\n--- torii log:\n%s",
					tail(withLogout.Gateway.ProxyLog, 10), tail(tp.LogFile, 20))
			}
		})
		s.scenario(t, "chromium-sign-out-without-backend-logout", func(t *testing.T) {
			ctx, done := s.newChromium(t, chromiumPathOrFail(t))
			defer done()
			s.chromiumLogin(t, ctx, plain.Gateway, &plain)
			if s.chromiumSignOut(t, ctx, plain.Gateway, &plain) {
				t.Errorf("without backend_logout_url the torii session should outlive oauth2-proxy's sign-out (silent sign-in); the login page came instead")
			}
		})
	})
}

// chromiumSignOut signs out at oauth2-proxy, opens /oauth2/start again and
// reports whether torii's login page appears (true) or the browser is
// signed straight back in to the app (false).
func (s *suite) chromiumSignOut(t *testing.T, ctx context.Context, gw *gateway, src *source) bool {
	t.Helper()
	shot := s.screenshot(t, src)
	var loginPage bool
	err := chromedp.Run(ctx,
		chromedp.Navigate(gw.URL+"/oauth2/sign_out"),
		chromedp.WaitReady(`body`),
		chromedp.Navigate(gw.URL+"/oauth2/start?rd=/"),
		chromedp.ActionFunc(func(ctx context.Context) error {
			for {
				var loc string
				var hasForm bool
				if err := chromedp.Location(&loc).Do(ctx); err != nil {
					return err
				}
				if err := chromedp.Evaluate(`document.querySelector('form input[name="password"]') !== null`, &hasForm).Do(ctx); err != nil {
					return err
				}
				switch {
				case hasForm && strings.HasPrefix(loc, gw.URL+"/dex/"):
					loginPage = true
					return nil
				case strings.TrimSuffix(loc, "/") == gw.URL:
					return nil
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
			}
		}),
		shot("after-sign-out"),
	)
	if err != nil {
		t.Fatalf("chromium, after sign-out: %v\n--- oauth2-proxy log:\n%s", err, tail(gw.ProxyLog, 10))
	}
	return loginPage
}
