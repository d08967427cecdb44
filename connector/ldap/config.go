package ldap

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"gopkg.in/yaml.v3"
)

// Defaults for the torii extensions.
const (
	DefaultTimeout         = 10 * time.Second
	DefaultPoolSize        = 4
	DefaultMaxNestingDepth = 10
)

// Config is the LDAP connector's configuration. Every key of Dex's LDAP
// connector has the same name and meaning; hosts, timeout, poolSize,
// maxNestingDepth, userSearch.groupsAttr and a list for userSearch.username
// are torii extensions.
type Config struct {
	// Host is host[:port]; the port defaults to 636, or 389 with
	// insecureNoSSL or startTLS.
	Host string `json:"host" yaml:"host"`
	// Hosts are further servers tried in order when the ones before them
	// cannot be reached (torii).
	Hosts []string `json:"hosts" yaml:"hosts"`

	InsecureNoSSL      bool `json:"insecureNoSSL" yaml:"insecureNoSSL"`
	InsecureSkipVerify bool `json:"insecureSkipVerify" yaml:"insecureSkipVerify"`
	StartTLS           bool `json:"startTLS" yaml:"startTLS"`

	// RootCA is a PEM file of trusted CAs; RootCAData the same inline,
	// base64-encoded as in Dex (plain PEM text is accepted too).
	RootCA     string  `json:"rootCA" yaml:"rootCA"`
	RootCAData PEMData `json:"rootCAData" yaml:"rootCAData"`
	ClientCert string  `json:"clientCert" yaml:"clientCert"`
	ClientKey  string  `json:"clientKey" yaml:"clientKey"`

	// BindDN and BindPW are the service account; both empty means an
	// anonymous bind.
	BindDN string `json:"bindDN" yaml:"bindDN"`
	BindPW string `json:"bindPW" yaml:"bindPW"`

	UsernamePrompt string `json:"usernamePrompt" yaml:"usernamePrompt"`

	UserSearch  UserSearch  `json:"userSearch" yaml:"userSearch"`
	GroupSearch GroupSearch `json:"groupSearch" yaml:"groupSearch"`

	// Timeout bounds every dial and every operation, e.g. "5s" (torii,
	// default 10s).
	Timeout string `json:"timeout" yaml:"timeout"`
	// PoolSize is how many bound service-account connections are kept for
	// reuse (torii, default 4); 0 dials and binds for every login as Dex does.
	PoolSize *int `json:"poolSize" yaml:"poolSize"`
	// MaxNestingDepth bounds nested group resolution (torii, default 10).
	MaxNestingDepth int `json:"maxNestingDepth" yaml:"maxNestingDepth"`
}

// UserSearch maps a login name to a directory entry and the entry to claims.
type UserSearch struct {
	BaseDN string `json:"baseDN" yaml:"baseDN"`
	Filter string `json:"filter" yaml:"filter"`
	// Username is the attribute (or, torii, the list of attributes) that the
	// login name is compared with.
	Username Attrs  `json:"username" yaml:"username"`
	Scope    string `json:"scope" yaml:"scope"`

	IDAttr                string `json:"idAttr" yaml:"idAttr"`
	EmailAttr             string `json:"emailAttr" yaml:"emailAttr"`
	NameAttr              string `json:"nameAttr" yaml:"nameAttr"`
	PreferredUsernameAttr string `json:"preferredUsernameAttr" yaml:"preferredUsernameAttr"`
	EmailSuffix           string `json:"emailSuffix" yaml:"emailSuffix"`

	// GroupsAttr (torii) names a user attribute holding the DNs of the
	// person's groups, such as memberOf: groups are read from it instead of
	// (or besides) searching groupSearch.
	GroupsAttr string `json:"groupsAttr" yaml:"groupsAttr"`
}

// GroupSearch finds the groups of a user entry.
type GroupSearch struct {
	BaseDN       string        `json:"baseDN" yaml:"baseDN"`
	Filter       string        `json:"filter" yaml:"filter"`
	Scope        string        `json:"scope" yaml:"scope"`
	UserMatchers []UserMatcher `json:"userMatchers" yaml:"userMatchers"`
	NameAttr     string        `json:"nameAttr" yaml:"nameAttr"`

	// UserAttr and GroupAttr are Dex's older single-matcher form, used when
	// userMatchers is empty.
	UserAttr  string `json:"userAttr" yaml:"userAttr"`
	GroupAttr string `json:"groupAttr" yaml:"groupAttr"`
}

// UserMatcher matches groups whose GroupAttr holds the user's UserAttr value
// ("DN" means the entry's DN). With RecursionGroupAttr, groups whose
// RecursionGroupAttr holds a found group's value (its DN when UserAttr is DN)
// are added too, level by level.
type UserMatcher struct {
	UserAttr           string `json:"userAttr" yaml:"userAttr"`
	GroupAttr          string `json:"groupAttr" yaml:"groupAttr"`
	RecursionGroupAttr string `json:"recursionGroupAttr" yaml:"recursionGroupAttr"`
}

