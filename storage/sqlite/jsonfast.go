package sqlite

import (
	"encoding/json"
	"strings"

	"github.com/torii-idp/torii/storage"
)

// Fast paths for the JSON columns every refresh reads and writes (scopes
// and claims, twice per rotation): encoding/json's reflection was about a
// twentieth of a refresh's CPU. They produce exactly what json.Marshal
// produces and accept exactly the plain ASCII form it produces; anything
// else (escapes, non-ASCII text, other layouts) goes through encoding/json,
// so rows written by any version decode as before.

// plainASCII reports whether json.Marshal writes s between quotes as is.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func appendJSONString(b []byte, s string) []byte {
	if plainASCII(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

func appendJSONStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// stringsValue is jsonValue for a []string.
func stringsValue(ss []string) string {
	return string(appendJSONStrings(make([]byte, 0, 64), ss))
}

// claimsValue is jsonValue for storage.Claims (field order and omitempty as
// its struct tags say).
func claimsValue(c storage.Claims) string {
	b := make([]byte, 0, 160)
	b = append(b, `{"user_id":`...)
	b = appendJSONString(b, c.UserID)
	b = append(b, `,"username":`...)
	b = appendJSONString(b, c.Username)
	if c.PreferredUsername != "" {
		b = append(b, `,"preferred_username":`...)
		b = appendJSONString(b, c.PreferredUsername)
	}
	if c.Email != "" {
		b = append(b, `,"email":`...)
		b = appendJSONString(b, c.Email)
	}
	if c.EmailVerified {
		b = append(b, `,"email_verified":true`...)
	} else {
		b = append(b, `,"email_verified":false`...)
	}
	if len(c.Groups) > 0 {
		b = append(b, `,"groups":`...)
		b = appendJSONStrings(b, c.Groups)
	}
	return string(append(b, '}'))
}

// scanner reads the plain form; ok turns false at anything else.
type scanner struct {
	s  string
	ok bool
}

func (p *scanner) eat(prefix string) bool {
	if p.ok && strings.HasPrefix(p.s, prefix) {
		p.s = p.s[len(prefix):]
		return true
	}
	return false
}

// str reads a string without escapes or non-ASCII bytes.
func (p *scanner) str() string {
	if !p.eat(`"`) {
		p.ok = false
		return ""
	}
	for i := 0; i < len(p.s); i++ {
		c := p.s[i]
		switch {
		case c == '"':
			v := p.s[:i]
			p.s = p.s[i+1:]
			return v
		case c < 0x20 || c > 0x7e || c == '\\':
			p.ok = false
			return ""
		}
	}
	p.ok = false
	return ""
}

func (p *scanner) strs() []string {
	if p.eat("null") {
		return nil
	}
	if !p.eat("[") {
		p.ok = false
		return nil
	}
	out := []string{}
	if p.eat("]") {
		return out
	}
	for p.ok {
		out = append(out, p.str())
		if p.eat("]") {
			return out
		}
		if !p.eat(",") {
			p.ok = false
		}
	}
	return nil
}

// stringsFrom is jsonFrom for a []string.
func stringsFrom(s string, v *[]string) error {
	p := scanner{s: s, ok: true}
	if out := p.strs(); p.ok && p.s == "" {
		*v = out
		return nil
	}
	return jsonFrom(s, v)
}

// claimsFrom is jsonFrom for storage.Claims: the fields in claimsValue's
// order, each optional one present or not.
func claimsFrom(s string, v *storage.Claims) error {
	p := scanner{s: s, ok: true}
	var c storage.Claims
	if !p.eat(`{"user_id":`) {
		p.ok = false
	}
	c.UserID = p.str()
	if !p.eat(`,"username":`) {
		p.ok = false
	}
	c.Username = p.str()
	if p.eat(`,"preferred_username":`) {
		c.PreferredUsername = p.str()
	}
	if p.eat(`,"email":`) {
		c.Email = p.str()
	}
	switch {
	case p.eat(`,"email_verified":true`):
		c.EmailVerified = true
	case p.eat(`,"email_verified":false`):
	default:
		p.ok = false
	}
	if p.eat(`,"groups":`) {
		c.Groups = p.strs()
	}
	if p.eat("}") && p.s == "" {
		*v = c
		return nil
	}
	return jsonFrom(s, v)
}
