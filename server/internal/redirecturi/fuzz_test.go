package redirecturi

import (
	"net/url"
	"strings"
	"testing"
)

// seedURIs are URIs the fuzz targets start from; mutations re-encode,
// decode and double-encode their characters.
func seedURIs() []string {
	return []string{
		wikiRaw, wikiEnc, wikiDouble, wikiQRaw, wikiQEnc, wikiQDouble,
		"https://app.example/cb?a=1&b=%2F%3F%26",
		"https://App.Example:8443/%7e/a%2fb?x=%25&y=+",
		"http://localhost:8000",
		"http://127.0.0.1:18000/callback",
		"http://[::1]:8000/cb",
		"/oauth2/callback",
		"https://bücher.example/caf%C3%A9",
		"https://a.example/%2525E7%252589%2525B9",
		"https://a.example/%25F0%259F%2594%2591?q=%E2%82%AC",
		"com.example.app:/oauth2redirect",
	}
}

// FuzzEquivalent checks that Equivalent is reflexive and symmetric, that it
// only ever equates URIs the reference model gives the same meaning, and
// that the canonical form is valid, stable and means the same as the URI.
// Besides the two arbitrary strings, each is compared with a mutation of
// itself driven by ops, which finds near-equivalent pairs far more often.
func FuzzEquivalent(f *testing.F) {
	seeds := seedURIs()
	for i, s := range seeds {
		f.Add(s, seeds[(i+1)%len(seeds)], []byte{0, 3, 2, 7, 1, 9})
		f.Add(s, s, []byte{6, 1, 2, 20, 4, 5})
	}
	ref := newReference()
	f.Fuzz(func(t *testing.T, a, b string, ops []byte) {
		checkPair(t, ref, a, b)
		checkPair(t, ref, a, mutate(a, ops))
		checkPair(t, ref, b, mutate(b, ops))
		checkCanonical(t, ref, a)
		checkCanonical(t, ref, mutate(a, ops))
	})
}

func checkPair(t *testing.T, ref *reference, a, b string) {
	t.Helper()
	eq := Equivalent(a, b)
	if eq != Equivalent(b, a) {
		t.Fatalf("Equivalent not symmetric for %q and %q", a, b)
	}
	if !Equivalent(a, a) || !Equivalent(b, b) {
		t.Fatalf("Equivalent not reflexive for %q or %q", a, b)
	}
	if !eq || a == b {
		return
	}
	if Valid(a) != nil || Valid(b) != nil {
		t.Fatalf("Equivalent(%q, %q) with an invalid URI", a, b)
	}
	if ma, mb := ref.meaning(a), ref.meaning(b); ma != mb {
		t.Fatalf("Equivalent(%q, %q) but their meanings differ:\n%s\n%s", a, b, ma, mb)
	}
}

func checkCanonical(t *testing.T, ref *reference, s string) {
	t.Helper()
	if Valid(s) != nil {
		return
	}
	c := canonicalize(s)
	cs := c.String()
	if err := Valid(cs); err != nil {
		t.Fatalf("canonical form %q of %q is not valid: %v", cs, s, err)
	}
	if again := canonicalize(cs); again != c {
		t.Fatalf("canonical form not stable: %q -> %q -> %q", s, cs, again.String())
	}
	if !Equivalent(s, cs) {
		t.Fatalf("%q not equivalent to its canonical form %q", s, cs)
	}
	if ms, mc := ref.meaning(s), ref.meaning(cs); ms != mc {
		t.Fatalf("canonical form %q of %q changes the meaning:\n%s\n%s", cs, s, ms, mc)
	}
}

// mutate rewrites s by pairs of (operation, position) bytes.
func mutate(s string, ops []byte) string {
	b := []byte(s)
	for i := 0; i+1 < len(ops) && len(b) > 0; i += 2 {
		pos := int(ops[i+1]) % len(b)
		switch ops[i] % 10 {
		case 0: // percent-encode one byte
			if b[pos] != '%' {
				b = splice(b, pos, 1, escapeOf(b[pos], ops[i]&0x80 != 0))
			}
		case 1: // decode the escape at pos
			if pos+2 < len(b) && b[pos] == '%' && isHex(b[pos+1]) && isHex(b[pos+2]) {
				b = splice(b, pos, 3, []byte{unhex(b[pos+1])<<4 | unhex(b[pos+2])})
			}
		case 2: // encode a percent sign once more
			if b[pos] == '%' {
				b = splice(b, pos, 1, []byte("%25"))
			}
		case 3: // flip the case of a letter
			if c := b[pos] | 0x20; 'a' <= c && c <= 'z' {
				b[pos] ^= 0x20
			}
		case 4:
			b = splice(b, pos, 0, []byte("%25"))
		case 5:
			b = splice(b, pos, 1, nil)
		case 6:
			b = splice(b, pos, 0, []byte("特"))
		case 7: // encode every non-ASCII byte once (or decode every escape of one)
			b = []byte(recode(string(b), ops[i]&0x80 != 0))
		case 8:
			b = splice(b, pos, 0, []byte{"/?&=%:@.~+"[int(ops[i]>>4)%10]})
		case 9:
			b = splice(b, pos, 0, []byte("%2F"))
		}
	}
	return string(b)
}

