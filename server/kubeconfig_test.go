package server_test

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage/memory"
)

func withKubeconfig(clientID string, clusters ...server.KubeconfigCluster) envOption {
	return func(c *server.Config) {
		if len(clusters) == 0 {
			clusters = []server.KubeconfigCluster{{Name: "prod", Server: "https://k8s.example.com:6443"}}
		}
		c.Kubeconfig = &server.KubeconfigConfig{ClientID: clientID, Clusters: clusters}
	}
}

// loginAs logs the browser in to torii's pages from path as login and
// returns the page it lands on.
func (b *browser) loginAs(path, login, password string) page {
	b.e.t.Helper()
	auth := b.pageLoginStart(path)
	p := b.follow(auth.String())
	p = b.submitLogin(p, login, password)
	for i := 0; i < 10 && p.location != ""; i++ {
		p = b.get(p.location)
	}
	return p
}

var yamlBlockRe = regexp.MustCompile(`(?s)<code class="kubeconfig-yaml">(.*?)</code>`)

func TestKubeconfigPageOff(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, path := range []string{"/dex/kubeconfig", "/dex/kubeconfig/prod"} {
		p := b.get(path)
		// A 404 that says why, before any login: there is nothing to log
		// in for.
		if p.status != http.StatusNotFound || !strings.Contains(p.body, "no Kubernetes clusters set up") {
			t.Errorf("GET %s without a kubeconfig block: %d %q\n%s", path, p.status, p.location, p.body)
		}
	}
}

func TestKubeconfigPage(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []envOption
	}{
		{"sessions off", nil},
		{"sessions on", []envOption{withSessions()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, append(tc.opts, withKubeconfig(publicID,
				server.KubeconfigCluster{Name: "prod", Server: "https://k8s.example.com:6443"},
				server.KubeconfigCluster{Name: "staging", Server: "https://staging.example.com"}))...)
			b := e.browser()

			// The page and the download both need a login, even to learn
			// that a cluster does not exist.
			b.pageLoginStart("/dex/kubeconfig/prod")
			b.pageLoginStart("/dex/kubeconfig/nope")
			back := b.pageLogin("/dex/kubeconfig")
			if back != "/dex/kubeconfig" {
				t.Fatalf("the login returned to %q", back)
			}
			p := b.get(back)
			if p.status != http.StatusOK {
				t.Fatalf("kubeconfig page: %d %q", p.status, p.location)
			}
			if cc := p.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			for _, want := range []string{
				`<code id="kubeconfig-email">jane@example.com</code>`, `<code class="group">admins</code>`, `<code class="group">devs</code>`,
				`href="/dex/kubeconfig/prod" download`, `href="/dex/kubeconfig/staging" download`,
				"kubectl config set-credentials oidc@prod --exec-api-version=client.authentication.k8s.io/v1",
				"--exec-arg=--oidc-issuer-url=" + e.issuer, "kubectl config set-context staging --cluster=staging --user=oidc@staging",
				"Download kubeconfig-prod.yaml",
			} {
				if !strings.Contains(p.body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if strings.Contains(p.body, "kubeconfig-unverified") || strings.Contains(p.body, "kubeconfig-secret-note") {
				t.Errorf("a verified email and a public client, yet the page warns")
			}
			shown := yamlBlockRe.FindAllStringSubmatch(p.body, -1)
			if len(shown) != 2 {
				t.Fatalf("%d files on the page, want 2", len(shown))
			}

			d := b.get("/dex/kubeconfig/prod")
			if d.status != http.StatusOK {
				t.Fatalf("download: %d %q", d.status, d.location)
			}
			for h, want := range map[string]string{
				"Content-Type":        "application/yaml; charset=utf-8",
				"Content-Disposition": "attachment; filename=kubeconfig-prod.yaml",
				"Cache-Control":       "no-store",
			} {
				if got := d.header.Get(h); got != want {
					t.Errorf("download %s = %q, want %q", h, got, want)
				}
			}
			if got := html.UnescapeString(shown[0][1]); got != d.body {
				t.Errorf("the page's file differs from the download:\n%s\n---\n%s", got, d.body)
			}
			var f struct {
				CurrentContext string `yaml:"current-context"`
				Clusters       []struct {
					Cluster struct{ Server string } `yaml:"cluster"`
				} `yaml:"clusters"`
				Users []struct {
					User struct {
						Exec struct{ Args []string } `yaml:"exec"`
					} `yaml:"user"`
				} `yaml:"users"`
			}
			if err := yaml.Unmarshal([]byte(d.body), &f); err != nil {
				t.Fatal(err)
			}
			if f.CurrentContext != "prod" || f.Clusters[0].Cluster.Server != "https://k8s.example.com:6443" ||
				!strings.Contains(strings.Join(f.Users[0].User.Exec.Args, " "), "--oidc-client-id="+publicID) {
				t.Errorf("downloaded %+v", f)
			}

			unknown := b.get("/dex/kubeconfig/nope")
			if unknown.status != http.StatusNotFound || !strings.Contains(unknown.body, "no cluster named nope") {
				t.Errorf("unknown cluster: %d\n%s", unknown.status, unknown.body)
			}
		})
	}
}

