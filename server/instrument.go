package server

import (
	"net/http"
	"time"

	"github.com/torii-idp/torii/audit"
)

// routeWrapper is what every route gets, once, from routes.go: the request
// context (request ID, client IP) used by logs and audit records, the
// X-Request-Id response header, and the request metrics labelled with the
// route's name.
type routeWrapper struct {
	metrics *Metrics
	ips     ipResolver
}

// wrap instruments h as the route name (its pattern without the issuer
// path, as Dex labels it).
func (rw routeWrapper) wrap(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(audit.RequestIDHeader)
		if !audit.UsableRequestID(id) {
			id = audit.NewRequestID()
		}
		w.Header().Set(audit.RequestIDHeader, id)
		r = r.WithContext(audit.WithRequest(r.Context(), &audit.Request{ID: id, ClientIP: rw.ips.clientIP(r)}))
		if rw.metrics == nil {
			h.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		rw.metrics.observeRequest(name, r.Method, rec.code, rec.size, time.Since(start))
	})
}

// statusRecorder captures the status and body size of a response.
type statusRecorder struct {
	http.ResponseWriter
	code int
	size int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.size += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
