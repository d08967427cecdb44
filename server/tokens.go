package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/server/oauth2"
	"github.com/torii-idp/torii/server/signer"
	"github.com/torii-idp/torii/storage"
)

// audience marshals as a string when it has one member, as Dex does.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

type federatedClaims struct {
	ConnectorID string `json:"connector_id"`
	UserID      string `json:"user_id"`
}

// idTokenClaims is the payload of ID tokens and (with the access-token
// fields set) of access tokens.
type idTokenClaims struct {
	Issuer          string   `json:"iss"`
	Subject         string   `json:"sub"`
	Audience        audience `json:"aud"`
	AuthorizedParty string   `json:"azp,omitempty"`
	Expiry          int64    `json:"exp"`
	IssuedAt        int64    `json:"iat"`
	AuthTime        int64    `json:"auth_time,omitempty"`
	Nonce           string   `json:"nonce,omitempty"`
	AccessTokenHash string   `json:"at_hash,omitempty"`
	CodeHash        string   `json:"c_hash,omitempty"`
	// SessionID (sid) names the browser session for logout (ID tokens only).
	SessionID string `json:"sid,omitempty"`
	scopedClaims

	// Access tokens only.
	TokenUse string `json:"token_use,omitempty"`
	Scope    string `json:"scope,omitempty"`
	GrantID  string `json:"grant,omitempty"`
}

const tokenUseAccess = "access"

// scopedClaims are the identity claims the email, groups, profile and
// federated:id scopes release; ID tokens, access tokens and /userinfo carry
// the same ones.
type scopedClaims struct {
	Email           string           `json:"email,omitempty"`
	EmailVerified   *bool            `json:"email_verified,omitempty"`
	Groups          []string         `json:"groups,omitempty"`
	Name            string           `json:"name,omitempty"`
	PreferredName   string           `json:"preferred_username,omitempty"`
	FederatedClaims *federatedClaims `json:"federated_claims,omitempty"`
}

// minter signs ID and access tokens.
type minter struct {
	issuer issuer
	signer *signer.Signer
	ttl    time.Duration
	now    func() time.Time
	// clients is the current client config, against which every mint
	// checks the grant's scopes again.
	clients *clientLookup
	audit   *audit.Logger
}

// grantInfo is what every grant knows when it is ready to issue tokens.
type grantInfo struct {
	clientID    string
	scopes      scopeSet
	claims      storage.Claims
	connectorID string
	nonce       string
	authTime    time.Time
	// sessionID is the hashed browser session of the login ("" without
	// one); its sid form is in the ID token.
	sessionID string
	grantID   string
	code      string // for c_hash, code grant only
	grantType string // for the audit record
}

// ttlFor is the lifetime of the client's ID and access tokens.
func (m *minter) ttlFor(c Client) time.Duration {
	if c.IDTokenLifetime > 0 && c.IDTokenLifetime < m.ttl {
		return c.IDTokenLifetime
	}
	return m.ttl
}

func (m *minter) baseClaims(g grantInfo, now time.Time, ttl time.Duration) idTokenClaims {
	c := idTokenClaims{
		Issuer:   m.issuer.URL,
		Subject:  subject.Encode(g.claims.UserID, g.connectorID),
		Expiry:   now.Add(ttl).Unix(),
		IssuedAt: now.Unix(),
	}
	if !g.authTime.IsZero() {
		c.AuthTime = g.authTime.Unix()
	}
	for _, p := range g.scopes.peers() {
		c.Audience = append(c.Audience, p)
	}
	if len(c.Audience) == 0 {
		c.Audience = audience{g.clientID}
	} else {
		if !slices.Contains(c.Audience, g.clientID) {
			c.Audience = append(c.Audience, g.clientID)
		}
		c.AuthorizedParty = g.clientID
	}
	if g.scopes.has(scopeEmail) && g.claims.Email != "" {
		c.Email = g.claims.Email
		v := g.claims.EmailVerified
		c.EmailVerified = &v
	}
	if g.scopes.has(scopeGroups) {
		c.Groups = g.claims.Groups
		if c.Groups == nil {
			c.Groups = []string{}
		}
	}
	if g.scopes.has(scopeProfile) {
		c.Name = g.claims.Username
		c.PreferredName = g.claims.PreferredUsername
	}
	if g.scopes.has(scopeFederatedID) {
		c.FederatedClaims = &federatedClaims{ConnectorID: g.connectorID, UserID: g.claims.UserID}
	}
	return c
}

// mint returns a token response with a signed access token and ID token.
func (m *minter) mint(ctx context.Context, g grantInfo) (*oauth2.TokenResponse, error) {
	// The scopes were allowed when the grant began; the config may have
	// changed since (a peer no longer trusting the client), so check them
	// again against the current one, on refresh too.
	client, ok, err := m.clients.get(ctx, g.clientID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, oauth2.InvalidClient("the client no longer exists")
	}
	if _, err := parseScopes(ctx, strings.Join(g.scopes, " "), client, m.clients); err != nil {
		return nil, err
	}
	now := m.now()
	ttl := m.ttlFor(client)
	at := m.baseClaims(g, now, ttl)
	at.Audience = audience{g.clientID}
	at.AuthorizedParty = ""
	at.TokenUse = tokenUseAccess
	at.Scope = strings.Join(g.scopes, " ")
	at.GrantID = g.grantID
	access, err := m.sign(ctx, at)
	if err != nil {
		return nil, err
	}
	id := m.baseClaims(g, now, ttl)
	id.Nonce = g.nonce
	if g.sessionID != "" {
		id.SessionID = g.sessionID
	}
	id.AccessTokenHash = halfHash(access)
	if g.code != "" {
		id.CodeHash = halfHash(g.code)
	}
	idToken, err := m.sign(ctx, id)
	if err != nil {
		return nil, err
	}
	m.audit.Log(ctx, audit.Record{Event: audit.TokensIssued, Subject: id.Subject, ConnectorID: g.connectorID,
		ClientID: g.clientID, Grant: g.grantType, Scopes: g.scopes})
	return &oauth2.TokenResponse{
		AccessToken: access,
		TokenType:   "bearer",
		ExpiresIn:   int64(ttl / time.Second),
		IDToken:     idToken,
		Scope:       strings.Join(g.scopes, " "),
	}, nil
}

func (m *minter) sign(ctx context.Context, c idTokenClaims) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encoding claims: %w", err)
	}
	return m.signer.Sign(ctx, b)
}
