// Package testlogin is a scripted person at an issuer's browser pages
// (Dex's or torii's: the same forms), for tests that run the real Dex.
package testlogin

import (
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// Login is one person's scripted trip through an issuer's browser pages:
// /auth, the password form of its only connector, the approval page. It
// returns the authorization code handed to the redirect URI.
func Login(t testing.TB, cfg *oauth2.Config, email, password, nonce string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	stop := errors.New("at the redirect URI")
	var final *url.URL
	c := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), cfg.RedirectURL) {
			final = r.URL
			return stop
		}
		return nil
	}}
	state := "state-" + nonce
	resp := do(t, c, http.MethodGet, cfg.AuthCodeURL(state, oauth2.SetAuthURLParam("nonce", nonce)), nil)
	form := firstForm(t, resp)
	form.values.Set("login", email)
	form.values.Set("password", password)
	resp = do(t, c, http.MethodPost, form.action, form.values)
	if final == nil {
		// The approval page: approve.
		form = firstForm(t, resp)
		if form.values.Get("approval") != "approve" {
			t.Fatalf("expected the approval form at %s, got fields %v", resp.Request.URL, form.values)
		}
		do(t, c, http.MethodPost, form.action, form.values)
	}
	if final == nil {
		t.Fatal("the login did not reach the redirect URI")
	}
	q := final.Query()
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("redirect %s: want a code and state %q", final.Redacted(), state)
	}
	return q.Get("code")
}

type htmlForm struct {
	action string
	values url.Values
}

var (
	formRe   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	actionRe = regexp.MustCompile(`(?i)\baction="([^"]*)"`)
	inputRe  = regexp.MustCompile(`(?i)<input\b[^>]*>`)
	attrRe   = regexp.MustCompile(`(?i)\b(type|name|value)="([^"]*)"`)
)

// firstForm reads the first form of an HTML page: its action (resolved
// against the page; none means the page itself) and its hidden fields.
func firstForm(t testing.TB, resp *page) htmlForm {
	t.Helper()
	m := formRe.FindStringSubmatch(resp.body)
	if m == nil {
		t.Fatalf("no form at %s (status %d):\n%s", resp.Request.URL, resp.status, resp.body)
	}
	f := htmlForm{action: resp.Request.URL.String(), values: url.Values{}}
	if a := actionRe.FindStringSubmatch(m[1]); a != nil && a[1] != "" {
		u, err := resp.Request.URL.Parse(html.UnescapeString(a[1]))
		if err != nil {
			t.Fatal(err)
		}
		f.action = u.String()
	}
	for _, in := range inputRe.FindAllString(m[2], -1) {
		attrs := map[string]string{}
		for _, a := range attrRe.FindAllStringSubmatch(in, -1) {
			attrs[strings.ToLower(a[1])] = html.UnescapeString(a[2])
		}
		if strings.EqualFold(attrs["type"], "hidden") && attrs["name"] != "" {
			f.values.Set(attrs["name"], attrs["value"])
		}
	}
	return f
}

type page struct {
	*http.Response
	status int
	body   string
}

func do(t testing.TB, c *http.Client, method, u string, form url.Values) *page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil && !strings.Contains(err.Error(), "at the redirect URI") {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 400 {
		t.Fatalf("%s %s: status %d:\n%s", method, u, resp.StatusCode, b)
	}
	return &page{Response: resp, status: resp.StatusCode, body: string(b)}
}
