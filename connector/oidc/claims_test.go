package oidc

import (
	"slices"
	"testing"

	"github.com/torii-idp/torii/connector"
)

// TestClaimShapes runs the claims of real providers' ID tokens (Keycloak,
// Azure AD / Entra ID v2.0, Google) through the mapping keys.
func TestClaimShapes(t *testing.T) {
	op := newFakeOP(t)
	tests := []struct {
		name   string
		cfg    func(*Config)
		claims map[string]any
		want   connector.Identity
		msg    message // want a refusal with this message
	}{
		{
			name:   "Keycloak groups mapper with full path",
			cfg:    func(c *Config) { c.InsecureEnableGroups = true },
			claims: map[string]any{"preferred_username": "ada", "groups": []any{"/engineering/platform", "/admins"}},
			want: connector.Identity{UserID: "user-1", Username: "Ada Lovelace", PreferredUsername: "ada", Email: "ada@example.com", EmailVerified: true,
				Groups: []string{"/engineering/platform", "/admins"}},
		},
		{
			name:   "Keycloak without full path, a single group as a string",
			cfg:    func(c *Config) { c.InsecureEnableGroups = true },
			claims: map[string]any{"groups": "admins"},
			want:   connector.Identity{UserID: "user-1", Username: "Ada Lovelace", Email: "ada@example.com", EmailVerified: true, Groups: []string{"admins"}},
		},
		{
			name: "Keycloak roles claim through claimMapping.groups",
			cfg: func(c *Config) {
				c.InsecureEnableGroups = true
				c.ClaimMapping.Groups = "roles"
			},
			claims: map[string]any{"roles": []any{"viewer"}},
			want:   connector.Identity{UserID: "user-1", Username: "Ada Lovelace", Email: "ada@example.com", EmailVerified: true, Groups: []string{"viewer"}},
		},
		{
			name:   "groups ignored without insecureEnableGroups",
			claims: map[string]any{"groups": []any{"admins"}},
			want:   connector.Identity{UserID: "user-1", Username: "Ada Lovelace", Email: "ada@example.com", EmailVerified: true},
		},
		{
			name: "Azure AD v2.0: oid as user ID, upn for email, no email_verified, groups as object IDs",
			cfg: func(c *Config) {
				c.UserIDKey = "oid"
				c.ClaimMapping.Email = "upn"
				c.InsecureSkipEmailVerified = true
				c.InsecureEnableGroups = true
			},
			claims: map[string]any{"sub": "pairwise-abc", "oid": "00000000-1111-2222-3333-444444444444", "email": nil, "email_verified": nil,
				"upn": "ada@contoso.onmicrosoft.com", "preferred_username": "ada@contoso.onmicrosoft.com", "tid": "tenant-guid",
				"groups": []any{"6f1c5e2a-0000-4000-8000-000000000001"}},
			want: connector.Identity{UserID: "00000000-1111-2222-3333-444444444444", Username: "Ada Lovelace", PreferredUsername: "ada@contoso.onmicrosoft.com",
				Email: "ada@contoso.onmicrosoft.com", EmailVerified: true, Groups: []string{"6f1c5e2a-0000-4000-8000-000000000001"}},
		},
		{
			name:   "Azure AD without email and no mapping is refused",
			cfg:    func(c *Config) { c.InsecureSkipEmailVerified = true },
			claims: map[string]any{"email": nil, "email_verified": nil, "preferred_username": "ada@contoso.com"},
			msg:    msgMissingClaim,
		},
		{
			name: "Azure AD group overage is refused, not a token without groups",
			cfg:  func(c *Config) { c.InsecureEnableGroups = true },
			claims: map[string]any{"_claim_names": map[string]any{"groups": "src1"},
				"_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.windows.net/tenant/users/x/getMemberObjects"}}},
			msg: msgGroupOverage,
		},
		{
			name: "claimMapping is a fallback: the standard claim wins",
			cfg: func(c *Config) {
				c.ClaimMapping.Email = "mail"
				c.ClaimMapping.PreferredUsername = "login"
			},
			claims: map[string]any{"mail": "other@example.com", "preferred_username": "ada", "login": "ada2"},
			want:   connector.Identity{UserID: "user-1", Username: "Ada Lovelace", PreferredUsername: "ada", Email: "ada@example.com", EmailVerified: true},
		},
		{
			name: "overrideClaimMapping: the mapping wins",
			cfg: func(c *Config) {
				c.OverrideClaimMapping = true
				c.ClaimMapping.Email = "mail"
				c.ClaimMapping.PreferredUsername = "login"
			},
			claims: map[string]any{"mail": "other@example.com", "preferred_username": "ada", "login": "ada2"},
			want:   connector.Identity{UserID: "user-1", Username: "Ada Lovelace", PreferredUsername: "ada2", Email: "other@example.com", EmailVerified: true},
		},
		{
			name:   "userNameKey",
			cfg:    func(c *Config) { c.UserNameKey = "display" },
			claims: map[string]any{"name": nil, "display": "Countess"},
			want:   connector.Identity{UserID: "user-1", Username: "Countess", Email: "ada@example.com", EmailVerified: true},
		},
		{
			name:   "no email scope: email optional",
			cfg:    func(c *Config) { c.Scopes = []string{"profile"} },
			claims: map[string]any{"email": nil, "email_verified": nil},
			want:   connector.Identity{UserID: "user-1", Username: "Ada Lovelace"},
		},
		{
			name:   "email_verified false is kept",
			claims: map[string]any{"email_verified": false},
			want:   connector.Identity{UserID: "user-1", Username: "Ada Lovelace", Email: "ada@example.com"},
		},
		{
			name: "allowedGroups keeps only the allowed ones",
			cfg: func(c *Config) {
				c.InsecureEnableGroups = true
				c.AllowedGroups = []string{"admins", "ops"}
			},
			claims: map[string]any{"groups": []any{"staff", "admins"}},
			want:   connector.Identity{UserID: "user-1", Username: "Ada Lovelace", Email: "ada@example.com", EmailVerified: true, Groups: []string{"admins"}},
		},
		{
			name: "allowedGroups refuses a non-member",
			cfg: func(c *Config) {
				c.InsecureEnableGroups = true
				c.AllowedGroups = []string{"admins"}
			},
			claims: map[string]any{"groups": []any{"staff"}},
			msg:    msgNotInGroups,
		},
		{
			name: "filterGroupClaims, modifyGroupNames, newGroupFromClaims",
			cfg: func(c *Config) {
				c.InsecureEnableGroups = true
				c.ClaimModifications = ClaimModifications{
					FilterGroupClaims:  &FilterGroupClaims{GroupsFilter: "^k8s-"},
					ModifyGroupNames:   &ModifyGroupNames{Prefix: "corp:", Suffix: ":g"},
					NewGroupFromClaims: []NewGroupFromClaims{{Claims: []string{"org", "team", "absent"}, Delimiter: "/", ClearDelimiter: true, Prefix: "tenant"}},
				}
			},
			claims: map[string]any{"groups": []any{"k8s-admins", "mail-list", "k8s-view"}, "org": "acme/eu", "team": "sre"},
			want: connector.Identity{UserID: "user-1", Username: "Ada Lovelace", Email: "ada@example.com", EmailVerified: true,
				Groups: []string{"corp:k8s-admins:g", "corp:k8s-view:g", "tenant/acmeeu/sre"}},
		},
		{
			name:   "a malformed groups claim is refused",
			cfg:    func(c *Config) { c.InsecureEnableGroups = true },
			claims: map[string]any{"groups": []any{"ok", 3}},
			msg:    msgUpstreamError,
		},
		{
			name:   "Google hostedDomains",
			cfg:    func(c *Config) { c.HostedDomains = []string{"example.com"} },
			claims: map[string]any{"hd": "gmail.com"},
			msg:    msgWrongDomain,
		},
		{
			name:   "userIDKey missing is refused",
			cfg:    func(c *Config) { c.UserIDKey = "oid" },
			claims: nil,
			msg:    msgMissingClaim,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConn(t, op, tt.cfg)
			id, err := login(t, c, op, connector.Scopes{Groups: true}, tt.claims, nil)
			if tt.msg != (message{}) {
				if loginMessage(err) != tt.msg {
					t.Fatalf("err = %v (identity %+v), want %q", err, id, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			id.ConnectorData = nil
			if !equalIdentity(id, tt.want) {
				t.Errorf("identity\n %+v\nwant\n %+v", id, tt.want)
			}
		})
	}
}

