package server

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/torii-idp/torii/web"
)

// Every catalog key the Go code names (tr, errorPage, errorPageMsg,
// connector.LoginError.Key) is in English's catalog; the web package's test
// checks that the other languages have all of English's keys.
func TestGoCodeUsesKnownKeys(t *testing.T) {
	site, err := web.Load("")
	if err != nil {
		t.Fatal(err)
	}
	en := site.Catalogs[0]
	var files []string
	for _, glob := range []string{"*.go", "../connector/*/*.go", "../connector/*.go"} {
		m, _ := filepath.Glob(glob)
		files = append(files, m...)
	}
	fset := token.NewFileSet()
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		check := func(pos token.Pos, lit ast.Expr, suffixes ...string) {
			bl, ok := lit.(*ast.BasicLit)
			if !ok || bl.Kind != token.STRING {
				return
			}
			key, _ := strconv.Unquote(bl.Value)
			found++
			for _, s := range suffixes {
				if !en.Has(key + s) {
					t.Errorf("%s: key %q is not in web/i18n/en.json", fset.Position(pos), key+s)
				}
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				name := ""
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				switch {
				case name == "tr" && len(n.Args) > 0:
					check(n.Pos(), n.Args[0], "")
				case name == "errorPage" && len(n.Args) > 3:
					check(n.Pos(), n.Args[3], ".title", ".body")
				case name == "errorPageMsg" && len(n.Args) > 3:
					check(n.Pos(), n.Args[3], "")
				}
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && id.Name == "Key" {
					check(n.Pos(), n.Value, "")
				}
			}
			return true
		})
	}
	for s, key := range scopeDescriptions {
		found++
		if !en.Has(key) {
			t.Errorf("scope %s: key %q is not in en.json", s, key)
		}
	}
	if found < 30 {
		t.Fatalf("found only %d keys in the Go code: the scan is broken", found)
	}
}

func TestLanguagePick(t *testing.T) {
	site, err := web.Load("")
	if err != nil {
		t.Fatal(err)
	}
	l, err := newLanguages(site.Catalogs, "")
	if err != nil {
		t.Fatal(err)
	}
	withDefault, err := newLanguages(site.Catalogs, "de")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		l                *languages
		ui, accept, want string
	}{
		{l, "", "", "en"},
		{l, "ja", "fr", "ja"},
		{l, "ja-JP", "", "ja"},
		{l, "xx-unknown ko", "fr", "ko"},
		{l, "not a tag!!", "fr-CA,fr;q=0.9", "fr"},
		{l, "", "zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"},
		{l, "", "es-MX", "es"},
		{l, "", "ko-KR;q=0.5,de;q=0.9", "de"},
		{l, "", "sw", "en"},
		{withDefault, "", "sw", "de"},
		{withDefault, "", "", "de"},
		{withDefault, "fr", "", "fr"},
		{l, "", strings.Repeat("a,", 2000), "en"},
	} {
		if got := tc.l.pick(tc.ui, tc.accept).Tag.String(); got != tc.want {
			t.Errorf("pick(%q, %.40q) = %s, want %s", tc.ui, tc.accept, got, tc.want)
		}
	}
	if _, err := newLanguages(site.Catalogs, "tlh"); err == nil || !strings.Contains(err.Error(), `frontend.defaultLanguage "tlh"`) {
		t.Errorf("unknown default language: %v", err)
	}
}

// TStrong escapes the message and the value; only its <strong> is markup.
func TestTStrongEscapes(t *testing.T) {
	site, err := web.Load("")
	if err != nil {
		t.Fatal(err)
	}
	d := pageData{cat: site.Catalogs[0]}
	got := string(d.TStrong("device.confirm_intro", "client", `<script>x</script>&`))
	want := "<strong>&lt;script&gt;x&lt;/script&gt;&amp;</strong> wants to sign in on a device with the code"
	if got != want {
		t.Errorf("TStrong = %q, want %q", got, want)
	}
	if got := string(d.TStrong("logout.done", "user", "x")); got != "You are signed out." {
		t.Errorf("TStrong without the placeholder = %q", got)
	}
}