// Attrs is one attribute name or a list of them.
type Attrs []string

// UnmarshalYAML accepts a scalar or a sequence.
func (a *Attrs) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		var s string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*a = Attrs{s}
		return nil
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		*a = l
		return nil
	}
	return fmt.Errorf("line %d: want an attribute name or a list of them", n.Line)
}

// UnmarshalJSON accepts a string or an array of strings.
func (a *Attrs) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = Attrs{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return errors.New("want an attribute name or a list of them")
	}
	*a = l
	return nil
}

// PEMData is PEM text given either base64-encoded (Dex's rootCAData) or as
// is.
type PEMData []byte

// UnmarshalYAML accepts base64 (also !!binary) or PEM text.
func (p *PEMData) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	d, err := decodePEMData(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*p = d
	return nil
}

// UnmarshalJSON accepts base64 or PEM text.
func (p *PEMData) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := decodePEMData(s)
	if err != nil {
		return err
	}
	*p = d
	return nil
}

func decodePEMData(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		return []byte(s + "\n"), nil
	}
	compact := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	d, err := base64.StdEncoding.DecodeString(compact)
	if err != nil {
		return nil, errors.New("rootCAData: neither base64 nor PEM")
	}
	return d, nil
}

// settings are the checked, defaulted values derived from a Config.
type settings struct {
	addrs            []string // host:port, in failover order
	timeout          time.Duration
	poolSize         int
	maxDepth         int
	userScope        int
	groupScope       int
	matchers         []UserMatcher
	groupsConfigured bool
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	_, err := c.settings()
	return err
}

