package server

import (
	"net/http"
)

// accountHandler is <issuer>/account: the person logged in to torii's
// pages, with the claims applications see for them.
type accountHandler struct {
	login *pageLogin
	pages *pages
}

// accountPage is the account page's own template data (.Account).
type accountPage struct {
	User *PageUser
	// LogoutURL is the existing /logout (it asks before signing out).
	LogoutURL string
}

func (h *accountHandler) show(w http.ResponseWriter, r *http.Request) {
	u, ok := h.login.user(w, r)
	if !ok {
		return
	}
	d := pageData{title: tr("account.title"), Account: &accountPage{User: u, LogoutURL: h.pages.base + "/logout"}}
	h.pages.render(w, r, http.StatusOK, "account.html", d)
}
