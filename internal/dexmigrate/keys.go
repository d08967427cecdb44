package dexmigrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/torii-idp/torii/storage"
)

// importKeys adds Dex's public keys to torii's retired keys: each
// verification key until the expiry Dex gave it, and the signing key until
// the last token it can have signed has expired. torii's own signer then
// creates torii's active key; Dex's private key is never copied.
func importKeys(ctx context.Context, k *Keys, store storage.Storage, o Options, now time.Time, rep *Report) error {
	if k == nil {
		rep.add(Item{Kind: KindKey, ID: "-"}, Skipped, "Dex never stored signing keys")
		return nil
	}
	type candidate struct {
		item   Item
		jwk    []byte
		expiry time.Time
	}
	var cands []candidate
	// Dex signs with its key until NextRotation (longer if it was down), so
	// nothing it signed outlives max(now, NextRotation) + idTokens.
	last := now
	if k.NextRotation.After(last) {
		last = k.NextRotation
	}
	all := append([]VerificationKey{{JWK: k.SigningKeyPub, Expiry: last.Add(o.DexIDTokens + retireMargin)}}, k.VerificationKeys...)
	for i, vk := range all {
		role := "verification key"
		if i == 0 {
			role = "signing key"
		}
		pub, kid, err := publicKey(vk.JWK)
		if err != nil {
			rep.add(Item{Kind: KindKey, ID: "?", Detail: role}, Skipped, err.Error())
			continue
		}
		item := Item{Kind: KindKey, ID: kid, Detail: role}
		if !now.Before(vk.Expiry) {
			rep.add(item, Skipped, "expired: no token it signed is still valid")
			continue
		}
		cands = append(cands, candidate{item, pub, vk.Expiry})
	}
	if len(cands) == 0 {
		return nil
	}
	stored, err := store.GetKeys(ctx)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("torii storage: %w", err)
	}
	fresh := map[string]bool{}
	for _, c := range cands {
		if hasKid(stored, c.item.ID) {
			rep.add(c.item, Unchanged, "already in torii's keys")
			continue
		}
		fresh[c.item.ID] = true
		rep.add(c.item, Imported, "published until "+c.expiry.UTC().Format(time.RFC3339))
	}
	if o.DryRun || len(fresh) == 0 {
		return nil
	}
	err = store.UpdateKeys(ctx, func(cur storage.Keys) (storage.Keys, error) {
		for _, c := range cands {
			if fresh[c.item.ID] && !hasKid(cur, c.item.ID) {
				cur.Retired = append(cur.Retired, storage.RetiredKey{JWK: c.jwk, Expiry: c.expiry})
			}
		}
		return cur, nil
	})
	if err != nil {
		return fmt.Errorf("torii storage: %w", err)
	}
	return nil
}

// publicKey checks a Dex JWK and returns its public half as torii stores
// retired keys (JSON with kid, alg and use) and its kid.
func publicKey(raw []byte) ([]byte, string, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return nil, "", fmt.Errorf("unreadable JWK: %w", err)
	}
	if !jwk.Valid() || jwk.KeyID == "" {
		return nil, "", errors.New("incomplete JWK (no key or no kid)")
	}
	pub := jwk.Public()
	if pub.Algorithm == "" {
		pub.Algorithm = string(jose.RS256) // Dex signs with RS256 keys
	}
	if pub.Use == "" {
		pub.Use = "sig"
	}
	b, err := json.Marshal(pub)
	if err != nil {
		return nil, "", err
	}
	return b, jwk.KeyID, nil
}

// hasKid reports whether any key torii keeps has this kid.
func hasKid(k storage.Keys, kid string) bool {
	for _, raw := range append([][]byte{k.Active, k.Next}, retiredJWKs(k)...) {
		if len(raw) == 0 {
			continue
		}
		var head struct {
			Kid string `json:"kid"`
		}
		if json.Unmarshal(raw, &head) == nil && head.Kid == kid {
			return true
		}
	}
	return false
}

func retiredJWKs(k storage.Keys) [][]byte {
	out := make([][]byte, len(k.Retired))
	for i, r := range k.Retired {
		out[i] = r.JWK
	}
	return out
}
