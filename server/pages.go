package server

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/torii-idp/torii/web"
)

// pages renders the HTML pages inside the shared layout.
type pages struct {
	tmpl  map[string]*template.Template
	brand string
	logo  string
	base  string // issuer path, prefix of every link
	log   *slog.Logger
}

func newPages(c WebConfig, iss issuer, log *slog.Logger) (*pages, error) {
	t, err := web.Templates()
	if err != nil {
		return nil, err
	}
	return &pages{tmpl: t, brand: c.Issuer, logo: c.LogoURL, base: iss.Path, log: log}, nil
}

// pageData is what every page gets; Page holds the page's own fields.
type pageData struct {
	Title   string
	Brand   string
	LogoURL string
	Base    string
	// Page-specific fields.
	Error, Message, Action, ReqID, CSRF, Prompt, Username, BackURL, ClientName string
	Status                                                                     int
	ShowRememberMe, RememberMe                                                 bool
	Scopes                                                                     []string
	Connectors                                                                 []connectorLink
	// UserCode is the device flow's code (device pages).
	UserCode string
	// Logout is the logout pages' own data (logout.go).
	Logout *logoutPage
}

type connectorLink struct{ Name, URL string }

func (p *pages) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	d.Brand, d.LogoURL, d.Base = p.brand, p.logo, p.base
	var buf bytes.Buffer
	if err := p.tmpl[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		p.log.ErrorContext(r.Context(), "rendering page", "page", name, "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage shows an error that must not be sent to a redirect URI (unknown
// client, bad redirect URI, expired login).
func (p *pages) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	p.render(w, r, status, "error.html", pageData{Title: title, Message: msg, Status: status})
}
