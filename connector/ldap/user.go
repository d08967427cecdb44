package ldap

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/torii-idp/torii/connector"
)

// identity is a connector.Identity plus the entry's DN.
type identity struct {
	connector.Identity
	dn string
}

// userFilter is (&(filter)(username=value)), or with several username
// attributes (&(filter)(|(a=value)(b=value))); value is escaped (RFC 4515).
func (c *Connector) userFilter(username string) string {
	v := goldap.EscapeFilter(username)
	var match string
	if len(c.cfg.UserSearch.Username) == 1 {
		match = "(" + c.cfg.UserSearch.Username[0] + "=" + v + ")"
	} else {
		var b strings.Builder
		b.WriteString("(|")
		for _, a := range c.cfg.UserSearch.Username {
			b.WriteString("(" + a + "=" + v + ")")
		}
		b.WriteString(")")
		match = b.String()
	}
	if c.cfg.UserSearch.Filter == "" {
		return match
	}
	return "(&" + c.cfg.UserSearch.Filter + match + ")"
}

// userAttrs are the attributes a user search asks for.
func (c *Connector) userAttrs() []string {
	us := c.cfg.UserSearch
	want := []string{us.IDAttr, us.EmailAttr, us.NameAttr, us.PreferredUsernameAttr, us.GroupsAttr, "userAccountControl"}
	for _, m := range c.set.matchers {
		want = append(want, m.UserAttr)
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range want {
		if a == "" || isDN(a) || seen[strings.ToLower(a)] {
			continue
		}
		seen[strings.ToLower(a)] = true
		out = append(out, a)
	}
	if len(out) == 0 {
		out = []string{"1.1"} // RFC 4511 4.5.1.8: no attributes
	}
	return out
}

// findUser returns the one entry the login name maps to, or nil when there
// is none or more than one (logged, not shown).
func (c *Connector) findUser(s *session, username string) (*goldap.Entry, error) {
	filter := c.userFilter(username)
	req := goldap.NewSearchRequest(c.cfg.UserSearch.BaseDN, c.set.userScope, goldap.NeverDerefAliases,
		2, int(c.set.timeout.Seconds()), false, filter, c.userAttrs(), nil)
	res, err := s.search(req)
	if err != nil {
		if goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
			c.logger.WarnContext(s.ctx, "ldap: several entries match a login name (size limit)")
			c.logger.DebugContext(s.ctx, "ldap: several entries match the login name", "username", username, "filter", filter)
			return nil, nil
		}
		if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			c.logger.ErrorContext(s.ctx, "ldap: userSearch.baseDN does not exist", "baseDN", c.cfg.UserSearch.BaseDN)
		}
		return nil, fmt.Errorf("ldap: user search: %w", err)
	}
	switch len(res.Entries) {
	case 0:
		c.logger.DebugContext(s.ctx, "ldap: no entry matches the login name", "username", username, "filter", filter)
		return nil, nil
	case 1:
		return res.Entries[0], nil
	default:
		c.logger.WarnContext(s.ctx, "ldap: several entries match a login name", "count", len(res.Entries))
		c.logger.DebugContext(s.ctx, "ldap: several entries match the login name", "username", username, "filter", filter)
		return nil, nil
	}
}

func isDN(attr string) bool { return strings.EqualFold(attr, "DN") }

// attrValues returns an attribute's values as text; "DN" is the entry's DN.
// AD's binary objectGUID and objectSid become their usual string forms.
func attrValues(e *goldap.Entry, name string) []string {
	if isDN(name) {
		if a := findAttr(e, name); a == nil {
			return []string{e.DN}
		}
	}
	a := findAttr(e, name)
	if a == nil {
		return nil
	}
	out := make([]string, 0, len(a.ByteValues))
	for _, raw := range a.ByteValues {
		out = append(out, textValue(name, raw))
	}
	return out
}

func attrValue(e *goldap.Entry, name string) string {
	if v := attrValues(e, name); len(v) > 0 {
		return v[0]
	}
	return ""
}

func findAttr(e *goldap.Entry, name string) *goldap.EntryAttribute {
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

func textValue(name string, raw []byte) string {
	switch {
	case strings.EqualFold(name, "objectGUID") && len(raw) == 16:
		return guidString(raw)
	case strings.EqualFold(name, "objectSid") && len(raw) >= 8:
		if s, ok := sidString(raw); ok {
			return s
		}
	}
	if !utf8.Valid(raw) {
		// Other binary values: hex keeps them stable and printable.
		return hex.EncodeToString(raw)
	}
	return string(raw)
}

// guidString formats AD's objectGUID the way Windows shows it: the first
// three fields are stored little-endian, the last two as is.
func guidString(b []byte) string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16])
}

// sidString formats a binary security identifier as S-1-5-21-...: revision,
// sub-authority count, a 48-bit big-endian authority, then little-endian
// 32-bit sub-authorities.
func sidString(b []byte) (string, bool) {
	count := int(b[1])
	if len(b) != 8+4*count {
		return "", false
	}
	var auth uint64
	for _, x := range b[2:8] {
		auth = auth<<8 | uint64(x)
	}
	var s strings.Builder
	s.WriteString("S-" + strconv.Itoa(int(b[0])) + "-" + strconv.FormatUint(auth, 10))
	for i := 0; i < count; i++ {
		s.WriteString("-" + strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return s.String(), true
}

// identity maps an entry to claims. Missing attributes are an error, as in
// Dex; a missing email is shown to the person (connector.LoginError).
func (c *Connector) identity(e *goldap.Entry) (identity, error) {
	us := c.cfg.UserSearch
	id := identity{dn: e.DN}
	id.EmailVerified = true
	var missing []string
	if id.UserID = attrValue(e, us.IDAttr); id.UserID == "" {
		missing = append(missing, us.IDAttr)
	}
	if us.NameAttr != "" {
		if id.Username = attrValue(e, us.NameAttr); id.Username == "" {
			missing = append(missing, us.NameAttr)
		}
	}
	if us.PreferredUsernameAttr != "" {
		if id.PreferredUsername = attrValue(e, us.PreferredUsernameAttr); id.PreferredUsername == "" {
			missing = append(missing, us.PreferredUsernameAttr)
		}
	}
	if len(missing) > 0 {
		return identity{}, fmt.Errorf("ldap: entry %q has no %q attribute", e.DN, strings.Join(missing, `", "`))
	}
	switch {
	case us.EmailSuffix != "":
		// Dex builds the address from the name attribute's value.
		local := id.Username
		if local == "" {
			local = attrValue(e, us.IDAttr)
		}
		id.Email = local + "@" + us.EmailSuffix
	default:
		if id.Email = attrValue(e, us.EmailAttr); id.Email == "" {
			return identity{}, fmt.Errorf("ldap: user %q has no %q attribute: %w", e.DN, us.EmailAttr,
				&connector.LoginError{Message: "Your account has no email address; ask your administrator to add one.", Key: "connector.no_email"})
		}
	}
	return id, nil
}

// adDisabled reports Active Directory's ACCOUNTDISABLE flag
// (userAccountControl bit 0x2).
func adDisabled(e *goldap.Entry) bool {
	v := attrValue(e, "userAccountControl")
	if v == "" {
		return false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return err == nil && n&2 != 0
}
