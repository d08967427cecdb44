// Package pkce checks Proof Key for Code Exchange parameters (RFC 7636).
//
// At /auth a client sends code_challenge and code_challenge_method; they are
// checked with ValidChallenge and stored with the authorization request. At
// /token the client proves it started the flow by sending code_verifier,
// checked with Verify.
//
// Both methods of RFC 7636 are supported: "S256", where the challenge is
// BASE64URL(SHA256(verifier)) without padding, and "plain", where the
// challenge is the verifier itself. An empty method means "plain" (RFC 7636
// §4.3). Method names are case-sensitive.
package pkce

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
)

// Methods.
const (
	S256  = "S256"
	Plain = "plain"
)

// Bounds on the length of a code verifier and of a code challenge
// (RFC 7636 §4.1 and §4.2).
const (
	MinLength = 43
	MaxLength = 128
)

// s256Length is the length of an unpadded base64url SHA-256 digest.
const s256Length = 43

// Errors, for errors.Is. The returned errors wrap these and say more.
var (
	ErrMethod    = errors.New("unsupported code_challenge_method")
	ErrChallenge = errors.New("malformed code_challenge")
	ErrVerifier  = errors.New("malformed code_verifier")
	ErrMismatch  = errors.New("code_verifier does not match code_challenge")
)

// ValidChallenge reports whether a code_challenge and its method, as sent to
// /auth, are well formed. The method must be "S256" or "plain" (callers map
// an absent method to "plain" first). The challenge must be 43 to 128
// characters of [A-Za-z0-9-._~]; an S256 challenge must moreover be the
// 43-character unpadded base64url encoding of a 32-byte digest, since no
// other value could ever match a verifier.
func ValidChallenge(method, challenge string) error {
	switch method {
	case S256, Plain:
	default:
		return fmt.Errorf("%w %q: use S256 or plain", ErrMethod, method)
	}
	if err := checkToken(challenge); err != nil {
		return fmt.Errorf("%w: %v", ErrChallenge, err)
	}
	if method == S256 {
		if len(challenge) != s256Length {
			return fmt.Errorf("%w: an S256 challenge is %d characters (unpadded base64url of a SHA-256 digest), got %d",
				ErrChallenge, s256Length, len(challenge))
		}
		if _, err := base64.RawURLEncoding.Strict().DecodeString(challenge); err != nil {
			return fmt.Errorf("%w: an S256 challenge must be canonical unpadded base64url", ErrChallenge)
		}
	}
	return nil
}

// Verify checks a code_verifier sent to /token against the challenge and
// method stored at /auth. An empty method means "plain". The comparison is
// in constant time for equal lengths.
func Verify(method, challenge, verifier string) error {
	if method == "" {
		method = Plain
	}
	if method != S256 && method != Plain {
		return fmt.Errorf("%w %q", ErrMethod, method)
	}
	if challenge == "" {
		return fmt.Errorf("%w: empty", ErrChallenge)
	}
	if err := checkToken(verifier); err != nil {
		return fmt.Errorf("%w: %v", ErrVerifier, err)
	}
	want := verifier
	if method == S256 {
		want = Challenge(verifier)
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) != 1 {
		return ErrMismatch
	}
	return nil
}

// Challenge returns the S256 code_challenge of a verifier:
// BASE64URL-ENCODE(SHA256(ASCII(verifier))), unpadded.
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// checkToken enforces the ABNF shared by verifiers and challenges:
// 43*128 of ALPHA / DIGIT / "-" / "." / "_" / "~".
func checkToken(s string) error {
	if n := len(s); n < MinLength || n > MaxLength {
		return fmt.Errorf("length must be %d to %d characters, got %d", MinLength, MaxLength, n)
	}
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			return fmt.Errorf("character at offset %d is not one of A-Z a-z 0-9 - . _ ~", i)
		}
	}
	return nil
}

func unreserved(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	return c == '-' || c == '.' || c == '_' || c == '~'
}
