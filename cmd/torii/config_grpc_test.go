package main

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestGRPCConfig(t *testing.T) {
	minimal := "issuer: http://127.0.0.1:5556/dex\nweb:\n  http: 127.0.0.1:5556\n"
	tests := []struct {
		name string
		grpc string
		want []string
	}{
		{name: "loopback without TLS", grpc: "  addr: 127.0.0.1:5557\n"},
		{name: "localhost and IPv6 loopback", grpc: "  addr: '[::1]:5557'\n"},
		{name: "unix socket", grpc: "  addr: unix:/run/torii/admin.sock\n"},
		{name: "any address with mutual TLS", grpc: "  addr: 0.0.0.0:5557\n  tlsCert: /c\n  tlsKey: /k\n  tlsClientCA: /ca\n  tlsMinVersion: '1.3'\n  reflection: true\n"},
		{name: "all interfaces without TLS", grpc: "  addr: 0.0.0.0:5557\n",
			want: []string{`config.yaml:5: grpc.addr: "0.0.0.0:5557" is reachable from other machines: without grpc.tlsCert and grpc.tlsKey the admin API listens only on a loopback address (127.0.0.1:5557) or a Unix socket (unix:/path)`}},
		{name: "empty host without TLS", grpc: "  addr: :5557\n",
			want: []string{`config.yaml:5: grpc.addr: ":5557" is reachable from other machines`}},
		{name: "client CA without TLS", grpc: "  addr: 127.0.0.1:5557\n  tlsClientCA: /ca\n",
			want: []string{`config.yaml:6: grpc.tlsClientCA: needs grpc.tlsCert and grpc.tlsKey`}},
		{name: "cert without key", grpc: "  addr: 127.0.0.1:5557\n  tlsCert: /c\n",
			want: []string{`grpc.tlsKey: is required with grpc.tlsCert`}},
		{name: "bad address", grpc: "  addr: nonsense\n", want: []string{`grpc.addr: "nonsense" is not a host:port address or unix:/path`}},
		{name: "same address as web.http", grpc: "  addr: 127.0.0.1:5556\n", want: []string{`grpc.addr: 127.0.0.1:5556 is also web.http`}},
		{name: "TLS without addr", grpc: "  tlsCert: /c\n  tlsKey: /k\n", want: []string{`grpc.addr: is required when the grpc block is set`}},
		{name: "unknown key", grpc: "  addr: 127.0.0.1:5557\n  tlsClientCa: /ca\n", want: []string{`grpc.tlsClientCa: unknown key "tlsClientCa"`}},
		{name: "min above max", grpc: "  addr: 127.0.0.1:5557\n  tlsCert: /c\n  tlsKey: /k\n  tlsMinVersion: '1.3'\n  tlsMaxVersion: '1.2'\n",
			want: []string{`grpc.tlsMinVersion: is above grpc.tlsMaxVersion`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(t, minimal+"grpc:\n"+tt.grpc, nil)
			got := problems(err)
			if len(got) != len(tt.want) {
				t.Fatalf("problems %q, want %q", got, tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %q does not contain %q", got[i], w)
				}
			}
			if tt.name == "any address with mutual TLS" && (c.GRPC.TLSMinVersion != tls.VersionTLS13 || !c.GRPC.Reflection || c.GRPC.TLSClientCA != "/ca") {
				t.Errorf("decoded %+v", c.GRPC)
			}
		})
	}
}
