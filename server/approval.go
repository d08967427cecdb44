package server

import (
	"net/http"

	"github.com/torii-idp/torii/server/oauth2"
)

var scopeDescriptions = map[string]string{
	scopeOpenID:        "scope.openid",
	scopeEmail:         "scope.email",
	scopeProfile:       "scope.profile",
	scopeGroups:        "scope.groups",
	scopeOfflineAccess: "scope.offline_access",
	scopeFederatedID:   "scope.federated_id",
}

// approval handles GET and POST /approval (Dex's form: req, approval=approve|rejected).
func (f *authFlow) approval(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.bad_form")
		return
	}
	ar, ok := f.loadRequest(w, r, r.Form.Get("req"))
	if !ok {
		return
	}
	if !ar.LoggedIn {
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.not_logged_in")
		return
	}
	if r.Method != http.MethodPost {
		client, _, err := f.clients.get(r.Context(), ar.ClientID)
		if err != nil {
			f.storageErrorPage(w, r, err)
			return
		}
		name := client.Name
		if name == "" {
			name = ar.ClientID
		}
		d := pageData{
			title: tr("approval.title"), Action: f.issuer.at("/approval"), ReqID: ar.ID,
			CSRF: f.browser.formToken(r, ar.ID), ClientName: name,
		}
		for _, s := range ar.Scopes {
			if key, ok := scopeDescriptions[s]; ok {
				d.scopes = append(d.scopes, tr(key))
			} else if peers := scopeSet([]string{s}).peers(); len(peers) == 1 {
				d.scopes = append(d.scopes, tr("scope.cross_client", "client", peers[0]))
			}
		}
		f.pages.render(w, r, http.StatusOK, "approval.html", d)
		return
	}
	if !f.browser.validForm(r, ar.ID) {
		f.pages.errorPage(w, r, http.StatusForbidden, "err.form_expired")
		return
	}
	switch r.PostForm.Get("approval") {
	case "approve":
		f.complete(w, r, ar)
	case "rejected":
		if f.reject(w, r, ar) {
			return
		}
		if err := f.store.DeleteAuthRequest(r.Context(), ar.ID); err != nil {
			f.storageErrorPage(w, r, err)
			return
		}
		errorRedirect(w, r, f.log, f.issuer.URL, ar.RedirectURI, ar.State, oauth2.AccessDenied("the user denied access"))
	default:
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.bad_approval")
	}
}
