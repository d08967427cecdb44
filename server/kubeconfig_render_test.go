package server

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/torii-idp/torii/internal/testca"

	"gopkg.in/yaml.v3"
)

func testCAPEM(t *testing.T) []byte { return testca.PEM(t, "cluster CA") }

func TestRenderKubeconfig(t *testing.T) {
	ca := testCAPEM(t)
	for _, tc := range []struct {
		name   string
		spec   kubeconfigSpec
		secret bool
	}{
		{"public client with CA", kubeconfigSpec{Issuer: "https://id.example.com/dex", ClientID: "kubectl",
			Cluster: KubeconfigCluster{Name: "prod", Server: "https://k8s.example.com:6443", CertificateAuthority: ca}}, false},
		{"confidential client, system roots", kubeconfigSpec{Issuer: "https://id.example.com", ClientID: "kubernetes", ClientSecret: "s3cr'et: #x",
			Cluster: KubeconfigCluster{Name: "dev.eu-1", Server: "https://dev.example.com"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := renderKubeconfig(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			// Read it back strictly, with the field names kubectl uses.
			var f struct {
				APIVersion string `yaml:"apiVersion"`
				Kind       string `yaml:"kind"`
				Clusters   []struct {
					Name    string `yaml:"name"`
					Cluster struct {
						Server string `yaml:"server"`
						CAData string `yaml:"certificate-authority-data"`
					} `yaml:"cluster"`
				} `yaml:"clusters"`
				Contexts []struct {
					Name    string                         `yaml:"name"`
					Context struct{ Cluster, User string } `yaml:"context"`
				} `yaml:"contexts"`
				CurrentContext string `yaml:"current-context"`
				Users          []struct {
					Name string `yaml:"name"`
					User struct {
						Exec struct {
							APIVersion      string   `yaml:"apiVersion"`
							Command         string   `yaml:"command"`
							Args            []string `yaml:"args"`
							InteractiveMode string   `yaml:"interactiveMode"`
						} `yaml:"exec"`
					} `yaml:"user"`
				} `yaml:"users"`
			}
			dec := yaml.NewDecoder(bytes.NewReader(out))
			dec.KnownFields(true)
			if err := dec.Decode(&f); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			c := tc.spec.Cluster
			if f.APIVersion != "v1" || f.Kind != "Config" || len(f.Clusters) != 1 || len(f.Contexts) != 1 || len(f.Users) != 1 {
				t.Fatalf("shape:\n%s", out)
			}
			if f.Clusters[0].Name != c.Name || f.Clusters[0].Cluster.Server != c.Server {
				t.Errorf("cluster %+v", f.Clusters[0])
			}
			if got, _ := base64.StdEncoding.DecodeString(f.Clusters[0].Cluster.CAData); !bytes.Equal(got, c.CertificateAuthority) {
				t.Errorf("certificate-authority-data decodes to %q, want the configured PEM", got)
			}
			user := "oidc@" + c.Name
			if f.CurrentContext != c.Name || f.Contexts[0].Name != c.Name || f.Contexts[0].Context.Cluster != c.Name || f.Contexts[0].Context.User != user || f.Users[0].Name != user {
				t.Errorf("names: current %q, context %+v, user %q", f.CurrentContext, f.Contexts[0], f.Users[0].Name)
			}
			ex := f.Users[0].User.Exec
			if ex.APIVersion != "client.authentication.k8s.io/v1" || ex.Command != "kubectl" || ex.InteractiveMode != "IfAvailable" {
				t.Errorf("exec %+v", ex)
			}
			want := []string{"oidc-login", "get-token", "--oidc-issuer-url=" + tc.spec.Issuer, "--oidc-client-id=" + tc.spec.ClientID}
			if tc.secret {
				want = append(want, "--oidc-client-secret="+tc.spec.ClientSecret)
			}
			want = append(want, "--oidc-extra-scope=email", "--oidc-extra-scope=profile", "--oidc-extra-scope=groups", "--oidc-extra-scope=offline_access")
			if !slices.Equal(ex.Args, want) {
				t.Errorf("exec args\n got %q\nwant %q", ex.Args, want)
			}
			if strings.Contains(string(out), "secret") != tc.secret {
				t.Errorf("secret (or a word about it) in the file: %v, want %v:\n%s", !tc.secret, tc.secret, out)
			}
			if !strings.HasPrefix(string(out), "# kubeconfig for cluster "+c.Name) {
				t.Errorf("no head comment:\n%s", out)
			}
		})
	}
}

// The commands survive a real shell: sh splits each back into exactly the
// words meant, whatever the secret holds.
func TestKubeconfigCommandsInAShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	s := kubeconfigSpec{Issuer: "https://id.example.com/dex", ClientID: "kube ctl", ClientSecret: `it's "$HOME" \ ; rm -rf / ` + "`x`",
		Cluster: KubeconfigCluster{Name: "prod", Server: "https://k8s.example.com"}}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{setCredentialsCommand(s), append([]string{"kubectl", "config", "set-credentials", "oidc@prod",
			"--exec-api-version=client.authentication.k8s.io/v1", "--exec-interactive-mode=IfAvailable", "--exec-command=kubectl"},
			prefixEach("--exec-arg=", s.execArgs())...)},
		{setContextCommand(s), []string{"kubectl", "config", "set-context", "prod", "--cluster=prod", "--user=oidc@prod"}},
	} {
		if strings.Contains(tc.line, "\n") {
			t.Errorf("not one line: %q", tc.line)
		}
		// printf prints each word the shell passes on its own line (a
		// NUL would be safer, but no word here has a newline).
		out, err := exec.Command(sh, "-c", `printf '%s\n' `+strings.TrimPrefix(tc.line, "kubectl ")).Output()
		if err != nil {
			t.Fatalf("%s: %v", tc.line, err)
		}
		got := append([]string{"kubectl"}, strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")...)
		if !slices.Equal(got, tc.want) {
			t.Errorf("sh split %q into\n %q\nwant %q", tc.line, got, tc.want)
		}
	}
	if got := shellQuote("--oidc-issuer-url=https://id.example.com/dex"); strings.Contains(got, "'") {
		t.Errorf("a plain URL argument was quoted: %s", got)
	}
}

func prefixEach(p string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = p + x
	}
	return out
}

