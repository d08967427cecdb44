package redirecturi

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every error Valid returns.
var ErrInvalid = errors.New("invalid redirect URI")

// Valid reports whether s is a well-formed redirect URI. It does not say
// whether s is registered for a client; Match does.
//
// Accepted: an absolute URI (RFC 3986 syntax, plus raw non-ASCII characters
// as in an IRI) or a relative reference that is an absolute path ("/cb",
// not "//host/cb" nor "cb"; such a reference only ever matches a registered
// relative URI). Refused:
//   - the empty string; a fragment ("#", RFC 6749 §3.1.2);
//   - control characters, space, and the ASCII characters RFC 3986 never
//     allows unencoded: " < > \ ^ ` { | }; "[" and "]" outside an IPv6 host;
//   - "%" not followed by two hex digits; raw bytes that are not UTF-8;
//   - userinfo ("user@host"), an empty or non-numeric port, a port > 65535;
//   - http and https URIs without a host; the schemes javascript, data and
//     vbscript;
//   - anything net/url cannot parse (the server builds the redirect with it).
func Valid(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrInvalid)
	}
	if err := checkChars(s); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	p := split(s)
	if err := p.check(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := url.Parse(s); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, errors.Unwrap(err))
	}
	return nil
}

// checkChars enforces the character-level rules that hold for the whole URI.
func checkChars(s string) error {
	nonASCII := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("control character 0x%02x at offset %d", c, i)
		case c >= 0x80:
			nonASCII = true
		case c == '#':
			return errors.New("a redirect URI must not contain a fragment")
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return fmt.Errorf("%% at offset %d is not followed by two hex digits", i)
			}
		case !unreserved(c) && !reserved(c):
			return fmt.Errorf("character %q at offset %d is not allowed in a URI", c, i)
		}
	}
	if nonASCII && !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	return nil
}

// parts is a URI split per RFC 3986 Appendix B, with no decoding. The
// fragment is not kept: Valid refuses URIs that have one.
type parts struct {
	scheme       string
	hasScheme    bool
	authority    string
	hasAuthority bool
	path         string
	query        string
	hasQuery     bool
}

// split follows the regular expression of RFC 3986 Appendix B:
// ^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?
func split(s string) parts {
	var p parts
	if i := strings.IndexAny(s, ":/?#"); i > 0 && s[i] == ':' {
		p.scheme, p.hasScheme, s = s[:i], true, s[i+1:]
	}
	if rest, ok := strings.CutPrefix(s, "//"); ok {
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		p.authority, p.hasAuthority, s = rest[:end], true, rest[end:]
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	p.path, p.query, p.hasQuery = strings.Cut(s, "?")
	return p
}

// hostPort splits an authority without userinfo into host and port.
func hostPort(authority string) (host, port string, hasPort bool) {
	if strings.HasPrefix(authority, "[") {
		if end := strings.IndexByte(authority, ']'); end >= 0 {
			host, rest := authority[:end+1], authority[end+1:]
			port, hasPort := strings.CutPrefix(rest, ":")
			if !hasPort && rest != "" {
				// Junk after "]"; keep it in the host so it is compared, check refuses it.
				return authority, "", false
			}
			return host, port, hasPort
		}
		return authority, "", false
	}
	host, port, hasPort = strings.Cut(authority, ":")
	return host, port, hasPort
}

var refusedSchemes = []string{"javascript", "data", "vbscript"}

func (p parts) check() error {
	if !p.hasScheme {
		if p.hasAuthority {
			return errors.New("a network-path reference (//host/...) is not allowed")
		}
		if !strings.HasPrefix(p.path, "/") {
			return errors.New("a relative redirect URI must be an absolute path starting with /")
		}
	}
	needHost := false
	if p.hasScheme {
		if !isScheme(p.scheme) {
			return fmt.Errorf("malformed scheme %q", p.scheme)
		}
		scheme := strings.ToLower(p.scheme)
		for _, r := range refusedSchemes {
			if scheme == r {
				return fmt.Errorf("scheme %q is not allowed", scheme)
			}
		}
		needHost = scheme == "http" || scheme == "https"
		if needHost && !p.hasAuthority {
			return fmt.Errorf("an %s URI needs a host", scheme)
		}
	}
	if p.hasAuthority {
		if err := checkAuthority(p.authority, needHost); err != nil {
			return err
		}
	}
	if strings.ContainsAny(p.path, "[]") || strings.ContainsAny(p.query, "[]") {
		return errors.New(`"[" and "]" are only allowed around an IPv6 host`)
	}
	return nil
}

func checkAuthority(a string, needHost bool) error {
	if strings.Contains(a, "@") {
		return errors.New("userinfo (user@host) is not allowed")
	}
	host, port, hasPort := hostPort(a)
	if hasPort {
		if port == "" {
			return errors.New("empty port")
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil || strings.TrimLeft(port, "0123456789") != "" {
			return fmt.Errorf("malformed port %q", port)
		}
	}
	if strings.HasPrefix(host, "[") {
		addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
		if !strings.HasSuffix(host, "]") || err != nil || !addr.Is6() || addr.Zone() != "" {
			return fmt.Errorf("malformed IPv6 host %q", host)
		}
		return nil
	}
	if strings.ContainsAny(host, "[]") {
		return fmt.Errorf("malformed host %q", host)
	}
	if needHost && host == "" {
		return errors.New("empty host")
	}
	return nil
}

// isScheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1).
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 §2.3).
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// reserved: gen-delims and sub-delims (RFC 3986 §2.2).
func reserved(c byte) bool {
	return strings.IndexByte(":/?#[]@!$&'()*+,;=", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
