package pkce

import (
	"errors"
	"strings"
	"testing"
)

// RFC 7636 Appendix B.
const (
	rfcVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func TestChallengeRFC7636AppendixB(t *testing.T) {
	if got := Challenge(rfcVerifier); got != rfcChallenge {
		t.Fatalf("Challenge(%q) = %q, want %q", rfcVerifier, got, rfcChallenge)
	}
}

func TestVerify(t *testing.T) {
	max := strings.Repeat("a", 128)
	tests := []struct {
		name                        string
		method, challenge, verifier string
		want                        error
	}{
		{"S256 RFC vector", "S256", rfcChallenge, rfcVerifier, nil},
		{"plain", "plain", rfcVerifier, rfcVerifier, nil},
		{"empty method is plain", "", rfcVerifier, rfcVerifier, nil},
		{"plain 128", "plain", max, max, nil},
		{"S256 128", "S256", Challenge(max), max, nil},
		{"S256 all unreserved", "S256", Challenge("AZaz09-._~" + strings.Repeat("x", 33)), "AZaz09-._~" + strings.Repeat("x", 33), nil},

		{"S256 wrong verifier", "S256", rfcChallenge, "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", ErrMismatch},
		{"S256 verifier sent as challenge", "S256", rfcChallenge, rfcChallenge, ErrMismatch},
		{"S256 stored but verifier equals challenge of plain", "S256", rfcVerifier, rfcVerifier, ErrMismatch},
		{"plain mismatch", "plain", rfcVerifier, strings.Repeat("b", 43), ErrMismatch},
		{"plain with S256 answer", "plain", rfcChallenge, rfcVerifier, ErrMismatch},
		{"empty method is not S256", "", rfcChallenge, rfcVerifier, ErrMismatch},
		{"case of method matters", "s256", rfcChallenge, rfcVerifier, ErrMethod},
		{"unknown method", "S512", rfcChallenge, rfcVerifier, ErrMethod},
		{"empty challenge", "S256", "", rfcVerifier, ErrChallenge},
		{"empty verifier", "S256", rfcChallenge, "", ErrVerifier},
		{"verifier 42", "plain", strings.Repeat("a", 42), strings.Repeat("a", 42), ErrVerifier},
		{"verifier 129", "plain", strings.Repeat("a", 129), strings.Repeat("a", 129), ErrVerifier},
		{"verifier with space", "plain", rfcVerifier[:42] + " ", rfcVerifier[:42] + " ", ErrVerifier},
		{"verifier with plus", "S256", Challenge(rfcVerifier[:42] + "+"), rfcVerifier[:42] + "+", ErrVerifier},
		{"verifier with slash", "S256", Challenge(rfcVerifier[:42] + "/"), rfcVerifier[:42] + "/", ErrVerifier},
		{"verifier with padding", "S256", Challenge(rfcVerifier + "="), rfcVerifier + "=", ErrVerifier},
		{"verifier non-ASCII", "S256", Challenge(rfcVerifier[:41] + "é"), rfcVerifier[:41] + "é", ErrVerifier},
		{"verifier NUL", "plain", rfcVerifier[:42] + "\x00", rfcVerifier[:42] + "\x00", ErrVerifier},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.method, tt.challenge, tt.verifier)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify(%q, %q, %q) = %v, want nil", tt.method, tt.challenge, tt.verifier, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify(%q, %q, %q) = %v, want %v", tt.method, tt.challenge, tt.verifier, err, tt.want)
			}
		})
	}
}

func TestValidChallenge(t *testing.T) {
	tests := []struct {
		name              string
		method, challenge string
		want              error
	}{
		{"S256 RFC vector", "S256", rfcChallenge, nil},
		{"plain 43", "plain", rfcVerifier, nil},
		{"plain 128", "plain", strings.Repeat("~", 128), nil},
		{"plain all unreserved", "plain", "ABCXYZabcxyz0189-._~" + strings.Repeat("Q", 23), nil},

		{"empty method", "", rfcVerifier, ErrMethod},
		{"lowercase s256", "s256", rfcChallenge, ErrMethod},
		{"PLAIN", "PLAIN", rfcVerifier, ErrMethod},
		{"unknown", "S384", rfcChallenge, ErrMethod},
		{"empty challenge", "plain", "", ErrChallenge},
		{"42 chars", "plain", strings.Repeat("a", 42), ErrChallenge},
		{"129 chars", "plain", strings.Repeat("a", 129), ErrChallenge},
		{"padded S256", "S256", rfcChallenge + "=", ErrChallenge},
		{"std base64 S256", "S256", strings.ReplaceAll(rfcChallenge, "-", "+"), ErrChallenge},
		{"S256 too long", "S256", rfcChallenge + "A", ErrChallenge},
		{"S256 hex digest", "S256", strings.Repeat("ab", 32), ErrChallenge},
		// The last character of a 43-character digest carries 2 padding bits that must be 0.
		{"S256 non-canonical trailing bits", "S256", rfcChallenge[:42] + "N", ErrChallenge},
		{"space", "plain", rfcVerifier[:42] + " ", ErrChallenge},
		{"percent", "plain", rfcVerifier[:40] + "%41", ErrChallenge},
		{"non-ASCII", "plain", rfcVerifier[:41] + "é", ErrChallenge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidChallenge(tt.method, tt.challenge)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ValidChallenge(%q, %q) = %v, want nil", tt.method, tt.challenge, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("ValidChallenge(%q, %q) = %v, want %v", tt.method, tt.challenge, err, tt.want)
			}
		})
	}
}

// Every challenge Challenge produces passes ValidChallenge, and Verify accepts
// exactly the verifier it came from.
func FuzzVerify(f *testing.F) {
	f.Add(rfcVerifier, "S256")
	f.Add(strings.Repeat("a", 128), "plain")
	f.Add("short", "")
	f.Fuzz(func(t *testing.T, verifier, method string) {
		validVerifier := checkToken(verifier) == nil
		for _, m := range []string{S256, Plain} {
			c := verifier
			if m == S256 {
				c = Challenge(verifier)
			}
			err := Verify(m, c, verifier)
			if validVerifier != (err == nil) {
				t.Fatalf("Verify(%q, %q, %q) = %v; verifier valid = %v", m, c, verifier, err, validVerifier)
			}
			if validVerifier {
				if err := ValidChallenge(m, c); err != nil {
					t.Fatalf("ValidChallenge(%q, %q) = %v for a challenge made from a valid verifier", m, c, err)
				}
			}
		}
		// A verifier never verifies against an S256 challenge of something else.
		other := verifier + "x"
		if err := Verify(S256, Challenge(other), verifier); err == nil {
			t.Fatalf("Verify accepted %q against the challenge of %q", verifier, other)
		}
		if method != S256 && method != Plain && method != "" {
			if err := Verify(method, verifier, verifier); !errors.Is(err, ErrMethod) {
				t.Fatalf("Verify with method %q = %v, want ErrMethod", method, err)
			}
		}
	})
}

func BenchmarkVerifyS256(b *testing.B) {
	for b.Loop() {
		if err := Verify(S256, rfcChallenge, rfcVerifier); err != nil {
			b.Fatal(err)
		}
	}
}
