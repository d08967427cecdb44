// Package oauth2 holds the RFC 6749 wire types: the error every handler
// returns and the documents torii serializes.
package oauth2

import "net/http"

// Error is an RFC 6749 §5.2 / OIDC error. Description is sent to the client;
// the internal cause is never part of it (log it instead).
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	// Status is the HTTP status used when the error is rendered as JSON.
	Status int `json:"-"`
}

func (e *Error) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

func newErr(code string, status int, desc string) *Error {
	return &Error{Code: code, Description: desc, Status: status}
}

// Constructors, one per code.
func InvalidRequest(desc string) *Error {
	return newErr("invalid_request", http.StatusBadRequest, desc)
}
func InvalidClient(desc string) *Error {
	return newErr("invalid_client", http.StatusUnauthorized, desc)
}
func InvalidGrant(desc string) *Error { return newErr("invalid_grant", http.StatusBadRequest, desc) }
func UnauthorizedClient(desc string) *Error {
	return newErr("unauthorized_client", http.StatusBadRequest, desc)
}
func UnsupportedGrantType(desc string) *Error {
	return newErr("unsupported_grant_type", http.StatusBadRequest, desc)
}
func UnsupportedResponseType(desc string) *Error {
	return newErr("unsupported_response_type", http.StatusBadRequest, desc)
}
func InvalidScope(desc string) *Error { return newErr("invalid_scope", http.StatusBadRequest, desc) }
func AccessDenied(desc string) *Error { return newErr("access_denied", http.StatusForbidden, desc) }
func ServerError(desc string) *Error {
	return newErr("server_error", http.StatusInternalServerError, desc)
}
func TemporarilyUnavailable(desc string) *Error {
	return newErr("temporarily_unavailable", http.StatusServiceUnavailable, desc)
}
func InvalidToken(desc string) *Error  { return newErr("invalid_token", http.StatusUnauthorized, desc) }
func LoginRequired(desc string) *Error { return newErr("login_required", http.StatusBadRequest, desc) }
func SlowDown(desc string) *Error      { return newErr("slow_down", http.StatusTooManyRequests, desc) }
