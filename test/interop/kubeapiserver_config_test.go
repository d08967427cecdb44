package interop

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"k8s.io/apiserver/pkg/apis/apiserver"
)

// deployKubeAPIServer is deploy/kube-apiserver: the --authentication-config
// file and the classic --oidc-* flags the README shows for torii. The
// suite runs kube-apiserver's authenticator on exactly these, with only
// the issuer URL and the CA replaced by this run's.
func deployKubeAPIServer(name string) string {
	return filepath.Join("..", "..", "deploy", "kube-apiserver", name)
}

// placeholderIssuer is the issuer URL the deploy files are written for.
const placeholderIssuer = "https://auth.example.com/dex"

// renderAuthenticationConfig loads deploy/kube-apiserver/authentication-config.yaml
// and sets its one JWT issuer's url and certificateAuthority.
func renderAuthenticationConfig(t *testing.T, issuer string, caPEM []byte) string {
	t.Helper()
	data, err := os.ReadFile(deployKubeAPIServer("authentication-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	jwt := mapValue(doc.Content[0], "jwt")
	if jwt == nil || len(jwt.Content) != 1 {
		t.Fatalf("authentication-config.yaml: want one jwt authenticator")
	}
	iss := mapValue(jwt.Content[0], "issuer")
	url := mapValue(iss, "url")
	if url == nil || url.Value != placeholderIssuer {
		t.Fatalf("authentication-config.yaml: issuer.url is not %s", placeholderIssuer)
	}
	url.Value = issuer
	iss.Content = append(iss.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Value: "certificateAuthority"},
		&yaml.Node{Kind: yaml.ScalarNode, Value: string(caPEM), Style: yaml.LiteralStyle})
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// flagsAuthenticator reads deploy/kube-apiserver/oidc-flags and builds the
// JWTAuthenticator kube-apiserver builds from those flags
// (k8s.io/kubernetes/pkg/kubeapiserver/options: the client ID is the one
// audience; without --oidc-username-prefix a claim other than email is
// prefixed with the issuer URL and #, and "-" means no prefix). The issuer
// URL is this run's; the CA file is replaced by the suite's CA, which
// newAPIServerAuthn is given.
func flagsAuthenticator(t *testing.T, issuer string) apiserver.JWTAuthenticator {
	t.Helper()
	data, err := os.ReadFile(deployKubeAPIServer("oidc-flags"))
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]string{}
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(l, "--"), "=")
		if !ok || !strings.HasPrefix(l, "--oidc-") {
			t.Fatalf("oidc-flags: %q is not --oidc-NAME=VALUE", l)
		}
		flags[name] = value
	}
	for name := range flags {
		switch name {
		case "oidc-issuer-url", "oidc-client-id", "oidc-ca-file", "oidc-username-claim", "oidc-username-prefix",
			"oidc-groups-claim", "oidc-groups-prefix", "oidc-signing-algs":
		default:
			t.Fatalf("oidc-flags: --%s is not handled by this test", name)
		}
	}
	if flags["oidc-issuer-url"] != placeholderIssuer || flags["oidc-client-id"] == "" || flags["oidc-ca-file"] == "" {
		t.Fatalf("oidc-flags: want --oidc-issuer-url=%s, --oidc-client-id and --oidc-ca-file, got %v", placeholderIssuer, flags)
	}
	if algs := strings.Split(flags["oidc-signing-algs"], ","); !slices.Equal(algs, []string{"RS256", "ES256"}) {
		t.Fatalf("oidc-flags: --oidc-signing-algs %v; newAPIServerAuthn allows RS256,ES256", algs)
	}
	userClaim := flags["oidc-username-claim"]
	if userClaim == "" {
		userClaim = "sub"
	}
	userPrefix, set := flags["oidc-username-prefix"]
	if !set && userClaim != "email" {
		userPrefix = issuer + "#"
	}
	if userPrefix == "-" {
		userPrefix = ""
	}
	groupsPrefix := flags["oidc-groups-prefix"]
	return apiserver.JWTAuthenticator{
		Issuer: apiserver.Issuer{URL: issuer, Audiences: []string{flags["oidc-client-id"]}},
		ClaimMappings: apiserver.ClaimMappings{
			Username: apiserver.PrefixedClaimOrExpression{Claim: userClaim, Prefix: &userPrefix},
			Groups:   apiserver.PrefixedClaimOrExpression{Claim: flags["oidc-groups-claim"], Prefix: &groupsPrefix},
		},
	}
}
