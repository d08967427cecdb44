package storage

import (
	"context"
	"time"
)

// LogoutDelivery is one Back-Channel Logout notice on its way to a client:
// the facts the Logout Token is built from (it is signed afresh at every
// attempt, so a retry never sends an expired token) and the retry state.
type LogoutDelivery struct {
	// ID is random; it is also the Logout Token's jti, so a receiver can
	// tell a retry from a new logout.
	ID       string
	ClientID string
	// URI is the client's backchannelLogoutURI when the logout happened.
	URI string
	// Subject (sub) and SessionID (sid) name what was logged out.
	Subject   string
	SessionID string
	CreatedAt time.Time
	// NextAttempt is when the delivery is due; a claim moves it past the
	// claimer's lease, so another replica takes it only if the claimer
	// died.
	NextAttempt time.Time
	// Attempts counts the claims (each is one attempt to send).
	Attempts  int
	LastError string
	// Expiry is when the delivery is given up.
	Expiry time.Time
}

// LogoutStore keeps back-channel logout deliveries until they reach their
// client, across restarts and replicas.
type LogoutStore interface {
	// CreateLogoutDelivery returns ErrAlreadyExists for a taken ID.
	CreateLogoutDelivery(ctx context.Context, d LogoutDelivery) error
	// ClaimLogoutDeliveries takes up to limit deliveries due at now
	// (NextAttempt not after now), earliest due first, and in the same
	// atomic step sets their NextAttempt to leaseUntil and adds one to
	// Attempts; it returns them as stored after the claim. Two callers
	// racing never get the same delivery.
	ClaimLogoutDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]LogoutDelivery, error)
	// RescheduleLogoutDelivery sets a claimed delivery's next attempt and
	// last error; ErrNotFound for an unknown ID.
	RescheduleLogoutDelivery(ctx context.Context, id string, next time.Time, lastError string) error
	// DeleteLogoutDelivery removes a delivery (sent or given up);
	// ErrNotFound for an unknown ID.
	DeleteLogoutDelivery(ctx context.Context, id string) error
	// ListSessionRefresh returns the current (not rotated) refresh tokens
	// issued from the browser session, ordered by family and id.
	ListSessionRefresh(ctx context.Context, sessionID string) ([]RefreshToken, error)
}
