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
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/torii-idp/torii/storage"
)

// rsaBits is the modulus size of generated RS256 keys.
const rsaBits = 2048

// generateKey creates a private key for alg and returns it as a private JWK
// (JSON) whose kid is its RFC 7638 SHA-256 thumbprint.
func generateKey(alg string) ([]byte, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case string(jose.RS256):
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case string(jose.ES256):
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("signer: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("signer: generate %s key: %w", alg, err)
	}
	jwk := jose.JSONWebKey{Key: priv, Algorithm: alg, Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signer: thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return json.Marshal(jwk)
}

// parseKey parses a stored JWK and checks that it carries a kid, a supported
// alg matching its key type and, when private is set, a private key.
func parseKey(raw []byte, private bool) (jose.JSONWebKey, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return jwk, fmt.Errorf("signer: parse stored key: %w", err)
	}
	if !jwk.Valid() || jwk.KeyID == "" {
		return jwk, errors.New("signer: stored key is incomplete")
	}
	if private == jwk.IsPublic() {
		return jwk, fmt.Errorf("signer: stored key %s: wrong kind (private wanted: %v)", jwk.KeyID, private)
	}
	ok := false
	switch k := jwk.Key.(type) {
	case *rsa.PrivateKey:
		ok = jwk.Algorithm == string(jose.RS256)
		if ok {
			if err := k.Validate(); err != nil {
				return jwk, fmt.Errorf("signer: stored key %s: %w", jwk.KeyID, err)
			}
			k.Precompute()
		}
	case *rsa.PublicKey:
		ok = jwk.Algorithm == string(jose.RS256)
	case *ecdsa.PrivateKey:
		ok = jwk.Algorithm == string(jose.ES256) && k.Curve == elliptic.P256()
	case *ecdsa.PublicKey:
		ok = jwk.Algorithm == string(jose.ES256) && k.Curve == elliptic.P256()
	}
	if !ok {
		return jwk, fmt.Errorf("signer: stored key %s: key type does not match alg %q", jwk.KeyID, jwk.Algorithm)
	}
	return jwk, nil
}

// publicJWK turns a stored private JWK into the public JWK kept for a retired key.
func publicJWK(raw []byte) ([]byte, error) {
	jwk, err := parseKey(raw, true)
	if err != nil {
		return nil, err
	}
	return jwk.Public().MarshalJSON()
}

// signingKey is a parsed private key ready to sign.
type signingKey struct {
	kid    string
	alg    string
	signer jose.Signer
	// compact signs RS256 and ES256 without go-jose (nil: use signer).
	compact *compactSigner
	jwk     jose.JSONWebKey // for tokens of another typ (SignTyped)
}

// verifyKey is a parsed public key; expiry is zero for the active and next keys.
type verifyKey struct {
	alg    jose.SignatureAlgorithm
	key    any
	expiry time.Time
}

// keySet is everything derived from one stored storage.Keys: built once per
// load or rotation and then only read, so Sign, Verify and JWKS never parse.
type keySet struct {
	stored       storage.Keys
	active, next *signingKey
	nextRotation time.Time
	verify       map[string]verifyKey
	jwks         []byte
	etag         string
	// staleAt is the earliest expiry of a retired key in the JWKS; from then
	// on the set is rebuilt (without touching storage) to drop that key.
	staleAt time.Time
}

func newSigningKey(jwk jose.JSONWebKey) (*signingKey, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(jwk.Algorithm), Key: jwk}, opts)
	if err != nil {
		return nil, fmt.Errorf("signer: key %s: %w", jwk.KeyID, err)
	}
	c, err := newCompactSigner(jwk)
	if err != nil {
		return nil, err
	}
	return &signingKey{kid: jwk.KeyID, alg: jwk.Algorithm, signer: s, compact: c, jwk: jwk}, nil
}

// buildKeySet parses k. Retired keys already expired at now are left out.
func buildKeySet(k storage.Keys, now time.Time) (*keySet, error) {
	ks := &keySet{stored: k, nextRotation: k.NextRotation, verify: map[string]verifyKey{}}
	var set jose.JSONWebKeySet
	for _, raw := range [][]byte{k.Active, k.Next} {
		jwk, err := parseKey(raw, true)
		if err != nil {
			return nil, err
		}
		sk, err := newSigningKey(jwk)
		if err != nil {
			return nil, err
		}
		if ks.active == nil {
			ks.active = sk
		} else {
			ks.next = sk
		}
		pub := jwk.Public()
		ks.verify[jwk.KeyID] = verifyKey{alg: jose.SignatureAlgorithm(jwk.Algorithm), key: pub.Key}
		set.Keys = append(set.Keys, pub)
	}
	for _, r := range k.Retired {
		if !now.Before(r.Expiry) {
			continue
		}
		jwk, err := parseKey(r.JWK, false)
		if err != nil {
			return nil, err
		}
		if _, dup := ks.verify[jwk.KeyID]; dup {
			continue
		}
		ks.verify[jwk.KeyID] = verifyKey{alg: jose.SignatureAlgorithm(jwk.Algorithm), key: jwk.Key, expiry: r.Expiry}
		set.Keys = append(set.Keys, jwk)
		if ks.staleAt.IsZero() || r.Expiry.Before(ks.staleAt) {
			ks.staleAt = r.Expiry
		}
	}
	body, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("signer: serialize JWKS: %w", err)
	}
	sum := sha256.Sum256(body)
	ks.jwks = body
	ks.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`
	return ks, nil
}

// sameKeys reports whether two stored states are identical.
func sameKeys(a, b storage.Keys) bool {
	if string(a.Active) != string(b.Active) || string(a.Next) != string(b.Next) ||
		!a.NextRotation.Equal(b.NextRotation) || len(a.Retired) != len(b.Retired) {
		return false
	}
	for i := range a.Retired {
		if string(a.Retired[i].JWK) != string(b.Retired[i].JWK) || !a.Retired[i].Expiry.Equal(b.Retired[i].Expiry) {
			return false
		}
	}
	return true
}
