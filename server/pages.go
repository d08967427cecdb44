package server

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/torii-idp/torii/web"
)

// pages renders the HTML pages inside the shared layout, in the language
// languages picks for the request.
type pages struct {
	tmpl  map[string]*template.Template
	langs *languages
	brand string
	logo  string
	theme string
	extra map[string]string
	base  string // issuer path, prefix of every link
	log   *slog.Logger
}

func newPages(c WebConfig, site *web.Site, iss issuer, log *slog.Logger) (*pages, error) {
	langs, err := newLanguages(site.Catalogs, c.DefaultLanguage)
	if err != nil {
		return nil, err
	}
	brand := c.Issuer
	if brand == "" {
		brand = "torii"
	}
	theme := c.Theme
	if theme == "" {
		theme = "light"
	}
	return &pages{tmpl: site.Pages, langs: langs, brand: brand, logo: c.LogoURL, theme: theme, extra: c.Extra, base: iss.Path, log: log}, nil
}

// pageData is what every page's template gets (documented in
// docs/pages.md); the page-specific fields are set by the handler.
type pageData struct {
	Title   string
	Lang    string // BCP 47 tag of the catalog in use, for <html lang>
	Dir     string // ltr or rtl, for <html dir>
	Theme   string // light, dark or auto (frontend.theme)
	Brand   string // frontend.issuer
	LogoURL string
	Base    string            // the issuer path ("" or "/dex"): links are Base + "/..."
	Static  string            // Base + "/static", where static/ is served
	Extra   map[string]string // frontend.extra
	// Page-specific fields.
	Error, Message, Detail, Action, ReqID, CSRF, Prompt, Username, BackURL, ClientName, IssuerURL string
	Status                                                                                        int
	ShowRememberMe, RememberMe                                                                    bool
	Scopes                                                                                        []string
	Connectors                                                                                    []connectorLink
	// UserCode is the device flow's code (device pages).
	UserCode string
	// Logout is the logout pages' own data (logout.go).
	Logout *logoutPage
	// Account is the account page's own data (account.go).
	Account *accountPage
	// Kubeconfig is the kubeconfig page's own data (kubeconfig.go).
	Kubeconfig *kubeconfigPage
	// Wide asks the layout for a wider card (pages with files and
	// commands in them).
	Wide bool

	// Set by handlers, turned into text above by render.
	title, err, message, prompt message
	scopes                      []message
	cat                         *web.Catalog
}

// T is the catalog message key with its placeholders filled from args
// (name, value pairs): {{.T "login.submit"}}, {{$.T "chooser.with" "name" .Name}}.
func (d pageData) T(key string, args ...string) string { return d.cat.T(key, args...) }

// TStrong is T with one placeholder's value in <strong> (the application
// or account a person must check): {{.TStrong "device.confirm_intro" "client" .ClientName}}.
// The message and the value are escaped; only the <strong> is markup.
func (d pageData) TStrong(key, name, value string) template.HTML {
	const mark = "\x00"
	parts := strings.SplitN(d.cat.T(key, name, mark), mark, 2)
	if len(parts) == 1 {
		return template.HTML(template.HTMLEscapeString(parts[0]))
	}
	return template.HTML(template.HTMLEscapeString(parts[0]) + "<strong>" + template.HTMLEscapeString(value) + "</strong>" + template.HTMLEscapeString(parts[1]))
}

type connectorLink struct{ Name, URL string }

func (p *pages) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	c := p.langs.pick(uiLocales(r.Context()), r.Header.Get("Accept-Language"))
	d.cat, d.Lang, d.Dir = c, c.Tag.String(), c.Dir
	d.Brand, d.LogoURL, d.Base, d.Static, d.Theme, d.Extra = p.brand, p.logo, p.base, p.base+"/static", p.theme, p.extra
	d.Title, d.Error, d.Message, d.Prompt = d.title.in(c), d.err.in(c), d.message.in(c), d.prompt.in(c)
	for _, s := range d.scopes {
		d.Scopes = append(d.Scopes, s.in(c))
	}
	var buf bytes.Buffer
	if err := p.tmpl[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		p.log.ErrorContext(r.Context(), "rendering page", "page", name, "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", d.Lang)
	h.Add("Vary", "Accept-Language")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage shows an error that must not be sent to a redirect URI
// (unknown client, bad redirect URI, expired login): the catalog's
// key+".title" and key+".body", args filling the body's placeholders.
func (p *pages) errorPage(w http.ResponseWriter, r *http.Request, status int, key string, args ...string) {
	p.render(w, r, status, "error.html", pageData{title: tr(key + ".title"), message: tr(key+".body", args...), Status: status})
}

// errorPageMsg is errorPage with a body from elsewhere (a login failure).
func (p *pages) errorPageMsg(w http.ResponseWriter, r *http.Request, status int, titleKey string, body message) {
	p.render(w, r, status, "error.html", pageData{title: tr(titleKey), message: body, Status: status})
}
