package ldap

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"gopkg.in/yaml.v3"
)

func validConfig() Config {
	return Config{
		Host:   "ldap.example.org",
		BindDN: "cn=reader,dc=example,dc=org", BindPW: "pw",
		UserSearch: UserSearch{BaseDN: "ou=People,dc=example,dc=org", Username: Attrs{"uid"}, IDAttr: "uid", EmailAttr: "mail"},
	}
}

func TestValidate(t *testing.T) {
	neg := -1
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr []string // substrings; nil means valid
	}{
		{"valid", func(*Config) {}, nil},
		{"hosts only", func(c *Config) { c.Host = ""; c.Hosts = []string{"a:636", "b"} }, nil},
		{"dex legacy group form", func(c *Config) {
			c.GroupSearch = GroupSearch{BaseDN: "ou=Groups,dc=x", UserAttr: "DN", GroupAttr: "member", NameAttr: "cn"}
		}, nil},
		{"AD in-chain matching rule", func(c *Config) {
			c.GroupSearch = GroupSearch{BaseDN: "ou=Groups,dc=x", NameAttr: "cn",
				UserMatchers: []UserMatcher{{UserAttr: "DN", GroupAttr: "member:1.2.840.113556.1.4.1941:"}}}
		}, nil},
		{"bad matching rule", func(c *Config) {
			c.GroupSearch = GroupSearch{BaseDN: "ou=Groups,dc=x", NameAttr: "cn",
				UserMatchers: []UserMatcher{{UserAttr: "DN", GroupAttr: "member:x:y:z:"}, {UserAttr: "DN", GroupAttr: "member:=x"}}}
		}, []string{`userMatchers[0].groupAttr "member:x:y:z:"`, `userMatchers[1].groupAttr "member:=x"`}},
		{"memberOf mode without groupSearch", func(c *Config) { c.UserSearch.GroupsAttr = "memberOf" }, nil},
		{"email suffix instead of attribute", func(c *Config) { c.UserSearch.EmailAttr = ""; c.UserSearch.EmailSuffix = "example.org" }, nil},
		{"everything wrong at once", func(c *Config) {
			c.Host = ""
			c.BindDN = ""
			c.UserSearch = UserSearch{Filter: "objectClass=person", Scope: "base", Username: Attrs{"uid)(x"}}
			c.GroupSearch = GroupSearch{NameAttr: "cn"}
			c.Timeout = "soon"
			c.PoolSize = &neg
		}, []string{
			"host is required", "bindPW is set without bindDN", "userSearch.baseDN is required",
			"userSearch.filter", "userSearch.scope", `userSearch.username[0] "uid)(x" is not an attribute name`,
			"userSearch.idAttr is required", "userSearch.emailAttr is required", "groupSearch needs userMatchers",
			"timeout", "poolSize",
		}},
		{"url as host", func(c *Config) { c.Host = "ldaps://ldap.example.org" }, []string{"not a URL"}},
		{"bad port", func(c *Config) { c.Host = "ldap:99999" }, []string{"bad port"}},
		{"noSSL with startTLS", func(c *Config) { c.InsecureNoSSL = true; c.StartTLS = true }, []string{"exclude each other"}},
		{"client cert without key", func(c *Config) { c.ClientCert = "/x.crt" }, []string{"clientCert and clientKey"}},
		{"matchers need baseDN and nameAttr", func(c *Config) {
			c.GroupSearch.UserMatchers = []UserMatcher{{UserAttr: "DN"}}
		}, []string{"groupSearch.baseDN is required", "groupSearch.nameAttr is required", "userMatchers[0].groupAttr is required"}},
		{"bad group filter", func(c *Config) {
			c.GroupSearch = GroupSearch{BaseDN: "ou=G,dc=x", NameAttr: "cn", Filter: "(&(a=b)",
				UserMatchers: []UserMatcher{{UserAttr: "DN", GroupAttr: "member"}}}
		}, []string{"groupSearch.filter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mod(&c)
			err := c.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted a bad config")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestSettingsDefaults(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"ldaps default port", func(*Config) {}, []string{"ldap.example.org:636"}},
		{"plain default port", func(c *Config) { c.InsecureNoSSL = true }, []string{"ldap.example.org:389"}},
		{"startTLS default port", func(c *Config) { c.StartTLS = true }, []string{"ldap.example.org:389"}},
		{"host then hosts", func(c *Config) { c.Hosts = []string{"b:1636", "[::1]"} },
			[]string{"ldap.example.org:636", "b:1636", "[::1]:636"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mod(&c)
			s, err := c.settings()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(s.addrs, " ") != strings.Join(tt.want, " ") {
				t.Errorf("addrs = %v, want %v", s.addrs, tt.want)
			}
			if s.timeout != DefaultTimeout || s.poolSize != DefaultPoolSize || s.maxDepth != DefaultMaxNestingDepth {
				t.Errorf("defaults: %+v", s)
			}
		})
	}
}

const testPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"

func TestDecodeDexShapes(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(testPEM))
	tests := []struct {
		name, yaml, json string
		wantUser         []string
	}{
		{"username string", "username: uid\nrootCAData: " + b64, `{"username":"uid","rootCAData":"` + b64 + `"}`, []string{"uid"}},
		{"username list", "username: [uid, mail]\nrootCAData: |\n  " + strings.ReplaceAll(testPEM, "\n", "\n  "),
			`{"username":["uid","mail"],"rootCAData":` + mustJSON(testPEM) + `}`, []string{"uid", "mail"}},
	}
	type shape struct {
		Username   Attrs   `yaml:"username" json:"username"`
		RootCAData PEMData `yaml:"rootCAData" json:"rootCAData"`
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var y, j shape
			if err := yaml.Unmarshal([]byte(tt.yaml), &y); err != nil {
				t.Fatalf("yaml: %v", err)
			}
			if err := json.Unmarshal([]byte(tt.json), &j); err != nil {
				t.Fatalf("json: %v", err)
			}
			for _, got := range []shape{y, j} {
				if strings.Join(got.Username, ",") != strings.Join(tt.wantUser, ",") {
					t.Errorf("username = %v", got.Username)
				}
				if strings.TrimSpace(string(got.RootCAData)) != testPEM {
					t.Errorf("rootCAData = %q", got.RootCAData)
				}
			}
		})
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestBinaryIDs(t *testing.T) {
	tests := []struct {
		name, attr string
		raw        []byte
		want       string
	}{
		// The GUID {01020304-0506-0708-090a-0b0c0d0e0f10} as AD stores it.
		{"objectGUID", "objectGUID",
			[]byte{0x04, 0x03, 0x02, 0x01, 0x06, 0x05, 0x08, 0x07, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10},
			"01020304-0506-0708-090a-0b0c0d0e0f10"},
		{"objectSid", "objectSid",
			[]byte{1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 0x15, 0xcd, 0x5b, 0x07, 0x0d, 0xd5, 0x3a, 0x1e, 0x2f, 0xa3, 0xd0, 0x34, 0xe9, 0x03, 0, 0},
			"S-1-5-21-123456789-507172109-886088495-1001"},
		{"other binary", "photoID", []byte{0xff, 0x00}, "ff00"},
		{"text", "uid", []byte("jürgen"), "jürgen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := textValue(tt.attr, tt.raw); got != tt.want {
				t.Errorf("textValue = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFiltersCompile(t *testing.T) {
	c := validConfig()
	c.UserSearch.Filter = "(objectClass=person)"
	c.UserSearch.Username = Attrs{"uid", "mail"}
	conn, err := Open(t.Context(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"jane", "*", "*)(uid=*", "admin)(|(uid=*", `a\b`, "jürgen", "\x00"} {
		t.Run(name, func(t *testing.T) {
			f := conn.userFilter(name)
			if _, err := goldap.CompileFilter(f); err != nil {
				t.Fatalf("filter %q: %v", f, err)
			}
			if strings.Count(f, "(") != 5 || strings.Count(f, "*") != 0 {
				t.Errorf("filter %q: the name changed the filter's structure", f)
			}
		})
	}
	if _, err := goldap.CompileFilter("(member:1.2.840.113556.1.4.1941:=" + goldap.EscapeFilter("cn=x,dc=y") + ")"); err != nil {
		t.Errorf("extensible match: %v", err)
	}
}
