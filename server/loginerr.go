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
