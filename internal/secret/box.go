package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// Box seals small values kept in storage (an upstream provider's refresh
// token) with AES-256-GCM, so that a copy of the database alone does not
// hand them out. The key is derived from a secret that lives only in the
// config.
type Box struct {
	aead cipher.AEAD
}

// boxVersion is the first byte of a sealed value, so the format can change.
const boxVersion = 1

// NewBox derives the key from secret with HKDF-SHA256; purpose separates
// the keys of different users of one secret.
func NewBox(secret []byte, purpose string) (*Box, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, "torii box: "+purpose, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts and authenticates v.
func (b *Box) Seal(v []byte) []byte {
	out := make([]byte, 1+b.aead.NonceSize(), 1+b.aead.NonceSize()+len(v)+b.aead.Overhead())
	out[0] = boxVersion
	rand.Read(out[1:])
	return b.aead.Seal(out, out[1:], v, out[:1])
}

// ErrSealed is returned by Open for a value this box did not seal (another
// key, a changed byte).
var ErrSealed = errors.New("secret: sealed value cannot be opened")

// Open returns the value Seal sealed.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != boxVersion {
		return nil, ErrSealed
	}
	v, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], sealed[:1])
	if err != nil {
		return nil, ErrSealed
	}
	return v, nil
}
