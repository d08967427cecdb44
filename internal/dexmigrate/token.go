package dexmigrate

import (
	"encoding/base64"
	"errors"
)

// RefreshTokenString is the refresh token Dex hands to a client for the
// stored token (id, token): the URL-safe, unpadded base64 of the protobuf
// message internal.RefreshToken{refresh_id = 1; token = 2}. Only the hash
// of this string is written to torii's storage.
func RefreshTokenString(id, token string) string {
	var b []byte
	b = appendStringField(b, 1, id)
	b = appendStringField(b, 2, token)
	return base64.RawURLEncoding.EncodeToString(b)
}

// appendStringField appends a proto3 string field (wire type 2); proto3
// leaves empty strings out, as Dex's marshaller does.
func appendStringField(b []byte, field int, s string) []byte {
	if s == "" {
		return b
	}
	b = appendVarint(b, uint64(field)<<3|2)
	b = appendVarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// ParseRefreshTokenString is the inverse of RefreshTokenString; it accepts
// only the two string fields Dex writes.
func ParseRefreshTokenString(s string) (id, token string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", "", err
	}
	for len(b) > 0 {
		key, n := readVarint(b)
		if n == 0 {
			return "", "", errMalformed
		}
		b = b[n:]
		l, n := readVarint(b)
		if n == 0 || key&7 != 2 || uint64(len(b)-n) < l {
			return "", "", errMalformed
		}
		v := string(b[n : n+int(l)])
		b = b[n+int(l):]
		switch key >> 3 {
		case 1:
			id = v
		case 2:
			token = v
		default:
			return "", "", errMalformed
		}
	}
	return id, token, nil
}

var errMalformed = errors.New("dexmigrate: not a Dex refresh token")

// readVarint returns the value and its length, or n == 0 if b is truncated
// or the varint is longer than 10 bytes.
func readVarint(b []byte) (v uint64, n int) {
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}
