package interop

import (
	"encoding/base64"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kubeflowUser is the user Kubeflow's manifests ship (dex-passwords holds
// the bcrypt hash of 12341234).
func kubeflowUser() person {
	return person{Login: "user@example.com", Password: "12341234", Email: "user@example.com", PreferredUsername: "user"}
}

// kubeflowOverlay is what the suite takes from deploy/overlays/kubeflow,
// rendered with kustomize as `kubectl apply -k` would.
type kubeflowOverlay struct {
	Config []byte            // the dex ConfigMap's config.yaml
	Env    map[string]string // the Secrets the dex Deployment reads with envFrom
}

func renderKubeflowOverlay(t *testing.T) kubeflowOverlay {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// deploy/ in memory; until deploy/base/crds (the kubernetes storage
	// backend's) is in the tree, an empty stand-in lets the rest build.
	mem := filesys.MakeFsInMemory()
	err = filepath.WalkDir(filepath.Join(root, "deploy"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil {
			err = mem.WriteFile(p, b)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if crds := filepath.Join(root, "deploy", "base", "crds", "kustomization.yaml"); !mem.Exists(crds) {
		mem.WriteFile(crds, []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"))
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, filepath.Join(root, "deploy", "overlays", "kubeflow"))
	if err != nil {
		t.Fatalf("kustomize build deploy/overlays/kubeflow: %v", err)
	}
	out := kubeflowOverlay{Env: map[string]string{}}
	for _, r := range m.Resources() {
		if r.GetNamespace() != "auth" {
			continue
		}
		switch {
		case r.GetKind() == "ConfigMap" && r.GetName() == "dex":
			out.Config = []byte(r.GetDataMap()["config.yaml"])
		case r.GetKind() == "Secret" && (r.GetName() == "dex-oidc-client" || r.GetName() == "dex-passwords"):
			b, err := r.AsYAML()
			if err != nil {
				t.Fatal(err)
			}
			var sec struct {
				Data       map[string]string `yaml:"data"` // base64
				StringData map[string]string `yaml:"stringData"`
			}
			if err := yaml.Unmarshal(b, &sec); err != nil {
				t.Fatal(err)
			}
			for k, v := range sec.StringData {
				out.Env[k] = v
			}
			for k, v := range sec.Data {
				b, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					t.Fatalf("Secret %s: %s: %v", r.GetName(), k, err)
				}
				out.Env[k] = string(b)
			}
		}
	}
	if len(out.Config) == 0 || out.Env["OIDC_CLIENT_ID"] == "" || out.Env["DEX_USER_PASSWORD"] == "" {
		t.Fatalf("the overlay renders no dex config.yaml, OIDC client or user password (env keys %v)", len(out.Env))
	}
	return out
}

// testConfig is the overlay's config.yaml with only what a test machine
// needs changed: the issuer's host and port (Kubeflow's
// dex.auth.svc.cluster.local:5556 becomes a loopback port, path /dex kept),
// web.http to that port, and the storage: kubernetes needs an API server,
// which this suite does not run (the kubernetes storage backend has its
// own tests against one), so it is sqlite3. Each replaced value is checked
// first, so a change of the overlay fails here instead of being papered
// over.
func (k kubeflowOverlay) testConfig(t *testing.T, addr, dbFile string) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(k.Config, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	set := func(n *yaml.Node, want, value string) {
		t.Helper()
		if n == nil || n.Value != want {
			t.Fatalf("the overlay's config.yaml changed: want %q, have %v", want, n)
		}
		n.Value = value
	}
	set(mapValue(root, "issuer"), "http://dex.auth.svc.cluster.local:5556/dex", "http://"+addr+"/dex")
	set(mapValue(mapValue(root, "web"), "http"), "0.0.0.0:5556", addr)
	st := mapValue(root, "storage")
	set(mapValue(st, "type"), "kubernetes", "sqlite3")
	var sqlite yaml.Node
	if err := yaml.Unmarshal([]byte("file: "+dbFile+"\n"), &sqlite); err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(st.Content); i += 2 {
		if st.Content[i].Value == "config" {
			st.Content[i+1] = sqlite.Content[0]
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// testKubeflowOverlay runs torii on the config the Kubeflow overlay ships,
// with the Secrets' values as its environment, and oauth2-proxy as
// Kubeflow configures it (the client from dex-oidc-client) behind the
// gateway; Kubeflow's user logs in.
func (s *suite) testKubeflowOverlay(t *testing.T) {
	t.Run("kubeflow-overlay", func(t *testing.T) {
		s.scenario(t, "oauth2-proxy-browser-login", func(t *testing.T) {
			k := renderKubeflowOverlay(t)
			if err := bcrypt.CompareHashAndPassword([]byte(k.Env["DEX_USER_PASSWORD"]), []byte(kubeflowUser().Password)); err != nil {
				t.Fatalf("dex-passwords does not hold Kubeflow's default password: %v", err)
			}
			dir := filepath.Join(s.dir, "torii-kubeflow")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			addr := freePort(t)
			path := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(path, k.testConfig(t, addr, filepath.Join(dir, "torii.db")), 0o600); err != nil {
				t.Fatal(err)
			}
			var env []string
			for name, v := range k.Env {
				env = append(env, name+"="+v)
			}
			tp := s.startToriiFile(t, "kubeflow", path, dir, "http://"+addr+"/dex", env)
			src := &source{Name: "kubeflow", Torii: tp, ConnectorID: "local", Who: kubeflowUser(),
				ProxyClientID: k.Env["OIDC_CLIENT_ID"], ProxyClientSecret: k.Env["OIDC_CLIENT_SECRET"]}
			gw, err := s.startGateway(t, src)
			if err != nil {
				t.Fatal(err)
			}
			b := newBrowser(s.ca)
			p, err := b.login(gw.URL+"/oauth2/start?rd=/", src.ConnectorID, src.Who)
			if err != nil {
				t.Fatalf("login through the gateway: %v\n--- oauth2-proxy log:\n%s\n--- torii log:\n%s", err, tail(gw.ProxyLog, 10), tail(tp.LogFile, 20))
			}
			if p.Status != http.StatusOK || p.URL.Path != "/" || !strings.HasPrefix(p.URL.String(), gw.URL) {
				t.Fatalf("after login the browser is at %s, want %s/ with HTTP 200\n%s\n--- oauth2-proxy log:\n%s", p.URL, gw.URL, p, tail(gw.ProxyLog, 10))
			}
			auth, err := b.get(gw.URL + "/oauth2/auth")
			if err != nil {
				t.Fatal(err)
			}
			wantAuthHeaders(t, auth, src.Who)
		})
	})
}
