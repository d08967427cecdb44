package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server/internal/pkce"
	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/server/oauth2"
	"github.com/torii-idp/torii/storage"
)

// deviceGrant answers the device's polls (RFC 8628 §3.4, §3.5). Client
// authentication ran in tokenHandler: a confidential client polls with its
// secret. Each poll is one atomic update of the request (its poll time and
// interval), so replicas agree on the rate and on who gets the tokens.
type deviceGrant struct {
	store      storage.Storage
	minter     *minter
	refresh    *refreshIssuer
	canRefresh func(connectorID string) bool
	now        func() time.Time
	revokeFor  time.Duration
	log        *slog.Logger
	audit      *audit.Logger
}

// errDeviceSpent marks a poll for tokens already handed out.
type errDeviceSpent struct{ grantID string }

func (e *errDeviceSpent) Error() string { return "device code already used" }

func (g *deviceGrant) handle(ctx context.Context, r *http.Request, client Client) (*oauth2.TokenResponse, error) {
	code := r.PostForm.Get("device_code")
	if code == "" {
		return nil, oauth2.InvalidRequest("device_code is required")
	}
	id := hashToken(code)
	now := g.now()
	var d storage.DeviceRequest
	slow := false
	err := g.store.UpdateDeviceRequest(ctx, id, func(cur storage.DeviceRequest) (storage.DeviceRequest, error) {
		if cur.ClientID != client.ID {
			return cur, oauth2.InvalidGrant("the device_code was issued to another client")
		}
		if now.After(cur.Expiry) {
			return cur, deviceError("expired_token", "the device_code has expired; start again")
		}
		// The first poll may come at once (kubelogin's does); after that
		// the device must wait the interval, which grows by 5 s each time
		// it does not (RFC 8628 §3.5: for all subsequent requests).
		slow = cur.Status == storage.DevicePending && !cur.LastPoll.IsZero() &&
			now.Before(cur.LastPoll.Add(cur.Interval-pollGrace))
		if slow {
			cur.Interval += slowDownStep
		}
		cur.LastPoll = now
		d = cur
		return cur, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, oauth2.InvalidGrant("the device_code is invalid or has expired")
	}
	if err != nil {
		return nil, err
	}
	switch {
	case slow:
		return nil, deviceError("slow_down", fmt.Sprintf("polling too often; wait %d seconds between polls", int64(d.Interval/time.Second)))
	case d.Status == storage.DevicePending:
		return nil, deviceError("authorization_pending", "the user has not yet completed the login")
	case d.Status == storage.DeviceDenied:
		return nil, deviceError("access_denied", "the user denied the request")
	case d.Status == storage.DeviceIssued:
		return g.fail(ctx, now, &errDeviceSpent{grantID: d.GrantID})
	case d.Status != storage.DeviceApproved:
		return nil, fmt.Errorf("device request in unknown state %q", d.Status)
	}
	if err := checkDevicePKCE(d, r.PostForm.Get("code_verifier")); err != nil {
		return nil, err
	}
	gi := grantInfo{
		clientID:    client.ID,
		scopes:      scopeSet(d.Scopes),
		claims:      d.Claims,
		connectorID: d.ConnectorID,
		authTime:    d.AuthTime,
		sessionID:   d.SessionID,
		grantID:     newToken(),
		grantType:   grantDeviceCode,
	}
	resp, err := mintWithRefresh(ctx, g.minter, g.refresh, g.canRefresh(gi.connectorID), gi, d.ConnectorData, now)
	if err != nil {
		return nil, err
	}
	// Handed out once: only the poll that turns approved into issued
	// returns the tokens; a racing poll finds them issued.
	err = g.store.UpdateDeviceRequest(ctx, id, func(cur storage.DeviceRequest) (storage.DeviceRequest, error) {
		if cur.Status != storage.DeviceApproved {
			return cur, &errDeviceSpent{grantID: cur.GrantID}
		}
		cur.Status, cur.GrantID = storage.DeviceIssued, gi.grantID
		cur.ConnectorData = nil // no longer needed; the refresh token has it
		return cur, nil
	})
	if err != nil {
		if resp.RefreshToken != "" {
			if derr := g.store.DeleteRefresh(ctx, hashToken(resp.RefreshToken)); derr != nil && !errors.Is(derr, storage.ErrNotFound) {
				g.log.WarnContext(ctx, "could not delete an unused refresh token", "err", derr)
			}
		}
		return g.fail(ctx, now, err)
	}
	return resp, nil
}

// checkDevicePKCE verifies the code_verifier when /device/code had a
// code_challenge (Dex's extension of RFC 8628).
func checkDevicePKCE(d storage.DeviceRequest, verifier string) error {
	switch {
	case d.CodeChallenge == "" && verifier != "":
		return oauth2.InvalidGrant("code_verifier sent but no code_challenge was used")
	case d.CodeChallenge == "":
		return nil
	case verifier == "":
		return oauth2.InvalidGrant("code_verifier is required")
	case pkce.Verify(d.CodeChallengeMethod, d.CodeChallenge, verifier) != nil:
		return oauth2.InvalidGrant("the code_verifier does not match the code_challenge")
	}
	return nil
}

// fail maps a poll for spent tokens: like a replayed code, it revokes what
// the device code produced (the device never polls again after success, so
// a second poll means the code leaked or the client is broken).
func (g *deviceGrant) fail(ctx context.Context, now time.Time, err error) (*oauth2.TokenResponse, error) {
	var spent *errDeviceSpent
	if !errors.As(err, &spent) {
		return nil, err
	}
	if spent.grantID != "" {
		if rerr := g.store.RevokeGrant(ctx, spent.grantID, now.Add(g.revokeFor)); rerr != nil {
			g.audit.Log(ctx, audit.Record{Event: audit.CodeReplayed, Result: audit.ResultError, Reason: "device code: revoking the grant failed"})
			return nil, rerr
		}
	}
	g.audit.Log(ctx, audit.Record{Event: audit.CodeReplayed, Result: audit.ResultDenied, Reason: "device code: grant revoked"})
	g.log.WarnContext(ctx, "device code polled again after its tokens were issued; revoking them")
	return nil, oauth2.InvalidGrant("the device_code has already been used; the tokens it produced are revoked")
}

// approveDevice is the device completion (see dispatch.go): the person
// logged in and approved, so the device request named in the auth
// request's State gets the login, and the browser goes to /device/callback.
func (f *authFlow) approveDevice(w http.ResponseWriter, r *http.Request, ar storage.AuthRequest) {
	ctx := r.Context()
	if err := f.store.DeleteAuthRequest(ctx, ar.ID); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			f.pages.errorPage(w, r, http.StatusBadRequest, "err.login_used")
			return
		}
		f.storageErrorPage(w, r, err)
		return
	}
	now := f.now()
	err := f.store.UpdateDeviceRequest(ctx, ar.State, func(d storage.DeviceRequest) (storage.DeviceRequest, error) {
		if d.Status != storage.DevicePending || now.After(d.Expiry) {
			return d, errDeviceGone
		}
		d.Status = storage.DeviceApproved
		d.ConnectorID, d.ConnectorData, d.Claims = ar.ConnectorID, ar.ConnectorData, ar.Claims
		d.AuthTime, d.SessionID = ar.AuthTime, ar.SessionID
		return d, nil
	})
	if errors.Is(err, errDeviceGone) || errors.Is(err, storage.ErrNotFound) {
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.device_code_expired")
		return
	}
	if err != nil {
		f.storageErrorPage(w, r, err)
		return
	}
	f.audit.Log(ctx, audit.Record{Event: audit.DeviceApproved, Subject: subject.Encode(ar.Claims.UserID, ar.ConnectorID),
		ConnectorID: ar.ConnectorID, ClientID: ar.ClientID, Scopes: ar.Scopes})
	redirect(w, f.issuer.at("/device/callback")+"?client_id="+url.QueryEscape(ar.ClientID))
}

