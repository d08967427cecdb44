package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/server/internal/usergrants"
	"github.com/torii-idp/torii/storage"
)

// sessionEnder ends a browser session: its row, the refresh tokens issued
// from it without offline_access (Back-Channel Logout 1.0 §2.7: offline
// ones, kubectl's, outlive the browser session), and a back-channel
// delivery to every client the session was used for that has a
// backchannelLogoutURI.
type sessionEnder struct {
	store   storage.Storage
	clients *clientLookup
	// revokeFor bounds how long a revoked grant is remembered (the longest
	// access-token lifetime).
	revokeFor time.Duration
	// retryFor is how long a delivery is retried before it is given up.
	retryFor time.Duration
	kick     func() // wakes the delivery loop
	now      func() time.Time
	log      *slog.Logger
	audit    *audit.Logger
	metrics  *Metrics
}

// end ends ss; a session already gone is not an error (another replica or
// request ended it, and queued its notices): ended is false then.
func (e *sessionEnder) end(ctx context.Context, ss storage.Session, clientID string) (ended bool, err error) {
	now := e.now()
	ended, revoked, err := usergrants.EndSession(ctx, e.store, ss, now.Add(e.revokeFor))
	if err != nil || !ended {
		return false, err
	}
	sub := subject.Encode(ss.Claims.UserID, ss.ConnectorID)
	queued := 0
	for _, id := range ss.Clients {
		c, ok, err := e.clients.get(ctx, id)
		if err != nil {
			return true, err
		}
		if !ok || c.BackchannelLogoutURI == "" {
			continue
		}
		d := storage.LogoutDelivery{
			ID: newToken(), ClientID: id, URI: c.BackchannelLogoutURI, Subject: sub, SessionID: ss.ID,
			CreatedAt: now, NextAttempt: now, Expiry: now.Add(e.retryFor),
		}
		if err := e.store.CreateLogoutDelivery(ctx, d); err != nil {
			return true, err
		}
		queued++
	}
	if queued > 0 && e.kick != nil {
		e.kick()
	}
	e.metrics.loggedOut()
	e.audit.Log(ctx, audit.Record{Event: audit.Logout, Subject: sub, ConnectorID: ss.ConnectorID, ClientID: clientID,
		Detail: fmt.Sprintf("back-channel notices: %d, refresh families revoked: %d", queued, revoked)})
	e.log.InfoContext(ctx, "session ended", "connector", ss.ConnectorID, "backchannel", queued, "revoked_families", revoked)
	return true, nil
}

// validLogoutURIs checks a client's postLogoutRedirectURIs and
// backchannelLogoutURI.
func validLogoutURIs(c Client) []error {
	var errs []error
	for _, u := range c.PostLogoutRedirectURIs {
		if err := ValidRedirectURI(u); err != nil {
			errs = append(errs, fmt.Errorf("client %q: post-logout redirect URI %q: %w", c.ID, u, err))
		}
	}
	if u := c.BackchannelLogoutURI; u != "" {
		if err := ValidBackchannelLogoutURI(u); err != nil {
			errs = append(errs, fmt.Errorf("client %q: backchannelLogoutURI %q: %w", c.ID, u, err))
		}
	}
	return errs
}

// ValidBackchannelLogoutURI checks a backchannelLogoutURI: an absolute
// http or https URL without a fragment (Back-Channel Logout 1.0 §2.2).
func ValidBackchannelLogoutURI(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return errors.New("must be an absolute http or https URL")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return errors.New("must not have a fragment")
	}
	return nil
}
