package redirecturi

import (
	"strings"
	"unicode/utf8"
)

// canon is the canonical form of a valid redirect URI; two valid URIs are
// equivalent exactly when their canon values are equal. See the package
// documentation for the rules.
type canon struct {
	scheme       string // lowercased; "" for a relative reference
	hasAuthority bool
	host         string // lowercased, escapes normalized
	port         string // as written; "" when absent
	hasPort      bool
	path         string
	query        string
	hasQuery     bool
}

// String renders the canonical form as a URI.
func (c canon) String() string {
	var b strings.Builder
	if c.scheme != "" {
		b.WriteString(c.scheme)
		b.WriteByte(':')
	}
	if c.hasAuthority {
		b.WriteString("//")
		b.WriteString(c.host)
		if c.hasPort {
			b.WriteByte(':')
			b.WriteString(c.port)
		}
	}
	b.WriteString(c.path)
	if c.hasQuery {
		b.WriteByte('?')
		b.WriteString(c.query)
	}
	return b.String()
}

// canonicalize returns the canonical form of s, which must satisfy Valid.
func canonicalize(s string) canon {
	p := split(s)
	c := canon{
		scheme:       strings.ToLower(p.scheme),
		hasAuthority: p.hasAuthority,
		path:         normalize(p.path),
		query:        normalize(p.query),
		hasQuery:     p.hasQuery,
	}
	if p.hasAuthority {
		host, port, hasPort := hostPort(p.authority)
		c.host, c.port, c.hasPort = lowerOutsideEscapes(normalize(host)), port, hasPort
	}
	// Multiply-encoded non-ASCII text is collapsed only when every encoded
	// percent sign in the path and query belongs to such text (see the
	// package documentation).
	path, okPath := collapse(c.path)
	query, okQuery := collapse(c.query)
	if okPath && okQuery {
		c.path, c.query = path, query
	}
	return c
}

const upperHex = "0123456789ABCDEF"

// normalize puts the escapes of one component in normal form: an escaped
// unreserved character is decoded, a raw non-ASCII byte is escaped, and the
// hex digits of every remaining escape are uppercased. Nothing else changes:
// reserved characters, escaped or not, stay exactly as they are.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if unreserved(v) {
				b.WriteByte(v)
			} else {
				writeEscape(&b, v)
			}
			i += 2
		case c >= 0x80:
			writeEscape(&b, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func writeEscape(b *strings.Builder, v byte) {
	b.WriteByte('%')
	b.WriteByte(upperHex[v>>4])
	b.WriteByte(upperHex[v&15])
}

// lowerOutsideEscapes lowercases the ASCII letters of a normalized host,
// leaving the (uppercase) hex digits of escapes alone.
func lowerOutsideEscapes(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '%':
			i += 2
		case 'A' <= c && c <= 'Z':
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// collapse rewrites every multiply-encoded non-ASCII character of a
// normalized component as a single-encoded one: "%25E7%2589%25B9" (and
// "%2525E7%252589%2525B9", ...) becomes "%E7%89%B9". ok is false, and s is
// to be left alone, when the component holds an encoded percent sign ("%25")
// that does not start such a character.
func collapse(s string) (out string, ok bool) {
	if !strings.Contains(s, "%25") {
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if !strings.HasPrefix(s[i:], "%25") {
			b.WriteByte(s[i])
			i++
			continue
		}
		char, width := multiEncodedChar(s[i:])
		if width == 0 {
			return "", false
		}
		for j := 0; j < len(char); j++ {
			writeEscape(&b, char[j])
		}
		i += width
	}
	return b.String(), true
}

// multiEncodedChar reads, at the start of s, one UTF-8 encoded non-ASCII
// character all of whose bytes are percent-encoded at the same depth of at
// least 2: each byte written as "%", then "25" depth-1 times, then its two hex
// digits. It returns the character's bytes and the width consumed, or width 0.
func multiEncodedChar(s string) (char []byte, width int) {
	lead, depth, w := multiEscape(s)
	if w == 0 || depth < 2 {
		return nil, 0
	}
	n := 0
	switch {
	case 0xC2 <= lead && lead <= 0xDF:
		n = 2
	case 0xE0 <= lead && lead <= 0xEF:
		n = 3
	case 0xF0 <= lead && lead <= 0xF4:
		n = 4
	default:
		return nil, 0
	}
	char = append(make([]byte, 0, 4), lead)
	width = w
	for len(char) < n {
		b, d, w := multiEscape(s[width:])
		if w == 0 || d != depth {
			return nil, 0
		}
		char = append(char, b)
		width += w
	}
	if r, size := utf8.DecodeRune(char); size != n || r == utf8.RuneError && size == 1 {
		return nil, 0
	}
	return char, width
}

// multiEscape reads "%" ("25")* HH at the start of a normalized component,
// where HH is the hex of a byte >= 0x80 (in either case: after the first
// level the digits are ordinary characters). depth is the number of
// encodings: 1 for "%E7", 2 for "%25E7", 3 for "%2525E7".
func multiEscape(s string) (b byte, depth, width int) {
	if s == "" || s[0] != '%' {
		return 0, 0, 0
	}
	i, depth := 1, 1
	for strings.HasPrefix(s[i:], "25") {
		i += 2
		depth++
	}
	if i+2 > len(s) || !isHex(s[i]) || !isHex(s[i+1]) {
		return 0, 0, 0
	}
	b = unhex(s[i])<<4 | unhex(s[i+1])
	if b < 0x80 {
		return 0, 0, 0
	}
	return b, depth, i + 2
}
