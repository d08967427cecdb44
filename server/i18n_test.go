package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/torii-idp/torii/server"
)

// The login pages follow ui_locales from the auth request through every
// step (the form, a failed login, the approval page), then Accept-Language.
func TestPagesLanguage(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.SkipApprovalScreen = false })
	conf := e.oauth2Config("email", "groups")
	getLang := func(b *browser, u, accept string) page {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, b.abs(u), nil)
		if accept != "" {
			req.Header.Set("Accept-Language", accept)
		}
		p := b.do(req)
		for i := 0; i < 10 && p.location != "" && b.internal(p.location); i++ {
			req, _ = http.NewRequest(http.MethodGet, b.abs(p.location), nil)
			if accept != "" {
				req.Header.Set("Accept-Language", accept)
			}
			p = b.do(req)
		}
		return p
	}

	t.Run("ui_locales", func(t *testing.T) {
		b := e.browser()
		p := getLang(b, conf.AuthCodeURL("st", oauth2Param("ui_locales", "ja-JP en")), "fr")
		for _, want := range []string{`<html lang="ja" dir="ltr"`, "パスワード", "にログイン", "メールアドレス"} {
			if !strings.Contains(p.body, want) {
				t.Fatalf("login page lacks %q:\n%s", want, p.body)
			}
		}
		if got := p.header.Get("Content-Language"); got != "ja" {
			t.Errorf("Content-Language %q", got)
		}
		bad := b.submitLogin(p, "jane@example.com", "wrong")
		if bad.status != http.StatusUnauthorized || !strings.Contains(bad.body, "ユーザー名またはパスワードが正しくありません。") {
			t.Fatalf("failed login not in Japanese: %d\n%s", bad.status, bad.body)
		}
		if !strings.Contains(bad.body, `aria-describedby="login-error"`) || !strings.Contains(bad.body, `aria-invalid="true"`) {
			t.Errorf("error not tied to the fields:\n%s", bad.body)
		}
		ok := b.submitLogin(bad, "jane@example.com", "correct horse")
		for i := 0; i < 5 && ok.location != "" && b.internal(ok.location); i++ {
			ok = b.get(ok.location)
		}
		if !strings.Contains(ok.body, "アクセスを許可") || !strings.Contains(ok.body, "メールアドレスを見る") {
			t.Fatalf("approval page not in Japanese: %d %q\n%s", ok.status, ok.location, ok.body)
		}
	})
	t.Run("accept-language", func(t *testing.T) {
		p := getLang(e.browser(), conf.AuthCodeURL("st"), "de-CH, fr;q=0.5")
		if !strings.Contains(p.body, `<html lang="de"`) || !strings.Contains(p.body, "Passwort") {
			t.Fatalf("not German:\n%s", p.body)
		}
	})
	t.Run("error pages", func(t *testing.T) {
		p := getLang(e.browser(), "/dex/auth?client_id=nobody&ui_locales=ko", "")
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "알 수 없는 애플리케이션") || !strings.Contains(p.body, "(nobody)") {
			t.Fatalf("unknown client page: %d\n%s", p.status, p.body)
		}
		p = getLang(e.browser(), "/dex/nothing-here", "es")
		if p.status != http.StatusNotFound || !strings.Contains(p.body, "No hay nada en esta dirección.") {
			t.Fatalf("not found page: %d\n%s", p.status, p.body)
		}
		p = getLang(e.browser(), "/dex/auth?client_id=a&client_id=b&ui_locales=zh-CN", "")
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "应用程序发送的登录请求无效。") || !strings.Contains(p.body, "<code>") {
			t.Fatalf("invalid request page: %d\n%s", p.status, p.body)
		}
	})
	t.Run("default language", func(t *testing.T) {
		e := newEnv(t, func(c *server.Config) { c.Web.DefaultLanguage = "fr" })
		p := getLang(e.browser(), e.oauth2Config().AuthCodeURL("st"), "sw")
		if !strings.Contains(p.body, `<html lang="fr"`) || !strings.Contains(p.body, "Mot de passe") {
			t.Fatalf("not French:\n%s", p.body)
		}
	})
}

// frontend.dir (the example theme), theme and extra reach the pages, and
// static files are served under the issuer path from the theme first.
func TestFrontendTheme(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.Web = server.WebConfig{Issuer: "Example Corp", Theme: "dark", Dir: "../examples/theme",
			Extra: map[string]string{"support_url": "https://help.example.com/", "support_name": "Help desk"}}
	})
	p := e.browser().follow(e.oauth2Config().AuthCodeURL("st"))
	for _, want := range []string{`data-theme="dark"`, `<meta name="color-scheme" content="dark">`, `href="/dex/static/example.css"`,
		`<a href="https://help.example.com/">Help desk</a>`, "Log in to Example Corp", `id="password"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("page lacks %q:\n%s", want, p.body)
		}
	}
	for path, want := range map[string]string{"/dex/static/example.css": "--accent: #0b6e4f", "/dex/static/main.css": "[data-theme=dark]"} {
		if p := e.browser().get(path); p.status != http.StatusOK || !strings.Contains(p.body, want) {
			t.Errorf("%s: %d %.80q", path, p.status, p.body)
		}
	}
}

// The issuer path answers with a home page naming the discovery document.
func TestHomePage(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/", nil)
	req.Header.Set("Accept-Language", "ko")
	p := e.browser().do(req)
	for _, want := range []string{`<html lang="ko"`, "로그인 서비스", e.issuer + "/.well-known/openid-configuration", `href="/dex/.well-known/openid-configuration"`} {
		if p.status != http.StatusOK || !strings.Contains(p.body, want) {
			t.Errorf("home page (%d) lacks %q:\n%s", p.status, want, p.body)
		}
	}
}
