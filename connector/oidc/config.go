// Package oidc logs people in at an upstream OpenID Provider (Azure AD /
// Entra ID, Keycloak, Google, any certified OP), as Dex's oidc connector
// does: same config keys, same meanings and defaults, and the same user ID,
// so a Dex config loads unchanged and `sub` stays the same.
package oidc

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Config is the oidc connector's config block. Every key is Dex v2.45's,
// with Dex's meaning, except TrustedAudiences (torii).
type Config struct {
	// Issuer is the provider's URL; its discovery document is read from
	// Issuer + "/.well-known/openid-configuration".
	Issuer string `yaml:"issuer"`
	// IssuerAlias is the issuer the discovery document and the ID tokens
	// name when it differs from Issuer (the URL they are fetched from).
	IssuerAlias string `yaml:"issuerAlias"`

	ClientID     string `yaml:"clientID"`
	ClientSecret string `yaml:"clientSecret"`
	// RedirectURI must be torii's issuer + "/callback" (empty: that URL).
	RedirectURI string `yaml:"redirectURI"`

	ProviderDiscoveryOverrides DiscoveryOverrides `yaml:"providerDiscoveryOverrides"`

	// BasicAuthUnsupported sends the client secret in the token request's
	// body instead of HTTP basic auth. Unset: in the body for Okta (as Dex
	// detects it), basic auth elsewhere.
	BasicAuthUnsupported *bool `yaml:"basicAuthUnsupported"`

	// Scopes are requested besides openid (default: profile email).
	Scopes []string `yaml:"scopes"`
	// HostedDomains restricts Google logins to these Workspace domains (the
	// hd claim); the first is sent as the hd hint, "*" with several.
	HostedDomains []string `yaml:"hostedDomains"`

	// RootCAs are the CAs trusted for the provider's TLS certificate: file
	// paths, PEM text, or base64-encoded PEM. Empty: the system's roots.
	RootCAs            []string `yaml:"rootCAs"`
	InsecureSkipVerify bool     `yaml:"insecureSkipVerify"`

	// InsecureSkipEmailVerified treats a missing email_verified as true.
	InsecureSkipEmailVerified bool `yaml:"insecureSkipEmailVerified"`
	// InsecureEnableGroups reads groups from the groups claim.
	InsecureEnableGroups bool `yaml:"insecureEnableGroups"`
	// AllowedGroups, with InsecureEnableGroups: only members of one of
	// these may log in, and only these groups are kept.
	AllowedGroups []string `yaml:"allowedGroups"`
	// AcrValues are sent as acr_values, in order of preference.
	AcrValues []string `yaml:"acrValues"`
	// GetUserInfo reads the userinfo endpoint too; its claims win over the
	// ID token's.
	GetUserInfo bool `yaml:"getUserInfo"`
	// UserIDKey is the claim holding the user ID (default sub).
	UserIDKey string `yaml:"userIDKey"`
	// UserNameKey is the claim holding the display name (default name).
	UserNameKey string `yaml:"userNameKey"`
	// PromptType is the prompt sent with offline_access (default consent;
	// "" sends none).
	PromptType *string `yaml:"promptType"`
	// PKCEChallenge is S256 or plain. torii: empty uses S256 when the
	// provider's discovery document advertises it (Dex: no PKCE).
	PKCEChallenge string `yaml:"pkceChallenge"`

	// OverrideClaimMapping makes ClaimMapping win even when the standard
	// claim is present (by default a mapping is only used as a fallback).
	OverrideClaimMapping bool               `yaml:"overrideClaimMapping"`
	ClaimMapping         ClaimMapping       `yaml:"claimMapping"`
	ClaimModifications   ClaimModifications `yaml:"claimModifications"`

	// TrustedAudiences (torii) are further aud values accepted on a token
	// presented for token exchange, besides ClientID.
	TrustedAudiences []string `yaml:"trustedAudiences"`
}

// DiscoveryOverrides replace endpoints of the discovery document.
type DiscoveryOverrides struct {
	TokenURL    string `yaml:"tokenURL"`
	AuthURL     string `yaml:"authURL"`
	JWKSURL     string `yaml:"jwksURL"`
	UserInfoURL string `yaml:"userInfoURL"`
}

func (o DiscoveryOverrides) empty() bool { return o == DiscoveryOverrides{} }

