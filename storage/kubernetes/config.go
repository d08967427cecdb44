package kubernetes

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultServiceAccountDir is where a pod finds its service account's
// token, CA bundle and namespace.
const DefaultServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// Config is Dex's storage.config for type kubernetes: exactly one of
// InCluster and KubeConfigFile.
type Config struct {
	// InCluster: the pod's service account (token, re-read when the
	// kubelet rotates it, and CA bundle from ServiceAccountDir), the API
	// server from KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, the
	// namespace from KUBERNETES_POD_NAMESPACE or the service account's.
	InCluster bool
	// KubeConfigFile is a kubeconfig; its current context is used.
	KubeConfigFile string

	// ServiceAccountDir replaces DefaultServiceAccountDir (tests).
	ServiceAccountDir string
	// LookupEnv reads the environment (main passes os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// Now is the clock of locks and leases (default time.Now).
	Now func() time.Time
	// Holder names this replica in locks (default: host name and a random suffix).
	Holder string
}

// Validate reports a config that names neither or both sources.
func (c Config) Validate() error {
	switch {
	case c.InCluster && c.KubeConfigFile != "":
		return errors.New("set either inCluster or kubeConfigFile, not both")
	case !c.InCluster && c.KubeConfigFile == "":
		return errors.New("set inCluster: true or kubeConfigFile")
	}
	return nil
}

// connection is where the API server is and how to talk to it.
type connection struct {
	client    *client
	namespace string
}

func (c Config) connect() (*connection, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.InCluster {
		return c.inCluster()
	}
	return loadKubeConfig(c.KubeConfigFile)
}

func (c Config) env(name string) string {
	if c.LookupEnv == nil {
		return ""
	}
	v, _ := c.LookupEnv(name)
	return v
}

func (c Config) inCluster() (*connection, error) {
	dir := c.ServiceAccountDir
	if dir == "" {
		dir = DefaultServiceAccountDir
	}
	host, port := c.env("KUBERNETES_SERVICE_HOST"), c.env("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("inCluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod?)")
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("inCluster: the service account's CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("inCluster: %s holds no PEM certificate", filepath.Join(dir, "ca.crt"))
	}
	tf := &tokenFile{path: filepath.Join(dir, "token"), now: c.Now}
	if _, err := tf.get(); err != nil {
		return nil, fmt.Errorf("inCluster: %w", err)
	}
	ns := c.env("KUBERNETES_POD_NAMESPACE")
	if ns == "" {
		b, err := os.ReadFile(filepath.Join(dir, "namespace"))
		if err != nil {
			return nil, fmt.Errorf("inCluster: KUBERNETES_POD_NAMESPACE is not set and the service account's namespace file: %w", err)
		}
		ns = strings.TrimSpace(string(b))
	}
	if ns == "" {
		return nil, errors.New("inCluster: the namespace is empty")
	}
	return &connection{
		client: &client{
			base:  "https://" + net.JoinHostPort(host, port),
			http:  newHTTPClient(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}),
			token: tf.get,
		},
		namespace: ns,
	}, nil
}

// tokenFile re-reads a projected service account token: the kubelet
// replaces it before it expires, so a cached copy would go stale.
type tokenFile struct {
	path string
	now  func() time.Time

	mu    sync.Mutex
	tok   string
	read  time.Time
	mtime time.Time
}

// tokenRecheck is how often the token file's modification time is checked.
const tokenRecheck = 10 * time.Second

