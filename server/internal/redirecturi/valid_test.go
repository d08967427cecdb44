package redirecturi

import (
	"errors"
	"testing"
)

func TestValid(t *testing.T) {
	ok := []string{
		"https://app.example/cb",
		"https://app.example",
		"https://app.example:8443/cb?a=1&b=2",
		"http://localhost:8000",
		"http://127.0.0.1:18000/callback",
		"http://[::1]:8000/cb",
		"/oauth2/callback",
		"/oauth2/callback?x=y",
		wikiRaw, wikiEnc, wikiDouble, wikiQRaw,
		"https://bücher.example/cb",
		"com.example.app:/oauth2redirect",
		"com.example.app://oauth2redirect",
		"urn:ietf:wg:oauth:2.0:oob",
		"https://a.example/!$&'()*+,;=:@-._~%20",
		"https://a.example/cb?",
	}
	for _, s := range ok {
		t.Run("ok "+s, func(t *testing.T) {
			if err := Valid(s); err != nil {
				t.Fatalf("Valid(%q) = %v, want nil", s, err)
			}
		})
	}
	bad := []string{
		"",
		"https://app.example/cb#",
		"https://app.example/cb#frag",
		"https://app.example/cb\x00",
		"https://app.example/c\nb",
		"https://app.example/cb\x7f",
		"https://app.example/c b",
		" https://app.example/cb",
		"https://app.example/cb\\",
		"https://app.example\\@evil.example/",
		"https://app.example/<script>",
		"https://app.example/\"",
		"https://app.example/{x}",
		"https://app.example/a|b",
		"https://app.example/a^b",
		"https://app.example/a`b",
		"https://app.example/a[0]",
		"https://app.example/cb?a[]=1",
		"https://app.example/%",
		"https://app.example/%E",
		"https://app.example/%G0",
		"https://app.example/cb?x=%zz",
		"https://app.example/\xff",
		"https://app.example/\xe7\x89",
		"https://user@app.example/cb",
		"https://user:pw@app.example/cb",
		"http://localhost@evil.example",
		"http://localhost:8000@evil.example",
		"https://app.example:/cb",
		"https://app.example:http/cb",
		"https://app.example:65536/cb",
		"https://app.example:-1/cb",
		"https://app.example:+80/cb",
		"http://[::1/cb",
		"http://[evil.example]/cb",
		"http://[::1%25eth0]/cb",
		"http://[::1]x/cb",
		"http://127.0.0.1]/cb",
		"https:///cb",
		"https://",
		"https:",
		"https:app.example/cb",
		"http:/cb",
		"//evil.example/cb",
		"oauth2/callback",
		"./cb",
		"1http://a.example/",
		":/a.example/",
		"javascript:alert(1)",
		"JavaScript://a.example/%0Aalert(1)",
		"data:text/html,x",
		"vbscript:x",
		"http://%6Cocalhost/",
	}
	for _, s := range bad {
		t.Run("bad "+s, func(t *testing.T) {
			if err := Valid(s); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Valid(%q) = %v, want ErrInvalid", s, err)
			}
		})
	}
}
