package storage

import "context"

// RefreshLister finds a person's refresh tokens, for the admin API
// (list and revoke a user's token families).
type RefreshLister interface {
	// ListUserRefresh returns the current (not rotated) refresh tokens
	// whose Claims.UserID and ConnectorID match, ordered by family and id.
	// A family may have more than one current token for a moment (a reuse
	// within the grace window).
	ListUserRefresh(ctx context.Context, userID, connectorID string) ([]RefreshToken, error)
}
