package server

import (
	"errors"
	"net/http"
)

// errWrongConnector: the auth request is pinned to another connector (its
// connector_id at /auth, or the upstream login it started) and cannot be
// completed through this one.
var errWrongConnector = errors.New("the login request is for another connector")

func (f *authFlow) wrongConnectorPage(w http.ResponseWriter, r *http.Request) {
	f.pages.errorPage(w, r, http.StatusBadRequest, "err.wrong_connector")
}