func TestKubeconfigConfigValidate(t *testing.T) {
	ca := testCAPEM(t)
	clients := []Client{{ID: "kubectl", Public: true}, {ID: "kubernetes", Secret: "s"},
		{ID: "kubelogin", Secret: "s", RedirectURIs: []string{"http://localhost:8000", "http://localhost:18000"}},
		{ID: "webapp", Public: true, RedirectURIs: []string{"https://app.example.com/cb"}}}
	ok := func() *KubeconfigConfig {
		return &KubeconfigConfig{ClientID: "kubectl", Clusters: []KubeconfigCluster{{Name: "prod", Server: "https://k8s.example.com:6443", CertificateAuthority: ca}}}
	}
	if errs := ok().validate(clients); len(errs) != 0 {
		t.Fatalf("valid block refused: %v", errs)
	}
	conf := ok()
	conf.ClientID = "kubelogin"
	if errs := conf.validate(clients); len(errs) != 0 {
		t.Fatalf("a confidential client with kubelogin's redirect URIs refused: %v", errs)
	}
	var off *KubeconfigConfig
	if errs := off.validate(clients); len(errs) != 0 {
		t.Fatalf("no block: %v", errs)
	}
	for _, tc := range []struct {
		name string
		edit func(k *KubeconfigConfig)
		want string
	}{
		{"no client", func(k *KubeconfigConfig) { k.ClientID = "" }, "kubeconfig.clientID is required"},
		{"unknown client", func(k *KubeconfigConfig) { k.ClientID = "nobody" }, `"nobody" is not a static client`},
		{"confidential without kubelogin's redirect", func(k *KubeconfigConfig) { k.ClientID = "kubernetes" }, `client "kubernetes" does not accept kubelogin's redirect URI http://localhost:8000`},
		{"public with other redirects", func(k *KubeconfigConfig) { k.ClientID = "webapp" }, `client "webapp" does not accept`},
		{"no clusters", func(k *KubeconfigConfig) { k.Clusters = nil }, "at least one cluster"},
		{"http server", func(k *KubeconfigConfig) { k.Clusters[0].Server = "http://k8s.example.com" }, "clusters[0].server \"http://k8s.example.com\" must be an https URL"},
		{"server with query", func(k *KubeconfigConfig) { k.Clusters[0].Server = "https://k8s.example.com/?a=b" }, "must not have user info, a query or a fragment"},
		{"no server", func(k *KubeconfigConfig) { k.Clusters[0].Server = "" }, "clusters[0].server is required"},
		{"bad name", func(k *KubeconfigConfig) { k.Clusters[0].Name = "a/b" }, `clusters[0].name "a/b" may only have`},
		{"dash name", func(k *KubeconfigConfig) { k.Clusters[0].Name = "-x" }, "must start with"},
		{"duplicate", func(k *KubeconfigConfig) { k.Clusters = append(k.Clusters, k.Clusters[0]) }, `clusters[1].name "prod" is used twice`},
		{"not PEM", func(k *KubeconfigConfig) { k.Clusters[0].CertificateAuthority = []byte("hello") }, "has no PEM certificate"},
		{"a key", func(k *KubeconfigConfig) {
			k.Clusters[0].CertificateAuthority = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})
		}, `type "PRIVATE KEY"`},
		{"broken certificate", func(k *KubeconfigConfig) {
			k.Clusters[0].CertificateAuthority = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}})
		}, "certificate 1:"},
		{"trailing text", func(k *KubeconfigConfig) {
			k.Clusters[0].CertificateAuthority = append(append([]byte{}, ca...), "junk"...)
		}, "not a PEM block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := ok()
			tc.edit(k)
			var msgs []string
			for _, e := range k.validate(clients) {
				msgs = append(msgs, e.Error())
			}
			if !strings.Contains(strings.Join(msgs, "\n"), tc.want) {
				t.Errorf("errors %q lack %q", msgs, tc.want)
			}
		})
	}
}
