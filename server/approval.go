package server

import (
	"net/http"

	"github.com/torii-idp/torii/server/oauth2"
)

var scopeDescriptions = map[string]string{
	scopeOpenID:        "Know who you are",
	scopeEmail:         "View your email address",
	scopeProfile:       "View your name and username",
	scopeGroups:        "View your groups",
	scopeOfflineAccess: "Stay signed in (offline access)",
	scopeFederatedID:   "Know which login method you used",
}

// approval handles GET and POST /approval (Dex's form: req, approval=approve|rejected).
func (f *authFlow) approval(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		f.pages.errorPage(w, r, http.StatusBadRequest, "Bad request", "The form could not be parsed.")
		return
	}
	ar, ok := f.loadRequest(w, r, r.Form.Get("req"))
	if !ok {
		return
	}
	if !ar.LoggedIn {
		f.pages.errorPage(w, r, http.StatusBadRequest, "Not logged in", "Log in before approving access.")
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
			Title: "Grant access", Action: f.issuer.at("/approval"), ReqID: ar.ID,
			CSRF: f.browser.formToken(r, ar.ID), ClientName: name,
		}
		for _, s := range ar.Scopes {
			if desc, ok := scopeDescriptions[s]; ok {
				d.Scopes = append(d.Scopes, desc)
			} else if peers := scopeSet([]string{s}).peers(); len(peers) == 1 {
				d.Scopes = append(d.Scopes, "Act on behalf of "+peers[0])
			}
		}
		f.pages.render(w, r, http.StatusOK, "approval.html", d)
		return
	}
	if !f.browser.validForm(r, ar.ID) {
		f.pages.errorPage(w, r, http.StatusForbidden, "Form expired", "The form was not submitted from this page. Start again from the application.")
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
		f.pages.errorPage(w, r, http.StatusBadRequest, "Bad request", `approval must be "approve" or "rejected".`)
	}
}
