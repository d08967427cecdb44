// Package audit writes one structured record per security-relevant act
// (a login, a code or token issued, a replay, a config reload) and carries
// the request context (request ID, client IP, client) those records and the
// logs share.
//
// A nil *Logger is valid and records nothing, so callers never check
// whether auditing is on: one line, l.Log(ctx, audit.Record{...}), at the
// place where the act happens.
package audit

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Event names an audited act. The list is closed: a new feature adds its
// constant here (and to docs/operations.md).
type Event string

const (
	LoginSucceeded  Event = "login_succeeded"
	LoginFailed     Event = "login_failed" // wrong credentials, or the connector failed (Result says which)
	LoginThrottled  Event = "login_throttled"
	CodeIssued      Event = "code_issued"
	CodeRedeemed    Event = "code_redeemed"
	CodeReplayed    Event = "code_replayed" // the tokens the code produced are revoked
	TokensIssued    Event = "tokens_issued"
	RefreshRotated  Event = "refresh_rotated"
	RefreshReplayed Event = "refresh_replayed"
	FamilyRevoked   Event = "family_revoked"
	ConfigReloaded  Event = "config_reloaded"

	// For the features built next to this one; they log through the same
	// Logger with one line.
	Logout Event = "logout"
	// BackchannelLogoutDelivered and BackchannelLogoutFailed: a Logout
	// Token reached a client, or was given up (refused, or retried for the
	// whole retry period).
	BackchannelLogoutDelivered Event = "backchannel_logout_delivered"
	BackchannelLogoutFailed    Event = "backchannel_logout_failed"
	DeviceApproved             Event = "device_approved"
	DeviceDenied               Event = "device_denied"
	TokenRevoked               Event = "token_revoked"
	Introspection              Event = "introspection"
	AdminChange                Event = "admin_change"
)

// Results.
const (
	ResultOK     = "ok"
	ResultDenied = "denied" // wrong credentials, refused by policy
	ResultError  = "error"  // torii or a backend failed
)

// Record is what the code that performed an act knows about it. Time,
// request ID, client IP and (when not set) client ID come from the request
// context. Never put a password, secret, token or code in any field.
type Record struct {
	Event Event
	// Result is ResultOK, ResultDenied or ResultError (default ResultOK).
	Result string
	// Reason is a short fixed phrase for a failure ("wrong credentials",
	// "throttled: username"), never user input.
	Reason string
	// Subject is the user's sub as it appears in tokens; ConnectorID the
	// connector that identified them.
	Subject     string
	ConnectorID string
	ClientID    string
	Grant       string   // grant type, for token events
	Scopes      []string // granted scopes, for token events
	// Detail carries event-specific facts (a reload's changed keys).
	Detail string
}

// entry is the JSON line.
type entry struct {
	Time        string   `json:"time"`
	Event       Event    `json:"event"`
	Result      string   `json:"result"`
	Reason      string   `json:"reason,omitempty"`
	RequestID   string   `json:"request_id,omitempty"`
	ClientIP    string   `json:"client_ip,omitempty"`
	Subject     string   `json:"sub,omitempty"`
	ConnectorID string   `json:"connector_id,omitempty"`
	ClientID    string   `json:"client_id,omitempty"`
	Grant       string   `json:"grant_type,omitempty"`
	Scopes      []string `json:"scopes,omitempty"`
	Detail      string   `json:"detail,omitempty"`
}

// Logger writes records as JSON lines. It is safe for concurrent use.
type Logger struct {
	now func() time.Time

	mu  sync.Mutex
	enc *json.Encoder
}

// New writes to w (stderr, stdout or a file opened by the caller); now is
// the clock (nil: time.Now).
func New(w io.Writer, now func() time.Time) *Logger {
	if now == nil {
		now = time.Now
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &Logger{now: now, enc: enc}
}

// Log writes one record. On a nil Logger it does nothing.
func (l *Logger) Log(ctx context.Context, r Record) {
	if l == nil {
		return
	}
	e := entry{
		Time:  l.now().UTC().Format(time.RFC3339Nano),
		Event: r.Event, Result: r.Result, Reason: r.Reason,
		Subject: r.Subject, ConnectorID: r.ConnectorID, ClientID: r.ClientID,
		Grant: r.Grant, Scopes: r.Scopes, Detail: r.Detail,
	}
	if e.Result == "" {
		e.Result = ResultOK
	}
	if req := FromContext(ctx); req != nil {
		e.RequestID, e.ClientIP = req.ID, req.ClientIP
		if e.ClientID == "" {
			e.ClientID = req.clientID
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// A failed write (full disk) must not fail the request; the encoder
	// has nothing to report it to but the caller's logs, which are the
	// same disk.
	_ = l.enc.Encode(e)
}
