package ha_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// deviceCode asks r's /device/code as the confidential client.
func deviceCode(t *testing.T, r *replica) (deviceCode, completeURI string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.URL(issuerPath+"/device/code"),
		strings.NewReader(url.Values{"scope": {"openid email offline_access"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSecret)
	resp, err := r.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		DeviceCode string `json:"device_code"`
		Complete   string `json:"verification_uri_complete"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || out.DeviceCode == "" {
		t.Fatalf("%s: /device/code: %d %v %+v", r.Name, resp.StatusCode, err, out)
	}
	return out.DeviceCode, out.Complete
}

var userCodeValueRe = regexp.MustCompile(`name="user_code" value="([^"]*)"`)

// firstForm is the action and hidden fields of the page's first form.
func firstForm(t *testing.T, body string) (string, url.Values) {
	t.Helper()
	m := formActionRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form in page:\n%s", body)
	}
	first := body[strings.Index(body, m[0]):]
	if end := strings.Index(first, "</form>"); end > 0 {
		first = first[:end]
	}
	form := url.Values{}
	for _, h := range hiddenRe.FindAllStringSubmatch(first, -1) {
		form.Set(h[1], unescapeHTML(h[2]))
	}
	if v := userCodeValueRe.FindStringSubmatch(first); v != nil {
		form.Set("user_code", unescapeHTML(v[1]))
	}
	return unescapeHTML(m[1]), form
}

// TestDeviceLoginOnOnePollOnTheOther: the device asks replica A, the
// person's browser alternates between A and B on every request, and the
// device polls B and A. The poll rate, the approval and the single
// hand-out are shared through PostgreSQL.
func TestDeviceLoginOnOnePollOnTheOther(t *testing.T) {
	clk := newClock()
	d, a, b := twoReplicas(t, clk)
	code, complete := deviceCode(t, a)
	poll := func(r *replica) tokenResponse {
		t.Helper()
		tr, err := r.Token(url.Values{"grant_type": {deviceGrant}, "device_code": {code}})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	if tr := poll(b); tr.Status != 400 || tr.Error != "authorization_pending" {
		t.Fatalf("first poll on B: %v", tr)
	}
	// A knows that B was just polled.
	if tr := poll(a); tr.Status != 400 || tr.Error != "slow_down" {
		t.Fatalf("immediate second poll on A: %v; want slow_down", tr)
	}

	br := newBrowser(t, d.Issuer, a.Srv.URL, b.Srv.URL)
	p := br.Do(http.MethodGet, complete, nil)
	action, form := firstForm(t, p.Body)
	p = br.Do(http.MethodPost, action, form) // the confirmation
	if p.Status != 200 || !strings.Contains(p.Body, "Web App") {
		t.Fatalf("confirmation: %d %s", p.Status, p.Body)
	}
	action, form = firstForm(t, p.Body)
	p = br.Follow(br.Do(http.MethodPost, action, form)) // the login form
	action, form = firstForm(t, p.Body)
	form.Set("login", userLogin)
	form.Set("password", userPassword)
	p = br.Follow(br.Do(http.MethodPost, action, form))
	if p.Status != 200 || !strings.Contains(p.Body, "You signed in Web App") {
		t.Fatalf("end of the device login: %d %q %s", p.Status, p.Location, p.Body)
	}

	clk.Add(11 * time.Second) // the interval is 10 s after the slow_down
	tr := poll(b)
	if tr.Status != 200 || tr.IDToken == "" || tr.RefreshToken == "" {
		t.Fatalf("poll on B after the login: %v", tr)
	}
	verifyIDToken(t, d.Verifier(t), "device tokens", tr.IDToken)
	clk.Add(11 * time.Second)
	if again := poll(a); again.Status != 400 || again.Error != "invalid_grant" {
		t.Errorf("poll on A after B handed out the tokens: %v; want invalid_grant", again)
	}
	// The replay revoked the grant on both replicas.
	if r, err := b.Refresh(tr.RefreshToken); err != nil || r.Status != 400 {
		t.Errorf("refresh after the replay on B: %v %v; want 400", r, err)
	}
}
