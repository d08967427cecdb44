package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// newToken returns 256 random bits, base64url encoded: codes, refresh
// tokens, auth request IDs and CSRF cookies.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics on a broken source)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is how a token is stored and looked up: only the SHA-256 of a
// handed-out value ever reaches storage.
func hashToken(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// halfHash is the OIDC at_hash / c_hash: the left half of the SHA-256 of the
// value (SHA-256 matches both RS256 and ES256).
func halfHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
