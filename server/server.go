// Package server is torii's HTTP surface: every OIDC endpoint, the login and
// approval pages, and the background work (key rotation, garbage collection).
package server

import (
	"context"
	"errors"
	"net/http"
)

// Server is an http.Handler serving every route under the issuer's path.
type Server struct {
	handler http.Handler
	cancel  context.CancelFunc
}

// New validates the config, loads or creates the signing keys and starts the
// background loops (key rotation, garbage collection), which stop when ctx is
// done or Close is called.
func New(ctx context.Context, c Config) (*Server, error) {
	return nil, errors.New("server: not implemented yet")
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close stops the background loops. It does not close Storage or connectors.
func (s *Server) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	return nil
}