func (c Config) settings() (settings, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("ldap: "+format, a...)) }
	var s settings

	hosts := c.Hosts
	if c.Host != "" {
		hosts = append([]string{c.Host}, c.Hosts...)
	}
	if len(hosts) == 0 {
		bad("host is required")
	}
	defPort := "636"
	if c.InsecureNoSSL || c.StartTLS {
		defPort = "389"
	}
	for _, h := range hosts {
		addr, err := hostPort(h, defPort)
		if err != nil {
			bad("host %q: %v", h, err)
			continue
		}
		s.addrs = append(s.addrs, addr)
	}
	if c.InsecureNoSSL && c.StartTLS {
		bad("insecureNoSSL and startTLS exclude each other (Dex would silently connect without TLS)")
	}
	if c.InsecureNoSSL && (c.RootCA != "" || len(c.RootCAData) > 0 || c.ClientCert != "") {
		bad("rootCA, rootCAData and clientCert need TLS, but insecureNoSSL is set")
	}
	if (c.ClientCert == "") != (c.ClientKey == "") {
		bad("clientCert and clientKey go together")
	}
	if c.BindDN == "" && c.BindPW != "" {
		bad("bindPW is set without bindDN")
	}
	if c.BindDN != "" {
		if _, err := goldap.ParseDN(c.BindDN); err != nil {
			bad("bindDN %q: %v", c.BindDN, err)
		}
	}

	s.timeout = DefaultTimeout
	if c.Timeout != "" {
		d, err := time.ParseDuration(c.Timeout)
		if err != nil || d <= 0 {
			bad("timeout %q: want a positive duration such as 10s", c.Timeout)
		} else {
			s.timeout = d
		}
	}
	s.poolSize = DefaultPoolSize
	if c.PoolSize != nil {
		if *c.PoolSize < 0 {
			bad("poolSize must not be negative")
		}
		s.poolSize = *c.PoolSize
	}
	s.maxDepth = DefaultMaxNestingDepth
	if c.MaxNestingDepth < 0 {
		bad("maxNestingDepth must not be negative")
	} else if c.MaxNestingDepth > 0 {
		s.maxDepth = c.MaxNestingDepth
	}

	us := c.UserSearch
	if us.BaseDN == "" {
		bad("userSearch.baseDN is required")
	} else if _, err := goldap.ParseDN(us.BaseDN); err != nil {
		bad("userSearch.baseDN %q: %v", us.BaseDN, err)
	}
	checkFilter := func(key, f string) {
		if f == "" {
			return
		}
		if _, err := goldap.CompileFilter(f); err != nil {
			bad("%s %q is not an LDAP filter (RFC 4515, with parentheses): %v", key, f, err)
		}
	}
	checkFilter("userSearch.filter", us.Filter)
	var ok bool
	if s.userScope, ok = parseScope(us.Scope); !ok {
		bad("userSearch.scope %q: want sub or one", us.Scope)
	}
	checkAttrWith := func(valid func(string) bool) func(key, a string, required bool) {
		return func(key, a string, required bool) {
			switch {
			case a == "" && required:
				bad("%s is required", key)
			case a != "" && !valid(a):
				bad("%s %q is not an attribute name", key, a)
			}
		}
	}
	checkAttr := checkAttrWith(validAttr)
	// Attributes compared with a value may carry an extensible-match rule,
	// such as AD's member:1.2.840.113556.1.4.1941: for nested groups.
	checkMatch := checkAttrWith(validMatchAttr)
	if len(us.Username) == 0 {
		bad("userSearch.username is required")
	}
	for i, a := range us.Username {
		checkMatch(fmt.Sprintf("userSearch.username[%d]", i), a, true)
	}
	checkAttr("userSearch.idAttr", us.IDAttr, true)
	checkAttr("userSearch.emailAttr", us.EmailAttr, us.EmailSuffix == "")
	checkAttr("userSearch.nameAttr", us.NameAttr, false)
	checkAttr("userSearch.preferredUsernameAttr", us.PreferredUsernameAttr, false)
	checkAttr("userSearch.groupsAttr", us.GroupsAttr, false)
	if strings.Contains(us.EmailSuffix, "@") {
		bad("userSearch.emailSuffix %q must not contain @", us.EmailSuffix)
	}

	gs := c.GroupSearch
	s.matchers = gs.UserMatchers
	if len(s.matchers) == 0 && (gs.UserAttr != "" || gs.GroupAttr != "") {
		s.matchers = []UserMatcher{{UserAttr: gs.UserAttr, GroupAttr: gs.GroupAttr}}
	}
	groupKeys := gs.BaseDN != "" || gs.Filter != "" || gs.NameAttr != "" || len(s.matchers) > 0 || gs.Scope != ""
	if s.groupScope, ok = parseScope(gs.Scope); !ok {
		bad("groupSearch.scope %q: want sub or one", gs.Scope)
	}
	checkFilter("groupSearch.filter", gs.Filter)
	checkAttr("groupSearch.nameAttr", gs.NameAttr, false)
	if gs.BaseDN != "" {
		if _, err := goldap.ParseDN(gs.BaseDN); err != nil {
			bad("groupSearch.baseDN %q: %v", gs.BaseDN, err)
		}
	}
	switch {
	case len(s.matchers) > 0:
		if gs.BaseDN == "" {
			bad("groupSearch.baseDN is required with groupSearch.userMatchers")
		}
		if gs.NameAttr == "" {
			bad("groupSearch.nameAttr is required with groupSearch.userMatchers")
		}
	case groupKeys && us.GroupsAttr == "":
		bad("groupSearch needs userMatchers (or userAttr and groupAttr)")
	}
	for i, m := range s.matchers {
		key := fmt.Sprintf("groupSearch.userMatchers[%d]", i)
		checkAttr(key+".userAttr", m.UserAttr, true)
		checkMatch(key+".groupAttr", m.GroupAttr, true)
		checkMatch(key+".recursionGroupAttr", m.RecursionGroupAttr, false)
	}
	s.groupsConfigured = us.GroupsAttr != "" || len(s.matchers) > 0
	return s, errors.Join(errs...)
}

func parseScope(s string) (int, bool) {
	switch s {
	case "", "sub":
		return goldap.ScopeWholeSubtree, true
	case "one":
		return goldap.ScopeSingleLevel, true
	}
	return 0, false
}

// hostPort checks host[:port] and adds the default port.
func hostPort(h, defPort string) (string, error) {
	if strings.Contains(h, "://") {
		return "", errors.New("want host or host:port, not a URL")
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		// No port (or a bare IPv6 address).
		host, port = strings.Trim(h, "[]"), defPort
	}
	if host == "" || strings.ContainsAny(host, "/ ") {
		return "", errors.New("want host or host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("bad port %q", port)
	}
	return net.JoinHostPort(host, port), nil
}

// validAttr accepts attribute descriptions (RFC 4512: a name or an OID,
// with options), and "DN". Anything else could change a filter's meaning.
func validAttr(a string) bool {
	if a == "" {
		return false
	}
	for i, r := range a {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case (r == '-' || r == ';' || r == '.') && i > 0:
		default:
			return false
		}
	}
	return true
}

// validMatchAttr accepts an attribute description optionally followed by an
// extensible-match part (RFC 4515: attr[:dn][:rule]:), as used before "=".
func validMatchAttr(a string) bool {
	if !strings.HasSuffix(a, ":") {
		return validAttr(a)
	}
	parts := strings.Split(strings.TrimSuffix(a, ":"), ":")
	if len(parts) < 2 || len(parts) > 3 || !validAttr(parts[0]) {
		return false
	}
	for i, p := range parts[1:] {
		if !validAttr(p) || (len(parts) == 3 && i == 0 && !strings.EqualFold(p, "dn")) {
			return false
		}
	}
	return true
}
