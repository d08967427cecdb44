package adminapi

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/storage"
)

// The bounds of one ListAuthSessions answer. Dex's response has no page
// token, so torii cannot hand out a store's sessions in parts: it reads
// them a page at a time and refuses, rather than truncates, an answer that
// would pass either bound (a silently shortened list would read as the
// whole). 10,000 sessions of a few clients each are about 2 MB, under the
// 4 MiB a gRPC client accepts by default.
const (
	MaxListedSessions = 10000
	maxListedBytes    = 3 << 20
	// sessionPage is how many sessions one storage call reads.
	sessionPage = 500
)

// listCap collects sessions for an answer within the bounds above.
type listCap struct {
	sessions []AuthSession
	bytes    int
}

func (c *listCap) add(ss []storage.Session) error {
	for _, x := range ss {
		a := toAPISession(x)
		c.bytes += approxSize(a)
		if len(c.sessions) == MaxListedSessions || c.bytes > maxListedBytes {
			return status.Errorf(codes.ResourceExhausted,
				"list auth sessions: more than %d sessions (or %d MiB) to list; ask for one user's with user_id", MaxListedSessions, maxListedBytes>>20)
		}
		c.sessions = append(c.sessions, a)
	}
	return nil
}

// approxSize is an upper estimate of a session's encoded size: its strings
// plus ten bytes for each number and tag.
func approxSize(a AuthSession) int {
	n := len(a.UserID) + len(a.ConnectorID) + len(a.IPAddress) + len(a.UserAgent) + len(a.ToriiID) + 10*10
	for _, c := range a.ClientStates {
		n += len(c.ClientID) + 6*10
	}
	return n
}

// eachLiveSession calls fn with every live session of the store, a page at
// a time (expired ones wait for the garbage collector and are left out).
func (s *Service) eachLiveSession(ctx context.Context, fn func([]storage.Session) error) error {
	token := ""
	for {
		page, next, err := s.c.Storage.ListSessions(ctx, token, sessionPage)
		if err != nil {
			return s.internal(ctx, "list sessions", err)
		}
		now := s.c.Now()
		page = slices.DeleteFunc(page, func(x storage.Session) bool { return x.Expiry().Before(now) })
		if err := fn(page); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		token = next
	}
}

// GetAuthSession returns the user's session on the connector: the one
// torii_id names or, without it, the one used most recently (Dex keeps
// one per user and connector). None is the error "not found", as in Dex.
func (s *Service) GetAuthSession(ctx context.Context, req GetAuthSessionReq) (GetAuthSessionResp, error) {
	if req.UserID == "" {
		return GetAuthSessionResp{}, errors.New("no user_id supplied")
	}
	if req.ConnectorID == "" {
		return GetAuthSessionResp{}, errors.New("no connector_id supplied")
	}
	ss, err := s.liveSessions(ctx, req.ConnectorID, req.UserID)
	if err != nil {
		return GetAuthSessionResp{}, err
	}
	if req.ToriiID != "" {
		ss = slices.DeleteFunc(ss, func(x storage.Session) bool { return !sameToriiID(x.ID, req.ToriiID) })
	}
	if len(ss) == 0 {
		return GetAuthSessionResp{}, errNotFound
	}
	latest := slices.MaxFunc(ss, func(a, b storage.Session) int { return a.LastUsed.Compare(b.LastUsed) })
	return GetAuthSessionResp{Session: toAPISession(latest)}, nil
}

// TerminateSessionsByConnector ends every live session on the connector,
// of every user, revoking what a logout of each revokes, and counts them.
// An unknown connector has none: 0 is an answer, not an error.
func (s *Service) TerminateSessionsByConnector(ctx context.Context, req TerminateSessionsByConnectorReq) (TerminateSessionsByConnectorResp, error) {
	if req.ConnectorID == "" {
		return TerminateSessionsByConnectorResp{}, errors.New("no connector_id supplied")
	}
	var total int64
	err := s.eachLiveSession(ctx, func(page []storage.Session) error {
		page = slices.DeleteFunc(page, func(x storage.Session) bool { return x.ConnectorID != req.ConnectorID })
		n, err := s.endSessions(ctx, page)
		total += n
		return err
	})
	if total > 0 {
		msg := "sessions terminated by connector"
		s.c.Logger.InfoContext(ctx, "admin api: "+msg, "connector_id", req.ConnectorID, "sessions", total)
		s.c.Audit.Log(ctx, audit.Record{Event: audit.AdminChange, Detail: fmt.Sprintf("%s (%d)", msg, total), ConnectorID: req.ConnectorID})
	}
	if err != nil {
		return TerminateSessionsByConnectorResp{}, err
	}
	return TerminateSessionsByConnectorResp{SessionsTerminated: total}, nil
}