func splice(b []byte, at, n int, with []byte) []byte {
	out := append([]byte(nil), b[:at]...)
	out = append(out, with...)
	return append(out, b[at+n:]...)
}

func escapeOf(c byte, lower bool) []byte {
	h := "0123456789ABCDEF"
	if lower {
		h = "0123456789abcdef"
	}
	return []byte{'%', h[c>>4], h[c&15]}
}

// recode encodes raw non-ASCII bytes, or decodes escapes of non-ASCII bytes.
func recode(s string, decode bool) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch {
		case decode && s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) && unhex(s[i+1]) >= 8:
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case !decode && s[i] >= 0x80:
			b = append(b, escapeOf(s[i], false)...)
		default:
			b = append(b, s[i])
		}
	}
	return string(b)
}

// FuzzMatchNoConfusion checks that whatever Match accepts goes where the
// registration says: same scheme, host, path and query by the reference
// model and by net/url (which the server uses to build the redirect), the
// same port unless the RFC 8252 loopback rule applies; and that with no
// registration only http loopback URIs of public clients are accepted.
func FuzzMatchNoConfusion(f *testing.F) {
	seeds := seedURIs()
	for i, s := range seeds {
		f.Add(s, seeds[(i+3)%len(seeds)], true, []byte{1, 4, 7, 0})
		f.Add(s, s, false, []byte{2, 9, 3, 3})
	}
	f.Add("http://127.0.0.1:8000/cb", "http://127.0.0.1:9000/cb", true, []byte{})
	f.Add("http://localhost:8000", "http://localhost@evil.example", true, []byte{5, 0})
	ref := newReference()
	f.Fuzz(func(t *testing.T, registered, got string, public bool, ops []byte) {
		for _, g := range []string{got, mutate(registered, ops), mutate(got, ops)} {
			checkMatch(t, ref, []string{registered}, g, public)
			checkMatch(t, ref, nil, g, public)
			checkMatch(t, ref, []string{registered, got}, g, public)
		}
	})
}

func checkMatch(t *testing.T, ref *reference, registered []string, got string, public bool) {
	t.Helper()
	if !Match(registered, got, public) {
		return
	}
	if err := Valid(got); err != nil {
		t.Fatalf("Match(%q, %q) accepted an invalid URI: %v", registered, got, err)
	}
	gu, err := url.Parse(got)
	if err != nil || gu.User != nil || gu.Fragment != "" || strings.Contains(got, "#") {
		t.Fatalf("Match(%q, %q): net/url sees %+v, %v", registered, got, gu, err)
	}
	if len(registered) == 0 {
		if !public {
			t.Fatalf("Match(nil, %q, confidential) = true", got)
		}
		host := gu.Hostname()
		if !strings.EqualFold(gu.Scheme, "http") || !(strings.EqualFold(host, "localhost") || host == "127.0.0.1" || host == "::1") {
			t.Fatalf("Match(nil, %q, public) accepted a non-loopback URI (net/url: scheme %q host %q)", got, gu.Scheme, host)
		}
		return
	}
	mg := ref.meaning(got)
	for _, r := range registered {
		ru, err := url.Parse(r)
		if err != nil || Valid(r) != nil {
			continue
		}
		if mr := ref.meaning(r); mr == mg {
			if !strings.EqualFold(ru.Host, gu.Host) || !strings.EqualFold(ru.Scheme, gu.Scheme) {
				t.Fatalf("Match(%q, %q): same meaning but net/url hosts %q and %q", r, got, ru.Host, gu.Host)
			}
			return
		}
		if public && strings.EqualFold(gu.Scheme, "http") && strings.EqualFold(ru.Scheme, "http") &&
			strings.EqualFold(ru.Hostname(), gu.Hostname()) && isLoopbackName(gu.Hostname()) &&
			withoutPort(ref, r) == withoutPort(ref, got) {
			return
		}
	}
	t.Fatalf("Match(%q, %q, public=%v) = true but no registration means the same:\n%s", registered, got, public, mg)
}

func isLoopbackName(h string) bool {
	return strings.EqualFold(h, "localhost") || h == "127.0.0.1" || h == "::1"
}

// withoutPort is the reference meaning with the port field blanked.
func withoutPort(ref *reference, s string) string {
	m := ref.meaning(s)
	i := strings.Index(m, " port=")
	if i < 0 {
		return m
	}
	j := strings.Index(m[i+1:], " ")
	if j < 0 {
		return m[:i]
	}
	return m[:i] + m[i+1+j:]
}
