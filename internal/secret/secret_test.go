package secret

import (
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	gen := Generate()
	if len(gen) != 43 || gen == Generate() {
		t.Fatalf("Generate: %q is not a fresh 256-bit secret", gen)
	}
	chosen, err := HashChosen("ZXhhbXBsZS1hcHAtc2VjcmV0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(chosen), "$2a$10$") {
		t.Errorf("chosen secret hash %q is not bcrypt cost 10", chosen)
	}
	tests := []struct {
		name   string
		hash   []byte
		secret string
		want   bool
	}{
		{"generated", HashGenerated(gen), gen, true},
		{"generated wrong", HashGenerated(gen), gen + "x", false},
		{"generated empty", HashGenerated(gen), "", false},
		{"chosen", chosen, "ZXhhbXBsZS1hcHAtc2VjcmV0", true},
		{"chosen wrong", chosen, "ZXhhbXBsZS1hcHAtc2VjcmV1", false},
		{"broken sha256", []byte("sha256:zz"), "", false},
		{"no hash", nil, "", false},
		{"plain text is not a hash", []byte("secret"), "secret", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.hash, tt.secret); got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := HashChosen(strings.Repeat("a", 73)); err == nil {
		t.Error("HashChosen accepted a 73-byte secret")
	}
	if _, err := HashChosen(""); err == nil {
		t.Error("HashChosen accepted an empty secret")
	}
}
