package server

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/torii-idp/torii/server/internal/redirecturi"
)

// KubeconfigConfig turns on the kubeconfig page (torii's kubeconfig
// block, docs/pages.md): after a login it offers each cluster a
// kubeconfig whose user runs kubelogin against this issuer.
type KubeconfigConfig struct {
	// ClientID is the static client kubelogin logs in as. The clusters'
	// API servers must accept its ID tokens (it is one of their
	// audiences). A public client is the usual choice; a confidential
	// client's secret is written into every kubeconfig, since kubelogin
	// cannot redeem a code without it.
	ClientID string
	Clusters []KubeconfigCluster
}

// KubeconfigCluster is one API server the page writes a kubeconfig for.
type KubeconfigCluster struct {
	// Name names the cluster, its context and its user in the kubeconfig,
	// and is part of the download's address and file name.
	Name string
	// Server is the API server's https URL.
	Server string
	// CertificateAuthority is the PEM of the CA that signed the API
	// server's certificate (certificateAuthorityData or the file of
	// certificateAuthority); nil when the system's roots verify it.
	CertificateAuthority []byte
}

// maxKubeconfigName bounds a cluster name (it appears in a URL path, a
// file name and a shell command).
const maxKubeconfigName = 63

// ValidKubeconfigClusterName reports why name cannot name a cluster: it
// must be 1 to 63 letters, digits, '-', '_' or '.', not starting with '.'
// or '-' (a file name and a command-line argument are made of it).
func ValidKubeconfigClusterName(name string) error {
	switch {
	case name == "":
		return errors.New("is required")
	case len(name) > maxKubeconfigName:
		return fmt.Errorf("%q is longer than %d characters", name, maxKubeconfigName)
	case name[0] == '.' || name[0] == '-':
		return fmt.Errorf("%q must start with a letter, a digit or _", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%q may only have letters, digits, '-', '_' and '.'", name)
		}
	}
	return nil
}

// ValidKubeconfigServer reports why s cannot be an API server's address
// in a kubeconfig: it must be an absolute https URL without user info,
// query or fragment (kubectl sends the ID token there).
func ValidKubeconfigServer(s string) error {
	if s == "" {
		return errors.New("is required (the API server's https URL, e.g. https://k8s.example.com:6443)")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL: %v", s, err)
	case u.Scheme != "https" || u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%q must be an https URL (kubectl sends the ID token to it)", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return fmt.Errorf("%q must not have user info, a query or a fragment", s)
	}
	return nil
}

// ParseCertificateAuthority checks that data is PEM holding only
// certificates, at least one, each of them readable.
func ParseCertificateAuthority(data []byte) error {
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			if n > 0 && len(bytes.TrimSpace(rest)) > 0 {
				return errors.New("has text that is not a PEM block")
			}
			break
		}
		if b.Type != "CERTIFICATE" {
			return fmt.Errorf("has a PEM block of type %q; only CERTIFICATE blocks belong in a certificate authority", b.Type)
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return fmt.Errorf("certificate %d: %v", n+1, err)
		}
		n++
	}
	if n == 0 {
		return errors.New("has no PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	return nil
}

// validate reports what is wrong with the block, given the static clients
// (the page writes a static client's secret, which torii knows only for
// those).
func (k *KubeconfigConfig) validate(clients []Client) []error {
	if k == nil {
		return nil
	}
	var errs []error
	if k.ClientID == "" {
		errs = append(errs, errors.New("kubeconfig.clientID is required (the client kubelogin logs in as, e.g. a public client kubectl)"))
	} else if i := slices.IndexFunc(clients, func(c Client) bool { return c.ID == k.ClientID }); i < 0 {
		errs = append(errs, fmt.Errorf("kubeconfig.clientID %q is not a static client (staticClients)", k.ClientID))
	} else if err := KubeconfigClientProblem(clients[i]); err != nil {
		errs = append(errs, fmt.Errorf("kubeconfig.clientID: %w", err))
	}
	if len(k.Clusters) == 0 {
		errs = append(errs, errors.New("kubeconfig.clusters must list at least one cluster"))
	}
	seen := map[string]bool{}
	for i, c := range k.Clusters {
		p := fmt.Sprintf("kubeconfig.clusters[%d]", i)
		if err := ValidKubeconfigClusterName(c.Name); err != nil {
			errs = append(errs, fmt.Errorf("%s.name %w", p, err))
		} else if seen[c.Name] {
			errs = append(errs, fmt.Errorf("%s.name %q is used twice", p, c.Name))
		}
		seen[c.Name] = true
		if err := ValidKubeconfigServer(c.Server); err != nil {
			errs = append(errs, fmt.Errorf("%s.server %w", p, err))
		}
		if c.CertificateAuthority != nil {
			if err := ParseCertificateAuthority(c.CertificateAuthority); err != nil {
				errs = append(errs, fmt.Errorf("%s certificate authority %w", p, err))
			}
		}
	}
	return errs
}

// kubeloginRedirectURI is where kubelogin's browser flow comes back by
// default: it listens on 127.0.0.1:8000 (18000 when that port is taken)
// and names the address localhost.
const kubeloginRedirectURI = "http://localhost:8000"

// KubeconfigClientProblem reports why kubelogin, run with the arguments
// the page writes (no --listen-address), cannot log in as client c.
func KubeconfigClientProblem(c Client) error {
	if !redirecturi.Match(c.RedirectURIs, kubeloginRedirectURI, c.Public) {
		return fmt.Errorf("client %q does not accept kubelogin's redirect URI %s: add http://localhost:8000 and http://localhost:18000 to its redirectURIs (a public client without redirectURIs accepts any localhost port)", c.ID, kubeloginRedirectURI)
	}
	return nil
}

// cluster returns the cluster named name.
func (k *KubeconfigConfig) cluster(name string) (KubeconfigCluster, bool) {
	i := slices.IndexFunc(k.Clusters, func(c KubeconfigCluster) bool { return c.Name == name })
	if i < 0 {
		return KubeconfigCluster{}, false
	}
	return k.Clusters[i], true
}
