package main

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/torii-idp/torii/internal/testca"
)

func caPEM(t *testing.T) []byte { return testca.PEM(t, "cluster CA") }

// The base of every case: line 1 to 9; the kubeconfig block starts on line 10.
const kubeconfigBase = `issuer: https://id.example.com/dex
storage: {type: memory}
web: {http: 127.0.0.1:5556}
staticClients:
- id: kubectl
  public: true
- id: kubernetes
  secret: s
  redirectURIs: [http://localhost:8000, http://localhost:18000]
`

func TestKubeconfigBlock(t *testing.T) {
	ca := caPEM(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	notCA := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(notCA, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}}), 0o600); err != nil {
		t.Fatal(err)
	}
	indented := "      " + strings.ReplaceAll(strings.TrimSpace(string(ca)), "\n", "\n      ")
	c, err := parse(t, kubeconfigBase+`kubeconfig:
  clientID: kubectl
  clusters:
  - name: prod
    server: https://k8s.example.com:6443
    certificateAuthorityData: `+base64.StdEncoding.EncodeToString(ca)+`
  - name: staging
    server: https://staging.example.com
    certificateAuthority: `+caFile+`
  - name: pasted
    server: https://pasted.example.com
    certificateAuthorityData: |
`+indented+`
  - name: public-ca
    server: https://eks.example.com
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := c.Kubeconfig
	if k == nil || k.ClientID != "kubectl" || len(k.Clusters) != 4 {
		t.Fatalf("decoded %+v", k)
	}
	for i, want := range [][]byte{ca, ca, ca, nil} {
		if got := k.Clusters[i].CertificateAuthority; !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
			t.Errorf("cluster %d: CA %q", i, got)
		}
	}
	if sc := c.serverConfig(nil, nil, nil); sc.Kubeconfig != k {
		t.Errorf("the server config lost the block")
	}
	if s := c.summary(); !strings.Contains(s, "kubeconfig: prod, staging, pasted, public-ca (client kubectl)") {
		t.Errorf("summary:\n%s", s)
	}

	// A confidential client with kubelogin's redirect URIs will do too.
	if _, err := parse(t, kubeconfigBase+"kubeconfig:\n  clientID: kubernetes\n  clusters: [{name: a, server: 'https://a.example.com'}]\n", nil); err != nil {
		t.Errorf("confidential client: %v", err)
	}

	for _, tc := range []struct {
		name, block string
		want        []string
	}{
		{"unknown key", "kubeconfig:\n  clientID: kubectl\n  cluster: []\n",
			[]string{"config.yaml:12: kubeconfig.cluster: unknown key", "config.yaml:10: kubeconfig: clusters must list at least one cluster"}},
		{"unknown cluster key", "kubeconfig:\n  clientID: kubectl\n  clusters:\n  - name: a\n    server: https://a.example.com\n    insecure-skip-tls-verify: true\n",
			[]string{`config.yaml:15: kubeconfig.clusters[0].insecure-skip-tls-verify: unknown key`}},
		{"no client", "kubeconfig:\n  clusters: [{name: a, server: 'https://a.example.com'}]\n",
			[]string{"config.yaml:10: kubeconfig: clientID is required"}},
		{"unknown client", "kubeconfig:\n  clientID: nobody\n  clusters: [{name: a, server: 'https://a.example.com'}]\n",
			[]string{`config.yaml:11: kubeconfig.clientID: "nobody" is not a static client`}},
		{"http server", "kubeconfig:\n  clientID: kubectl\n  clusters:\n  - name: a\n    server: http://a.example.com\n",
			[]string{`config.yaml:14: kubeconfig.clusters[0].server: "http://a.example.com" must be an https URL`}},
		{"no server, no name", "kubeconfig:\n  clientID: kubectl\n  clusters:\n  - {}\n",
			[]string{"config.yaml:13: kubeconfig.clusters[0]: name is required", "config.yaml:13: kubeconfig.clusters[0]: server is required"}},
		{"duplicate", "kubeconfig:\n  clientID: kubectl\n  clusters:\n  - {name: a, server: 'https://a.example.com'}\n  - {name: a, server: 'https://b.example.com'}\n",
			[]string{`config.yaml:14: kubeconfig.clusters[1].name: "a" is already the name of kubeconfig.clusters[0]`}},
		{"bad name", "kubeconfig:\n  clientID: kubectl\n  clusters:\n  - name: a b\n    server: https://a.example.com\n",
			[]string{`config.yaml:13: kubeconfig.clusters[0].name: "a b" may only have letters`}},
		{"both CAs", "kubeconfig:\n  clientID: kubectl\n  clusters:\n  - name: a\n    server: https://a.example.com\n    certificateAuthority: " + caFile + "\n    certificateAuthorityData: " + base64.StdEncoding.EncodeToString(ca) + "\n",
			[]string{"config.yaml:15: kubeconfig.clusters[0].certificateAuthority: set either certificateAuthority (a PEM file) or certificateAuthorityData, not both"}},
		{"missing file", "kubeconfig:\n  clientID: kubectl\n  clusters:\n  - name: a\n    server: https://a.example.com\n    certificateAuthority: /nonexistent/ca.pem\n",
			[]string{"config.yaml:15: kubeconfig.clusters[0].certificateAuthority: open /nonexistent/ca.pem: no such file or directory"}},
		{"not base64", "kubeconfig:\n  clientID: kubectl\n  clusters:\n  - name: a\n    server: https://a.example.com\n    certificateAuthorityData: '***'\n",
			[]string{"config.yaml:15: kubeconfig.clusters[0].certificateAuthorityData: is neither base64"}},
		{"base64 of no certificate", "kubeconfig:\n  clientID: kubectl\n  clusters:\n  - name: a\n    server: https://a.example.com\n    certificateAuthorityData: aGVsbG8=\n",
			[]string{"config.yaml:15: kubeconfig.clusters[0].certificateAuthorityData: has no PEM certificate"}},
		{"file of no certificate", "kubeconfig:\n  clientID: kubectl\n  clusters:\n  - name: a\n    server: https://a.example.com\n    certificateAuthority: " + notCA + "\n",
			[]string{"config.yaml:15: kubeconfig.clusters[0].certificateAuthority: " + notCA + ` has a PEM block of type "EC PRIVATE KEY"`}},
		{"client without kubelogin's redirect", strings.Replace("kubeconfig:\n  clientID: kubectl\n  clusters: [{name: a, server: 'https://a.example.com'}]\n", "kubectl", "webapp", 1),
			[]string{`config.yaml:11: kubeconfig.clientID: client "webapp" does not accept kubelogin's redirect URI http://localhost:8000`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := kubeconfigBase
			if strings.Contains(tc.block, "webapp") {
				base = strings.Replace(base, "- id: kubernetes\n  secret: s\n  redirectURIs: [http://localhost:8000, http://localhost:18000]\n",
					"- id: webapp\n  secret: s\n  redirectURIs: [https://app.example.com/cb]\n", 1)
			}
			_, err := parse(t, base+tc.block, nil)
			got := strings.Join(problems(err), "\n")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("problems:\n%s\nlack %q", got, w)
				}
			}
		})
	}
}
