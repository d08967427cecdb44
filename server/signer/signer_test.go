package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/memory"
)

var algs = []string{"RS256", "ES256"}

func newStore(t *testing.T) storage.Storage {
	t.Helper()
	return memory.New()
}

func newSigner(t *testing.T, st storage.Storage, c *clock, alg string) *Signer {
	t.Helper()
	s, err := New(t.Context(), Config{
		Storage: st, Algorithm: alg, Now: c.Now,
		RotationPeriod: time.Hour, TokenLifetime: 30 * time.Minute,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func header(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatalf("decode header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("parse header: %v", err)
	}
	return h
}

func sign(t *testing.T, s *Signer, payload string) (token, kid string) {
	t.Helper()
	tok, err := s.Sign(t.Context(), []byte(payload))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return tok, header(t, tok)["kid"].(string)
}

type jwksDoc struct {
	Keys []struct {
		Kid string `json:"kid"`
		Kty string `json:"kty"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		D   string `json:"d"`
	} `json:"keys"`
}

func jwksKids(t *testing.T, s *Signer) []string {
	t.Helper()
	body, _, _, err := s.JWKS(t.Context())
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var doc jwksDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("JWKS body: %v", err)
	}
	var kids []string
	for _, k := range doc.Keys {
		if k.D != "" {
			t.Fatalf("JWKS leaks a private key: %s", k.Kid)
		}
		if k.Use != "sig" || k.Alg == "" || k.Kid == "" {
			t.Fatalf("JWKS key lacks use/alg/kid: %+v", k)
		}
		kids = append(kids, k.Kid)
	}
	return kids
}

func storedKeys(t *testing.T, st storage.Storage) storage.Keys {
	t.Helper()
	k, err := st.GetKeys(t.Context())
	if err != nil {
		t.Fatalf("GetKeys: %v", err)
	}
	return k
}

func TestNewCreatesThenReuses(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			st, c := newStore(t), newClock()
			if _, err := st.GetKeys(t.Context()); err == nil {
				t.Fatal("store not empty before first start")
			}
			s1 := newSigner(t, st, c, alg)
			k := storedKeys(t, st)
			if len(k.Active) == 0 || len(k.Next) == 0 || !k.NextRotation.Equal(c.Now().Add(time.Hour)) {
				t.Fatalf("first start stored %+v", k)
			}
			if got := jwksKids(t, s1); len(got) != 2 {
				t.Fatalf("JWKS has %d keys, want active and next", len(got))
			}
			_, kid1 := sign(t, s1, "x")
			if s1.Algorithm() != alg {
				t.Fatalf("Algorithm() = %s", s1.Algorithm())
			}

			c.Add(time.Minute)
			s2 := newSigner(t, st, c, alg)
			_, kid2 := sign(t, s2, "x")
			if kid1 != kid2 {
				t.Fatalf("restart changed the signing key: %s then %s", kid1, kid2)
			}
			if !sameKeys(k, storedKeys(t, st)) {
				t.Fatal("second New rewrote the stored keys")
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		c    Config
	}{
		{"no storage", Config{}},
		{"unknown alg", Config{Storage: memory.New(), Algorithm: "HS256"}},
		{"negative period", Config{Storage: memory.New(), RotationPeriod: -time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(t.Context(), tt.c); err == nil {
				t.Fatal("New accepted a bad config")
			}
		})
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			s := newSigner(t, newStore(t), newClock(), alg)
			payload := `{"sub":"abc","aud":"kube"}`
			tok, kid := sign(t, s, payload)
			h := header(t, tok)
			if h["alg"] != alg || h["typ"] != "JWT" || kid == "" {
				t.Fatalf("header = %v", h)
			}
			if !slices.Contains(jwksKids(t, s), kid) {
				t.Fatalf("signing kid %s not in JWKS", kid)
			}
			got, err := s.Verify(t.Context(), tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if string(got) != payload {
				t.Fatalf("payload = %s", got)
			}
		})
	}
}

// forge builds a compact JWS with the given protected header, signed with key
// (nil: empty signature).
func forge(t *testing.T, hdr map[string]any, payload string, alg jose.SignatureAlgorithm, key any) string {
	t.Helper()
	hb, _ := json.Marshal(hdr)
	if key == nil {
		return base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "."
	}
	opts := &jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{}}
	for k, v := range hdr {
		if k != "alg" {
			opts.ExtraHeaders[jose.HeaderKey(k)] = v
		}
	}
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatalf("forge signer: %v", err)
	}
	jws, err := sg.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyRejects(t *testing.T) {
	c := newClock()
	st := newStore(t)
	s := newSigner(t, st, c, "RS256")
	good, kid := sign(t, s, `{"sub":"a"}`)
	parts := strings.Split(good, ".")
	other := newSigner(t, newStore(t), c, "RS256")
	foreign, _ := sign(t, other, `{"sub":"a"}`)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	// A token signed by a key that is later retired and then expires.
	old := newSigner(t, newStore(t), c, "ES256")
	retiredTok, _ := sign(t, old, `{"sub":"a"}`)
	c.Add(time.Hour)
	if err := old.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Verify(t.Context(), retiredTok); err != nil {
		t.Fatalf("retired key must still verify before its expiry: %v", err)
	}
	c.Add(30*time.Minute + retireMargin)

	tests := []struct {
		name  string
		s     *Signer
		token string
	}{
		{"tampered payload", s, parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"b"}`)) + "." + parts[2]},
		{"tampered signature", s, parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-4] + "AAAA"},
		{"alg none", s, forge(t, map[string]any{"alg": "none", "kid": kid}, `{"sub":"a"}`, "", nil)},
		{"HS256 with the kid", s, forge(t, map[string]any{"alg": "HS256", "kid": kid}, `{"sub":"a"}`, jose.HS256, []byte("0123456789abcdef0123456789abcdef"))},
		{"wrong alg for kid", s, forge(t, map[string]any{"alg": "ES256", "kid": kid}, `{"sub":"a"}`, jose.ES256, ecKey)},
		{"RS384 header", s, forge(t, map[string]any{"alg": "RS384", "kid": kid}, `{"sub":"a"}`, "", nil) + "c2ln"},
		{"unknown kid", s, foreign},
		{"no kid", s, forge(t, map[string]any{"alg": "ES256"}, `{"sub":"a"}`, jose.ES256, ecKey)},
		{"retired then expired key", old, retiredTok},
		{"garbage", s, "not.a.jwt"},
		{"empty", s, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := tt.s.Verify(t.Context(), tt.token); err == nil {
				t.Fatalf("Verify accepted it, payload %s", p)
			}
		})
	}
	if _, err := s.Verify(t.Context(), good); err != nil {
		t.Fatalf("the untampered token must verify: %v", err)
	}
}

