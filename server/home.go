package server

import "net/http"

// home is the issuer path's own page: what this service is and where its
// discovery document lives, so that a newcomer (make run) has somewhere
// to land instead of a 404.
type home struct {
	pages     *pages
	issuerURL string
}

func (h *home) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.pages.render(w, r, http.StatusOK, "home.html", pageData{title: tr("home.title"), IssuerURL: h.issuerURL})
}
