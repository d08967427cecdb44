package sqlite

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/torii-idp/torii/storage"
)

// The fast JSON paths must write byte for byte what encoding/json writes
// and read back what encoding/json reads, for plain and awkward values.
func TestFastJSONMatchesEncodingJSON(t *testing.T) {
	texts := []string{"", "jane", "jane@example.com", "a b", `quo"te`, `back\slash`, "<html>&", "tab\tnl\n",
		"ünïcödé", "\u2028", "\xff invalid", "CN=Jane,OU=People,DC=example,DC=org"}
	var claims []storage.Claims
	var lists [][]string
	lists = append(lists, nil, []string{})
	for _, a := range texts {
		lists = append(lists, []string{a}, []string{a, "openid", a})
		for _, b := range texts[:4] {
			claims = append(claims,
				storage.Claims{UserID: a, Username: b},
				storage.Claims{UserID: b, Username: a, PreferredUsername: a, Email: b, EmailVerified: true, Groups: []string{a, b}},
				storage.Claims{UserID: a, Email: a, Groups: []string{}},
				storage.Claims{UserID: b, PreferredUsername: b, Groups: []string{b}})
		}
	}
	for _, l := range lists {
		want, _ := json.Marshal(l)
		if got := stringsValue(l); got != string(want) {
			t.Errorf("stringsValue(%q) = %s, encoding/json %s", l, got, want)
		}
		var fast, slow []string
		if err := stringsFrom(string(want), &fast); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want, &slow); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("stringsFrom(%s) = %#v, encoding/json %#v", want, fast, slow)
		}
	}
	for _, c := range claims {
		want, _ := json.Marshal(c)
		if got := claimsValue(c); got != string(want) {
			t.Errorf("claimsValue(%+v) = %s, encoding/json %s", c, got, want)
		}
		var fast, slow storage.Claims
		if err := claimsFrom(string(want), &fast); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want, &slow); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("claimsFrom(%s) = %#v, encoding/json %#v", want, fast, slow)
		}
	}
	// Layouts encoding/json accepts but the fast path does not write
	// (spaces, other key order or case, groups:[] and null, unknown keys)
	// decode as encoding/json decodes them; malformed text is an error.
	for _, in := range []string{
		`{ "user_id": "u", "username": "n" }`, `{"username":"n","user_id":"u"}`, `{"USER_ID":"u","username":"n"}`,
		`{"user_id":"u","username":"n","email_verified":false,"groups":[]}`,
		`{"user_id":"u","username":"n","email_verified":true,"groups":null}`,
		`{"user_id":"u","username":"n","email_verified":false,"extra":1}`,
		`{"user_id":"u\u0041","username":"n","email_verified":false}`, `{"user_id":"u"}`,
	} {
		var fast, slow storage.Claims
		if err := claimsFrom(in, &fast); err != nil {
			t.Fatalf("claimsFrom(%s): %v", in, err)
		}
		_ = json.Unmarshal([]byte(in), &slow)
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("claimsFrom(%s) = %#v, encoding/json %#v", in, fast, slow)
		}
	}
	for _, in := range []string{`[ "a" , "b" ]`, `["a\u0042"]`, `[]`, ` null`} {
		var fast, slow []string
		if err := stringsFrom(in, &fast); err != nil {
			t.Fatalf("stringsFrom(%s): %v", in, err)
		}
		_ = json.Unmarshal([]byte(in), &slow)
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("stringsFrom(%s) = %#v, encoding/json %#v", in, fast, slow)
		}
	}
	for _, bad := range []string{`{"user_id":"u","username":"n","email_verified":false`, `["a",]`, `["a"`, ``} {
		var c storage.Claims
		var l []string
		if claimsFrom(bad, &c) == nil || stringsFrom(bad, &l) == nil {
			t.Errorf("%q decoded without an error", bad)
		}
	}
}
