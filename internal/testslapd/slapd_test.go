package testslapd

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestStartSearchBindTLS(t *testing.T) {
	s := Start(t)
	admin := s.Admin(t)
	res, err := admin.Search(ldap.NewSearchRequest(PeopleDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(uid=yamada)", []string{"cn", "memberOf"}, nil))
	if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("cn") != "山田太郎" {
		t.Fatalf("search yamada: %v %+v", err, res)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CAPEM)
	c, err := ldap.DialURL("ldaps://"+s.LDAPSAddr, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range People {
		if err := c.Bind(p.DN(), Password(p.UID)); err != nil {
			t.Errorf("bind %s: %v", p.UID, err)
		}
	}
	res, err = c.Search(ldap.NewSearchRequest(PeopleDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(uid=john)", []string{"memberOf"}, nil))
	if err != nil || len(res.Entries) != 1 || len(res.Entries[0].GetAttributeValues("memberOf")) != 2 {
		t.Fatalf("memberOf john: %v", err)
	}
	s.Stop()
	s.Restart()
	if err := s.Admin(t).Bind(ReaderDN, ReaderPassword); err != nil {
		t.Fatal(err)
	}
}
