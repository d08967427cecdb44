package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template/parse"
)

// The languages torii ships; adding one means adding its file here too.
var shipped = []string{"de", "en", "es", "fr", "ja", "ko", "zh-Hans"}

func TestCatalogsHaveEveryEnglishKey(t *testing.T) {
	site, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, c := range site.Catalogs {
		tags = append(tags, c.Tag.String())
	}
	slices.Sort(tags)
	if !slices.Equal(tags, shipped) {
		t.Fatalf("catalogs %v, want %v", tags, shipped)
	}
	en := site.Catalogs[0]
	if en.Tag.String() != "en" {
		t.Fatalf("first catalog is %s, want en", en.Tag)
	}
	for _, c := range site.Catalogs[1:] {
		t.Run(c.Tag.String(), func(t *testing.T) {
			for _, k := range en.Keys() {
				if !c.Has(k) {
					t.Errorf("%s.json lacks %q (English: %q)", c.Tag, k, en.T(k))
				}
			}
			for _, p := range c.checkAgainst(en) {
				t.Errorf("%s.json: %s", c.Tag, p)
			}
			for _, k := range c.Keys() {
				if m, _ := c.Message(k); strings.TrimSpace(m) == "" {
					t.Errorf("%s.json: %q is empty", c.Tag, k)
				}
			}
		})
	}
}

// The check itself: a catalog missing a key, or with a key English lacks,
// or with other placeholders, is reported.
func TestCheckAgainstReports(t *testing.T) {
	en := &Catalog{msgs: map[string]string{"a": "A {name}", "b": "B"}}
	c := &Catalog{msgs: map[string]string{"a": "x {nom}", "c": "C"}}
	got := strings.Join(c.checkAgainst(en), "\n")
	for _, want := range []string{`key "c" is not in en.json`, `key "a" has placeholders [nom]`} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q lack %q", got, want)
		}
	}
}

func TestT(t *testing.T) {
	en := &Catalog{msgs: map[string]string{"hi": "Hello {name}, {name}! {other}", "only": "English"}}
	ja := &Catalog{msgs: map[string]string{"hi": "{name} さん"}, fallback: en}
	for _, tc := range []struct {
		c    *Catalog
		key  string
		args []string
		want string
	}{
		{en, "hi", []string{"name", "Kim"}, "Hello Kim, Kim! {other}"},
		{ja, "hi", []string{"name", "Kim"}, "Kim さん"},
		{ja, "only", nil, "English"},
		{ja, "missing", nil, "missing"},
		{en, "hi", []string{"name"}, "Hello {name}, {name}! {other}"},
	} {
		if got := tc.c.T(tc.key, tc.args...); got != tc.want {
			t.Errorf("T(%q, %q) = %q, want %q", tc.key, tc.args, got, tc.want)
		}
	}
}

// templateKeys lists the literal keys passed to .T in a parsed template.
func templateKeys(n parse.Node, out *[]string) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			templateKeys(c, out)
		}
	case *parse.ActionNode:
		templateKeys(n.Pipe, out)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			templateKeys(c, out)
		}
	case *parse.CommandNode:
		if len(n.Args) >= 2 && isT(n.Args[0]) {
			if s, ok := n.Args[1].(*parse.StringNode); ok {
				*out = append(*out, s.Text)
			}
		}
		for _, a := range n.Args {
			templateKeys(a, out)
		}
	case *parse.IfNode:
		templateKeys(n.Pipe, out)
		templateKeys(n.List, out)
		templateKeys(n.ElseList, out)
	case *parse.RangeNode:
		templateKeys(n.Pipe, out)
		templateKeys(n.List, out)
		templateKeys(n.ElseList, out)
	case *parse.WithNode:
		templateKeys(n.Pipe, out)
		templateKeys(n.List, out)
		templateKeys(n.ElseList, out)
	case *parse.TemplateNode:
		templateKeys(n.Pipe, out)
	}
}

func isT(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.FieldNode:
		return len(n.Ident) == 1 && (n.Ident[0] == "T" || n.Ident[0] == "TStrong")
	case *parse.VariableNode:
		return len(n.Ident) == 2 && n.Ident[0] == "$" && (n.Ident[1] == "T" || n.Ident[1] == "TStrong")
	}
	return false
}

