package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server/internal/pkce"
	"github.com/torii-idp/torii/server/oauth2"
	"github.com/torii-idp/torii/storage"
)

// The device authorization grant (RFC 8628) at Dex's paths: the device
// asks POST /device/code for a device code and a user code, the person
// types the user code at GET /device (POST /device/auth/verify_code),
// confirms, logs in and approves through the login dispatcher, lands on
// /device/callback, and the device polls /token with grant_type
// urn:ietf:params:oauth:grant-type:device_code.

const grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// responseTypeDevice marks the auth request of a device login; /auth never
// accepts it, so only /device/auth/verify_code creates such requests, and
// its completion approves the device request named in State.
const responseTypeDevice = "device"

// userCodeAlphabet is Dex's: consonants only (no vowels, so no words; no
// look-alike digits).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

const (
	deviceInterval = 5 * time.Second
	// slowDownStep is how much each too-early poll adds to the interval
	// (RFC 8628 §3.5).
	slowDownStep = 5 * time.Second
	// pollGrace forgives a poll this much early: a client's ticker and the
	// network jitter by milliseconds, and a spurious slow_down would only
	// slow an honest client down.
	pollGrace = time.Second
)

// newUserCode returns 8 random letters of the alphabet as XXXX-XXXX.
func newUserCode() string {
	var b [8]byte
	out := make([]byte, 0, 9)
	for len(out) < 9 {
		rand.Read(b[:])
		for _, c := range b {
			// 240 is the largest multiple of 20 below 256: no bias.
			if c >= 240 || len(out) == 9 {
				continue
			}
			if len(out) == 4 {
				out = append(out, '-')
			}
			out = append(out, userCodeAlphabet[c%20])
		}
	}
	return string(out)
}

// normalizeUserCode is how a typed code is compared: case and dashes and
// spaces do not matter. ok is false when it cannot be a user code at all.
func normalizeUserCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
		case r < 128 && strings.ContainsRune(userCodeAlphabet, r):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	return b.String(), b.Len() == 8
}

// userCodeKey is the stored form of a normalized user code.
func userCodeKey(normalized string) string { return hashToken("user_code\x00" + normalized) }

// displayUserCode formats a normalized code as XXXX-XXXX.
func displayUserCode(normalized string) string { return normalized[:4] + "-" + normalized[4:] }

// deviceAuthResponse is the RFC 8628 §3.2 response (Dex's field set).
type deviceAuthResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// deviceCodeHandler is POST /device/code.
type deviceCodeHandler struct {
	issuer   issuer
	auth     clientAuth
	clients  *clientLookup
	store    storage.Storage
	ttl      time.Duration
	enabled  bool
	throttle *throttle // nil: not throttled
	ips      ipResolver
	now      func() time.Time
	log      *slog.Logger
}

var deviceCodeParams = []string{"client_id", "client_secret", "scope", "code_challenge", "code_challenge_method"}

func (h *deviceCodeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := h.serve(r)
	if err != nil {
		writeJSONError(w, r, h.log, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(resp)
}

func (h *deviceCodeHandler) serve(r *http.Request) (*deviceAuthResponse, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return nil, oauth2.InvalidRequest("the request body could not be parsed")
	}
	if err := checkParams(r.Form, deviceCodeParams, nil); err != nil {
		return nil, err
	}
	ctx := r.Context()
	// Unlike Dex, a confidential client proves who it is here too, so a
	// leaked client ID alone cannot start logins in its name.
	client, err := h.auth.authenticate(ctx, r)
	if err != nil {
		return nil, err
	}
	audit.SetClient(ctx, client.ID)
	if !h.enabled {
		return nil, oauth2.UnauthorizedClient("the device flow is disabled on this server (oauth2.grantTypes)")
	}
	scopes, err := parseScopes(ctx, r.PostForm.Get("scope"), client, h.clients)
	if err != nil {
		return nil, err
	}
	challenge, method := r.PostForm.Get("code_challenge"), r.PostForm.Get("code_challenge_method")
	if challenge == "" && method != "" {
		return nil, oauth2.InvalidRequest("code_challenge_method without code_challenge")
	}
	if challenge != "" {
		if method == "" {
			method = "plain"
		}
		if err := pkce.ValidChallenge(method, challenge); err != nil {
			return nil, oauth2.InvalidRequest("invalid PKCE code_challenge: " + err.Error())
		}
	}
	if h.throttle != nil {
		// Device requests are stored until they expire: one address may
		// not fill the table (the cap auth requests have).
		if err := h.throttle.startAuthRequest(ctx, h.ips.clientIP(r), h.ttl); errors.Is(err, errTooManyPending) {
			return nil, &oauth2.Error{Code: "slow_down", Description: "too many device logins were started from this address", Status: http.StatusTooManyRequests}
		} else if err != nil {
			return nil, err
		}
	}
	now := h.now()
	deviceCode := newToken()
	var userCode string
	for try := 0; ; try++ {
		userCode = newUserCode()
		norm, _ := normalizeUserCode(userCode)
		err = h.store.CreateDeviceRequest(ctx, storage.DeviceRequest{
			ID:                  hashToken(deviceCode),
			UserCode:            userCodeKey(norm),
			ClientID:            client.ID,
			Scopes:              scopes,
			CodeChallenge:       challenge,
			CodeChallengeMethod: method,
			Status:              storage.DevicePending,
			Interval:            deviceInterval,
			CreatedAt:           now,
			Expiry:              now.Add(h.ttl),
		})
		// A taken user code (2.5e10 of them) is astronomically rare; a
		// fresh one is simply drawn.
		if !errors.Is(err, storage.ErrAlreadyExists) || try == 3 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	h.log.InfoContext(ctx, "device login started", "client_id", client.ID, "scope", strings.Join(scopes, " "))
	verify := h.issuer.absolute("/device")
	return &deviceAuthResponse{
		DeviceCode:              deviceCode,
		UserCode:                userCode,
		VerificationURI:         verify,
		VerificationURIComplete: verify + "?user_code=" + url.QueryEscape(userCode),
		ExpiresIn:               int64(h.ttl / time.Second),
		Interval:                int64(deviceInterval / time.Second),
	}, nil
}

// deviceError is an RFC 8628 §3.5 token-endpoint error (400, as RFC 6749
// §5.2 says for every error but invalid_client).
func deviceError(code, desc string) *oauth2.Error {
	return &oauth2.Error{Code: code, Description: desc, Status: http.StatusBadRequest}
}

// loadDeviceForBrowser finds a live, pending device request by its typed
// user code.
func loadDeviceByUserCode(ctx context.Context, store storage.Storage, now time.Time, typed string) (storage.DeviceRequest, string, bool, error) {
	norm, ok := normalizeUserCode(typed)
	if !ok {
		return storage.DeviceRequest{}, "", false, nil
	}
	d, err := store.GetDeviceRequestByUserCode(ctx, userCodeKey(norm))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.DeviceRequest{}, norm, false, nil
	}
	if err != nil {
		return storage.DeviceRequest{}, norm, false, err
	}
	if now.After(d.Expiry) || d.Status != storage.DevicePending {
		return storage.DeviceRequest{}, norm, false, nil
	}
	return d, norm, true, nil
}
