// Package web holds torii's page templates, static files and message
// catalogs, embedded in the binary, and loads an operator's replacements
// from frontend.dir (docs/pages.md).
package web

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

//go:embed templates/*.html static i18n/*.json
var builtin embed.FS

// PageNames are the page templates; each defines "page", rendered inside
// layout.html's "layout".
var PageNames = []string{
	"login.html", "chooser.html", "approval.html", "error.html", "home.html", "account.html",
	"device.html", "device_confirm.html", "device_done.html",
	"logout_confirm.html", "logged_out.html", "logout_no_redirect.html",
	"kubeconfig.html",
}

// dexTemplates are file names only Dex's web/templates has; finding one in
// frontend.dir means a Dex theme, which torii cannot render.
var dexTemplates = []string{"header.html", "footer.html", "password.html", "oob.html", "device_success.html"}

// Site is what the pages are made of.
type Site struct {
	Pages    map[string]*template.Template
	Static   fs.FS
	Catalogs []*Catalog // English first
}

// Load builds the site from the built-in files, with the files of dir (an
// operator's frontend.dir; "" for none) taking the place of built-in ones
// of the same name: templates/*.html, static/..., i18n/<tag>.json.
func Load(dir string) (*Site, error) {
	var top fs.FS
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("%s is not a directory", dir)
		}
		top = os.DirFS(dir)
		if err := refuseDex(top, dir); err != nil {
			return nil, err
		}
	}
	s := &Site{Static: mustSub(builtin, "static")}
	if top != nil {
		if sub, err := fs.Sub(top, "static"); err == nil {
			s.Static = overlayFS{top: sub, bottom: s.Static}
		}
	}
	var err error
	if s.Pages, err = loadTemplates(top, dir); err != nil {
		return nil, err
	}
	if s.Catalogs, err = loadCatalogs(top, dir); err != nil {
		return nil, err
	}
	return s, nil
}

func refuseDex(top fs.FS, dir string) error {
	for _, n := range dexTemplates {
		if _, err := fs.Stat(top, "templates/"+n); err == nil {
			return fmt.Errorf("%s looks like a Dex web directory (it has templates/%s): torii cannot use Dex templates; write torii templates instead (layout.html and the pages listed in docs/pages.md, see examples/theme)",
				dir, n)
		}
	}
	if st, err := fs.Stat(top, "themes"); err == nil && st.IsDir() {
		return fmt.Errorf("%s has a themes/ directory, as Dex web directories do: torii cannot use Dex themes; put CSS in static/ and choose light, dark or auto with frontend.theme (docs/pages.md)", dir)
	}
	return nil
}

// loadTemplates parses layout.html, the partials (_*.html) and each page,
// taking dir's file over the built-in one where it has one.
func loadTemplates(top fs.FS, dir string) (map[string]*template.Template, error) {
	source := func(name string) (string, error) {
		if top != nil {
			b, err := fs.ReadFile(top, "templates/"+name)
			if err == nil {
				return string(b), nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", err
			}
		}
		b, err := fs.ReadFile(builtin, "templates/"+name)
		return string(b), err
	}
	var partials []string
	if top != nil {
		names, err := fs.Glob(top, "templates/*")
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			base := path.Base(n)
			switch {
			case strings.HasPrefix(base, "_") && strings.HasSuffix(base, ".html"):
				partials = append(partials, base)
			case base == "layout.html" || slices.Contains(PageNames, base):
			default:
				return nil, fmt.Errorf("%s/templates/%s is not a torii template (layout.html, _partial.html or one of %s)",
					dir, base, strings.Join(PageNames, ", "))
			}
		}
	}
	layout, err := source("layout.html")
	if err != nil {
		return nil, err
	}
	out := make(map[string]*template.Template, len(PageNames))
	for _, p := range PageNames {
		t := template.New("set:" + p) // not a file name: parsing a file of the set's own name would replace the set
		files := append([]string{"layout.html"}, partials...)
		files = append(files, p)
		for _, f := range files {
			src := layout
			if f != "layout.html" {
				if src, err = source(f); err != nil {
					return nil, err
				}
			}
			if _, err := t.New(f).Parse(src); err != nil {
				return nil, fmt.Errorf("template %s: %v", f, err)
			}
		}
		for _, need := range []string{"layout", "page"} {
			if t.Lookup(need) == nil {
				return nil, fmt.Errorf("template %s: no {{define %q}}", p, need)
			}
		}
		out[p] = t
	}
	return out, nil
}

// loadCatalogs reads the built-in catalogs, then dir's i18n/*.json, which
// replace a built-in language (en.json too) or add one. An operator's
// catalog may lack keys (the built-in English answers them) but may not
// have keys English lacks, nor other placeholders.
func loadCatalogs(top fs.FS, dir string) ([]*Catalog, error) {
	cats, err := readCatalogs(builtin)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(cats, func(c *Catalog) bool { return c.Tag.String() == "en" })
	if i < 0 {
		return nil, errors.New("no English catalog (i18n/en.json)")
	}
	cats[0], cats[i] = cats[i], cats[0]
	ref := cats[0] // the built-in English: the keys there are
	for _, c := range cats[1:] {
		c.fallback = ref
	}
	if top == nil {
		return cats, nil
	}
	extra, err := readCatalogs(top)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", dir, err)
	}
	var problems []error
	for _, c := range extra {
		c.fallback = ref
		for _, p := range c.checkAgainst(ref) {
			problems = append(problems, fmt.Errorf("%s/i18n/%s.json: %s", dir, c.Tag, p))
		}
		if i := slices.IndexFunc(cats, func(b *Catalog) bool { return b.Tag == c.Tag }); i >= 0 {
			cats[i] = c
		} else {
			cats = append(cats, c)
		}
	}
	return cats, errors.Join(problems...)
}

// overlayFS serves top's files, and bottom's where top has none.
type overlayFS struct{ top, bottom fs.FS }

func (o overlayFS) Open(name string) (fs.File, error) {
	f, err := o.top.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return o.bottom.Open(name)
	}
	return f, err
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the embedded tree always has dir
	}
	return sub
}

// Builtin is the embedded tree (templates/, static/, i18n/), for tests
// and tools that read the sources.
func Builtin() fs.FS { return builtin }