func TestTemplatesUseKnownKeys(t *testing.T) {
	site, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	en := site.Catalogs[0]
	used := 0
	for _, name := range PageNames {
		for _, tmpl := range site.Pages[name].Templates() {
			if tmpl.Tree == nil {
				continue
			}
			var keys []string
			templateKeys(tmpl.Tree.Root, &keys)
			used += len(keys)
			for _, k := range keys {
				if !en.Has(k) {
					t.Errorf("%s (%s) uses %q, which en.json lacks", name, tmpl.Name(), k)
				}
			}
		}
	}
	if used == 0 {
		t.Fatal("found no .T calls in the templates: the walker is broken")
	}
	// The walker finds a bad key.
	bad, err := parseOne(`{{define "page"}}{{if .X}}{{range .Y}}{{$.T "no.such.key" "a" .}}{{end}}{{end}}{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	templateKeys(bad, &keys)
	if !slices.Equal(keys, []string{"no.such.key"}) {
		t.Errorf("walker found %q in a test template, want [no.such.key]", keys)
	}
}

func parseOne(src string) (*parse.ListNode, error) {
	trees, err := parse.Parse("t", src, "{{", "}}", map[string]any{})
	if err != nil {
		return nil, err
	}
	return trees["page"].Root, nil
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDir(t *testing.T) {
	t.Run("dex templates refused", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "templates/header.html", `{{ template "x" }}`)
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), "Dex web directory (it has templates/header.html)") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("dex themes refused", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "themes/dark/styles.css", `body{}`)
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "themes/") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown template refused", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "templates/logn.html", `{{define "page"}}{{end}}`)
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "logn.html is not a torii template") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("missing dir", func(t *testing.T) {
		if _, err := Load(filepath.Join(t.TempDir(), "nope")); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("overrides", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "templates/error.html", `{{define "page"}}OPERATOR {{template "footer" .}}{{end}}`)
		write(t, dir, "templates/_footer.html", `{{define "footer"}}FOOT{{end}}`)
		write(t, dir, "static/main.css", `body{color:red}`)
		write(t, dir, "static/logo.svg", `<svg/>`)
		write(t, dir, "i18n/en.json", `{"language":"en","name":"English","dir":"ltr","messages":{"login.submit":"Sign in"}}`)
		write(t, dir, "i18n/ar.json", `{"language":"ar","name":"العربية","dir":"rtl","messages":{"login.submit":"تسجيل الدخول"}}`)
		site, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if en := site.Catalogs[0]; en.T("login.submit") != "Sign in" || en.T("login.password") != "Password" {
			t.Errorf("operator en.json: %q %q", en.T("login.submit"), en.T("login.password"))
		}
		var b strings.Builder
		if err := site.Pages["error.html"].ExecuteTemplate(&b, "page", nil); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(b.String()); got != "OPERATOR FOOT" {
			t.Errorf("error page = %q", got)
		}
		if site.Pages["login.html"].Lookup("page") == nil {
			t.Error("built-in login page missing")
		}
		for name, want := range map[string]string{"main.css": "body{color:red}", "logo.svg": "<svg/>"} {
			got, err := readFile(site.Static, name)
			if err != nil || got != want {
				t.Errorf("static %s = %q, %v", name, got, err)
			}
		}
		if got, err := readFile(site.Static, "nothing.css"); err == nil {
			t.Errorf("nothing.css served: %q", got)
		}
		ar := site.Catalogs[len(site.Catalogs)-1]
		if ar.Tag.String() != "ar" || ar.Dir != "rtl" || ar.T("login.submit") != "تسجيل الدخول" || ar.T("login.password") != "Password" {
			t.Errorf("ar catalog: %s %s %q %q", ar.Tag, ar.Dir, ar.T("login.submit"), ar.T("login.password"))
		}
	})
	t.Run("operator catalog with an unknown key", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "i18n/fr.json", `{"language":"fr","name":"Français","messages":{"login.sumbit":"Connexion"}}`)
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), `"login.sumbit" is not in en.json`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("catalog named wrong", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "i18n/french.json", `{"language":"fr","name":"Français","messages":{"login.submit":"x"}}`)
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "does not match the file name") {
			t.Fatalf("err = %v", err)
		}
	})
}

func readFile(f fs.FS, name string) (string, error) {
	b, err := fs.ReadFile(f, name)
	return string(b), err
}
