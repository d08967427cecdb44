package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/server"
)

// decodeKubeconfig reads torii's kubeconfig block (docs/pages.md, the
// kubeconfig page). A certificateAuthority file is read here, so that
// check-config, serve and every reload see the file as it is then.
func (c *Config) decodeKubeconfig(n *yaml.Node, path string) {
	d := c.d
	k := &server.KubeconfigConfig{}
	c.Kubeconfig = k
	d.mapping(n, path, fields{
		"clientID": func(n *yaml.Node, p string) { k.ClientID = d.str(n, p) },
		"clusters": func(n *yaml.Node, p string) {
			d.sequence(n, p, func(item *yaml.Node, p string, _ int) {
				k.Clusters = append(k.Clusters, c.decodeKubeconfigCluster(item, p))
			})
		},
	}, nil)
}

func (c *Config) decodeKubeconfigCluster(n *yaml.Node, path string) server.KubeconfigCluster {
	d := c.d
	var cl server.KubeconfigCluster
	var data, file string
	d.mapping(n, path, fields{
		"name":                     func(n *yaml.Node, p string) { cl.Name = d.str(n, p) },
		"server":                   func(n *yaml.Node, p string) { cl.Server = d.str(n, p) },
		"certificateAuthorityData": func(n *yaml.Node, p string) { data = d.str(n, p) },
		"certificateAuthority":     func(n *yaml.Node, p string) { file = d.str(n, p) },
	}, nil)
	dataPath, filePath := join(path, "certificateAuthorityData"), join(path, "certificateAuthority")
	_, hasData := d.lines[dataPath]
	_, hasFile := d.lines[filePath]
	switch {
	case hasData && hasFile:
		d.at(filePath, "set either certificateAuthority (a PEM file) or certificateAuthorityData, not both")
	case hasData:
		pemData, ok := caData(data)
		if !ok {
			d.at(dataPath, "is neither base64 (as a kubeconfig's certificate-authority-data) nor PEM")
			break
		}
		if err := server.ParseCertificateAuthority(pemData); err != nil {
			d.at(dataPath, "%v", err)
			break
		}
		cl.CertificateAuthority = pemData
	case hasFile:
		if file == "" {
			d.at(filePath, "is empty (a PEM file's path)")
			break
		}
		b, err := os.ReadFile(file)
		if err != nil {
			d.at(filePath, "%v", err)
			break
		}
		if err := server.ParseCertificateAuthority(b); err != nil {
			d.at(filePath, "%s %v", file, err)
			break
		}
		cl.CertificateAuthority = b
	}
	return cl
}

// caData is certificateAuthorityData as PEM: base64 of PEM, as kubeconfig
// files carry it, or the PEM itself pasted into the YAML.
func caData(s string) ([]byte, bool) {
	if b := []byte(s); bytes.Contains(b, []byte("-----BEGIN ")) {
		return b, true
	}
	b, err := base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields([]byte(s)), nil)))
	if err != nil || len(b) == 0 {
		return nil, false
	}
	return b, true
}

// validateKubeconfig checks the block against the clients: the page writes
// a static client's ID (and, when confidential, its secret).
func (c *Config) validateKubeconfig() {
	d := c.d
	k := c.Kubeconfig
	if k == nil {
		return
	}
	switch i := slices.IndexFunc(c.Clients, func(cl server.Client) bool { return cl.ID == k.ClientID }); {
	case k.ClientID == "":
		d.at("kubeconfig", "clientID is required (the static client kubelogin logs in as, e.g. a public client kubectl)")
	case i < 0:
		d.at("kubeconfig.clientID", "%q is not a static client (staticClients)", k.ClientID)
	default:
		if err := server.KubeconfigClientProblem(c.Clients[i]); err != nil {
			d.at("kubeconfig.clientID", "%v", err)
		}
	}
	if len(k.Clusters) == 0 {
		d.at("kubeconfig", "clusters must list at least one cluster (name, server)")
	}
	names := map[string]string{}
	for i, cl := range k.Clusters {
		p := index("kubeconfig.clusters", i)
		if err := server.ValidKubeconfigClusterName(cl.Name); err != nil {
			if _, set := d.lines[join(p, "name")]; set {
				d.at(join(p, "name"), "%v", err)
			} else {
				d.at(p, "name is required")
			}
		} else if first, dup := names[cl.Name]; dup {
			d.at(join(p, "name"), "%q is already the name of %s", cl.Name, first)
		} else {
			names[cl.Name] = p
		}
		if err := server.ValidKubeconfigServer(cl.Server); err != nil {
			if _, set := d.lines[join(p, "server")]; set {
				d.at(join(p, "server"), "%v", err)
			} else {
				d.at(p, "server %v", err)
			}
		}
	}
}
