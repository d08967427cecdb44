package redirecturi

import "testing"

// MediaWiki's callback for a Japanese wiki, as sent raw, encoded once (what
// it sends to /auth) and encoded twice (what it sends to /token).
const (
	wikiRaw     = "https://wiki.example/wiki/特別:OpenIDConnectCallback"
	wikiEnc     = "https://wiki.example/wiki/%E7%89%B9%E5%88%A5:OpenIDConnectCallback"
	wikiDouble  = "https://wiki.example/wiki/%25E7%2589%25B9%25E5%2588%25A5:OpenIDConnectCallback"
	wikiQRaw    = "https://wiki.example/index.php?title=特別:OpenIDConnectCallback&returnto=メイン"
	wikiQEnc    = "https://wiki.example/index.php?title=%E7%89%B9%E5%88%A5:OpenIDConnectCallback&returnto=%E3%83%A1%E3%82%A4%E3%83%B3"
	wikiQDouble = "https://wiki.example/index.php?title=%25E7%2589%25B9%25E5%2588%25A5:OpenIDConnectCallback&returnto=%25E3%2583%25A1%25E3%2582%25A4%25E3%2583%25B3"
)

func TestEquivalentMatches(t *testing.T) {
	tests := []struct{ name, a, b string }{
		{"identical", "https://app.example/cb", "https://app.example/cb"},
		{"identical invalid", "https://app.example/cb#x", "https://app.example/cb#x"},
		{"MediaWiki path raw/encoded", wikiRaw, wikiEnc},
		{"MediaWiki path encoded/double", wikiEnc, wikiDouble},
		{"MediaWiki path raw/double", wikiRaw, wikiDouble},
		{"MediaWiki path triple", wikiEnc, "https://wiki.example/wiki/%2525E7%252589%2525B9%2525E5%252588%2525A5:OpenIDConnectCallback"},
		{"MediaWiki path lowercase hex", wikiEnc, "https://wiki.example/wiki/%e7%89%b9%e5%88%a5:OpenIDConnectCallback"},
		{"MediaWiki path double lowercase hex", wikiEnc, "https://wiki.example/wiki/%25e7%2589%25b9%25e5%2588%25a5:OpenIDConnectCallback"},
		{"MediaWiki path half raw half double", wikiEnc, "https://wiki.example/wiki/特%25E5%2588%25A5:OpenIDConnectCallback"},
		{"MediaWiki query raw/encoded", wikiQRaw, wikiQEnc},
		{"MediaWiki query encoded/double", wikiQEnc, wikiQDouble},
		{"MediaWiki query raw/double", wikiQRaw, wikiQDouble},
		{"Dex #2766 index.php", "http://localhost:8000/mediawiki/index.php/%E7%89%B9%E5%88%A5:PluggableAuthLogin",
			"http://localhost:8000/mediawiki/index.php/%25E7%2589%25B9%25E5%2588%25A5:PluggableAuthLogin"},
		{"4-byte character double", "https://a.example/%F0%9F%94%91", "https://a.example/%25F0%259F%2594%2591"},
		{"2-byte character double", "https://a.example/caf%C3%A9", "https://a.example/caf%25C3%25A9"},
		{"2-byte character raw", "https://a.example/café", "https://a.example/caf%c3%a9"},
		{"double next to a reserved escape", "https://a.example/%E7%89%B9%2F?x=%26", "https://a.example/%25E7%2589%25B9%2f?x=%26"},
		{"unreserved tilde", "https://a.example/~user/cb", "https://a.example/%7Euser/cb"},
		{"unreserved lowercase escape", "https://a.example/~user/cb", "https://a.example/%7euser/cb"},
		{"unreserved letters digits", "https://a.example/cb1", "https://a.example/%63%62%31"},
		{"unreserved in query", "https://a.example/cb?a-b=c.d_e", "https://a.example/cb?a%2Db=c%2Ed%5Fe"},
		{"hex case of reserved escape", "https://a.example/a%2Fb", "https://a.example/a%2fb"},
		{"hex case of an escaped ?", "https://a.example/a%3fb", "https://a.example/a%3Fb"},
		{"host case", "https://App.Example.COM/cb", "https://app.example.com/cb"},
		{"scheme case", "HTTPS://app.example/cb", "https://app.example/cb"},
		{"non-ASCII host raw/encoded", "https://bücher.example/cb", "https://b%C3%BCcher.example/cb"},
		{"non-ASCII host hex case", "https://b%c3%bccher.example/cb", "https://b%C3%BCcher.example/cb"},
		{"IPv6 host case", "http://[FE80::1]:8080/cb", "http://[fe80::1]:8080/cb"},
		{"relative", "/oauth2/callback", "/oauth2/callback"},
		{"relative with escape", "/oauth2/callback", "/oauth2/%63allback"},
		{"relative MediaWiki", "/wiki/特別:Callback", "/wiki/%25E7%2589%25B9%25E5%2588%25A5:Callback"},
		{"custom scheme", "com.example.app:/oauth2redirect", "COM.EXAMPLE.APP:/oauth2redirect"},
		{"empty query both", "https://a.example/cb?", "https://a.example/cb?"},
		{"collapse inside query value only", "https://a.example/cb?next=%E7%89%B9", "https://a.example/cb?next=%25E7%2589%25B9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !Equivalent(tt.a, tt.b) {
				t.Errorf("Equivalent(%q, %q) = false, want true\ncanonical: %q\n           %q", tt.a, tt.b, canonString(tt.a), canonString(tt.b))
			}
			if !Equivalent(tt.b, tt.a) {
				t.Errorf("Equivalent(%q, %q) = false (not symmetric)", tt.b, tt.a)
			}
		})
	}
}

