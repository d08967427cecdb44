package server

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/torii-idp/torii/server/signer"
	"github.com/torii-idp/torii/storage"
)

// healthHandler serves liveness (the process answers) and readiness
// (storage reachable and keys loaded).
type healthHandler struct {
	store  storage.Storage
	signer *signer.Signer
	// draining is set on shutdown: the balancer must stop sending here.
	draining *atomic.Bool
}

func (h *healthHandler) live(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok\n"))
}

func (h *healthHandler) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if h.draining != nil && h.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("shutting down\n"))
		return
	}
	if err := h.store.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("storage unavailable\n"))
		return
	}
	if _, _, _, err := h.signer.JWKS(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("signing keys unavailable\n"))
		return
	}
	w.Write([]byte("ok\n"))
}
