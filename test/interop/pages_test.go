package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestPages walks every page a person sees in headless Chromium, in the
// light and the dark colour scheme (frontend.theme auto), runs axe-core on
// each (no serious or critical violation allowed), logs in with the
// keyboard only, and saves a screenshot of each page to artifacts/.
//
// It is its own test (make interop runs it), needing only the torii binary, so that changing a
// page can be checked without the whole suite: go test -run TestPages .
func TestPages(t *testing.T) {
	s := newSuite(t, "torii")
	t.Cleanup(func() { fmt.Print("\n" + s.summary()) })
	s.testPages(t)
}

func (s *suite) testPages(t *testing.T) {
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		var lerr error
		if path, lerr = exec.LookPath("chromium"); lerr != nil {
			t.Fatalf("chromium not found at %s (apt-get install chromium)", chromiumPath)
		}
	}
	axe, err := os.ReadFile(filepath.Join("node", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core: %v (run npm ci in test/interop/node; make interop does)", err)
	}
	c, dir := s.staticConfig(t, "pages")
	c.OAuth2.SkipApprovalScreen = false
	c.OAuth2.AlwaysShowLoginScreen = true
	c.Frontend = map[string]string{"issuer": "Example Corp", "theme": "auto"}
	c.Kubeconfig = &kubeconfigBlock{ClientID: kubectlClientID, Clusters: []kubeconfigClusterY{
		{Name: "prod", Server: "https://k8s.example.com:6443", CertificateAuthority: s.ca.CAFile},
	}}
	tp := s.startTorii(t, "pages", c, dir)
	// The account page lists sessions only where torii keeps them.
	cs, dirS := s.staticConfig(t, "pages-sessions")
	cs.Frontend = c.Frontend
	cs.Sessions = &sessionsConfig{}
	tpS := s.startTorii(t, "pages-sessions", cs, dirS)
	for _, scheme := range []string{"light", "dark"} {
		s.scenario(t, "axe-"+scheme, func(t *testing.T) {
			s.walkPages(t, path, string(axe), tp, tpS, scheme)
		})
	}
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

func (s *suite) walkPages(t *testing.T, execPath, axe string, tp, tpSessions *toriiProc, scheme string) {
	// A phone-sized window; the profile is chromedp's own, removed after
	// the browser has exited.
	ctx, done := s.newChromiumFor(t, execPath, 6*time.Minute, chromedp.WindowSize(390, 844))
	defer done()
	redirected := make(chan string, 1)
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.HasPrefix(e.Request.URL, rpRedirectURI) {
			select {
			case redirected <- e.Request.URL:
			default:
			}
		}
	})
	if err := chromedp.Run(ctx,
		network.Enable(),
		cdppage.SetBypassCSP(true),
		// A phone's screen: the pages must work there.
		emulation.SetDeviceMetricsOverride(390, 844, 2, true), // lets axe-core's script in; torii's CSP allows no inline script
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}),
	); err != nil {
		t.Fatal(err)
	}

	violations := func(name string) []axeViolation {
		t.Helper()
		var raw string
		err := chromedp.Run(ctx,
			chromedp.WaitReady("body"),
			chromedp.Evaluate(axe, nil),
			chromedp.Evaluate(`axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations))`, &raw,
				func(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams { return p.WithAwaitPromise(true) }),
		)
		if err != nil {
			t.Fatalf("%s: axe-core: %v", name, err)
		}
		var vs []axeViolation
		if err := json.Unmarshal([]byte(raw), &vs); err != nil {
			t.Fatalf("%s: axe-core answer %q: %v", name, raw, err)
		}
		return vs
	}
	check := func(name string) {
		t.Helper()
		vs := violations(name)
		for _, v := range vs {
			line := fmt.Sprintf("%s (%s): %s: %s", name, scheme, v.Impact, v.ID)
			for _, n := range v.Nodes {
				line += "\n    " + n.HTML
			}
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("axe-core: %s — %s", line, v.Help)
			} else {
				t.Logf("axe-core (allowed, %s): %s", v.Impact, line)
			}
		}
		var buf []byte
		if err := chromedp.Run(ctx, chromedp.FullScreenshot(&buf, 100)); err != nil {
			t.Fatalf("%s: screenshot: %v", name, err)
		}
		p := filepath.Join(s.artifacts, "page-"+name+"-"+scheme+".png")
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: axe-core: %d violations, none serious or critical; screenshot %s", name, len(vs), p)
	}
	attr := func(sel, name string) string {
		t.Helper()
		var v string
		var ok bool
		if err := chromedp.Run(ctx, chromedp.AttributeValue(sel, name, &v, &ok, chromedp.ByQuery)); err != nil {
			t.Fatalf("attribute %s of %s: %v", name, sel, err)
		}
		return v
	}
	focused := func() string {
		var id string
		if err := chromedp.Run(ctx, chromedp.Evaluate(`document.activeElement ? document.activeElement.id : ''`, &id)); err != nil {
			t.Fatal(err)
		}
		return id
	}

	// visit opens u and waits for sel. A visit still waiting after 40 s is
	// started again (twice at most, and logged): chromedp's wait for a
	// navigation hung once in a while on a loaded machine, with the page
	// served, and took the whole walk with it until its deadline.
	visit := func(u, sel string) {
		t.Helper()
		for try := 1; ; try++ {
			vctx, cancel := context.WithTimeout(ctx, 40*time.Second)
			err := chromedp.Run(vctx, chromedp.Navigate(u), chromedp.WaitVisible(sel, chromedp.ByQuery))
			cancel()
			if err == nil {
				return
			}
			if try == 3 || ctx.Err() != nil {
				t.Fatalf("opening %s: %v", u, err)
			}
			t.Logf("opening %s: %v; once more", u, err)
		}
	}

	auth := tp.Issuer + "/auth?" + url.Values{
		"client_id": {rpClientID}, "redirect_uri": {rpRedirectURI}, "response_type": {"code"},
		"scope": {"openid email groups offline_access"}, "state": {"st"},
	}.Encode()

	// The check can fail: axe-core finds an image without alt text and an
	// unlabelled field on a page made to have them.
	if err := chromedp.Run(ctx, chromedp.Navigate(`data:text/html,<!DOCTYPE html><html lang="en"><title>x</title><main><img src="x.png"><input type="text"></main></html>`)); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range violations("control") {
		if v.Impact == "serious" || v.Impact == "critical" {
			ids = append(ids, v.ID)
		}
	}
	if !slices.Contains(ids, "image-alt") || !slices.Contains(ids, "label") {
		t.Fatalf("axe-core on a page with an unlabelled field and an image without alt: serious/critical %v, want image-alt and label", ids)
	}

	// The home page (the issuer path).
	visit(tp.Issuer+"/", `h1`)
	check("home")

	// An error page: an application nobody registered.
	visit(tp.Issuer+"/auth?client_id=nobody", `[role="alert"]`)
	check("error")

	// The chooser (alwaysShowLoginScreen), then the password form.
	visit(auth, `.choices a`)
	check("chooser")
	if err := chromedp.Run(ctx, chromedp.Click(`.choices a`), chromedp.WaitVisible(`#password`)); err != nil {
		t.Fatal(err)
	}
	check("login")

	// Keyboard only from here: the username field has the focus, Tab
	// moves to the password, Enter submits.
	if got := focused(); got != "login" {
		t.Errorf("focus on the login page is on %q, want the username field", got)
	}
	jane := staticJane()
	if err := chromedp.Run(ctx,
		chromedp.KeyEvent(jane.Login), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("wrong password"), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(`#login-error`),
	); err != nil {
		t.Fatalf("keyboard login: %v", err)
	}
	if got := attr("#password", "aria-describedby"); got != "login-error" {
		t.Errorf("password field aria-describedby %q, want login-error", got)
	}
	if got := attr("#login-error", "aria-live"); got != "assertive" {
		t.Errorf("error aria-live %q", got)
	}
	if got := focused(); got != "password" {
		t.Errorf("after a failed login the focus is on %q, want the password field", got)
	}
	check("login-failed")
	if err := chromedp.Run(ctx, chromedp.KeyEvent(jane.Password), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(`#approve`)); err != nil {
		t.Fatalf("keyboard login (right password): %v", err)
	}
	check("approval")
	// Tab reaches the approve button, and Enter on it ends at the client
	// (nothing listens there: the URL is enough).
	if err := chromedp.Run(ctx, chromedp.Focus(`#approve`, chromedp.ByQuery), chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatalf("approving with the keyboard: %v", err)
	}
	select {
	case u := <-redirected:
		if !strings.Contains(u, "code=") {
			t.Errorf("approval sent the browser to %s, without a code", u)
		}
		// Redeemed, the code starts a refresh family: the account page
		// lists it with its revoke button.
		s.redeemForFamily(t, tp, u)
	case <-time.After(20 * time.Second):
		t.Error("approving with the keyboard did not send the browser to the client")
	}

	// The same login page in Japanese (ui_locales).
	visit(auth+"&ui_locales=ja", `.choices a`)
	if err := chromedp.Run(ctx, chromedp.Click(`.choices a`), chromedp.WaitVisible(`#password`)); err != nil {
		t.Fatal(err)
	}
	if got := attr("html", "lang"); got != "ja" {
		t.Errorf("lang %q with ui_locales=ja", got)
	}
	check("login-ja")

	// The kubeconfig page: torii's own page login (no session here, so
	// the login pages again), then the page with its file and commands.
	var chooser bool
	visit(tp.Issuer+"/kubeconfig", `.choices a, #password`)
	if err := chromedp.Run(ctx, chromedp.Evaluate(`!!document.querySelector('.choices a')`, &chooser)); err != nil {
		t.Fatalf("kubeconfig page login: %v", err)
	}
	if chooser {
		if err := chromedp.Run(ctx, chromedp.Click(`.choices a`, chromedp.ByQuery), chromedp.WaitVisible(`#password`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Run(ctx,
		chromedp.SendKeys(`#login`, jane.Login, chromedp.ByQuery), chromedp.SendKeys(`#password`, jane.Password+kb.Enter, chromedp.ByQuery),
		chromedp.WaitVisible(`#kubeconfig-email`),
	); err != nil {
		t.Fatalf("logging in to the kubeconfig page: %v", err)
	}
	var email string
	if err := chromedp.Run(ctx, chromedp.Text(`#kubeconfig-email`, &email, chromedp.ByQuery)); err != nil || email != jane.Email {
		t.Errorf("kubeconfig page shows %q (%v), want %s", email, err, jane.Email)
	}
	check("kubeconfig")

	// The account page, reached from the home page's log-in button: the
	// kubeconfig page's login holds for it (one page login for torii's
	// pages; where there is none, reachAccount goes through the login).
	// The button is a plain link: its target is checked, then followed by a
	// navigation of its own. (A click racing the home page's load once hung
	// this walk until its deadline on a loaded machine.)
	var href string
	var ok bool
	visit(tp.Issuer+"/", `#login`)
	if err := chromedp.Run(ctx, chromedp.AttributeValue(`#login`, "href", &href, &ok, chromedp.ByQuery)); err != nil {
		t.Fatalf("home page: %v", err)
	}
	if want := tp.Issuer + "/account"; !ok || (href != want && href != strings.TrimPrefix(want, originOf(tp.Issuer))) {
		t.Errorf("home page's log-in button leads to %q; want %s", href, want)
	}
	visit(tp.Issuer+"/account", `#sub, .choices a, #password`)
	s.reachAccount(t, ctx, jane.Login, jane.Password)
	check("account")
	if err := chromedp.Run(ctx, chromedp.Click(`input[value="revoke"] ~ button`, chromedp.ByQuery), chromedp.WaitVisible(`#done`)); err != nil {
		t.Fatalf("revoking from the account page (a plain form post): %v", err)
	}
	check("account-revoked")
	// With sessions: the session list and its end button.
	visit(tpSessions.Issuer+"/account", `#sub, .choices a, #password`)
	s.reachAccount(t, ctx, jane.Login, jane.Password)
	if err := chromedp.Run(ctx, chromedp.WaitVisible(`input[value="end_session"] ~ button`)); err != nil {
		t.Fatalf("account page with sessions: no end-session button: %v", err)
	}
	check("account-sessions")
}

// reachAccount logs in (chooser, password form) until the account page
// shows the person's sub. Each step waits for an element of the page it
// leads to, never for one the page it leaves has too (the chooser's h1
// was visible before its click had navigated, and the next look at the
// page then ran in a document being replaced and hung), and has 40 s.
func (s *suite) reachAccount(t *testing.T, ctx context.Context, login, password string) {
	t.Helper()
	const page = `#sub, .choices a, #password`
	step := func(actions ...chromedp.Action) error {
		sctx, cancel := context.WithTimeout(ctx, 40*time.Second)
		defer cancel()
		return chromedp.Run(sctx, actions...)
	}
	for range 4 {
		var at string
		if err := step(chromedp.WaitVisible(page, chromedp.ByQuery), chromedp.Evaluate(
			`document.querySelector('#sub') ? 'account' : document.querySelector('.choices a') ? 'chooser' : document.querySelector('#password') ? 'login' : location.href`, &at)); err != nil {
			var where string
			_ = step(chromedp.Location(&where))
			t.Fatalf("on the way to the account page, at %q: %v", where, err)
		}
		var err error
		switch at {
		case "account":
			return
		case "chooser":
			err = step(chromedp.Click(`.choices a`, chromedp.ByQuery), chromedp.WaitVisible(`#password, #sub`, chromedp.ByQuery))
		case "login":
			err = step(chromedp.SendKeys(`#login`, login, chromedp.ByQuery), chromedp.SendKeys(`#password`, password, chromedp.ByQuery),
				chromedp.Submit(`#password`, chromedp.ByQuery), chromedp.WaitVisible(`#sub`, chromedp.ByQuery))
		default:
			t.Fatalf("on the way to the account page: unexpected page %s", at)
		}
		if err != nil {
			t.Fatalf("on the way to the account page (%s): %v", at, err)
		}
	}
	t.Fatal("the account page was not reached")
}

// redeemForFamily redeems the code of the client redirect u.
func (s *suite) redeemForFamily(t *testing.T, tp *toriiProc, u string) {
	t.Helper()
	ru, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {ru.Query().Get("code")}, "redirect_uri": {rpRedirectURI}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, tp.Issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(rpClientID, rpClientSecret)
	resp, err := s.ca.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusOK || body["refresh_token"] == nil {
		t.Fatalf("redeeming the code: %d %v", resp.StatusCode, body)
	}
}

// originOf is the scheme and host of an absolute URL ("" if it has none).
func originOf(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return ""
	}
	return p.Scheme + "://" + p.Host
}