func TestEquivalentRejects(t *testing.T) {
	tests := []struct{ name, a, b string }{
		{"%2F is not /", "https://a.example/a/b", "https://a.example/a%2Fb"},
		{"%3F is not ?", "https://a.example/cb?x=1", "https://a.example/cb%3Fx=1"},
		{"%23 is not a fragment", "https://a.example/cb", "https://a.example/cb%23x"},
		{"%26 is not &", "https://a.example/cb?a=1&b=2", "https://a.example/cb?a=1%26b=2"},
		{"%3D is not =", "https://a.example/cb?a=1", "https://a.example/cb?a%3D1"},
		{"%2B is not +", "https://a.example/cb?a=x+y", "https://a.example/cb?a=x%2By"},
		{"%20 is not +", "https://a.example/cb?a=x+y", "https://a.example/cb?a=x%20y"},
		{"%3B is not ;", "https://a.example/cb;v=1", "https://a.example/cb%3Bv=1"},
		{"%40 is not @", "https://a.example/@me", "https://a.example/%40me"},
		{"%3A is not :", "https://a.example/wiki/Special:Cb", "https://a.example/wiki/Special%3ACb"},
		{"%2C is not ,", "https://a.example/a,b", "https://a.example/a%2Cb"},
		{"%25 is not %", "https://a.example/100%25", "https://a.example/100%"},
		{"%2541 is not A", "https://a.example/A", "https://a.example/%2541"},
		{"%2541 is not %41", "https://a.example/%41", "https://a.example/%2541"},
		{"%252F is not %2F", "https://a.example/a%2Fb", "https://a.example/a%252Fb"},
		{"%25E7 alone is not %E7", "https://a.example/%E7", "https://a.example/%25E7"},
		{"incomplete double-encoded character", "https://a.example/%E7%89", "https://a.example/%25E7%2589"},
		{"double-encoded invalid UTF-8", "https://a.example/%FF", "https://a.example/%25FF"},
		{"double-encoded overlong", "https://a.example/%C0%AF", "https://a.example/%25C0%25AF"},
		{"double-encoded surrogate", "https://a.example/%ED%A0%80", "https://a.example/%25ED%25A0%2580"},
		{"double-encoded continuation alone", "https://a.example/%89", "https://a.example/%2589"},
		{"mixed depths in one character", "https://a.example/%E7%89%B9", "https://a.example/%25E7%89%B9"},
		{"mixed depths in one character 2/3", "https://a.example/%E7%89%B9", "https://a.example/%25E7%252589%25B9"},
		{"literal %25 elsewhere in path disables collapse", "https://a.example/%E7%89%B9/100%2541", "https://a.example/%25E7%2589%25B9/100%2541"},
		{"literal %25 in query disables collapse in path", "https://a.example/%E7%89%B9?p=%25", "https://a.example/%25E7%2589%25B9?p=%25"},
		{"collapse never crosses into host", "https://%E7%89%B9.example/", "https://%25E7%2589%25B9.example/"},
		{"encoded percent before raw non-ASCII", "https://a.example/%E7%89%B9", "https://a.example/%25特"},
		{"query order", "https://a.example/cb?a=1&b=2", "https://a.example/cb?b=2&a=1"},
		{"trailing slash", "https://a.example/cb", "https://a.example/cb/"},
		{"empty path vs /", "https://a.example", "https://a.example/"},
		{"empty query vs none", "https://a.example/cb", "https://a.example/cb?"},
		{"path case", "https://a.example/cb", "https://a.example/CB"},
		{"query case", "https://a.example/cb?a=x", "https://a.example/cb?a=X"},
		{"escape vs raw disallowed char", "https://a.example/%7B", "https://a.example/{"},
		{"dot segments", "https://a.example/cb", "https://a.example/x/../cb"},
		{"encoded dot segments", "https://a.example/cb", "https://a.example/x/%2E%2E/cb"},
		{"explicit default port", "https://a.example/cb", "https://a.example:443/cb"},
		{"different port", "https://a.example:8443/cb", "https://a.example:9443/cb"},
		{"leading zero port", "https://a.example:443/cb", "https://a.example:0443/cb"},
		{"loopback port for Equivalent", "http://127.0.0.1:8000/cb", "http://127.0.0.1:9000/cb"},
		{"scheme", "http://a.example/cb", "https://a.example/cb"},
		{"host", "https://a.example/cb", "https://b.example/cb"},
		{"host trailing dot", "https://a.example/cb", "https://a.example./cb"},
		{"relative vs absolute", "/oauth2/callback", "https://kf.example/oauth2/callback"},
		{"relative trailing slash", "/oauth2/callback", "/oauth2/callback/"},
		{"fragment", "https://a.example/cb", "https://a.example/cb#"},
		{"both invalid, different spelling", "https://a.example/cb#x", "https://A.example/cb#x"},
		{"userinfo", "https://evil.example/cb", "https://a.example@evil.example/cb"},
		{"empty", "", "https://a.example/cb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if Equivalent(tt.a, tt.b) || Equivalent(tt.b, tt.a) {
				t.Errorf("Equivalent(%q, %q) = true, want false\ncanonical: %q\n           %q", tt.a, tt.b, canonString(tt.a), canonString(tt.b))
			}
		})
	}
}

func TestCanonicalForm(t *testing.T) {
	tests := []struct{ in, want string }{
		{wikiRaw, wikiEnc},
		{wikiDouble, wikiEnc},
		{wikiQDouble, wikiQEnc},
		{"HTTPS://App.Example:8443/%7e%61/%2f?Q=%3d", "https://app.example:8443/~a/%2F?Q=%3D"},
		{"https://a.example/%25E7%2589?x", "https://a.example/%25E7%2589?x"},
		{"/oauth2/callback", "/oauth2/callback"},
		{"http://[::1]:8000", "http://[::1]:8000"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := canonString(tt.in); got != tt.want {
				t.Fatalf("canonical form of %q = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func canonString(s string) string {
	if Valid(s) != nil {
		return "(invalid)"
	}
	return canonicalize(s).String()
}
