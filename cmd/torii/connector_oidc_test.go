package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOIDCConnectorConfig runs check-config's one validator (checkFile)
// on oidc connector blocks: the example loads, every problem names its
// line and key, and an unknown key is refused by name.
func TestOIDCConnectorConfig(t *testing.T) {
	t.Run("example", func(t *testing.T) {
		t.Setenv("OAUTH2_PROXY_CLIENT_SECRET", "x")
		t.Setenv("KEYCLOAK_CLIENT_SECRET", "x")
		t.Setenv("AZURE_TENANT_ID", "tenant")
		t.Setenv("AZURE_CLIENT_ID", "app")
		t.Setenv("AZURE_CLIENT_SECRET", "x")
		t.Setenv("LDAP_BIND_PASSWORD", "x")
		c, err := checkFile(context.Background(), filepath.Join("..", "..", "examples", "config.oidc.yaml"), serveFlags{})
		if err != nil {
			t.Fatal(err)
		}
		conns, err := c.openConnectors(context.Background(), discardLogger(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer closeConnectors(conns, discardLogger())
		if len(conns) != 3 || conns[0].Callback == nil || conns[0].Refresh == nil || conns[0].TokenIdentity == nil || conns[2].Password == nil {
			t.Fatalf("connectors %+v", conns)
		}
	})
	cases := []struct {
		name, block string
		want        []string // "LINE: PATH: text"
	}{
		{"unknown key", "    issuer: https://op.example\n    clientID: torii\n    clientSecrett: x\n",
			[]string{":11: connectors[0].config: clientSecrett: unknown key"}},
		{"nested unknown key", "    issuer: https://op.example\n    clientID: torii\n    claimMapping:\n      mail: x\n",
			[]string{":12: connectors[0].config: claimMapping.mail: unknown key"}},
		{"every problem with its line", "    issuer: op.example\n    clientID: torii\n    redirectURI: https://elsewhere.example/callback\n    pkceChallenge: S512\n",
			[]string{":9: connectors[0].config: issuer:", ":11: connectors[0].config: redirectURI:", ":12: connectors[0].config: pkceChallenge:"}},
		{"allowedGroups without groups", "    issuer: https://op.example\n    clientID: torii\n    allowedGroups: [admins]\n",
			[]string{":11: connectors[0].config: allowedGroups: needs insecureEnableGroups"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			data := "issuer: https://torii.example/dex\nstorage: {type: memory}\nweb: {http: 127.0.0.1:5556}\nconnectors:\n- type: oidc\n  id: corp\n  name: Corp\n  config:\n" + tc.block
			if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := checkFile(context.Background(), path, serveFlags{})
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, path+w) {
					t.Errorf("missing %q in:\n%s", w, msg)
				}
			}
		})
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