// ClaimMapping names the claims read when the standard one is missing (or
// always, with OverrideClaimMapping).
type ClaimMapping struct {
	PreferredUsername string `yaml:"preferred_username"`
	Email             string `yaml:"email"`
	Groups            string `yaml:"groups"`
}

// ClaimModifications change the groups read from the claims.
type ClaimModifications struct {
	NewGroupFromClaims []NewGroupFromClaims `yaml:"newGroupFromClaims"`
	FilterGroupClaims  *FilterGroupClaims   `yaml:"filterGroupClaims"`
	ModifyGroupNames   *ModifyGroupNames    `yaml:"modifyGroupNames"`
}

// NewGroupFromClaims adds one group: Prefix and the string values of
// Claims, joined by Delimiter (claims that are missing or not strings are
// skipped; no group when none is a string).
type NewGroupFromClaims struct {
	Claims    []string `yaml:"claims"`
	Delimiter string   `yaml:"delimiter"`
	// ClearDelimiter removes Delimiter from the claim values first.
	ClearDelimiter bool   `yaml:"clearDelimiter"`
	Prefix         string `yaml:"prefix"`
}

// FilterGroupClaims keeps only the groups matching GroupsFilter (a Go
// regular expression, unanchored as in Dex).
type FilterGroupClaims struct {
	GroupsFilter string `yaml:"groupsFilter"`
}

// ModifyGroupNames adds a prefix and a suffix to every group read from the
// groups claim.
type ModifyGroupNames struct {
	Prefix string `yaml:"prefix"`
	Suffix string `yaml:"suffix"`
}

// FieldError is a problem with one key; Key is its path in the config block.
type FieldError struct {
	Key, Msg string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

// DefaultTimeout bounds every request to the provider.
const DefaultTimeout = 10 * time.Second

// Validate reports every problem of the block (FieldErrors, joined).
// callbackURL is torii's issuer + "/callback" ("" skips that check).
func (c *Config) Validate(callbackURL string) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	checkURL := func(key, v string, required bool) {
		if v == "" {
			if required {
				bad(key, "is required")
			}
			return
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad(key, "%q is not an http(s) URL", v)
		}
	}
	checkURL("issuer", c.Issuer, true)
	checkURL("providerDiscoveryOverrides.tokenURL", c.ProviderDiscoveryOverrides.TokenURL, false)
	checkURL("providerDiscoveryOverrides.authURL", c.ProviderDiscoveryOverrides.AuthURL, false)
	checkURL("providerDiscoveryOverrides.jwksURL", c.ProviderDiscoveryOverrides.JWKSURL, false)
	checkURL("providerDiscoveryOverrides.userInfoURL", c.ProviderDiscoveryOverrides.UserInfoURL, false)
	if c.ClientID == "" {
		bad("clientID", "is required")
	}
	if c.RedirectURI != "" && callbackURL != "" && c.RedirectURI != callbackURL {
		bad("redirectURI", "%q must be torii's callback URL %q (the issuer followed by /callback)", c.RedirectURI, callbackURL)
	}
	switch c.PKCEChallenge {
	case "", "S256", "plain":
	default:
		bad("pkceChallenge", "%q is not S256 or plain", c.PKCEChallenge)
	}
	if len(c.AllowedGroups) > 0 && !c.InsecureEnableGroups {
		bad("allowedGroups", "needs insecureEnableGroups: true (groups are only read from the claims with it)")
	}
	if f := c.ClaimModifications.FilterGroupClaims; f != nil {
		if _, err := regexp.Compile(f.GroupsFilter); err != nil {
			bad("claimModifications.filterGroupClaims.groupsFilter", "not a regular expression: %v", err)
		}
	}
	for i, g := range c.ClaimModifications.NewGroupFromClaims {
		if len(g.Claims) == 0 {
			bad(fmt.Sprintf("claimModifications.newGroupFromClaims[%d].claims", i), "needs at least one claim")
		}
	}
	for i, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\"\\") {
			bad(fmt.Sprintf("scopes[%d]", i), "%q is not a scope", s)
		}
	}
	if _, err := loadRootCAs(c.RootCAs); err != nil {
		bad("rootCAs", "%v", err)
	}
	return errors.Join(errs...)
}
