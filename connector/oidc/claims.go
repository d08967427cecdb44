package oidc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/torii-idp/torii/connector"
)

// identity maps the provider's claims to an identity, with Dex's rules:
// sub (or userIDKey) is the user ID; name (or userNameKey) is required;
// claimMapping names fallbacks (or replacements, with
// overrideClaimMapping); an email and email_verified are required when the
// email scope is requested.
func (c *Connector) identity(ctx context.Context, claims map[string]any) (connector.Identity, error) {
	missing := func(name string) error {
		return c.refuse(ctx, msgMissingClaim, fmt.Errorf("the provider's claims have no %q string claim", name))
	}
	sub, ok := claims["sub"].(string)
	if !ok || sub == "" {
		return connector.Identity{}, missing("sub")
	}
	nameKey := or(c.cfg.UserNameKey, "name")
	name, ok := claims[nameKey].(string)
	if !ok {
		return connector.Identity{}, missing(nameKey)
	}
	m := c.cfg.ClaimMapping
	pick := func(std, mapped string) (string, string, bool) {
		v, found := claims[std].(string)
		if (!found || c.cfg.OverrideClaimMapping) && mapped != "" {
			v, found = claims[mapped].(string)
			return v, mapped, found
		}
		return v, std, found
	}
	preferred, _, _ := pick("preferred_username", m.PreferredUsername)
	email, emailKey, found := pick("email", m.Email)
	emailScope := slices.Contains(c.scopes, "email")
	if !found && emailScope {
		return connector.Identity{}, missing(emailKey)
	}
	verified, found := claims["email_verified"].(bool)
	if !found {
		switch {
		case c.cfg.InsecureSkipEmailVerified:
			verified = true
		case emailScope:
			return connector.Identity{}, c.refuse(ctx, msgMissingClaim, errors.New(`the provider's claims have no "email_verified" boolean claim (set insecureSkipEmailVerified for providers that never send it, like Azure AD)`))
		}
	}
	if hd := c.cfg.HostedDomains; len(hd) > 0 {
		got, _ := claims["hd"].(string)
		if !slices.Contains(hd, got) {
			return connector.Identity{}, c.refuse(ctx, msgWrongDomain, fmt.Errorf("hd claim %q is not one of hostedDomains", got))
		}
	}
	id := connector.Identity{UserID: sub, Username: name, PreferredUsername: preferred, Email: email, EmailVerified: verified}
	if c.cfg.UserIDKey != "" {
		uid, ok := claims[c.cfg.UserIDKey].(string)
		if !ok || uid == "" {
			return connector.Identity{}, missing(c.cfg.UserIDKey)
		}
		id.UserID = uid
	}
	groups, err := c.groups(ctx, claims)
	if err != nil {
		return connector.Identity{}, err
	}
	id.Groups = groups
	return id, nil
}

// groups reads the groups claim (insecureEnableGroups) and applies
// allowedGroups, claimModifications.filterGroupClaims and
// modifyGroupNames to it, then adds the groups of newGroupFromClaims.
func (c *Connector) groups(ctx context.Context, claims map[string]any) ([]string, error) {
	var groups []string
	if c.cfg.InsecureEnableGroups {
		key := "groups"
		v, found := claims[key]
		if m := c.cfg.ClaimMapping.Groups; (!found || c.cfg.OverrideClaimMapping) && m != "" {
			key = m
			v, found = claims[key]
		}
		switch v := v.(type) {
		case nil:
			if !found && overage(claims, key) {
				// Azure AD leaves groups out when there are too many (over
				// 200 in a token) and points at Microsoft Graph instead; a
				// token without them would silently drop every group.
				return nil, c.refuse(ctx, msgGroupOverage, errors.New("the ID token has no groups claim but _claim_names.groups (Azure AD group overage); use group filtering in the app registration (groupMembershipClaims: ApplicationGroup) or app roles"))
			}
		case string:
			groups = []string{v}
		case []any:
			for _, g := range v {
				s, ok := g.(string)
				if !ok {
					return nil, c.refuse(ctx, msgUpstreamError, fmt.Errorf("the %q claim is not a list of strings", key))
				}
				groups = append(groups, s)
			}
		default:
			return nil, c.refuse(ctx, msgUpstreamError, fmt.Errorf("the %q claim is not a list of strings", key))
		}
		if len(c.cfg.AllowedGroups) > 0 {
			var kept []string
			for _, g := range groups {
				if slices.Contains(c.cfg.AllowedGroups, g) && !slices.Contains(kept, g) {
					kept = append(kept, g)
				}
			}
			if len(kept) == 0 {
				return nil, c.refuse(ctx, msgNotInGroups, errors.New("not a member of any of allowedGroups"))
			}
			groups = kept
		}
		if c.groupsFilter != nil {
			groups = slices.DeleteFunc(groups, func(g string) bool { return !c.groupsFilter.MatchString(g) })
		}
		if mg := c.cfg.ClaimModifications.ModifyGroupNames; mg != nil {
			for i, g := range groups {
				groups[i] = mg.Prefix + g + mg.Suffix
			}
		}
	}
	for _, ng := range c.cfg.ClaimModifications.NewGroupFromClaims {
		parts := []string{ng.Prefix}
		for _, name := range ng.Claims {
			v, ok := claims[name].(string)
			if !ok {
				continue
			}
			if ng.ClearDelimiter && ng.Delimiter != "" {
				v = strings.ReplaceAll(v, ng.Delimiter, "")
			}
			parts = append(parts, v)
		}
		if len(parts) > 1 {
			groups = append(groups, strings.Join(parts, ng.Delimiter))
		}
	}
	return groups, nil
}

// overage reports Azure AD's marker for groups left out of the token:
// _claim_names naming the groups claim.
func overage(claims map[string]any, key string) bool {
	names, ok := claims["_claim_names"].(map[string]any)
	if !ok {
		return false
	}
	_, ok = names[key]
	if !ok {
		_, ok = names["groups"]
	}
	return ok
}
