// Package connector defines how torii learns who a person is. A connector
// implements the small interfaces below that fit what it can do; the server
// holds them as typed fields, never as an empty interface.
package connector

import (
	"context"
	"errors"
	"net/url"
)

// Identity is what a connector says about a person after a login.
type Identity struct {
	UserID            string
	Username          string
	PreferredUsername string
	Email             string
	EmailVerified     bool
	Groups            []string
	// ConnectorData is opaque to the server and handed back on refresh.
	ConnectorData []byte
}

// Scopes tells a connector what the client asked for, so it can skip work
// (no group search without the groups scope).
type Scopes struct {
	OfflineAccess bool
	Groups        bool
}

// ErrUserGone is returned by Refresh when the person no longer exists or may
// no longer log in; the refresh is refused with invalid_grant.
var ErrUserGone = errors.New("connector: user no longer valid")

// ErrUnavailable is wrapped by connector errors that mean the upstream (a
// directory, an identity provider) could not be reached or did not answer
// in time: the server tells the person to try again (temporarily_unavailable)
// instead of failing the login for good. Test it with errors.Is.
var ErrUnavailable = errors.New("connector: upstream unavailable")

// PasswordConnector checks a username and password.
type PasswordConnector interface {
	// Prompt is the label of the username field ("Email", "Username").
	Prompt() string
	// Login returns valid=false with a nil error for wrong credentials. An
	// error means the connector could not decide (directory down, ...).
	Login(ctx context.Context, s Scopes, username, password string) (id Identity, valid bool, err error)
}

// CallbackConnector logs a person in at an upstream identity provider: the
// browser is sent to LoginURL and comes back to the server's callback
// address, whose query (or form) values are handed to HandleCallback.
type CallbackConnector interface {
	// LoginURL returns where to send the browser. state must come back
	// unchanged in the callback; loginState is kept by the server with the
	// login (a nonce, a PKCE verifier) and handed back to HandleCallback.
	LoginURL(ctx context.Context, s Scopes, callbackURL, state string) (loginURL string, loginState []byte, err error)
	// HandleCallback finishes the login from the callback's parameters
	// (without state, which the server has already checked). An upstream
	// refusal is a *LoginError; ErrUnavailable means try again later.
	HandleCallback(ctx context.Context, s Scopes, loginState []byte, params url.Values) (Identity, error)
}

// RefreshConnector is implemented by connectors that can look a person up
// again when a refresh token is used.
type RefreshConnector interface {
	Refresh(ctx context.Context, s Scopes, id Identity) (Identity, error)
}

// Closer is implemented by connectors holding resources (LDAP pools).
type Closer interface {
	Close() error
}

// LoginError is a login failure that the person should see as is (an
// account without an email address, a disabled account): the message must
// not reveal anything about the directory beyond that.
type LoginError struct {
	Message string
	// Key, when set, names the message in torii's catalogs (web/i18n), so
	// the person reads it in their language; Message is the English text
	// for logs and for clients told through an error redirect.
	Key string
}

func (e *LoginError) Error() string { return e.Message }

// Gate is called by a GatedPasswordConnector once it knows whom a username
// names (userID is "" when nobody) and before it checks the password; an
// error stops the login and is returned unchanged.
type Gate func(ctx context.Context, userID string) error

// GatedPasswordConnector is a PasswordConnector that can tell the caller
// whom a login is for before the password is tried, so that throttling
// counts per person however the name was typed (another case, fullwidth
// letters, a second username attribute).
type GatedPasswordConnector interface {
	PasswordConnector
	LoginGated(ctx context.Context, s Scopes, username, password string, gate Gate) (id Identity, valid bool, err error)
}

// TokenIdentityConnector is implemented by connectors that can vouch for a
// token their upstream issued (RFC 8693 token exchange): it checks the
// token and returns whom it names. tokenType is the subject_token_type
// (urn:ietf:params:oauth:token-type:id_token or ...:access_token). A token
// that is not acceptable is a *LoginError.
type TokenIdentityConnector interface {
	TokenIdentity(ctx context.Context, tokenType, token string) (Identity, error)
}
