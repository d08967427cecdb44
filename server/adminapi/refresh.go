package adminapi

import (
	"context"
	"fmt"

	api "github.com/dexidp/dex/api/v2"

	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/server/internal/usergrants"
)

// families returns the user's families (user_id is the `sub` of their ID
// tokens, as in Dex), in storage order.
func (s *Service) families(ctx context.Context, sub string) ([]usergrants.Family, error) {
	userID, connID, err := subject.Decode(sub)
	if err != nil {
		return nil, fmt.Errorf("invalid user_id (the sub claim of the user's ID token): %v", err)
	}
	fams, err := usergrants.Families(ctx, s.c.Storage, userID, connID)
	if err != nil {
		return nil, s.internal(ctx, "list refresh tokens", err)
	}
	return fams, nil
}

// ListRefresh lists every refresh-token family of the user: Dex keeps one
// per user and client, torii one per login, so a client may appear more
// than once. The id is the family's id, not a token.
func (s *Service) ListRefresh(ctx context.Context, req *api.ListRefreshReq) (*api.ListRefreshResp, error) {
	fams, err := s.families(ctx, req.GetUserId())
	if err != nil {
		return nil, err
	}
	resp := &api.ListRefreshResp{}
	for _, f := range fams {
		resp.RefreshTokens = append(resp.RefreshTokens, &api.RefreshTokenRef{
			Id: f.ID, ClientId: f.ClientID, CreatedAt: f.Created.Unix(), LastUsed: f.LastUsed.Unix(),
		})
	}
	return resp, nil
}

// RevokeRefresh revokes every family of the user and client: their refresh
// tokens stop working at once, and so do the access tokens they issued.
func (s *Service) RevokeRefresh(ctx context.Context, req *api.RevokeRefreshReq) (*api.RevokeRefreshResp, error) {
	userID, connID, err := subject.Decode(req.GetUserId())
	if err != nil {
		return nil, fmt.Errorf("invalid user_id (the sub claim of the user's ID token): %v", err)
	}
	revoked, err := usergrants.RevokeFamilies(ctx, s.c.Storage, userID, connID,
		func(f usergrants.Family) bool { return f.ClientID == req.GetClientId() }, s.c.Now().Add(s.c.RevokeFor))
	if err != nil {
		return nil, s.internal(ctx, "revoke refresh token", err)
	}
	if revoked == 0 {
		return &api.RevokeRefreshResp{NotFound: true}, nil
	}
	s.audit(ctx, "refresh tokens revoked", "client_id", req.GetClientId(), "families", revoked)
	return &api.RevokeRefreshResp{}, nil
}

// Subject is the sub torii (and Dex) give a user of a connector: what
// ListRefreshReq.user_id and RevokeRefreshReq.user_id expect.
func Subject(userID, connectorID string) string { return subject.Encode(userID, connectorID) }

// IsSubject reports whether s is a well-formed sub.
func IsSubject(s string) bool {
	_, _, err := subject.Decode(s)
	return err == nil
}

// DecodeSubject returns the user ID and connector ID a sub encodes.
func DecodeSubject(sub string) (userID, connectorID string, err error) { return subject.Decode(sub) }
