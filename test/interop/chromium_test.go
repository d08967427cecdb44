package interop

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium package.
const chromiumPath = "/usr/bin/chromium"

// torii's login form, as Chromium finds it.
const (
	loginSel    = `form input[name="login"]`
	passwordSel = `form input[name="password"]`
	submitSel   = `form button[type="submit"], form input[type="submit"]`
)

func (s *suite) testChromium(t *testing.T, sources []*source) {
	t.Run("chromium", func(t *testing.T) {
		s.forEachSource(t, sources, func(t *testing.T, src *source) {
			s.scenario(t, "oauth2-proxy-login", func(t *testing.T) {
				path := chromiumPathOrFail(t)
				gw := s.gatewayFor(t, src)
				ctx, done := s.newChromium(t, path)
				defer done()
				s.chromiumLogin(t, ctx, gw, src)
			})
		})
	})
}

// chromiumLogin opens Kubeflow's entry point (oauth2-proxy behind the
// gateway) in headless Chromium, fails a login with a wrong password, logs
// in and checks the browser lands back on the app with a session.
// Screenshots of torii's login page and of the failed login go to
// artifacts/.
func (s *suite) chromiumLogin(t *testing.T, ctx context.Context, gw *gateway, src *source) {
	t.Helper()
	shot := s.screenshot(t, src)
	var loginURL, failedURL, alert string
	err := chromedp.Run(ctx,
		chromedp.Navigate(gw.URL+"/oauth2/start?rd=/"),
		chromedp.WaitVisible(passwordSel),
		chromedp.Location(&loginURL),
		shot("login-page"),
		chromedp.SendKeys(loginSel, src.Who.Login),
		chromedp.SendKeys(passwordSel, "not-"+src.Who.Password),
		chromedp.Click(submitSel),
		chromedp.WaitVisible(`[role="alert"], .error`),
		chromedp.WaitVisible(passwordSel),
		chromedp.Location(&failedURL),
		chromedp.Text(`[role="alert"], .error`, &alert, chromedp.NodeVisible),
		shot("failed-login"),
	)
	if err != nil {
		t.Fatalf("chromium, torii's login page (at %q, then %q): %v\n--- torii log:\n%s", loginURL, failedURL, err, tail(src.Torii.LogFile, 10))
	}
	if !strings.HasPrefix(loginURL, gw.URL+"/dex/") {
		t.Errorf("login page at %s, want it under %s/dex/ (through the gateway)", loginURL, gw.URL)
	}
	t.Logf("failed login shows %q", alert)

	var finalURL, status string
	err = chromedp.Run(ctx,
		// The login field may keep what was typed; type both again.
		chromedp.Evaluate(`document.querySelectorAll('form input[name="login"], form input[name="password"]').forEach(e => e.value = '')`, nil),
		chromedp.SendKeys(loginSel, src.Who.Login),
		chromedp.SendKeys(passwordSel, src.Who.Password),
		chromedp.Click(submitSel),
		chromedp.WaitReady(`body`),
		chromedp.ActionFunc(func(ctx context.Context) error {
			// Wait until the browser is back on the app (the
			// gateway's root), whatever the redirects in between.
			for {
				var loc string
				if err := chromedp.Location(&loc).Do(ctx); err != nil {
					return err
				}
				if u := strings.TrimSuffix(loc, "/"); u == gw.URL {
					finalURL = loc
					return nil
				}
				select {
				case <-ctx.Done():
					finalURL = loc
					return ctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
			}
		}),
		chromedp.Evaluate(`fetch('/oauth2/auth', {credentials: 'same-origin'}).then(r => r.status + ' ' + (r.headers.get('X-Auth-Request-Email') || ''))`, &status,
			func(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams { return p.WithAwaitPromise(true) }),
		shot("logged-in"),
	)
	if err != nil {
		t.Fatalf("chromium, logging in (browser at %q): %v\n--- oauth2-proxy log:\n%s\n--- torii log:\n%s", finalURL, err, tail(gw.ProxyLog, 10), tail(src.Torii.LogFile, 10))
	}
	if status != "202 "+src.Who.Email {
		t.Errorf("in the browser, /oauth2/auth answers %q, want %q", status, "202 "+src.Who.Email)
	}
}

// newChromium starts headless Chromium with a fresh profile; done stops it.
func (s *suite) newChromium(t *testing.T, execPath string) (context.Context, func()) {
	t.Helper()
	return s.newChromiumFor(t, execPath, 90*time.Second)
}

// newChromiumFor is newChromium with the browser's whole time budget and
// options of the caller's (a later option wins, e.g. a phone's window size).
func (s *suite) newChromiumFor(t *testing.T, execPath string, budget time.Duration, extra ...chromedp.ExecAllocatorOption) (context.Context, func()) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Trust the gateway's certificate (signed by the test CA) and
		// nothing else unusual.
		chromedp.Flag("ignore-certificate-errors-spki-list", s.ca.LeafSPKI),
		chromedp.WindowSize(1024, 800),
		// Chromium may take long to start on a loaded machine.
		chromedp.WSURLReadTimeout(2 * time.Minute),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), append(opts, extra...)...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	ctx, cancel := context.WithTimeout(ctx, budget)
	return ctx, func() { cancel(); cancelCtx(); cancelAlloc() }
}

// screenshot returns an action saving a full-page PNG to artifacts/.
func (s *suite) screenshot(t *testing.T, src *source) func(name string) chromedp.Action {
	return func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var buf []byte // quality 100: PNG
			if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
				return err
			}
			p := filepath.Join(s.artifacts, "chromium-"+src.Name+"-"+name+".png")
			t.Logf("screenshot %s", p)
			return os.WriteFile(p, buf, 0o644)
		})
	}
}

// chromiumPathOrFail finds Chromium.
func chromiumPathOrFail(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return chromiumPath
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found at %s (apt-get install chromium)", chromiumPath)
	}
	return p
}
