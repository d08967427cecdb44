package redirecturi

import "testing"

func TestMatch(t *testing.T) {
	none := []string(nil)
	tests := []struct {
		name       string
		registered []string
		got        string
		public     bool
		want       bool
	}{
		{"exact", []string{"https://app.example/cb"}, "https://app.example/cb", false, true},
		{"second of several", []string{"https://a.example/cb", "https://app.example/cb"}, "https://app.example/cb", false, true},
		{"equivalent spelling", []string{"https://app.example/~cb"}, "HTTPS://APP.example/%7Ecb", false, true},
		{"MediaWiki registered raw, sent encoded", []string{wikiRaw}, wikiEnc, false, true},
		{"MediaWiki registered encoded, sent double", []string{wikiEnc}, wikiDouble, false, true},
		{"MediaWiki query", []string{wikiQEnc}, wikiQRaw, false, true},
		{"not registered", []string{"https://app.example/cb"}, "https://app.example/other", false, false},
		{"prefix is not enough", []string{"https://app.example/cb"}, "https://app.example/cb/../../evil", false, false},
		{"query added", []string{"https://app.example/cb"}, "https://app.example/cb?next=evil", false, false},
		{"trailing slash", []string{"https://app.example/cb"}, "https://app.example/cb/", false, false},
		{"confidential port differs", []string{"https://app.example:8443/cb"}, "https://app.example:9443/cb", false, false},
		{"confidential port added", []string{"https://app.example/cb"}, "https://app.example:443/cb", false, false},
		{"confidential loopback port differs", []string{"http://127.0.0.1:8000/cb"}, "http://127.0.0.1:9000/cb", false, false},
		{"confidential no registrations", none, "http://localhost:8000", false, false},
		{"invalid registration never matches", []string{"https://app.example/cb#x"}, "https://app.example/cb#x", false, false},
		{"invalid request", []string{"https://app.example/cb"}, "https://app.example/cb#", false, false},
		{"empty request", []string{""}, "", true, false},

		// Relative URIs: oauth2-proxy in Kubeflow.
		{"relative registered", []string{"/oauth2/callback"}, "/oauth2/callback", false, true},
		{"relative registered, public", []string{"/oauth2/callback"}, "/oauth2/callback", true, true},
		{"relative equivalent spelling", []string{"/oauth2/callback"}, "/oauth2/%63allback", false, true},
		{"relative not registered", []string{"https://kf.example/oauth2/callback"}, "/oauth2/callback", false, false},
		{"relative registered, absolute sent", []string{"/oauth2/callback"}, "https://evil.example/oauth2/callback", false, false},
		{"relative registered, network path sent", []string{"/oauth2/callback"}, "//evil.example/oauth2/callback", false, false},
		{"relative public no registrations", none, "/oauth2/callback", true, false},

		// RFC 8252 §7.3: a registered loopback URI, any port, for public clients.
		{"loopback IPv4 other port", []string{"http://127.0.0.1:8000/cb"}, "http://127.0.0.1:9000/cb", true, true},
		{"loopback IPv4 no port sent", []string{"http://127.0.0.1:8000/cb"}, "http://127.0.0.1/cb", true, true},
		{"loopback IPv4 registered without port", []string{"http://127.0.0.1/cb"}, "http://127.0.0.1:51234/cb", true, true},
		{"loopback IPv6 other port", []string{"http://[::1]:8000/cb"}, "http://[::1]:1/cb", true, true},
		{"loopback localhost other port", []string{"http://localhost:8000"}, "http://localhost:18000", true, true},
		{"loopback other path", []string{"http://127.0.0.1:8000/cb"}, "http://127.0.0.1:9000/other", true, false},
		{"loopback other query", []string{"http://127.0.0.1:8000/cb"}, "http://127.0.0.1:9000/cb?x=1", true, false},
		{"loopback other host", []string{"http://127.0.0.1:8000/cb"}, "http://localhost:8000/cb", true, false},
		{"loopback https sent", []string{"http://127.0.0.1:8000/cb"}, "https://127.0.0.1:8000/cb", true, false},
		{"loopback registered https", []string{"https://127.0.0.1:8000/cb"}, "https://127.0.0.1:9000/cb", true, false},
		{"non-loopback public port", []string{"http://app.example:8000/cb"}, "http://app.example:9000/cb", true, false},
		{"non-loopback public gets no loopback", []string{"https://app.example/cb"}, "http://localhost:8000", true, false},

		// A public client with no registered URI: http loopback only.
		{"kubelogin localhost:8000", none, "http://localhost:8000", true, true},
		{"localhost no port", none, "http://localhost", true, true},
		{"localhost path", none, "http://localhost:18000/callback", true, true},
		{"127.0.0.1 path and query", none, "http://127.0.0.1:1/x?y=1", true, true},
		{"IPv6 loopback", none, "http://[::1]:8000/", true, true},
		{"upper case", none, "HTTP://LOCALHOST:8000/", true, true},
		{"empty slice", []string{}, "http://127.0.0.1:8000", true, true},
		{"https loopback", none, "https://localhost:8000", true, false},
		{"userinfo trick", none, "http://localhost@evil.example", true, false},
		{"userinfo trick with port", none, "http://localhost:8000@evil.example/", true, false},
		{"userinfo trick 127.0.0.1", none, "http://127.0.0.1:80@evil.example/", true, false},
		{"subdomain trick", none, "http://localhost.evil.example", true, false},
		{"nip.io trick", none, "http://127.0.0.1.nip.io", true, false},
		{"nip.io trick with port", none, "http://127.0.0.1.nip.io:8000/cb", true, false},
		{"fragment trick", none, "http://evil.example#@localhost", true, false},
		{"backslash trick", none, "http://evil.example\\@localhost", true, false},
		{"encoded dot", none, "http://localhost%2Eevil.example", true, false},
		{"trailing dot", none, "http://localhost./", true, false},
		{"short IPv4", none, "http://127.1/", true, false},
		{"other loopback address", none, "http://127.0.0.2/", true, false},
		{"unspecified address", none, "http://0.0.0.0:8000/", true, false},
		{"mapped IPv4", none, "http://[::ffff:127.0.0.1]:8000/", true, false},
		{"long IPv6 loopback", none, "http://[0:0:0:0:0:0:0:1]:8000/", true, false},
		{"no authority", none, "http:localhost", true, false},
		{"custom scheme", none, "localhost://cb", true, false},
		{"escaped host", none, "http://%6Cocalhost/", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(tt.registered, tt.got, tt.public); got != tt.want {
				t.Fatalf("Match(%q, %q, public=%v) = %v, want %v", tt.registered, tt.got, tt.public, got, tt.want)
			}
		})
	}
}
