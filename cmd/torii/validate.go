package main

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/torii-idp/torii/connector/static"
	"github.com/torii-idp/torii/server"
)

// Validate runs the checks that involve several keys and returns every
// problem found while parsing and validating, joined.
func (c *Config) Validate() error {
	d := c.d
	c.validateIssuer()
	c.validateListeners()
	c.validateGRPC()
	c.validateUsers()
	c.validateClients()
	c.validateConnectors()
	c.validateOAuth2()
	c.validateFrontend()
	c.validateKubeconfig()
	if c.KeysRotationPeriod > 0 && c.Expiry.SigningKeys > 0 && c.KeysRotationPeriod != c.Expiry.SigningKeys {
		d.at("signer.config.keysRotationPeriod", "conflicts with expiry.signingKeys (%s); set only signer.config.keysRotationPeriod", c.Expiry.SigningKeys)
	}
	return errors.Join(d.problems...)
}

func (c *Config) validateIssuer() {
	d := c.d
	if c.Issuer == "" {
		d.at("issuer", "is required (the exact URL clients use, e.g. https://auth.example.com/dex)")
		return
	}
	u, err := url.Parse(c.Issuer)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		d.at("issuer", "%q must be an absolute http or https URL", c.Issuer)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		d.at("issuer", "%q must not have a query, fragment or user info", c.Issuer)
	}
}

func (c *Config) validateListeners() {
	d := c.d
	w := c.Web
	if w.HTTP == "" && w.HTTPS == "" {
		d.at("web", "web.http or web.https is required (the address to listen on, e.g. 0.0.0.0:5556)")
	}
	seen := map[string]string{}
	for _, a := range []struct{ path, addr string }{
		{"web.http", w.HTTP}, {"web.https", w.HTTPS}, {"telemetry.http", c.Telemetry.HTTP},
	} {
		if a.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			d.at(a.path, "%q is not a host:port address", a.addr)
			continue
		}
		if other, dup := seen[a.addr]; dup {
			d.at(a.path, "%s is also %s", a.addr, other)
		}
		seen[a.addr] = a.path
	}
	if w.HTTPS != "" {
		if w.TLSCert == "" {
			d.at("web.tlsCert", "is required with web.https")
		}
		if w.TLSKey == "" {
			d.at("web.tlsKey", "is required with web.https")
		}
	}
	if w.TLSMinVersion != 0 && w.TLSMaxVersion != 0 && w.TLSMinVersion > w.TLSMaxVersion {
		d.at("web.tlsMinVersion", "is above web.tlsMaxVersion")
	}
	for i, o := range w.AllowedOrigins {
		if o == "*" {
			continue
		}
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			d.at(index("web.allowedOrigins", i), "%q is not an origin (scheme://host[:port]) or *", o)
		}
	}
}

func (c *Config) validateUsers() {
	d := c.d
	if len(c.Users) > 0 && !c.EnablePasswordDB {
		d.at("staticPasswords", "needs enablePasswordDB: true")
	}
	emails := map[string]string{}
	ids := map[string]string{}
	for i, u := range c.Users {
		p := index("staticPasswords", i)
		if e := static.NormalizeEmail(u.Email); e == "" {
			d.at(join(p, "email"), "is required")
		} else if first, dup := emails[e]; dup {
			d.at(join(p, "email"), "%q is already used by %s (emails are compared without case)", u.Email, first)
		} else {
			emails[e] = p
		}
		if u.UserID == "" {
			d.at(join(p, "userID"), "user %q: is required (it is the stable subject of the user's tokens)", u.Email)
		} else if first, dup := ids[u.UserID]; dup {
			d.at(join(p, "userID"), "%q is already used by %s", u.UserID, first)
		} else {
			ids[u.UserID] = p
		}
	}
}

func (c *Config) validateClients() {
	d := c.d
	ids := map[string]string{}
	for i, cl := range c.Clients {
		p := index("staticClients", i)
		if cl.ID == "" {
			if _, env := d.lines[join(p, "idEnv")]; !env {
				d.at(p, "id or idEnv is required")
			}
		} else if first, dup := ids[cl.ID]; dup {
			d.at(join(p, "id"), "client %q is already defined at %s", cl.ID, first)
		} else {
			ids[cl.ID] = p
		}
		if !cl.Public && cl.Secret == "" {
			_, env := d.lines[join(p, "secretEnv")]
			if !env { // an unset secretEnv is already reported
				d.at(p, "client %q is confidential (public: false) but has no secret or secretEnv", cl.ID)
			}
		}
		if global := cmp.Or(c.Expiry.IDTokens, 24*time.Hour); cl.IDTokenLifetime > global {
			d.at(join(p, "idTokenLifetime"), "%s is longer than expiry.idTokens (%s), for which signing keys are kept", cl.IDTokenLifetime, global)
		}
		for j, r := range cl.RedirectURIs {
			if err := server.ValidRedirectURI(r); err != nil {
				d.at(index(join(p, "redirectURIs"), j), "%q cannot be used as a redirect URI: %v", r, err)
			}
		}
		for j, r := range cl.PostLogoutRedirectURIs {
			if err := server.ValidRedirectURI(r); err != nil {
				d.at(index(join(p, "postLogoutRedirectURIs"), j), "%q cannot be used as a post-logout redirect URI: %v", r, err)
			}
		}
		if u := cl.BackchannelLogoutURI; u != "" {
			if err := server.ValidBackchannelLogoutURI(u); err != nil {
				d.at(join(p, "backchannelLogoutURI"), "%q: %v", u, err)
			}
		}
	}
	for i, cl := range c.Clients {
		for j, peer := range cl.TrustedPeers {
			if _, ok := ids[peer]; !ok {
				d.at(index(join(index("staticClients", i), "trustedPeers"), j), "%q is not a static client", peer)
			}
		}
	}
}

