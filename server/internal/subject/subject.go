// Package subject encodes the OpenID Connect "sub" claim exactly as Dex does,
// so that users keep their identity (and their RBAC bindings) when Dex is
// replaced by torii.
//
// Dex's sub is the unpadded base64url encoding (RFC 4648 §5, no "=") of a
// protobuf message with two proto3 string fields:
//
//	field 1 (user_id):      the user's ID as returned by the connector
//	field 2 (connector_id): the ID of the connector that authenticated them
//
// Each field is written as its tag byte (0x0a for field 1, 0x12 for field 2:
// field number << 3 | wire type 2), the length as a base-128 varint, then the
// bytes. proto3 omits a string field whose value is empty, so an empty user
// ID or connector ID contributes nothing.
//
// Decode accepts exactly what Encode produces (canonical form): fields in
// order, no empty or repeated fields, minimal varints, no unknown fields,
// strict unpadded base64url. So Decode(s) succeeding implies
// Encode(Decode(s)) == s, and one identity has one sub. Field values are
// carried as bytes; Encode does not reject invalid UTF-8 (Dex's protobuf
// library would), and Decode does not either, so every string round-trips.
package subject

import (
	"encoding/base64"
	"errors"
	"fmt"
)

const (
	tagUserID      = 1<<3 | 2 // field 1, wire type 2 (length-delimited)
	tagConnectorID = 2<<3 | 2 // field 2, wire type 2
)

// ErrMalformed is wrapped by every error Decode returns.
var ErrMalformed = errors.New("malformed subject")

// Encode returns the sub for a user ID and connector ID.
func Encode(userID, connectorID string) string {
	b := make([]byte, 0, 2*(1+5)+len(userID)+len(connectorID))
	b = appendField(b, tagUserID, userID)
	b = appendField(b, tagConnectorID, connectorID)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode returns the user ID and connector ID a sub encodes.
func Decode(sub string) (userID, connectorID string, err error) {
	if sub == "" {
		return "", "", fmt.Errorf("%w: empty", ErrMalformed)
	}
	// encoding/base64 skips \r and \n even in strict mode; a sub has neither.
	for i := 0; i < len(sub); i++ {
		if !urlAlphabet(sub[i]) {
			return "", "", fmt.Errorf("%w: not unpadded base64url", ErrMalformed)
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(sub)
	if err != nil {
		return "", "", fmt.Errorf("%w: not unpadded base64url", ErrMalformed)
	}
	rest := b
	var fields [2]string
	last := byte(0)
	for len(rest) > 0 {
		tag := rest[0]
		if tag != tagUserID && tag != tagConnectorID {
			return "", "", fmt.Errorf("%w: unexpected protobuf tag 0x%02x", ErrMalformed, tag)
		}
		if tag <= last {
			return "", "", fmt.Errorf("%w: protobuf field repeated or out of order", ErrMalformed)
		}
		last = tag
		n, size := uvarint(rest[1:])
		if size <= 0 {
			return "", "", fmt.Errorf("%w: bad protobuf length", ErrMalformed)
		}
		rest = rest[1+size:]
		if n == 0 {
			return "", "", fmt.Errorf("%w: empty protobuf field (proto3 omits those)", ErrMalformed)
		}
		if n > uint64(len(rest)) {
			return "", "", fmt.Errorf("%w: truncated protobuf field", ErrMalformed)
		}
		fields[tag>>3-1] = string(rest[:n])
		rest = rest[n:]
	}
	return fields[0], fields[1], nil
}

func urlAlphabet(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

func appendField(b []byte, tag byte, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, tag)
	for n := uint64(len(s)); ; n >>= 7 {
		if n < 0x80 {
			b = append(b, byte(n))
			break
		}
		b = append(b, byte(n)|0x80)
	}
	return append(b, s...)
}

// uvarint decodes a minimal base-128 varint of at most 64 bits. It returns
// size 0 when b ends inside the varint and -1 when the varint overflows or
// is not minimal (a trailing 0x00 continuation byte).
func uvarint(b []byte) (uint64, int) {
	var n uint64
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		if i == 9 && c > 1 {
			return 0, -1
		}
		n |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if i > 0 && c == 0 {
				return 0, -1
			}
			return n, i + 1
		}
	}
	if len(b) >= 10 {
		return 0, -1
	}
	return 0, 0
}
