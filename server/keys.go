package server

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/torii-idp/torii/server/signer"
)

// keysHandler serves the JWKS from the signer's pre-serialized bytes, with
// the max-age the signer's key pre-publication allows.
type keysHandler struct {
	signer *signer.Signer
	log    *slog.Logger
}

func (h *keysHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, etag, maxAge, err := h.signer.JWKS(r.Context())
	if err != nil {
		writeJSONError(w, r, h.log, err)
		return
	}
	serveJSONBytes(w, r, body, etag, fmt.Sprintf("public, max-age=%d, must-revalidate", int(maxAge.Seconds())))
}
