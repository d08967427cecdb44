package server

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// kubeconfigSpec is everything one cluster's kubeconfig is made of.
type kubeconfigSpec struct {
	Issuer   string
	ClientID string
	// ClientSecret is the confidential client's secret ("" for a public
	// client): kubelogin must send it to redeem the code, so the file
	// carries it.
	ClientSecret string
	Cluster      KubeconfigCluster
}

// The exec plugin kubectl runs: kubelogin as a kubectl plugin (krew's
// oidc-login, the binary kubectl-oidc_login), speaking the v1 ExecCredential
// protocol. IfAvailable lets it ask for a browser login when kubectl runs
// on a terminal and fail cleanly in scripts.
const (
	execAPIVersion      = "client.authentication.k8s.io/v1"
	execCommand         = "kubectl"
	execInteractiveMode = "IfAvailable"
)

// kubeloginScopes are the scopes kubelogin asks for besides openid: email
// and groups for the API server's username and groups claims, profile for
// preferred_username (the classic --oidc-username-claim of
// deploy/kube-apiserver/oidc-flags), offline_access for a refresh token,
// so that kubectl keeps working past the ID token's expiry without a new
// browser login.
func kubeloginScopes() []string { return []string{"email", "profile", "groups", "offline_access"} }

// userName is the kubeconfig user of the cluster. It is not the cluster's
// own name, so that set-credentials never merges into a user the person
// already has for that cluster (an admin certificate, say).
func (s kubeconfigSpec) userName() string { return "oidc@" + s.Cluster.Name }

// execArgs are the exec plugin's arguments, after execCommand.
func (s kubeconfigSpec) execArgs() []string {
	a := []string{"oidc-login", "get-token", "--oidc-issuer-url=" + s.Issuer, "--oidc-client-id=" + s.ClientID}
	if s.ClientSecret != "" {
		a = append(a, "--oidc-client-secret="+s.ClientSecret)
	}
	for _, sc := range kubeloginScopes() {
		a = append(a, "--oidc-extra-scope="+sc)
	}
	return a
}

// The kubeconfig file (clientcmd's v1 Config), only the fields torii sets.
type kubeconfigFile struct {
	APIVersion     string              `yaml:"apiVersion"`
	Kind           string              `yaml:"kind"`
	Clusters       []kubeconfigCluster `yaml:"clusters"`
	Contexts       []kubeconfigContext `yaml:"contexts"`
	CurrentContext string              `yaml:"current-context"`
	Users          []kubeconfigUser    `yaml:"users"`
}

type kubeconfigCluster struct {
	Name    string `yaml:"name"`
	Cluster struct {
		Server                   string `yaml:"server"`
		CertificateAuthorityData string `yaml:"certificate-authority-data,omitempty"`
	} `yaml:"cluster"`
}

type kubeconfigContext struct {
	Name    string `yaml:"name"`
	Context struct {
		Cluster string `yaml:"cluster"`
		User    string `yaml:"user"`
	} `yaml:"context"`
}

type kubeconfigUser struct {
	Name string `yaml:"name"`
	User struct {
		Exec kubeconfigExec `yaml:"exec"`
	} `yaml:"user"`
}

type kubeconfigExec struct {
	APIVersion      string   `yaml:"apiVersion"`
	Command         string   `yaml:"command"`
	Args            []string `yaml:"args"`
	InteractiveMode string   `yaml:"interactiveMode"`
}

// renderKubeconfig is the cluster's kubeconfig as YAML: one cluster, one
// user running kubelogin, one context joining them, made current.
func renderKubeconfig(s kubeconfigSpec) ([]byte, error) {
	name := s.Cluster.Name
	f := kubeconfigFile{APIVersion: "v1", Kind: "Config", CurrentContext: name}
	var cl kubeconfigCluster
	cl.Name = name
	cl.Cluster.Server = s.Cluster.Server
	if len(s.Cluster.CertificateAuthority) > 0 {
		cl.Cluster.CertificateAuthorityData = base64.StdEncoding.EncodeToString(s.Cluster.CertificateAuthority)
	}
	var ctx kubeconfigContext
	ctx.Name = name
	ctx.Context.Cluster, ctx.Context.User = name, s.userName()
	var u kubeconfigUser
	u.Name = s.userName()
	u.User.Exec = kubeconfigExec{APIVersion: execAPIVersion, Command: execCommand, Args: s.execArgs(), InteractiveMode: execInteractiveMode}
	f.Clusters, f.Contexts, f.Users = []kubeconfigCluster{cl}, []kubeconfigContext{ctx}, []kubeconfigUser{u}

	var doc yaml.Node
	if err := doc.Encode(f); err != nil {
		return nil, err
	}
	doc.HeadComment = fmt.Sprintf("kubeconfig for cluster %s, logging in through %s.\nIt runs kubelogin (kubectl oidc-login; install it with: kubectl krew install oidc-login).", name, s.Issuer)
	if s.ClientSecret != "" {
		doc.HeadComment += "\nIt holds the secret of the OAuth2 client " + s.ClientID + ": do not publish it."
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// setCredentialsCommand is the one kubectl command that adds the user to
// a kubeconfig the person already has.
func setCredentialsCommand(s kubeconfigSpec) string {
	words := []string{"kubectl", "config", "set-credentials", s.userName(),
		"--exec-api-version=" + execAPIVersion, "--exec-interactive-mode=" + execInteractiveMode,
		"--exec-command=" + execCommand}
	for _, a := range s.execArgs() {
		words = append(words, "--exec-arg="+a)
	}
	return shellJoin(words)
}

// setContextCommand points a context named after the cluster at that user
// (the cluster entry must exist already, as set-credentials assumes).
func setContextCommand(s kubeconfigSpec) string {
	return shellJoin([]string{"kubectl", "config", "set-context", s.Cluster.Name,
		"--cluster=" + s.Cluster.Name, "--user=" + s.userName()})
}

// shellJoin makes one POSIX shell command line of words: each is quoted
// unless it has only characters the shell leaves alone.
func shellJoin(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = shellQuote(w)
	}
	return strings.Join(q, " ")
}

func shellQuote(w string) string {
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}
