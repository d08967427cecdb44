package adminapi

import (
	"context"
	"errors"
	"slices"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/server/internal/usergrants"
	"github.com/torii-idp/torii/storage"
)

// ListAuthSessions lists the live sessions of user_id (the connector's ID
// of the user) on every connector or, with user_id empty, every live
// session, as Dex does. The answer is bounded (see listCap).
func (s *Service) ListAuthSessions(ctx context.Context, req ListAuthSessionsReq) (ListAuthSessionsResp, error) {
	var out listCap
	if req.UserID == "" {
		err := s.eachLiveSession(ctx, func(page []storage.Session) error { return out.add(page) })
		return ListAuthSessionsResp{Sessions: out.sessions}, err
	}
	for _, conn := range s.connectorIDs() {
		ss, err := s.liveSessions(ctx, conn, req.UserID)
		if err != nil {
			return ListAuthSessionsResp{}, err
		}
		if err := out.add(ss); err != nil {
			return ListAuthSessionsResp{}, err
		}
	}
	return ListAuthSessionsResp{Sessions: out.sessions}, nil
}

// DeleteAuthSession ends the user's sessions on the connector (Dex keeps
// one there), or only the one torii_id names, and revokes what a logout
// of each revokes. Nothing to end is not_found, as in Dex.
func (s *Service) DeleteAuthSession(ctx context.Context, req DeleteAuthSessionReq) (DeleteAuthSessionResp, error) {
	if req.UserID == "" {
		return DeleteAuthSessionResp{}, errors.New("no user_id supplied")
	}
	if req.ConnectorID == "" {
		return DeleteAuthSessionResp{}, errors.New("no connector_id supplied")
	}
	ss, err := s.liveSessions(ctx, req.ConnectorID, req.UserID)
	if err != nil {
		return DeleteAuthSessionResp{}, err
	}
	if req.ToriiID != "" {
		ss = slices.DeleteFunc(ss, func(x storage.Session) bool { return !sameToriiID(x.ID, req.ToriiID) })
	}
	n, err := s.endSessions(ctx, ss)
	if err != nil {
		return DeleteAuthSessionResp{}, err
	}
	if n == 0 {
		return DeleteAuthSessionResp{NotFound: true}, nil
	}
	s.sessionAudit(ctx, "session deleted", req.UserID, req.ConnectorID, n)
	return DeleteAuthSessionResp{}, nil
}

// TerminateSessionsByUser ends every session of the user on every
// connector and reports how many it ended (0 is an answer, not an error).
func (s *Service) TerminateSessionsByUser(ctx context.Context, req TerminateSessionsByUserReq) (TerminateSessionsByUserResp, error) {
	if req.UserID == "" {
		return TerminateSessionsByUserResp{}, errors.New("no user_id supplied")
	}
	var total int64
	for _, conn := range s.connectorIDs() {
		ss, err := s.liveSessions(ctx, conn, req.UserID)
		if err != nil {
			return TerminateSessionsByUserResp{}, err
		}
		n, err := s.endSessions(ctx, ss)
		total += n
		if err != nil {
			return TerminateSessionsByUserResp{}, err
		}
		if n > 0 {
			s.sessionAudit(ctx, "sessions terminated", req.UserID, conn, n)
		}
	}
	return TerminateSessionsByUserResp{SessionsTerminated: total}, nil
}

// liveSessions are the user's unexpired sessions on conn.
func (s *Service) liveSessions(ctx context.Context, conn, userID string) ([]storage.Session, error) {
	ss, err := usergrants.LiveSessions(ctx, s.c.Storage, conn, userID, s.c.Now())
	if err != nil {
		return nil, s.internal(ctx, "list sessions", err)
	}
	return ss, nil
}

// endSessions ends each session as a logout does (Config.EndSession) and
// counts the ones it ended (one ended meanwhile is not counted).
func (s *Service) endSessions(ctx context.Context, ss []storage.Session) (int64, error) {
	var n int64
	end := s.c.EndSession
	if end == nil {
		until := s.c.Now().Add(s.c.RevokeFor)
		end = func(ctx context.Context, x storage.Session) (bool, error) {
			ended, _, err := usergrants.EndSession(ctx, s.c.Storage, x, until)
			return ended, err
		}
	}
	for _, x := range ss {
		ended, err := end(ctx, x)
		if ended {
			n++
		}
		if err != nil {
			return n, s.internal(ctx, "end session", err)
		}
	}
	return n, nil
}

func (s *Service) connectorIDs() []string {
	if s.c.ConnectorIDs == nil {
		return nil
	}
	return s.c.ConnectorIDs()
}

func toAPISession(x storage.Session) AuthSession {
	a := AuthSession{
		UserID: x.Claims.UserID, ConnectorID: x.ConnectorID,
		CreatedAt: unixOrZero(x.CreatedAt), LastActivity: unixOrZero(x.LastUsed),
		AbsoluteExpiry: unixOrZero(x.AbsoluteExpiry), IdleExpiry: unixOrZero(x.IdleExpiry),
		ToriiID: toriiID(x.ID),
	}
	for _, c := range x.Clients {
		// torii tracks use per session, not per client: a client of a live
		// session is active until the session ends.
		a.ClientStates = append(a.ClientStates, ClientAuthState{ClientID: c, Active: true, ExpiresAt: unixOrZero(x.Expiry())})
	}
	return a
}

func toriiID(id string) string { return usergrants.ShortID(id) }

func sameToriiID(id, want string) bool { return usergrants.SameShortID(id, want) }

// sessionAudit logs and records an admin_change about a user's sessions.
func (s *Service) sessionAudit(ctx context.Context, msg, userID, conn string, n int64) {
	s.c.Logger.InfoContext(ctx, "admin api: "+msg, "user_id", userID, "connector_id", conn, "sessions", n)
	s.c.Audit.Log(ctx, audit.Record{Event: audit.AdminChange, Detail: msg,
		Subject: subject.Encode(userID, conn), ConnectorID: conn})
}
