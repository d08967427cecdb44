// Package secret hashes and checks the client secrets torii stores (those
// created through the admin API; static clients keep theirs in the config).
//
// A secret torii generates has 256 random bits, so one SHA-256 is as good as
// a slow hash and keeps the token endpoint fast. A secret the caller chose
// may be guessable, so it gets bcrypt. The stored form says which.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

const sha256Prefix = "sha256:"

// bcryptCost is bcrypt's default: what Dex accepts as the minimum.
const bcryptCost = bcrypt.DefaultCost

// maxLen bounds a secret (bcrypt reads at most 72 bytes; longer chosen
// secrets are refused rather than silently truncated).
const maxLen = 72

// Generate returns a new random secret (256 bits, URL-safe base64).
func Generate() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashGenerated hashes a secret made by Generate.
func HashGenerated(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return []byte(sha256Prefix + hex.EncodeToString(sum[:]))
}

// HashChosen hashes a secret the caller chose, with bcrypt.
func HashChosen(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty secret")
	}
	if len(s) > maxLen {
		return nil, errors.New("a client secret may be at most 72 bytes long")
	}
	return bcrypt.GenerateFromPassword([]byte(s), bcryptCost)
}

// Verify reports whether s is the secret whose stored hash is h. It takes
// the same time for any wrong secret of a given hash kind.
func Verify(h []byte, s string) bool {
	if rest, ok := strings.CutPrefix(string(h), sha256Prefix); ok {
		want, err := hex.DecodeString(rest)
		if err != nil || len(want) != sha256.Size {
			return false
		}
		sum := sha256.Sum256([]byte(s))
		return subtle.ConstantTimeCompare(sum[:], want) == 1
	}
	if len(s) > maxLen {
		return false
	}
	return bcrypt.CompareHashAndPassword(h, []byte(s)) == nil
}
