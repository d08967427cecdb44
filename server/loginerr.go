package server

import (
	"context"
	"errors"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/server/oauth2"
)

// loginError maps a connector failure (not a wrong password) to what the
// user or client is told; the cause itself is logged by the caller's
// error writer.
func loginError(err error) error {
	var le *connector.LoginError
	switch {
	case errors.As(err, &le):
		return &oauth2.Error{Code: "access_denied", Description: le.Message, Status: 403}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, connector.ErrUnavailable):
		return errors.Join(oauth2.TemporarilyUnavailable("the directory or identity provider did not answer; try again in a moment"), err)
	default:
		return err
	}
}

// loginFailure is what the login page (or the upstream error page) tells
// the person about a failed login that was not a wrong password: the
// connector's own message (from the catalog when it names a key), that
// the directory did not answer, or that the login could not be completed.
func (f *authFlow) loginFailure(ctx context.Context, err error) (int, message) {
	oe := toOAuth2(ctx, f.log, loginError(err))
	var le *connector.LoginError
	switch {
	case errors.As(err, &le):
		if le.Key != "" && f.pages.langs.catalogs[0].Has(le.Key) {
			return oe.Status, tr(le.Key)
		}
		if le.Message == "" {
			return oe.Status, tr("login.denied")
		}
		return oe.Status, rawText(le.Message)
	case oe.Code == "temporarily_unavailable":
		return oe.Status, tr("login.unavailable")
	default:
		return oe.Status, tr("login.failed")
	}
}

// promptMessage is the username field's label: the built-in connectors'
// default prompts are in the catalog; a prompt the operator configured
// (usernamePrompt) is shown as written.
func promptMessage(p string) message {
	switch p {
	case "", "Username":
		return tr("login.username")
	case "Email Address", "Email address", "Email":
		return tr("login.email")
	}
	return rawText(p)
}
