package ldap

import (
	"context"
	"testing"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/internal/testslapd"
)

// BenchmarkLogin measures a full login (user search, user bind, rebind,
// group searches) against slapd, dialing per login as Dex does (pool 0)
// versus reusing pooled service-account connections.
func BenchmarkLogin(b *testing.B) {
	s := testslapd.Start(b)
	transports := []struct {
		name string
		mod  func(*Config)
	}{
		{"plain", func(*Config) {}},
		{"ldaps", func(c *Config) { c.Host, c.InsecureNoSSL, c.RootCAData = s.LDAPSAddr, false, s.CAPEM }},
	}
	for _, tr := range transports {
		for _, size := range []int{0, 4} {
			name := tr.name + "/pooled"
			if size == 0 {
				name = tr.name + "/dial-per-login"
			}
			b.Run(name, func(b *testing.B) {
				cfg := plainConfig(s)
				tr.mod(&cfg)
				cfg.PoolSize = &size
				c := open(b, cfg)
				ctx := context.Background()
				pw := testslapd.Password("jane")
				b.ResetTimer()
				for b.Loop() {
					if _, ok, err := c.Login(ctx, connector.Scopes{Groups: true}, "jane", pw); !ok || err != nil {
						b.Fatalf("Login = %v, %v", ok, err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
				b.ReportMetric(float64(c.stats.dials.Load())/float64(b.N), "dials/op")
			})
		}
	}
}
