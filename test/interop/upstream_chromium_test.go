package interop

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumUpstream logs in through the chooser and oidc-provider's pages in
// headless Chromium: start is an authorization URL of a client whose
// redirect URI is appURL; the browser must arrive there with a code.
func (s *suite) chromiumUpstream(t *testing.T, op *upstreamOP, start, appURL string) {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		var lerr error
		if path, lerr = exec.LookPath("chromium"); lerr != nil {
			t.Fatalf("chromium not found at %s (apt-get install chromium)", chromiumPath)
		}
	}
	ctx, done := s.newChromium(t, path)
	defer done()
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var buf []byte
			if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(s.artifacts, "chromium-upstream-"+name+".png"), buf, 0o644)
		})
	}
	var upstreamURL, final string
	err := chromedp.Run(ctx,
		chromedp.Navigate(start),
		chromedp.WaitVisible(`a[href*="/auth/upstream?"]`),
		shot("chooser"),
		chromedp.Click(`a[href*="/auth/upstream?"]`),
		chromedp.WaitVisible(`input[name="login"]`),
		chromedp.Location(&upstreamURL),
		shot("provider-login"),
		chromedp.SendKeys(`input[name="login"]`, "jane"),
		chromedp.SendKeys(`input[name="password"]`, "any-password"),
		chromedp.Submit(`input[name="login"]`),
		// The consent page.
		chromedp.WaitVisible(`form button[type="submit"], form button`),
		shot("provider-consent"),
		chromedp.Click(`form button[type="submit"], form button`),
		chromedp.ActionFunc(func(ctx context.Context) error {
			for {
				if err := chromedp.Location(&final).Do(ctx); err != nil {
					return err
				}
				if strings.HasPrefix(final, appURL) {
					return nil
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
			}
		}),
	)
	if err != nil {
		t.Fatalf("chromium (provider page %q, last URL %q): %v\n--- provider log:\n%s", upstreamURL, final, err, tail(op.log, 10))
	}
	if !strings.HasPrefix(upstreamURL, op.Issuer) {
		t.Errorf("the login page was %s, not the provider's", upstreamURL)
	}
	u, _ := url.Parse(final)
	if u.Query().Get("code") == "" || u.Query().Get("state") != "app-state" {
		t.Errorf("back at the app without a code: %s", final)
	}
}