// Whatever the directory holds, the page escapes it; a cluster name in the
// address is escaped on the 404 page.
func TestKubeconfigPageEscapes(t *testing.T) {
	e := newEnv(t, withKubeconfig(publicID))
	e.users.set("mallory@example.com", fakeUser{password: "pw", ident: connector.Identity{
		UserID: "m", Username: "M", Email: `mallory"<b>@example.com`, EmailVerified: false,
		Groups: []string{"<script>alert(1)</script>", `a"b`},
	}})
	b := e.browser()
	p := b.loginAs("/dex/kubeconfig", "mallory@example.com", "pw")
	if p.status != http.StatusOK {
		t.Fatalf("kubeconfig page: %d %q\n%s", p.status, p.location, p.body)
	}
	if strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, `"<b>`) {
		t.Errorf("claims reached the page unescaped:\n%s", p.body)
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "mallory&#34;&lt;b&gt;@example.com", `id="kubeconfig-unverified"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	nf := b.get("/dex/kubeconfig/%3Cb%3Ex")
	if nf.status != http.StatusNotFound || strings.Contains(nf.body, "<b>x") || !strings.Contains(nf.body, "&lt;b&gt;x") {
		t.Errorf("unknown cluster <b>x: %d\n%s", nf.status, nf.body)
	}
}

// A confidential client's secret is in the files (kubelogin needs it to
// redeem the code), and the page says so.
func TestKubeconfigConfidentialClient(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.Clients = append(c.Clients, server.Client{ID: "kubernetes", Secret: "k8s-secret", Name: "Kubernetes",
			RedirectURIs: []string{"http://localhost:8000", "http://localhost:18000"}})
	}, withKubeconfig("kubernetes"))
	b := e.browser()
	b.pageLogin("/dex/kubeconfig")
	p := b.get("/dex/kubeconfig")
	if !strings.Contains(p.body, "--exec-arg=--oidc-client-secret=k8s-secret") || !strings.Contains(p.body, `id="kubeconfig-secret-note"`) {
		t.Errorf("page of a confidential client:\n%s", p.body)
	}
	if d := b.get("/dex/kubeconfig/prod"); !strings.Contains(d.body, "- --oidc-client-secret=k8s-secret\n") {
		t.Errorf("download lacks the secret:\n%s", d.body)
	}
}

func TestKubeconfigConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		k    server.KubeconfigConfig
		want string
	}{
		{"unknown client", server.KubeconfigConfig{ClientID: "nobody", Clusters: []server.KubeconfigCluster{{Name: "a", Server: "https://a.example"}}}, `kubeconfig.clientID "nobody" is not a static client`},
		{"client without kubelogin's redirect", server.KubeconfigConfig{ClientID: confidentialID, Clusters: []server.KubeconfigCluster{{Name: "a", Server: "https://a.example"}}}, "does not accept kubelogin's redirect URI"},
		{"no clusters", server.KubeconfigConfig{ClientID: publicID}, "at least one cluster"},
		{"http", server.KubeconfigConfig{ClientID: publicID, Clusters: []server.KubeconfigCluster{{Name: "a", Server: "http://a.example"}}}, "must be an https URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.k
			_, err := server.New(context.Background(), server.Config{Issuer: "http://127.0.0.1:5556/dex", Storage: memory.New(),
				Clients:    []server.Client{{ID: publicID, Public: true}, {ID: confidentialID, Secret: "s", RedirectURIs: []string{webRedirect}}},
				Kubeconfig: &k})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("server.New: %v; want %q", err, tc.want)
			}
		})
	}
}

// A reload turns the page on, changes its clusters, and an invalid block
// is refused with the running one kept.
func TestKubeconfigReload(t *testing.T) {
	var cfg server.Config
	e := newEnv(t, withSessions(), func(c *server.Config) { cfg = *c })
	b := e.browser()
	if p := b.get("/dex/kubeconfig"); p.status != http.StatusNotFound {
		t.Fatalf("before: %d", p.status)
	}
	on := cfg
	withKubeconfig(publicID, server.KubeconfigCluster{Name: "blue", Server: "https://blue.example.com"})(&on)
	if err := e.torii.Reload(context.Background(), on); err != nil {
		t.Fatal(err)
	}
	b.pageLogin("/dex/kubeconfig")
	if p := b.get("/dex/kubeconfig"); p.status != http.StatusOK || !strings.Contains(p.body, "https://blue.example.com") {
		t.Fatalf("after the reload: %d", p.status)
	}
	bad := cfg
	withKubeconfig("nobody")(&bad)
	if err := e.torii.Reload(context.Background(), bad); err == nil || !strings.Contains(err.Error(), `"nobody" is not a static client`) {
		t.Fatalf("a block naming an unknown client: %v", err)
	}
	if p := b.get("/dex/kubeconfig/blue"); p.status != http.StatusOK {
		t.Errorf("the refused reload changed the page: %d", p.status)
	}
}
