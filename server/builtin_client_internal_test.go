package server

import "testing"

func TestSafeReturnPath(t *testing.T) {
	for _, tc := range []struct {
		iss  issuer
		p    string
		want bool
	}{
		{issuer{Path: "/dex"}, "/dex/account", true},
		{issuer{Path: "/dex"}, "/dex/account?tab=x&y=%2F", true},
		{issuer{Path: "/dex"}, "/dex/kubeconfig", true},
		{issuer{Path: ""}, "/account", true},
		{issuer{Path: ""}, "//evil.example/", false},
		{issuer{Path: ""}, "/\\evil.example", false},
		{issuer{Path: "/dex"}, "/dex", false},
		{issuer{Path: "/dex"}, "/dexter/", false},
		{issuer{Path: "/dex"}, "/dex/../x", false},
		{issuer{Path: "/dex"}, "/dex/%2e%2e/x", false},
		{issuer{Path: "/dex"}, "/dex//evil.example", false},
		{issuer{Path: "/dex"}, "/dex/%2F%2Fevil", false},
		{issuer{Path: "/dex"}, "https://evil.example/dex/", false},
		{issuer{Path: "/dex"}, "/dex/a#frag", false},
		{issuer{Path: "/dex"}, "/dex/a\nb", false},
		{issuer{Path: "/dex"}, "/dex/ü", false},
		{issuer{Path: "/dex"}, "", false},
	} {
		if got := safeReturnPath(tc.iss, tc.p); got != tc.want {
			t.Errorf("safeReturnPath(%q, %q) = %v, want %v", tc.iss.Path, tc.p, got, tc.want)
		}
	}
}
