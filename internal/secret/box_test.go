package secret

import (
	"bytes"
	"errors"
	"testing"
)

func TestBox(t *testing.T) {
	b, err := NewBox([]byte("client-secret"), "oidc/corp")
	if err != nil {
		t.Fatal(err)
	}
	v := []byte("upstream-refresh-token")
	s1, s2 := b.Seal(v), b.Seal(v)
	if bytes.Contains(s1, v) || bytes.Equal(s1, s2) {
		t.Fatalf("sealed value shows the plain text or repeats: %x %x", s1, s2)
	}
	got, err := b.Open(s1)
	if err != nil || !bytes.Equal(got, v) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := NewBox([]byte("client-secret"), "oidc/other")
	otherKey, _ := NewBox([]byte("another-secret"), "oidc/corp")
	flipped := bytes.Clone(s1)
	flipped[len(flipped)-1] ^= 1
	for name, tc := range map[string]struct {
		box *Box
		in  []byte
	}{
		"other purpose": {other, s1},
		"other secret":  {otherKey, s1},
		"changed byte":  {b, flipped},
		"short":         {b, s1[:10]},
		"plain":         {b, v},
		"empty":         {b, nil},
	} {
		if _, err := tc.box.Open(tc.in); !errors.Is(err, ErrSealed) {
			t.Errorf("%s: Open err = %v, want ErrSealed", name, err)
		}
	}
}
