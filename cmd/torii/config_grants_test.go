package main

import (
	"slices"
	"strings"
	"testing"
)

func TestClientCredentialsConfig(t *testing.T) {
	const y = `issuer: http://127.0.0.1:5556/dex
web:
  http: 127.0.0.1:5556
oauth2:
  grantTypes: [authorization_code, client_credentials]
staticClients:
- id: robot
  secret: robot-secret
  clientCredentialsClaims:
    groups: [robots, deployers]
`
	c, err := parse(t, y, nil)
	if err != nil {
		t.Fatalf("config refused: %v", err)
	}
	if !slices.Contains(c.OAuth2.GrantTypes, "client_credentials") {
		t.Errorf("grantTypes = %v", c.OAuth2.GrantTypes)
	}
	if len(c.Clients) != 1 || !slices.Equal(c.Clients[0].ClientCredentialsGroups, []string{"robots", "deployers"}) {
		t.Errorf("clients = %+v", c.Clients)
	}
	_, err = parse(t, strings.Replace(y, "    groups:", "    emails:", 1), nil)
	if err == nil || !strings.Contains(err.Error(), "emails") {
		t.Errorf("an unknown clientCredentialsClaims key was accepted: %v", err)
	}
}