func TestContextHonoured(t *testing.T) {
	s := newSigner(t, newStore(t), newClock(), "ES256")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Sign(ctx, []byte("x")); err == nil {
		t.Error("Sign ignored a cancelled context")
	}
	if _, _, _, err := s.JWKS(ctx); err == nil {
		t.Error("JWKS ignored a cancelled context")
	}
}

func TestMaxAge(t *testing.T) {
	tests := []struct {
		period, want time.Duration
	}{
		{6 * time.Hour, time.Hour},
		{24 * time.Hour, time.Hour},
		{time.Hour, 15 * time.Minute},
		{10 * time.Second, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.period.String(), func(t *testing.T) {
			s, err := New(t.Context(), Config{Storage: newStore(t), Algorithm: "ES256", RotationPeriod: tt.period})
			if err != nil {
				t.Fatal(err)
			}
			_, _, got, err := s.JWKS(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("max-age = %v, want %v", got, tt.want)
			}
			if got > tt.period/4 {
				t.Fatalf("max-age %v exceeds a quarter of the pre-publication window %v", got, tt.period)
			}
		})
	}
}

func TestKidIsThumbprint(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			s := newSigner(t, newStore(t), newClock(), alg)
			body, _, _, err := s.JWKS(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(body, &set); err != nil {
				t.Fatal(err)
			}
			for _, k := range set.Keys {
				tp, err := k.Thumbprint(crypto.SHA256)
				if err != nil {
					t.Fatal(err)
				}
				if want := base64.RawURLEncoding.EncodeToString(tp); k.KeyID != want || k.Algorithm != alg || !k.IsPublic() {
					t.Fatalf("key %s: thumbprint %s, alg %s, public %v", k.KeyID, want, k.Algorithm, k.IsPublic())
				}
			}
		})
	}
}