var errDeviceGone = errors.New("device request no longer pending")

// denyDevice is the device rejection: Cancel on the approval page. The
// device's next poll gets access_denied.
func (f *authFlow) denyDevice(w http.ResponseWriter, r *http.Request, ar storage.AuthRequest) {
	ctx := r.Context()
	if err := f.store.DeleteAuthRequest(ctx, ar.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		f.storageErrorPage(w, r, err)
		return
	}
	f.markDenied(w, r, ar.State, ar.ClientID)
}

// markDenied records a refusal and shows that the device was told.
func (f *authFlow) markDenied(w http.ResponseWriter, r *http.Request, deviceID, clientID string) {
	ctx := r.Context()
	err := f.store.UpdateDeviceRequest(ctx, deviceID, func(d storage.DeviceRequest) (storage.DeviceRequest, error) {
		if d.Status != storage.DevicePending {
			return d, errDeviceGone
		}
		d.Status = storage.DeviceDenied
		return d, nil
	})
	if err != nil && !errors.Is(err, errDeviceGone) && !errors.Is(err, storage.ErrNotFound) {
		f.storageErrorPage(w, r, err)
		return
	}
	f.audit.Log(ctx, audit.Record{Event: audit.DeviceDenied, Result: audit.ResultDenied, ClientID: clientID, Reason: "the user denied access"})
	f.pages.render(w, r, http.StatusOK, "device_done.html", pageData{title: tr("device.denied_title"), message: tr("device.denied")})
}
