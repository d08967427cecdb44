package server

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/server/oauth2"
)

const (
	scopeOpenID        = "openid"
	scopeEmail         = "email"
	scopeProfile       = "profile"
	scopeGroups        = "groups"
	scopeOfflineAccess = "offline_access"
	scopeFederatedID   = "federated:id"
	// scopeAudiencePrefix asks for another client's ID in aud (Dex's
	// cross-client trust, allowed by that client's trustedPeers).
	scopeAudiencePrefix = "audience:server:client_id:"
)

var standardScopes = []string{scopeOpenID, scopeEmail, scopeProfile, scopeGroups, scopeOfflineAccess}

type scopeSet []string

func (s scopeSet) has(v string) bool { return slices.Contains(s, v) }

func (s scopeSet) connectorScopes() connector.Scopes {
	return connector.Scopes{OfflineAccess: s.has(scopeOfflineAccess), Groups: s.has(scopeGroups)}
}

// peers returns the client IDs requested through audience scopes.
func (s scopeSet) peers() []string {
	var out []string
	for _, v := range s {
		if p, ok := strings.CutPrefix(v, scopeAudiencePrefix); ok && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// parseScopes splits and validates a scope parameter for client: openid is
// required, unknown scopes are refused (as Dex does), and each audience
// scope must name a client that trusts this one.
func parseScopes(ctx context.Context, raw string, client Client, clients *clientLookup) (scopeSet, error) {
	var s scopeSet
	var unknown []string
	for _, v := range strings.Fields(raw) {
		if slices.Contains(s, v) {
			continue
		}
		switch {
		case slices.Contains(standardScopes, v), v == scopeFederatedID:
		case strings.HasPrefix(v, scopeAudiencePrefix):
			peer := strings.TrimPrefix(v, scopeAudiencePrefix)
			if peer != client.ID {
				pc, ok, err := clients.get(ctx, peer)
				if err != nil {
					return nil, err
				}
				if !ok || !slices.Contains(pc.TrustedPeers, client.ID) {
					return nil, oauth2.InvalidScope(fmt.Sprintf("client %q does not trust client %q", peer, client.ID))
				}
			}
		default:
			unknown = append(unknown, v)
		}
		s = append(s, v)
	}
	if len(unknown) > 0 {
		return nil, oauth2.InvalidScope(fmt.Sprintf("unrecognized scope(s) %q", unknown))
	}
	if !s.has(scopeOpenID) {
		return nil, oauth2.InvalidScope(`the "openid" scope is required`)
	}
	return s, nil
}
