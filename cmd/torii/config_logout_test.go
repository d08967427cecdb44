package main

import (
	"strings"
	"testing"
)

// TestLogoutClientKeys: Dex master's per-client logout keys decode, and a
// bad value is refused with its key path and line.
func TestLogoutClientKeys(t *testing.T) {
	base := "issuer: https://id.example\nstorage: {type: memory}\nweb: {http: 127.0.0.1:0}\nstaticClients:\n- id: a\n  secret: s\n  redirectURIs: [https://a.example/cb]\n"
	c, err := parse(t, base+`  postLogoutRedirectURIs: [https://a.example/bye, http://127.0.0.1:8000/]
  backchannelLogoutURI: https://a.example/backchannel?x=1
  backchannelLogoutSessionRequired: true
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Clients[0]
	if len(cl.PostLogoutRedirectURIs) != 2 || cl.PostLogoutRedirectURIs[0] != "https://a.example/bye" ||
		cl.BackchannelLogoutURI != "https://a.example/backchannel?x=1" || !cl.BackchannelLogoutSessionRequired {
		t.Errorf("decoded %+v", cl)
	}
	for _, bad := range []struct{ yaml, want string }{
		{"  postLogoutRedirectURIs: ['https://a.example/#frag']\n", "staticClients[0].postLogoutRedirectURIs[0]"},
		{"  backchannelLogoutURI: /relative\n", "staticClients[0].backchannelLogoutURI"},
		{"  backchannelLogoutURI: 'https://a.example/bc#x'\n", "must not have a fragment"},
		{"  backchannelLogoutSessionRequired: maybe\n", "staticClients[0].backchannelLogoutSessionRequired"},
	} {
		if _, err := parse(t, base+bad.yaml, nil); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v; want an error naming %s", bad.yaml, err, bad.want)
		} else if !strings.Contains(err.Error(), "config.yaml:8") {
			t.Errorf("%q: %v; want the line (8)", bad.yaml, err)
		}
	}
}
