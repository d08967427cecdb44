package main

import (
	"net"
	"net/netip"
	"strings"

	"gopkg.in/yaml.v3"
)

// GRPCConfig is Dex's grpc block: where the admin API (api.Dex) listens.
type GRPCConfig struct {
	// Addr is host:port, or unix:/path for a Unix socket.
	Addr          string
	TLSCert       string
	TLSKey        string
	TLSClientCA   string
	TLSMinVersion uint16
	TLSMaxVersion uint16
	Reflection    bool
}

func (c *Config) decodeGRPC(n *yaml.Node, path string) {
	d := c.d
	d.mapping(n, path, fields{
		"addr":        func(n *yaml.Node, p string) { c.GRPC.Addr = d.str(n, p) },
		"tlsCert":     func(n *yaml.Node, p string) { c.GRPC.TLSCert = d.str(n, p) },
		"tlsKey":      func(n *yaml.Node, p string) { c.GRPC.TLSKey = d.str(n, p) },
		"tlsClientCA": func(n *yaml.Node, p string) { c.GRPC.TLSClientCA = d.str(n, p) },
		"tlsMinVersion": func(n *yaml.Node, p string) {
			c.GRPC.TLSMinVersion = tlsVersion(d.oneOf(n, p, "1.2", "1.3"))
		},
		"tlsMaxVersion": func(n *yaml.Node, p string) {
			c.GRPC.TLSMaxVersion = tlsVersion(d.oneOf(n, p, "1.2", "1.3"))
		},
		"reflection": func(n *yaml.Node, p string) { c.GRPC.Reflection = d.boolean(n, p) },
	}, nil)
}

// unixSocket returns the socket path of a unix:/path address.
func unixSocket(addr string) (string, bool) { return strings.CutPrefix(addr, "unix:") }

// loopbackAddr reports whether host:port can only be reached from this
// machine (a loopback IP or localhost).
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// validateGRPC checks the grpc block. Without TLS the admin API, which can
// create clients and users, listens only where nobody else can reach it.
func (c *Config) validateGRPC() {
	d := c.d
	g := c.GRPC
	if g.Addr == "" {
		if g.TLSCert != "" || g.TLSKey != "" || g.TLSClientCA != "" || g.Reflection {
			d.at("grpc.addr", "is required when the grpc block is set (e.g. 127.0.0.1:5557)")
		}
		return
	}
	tlsOn := g.TLSCert != "" || g.TLSKey != ""
	if sock, ok := unixSocket(g.Addr); ok {
		if sock == "" {
			d.at("grpc.addr", "%q names no socket path (unix:/run/torii/admin.sock)", g.Addr)
		}
	} else if _, _, err := net.SplitHostPort(g.Addr); err != nil {
		d.at("grpc.addr", "%q is not a host:port address or unix:/path", g.Addr)
	} else if !tlsOn && !loopbackAddr(g.Addr) {
		d.at("grpc.addr", "%q is reachable from other machines: without grpc.tlsCert and grpc.tlsKey the admin API listens only on a loopback address (127.0.0.1:5557) or a Unix socket (unix:/path)", g.Addr)
	}
	for _, other := range []struct{ path, addr string }{{"web.http", c.Web.HTTP}, {"web.https", c.Web.HTTPS}, {"telemetry.http", c.Telemetry.HTTP}} {
		if other.addr != "" && other.addr == g.Addr {
			d.at("grpc.addr", "%s is also %s", g.Addr, other.path)
		}
	}
	if tlsOn && g.TLSCert == "" {
		d.at("grpc.tlsCert", "is required with grpc.tlsKey")
	}
	if tlsOn && g.TLSKey == "" {
		d.at("grpc.tlsKey", "is required with grpc.tlsCert")
	}
	if g.TLSClientCA != "" && !tlsOn {
		d.at("grpc.tlsClientCA", "needs grpc.tlsCert and grpc.tlsKey (client certificates are checked over TLS)")
	}
	if g.TLSMinVersion != 0 && g.TLSMaxVersion != 0 && g.TLSMinVersion > g.TLSMaxVersion {
		d.at("grpc.tlsMinVersion", "is above grpc.tlsMaxVersion")
	}
}
