package testslapd

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// Person is one fixture user (inetOrgPerson under PeopleDN).
type Person struct {
	UID  string
	CN   string
	Mail []string // empty: no mail attribute
	// SSHA stores the password as {SSHA}; otherwise it is stored in clear.
	SSHA bool
}

// DN is the person's entry DN.
func (p Person) DN() string { return "uid=" + p.UID + "," + PeopleDN }

// Password is the password of a fixture user.
func Password(uid string) string { return uid + "-password" }

// GroupDN is the DN of the fixture group with this cn.
func GroupDN(cn string) string { return "cn=" + cn + "," + GroupsDN }

// People are the fixture's users:
//   - jane: groupOfNames admins and developers, posixGroup unix-users
//   - john: developers and nest-a; nest-a is in nest-b, nest-b in nest-c,
//     nest-c in nest-a (a cycle)
//   - nomail: no mail attribute
//   - juergen (cn Jürgen Müller, in unix-users) and yamada (cn 山田太郎)
//   - twin1 and twin2 share the mail twins@example.org
var People = []Person{
	{UID: "jane", CN: "Jane Doe", Mail: []string{"jane@example.org"}, SSHA: true},
	{UID: "john", CN: "John Smith", Mail: []string{"john@example.org"}},
	{UID: "nomail", CN: "No Mail", SSHA: true},
	{UID: "juergen", CN: "Jürgen Müller", Mail: []string{"juergen@example.org"}, SSHA: true},
	{UID: "yamada", CN: "山田太郎", Mail: []string{"yamada@example.org"}},
	{UID: "twin1", CN: "Twin One", Mail: []string{"twins@example.org"}},
	{UID: "twin2", CN: "Twin Two", Mail: []string{"twins@example.org"}},
}

// groupOfNames groups: cn -> member DNs.
var namedGroups = []struct {
	cn      string
	members []string
}{
	{"admins", []string{"uid=jane," + PeopleDN}},
	{"developers", []string{"uid=jane," + PeopleDN, "uid=john," + PeopleDN}},
	{"nest-a", []string{"uid=john," + PeopleDN, GroupDN("nest-c")}},
	{"nest-b", []string{GroupDN("nest-a")}},
	{"nest-c", []string{GroupDN("nest-b")}},
}

// Fixture returns the LDIF of the default test directory.
func Fixture() string {
	var b strings.Builder
	entry := func(dn string, attrs ...string) {
		writeAttr(&b, "dn", dn)
		for i := 0; i+1 < len(attrs); i += 2 {
			writeAttr(&b, attrs[i], attrs[i+1])
		}
		b.WriteString("\n")
	}
	entry(BaseDN, "objectClass", "dcObject", "objectClass", "organization", "o", "Example", "dc", "example")
	entry(ReaderDN, "objectClass", "organizationalRole", "objectClass", "simpleSecurityObject",
		"cn", "reader", "userPassword", ReaderPassword)
	entry(PeopleDN, "objectClass", "organizationalUnit", "ou", "People")
	entry(GroupsDN, "objectClass", "organizationalUnit", "ou", "Groups")

	memberOf := map[string][]string{}
	for _, g := range namedGroups {
		for _, m := range g.members {
			memberOf[m] = append(memberOf[m], GroupDN(g.cn))
		}
	}
	for _, p := range People {
		attrs := []string{"objectClass", "inetOrgPerson", "uid", p.UID, "cn", p.CN,
			"sn", lastWord(p.CN), "userPassword", passwordValue(p)}
		for _, m := range p.Mail {
			attrs = append(attrs, "mail", m)
		}
		for _, g := range memberOf[p.DN()] {
			attrs = append(attrs, "memberOf", g)
		}
		entry(p.DN(), attrs...)
	}
	for _, g := range namedGroups {
		attrs := []string{"objectClass", "groupOfNames", "cn", g.cn}
		for _, m := range g.members {
			attrs = append(attrs, "member", m)
		}
		for _, pg := range memberOf[GroupDN(g.cn)] {
			attrs = append(attrs, "memberOf", pg)
		}
		entry(GroupDN(g.cn), attrs...)
	}
	entry(GroupDN("unix-users"), "objectClass", "posixGroup", "cn", "unix-users", "gidNumber", "5000",
		"memberUid", "jane", "memberUid", "juergen")
	return b.String()
}

func lastWord(s string) string {
	f := strings.Fields(s)
	return f[len(f)-1]
}

func passwordValue(p Person) string {
	pw := Password(p.UID)
	if !p.SSHA {
		return pw
	}
	salt := []byte("s4lt" + p.UID)
	sum := sha1.Sum(append([]byte(pw), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...))
}

// writeAttr writes one LDIF line, base64-encoding values that are not safe
// strings (RFC 2849), such as UTF-8 names.
func writeAttr(b *strings.Builder, name, value string) {
	safe := utf8.ValidString(value) && !strings.HasPrefix(value, " ") && !strings.HasPrefix(value, ":") &&
		!strings.HasPrefix(value, "<")
	for _, r := range value {
		if r >= 0x80 || r == '\n' || r == '\r' || r == 0 {
			safe = false
			break
		}
	}
	if safe {
		fmt.Fprintf(b, "%s: %s\n", name, value)
		return
	}
	fmt.Fprintf(b, "%s:: %s\n", name, base64.StdEncoding.EncodeToString([]byte(value)))
}

// Admin returns a connection bound as AdminDN over the plain port, closed
// when the test ends.
func (s *Server) Admin(t testing.TB) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL("ldap://" + s.LDAPAddr)
	if err != nil {
		t.Fatalf("testslapd: dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Bind(AdminDN, AdminPassword); err != nil {
		t.Fatalf("testslapd: admin bind: %v", err)
	}
	return c
}
