package storage

import (
	"context"
	"fmt"
	"time"
)

// Session is a browser's single sign-on session, created at a successful
// browser login. ID is the SHA-256 hash of the random cookie value; only
// the browser holds the value itself.
type Session struct {
	ID          string
	ConnectorID string
	// Claims are the claims of the login (Claims.UserID is the user).
	Claims        Claims
	ConnectorData []byte
	// AuthTime is when the person actually authenticated (auth_time).
	AuthTime  time.Time
	CreatedAt time.Time
	LastUsed  time.Time
	// AbsoluteExpiry ends the session whatever its use; IdleExpiry moves
	// with LastUsed. The session is dead after the earlier of the two.
	AbsoluteExpiry time.Time
	IdleExpiry     time.Time
	// RememberMe: the cookie is persistent (else it ends with the browser).
	RememberMe bool
	// Clients are the client IDs the session has been used for, in order of
	// first use (back-channel logout goes to each).
	Clients []string
	// Consents are the scopes the person approved in this session, by
	// client ID; a later login of that client for a subset skips approval.
	Consents map[string][]string
}

// Expiry is when the session ends: the earlier of its two expiries.
func (s Session) Expiry() time.Time {
	if s.IdleExpiry.IsZero() || (!s.AbsoluteExpiry.IsZero() && s.AbsoluteExpiry.Before(s.IdleExpiry)) {
		return s.AbsoluteExpiry
	}
	return s.IdleExpiry
}

// SessionStore keeps browser sessions; every replica sees the same ones.
// GarbageCollect removes sessions whose Expiry is before now.
type SessionStore interface {
	// CreateSession returns ErrAlreadyExists for a taken ID.
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	// UpdateSession runs update on the current row atomically.
	UpdateSession(ctx context.Context, id string, update func(Session) (Session, error)) error
	// DeleteSession returns ErrNotFound for an unknown ID.
	DeleteSession(ctx context.Context, id string) error
	// ListUserSessions returns the sessions of one user of one connector
	// (expired ones not yet collected included), oldest first.
	ListUserSessions(ctx context.Context, connectorID, userID string) ([]Session, error)
	// DeleteUserSessions ends every session of the user and returns how
	// many there were.
	DeleteUserSessions(ctx context.Context, connectorID, userID string) (int64, error)
	// ListSessions pages through the sessions of every user and connector
	// (expired ones not yet collected included): up to limit of them
	// after pageToken ("" for the first page), in an order the backend
	// picks and keeps, and the token of the next page ("" after the last).
	// A token is opaque and only good for the next call; limit must be
	// positive. A session created or deleted while paging may or may not
	// appear; any other appears exactly once.
	ListSessions(ctx context.Context, pageToken string, limit int) ([]Session, string, error)
}

// CheckPageLimit is the error for a non-positive ListSessions limit.
func CheckPageLimit(limit int) error {
	if limit <= 0 {
		return fmt.Errorf("storage: page limit %d: must be positive", limit)
	}
	return nil
}

// SessionCounter is implemented by backends that can count live sessions
// cheaply (an index scan, never a row decode): the torii_sessions_live
// gauge. It is optional so that a backend without it still builds.
type SessionCounter interface {
	// CountSessions returns how many sessions have not expired at now
	// (Expiry not before now); expired ones awaiting collection are not
	// counted.
	CountSessions(ctx context.Context, now time.Time) (int64, error)
}
