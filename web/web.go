// Package web holds torii's page templates and static files, embedded in the
// binary.
package web

import (
	"embed"
	"html/template"
	"io/fs"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Templates parses the page templates. Each page template defines "page"
// content rendered inside layout.html.
func Templates() (map[string]*template.Template, error) {
	pages := []string{"login.html", "chooser.html", "approval.html", "error.html", "device.html", "device_confirm.html", "device_done.html",
		"logout_confirm.html", "logged_out.html", "logout_no_redirect.html"}
	out := make(map[string]*template.Template, len(pages))
	for _, p := range pages {
		t, err := template.New(p).ParseFS(templateFS, "templates/layout.html", "templates/"+p)
		if err != nil {
			return nil, err
		}
		out[p] = t
	}
	return out, nil
}

// Static is the tree served under {issuer path}/static/.
func Static() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}
