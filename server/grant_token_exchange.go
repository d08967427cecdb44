package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/server/oauth2"
)

const grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// RFC 8693 token types.
const (
	tokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	tokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

// tokenExchangeParams are RFC 8693's (and Dex's connector_id); each may be
// given at most once, audience included (torii issues one token).
var tokenExchangeParams = []string{"connector_id", "subject_token", "subject_token_type",
	"requested_token_type", "audience", "resource", "actor_token", "actor_token_type"}

// tokenExchangeGrant is RFC 8693 token exchange as Dex does it: a client
// presents a token of an upstream provider (subject_token) and the
// connector that trusts that provider (connector_id); the connector checks
// the token and torii issues its own token for the person it names, without
// a browser. No refresh token is issued.
type tokenExchangeGrant struct {
	connectors map[string]Connector
	clients    *clientLookup
	minter     *minter
	now        func() time.Time
	metrics    *Metrics
	audit      *audit.Logger
}

func (g *tokenExchangeGrant) handle(ctx context.Context, r *http.Request, client Client) (*oauth2.TokenResponse, error) {
	f := r.PostForm
	if err := checkParams(f, tokenExchangeParams, tokenExchangeParams); err != nil {
		return nil, err
	}
	if f.Get("actor_token") != "" || f.Get("actor_token_type") != "" {
		return nil, oauth2.InvalidRequest("actor_token (delegation) is not supported")
	}
	if f.Get("resource") != "" {
		return nil, &oauth2.Error{Code: "invalid_target", Description: "resource is not supported; use audience with a client ID", Status: http.StatusBadRequest}
	}
	connID := f.Get("connector_id")
	if connID == "" {
		return nil, oauth2.InvalidRequest("connector_id is required")
	}
	conn, ok := g.connectors[connID]
	if !ok {
		return nil, oauth2.InvalidRequest("the requested connector does not exist")
	}
	if conn.TokenIdentity == nil {
		return nil, oauth2.InvalidRequest("the requested connector does not support token exchange")
	}
	subjectToken, subjectType := f.Get("subject_token"), f.Get("subject_token_type")
	if subjectToken == "" || subjectType == "" {
		return nil, oauth2.InvalidRequest("subject_token and subject_token_type are required")
	}
	if subjectType != tokenTypeIDToken && subjectType != tokenTypeAccessToken {
		return nil, oauth2.InvalidRequest("subject_token_type must be " + tokenTypeIDToken + " or " + tokenTypeAccessToken)
	}
	requested := f.Get("requested_token_type")
	if requested == "" {
		requested = tokenTypeAccessToken
	}
	if requested != tokenTypeIDToken && requested != tokenTypeAccessToken {
		return nil, oauth2.InvalidRequest("requested_token_type must be " + tokenTypeIDToken + " or " + tokenTypeAccessToken)
	}
	raw := f.Get("scope")
	if strings.TrimSpace(raw) == "" {
		raw = scopeOpenID
	}
	// audience asks for an ID token for another client: allowed exactly
	// when the audience:server:client_id scope would be (its trustedPeers
	// name this client).
	if aud := f.Get("audience"); aud != "" && aud != client.ID {
		if requested != tokenTypeIDToken {
			return nil, &oauth2.Error{Code: "invalid_target", Description: "audience is honoured for ID tokens (requested_token_type " + tokenTypeIDToken + ")", Status: http.StatusBadRequest}
		}
		raw += " " + scopeAudiencePrefix + aud
	}
	scopes, err := parseScopes(ctx, raw, client, g.clients)
	if err != nil {
		var oe *oauth2.Error
		if errors.As(err, &oe) && oe.Code == "invalid_scope" && f.Get("audience") != "" && strings.Contains(oe.Description, "does not trust") {
			return nil, &oauth2.Error{Code: "invalid_target", Description: oe.Description, Status: http.StatusBadRequest}
		}
		return nil, err
	}
	// No refresh token: the client exchanges a fresh upstream token again.
	scopes = slices.DeleteFunc(scopes, func(s string) bool { return s == scopeOfflineAccess })

	ident, err := conn.TokenIdentity.TokenIdentity(ctx, subjectType, subjectToken)
	if err != nil {
		rec := audit.Record{Event: audit.LoginFailed, ConnectorID: connID, Grant: grantTokenExchange}
		var le *connector.LoginError
		if errors.As(err, &le) {
			rec.Result, rec.Reason = audit.ResultDenied, "subject token refused"
			g.metrics.login(connID, loginRefused)
			g.audit.Log(ctx, rec)
			return nil, oauth2.InvalidGrant(fmt.Sprintf("the subject token was not accepted: %s", le.Message))
		}
		rec.Result, rec.Reason = audit.ResultError, "connector error"
		g.metrics.login(connID, loginFailedError)
		g.audit.Log(ctx, rec)
		return nil, loginError(err)
	}
	g.metrics.login(connID, loginSuccess)
	g.audit.Log(ctx, audit.Record{Event: audit.LoginSucceeded, Subject: subject.Encode(ident.UserID, connID), ConnectorID: connID, Grant: grantTokenExchange})
	resp, err := g.minter.mint(ctx, grantInfo{
		clientID:    client.ID,
		scopes:      scopes,
		claims:      claimsFromIdentity(ident),
		connectorID: connID,
		grantID:     newToken(),
		grantType:   grantTokenExchange,
	})
	if err != nil {
		return nil, err
	}
	out := &oauth2.TokenResponse{TokenType: "bearer", ExpiresIn: resp.ExpiresIn, Scope: resp.Scope, IssuedTokenType: requested}
	if requested == tokenTypeIDToken {
		// RFC 8693 §2.2.1: the issued token is in access_token whatever its
		// type. token_type stays "bearer", as Dex answers.
		out.AccessToken = resp.IDToken
	} else {
		out.AccessToken, out.IDToken = resp.AccessToken, resp.IDToken
	}
	return out, nil
}
