package interop

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfigBlock is torii's kubeconfig block.
type kubeconfigBlock struct {
	ClientID string               `yaml:"clientID"`
	Clusters []kubeconfigClusterY `yaml:"clusters"`
}

type kubeconfigClusterY struct {
	Name                 string `yaml:"name"`
	Server               string `yaml:"server"`
	CertificateAuthority string `yaml:"certificateAuthority,omitempty"`
}

// TestKubeconfigPage is the kubeconfig page end to end: a person logs in
// through the page, downloads their kubeconfig, and kubectl's own
// machinery (client-go: clientcmd and the exec credential plugin) runs the
// real kubelogin exactly as the file says; an API server whose
// authenticator is kube-apiserver's (deploy/kube-apiserver's
// configuration) must see the email and groups the page showed.
//
// Its own test (make interop runs it): go test -run TestKubeconfigPage .
func TestKubeconfigPage(t *testing.T) {
	s := newSuite(t, "torii", "kubelogin")
	t.Cleanup(func() { fmt.Print("\n" + s.summary()) })

	// The API server: kube-apiserver's OIDC authenticator behind the one
	// endpoint `kubectl auth whoami` calls, on a certificate of the
	// suite's CA (which the kubeconfig carries).
	c, dir := s.staticConfig(t, "kubeconfig")
	cfg := loadAuthenticationConfig(t, renderAuthenticationConfig(t, c.Issuer, s.ca.CAPEM))
	c.Sessions = &sessionsConfig{}
	api := newWhoamiServer(t, s.ca)
	c.Kubeconfig = &kubeconfigBlock{ClientID: kubectlClientID, Clusters: []kubeconfigClusterY{
		{Name: "test-cluster", Server: api.URL, CertificateAuthority: s.ca.CAFile},
		{Name: "public", Server: "https://k8s.example.com:6443"},
	}}
	if err := s.checkConfig(t, c, dir); err != nil {
		t.Fatalf("check-config refuses the kubeconfig block: %v", err)
	}
	tp := s.startTorii(t, "kubeconfig", c, dir)
	api.authn = newAPIServerAuthn(t, cfg.JWT[0], s.ca.CAPEM)
	jane := staticJane()

	s.scenario(t, "off-404", func(t *testing.T) {
		// Another torii without the block: a 404 page that says why.
		c2, dir2 := s.staticConfig(t, "kubeconfig-off")
		off := s.startTorii(t, "kubeconfig-off", c2, dir2)
		p, err := newBrowser(s.ca).get(off.Issuer + "/kubeconfig")
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != http.StatusNotFound || !strings.Contains(p.Body, "no Kubernetes clusters set up") {
			t.Fatalf("without a kubeconfig block: %s", p)
		}
	})

	b := newBrowser(s.ca)
	var shown kubeconfigShown
	var file []byte
	s.scenario(t, "page", func(t *testing.T) {
		// Not logged in: the page sends the browser to log in, and back.
		p, err := b.login(tp.Issuer+"/kubeconfig", "local", jane)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != http.StatusOK || p.URL.Path != "/dex/kubeconfig" {
			t.Fatalf("after the login: %s", p)
		}
		shown = parseKubeconfigPage(t, p.Body)
		if shown.Email != jane.Email || !slices.Equal(shown.Groups, jane.Groups) {
			t.Errorf("the page shows %q %q, want %q %q", shown.Email, shown.Groups, jane.Email, jane.Groups)
		}
		if len(shown.Downloads) != 2 || len(shown.YAML) != 2 {
			t.Fatalf("downloads %q, files %d; want one of each per cluster", shown.Downloads, len(shown.YAML))
		}
		u, err := p.URL.Parse(shown.Downloads[0])
		if err != nil {
			t.Fatal(err)
		}
		d, err := b.get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != http.StatusOK || d.Header.Get("Content-Disposition") != `attachment; filename=kubeconfig-test-cluster.yaml` ||
			!strings.HasPrefix(d.Header.Get("Content-Type"), "application/yaml") {
			t.Fatalf("download: HTTP %d, headers %v", d.Status, d.Header)
		}
		if d.Body != shown.YAML[0] {
			t.Errorf("the download differs from the file on the page:\n%s\n---\n%s", d.Body, shown.YAML[0])
		}
		file = []byte(d.Body)
	})
	if file == nil {
		t.FailNow()
	}

	// What the person's machine has: kubelogin as the kubectl plugin
	// kubectl-oidc_login, a kubectl that dispatches to it as kubectl
	// does (kubectl oidc-login ARGS runs kubectl-oidc_login ARGS), a
	// browser (xdg-open, which kubelogin calls) that hands the URL to the
	// test's browser, and a home directory for kubelogin's token cache.
	bin, home := t.TempDir(), t.TempDir()
	urls := filepath.Join(t.TempDir(), "opened")
	writeScript(t, filepath.Join(bin, "kubectl"), `[ "$1" = oidc-login ] || { echo "kubectl (test): only the oidc-login plugin is installed" >&2; exit 1; }
shift
exec kubectl-oidc_login "$@"`)
	writeScript(t, filepath.Join(bin, "xdg-open"), `printf '%s\n' "$1" >> '`+urls+`'`)
	if err := os.Symlink(s.bin.kubelogin, filepath.Join(bin, "kubectl-oidc_login")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("HOME", home)
	t.Setenv("SSL_CERT_FILE", s.ca.CAFile)           // torii's certificate is from the suite's CA
	if _, set := os.LookupEnv("KUBECACHEDIR"); set { // kubelogin would cache there instead
		t.Setenv("KUBECACHEDIR", filepath.Join(home, ".kube", "cache"))
	}

	var kc *clientcmdapi.Config
	s.scenario(t, "file", func(t *testing.T) {
		var err error
		if kc, err = clientcmd.Load(file); err != nil {
			t.Fatalf("clientcmd refuses the file: %v\n%s", err, file)
		}
		if err := clientcmd.Validate(*kc); err != nil {
			t.Fatalf("clientcmd.Validate: %v", err)
		}
		u := kc.AuthInfos[kc.Contexts[kc.CurrentContext].AuthInfo]
		if u == nil || u.Exec == nil || u.Exec.Command != "kubectl" || len(u.Exec.Args) < 2 || u.Exec.Args[0] != "oidc-login" {
			t.Fatalf("the current context's user runs no kubelogin: %+v", u)
		}
		for _, want := range []string{"--oidc-issuer-url=" + tp.Issuer, "--oidc-client-id=" + kubectlClientID,
			"--oidc-extra-scope=email", "--oidc-extra-scope=groups"} {
			if !slices.Contains(u.Exec.Args, want) {
				t.Errorf("exec args %q lack %s", u.Exec.Args, want)
			}
		}
		if slices.ContainsFunc(u.Exec.Args, func(a string) bool { return strings.HasPrefix(a, "--oidc-client-secret") }) {
			t.Errorf("a public client's kubeconfig has a client secret: %q", u.Exec.Args)
		}
	})
	if kc == nil {
		t.FailNow()
	}

	s.scenario(t, "kubelogin-whoami", func(t *testing.T) {
		// The browser kubelogin opens is the one that logged in to the
		// page: torii's session is reused, no password asked.
		visited := make(chan error, 1)
		go func() { visited <- visitOpened(t.Context(), b, urls) }()
		rc, err := clientcmd.NewDefaultClientConfig(*kc, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		rev, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("kubectl auth whoami with the downloaded kubeconfig: %v\n--- torii log:\n%s", err, tail(tp.LogFile, 15))
		}
		if err := <-visited; err != nil {
			t.Fatalf("the browser kubelogin opened: %v", err)
		}
		got := rev.Status.UserInfo
		if got.Username != shown.Email || !slices.Equal(slices.Sorted(slices.Values(got.Groups)), slices.Sorted(slices.Values(prefixed("oidc:", shown.Groups)))) {
			t.Fatalf("the API server sees %q %q; the page showed %q %q (groups prefixed oidc: by deploy/kube-apiserver)",
				got.Username, got.Groups, shown.Email, shown.Groups)
		}
		t.Logf("kube-apiserver's authenticator sees %s in %v, as the page showed", got.Username, got.Groups)
	})

	s.scenario(t, "kubelogin-cache", func(t *testing.T) {
		// kubectl runs the plugin for every command: the file's exec
		// command, run again, answers from kubelogin's token cache
		// (under HOME) without opening a browser.
		u := kc.AuthInfos[kc.Contexts[kc.CurrentContext].AuthInfo]
		before, _ := os.ReadFile(urls)
		ec := s.runKubelogin(t, u.Exec.Args[1:]) // what kubectl oidc-login ARGS runs
		if after, _ := os.ReadFile(urls); len(after) != len(before) {
			t.Errorf("kubelogin opened a browser again instead of using its token cache")
		}
		if entries, _ := os.ReadDir(filepath.Join(home, ".kube", "cache", "oidc-login")); len(entries) == 0 {
			t.Errorf("kubelogin's token cache under HOME is empty")
		}
		wantUser(t, api.authn, ec.Status.Token, shown.Email, prefixed("oidc:", shown.Groups))
	})
}

// kubeconfigShown is what the page shows.
type kubeconfigShown struct {
	Email     string
	Groups    []string
	Downloads []string // the download links' hrefs
	YAML      []string // the files as shown
}

func parseKubeconfigPage(t *testing.T, body string) kubeconfigShown {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out kubeconfigShown
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			class := attr(n, "class")
			switch {
			case attr(n, "id") == "kubeconfig-email":
				out.Email = text(n)
			case n.Data == "code" && class == "group":
				out.Groups = append(out.Groups, text(n))
			case n.Data == "code" && class == "kubeconfig-yaml":
				out.YAML = append(out.YAML, text(n))
			case n.Data == "a" && strings.Contains(attr(n, "href"), "/kubeconfig/"):
				if _, ok := attrOK(n, "download"); ok {
					out.Downloads = append(out.Downloads, attr(n, "href"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// visitOpened waits for the first URL the xdg-open stand-in wrote and has
// the browser open it. torii must not ask for a password (the session is
// the page's) and must send the browser back to kubelogin's local server.
func visitOpened(ctx context.Context, b *browser, file string) error {
	var u string
	for u == "" {
		if data, err := os.ReadFile(file); err == nil {
			u, _, _ = strings.Cut(string(data), "\n")
		}
		if u != "" {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kubelogin opened no browser: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	p, err := b.get(u)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if _, err := passwordForm(p); err == nil {
		return fmt.Errorf("torii asked for a password again instead of reusing the session: %s", p)
	}
	if p.Status != http.StatusOK || (p.URL.Hostname() != "localhost" && p.URL.Hostname() != "127.0.0.1") {
		return fmt.Errorf("the browser did not end at kubelogin's local server: %s", p)
	}
	return nil
}

// whoamiServer is an API server's front door for `kubectl auth whoami`:
// POST .../selfsubjectreviews answers the user kube-apiserver's
// authenticator makes of the bearer token, 401 when it refuses it.
type whoamiServer struct {
	*httptest.Server
	authn *apiserverAuthn
}

func newWhoamiServer(t *testing.T, ca *testCA) *whoamiServer {
	t.Helper()
	w := &whoamiServer{}
	w.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/apis/authentication.k8s.io/v1/selfsubjectreviews" {
			http.NotFound(rw, r)
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var name string
		var groups []string
		var err error
		if ok && w.authn != nil {
			name, groups, err = w.authn.authenticate(r.Context(), tok)
		}
		if !ok || w.authn == nil || err != nil {
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(rw).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
				Status: metav1.StatusFailure, Reason: metav1.StatusReasonUnauthorized, Code: http.StatusUnauthorized, Message: fmt.Sprint("Unauthorized: ", err)})
			return
		}
		rev := authnv1.SelfSubjectReview{
			TypeMeta: metav1.TypeMeta{Kind: "SelfSubjectReview", APIVersion: "authentication.k8s.io/v1"},
			Status:   authnv1.SelfSubjectReviewStatus{UserInfo: authnv1.UserInfo{Username: name, Groups: groups}},
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusCreated)
		json.NewEncoder(rw).Encode(rev)
	}))
	w.Server.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Cert}, MinVersion: tls.VersionTLS12}
	w.Server.StartTLS()
	t.Cleanup(w.Server.Close)
	return w
}
