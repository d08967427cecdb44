package interop

import (
	"fmt"
	"testing"

	"github.com/torii-idp/torii/internal/testslapd"
)

// source is where the people come from: torii's static passwords or an
// LDAP directory (OpenLDAP slapd). Every client runs against each.
type source struct {
	Name        string // static-users, ldap
	Torii       *toriiProc
	ConnectorID string
	Who         person
	// Skip, when set, is why this source cannot run (every scenario on
	// it is skipped with this message).
	Skip string
	// Gateway is oauth2-proxy and torii behind one HTTPS port, as in
	// Kubeflow (GatewayErr if it did not start).
	Gateway    *gateway
	GatewayErr error
	// ProxyClientID and ProxyClientSecret are oauth2-proxy's client, when
	// not the suite's (the Kubeflow overlay's come from its Secret).
	ProxyClientID, ProxyClientSecret string
	// ProxyExtra is appended to oauth2-proxy's config file, ProxyName to
	// its directory and log names (several proxies on one torii).
	ProxyExtra, ProxyName string
}

// TestInterop starts the real torii binary and runs every client against
// it. It prints one line per client and scenario at the end.
func TestInterop(t *testing.T) {
	s := newSuite(t)
	t.Cleanup(func() { fmt.Print("\n" + s.summary()) })

	staticCfg, dir := s.staticConfig(t, "static")
	static := &source{Name: "static-users", ConnectorID: "local", Who: staticJane(),
		Torii: s.startTorii(t, "static", staticCfg, dir)}
	sources := []*source{static, s.ldapSource(t)}
	for _, src := range sources {
		if src.Skip == "" {
			src.Gateway, src.GatewayErr = s.startGateway(t, src)
		}
	}

	s.testKubeAPIServer(t, sources)
	s.testOAuth2Proxy(t, sources)
	s.testKubelogin(t, sources)
	s.testOpenIDClient(t, sources)
	s.testChromium(t, sources)
	s.testKubeflowOverlay(t)
	s.testSessionsLogout(t)
}

// ldapJane is the fixture's jane (internal/testslapd): in the groupOfNames
// admins and developers.
func ldapJane() person {
	return person{
		Login: "jane", Password: testslapd.Password("jane"), Email: "jane@example.org",
		PreferredUsername: "jane", Groups: []string{"admins", "developers"},
	}
}

// ldapSource starts slapd with the fixture directory and a torii whose only
// connector is ldap (also the password grant's connector). Until torii
// accepts the ldap connector, the source is marked skipped.
func (s *suite) ldapSource(t *testing.T) *source {
	src := &source{Name: "ldap", ConnectorID: "ldap", Who: ldapJane()}
	if !testslapd.Available() {
		src.Skip = "slapd not installed (apt-get install slapd ldap-utils)"
		return src
	}
	slapd := testslapd.Start(t)
	c, dir := s.newToriiConfig(t, "ldap")
	c.OAuth2.PasswordConnector = "ldap"
	c.Connectors = []connectorConfig{ldapConnector(slapd.LDAPSAddr, slapd.CAFile)}
	if err := s.checkConfig(t, c, dir); err != nil {
		src.Skip = fmt.Sprintf("torii check-config does not accept the ldap connector yet: %v", err)
		return src
	}
	src.Torii = s.startTorii(t, "ldap", c, dir)
	return src
}

// ldapConnector is the connector block documented in README.md ("Works with").
func ldapConnector(hostPort, caFile string) connectorConfig {
	return connectorConfig{
		Type: "ldap", ID: "ldap", Name: "LDAP",
		Config: map[string]any{
			"host":           hostPort,
			"rootCA":         caFile,
			"bindDN":         testslapd.ReaderDN,
			"bindPW":         testslapd.ReaderPassword,
			"usernamePrompt": "Username",
			"userSearch": map[string]any{
				"baseDN":                testslapd.PeopleDN,
				"filter":                "(objectClass=inetOrgPerson)",
				"username":              "uid",
				"idAttr":                "uid",
				"emailAttr":             "mail",
				"nameAttr":              "cn",
				"preferredUsernameAttr": "uid",
			},
			"groupSearch": map[string]any{
				"baseDN":       testslapd.GroupsDN,
				"filter":       "(objectClass=groupOfNames)",
				"userMatchers": []map[string]string{{"userAttr": "DN", "groupAttr": "member"}},
				"nameAttr":     "cn",
			},
		},
	}
}

// forEachSource runs f as client/source for every source, skipping the
// sources that cannot run.
func (s *suite) forEachSource(t *testing.T, sources []*source, f func(t *testing.T, src *source)) {
	for _, src := range sources {
		t.Run(src.Name, func(t *testing.T) {
			if src.Skip != "" {
				s.scenario(t, "all", func(t *testing.T) { s.skip(t, "%s", src.Skip) })
				return
			}
			f(t, src)
		})
	}
}
