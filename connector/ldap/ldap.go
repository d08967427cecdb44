// Package ldap is torii's LDAP connector: it finds a person with a service
// account, checks the password with a bind as that person, and maps the
// entry and its groups to an identity. Its configuration is Dex's LDAP
// connector configuration; see docs/ldap.md.
package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/torii-idp/torii/connector"
)

// Connector is an opened LDAP connector. It is safe for concurrent use.
type Connector struct {
	cfg    Config
	set    settings
	tls    *tls.Config
	logger *slog.Logger
	pool   *pool
	stats  counters
	// observer, if set before use, is told the latency of every directory
	// operation.
	observer Observer
}

var (
	_ connector.PasswordConnector = (*Connector)(nil)
	_ connector.RefreshConnector  = (*Connector)(nil)
	_ connector.Closer            = (*Connector)(nil)

	_ connector.GatedPasswordConnector = (*Connector)(nil)
)

// Open checks the configuration and loads its certificate files. It does not
// contact the directory: a server that is down at start-up is reported at
// the first login, and torii still starts.
func Open(ctx context.Context, c Config, logger *slog.Logger) (*Connector, error) {
	set, err := c.settings()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tlsConf := &tls.Config{InsecureSkipVerify: c.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if c.RootCA != "" || len(c.RootCAData) > 0 {
		roots := x509.NewCertPool()
		if c.RootCA != "" {
			pem, err := os.ReadFile(c.RootCA)
			if err != nil {
				return nil, fmt.Errorf("ldap: rootCA: %w", err)
			}
			if !roots.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ldap: rootCA %s: no PEM certificate found", c.RootCA)
			}
		}
		if len(c.RootCAData) > 0 && !roots.AppendCertsFromPEM(c.RootCAData) {
			return nil, errors.New("ldap: rootCAData: no PEM certificate found")
		}
		tlsConf.RootCAs = roots
	}
	if c.ClientCert != "" {
		cert, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("ldap: clientCert/clientKey: %w", err)
		}
		tlsConf.Certificates = []tls.Certificate{cert}
	}
	if c.InsecureNoSSL {
		logger.WarnContext(ctx, "ldap: insecureNoSSL is set: passwords cross the network in clear text")
	}
	return &Connector{
		cfg:    c,
		set:    set,
		tls:    tlsConf,
		logger: logger,
		pool:   newPool(set.poolSize),
	}, nil
}

// Close closes the pooled connections.
func (c *Connector) Close() error {
	c.pool.close()
	return nil
}

// Prompt is the label of the username field.
func (c *Connector) Prompt() string {
	if c.cfg.UsernamePrompt != "" {
		return c.cfg.UsernamePrompt
	}
	return "Username"
}

// refreshData is kept in Identity.ConnectorData. Its JSON reads Dex's
// refresh data too ({"username": ..., "entry": {"DN": ...}}).
type refreshData struct {
	Username string `json:"username"`
	DN       string `json:"dn,omitempty"`
	Entry    *struct {
		DN string `json:"DN"`
	} `json:"entry,omitempty"`
}

// Login finds the person, checks the password and builds the identity.
func (c *Connector) Login(ctx context.Context, s connector.Scopes, username, password string) (connector.Identity, bool, error) {
	return c.LoginGated(ctx, s, username, password, nil)
}

// LoginGated is Login that calls gate with the user ID of the entry found
// ("" when none is) before binding as it.
func (c *Connector) LoginGated(ctx context.Context, s connector.Scopes, username, password string, gate connector.Gate) (connector.Identity, bool, error) {
	username = strings.TrimSpace(username)
	// An empty password would be an unauthenticated bind, which servers
	// answer with success (RFC 4513 5.1.2).
	if password == "" || username == "" {
		return connector.Identity{}, false, nil
	}
	var (
		id    identity
		valid bool
	)
	err := c.do(ctx, func(sess *session) error {
		valid = false
		entry, err := c.findUser(sess, username)
		if err != nil {
			return err
		}
		if gate != nil {
			userID := ""
			if entry != nil {
				userID = attrValue(entry, c.cfg.UserSearch.IDAttr)
			}
			if err := gate(ctx, userID); err != nil {
				return err
			}
		}
		if entry == nil {
			return nil
		}
		bindErr := sess.bindUser(entry.DN, password)
		// Back to the service account before anything else happens on this
		// connection, whatever the user bind said.
		if sess.broken {
			return bindErr
		}
		if err := sess.bindService(); err != nil {
			sess.broken = true
			if bindErr == nil {
				return err
			}
		}
		if bindErr != nil {
			if isNetworkError(bindErr) {
				return bindErr
			}
			if goldap.IsErrorAnyOf(bindErr, goldap.LDAPResultInvalidCredentials, goldap.LDAPResultConstraintViolation,
				goldap.LDAPResultUnwillingToPerform, goldap.LDAPResultInappropriateAuthentication) {
				// The typed name may be a password typed in the wrong field:
				// debug only.
				c.logger.DebugContext(ctx, "ldap: login refused by the directory", "username", username, "dn", entry.DN, "err", bindErr)
				return nil
			}
			return fmt.Errorf("ldap: bind as %q: %w", entry.DN, bindErr)
		}
		if id, err = c.identity(entry); err != nil {
			return err
		}
		if s.Groups {
			if id.Groups, err = c.groups(sess, entry); err != nil {
				return err
			}
		}
		valid = true
		return nil
	})
	if err != nil || !valid {
		return connector.Identity{}, false, err
	}
	id.ConnectorData, err = json.Marshal(refreshData{Username: username, DN: id.dn})
	if err != nil {
		return connector.Identity{}, false, err
	}
	return id.Identity, true, nil
}

// Refresh looks the person up again. A person who is gone, renamed to
// another entry, or disabled in Active Directory gets connector.ErrUserGone.
func (c *Connector) Refresh(ctx context.Context, s connector.Scopes, old connector.Identity) (connector.Identity, error) {
	var data refreshData
	if err := json.Unmarshal(old.ConnectorData, &data); err != nil || data.Username == "" {
		return connector.Identity{}, fmt.Errorf("ldap: refresh data unreadable: %v", err)
	}
	if data.DN == "" && data.Entry != nil {
		data.DN = data.Entry.DN
	}
	var id identity
	err := c.do(ctx, func(sess *session) error {
		entry, err := c.findUser(sess, data.Username)
		if err != nil {
			return err
		}
		if entry == nil {
			return connector.ErrUserGone
		}
		if data.DN != "" && !sameDN(entry.DN, data.DN) {
			c.logger.InfoContext(ctx, "ldap: refresh: username now names another entry", "was", data.DN, "now", entry.DN)
			return connector.ErrUserGone
		}
		if adDisabled(entry) {
			c.logger.InfoContext(ctx, "ldap: refresh: account disabled", "dn", entry.DN)
			return connector.ErrUserGone
		}
		if id, err = c.identity(entry); err != nil {
			return err
		}
		if id.UserID != old.UserID {
			c.logger.InfoContext(ctx, "ldap: refresh: user ID changed", "dn", entry.DN)
			return connector.ErrUserGone
		}
		if s.Groups {
			id.Groups, err = c.groups(sess, entry)
		}
		return err
	})
	if err != nil {
		return connector.Identity{}, err
	}
	id.ConnectorData = old.ConnectorData
	return id.Identity, nil
}

func sameDN(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	da, err1 := goldap.ParseDN(a)
	db, err2 := goldap.ParseDN(b)
	return err1 == nil && err2 == nil && da.EqualFold(db)
}
