package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server/signer"
	"github.com/torii-idp/torii/storage"
)

// BackchannelConfig tunes Back-Channel Logout delivery; zero fields take
// the defaults.
type BackchannelConfig struct {
	// RetryFor is how long a delivery is retried before it is given up
	// (default 1h).
	RetryFor time.Duration
	// BaseDelay is the wait after the first failed attempt; it doubles
	// after each further one, up to MaxDelay (defaults 2s, 5m).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Poll is how often a replica looks for deliveries queued elsewhere or
	// due again (default 10s); a logout on this replica wakes it at once.
	Poll time.Duration
	// HTTPClient sends the Logout Tokens; nil: one with a 10s timeout that
	// follows no redirect.
	HTTPClient *http.Client
}

func (c *BackchannelConfig) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.RetryFor, time.Hour)
	def(&c.BaseDelay, 2*time.Second)
	def(&c.MaxDelay, 5*time.Minute)
	def(&c.Poll, 10*time.Second)
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
}

// The event a Logout Token carries (Back-Channel Logout 1.0 §2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutTokenTTL is a Logout Token's lifetime; every attempt signs a new
// one (same jti), so a retry an hour later is still fresh.
const logoutTokenTTL = 2 * time.Minute

// claimBatch is how many deliveries one claim takes.
const claimBatch = 16

type logoutTokenClaims struct {
	Issuer    string                     `json:"iss"`
	Audience  audience                   `json:"aud"`
	IssuedAt  int64                      `json:"iat"`
	Expiry    int64                      `json:"exp"`
	ID        string                     `json:"jti"`
	Subject   string                     `json:"sub,omitempty"`
	SessionID string                     `json:"sid,omitempty"`
	Events    map[string]json.RawMessage `json:"events"`
}

// backchannel delivers the queued Logout Tokens. Every replica runs one;
// a claim leases rows for longer than one attempt can take, so two
// replicas never send the same delivery at once, and a replica that dies
// mid-send leaves it to another once the lease ends.
type backchannel struct {
	cfg     BackchannelConfig
	store   storage.LogoutStore
	signer  *signer.Signer
	issuer  issuer
	now     func() time.Time
	log     *slog.Logger
	audit   *audit.Logger
	metrics *Metrics
	wake    chan struct{}
}

func newBackchannel(c Config, sig *signer.Signer, iss issuer) *backchannel {
	c.Backchannel.setDefaults()
	return &backchannel{cfg: c.Backchannel, store: c.Storage, signer: sig, issuer: iss, now: c.Now,
		log: c.Logger, audit: c.Audit, metrics: c.Metrics, wake: make(chan struct{}, 1)}
}

// kick wakes the loop without waiting.
func (b *backchannel) kick() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// lease is how long a claim holds a delivery: longer than one attempt.
func (b *backchannel) lease() time.Duration {
	t := b.cfg.HTTPClient.Timeout
	if t <= 0 {
		t = 10 * time.Second
	}
	return 3 * t
}

// run delivers until ctx is done.
func (b *backchannel) run(ctx context.Context) {
	t := time.NewTicker(b.cfg.Poll)
	defer t.Stop()
	for {
		b.deliverDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.wake:
		}
	}
}

// deliverDue claims and sends batches until nothing is due.
func (b *backchannel) deliverDue(ctx context.Context) {
	for ctx.Err() == nil {
		now := b.now()
		ds, err := b.store.ClaimLogoutDeliveries(ctx, now, now.Add(b.lease()), claimBatch)
		if err != nil {
			if ctx.Err() == nil {
				b.log.WarnContext(ctx, "back-channel logout: claiming deliveries failed", "err", err)
			}
			return
		}
		if len(ds) == 0 {
			return
		}
		var wg sync.WaitGroup
		for _, d := range ds {
			wg.Go(func() { b.attempt(ctx, d) })
		}
		wg.Wait()
	}
}

// attempt sends one delivery and records the outcome.
func (b *backchannel) attempt(ctx context.Context, d storage.LogoutDelivery) {
	now := b.now()
	if !now.Before(d.Expiry) {
		b.finish(ctx, d, false, "gave up: "+d.LastError)
		return
	}
	permanent, err := b.send(ctx, d, now)
	if err == nil {
		b.finish(ctx, d, true, "")
		return
	}
	if ctx.Err() != nil {
		return // shutting down: the lease ends and a replica retries
	}
	next := now.Add(b.backoff(d.Attempts))
	if permanent || !next.Before(d.Expiry) {
		b.finish(ctx, d, false, err.Error())
		return
	}
	b.log.InfoContext(ctx, "back-channel logout: attempt failed; will retry", "client", d.ClientID,
		"attempt", d.Attempts, "retry_in", next.Sub(now).String(), "err", err)
	if err := b.store.RescheduleLogoutDelivery(ctx, d.ID, next, truncate(err.Error())); err != nil && !errors.Is(err, storage.ErrNotFound) {
		b.log.WarnContext(ctx, "back-channel logout: recording a failed attempt failed", "err", err)
	}
}

// backoff is the wait after the n-th failed attempt.
func (b *backchannel) backoff(n int) time.Duration {
	d := b.cfg.BaseDelay
	for i := 1; i < n && d < b.cfg.MaxDelay; i++ {
		d *= 2
	}
	return min(d, b.cfg.MaxDelay)
}

func (b *backchannel) finish(ctx context.Context, d storage.LogoutDelivery, ok bool, why string) {
	if err := b.store.DeleteLogoutDelivery(ctx, d.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		b.log.WarnContext(ctx, "back-channel logout: removing a finished delivery failed", "err", err)
	}
	rec := audit.Record{Event: audit.BackchannelLogoutDelivered, Subject: d.Subject, ClientID: d.ClientID,
		Detail: fmt.Sprintf("attempts: %d", d.Attempts)}
	if !ok {
		rec.Event, rec.Result, rec.Reason = audit.BackchannelLogoutFailed, audit.ResultError, "not delivered"
		b.log.WarnContext(ctx, "back-channel logout: not delivered", "client", d.ClientID, "attempts", d.Attempts, "err", why)
	}
	b.audit.Log(ctx, rec)
	b.metrics.backchannel(ok)
}

// send posts a freshly signed Logout Token. permanent reports a refusal
// that retrying will not change (a 4xx other than 408, 425 and 429).
func (b *backchannel) send(ctx context.Context, d storage.LogoutDelivery, now time.Time) (permanent bool, err error) {
	c := logoutTokenClaims{
		Issuer: b.issuer.URL, Audience: audience{d.ClientID}, IssuedAt: now.Unix(), Expiry: now.Add(logoutTokenTTL).Unix(),
		ID: d.ID, Subject: d.Subject, SessionID: d.SessionID,
		Events: map[string]json.RawMessage{backchannelEvent: json.RawMessage("{}")},
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return true, err
	}
	tok, err := b.signer.SignTyped(ctx, payload, "logout+jwt")
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URI, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return true, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.cfg.HTTPClient.Do(req)
	if err != nil {
		return false, errors.New(strings.ReplaceAll(err.Error(), tok, "<logout_token>"))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // drained for reuse only
	switch s := resp.StatusCode; {
	case s == http.StatusOK || s == http.StatusNoContent:
		return false, nil
	case s == http.StatusRequestTimeout || s == http.StatusTooEarly || s == http.StatusTooManyRequests || s >= 500:
		return false, fmt.Errorf("the client answered %d", s)
	default:
		return true, fmt.Errorf("the client refused the logout token (%d)", s)
	}
}
