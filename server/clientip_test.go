package server

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := ipResolver{header: "X-Forwarded-For", trusted: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"),
	}}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		r          ipResolver
		want       string
	}{
		{"no header", "203.0.113.9:4000", nil, trusted, "203.0.113.9"},
		{"untrusted peer cannot choose", "203.0.113.9:4000", []string{"1.2.3.4"}, trusted, "203.0.113.9"},
		{"no header configured", "10.1.1.1:4000", []string{"1.2.3.4"}, ipResolver{}, "10.1.1.1"},
		{"trusted gateway", "10.1.1.1:4000", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
		{"spoofed left part ignored", "10.1.1.1:4000", []string{"6.6.6.6, 198.51.100.7"}, trusted, "198.51.100.7"},
		{"two trusted hops", "10.1.1.1:4000", []string{"198.51.100.7, 10.2.2.2"}, trusted, "198.51.100.7"},
		{"several header lines", "10.1.1.1:4000", []string{"6.6.6.6", "198.51.100.7"}, trusted, "198.51.100.7"},
		{"malformed hop stops the walk", "10.1.1.1:4000", []string{"198.51.100.7, garbage, 10.2.2.2"}, trusted, "10.2.2.2"},
		{"all trusted", "10.1.1.1:4000", []string{"10.3.3.3"}, trusted, "10.3.3.3"},
		{"ipv6 peer", "[fd00::1]:4000", []string{"2001:db8::5"}, trusted, "2001:db8::5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/token", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tc.r.clientIP(r); got != tc.want {
				t.Errorf("clientIP = %q, want %q", got, tc.want)
			}
		})
	}
}
