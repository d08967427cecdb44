package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

// RequestIDHeader carries the request ID in and out (responses echo it).
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds a client-provided request ID.
const maxRequestIDLen = 128

// Request is the per-request context that ties audit records, log lines
// and the response together.
type Request struct {
	ID       string
	ClientIP string
	// clientID is set once the OAuth2 client of the request is known.
	clientID string
}

type ctxKey struct{}

// WithRequest returns ctx carrying r.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, ctxKey{}, r)
}

// FromContext returns the request of ctx, or nil.
func FromContext(ctx context.Context) *Request {
	r, _ := ctx.Value(ctxKey{}).(*Request)
	return r
}

// RequestID returns the request ID of ctx, or "".
func RequestID(ctx context.Context) string {
	if r := FromContext(ctx); r != nil {
		return r.ID
	}
	return ""
}

// SetClient records the OAuth2 client the request acts for, so later
// records of the request carry it. A request is handled by one goroutine,
// so no lock is needed.
func SetClient(ctx context.Context, clientID string) {
	if r := FromContext(ctx); r != nil {
		r.clientID = clientID
	}
}

// NewRequestID is 128 random bits, hex encoded.
func NewRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// UsableRequestID reports whether a request ID sent by a client (or the
// proxy in front) may be kept: short, and only characters that cannot
// break a log line or a header.
func UsableRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '=':
		default:
			return false
		}
	}
	return true
}

// LogHandler adds request_id to every record logged with a request's
// context.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(as)}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{h.Handler.WithGroup(name)}
}
