package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFrontendConfig(t *testing.T) {
	minimal := "issuer: http://127.0.0.1:5556/dex\nweb:\n  http: 127.0.0.1:5556\n"
	dexDir := t.TempDir()
	os.MkdirAll(filepath.Join(dexDir, "templates"), 0o755)
	os.WriteFile(filepath.Join(dexDir, "templates", "password.html"), []byte(`{{ template "header.html" . }}`), 0o644)
	toriiDir := t.TempDir()
	os.MkdirAll(filepath.Join(toriiDir, "static"), 0o755)
	os.WriteFile(filepath.Join(toriiDir, "static", "main.css"), []byte(`body{}`), 0o644)

	t.Run("every key", func(t *testing.T) {
		c, err := parse(t, minimal+"frontend:\n  issuer: Example\n  logoURL: https://e.example/logo.svg\n  theme: auto\n  dir: "+toriiDir+
			"\n  defaultLanguage: ja\n  extra:\n    support: https://help.example\n    tos: https://tos.example\n", nil)
		if err != nil {
			t.Fatal(err)
		}
		f := c.Frontend
		if f.Issuer != "Example" || f.Theme != "auto" || f.Dir != toriiDir || f.DefaultLanguage != "ja" ||
			f.Extra["support"] != "https://help.example" || f.Extra["tos"] != "https://tos.example" || len(f.Extra) != 2 {
			t.Fatalf("frontend = %+v", f)
		}
	})
	for _, tc := range []struct{ name, yaml, want string }{
		{"dex theme name", "frontend:\n  theme: coreos\n", `config.yaml:5: frontend.theme: theme "coreos": torii has the themes light, dark and auto`},
		{"dex web dir", "frontend:\n  dir: " + dexDir + "\n", "config.yaml:5: frontend.dir: " + dexDir + " looks like a Dex web directory (it has templates/password.html)"},
		{"missing dir", "frontend:\n  dir: /nonexistent/web\n", "config.yaml:5: frontend.dir: stat /nonexistent/web: no such file"},
		{"unknown language", "frontend:\n  defaultLanguage: tlh\n", `config.yaml:5: frontend.defaultLanguage: "tlh" has no catalog (torii has en, `},
		{"extra not strings", "frontend:\n  extra: [a]\n", "config.yaml:5: frontend.extra: must be a mapping"},
		{"unknown key", "frontend:\n  colour: red\n", `config.yaml:5: frontend.colour: unknown key "colour"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, minimal+tc.yaml, nil)
			got := problems(err)
			if len(got) != 1 || !strings.HasPrefix(got[0], tc.want) {
				t.Fatalf("problems %q, want one starting %q", got, tc.want)
			}
		})
	}
}