func (c *Config) validateConnectors() {
	d := c.d
	ids := map[string]string{}
	if c.EnablePasswordDB {
		ids[static.ID] = "enablePasswordDB"
	}
	types := c.types
	if types == nil {
		types = connectorTypes()
	}
	for _, cc := range c.Connectors {
		t, known := types[cc.Type]
		switch {
		case cc.Type == "":
			d.at(cc.Path, "type is required")
		case known && !t.listed:
			d.at(join(cc.Path, "type"), "connector type %q is not listed in connectors; it is switched on by enablePasswordDB: true", cc.Type)
		case !known:
			d.at(join(cc.Path, "type"), "torii does not support connector type %q (only %s, plus the password database of enablePasswordDB)", cc.Type, listedTypes(types))
		}
		switch {
		case cc.ID == "":
			d.at(cc.Path, "id is required")
		case ids[cc.ID] != "":
			d.at(join(cc.Path, "id"), "connector id %q is already used by %s", cc.ID, ids[cc.ID])
		case strings.ContainsAny(cc.ID, "/?#%"):
			d.at(join(cc.Path, "id"), "%q cannot be used in a URL path", cc.ID)
		default:
			ids[cc.ID] = cc.Path
		}
	}
}

func (c *Config) validateOAuth2() {
	d := c.d
	pc := c.OAuth2.PasswordConnector
	if pc != "" && !slices.ContainsFunc(c.connectorIDs(), func(id string) bool { return id == pc }) {
		hint := ""
		if pc == static.ID {
			hint = " (set enablePasswordDB: true)"
		}
		d.at("oauth2.passwordConnector", "%q is not a configured connector%s", pc, hint)
	}
	if pc == "" && slices.Contains(c.OAuth2.GrantTypes, "password") {
		d.at("oauth2.grantTypes", "grant type password needs oauth2.passwordConnector")
	}
}

// connectorIDs lists every connector in the order of the login page:
// configured connectors first, then the password database (as in Dex).
func (c *Config) connectorIDs() []string {
	var ids []string
	for _, cc := range c.Connectors {
		ids = append(ids, cc.ID)
	}
	if c.EnablePasswordDB {
		ids = append(ids, static.ID)
	}
	return ids
}

// summary describes a valid config in a few lines (check-config).
func (c *Config) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: OK\n", c.File)
	fmt.Fprintf(&b, "  issuer:     %s\n", c.Issuer)
	st := c.Storage.Type
	if c.Storage.Settings != nil {
		st = c.Storage.Settings.describe()
	}
	fmt.Fprintf(&b, "  storage:    %s\n", st)
	var listen []string
	if c.Web.HTTP != "" {
		listen = append(listen, "http "+c.Web.HTTP)
	}
	if c.Web.HTTPS != "" {
		listen = append(listen, "https "+c.Web.HTTPS)
	}
	if c.Telemetry.HTTP != "" {
		listen = append(listen, "telemetry "+c.Telemetry.HTTP)
	}
	fmt.Fprintf(&b, "  listen:     %s\n", strings.Join(listen, ", "))
	var conns []string
	for _, cc := range c.Connectors {
		conns = append(conns, fmt.Sprintf("%s (%s)", cc.ID, cc.Type))
	}
	if c.EnablePasswordDB {
		conns = append(conns, fmt.Sprintf("%s (password database, static users: %d)", static.ID, len(c.Users)))
	}
	fmt.Fprintf(&b, "  connectors: %s\n", orNone(conns))
	var clients []string
	for _, cl := range c.Clients {
		kind := "confidential"
		if cl.Public {
			kind = "public"
		}
		clients = append(clients, fmt.Sprintf("%s (%s)", cl.ID, kind))
	}
	fmt.Fprintf(&b, "  clients:    %s\n", orNone(clients))
	if k := c.Kubeconfig; k != nil {
		var names []string
		for _, cl := range k.Clusters {
			names = append(names, cl.Name)
		}
		fmt.Fprintf(&b, "  kubeconfig: %s (client %s)\n", strings.Join(names, ", "), k.ClientID)
	}
	return b.String()
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
