package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/torii-idp/torii/connector"
)

// connectorData is what torii keeps with a login (in its refresh tokens
// and sessions), sealed: the provider's refresh token.
type connectorData struct {
	RefreshToken string `json:"rt,omitempty"`
}

func (c *Connector) sealRefresh(rt string) []byte {
	if rt == "" {
		return nil
	}
	b, _ := json.Marshal(connectorData{RefreshToken: rt})
	return c.box.Seal(b)
}

func (c *Connector) openRefresh(data []byte) (string, error) {
	if len(data) == 0 {
		return "", nil
	}
	if data[0] == '{' {
		// Dex's own connector data ({"RefreshToken": base64}), in refresh
		// tokens imported from Dex (torii import-dex): read once, sealed
		// when the refresh stores it again.
		var dex struct{ RefreshToken []byte }
		if err := json.Unmarshal(data, &dex); err != nil {
			return "", err
		}
		return string(dex.RefreshToken), nil
	}
	b, err := c.box.Open(data)
	if err != nil {
		return "", err
	}
	var cd connectorData
	if err := json.Unmarshal(b, &cd); err != nil {
		return "", err
	}
	return cd.RefreshToken, nil
}

// Refresh uses the provider's refresh token kept with the login: the
// provider is asked again whether the person may still log in, and their
// claims and groups are read again. A refusal (revoked token, disabled
// user) is connector.ErrUserGone; a provider that does not answer is
// connector.ErrUnavailable. The provider's new refresh token, if it
// rotates them, is returned in ConnectorData for the server to store with
// its own rotation.
func (c *Connector) Refresh(ctx context.Context, s connector.Scopes, prev connector.Identity) (connector.Identity, error) {
	rt, err := c.openRefresh(prev.ConnectorData)
	if err != nil {
		c.log.WarnContext(ctx, "the stored provider refresh token cannot be opened (was the clientSecret changed?)", "err", err)
		return connector.Identity{}, fmt.Errorf("%w: the provider refresh token cannot be opened", connector.ErrUserGone)
	}
	if rt == "" {
		c.log.WarnContext(ctx, "refresh refused: the provider gave no refresh token at login (add offline_access to scopes for providers that need it)")
		return connector.Identity{}, fmt.Errorf("%w: no provider refresh token", connector.ErrUserGone)
	}
	ep, err := c.disc.get(ctx)
	if err != nil {
		return connector.Identity{}, c.unavailable(ctx, "reading the provider's discovery document", err)
	}
	// An expired token makes the token source refresh at once.
	src := c.oauth2Config(ep, "").TokenSource(c.clientCtx(ctx, OpToken), &oauth2.Token{RefreshToken: rt})
	tok, err := src.Token()
	if err != nil {
		if re, ok := refusal(err); ok {
			c.log.WarnContext(ctx, "the provider refused the refresh", "status", re.Response.StatusCode, "error", truncate(re.ErrorCode), "error_description", truncate(re.ErrorDescription))
			return connector.Identity{}, fmt.Errorf("%w: the provider refused the refresh (%s)", connector.ErrUserGone, truncate(re.ErrorCode))
		}
		return connector.Identity{}, c.unavailable(ctx, "refreshing at the provider", err)
	}
	next := prev
	if tok.RefreshToken != "" {
		rt = tok.RefreshToken
	}
	// Sealed again even when unchanged, so data imported from Dex does not
	// stay in the clear.
	next.ConnectorData = c.sealRefresh(rt)
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" && !c.cfg.GetUserInfo {
		// An ID token is optional in a refresh response: the provider
		// vouched for the person by refreshing; the claims stay.
		return next, nil
	}
	claims := map[string]any{}
	if raw != "" {
		idt, err := c.verify(ctx, ep, ep.verifier, raw)
		if err != nil {
			return connector.Identity{}, refreshRefused(err)
		}
		if claims, err = c.claims(ctx, ep, idt, tok.AccessToken); err != nil {
			return connector.Identity{}, refreshRefused(err)
		}
	} else if claims, err = c.claims(ctx, ep, nil, tok.AccessToken); err != nil {
		return connector.Identity{}, refreshRefused(err)
	}
	id, err := c.identity(ctx, claims)
	if err != nil {
		return connector.Identity{}, refreshRefused(err)
	}
	if id.UserID != prev.UserID {
		c.log.WarnContext(ctx, "refresh refused: the provider now names another user")
		return connector.Identity{}, fmt.Errorf("%w: another user", connector.ErrUserGone)
	}
	id.ConnectorData = next.ConnectorData
	return id, nil
}

// refreshRefused keeps ErrUnavailable and turns a refusal (a person no
// longer in the allowed groups, a bad token) into ErrUserGone.
func refreshRefused(err error) error {
	if errors.Is(err, connector.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %v", connector.ErrUserGone, err)
}
