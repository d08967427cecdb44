package signer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unsafe"

	"github.com/go-jose/go-jose/v4"
)

// compactSigner writes RS256 and ES256 compact JWS (RFC 7515 §7.1)
// directly: the protected header is encoded once per key, and a signature
// costs one hash, one private-key operation and one buffer, instead of a
// JSON encoding of the header and several copies per token (the refresh
// grant signs two tokens per request).
type compactSigner struct {
	// prefix is the base64url protected header and its '.'.
	prefix string
	ec     *ecdsa.PrivateKey
	rsa    *rsa.PrivateKey
}

// newCompactSigner returns nil for a key it does not handle (go-jose's
// signer then signs).
func newCompactSigner(jwk jose.JSONWebKey) (*compactSigner, error) {
	c := &compactSigner{}
	switch k := jwk.Key.(type) {
	case *ecdsa.PrivateKey:
		if jwk.Algorithm != string(jose.ES256) || k.Curve != elliptic.P256() {
			return nil, nil
		}
		c.ec = k
	case *rsa.PrivateKey:
		if jwk.Algorithm != string(jose.RS256) {
			return nil, nil
		}
		c.rsa = k
	default:
		return nil, nil
	}
	// The header go-jose writes for these keys, field for field.
	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid,omitempty"`
		Typ string `json:"typ"`
	}{jwk.Algorithm, jwk.KeyID, "JWT"})
	if err != nil {
		return nil, fmt.Errorf("signer: key %s: %w", jwk.KeyID, err)
	}
	c.prefix = base64.RawURLEncoding.EncodeToString(hdr) + "."
	return c, nil
}

func (c *compactSigner) sign(payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	sigLen := 64
	if c.rsa != nil {
		sigLen = c.rsa.Size()
	}
	buf := make([]byte, 0, len(c.prefix)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(sigLen))
	buf = append(buf, c.prefix...)
	buf = enc.AppendEncode(buf, payload)
	digest := sha256.Sum256(buf)
	var sig []byte
	if c.ec != nil {
		// JWS ES256 is r || s, each 32 bytes big-endian (RFC 7518 §3.4).
		r, s, err := ecdsa.Sign(rand.Reader, c.ec, digest[:])
		if err != nil {
			return "", fmt.Errorf("signer: sign: %w", err)
		}
		var rs [64]byte
		r.FillBytes(rs[:32])
		s.FillBytes(rs[32:])
		sig = rs[:]
	} else {
		var err error
		if sig, err = rsa.SignPKCS1v15(nil, c.rsa, crypto.SHA256, digest[:]); err != nil {
			return "", fmt.Errorf("signer: sign: %w", err)
		}
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	// buf was sized for the whole token, is not used after this and
	// escapes to nobody else: the string shares its bytes instead of
	// copying them (a token is about 1 KB, two per refresh).
	return unsafe.String(unsafe.SliceData(buf), len(buf)), nil
}
