package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDeviceFlowAndLifetimesConfig(t *testing.T) {
	const y = `issuer: http://127.0.0.1:5556/dex
web:
  http: 127.0.0.1:5556
expiry:
  idTokens: 1h
  deviceRequests: 10m
oauth2:
  grantTypes: [authorization_code, refresh_token, "urn:ietf:params:oauth:grant-type:device_code"]
staticClients:
- id: kubectl
  public: true
  idTokenLifetime: 15m
  refreshTokenLifetime: 12h
  refreshTokenValidIfNotUsedFor: 2h
`
	c, err := parse(t, y, nil)
	if err != nil {
		t.Fatalf("config refused: %v", err)
	}
	if c.Expiry.DeviceRequests != 10*time.Minute || !slices.Contains(c.OAuth2.GrantTypes, "urn:ietf:params:oauth:grant-type:device_code") {
		t.Errorf("expiry %+v grantTypes %v", c.Expiry, c.OAuth2.GrantTypes)
	}
	cl := c.Clients[0]
	if cl.IDTokenLifetime != 15*time.Minute || cl.RefreshTokenLifetime != 12*time.Hour || cl.RefreshTokenValidIfNotUsedFor != 2*time.Hour {
		t.Errorf("client lifetimes: %+v", cl)
	}
	for _, tc := range []struct{ from, to, want string }{
		{"idTokenLifetime: 15m", "idTokenLifetime: 2h", "config.yaml:12: staticClients[0].idTokenLifetime: 2h0m0s is longer than expiry.idTokens (1h0m0s)"},
		{"refreshTokenLifetime: 12h", "refreshTokenLifetime: a day", `config.yaml:13: staticClients[0].refreshTokenLifetime: "a day" is not a duration`},
		{"deviceRequests: 10m", "deviceRequests: -1m", "config.yaml:6: expiry.deviceRequests: must not be negative"},
	} {
		_, err := parse(t, strings.Replace(y, tc.from, tc.to, 1), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v\nwant %s", tc.to, err, tc.want)
		}
	}
}
