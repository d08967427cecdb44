package redirecturi

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// reference is an independent model of what a redirect URI means, used by
// the fuzz tests to check that Equivalent never equates URIs that mean
// different things. It is written differently from the package on purpose:
// regular expressions split the URI, each component is cut at every raw
// reserved character (delimiters stay as they are), and each piece of data
// between delimiters is decoded, so encodings of delimiters can never be
// confused with delimiters. Data is decoded once; then, and only for bytes
// >= 0x80, an escape behind any number of encoded percent signs is read as
// that byte. That is more lenient than Equivalent (no all-or-nothing rule,
// no UTF-8 condition, no same-depth condition, raw and escaped ASCII that
// is neither reserved nor unreserved are the same), so Equivalent(a, b)
// must imply equal meanings, never the reverse.
type reference struct {
	uri       *regexp.Regexp
	authority *regexp.Regexp
	multi     *regexp.Regexp
}

func newReference() *reference {
	return &reference{
		uri:       regexp.MustCompile(`^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:(\?)([^#]*))?(?:#(.*))?$`),
		authority: regexp.MustCompile(`^(?:([^@]*)@)?(\[[^\]]*\]|[^:\[\]]*)(?::([^:]*))?$`),
		multi:     regexp.MustCompile(`%(?:25)*([89A-Fa-f][0-9A-Fa-f])`),
	}
}

// meaning renders what s means as a string; equal strings, equal meaning.
func (r *reference) meaning(s string) string {
	m := r.uri.FindStringSubmatchIndex(s)
	if m == nil {
		return "unparsable " + fmt.Sprintf("%q", s)
	}
	group := func(i int) (string, bool) {
		if m[2*i] < 0 {
			return "", false
		}
		return s[m[2*i]:m[2*i+1]], true
	}
	var out []string
	scheme, _ := group(1)
	out = append(out, "scheme="+strings.ToLower(scheme))
	if auth, ok := group(2); ok {
		a := r.authority.FindStringSubmatchIndex(auth)
		if a == nil {
			return "unparsable authority " + fmt.Sprintf("%q", s)
		}
		sub := func(i int) string {
			if a[2*i] < 0 {
				return "none"
			}
			return fmt.Sprintf("%q", auth[a[2*i]:a[2*i+1]])
		}
		userinfo := "none"
		if a[2] >= 0 {
			userinfo = fmt.Sprintf("%q", decodeAll(auth[a[2]:a[3]]))
		}
		host := strings.ToLower(decodeAll(auth[a[4]:a[5]]))
		out = append(out, "userinfo="+userinfo, fmt.Sprintf("host=%q", host), "port="+sub(3))
	} else {
		out = append(out, "no-authority")
	}
	path, _ := group(3)
	out = append(out, "path="+r.pieces(path))
	if _, ok := group(4); ok {
		q, _ := group(5)
		out = append(out, "query="+r.pieces(q))
	} else {
		out = append(out, "no-query")
	}
	if f, ok := group(6); ok {
		out = append(out, "fragment="+r.pieces(f))
	}
	return strings.Join(out, " ")
}

// pieces cuts a component at every raw reserved character and decodes the
// data in between.
func (r *reference) pieces(c string) string {
	var out []string
	start := 0
	flush := func(end int) {
		if end > start {
			out = append(out, fmt.Sprintf("%q", r.text(c[start:end])))
		}
	}
	for i := 0; i < len(c); i++ {
		if strings.IndexByte(":/?#[]@!$&'()*+,;=", c[i]) >= 0 {
			flush(i)
			out = append(out, "<"+c[i:i+1]+">")
			start = i + 1
		}
	}
	flush(len(c))
	return "[" + strings.Join(out, " ") + "]"
}

// text decodes data once, then reads any escape of a byte >= 0x80 behind
// any number of encoded percent signs as that byte, until nothing changes.
func (r *reference) text(data string) string {
	t := decodeAll(data)
	for {
		next := r.multi.ReplaceAllStringFunc(t, func(esc string) string {
			h := esc[len(esc)-2:]
			return string([]byte{unhex(h[0])<<4 | unhex(h[1])})
		})
		if next == t {
			return t
		}
		t = next
	}
}

// decodeAll decodes every well-formed escape once; malformed ones stay.
func decodeAll(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

// The reference model must itself tell meanings apart, or the fuzz tests
// built on it could not fail.
func TestReference(t *testing.T) {
	ref := newReference()
	same := [][2]string{
		{wikiRaw, wikiDouble},
		{wikiEnc, "https://wiki.example/wiki/%2525E7%252589%2525B9%2525E5%252588%2525A5:OpenIDConnectCallback"},
		{"HTTPS://A.example/%7e", "https://a.example/~"},
	}
	for _, p := range same {
		if a, b := ref.meaning(p[0]), ref.meaning(p[1]); a != b {
			t.Errorf("reference: %q and %q differ:\n%s\n%s", p[0], p[1], a, b)
		}
	}
	differ := [][2]string{
		{"https://a.example/a/b", "https://a.example/a%2Fb"},
		{"https://a.example/cb?x", "https://a.example/cb%3Fx"},
		{"https://a.example/cb", "https://a.example/cb?"},
		{"https://a.example/cb?a=1&b=2", "https://a.example/cb?b=2&a=1"},
		{"https://a.example:1/", "https://a.example/"},
		{"https://a.example:/", "https://a.example/"},
		{"https://a.example/", "https://b.example/"},
		{"https://a.example/", "http://a.example/"},
		{"https://a.example/", "https://u@a.example/"},
		{"https://a.example", "https://a.example/"},
		{"/cb", "//cb"},
		{"https://a.example/x+y", "https://a.example/x%20y"},
		{"https://a.example/%2525", "https://a.example/%25"},
		{"https://a.example/A", "https://a.example/a"},
		{"https://a.example/%41", "https://a.example/%2541"},
	}
	for _, p := range differ {
		if a, b := ref.meaning(p[0]), ref.meaning(p[1]); a == b {
			t.Errorf("reference: %q and %q mean the same: %s", p[0], p[1], a)
		}
	}
}