func TestGetUserInfo(t *testing.T) {
	op := newFakeOP(t)
	c := newConn(t, op, func(c *Config) { c.GetUserInfo = true; c.InsecureEnableGroups = true })
	op.set(func(op *fakeOP) {
		op.userinfo = map[string]any{"sub": "user-1", "email": "ada@userinfo.example", "email_verified": true, "groups": []any{"from-userinfo"}}
	})
	id, err := login(t, c, op, connector.Scopes{}, map[string]any{"email": nil, "email_verified": nil}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id.Email != "ada@userinfo.example" || !slices.Equal(id.Groups, []string{"from-userinfo"}) || id.Username != "Ada Lovelace" {
		t.Errorf("identity %+v: want userinfo's email and groups over the ID token's name", id)
	}
	op.set(func(op *fakeOP) { op.userinfo["sub"] = "someone-else" })
	if _, err := login(t, c, op, connector.Scopes{}, nil, nil); loginMessage(err) != msgBadIDToken {
		t.Errorf("userinfo for another sub: err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	bad := []struct {
		name string
		cfg  Config
		key  string
	}{
		{"no issuer", Config{ClientID: "x"}, "issuer"},
		{"issuer not a URL", Config{Issuer: "login.example", ClientID: "x"}, "issuer"},
		{"no client", Config{Issuer: "https://op.example"}, "clientID"},
		{"other redirect", Config{Issuer: "https://op.example", ClientID: "x", RedirectURI: "https://x.example/cb"}, "redirectURI"},
		{"pkce method", Config{Issuer: "https://op.example", ClientID: "x", PKCEChallenge: "S512"}, "pkceChallenge"},
		{"allowedGroups without groups", Config{Issuer: "https://op.example", ClientID: "x", AllowedGroups: []string{"a"}}, "allowedGroups"},
		{"bad regexp", Config{Issuer: "https://op.example", ClientID: "x", ClaimModifications: ClaimModifications{FilterGroupClaims: &FilterGroupClaims{GroupsFilter: "("}}}, "claimModifications.filterGroupClaims.groupsFilter"},
		{"bad override", Config{Issuer: "https://op.example", ClientID: "x", ProviderDiscoveryOverrides: DiscoveryOverrides{TokenURL: "ftp://x"}}, "providerDiscoveryOverrides.tokenURL"},
		{"rootCAs", Config{Issuer: "https://op.example", ClientID: "x", RootCAs: []string{"/does/not/exist.pem"}}, "rootCAs"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate(callback)
			var fe *FieldError
			if !errorsAs(err, &fe) || fe.Key != tt.key {
				t.Errorf("Validate = %v, want a problem with %s", err, tt.key)
			}
		})
	}
	if err := (&Config{Issuer: "https://op.example", ClientID: "x", RedirectURI: callback}).Validate(callback); err != nil {
		t.Errorf("valid config: %v", err)
	}
}
