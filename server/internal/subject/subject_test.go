package subject

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestEncodeDecode(t *testing.T) {
	long := strings.Repeat("u", 300) // length 300 = varint 0xac 0x02
	tests := []struct {
		name              string
		userID, connector string
		sub               string // "" means: only check the round trip
		raw               string // the protobuf bytes, "" means unchecked
	}{
		{
			name:   "Dex example user",
			userID: "08a8684b-db88-4b73-90a9-3cd1661f5466", connector: "local",
			sub: "CiQwOGE4Njg0Yi1kYjg4LTRiNzMtOTBhOS0zY2QxNjYxZjU0NjYSBWxvY2Fs",
			raw: "\x0a\x2408a8684b-db88-4b73-90a9-3cd1661f5466\x12\x05local",
		},
		{name: "LDAP DN", userID: "cn=jane,ou=People,dc=example,dc=org", connector: "ldap"},
		{name: "length 127 one-byte varint", userID: strings.Repeat("a", 127), connector: "x",
			raw: "\x0a\x7f" + strings.Repeat("a", 127) + "\x12\x01x"},
		{name: "length 128 two-byte varint", userID: strings.Repeat("a", 128), connector: "x",
			raw: "\x0a\x80\x01" + strings.Repeat("a", 128) + "\x12\x01x"},
		{name: "length 300", userID: long, connector: "ldap",
			raw: "\x0a\xac\x02" + long + "\x12\x04ldap"},
		{name: "long connector", userID: "u", connector: strings.Repeat("c", 200),
			raw: "\x0a\x01u\x12\xc8\x01" + strings.Repeat("c", 200)},
		{name: "length 16384 three-byte varint", userID: strings.Repeat("z", 16384), connector: "c",
			raw: "\x0a\x80\x80\x01" + strings.Repeat("z", 16384) + "\x12\x01c"},
		{name: "empty user ID omits field 1", userID: "", connector: "local",
			sub: "EgVsb2NhbA", raw: "\x12\x05local"},
		{name: "empty connector omits field 2", userID: "u1", connector: "",
			sub: "CgJ1MQ", raw: "\x0a\x02u1"},
		{name: "non-ASCII", userID: "田中太郎", connector: "ldap-ü",
			raw: "\x0a\x0c田中太郎\x12\x07ldap-ü"},
		{name: "bytes that base64url maps to - and _", userID: "\xfb\xff\xbf", connector: "c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := Encode(tt.userID, tt.connector)
			if tt.sub != "" && sub != tt.sub {
				t.Errorf("Encode = %q, want %q", sub, tt.sub)
			}
			if tt.raw != "" {
				want := base64.RawURLEncoding.EncodeToString([]byte(tt.raw))
				if sub != want {
					t.Errorf("Encode = %q, want base64url of % x", sub, tt.raw)
				}
			}
			if strings.ContainsAny(sub, "=+/") {
				t.Errorf("Encode = %q contains padding or non-URL-safe characters", sub)
			}
			u, c, err := Decode(sub)
			if err != nil || u != tt.userID || c != tt.connector {
				t.Errorf("Decode(%q) = %q, %q, %v; want %q, %q", sub, u, c, err, tt.userID, tt.connector)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	dex := "CiQwOGE4Njg0Yi1kYjg4LTRiNzMtOTBhOS0zY2QxNjYxZjU0NjYSBWxvY2Fs"
	tests := []struct{ name, sub string }{
		{"empty", ""},
		{"padded", b64([]byte("\x0a\x01u")) + "="},
		{"standard alphabet", base64.RawStdEncoding.EncodeToString([]byte("\x0a\x02\xfb\xff"))},
		{"non-canonical trailing bits", "CgJ1MR"}, // CgJ1MQ with nonzero padding bits
		{"not base64", "!!!!"},
		{"whitespace", " " + dex},
		{"newline inside", dex[:20] + "\n" + dex[20:]},
		{"only a carriage return", "\r"},
		{"unknown field 3", b64([]byte("\x0a\x01u\x1a\x01x"))},
		{"varint wire type for field 1", b64([]byte("\x08\x01"))},
		{"fields out of order", b64([]byte("\x12\x01c\x0a\x01u"))},
		{"field 1 repeated", b64([]byte("\x0a\x01u\x0a\x01v"))},
		{"explicit empty field", b64([]byte("\x0a\x00\x12\x01c"))},
		{"truncated value", b64([]byte("\x0a\x05ab"))},
		{"truncated varint", b64([]byte("\x0a\x80"))},
		{"tag only", b64([]byte("\x0a"))},
		{"non-minimal varint", b64([]byte("\x0a\x81\x00u"))},
		{"huge varint", b64([]byte("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))},
		{"overflowing varint", b64([]byte("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"))},
		{"eleven-byte varint", b64([]byte("\x0a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, c, err := Decode(tt.sub)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(%q) = %q, %q, %v; want ErrMalformed", tt.sub, u, c, err)
			}
		})
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add("08a8684b-db88-4b73-90a9-3cd1661f5466", "local")
	f.Add("", "local")
	f.Add(strings.Repeat("a", 200), "")
	f.Add("田中", "\xff")
	f.Fuzz(func(t *testing.T, userID, connector string) {
		sub := Encode(userID, connector)
		if userID == "" && connector == "" {
			if sub != "" {
				t.Fatalf("Encode(\"\", \"\") = %q, want \"\"", sub)
			}
			return
		}
		u, c, err := Decode(sub)
		if err != nil || u != userID || c != connector {
			t.Fatalf("Decode(Encode(%q, %q)) = %q, %q, %v", userID, connector, u, c, err)
		}
	})
}

// Decode accepts only canonical subs: whatever it accepts, Encode reproduces.
func FuzzDecodeCanonical(f *testing.F) {
	f.Add("CiQwOGE4Njg0Yi1kYjg4LTRiNzMtOTBhOS0zY2QxNjYxZjU0NjYSBWxvY2Fs")
	f.Add("EgVsb2NhbA")
	f.Add("CgJ1MQ")
	f.Add("CoEAdQ")
	f.Fuzz(func(t *testing.T, sub string) {
		u, c, err := Decode(sub)
		if err != nil {
			return
		}
		if again := Encode(u, c); again != sub {
			t.Fatalf("Decode(%q) = %q, %q but Encode gives %q", sub, u, c, again)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	for b.Loop() {
		_ = Encode("08a8684b-db88-4b73-90a9-3cd1661f5466", "local")
	}
}