func (t *tokenFile) get() (string, error) {
	now := time.Now()
	if t.now != nil {
		now = t.now()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != "" && now.Sub(t.read) < tokenRecheck && !now.Before(t.read) {
		return t.tok, nil
	}
	fi, err := os.Stat(t.path)
	if err != nil {
		return "", fmt.Errorf("the service account token: %w", err)
	}
	if t.tok != "" && fi.ModTime().Equal(t.mtime) {
		t.read = now
		return t.tok, nil
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return "", fmt.Errorf("the service account token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("the service account token %s is empty", t.path)
	}
	t.tok, t.read, t.mtime = tok, now, fi.ModTime()
	return tok, nil
}

// kubeConfig is the part of a kubeconfig file torii reads. Keys that
// change how torii would authenticate and that it does not implement are
// refused by name (see unsupportedKubeConfig); others are ignored as
// kubectl ignores what it does not know.
type kubeConfig struct {
	CurrentContext string `yaml:"current-context"`
	Clusters       []struct {
		Name    string         `yaml:"name"`
		Cluster map[string]any `yaml:"cluster"`
	} `yaml:"clusters"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster   string `yaml:"cluster"`
			User      string `yaml:"user"`
			Namespace string `yaml:"namespace"`
		} `yaml:"context"`
	} `yaml:"contexts"`
	Users []struct {
		Name string         `yaml:"name"`
		User map[string]any `yaml:"user"`
	} `yaml:"users"`
}

var (
	clusterKeys = map[string]string{
		"server": "", "certificate-authority": "", "certificate-authority-data": "", "tls-server-name": "", "extensions": "",
		"insecure-skip-tls-verify": "torii always verifies the API server's certificate",
		"proxy-url":                "torii reaches the API server directly",
		"disable-compression":      "",
	}
	userKeys = map[string]string{
		"client-certificate": "", "client-certificate-data": "", "client-key": "", "client-key-data": "",
		"token": "", "tokenFile": "", "extensions": "",
		"exec":          "exec credential plugins are not supported (use a token, tokenFile or client certificate)",
		"auth-provider": "auth-provider plugins are not supported (use a token, tokenFile or client certificate)",
		"username":      "basic authentication is not supported",
		"password":      "basic authentication is not supported",
		"as":            "impersonation is not supported",
		"as-uid":        "impersonation is not supported",
		"as-groups":     "impersonation is not supported",
		"as-user-extra": "impersonation is not supported",
	}
)

func loadKubeConfig(path string) (*connection, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kubeConfigFile: %w", err)
	}
	var kc kubeConfig
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return nil, fmt.Errorf("kubeConfigFile %s: %w", path, err)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("kubeConfigFile %s: %s", path, fmt.Sprintf(format, args...))
	}
	if kc.CurrentContext == "" {
		return nil, fail("no current-context")
	}
	var clusterName, userName, ns string
	found := false
	for _, c := range kc.Contexts {
		if c.Name == kc.CurrentContext {
			clusterName, userName, ns, found = c.Context.Cluster, c.Context.User, c.Context.Namespace, true
		}
	}
	if !found {
		return nil, fail("context %q (current-context) is not defined", kc.CurrentContext)
	}
	if ns == "" {
		ns = "default"
	}
	var cluster, user map[string]any
	for _, c := range kc.Clusters {
		if c.Name == clusterName {
			cluster = c.Cluster
		}
	}
	if cluster == nil {
		return nil, fail("cluster %q of context %q is not defined", clusterName, kc.CurrentContext)
	}
	for _, u := range kc.Users {
		if u.Name == userName {
			user = u.User
		}
	}
	if userName != "" && user == nil {
		return nil, fail("user %q of context %q is not defined", userName, kc.CurrentContext)
	}
	var problems []error
	check := func(what string, m map[string]any, keys map[string]string) {
		for k, v := range m {
			why, known := keys[k]
			switch {
			case !known:
				problems = append(problems, fail("%s.%s: unknown key", what, k))
			case why != "" && !isFalse(v):
				problems = append(problems, fail("%s.%s: %s", what, k, why))
			}
		}
	}
	check("clusters["+clusterName+"].cluster", cluster, clusterKeys)
	check("users["+userName+"].user", user, userKeys)
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	base := filepath.Dir(path)
	// material returns inline base64 data or a file's contents.
	material := func(m map[string]any, dataKey, fileKey string) ([]byte, error) {
		if d := str(m, dataKey); d != "" {
			b, err := base64.StdEncoding.DecodeString(d)
			if err != nil {
				return nil, fail("%s: %v", dataKey, err)
			}
			return b, nil
		}
		if f := str(m, fileKey); f != "" {
			if !filepath.IsAbs(f) {
				f = filepath.Join(base, f)
			}
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fail("%s: %v", fileKey, err)
			}
			return b, nil
		}
		return nil, nil
	}
	server := str(cluster, "server")
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fail("cluster %q: server %q is not an https:// URL", clusterName, server)
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: str(cluster, "tls-server-name")}
	ca, err := material(cluster, "certificate-authority-data", "certificate-authority")
	if err != nil {
		return nil, err
	}
	if ca != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fail("cluster %q: the certificate authority holds no PEM certificate", clusterName)
		}
		tlsConfig.RootCAs = pool
	}
	cert, err := material(user, "client-certificate-data", "client-certificate")
	if err != nil {
		return nil, err
	}
	key, err := material(user, "client-key-data", "client-key")
	if err != nil {
		return nil, err
	}
	switch {
	case cert != nil && key != nil:
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fail("user %q: client certificate: %v", userName, err)
		}
		tlsConfig.Certificates = []tls.Certificate{pair}
	case cert != nil || key != nil:
		return nil, fail("user %q: a client certificate needs both the certificate and the key", userName)
	}
	cl := &client{base: strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"), http: newHTTPClient(tlsConfig)}
	switch tok, tf := str(user, "token"), str(user, "tokenFile"); {
	case tok != "":
		cl.token = func() (string, error) { return tok, nil }
	case tf != "":
		if !filepath.IsAbs(tf) {
			tf = filepath.Join(base, tf)
		}
		t := &tokenFile{path: tf}
		if _, err := t.get(); err != nil {
			return nil, fail("user %q: %v", userName, err)
		}
		cl.token = t.get
	}
	return &connection{client: cl, namespace: ns}, nil
}

// isFalse: a refused key given as false (insecure-skip-tls-verify: false)
// or empty changes nothing.
func isFalse(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	}
	return false
}
