package signer

import (
	"context"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// SignTyped is Sign with another typ header, for tokens that must not be
// mistaken for an ID token (a Logout Token is typ logout+jwt, Back-Channel
// Logout 1.0 §2.4). It builds a signer per call: these tokens are rare.
func (s *Signer) SignTyped(ctx context.Context, payload []byte, typ string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	k := s.keys.Load().signingKeyAt(s.now())
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.alg), Key: k.jwk},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("signer: key %s: %w", k.kid, err)
	}
	jws, err := js.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("signer: sign: %w", err)
	}
	return jws.CompactSerialize()
}
