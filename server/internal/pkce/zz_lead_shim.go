// TEMPORARY stand-in written by the lead so the server builds; the redirect/sub/PKCE
// helper replaces this package: delete this file when your real files land.

package pkce

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

func Verify(method, challenge, verifier string) error {
	if method == "S256" {
		s := sha256.Sum256([]byte(verifier))
		if base64.RawURLEncoding.EncodeToString(s[:]) == challenge {
			return nil
		}
		return errors.New("mismatch")
	}
	if verifier == challenge {
		return nil
	}
	return errors.New("mismatch")
}

func ValidChallenge(method, challenge string) error {
	if method != "S256" && method != "plain" {
		return errors.New("bad method")
	}
	if len(challenge) < 43 || len(challenge) > 128 {
		return errors.New("bad length")
	}
	return nil
}
