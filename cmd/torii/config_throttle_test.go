package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/torii-idp/torii/server"
)

func TestThrottleConfig(t *testing.T) {
	base := "issuer: http://127.0.0.1:5556/dex\nweb:\n  http: 127.0.0.1:5556\n"
	c, err := parse(t, base+`throttle:
  window: 30m
  baseDelay: 2s
  maxDelay: 10m
  knownAddressFor: 168h
  failuresPerUserAndIP: 5
  failuresPerUser: 50
  failuresPerIP: 100
  errorsPerIP: 40
  pendingAuthRequestsPerIP: 5000
oauth2:
  pkce:
    codeChallengeMethodsSupported: [S256]
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := server.ThrottleConfig{Window: 30 * time.Minute, BaseDelay: 2 * time.Second, MaxDelay: 10 * time.Minute,
		KnownAddressFor: 168 * time.Hour, FailuresPerUserAndIP: 5, FailuresPerUser: 50, FailuresPerIP: 100, ErrorsPerIP: 40,
		PendingAuthRequestsPerIP: 5000}
	sc := c.serverConfig(nil, nil, nil)
	if sc.Throttle != want {
		t.Errorf("throttle = %+v, want %+v", sc.Throttle, want)
	}
	if !slices.Equal(sc.PKCEMethods, []string{"S256"}) {
		t.Errorf("PKCE methods %v", sc.PKCEMethods)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"throttle:\n  failuresPerUser: 0\n", "throttle.failuresPerUser: must be a positive number"},
		{"throttle:\n  window: -1s\n", "throttle.window: must be a positive duration"},
		{"throttle:\n  baseDelay: 1h\n  maxDelay: 1m\n", "throttle.baseDelay: is longer than maxDelay"},
		{"throttle:\n  maxFailures: 3\n", `unknown key "maxFailures"`},
		{"oauth2:\n  pkce:\n    codeChallengeMethodsSupported: [S512]\n", `unknown PKCE method "S512"`},
	} {
		_, err := parse(t, base+tc.yaml, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
