package ldap

import (
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// maxOrTerms bounds the size of one (|...) filter; bigger levels are sent
// as several queries.
const maxOrTerms = 200

// groupSet collects group names and the group DNs seen, once each.
type groupSet struct {
	names    []string
	seenName map[string]bool
	seenDN   map[string]bool
}

func newGroupSet() *groupSet {
	return &groupSet{seenName: map[string]bool{}, seenDN: map[string]bool{}}
}

func (g *groupSet) addName(n string) {
	if !g.seenName[n] {
		g.seenName[n] = true
		g.names = append(g.names, n)
	}
}

// markDN reports whether dn is new.
func (g *groupSet) markDN(dn string) bool {
	k := normDN(dn)
	if g.seenDN[k] {
		return false
	}
	g.seenDN[k] = true
	return true
}

func normDN(dn string) string {
	if d, err := goldap.ParseDN(dn); err == nil {
		return strings.ToLower(d.String())
	}
	return strings.ToLower(dn)
}

// groups returns the names of the user's groups: from groupsAttr (memberOf
// mode) and from the userMatchers searches, nested ones included.
func (c *Connector) groups(s *session, user *goldap.Entry) ([]string, error) {
	set := newGroupSet()
	if c.cfg.UserSearch.GroupsAttr != "" {
		if err := c.memberOfGroups(s, user, set); err != nil {
			return nil, err
		}
	}
	for _, m := range c.set.matchers {
		if err := c.matcherGroups(s, user, m, set); err != nil {
			return nil, err
		}
	}
	if set.names == nil {
		return []string{}, nil
	}
	// Directories return entries in no particular order; sorted claims keep
	// tokens stable.
	slices.Sort(set.names)
	return set.names, nil
}

// matcherGroups runs one query for the user's direct groups, then one query
// per nesting level for the groups that contain the groups found at the
// level before, until nothing new turns up or the depth bound is reached.
func (c *Connector) matcherGroups(s *session, user *goldap.Entry, m UserMatcher, set *groupSet) error {
	values := attrValues(user, m.UserAttr)
	if len(values) == 0 {
		return nil
	}
	level, err := c.searchGroups(s, m.GroupAttr, values, m, set)
	if err != nil {
		return err
	}
	if m.RecursionGroupAttr == "" {
		return nil
	}
	for depth := 1; len(level) > 0; depth++ {
		if depth > c.set.maxDepth {
			c.logger.WarnContext(s.ctx, "ldap: nested groups deeper than maxNestingDepth, stopping",
				"user", user.DN, "maxNestingDepth", c.set.maxDepth)
			return nil
		}
		var next []string
		for _, g := range level {
			next = append(next, attrValues(g, m.UserAttr)...)
		}
		if level, err = c.searchGroups(s, m.RecursionGroupAttr, next, m, set); err != nil {
			return err
		}
	}
	return nil
}

// searchGroups finds groups whose attr equals any of values, adds the new
// ones to set and returns them (entries already seen are dropped, which ends
// cycles).
func (c *Connector) searchGroups(s *session, attr string, values []string, m UserMatcher, set *groupSet) ([]*goldap.Entry, error) {
	gs := c.cfg.GroupSearch
	want := []string{gs.NameAttr}
	if m.RecursionGroupAttr != "" && !isDN(m.UserAttr) {
		want = append(want, m.UserAttr)
	}
	var found []*goldap.Entry
	for start := 0; start < len(values); start += maxOrTerms {
		chunk := values[start:min(start+maxOrTerms, len(values))]
		var b strings.Builder
		if len(chunk) > 1 {
			b.WriteString("(|")
		}
		for _, v := range chunk {
			b.WriteString("(" + attr + "=" + goldap.EscapeFilter(v) + ")")
		}
		if len(chunk) > 1 {
			b.WriteString(")")
		}
		filter := b.String()
		if gs.Filter != "" {
			filter = "(&" + gs.Filter + filter + ")"
		}
		req := goldap.NewSearchRequest(gs.BaseDN, c.set.groupScope, goldap.NeverDerefAliases,
			0, int(c.set.timeout.Seconds()), false, filter, want, nil)
		c.stats.groupSearches.Add(1)
		res, err := s.search(req)
		if err != nil {
			return nil, fmt.Errorf("ldap: group search %q: %w", filter, err)
		}
		for _, e := range res.Entries {
			if !set.markDN(e.DN) {
				continue
			}
			name := attrValue(e, gs.NameAttr)
			if name == "" {
				return nil, fmt.Errorf("ldap: group %q has no %q attribute", e.DN, gs.NameAttr)
			}
			set.addName(name)
			found = append(found, e)
		}
	}
	return found, nil
}

// memberOfGroups reads group DNs from the user's groupsAttr. A group's name
// is the value of the DN's first RDN when that RDN's type is
// groupSearch.nameAttr (or nameAttr is unset); otherwise, or when
// groupSearch.filter is set, the group entry is read.
func (c *Connector) memberOfGroups(s *session, user *goldap.Entry, set *groupSet) error {
	gs := c.cfg.GroupSearch
	var base *goldap.DN
	if gs.BaseDN != "" {
		var err error
		if base, err = goldap.ParseDN(gs.BaseDN); err != nil {
			return fmt.Errorf("ldap: groupSearch.baseDN: %w", err)
		}
	}
	for _, v := range attrValues(user, c.cfg.UserSearch.GroupsAttr) {
		dn, err := goldap.ParseDN(v)
		if err != nil || len(dn.RDNs) == 0 || len(dn.RDNs[0].Attributes) == 0 {
			c.logger.WarnContext(s.ctx, "ldap: ignoring a group value that is not a DN", "user", user.DN, "value", v)
			continue
		}
		if base != nil && !base.AncestorOfFold(dn) {
			continue
		}
		if !set.markDN(v) {
			continue
		}
		rdn := dn.RDNs[0].Attributes[0]
		if gs.Filter == "" && (gs.NameAttr == "" || strings.EqualFold(rdn.Type, gs.NameAttr)) {
			set.addName(rdn.Value)
			continue
		}
		name, ok, err := c.readGroupName(s, v, rdn.Value)
		if err != nil {
			return err
		}
		if ok {
			set.addName(name)
		}
	}
	return nil
}

// readGroupName reads one group entry (base scope, with groupSearch.filter);
// ok is false when the entry is gone or does not match the filter.
func (c *Connector) readGroupName(s *session, dn, rdnValue string) (string, bool, error) {
	gs := c.cfg.GroupSearch
	filter := gs.Filter
	if filter == "" {
		filter = "(objectClass=*)"
	}
	nameAttr := gs.NameAttr
	if nameAttr == "" {
		nameAttr = "1.1"
	}
	req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
		1, int(c.set.timeout.Seconds()), false, filter, []string{nameAttr}, nil)
	c.stats.groupSearches.Add(1)
	res, err := s.search(req)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("ldap: read group %q: %w", dn, err)
	}
	if len(res.Entries) == 0 {
		return "", false, nil
	}
	if gs.NameAttr == "" {
		return rdnValue, true, nil
	}
	name := attrValue(res.Entries[0], nameAttr)
	if name == "" {
		return "", false, fmt.Errorf("ldap: group %q has no %q attribute", dn, nameAttr)
	}
	return name, true, nil
}
