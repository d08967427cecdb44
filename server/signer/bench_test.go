package signer

import (
	"testing"
	"time"

	"github.com/torii-idp/torii/storage/memory"
)

func benchSign(b *testing.B, alg string) {
	s, err := New(b.Context(), Config{Storage: memory.New(), Algorithm: alg, RotationPeriod: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"iss":"https://torii.example.com","sub":"CgNib2ISBGxkYXA","aud":"kubernetes","exp":1767225600,"iat":1767139200,"email":"bob@example.com","groups":["admins","dev"]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(b.Context(), payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignRS256(b *testing.B) { benchSign(b, "RS256") }
func BenchmarkSignES256(b *testing.B) { benchSign(b, "ES256") }

func benchVerify(b *testing.B, alg string) {
	s, err := New(b.Context(), Config{Storage: memory.New(), Algorithm: alg, RotationPeriod: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := s.Sign(b.Context(), []byte(`{"sub":"x"}`))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(b.Context(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRS256(b *testing.B) { benchVerify(b, "RS256") }
func BenchmarkVerifyES256(b *testing.B) { benchVerify(b, "ES256") }

func BenchmarkJWKS(b *testing.B) {
	s, err := New(b.Context(), Config{Storage: memory.New(), Algorithm: "ES256"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := s.JWKS(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
