// Package storage defines what torii keeps between requests and the
// interface every backend (memory, sqlite, postgres) implements.
//
// Every token-like identifier stored here is already a hash: handlers hash
// the random value they hand out and store only the hash, so a leaked
// database cannot be replayed against the issuer.
package storage

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap or return these so callers can use errors.Is.
var (
	ErrNotFound      = errors.New("storage: not found")
	ErrAlreadyExists = errors.New("storage: already exists")
	// ErrUnavailable wraps failures to reach the backend (database down);
	// the server answers them with 503 and turns unready.
	ErrUnavailable = errors.New("storage: unavailable")
)

// Claims are the facts about a person that end up in tokens.
type Claims struct {
	UserID            string   `json:"user_id"`
	Username          string   `json:"username"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Email             string   `json:"email,omitempty"`
	EmailVerified     bool     `json:"email_verified"`
	Groups            []string `json:"groups,omitempty"`
}

// AuthRequest is a login in progress, created by /auth and completed by the
// connector and approval pages. ID is random and appears in URLs as `req`.
type AuthRequest struct {
	ID                  string
	ClientID            string
	ResponseTypes       []string
	Scopes              []string
	RedirectURI         string
	Nonce               string
	State               string
	CodeChallenge       string
	CodeChallengeMethod string
	ForceApproval       bool
	// BrowserHash is the hash of the CSRF cookie of the browser that started
	// the request; only that browser may complete it (Dex CVE-2022-39222).
	BrowserHash   string
	ConnectorID   string
	LoggedIn      bool
	Claims        Claims
	ConnectorData []byte
	AuthTime      time.Time
	Expiry        time.Time
	// SessionID is the browser session the login was made in or taken from
	// ("" without sessions).
	SessionID string
	// UILocales is the request's ui_locales (OIDC Core): the languages of
	// the login pages, most preferred first.
	UILocales string
}

// AuthCode is an authorization code. ID is the SHA-256 hash of the code
// handed to the client. Codes are single use: the token endpoint marks them
// Redeemed in an atomic update and records the grant it produced, so that a
// replay can revoke it.
type AuthCode struct {
	ID                  string
	ClientID            string
	RedirectURI         string
	Nonce               string
	Scopes              []string
	ConnectorID         string
	ConnectorData       []byte
	Claims              Claims
	CodeChallenge       string
	CodeChallengeMethod string
	AuthTime            time.Time
	Expiry              time.Time
	Redeemed            bool
	// GrantID is set on redemption: the refresh-token family (and the access
	// tokens) the code produced.
	GrantID string
	// SessionID is the browser session of the login ("" without one).
	SessionID string
}

// RefreshToken is one refresh token; ID is the SHA-256 hash of the token.
// Rotation creates a new row in the same family and marks the old one
// RotatedAt; a rotated token presented again outside the reuse interval
// revokes its whole family.
type RefreshToken struct {
	ID            string
	FamilyID      string
	ClientID      string
	Scopes        []string
	Nonce         string
	ConnectorID   string
	ConnectorData []byte
	Claims        Claims
	// FamilyCreatedAt is when the family started (for absoluteLifetime).
	FamilyCreatedAt time.Time
	CreatedAt       time.Time
	LastUsed        time.Time
	// RotatedAt is zero while the token is the current one of its branch.
	RotatedAt time.Time
	// Expiry is when the row may be garbage collected (absolute lifetime,
	// idle limit or the end of a rotated token's reuse window, whichever is
	// relevant); zero means never.
	Expiry time.Time
	// AuthTime is when the person authenticated for the login the family
	// comes from; every refreshed ID token keeps it as auth_time.
	AuthTime time.Time
	// SessionID is the browser session of that login ("" without one).
	SessionID string
	// SuccessorSeed is set when the token is first rotated: random bytes
	// from which, with this token's value (which only the client holds),
	// the server derives its successor's value again. A lost response is
	// thus answered with the same successor, not taken for a replay.
	SuccessorSeed []byte
}

// Keys is the signing-key state shared by every replica.
type Keys struct {
	// Active signs tokens: a private JWK (JSON, with kid and alg).
	Active []byte
	// Next is published in the JWKS before it becomes Active.
	Next []byte
	// Retired are public JWKs kept until the last token they signed expires.
	Retired []RetiredKey
	// NextRotation is when Next becomes Active.
	NextRotation time.Time
}

// RetiredKey is a public JWK (JSON) and the time after which no token it
// signed can still be valid.
type RetiredKey struct {
	JWK    []byte
	Expiry time.Time
}

// GCResult counts what a garbage collection removed.
type GCResult struct {
	AuthRequests  int64
	AuthCodes     int64
	RefreshTokens int64
	RevokedGrants int64
	// ThrottleCounters are expired login-throttle counters.
	ThrottleCounters int64
	Sessions         int64
	DeviceRequests   int64
}

// Storage is implemented by every backend. Update functions run inside the
// backend's transaction (or lock): they see the current row and their result
// is written atomically; returning an error aborts the update and that error
// is returned unchanged.
type Storage interface {
	ClientStore
	PasswordStore
	RefreshLister
	ThrottleStore
	SessionStore
	DeviceStore
	LogoutStore

	Close() error
	// Ping reports whether the backend is reachable (readiness).
	Ping(ctx context.Context) error

	CreateAuthRequest(ctx context.Context, a AuthRequest) error
	GetAuthRequest(ctx context.Context, id string) (AuthRequest, error)
	UpdateAuthRequest(ctx context.Context, id string, update func(AuthRequest) (AuthRequest, error)) error
	DeleteAuthRequest(ctx context.Context, id string) error

	CreateAuthCode(ctx context.Context, c AuthCode) error
	GetAuthCode(ctx context.Context, id string) (AuthCode, error)
	UpdateAuthCode(ctx context.Context, id string, update func(AuthCode) (AuthCode, error)) error
	DeleteAuthCode(ctx context.Context, id string) error

	CreateRefresh(ctx context.Context, r RefreshToken) error
	GetRefresh(ctx context.Context, id string) (RefreshToken, error)
	UpdateRefresh(ctx context.Context, id string, update func(RefreshToken) (RefreshToken, error)) error
	DeleteRefresh(ctx context.Context, id string) error
	// RevokeGrant deletes every refresh token of the family and remembers
	// the grant as revoked until `until`, so access tokens carrying it are
	// refused. Revoking an unknown or already revoked grant is not an error.
	RevokeGrant(ctx context.Context, grantID string, until time.Time) error
	// GrantRevoked reports whether RevokeGrant was called for the grant (and
	// its record has not yet expired).
	GrantRevoked(ctx context.Context, grantID string) (bool, error)

	// GetKeys returns ErrNotFound before the first key is stored.
	GetKeys(ctx context.Context) (Keys, error)
	// UpdateKeys creates or updates the keys atomically; the update sees the
	// zero Keys when none are stored yet. Two replicas racing here serialize,
	// so a rotation happens once.
	UpdateKeys(ctx context.Context, update func(Keys) (Keys, error)) error

	// GarbageCollect removes auth requests, codes, refresh tokens,
	// revoked-grant records, sessions and device requests whose Expiry is
	// before now.
	GarbageCollect(ctx context.Context, now time.Time) (GCResult, error)
}
