package signer

import (
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// TestCompactMatchesJose: the direct signer writes exactly go-jose's
// protected header, and go-jose verifies its signatures with the public key.
func TestCompactMatchesJose(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			raw, err := generateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			var jwk jose.JSONWebKey
			if err := jwk.UnmarshalJSON(raw); err != nil {
				t.Fatal(err)
			}
			k, err := newSigningKey(jwk)
			if err != nil {
				t.Fatal(err)
			}
			if k.compact == nil {
				t.Fatalf("%s key not signed directly", alg)
			}
			payload := []byte(`{"iss":"https://torii.example","sub":"x","groups":["a","b"]}`)
			tok, err := k.compact.sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := k.signer.Sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			refTok, err := ref.CompactSerialize()
			if err != nil {
				t.Fatal(err)
			}
			got, want := strings.Split(tok, "."), strings.Split(refTok, ".")
			if len(got) != 3 || got[0] != want[0] || got[1] != want[1] {
				t.Fatalf("token %q\n  header and payload differ from go-jose's %q", tok, refTok)
			}
			parsed, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			out, err := parsed.Verify(jwk.Public())
			if err != nil || string(out) != string(payload) {
				t.Fatalf("go-jose verification: %q, %v", out, err)
			}
			// A changed payload does not verify (the signature covers it).
			forged := got[0] + "." + want[1][:len(want[1])-2] + "fQ." + got[2]
			if p, err := jose.ParseSignedCompact(forged, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}); err == nil {
				if _, err := p.Verify(jwk.Public()); err == nil {
					t.Fatal("a token with a changed payload verified")
				}
			}
		})
	}
}
