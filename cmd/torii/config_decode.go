package main

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/connector/static"
	"github.com/torii-idp/torii/server"
)

func (c *Config) decodeRoot(root *yaml.Node) {
	d := c.d
	if root = resolve(root); root.Kind != yaml.MappingNode {
		d.errorf(root, "", "the file must be a YAML mapping (issuer:, storage:, ...)")
		return
	}
	d.mapping(root, "", fields{
		"issuer":           func(n *yaml.Node, p string) { c.Issuer = d.str(n, p) },
		"storage":          c.decodeStorage,
		"web":              c.decodeWeb,
		"telemetry":        c.decodeTelemetry,
		"logger":           c.decodeLogger,
		"audit":            c.decodeAudit,
		"expiry":           c.decodeExpiry,
		"signer":           c.decodeSigner,
		"oauth2":           c.decodeOAuth2,
		"frontend":         c.decodeFrontend,
		"staticClients":    c.decodeClients,
		"enablePasswordDB": func(n *yaml.Node, p string) { c.EnablePasswordDB = d.boolean(n, p) },
		"staticPasswords":  c.decodePasswords,
		"connectors":       c.decodeConnectors,
		"grpc":             c.decodeGRPC,
		"importDex":        c.decodeImportDex,
		"throttle":         c.decodeThrottle,
		"sessions":         c.decodeSessions,
		"kubeconfig":       c.decodeKubeconfig,
	}, map[string]string{
		// Top-level Dex keys torii refuses, with what they are.
		"templates": "templates (an old Dex key for the page look); use frontend.issuer and frontend.logoURL",
	})
}

func (c *Config) decodeWeb(n *yaml.Node, path string) {
	d := c.d
	d.mapping(n, path, fields{
		"http":    func(n *yaml.Node, p string) { c.Web.HTTP = d.str(n, p) },
		"https":   func(n *yaml.Node, p string) { c.Web.HTTPS = d.str(n, p) },
		"tlsCert": func(n *yaml.Node, p string) { c.Web.TLSCert = d.str(n, p) },
		"tlsKey":  func(n *yaml.Node, p string) { c.Web.TLSKey = d.str(n, p) },
		"tlsMinVersion": func(n *yaml.Node, p string) {
			c.Web.TLSMinVersion = tlsVersion(d.oneOf(n, p, "1.2", "1.3"))
		},
		"tlsMaxVersion": func(n *yaml.Node, p string) {
			c.Web.TLSMaxVersion = tlsVersion(d.oneOf(n, p, "1.2", "1.3"))
		},
		"headers":        c.decodeHeaders,
		"allowedOrigins": func(n *yaml.Node, p string) { c.Web.AllowedOrigins = d.strList(n, p) },
		"clientRemoteIP": c.decodeClientRemoteIP,
	}, map[string]string{
		"allowedHeaders": "web.allowedHeaders (extra CORS request headers)",
	})
}

// decodeClientRemoteIP reads Dex's web.clientRemoteIP: the header that
// carries the client address, trusted only from trustedProxies (CIDRs or
// single addresses).
func (c *Config) decodeClientRemoteIP(n *yaml.Node, path string) {
	d := c.d
	d.mapping(n, path, fields{
		"header": func(n *yaml.Node, p string) {
			c.Web.ClientIP.Header = http.CanonicalHeaderKey(strings.TrimSpace(d.str(n, p)))
		},
		"trustedProxies": func(n *yaml.Node, p string) {
			for i, v := range d.strList(n, p) {
				pr, err := netip.ParsePrefix(v)
				if err != nil {
					a, aerr := netip.ParseAddr(v)
					if aerr != nil {
						d.at(index(p, i), "%q is not an IP address or CIDR", v)
						continue
					}
					pr = netip.PrefixFrom(a, a.BitLen())
				}
				c.Web.ClientIP.TrustedProxies = append(c.Web.ClientIP.TrustedProxies, pr.Masked())
			}
		},
	}, nil)
}

func tlsVersion(s string) uint16 {
	switch s {
	case "1.2":
		return tls.VersionTLS12
	case "1.3":
		return tls.VersionTLS13
	}
	return 0
}

// decodeHeaders reads web.headers. Dex knows five headers by name
// (Content-Security-Policy, X-Frame-Options, X-Content-Type-Options,
// X-XSS-Protection, Strict-Transport-Security); torii accepts any header
// name. A blank value leaves the header unset, as in Dex.
func (c *Config) decodeHeaders(n *yaml.Node, path string) {
	d := c.d
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping of header name to value")
		return
	}
	c.Web.Headers = map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		p := join(path, k.Value)
		if !validHeaderName(k.Value) {
			d.errorf(k, p, "%q is not a valid HTTP header name", k.Value)
			continue
		}
		name := http.CanonicalHeaderKey(k.Value)
		if _, dup := c.Web.Headers[name]; dup {
			d.errorf(k, p, "header %s is set twice", name)
			continue
		}
		v := d.str(n.Content[i+1], p)
		if strings.ContainsAny(v, "\r\n") {
			d.errorf(k, p, "a header value must be on one line")
			continue
		}
		c.Web.Headers[name] = v
	}
	for k, v := range c.Web.Headers {
		if v == "" {
			delete(c.Web.Headers, k)
		}
	}
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

func (c *Config) decodeTelemetry(n *yaml.Node, path string) {
	d := c.d
	d.mapping(n, path, fields{
		"http":            func(n *yaml.Node, p string) { c.Telemetry.HTTP = d.str(n, p) },
		"enableProfiling": func(n *yaml.Node, p string) { c.Telemetry.EnableProfiling = d.boolean(n, p) },
	}, nil)
}

func (c *Config) decodeLogger(n *yaml.Node, path string) {
	d := c.d
	d.mapping(n, path, fields{
		"level": func(n *yaml.Node, p string) {
			switch s := strings.ToLower(d.str(n, p)); s {
			case "", "info":
				c.Logger.Level = slog.LevelInfo
			case "debug":
				c.Logger.Level = slog.LevelDebug
			case "warn", "warning":
				c.Logger.Level = slog.LevelWarn
			case "error":
				c.Logger.Level = slog.LevelError
			default:
				d.errorf(n, p, "%q is not one of debug, info, warn, error", s)
			}
		},
		"format": func(n *yaml.Node, p string) { c.Logger.Format = d.oneOf(n, p, "text", "json") },
	}, map[string]string{
		"excludeFields": "logger.excludeFields (torii never logs passwords, tokens or secrets; it logs user IDs and emails at debug level only)",
	})
}

func (c *Config) decodeExpiry(n *yaml.Node, path string) {
	d := c.d
	e := &c.Expiry
	d.mapping(n, path, fields{
		"signingKeys":    func(n *yaml.Node, p string) { e.SigningKeys = d.duration(n, p) },
		"idTokens":       func(n *yaml.Node, p string) { e.IDTokens = d.duration(n, p) },
		"authRequests":   func(n *yaml.Node, p string) { e.AuthRequests = d.duration(n, p) },
		"deviceRequests": func(n *yaml.Node, p string) { e.DeviceRequests = d.duration(n, p) },
		"refreshTokens": func(n *yaml.Node, p string) {
			r := &e.RefreshTokens
			d.mapping(n, p, fields{
				"disableRotation":   func(n *yaml.Node, p string) { r.DisableRotation = d.boolean(n, p) },
				"reuseInterval":     func(n *yaml.Node, p string) { r.ReuseInterval = d.duration(n, p) },
				"validIfNotUsedFor": func(n *yaml.Node, p string) { r.ValidIfNotUsedFor = d.duration(n, p) },
				"absoluteLifetime":  func(n *yaml.Node, p string) { r.AbsoluteLifetime = d.duration(n, p) },
			}, nil)
		},
	}, nil)
}

func (c *Config) decodeSigner(n *yaml.Node, path string) {
	d := c.d
	d.mapping(n, path, fields{
		"type": func(n *yaml.Node, p string) {
			if t := d.str(n, p); t != "" && t != "local" {
				d.errorf(n, p, "torii does not support signer type %q (only local: keys kept in storage)", t)
			}
		},
		"config": func(n *yaml.Node, p string) {
			d.mapping(n, p, fields{
				"keysRotationPeriod": func(n *yaml.Node, p string) { c.KeysRotationPeriod = d.duration(n, p) },
				"algorithm":          func(n *yaml.Node, p string) { c.SigningAlgorithm = d.oneOf(n, p, "RS256", "ES256") },
			}, nil)
		},
	}, nil)
}

// unsupportedGrant names the grant types Dex knows that torii refuses.
func unsupportedGrant(t string) string {
	switch t {
	case "implicit":
		return "the implicit flow"
	}
	return ""
}

func (c *Config) decodeOAuth2(n *yaml.Node, path string) {
	d := c.d
	o := &c.OAuth2
	d.mapping(n, path, fields{
		"responseTypes": func(n *yaml.Node, p string) {
			d.sequence(n, p, func(item *yaml.Node, p string, _ int) {
				switch t := d.str(item, p); t {
				case "code":
					o.ResponseTypes = append(o.ResponseTypes, t)
				case "token", "id_token", "code token", "code id_token", "id_token token", "code id_token token":
					d.errorf(item, p, "torii does not support response type %q (only code: the implicit and hybrid flows are refused)", t)
				default:
					d.errorf(item, p, "unknown response type %q", t)
				}
			})
		},
		"grantTypes": func(n *yaml.Node, p string) {
			d.sequence(n, p, func(item *yaml.Node, p string, _ int) {
				t := d.str(item, p)
				switch {
				case t == "authorization_code" || t == "refresh_token" || t == "password" || t == "client_credentials" ||
					t == "urn:ietf:params:oauth:grant-type:token-exchange" ||
					t == "urn:ietf:params:oauth:grant-type:device_code":
					o.GrantTypes = append(o.GrantTypes, t)
				case unsupportedGrant(t) != "":
					d.errorf(item, p, "torii does not support grant type %q (%s)", t, unsupportedGrant(t))
				default:
					d.errorf(item, p, "unknown grant type %q", t)
				}
			})
		},
		"skipApprovalScreen":    func(n *yaml.Node, p string) { o.SkipApprovalScreen = d.boolean(n, p) },
		"alwaysShowLoginScreen": func(n *yaml.Node, p string) { o.AlwaysShowLoginScreen = d.boolean(n, p) },
		"passwordConnector":     func(n *yaml.Node, p string) { o.PasswordConnector = d.str(n, p) },
		"promptNoneWithoutSession": func(n *yaml.Node, p string) {
			o.PromptNoneWithoutSession = d.oneOf(n, p, server.PromptNoneShowLogin, server.PromptNoneLoginRequired)
		},
		"pkce": func(n *yaml.Node, p string) {
			// torii accepts PKCE from every client but does not require
			// it of confidential ones: Dex's defaults load, enforce is
			// refused rather than ignored.
			d.mapping(n, p, fields{
				"enforce": func(n *yaml.Node, p string) {
					if d.boolean(n, p) {
						d.errorf(n, p, "torii does not support enforcing PKCE for every client")
					}
				},
				"codeChallengeMethodsSupported": func(n *yaml.Node, p string) {
					o.PKCEMethods = []string{}
					d.sequence(n, p, func(item *yaml.Node, p string, _ int) {
						switch m := d.str(item, p); m {
						case "S256", "plain":
							if !slices.Contains(o.PKCEMethods, m) {
								o.PKCEMethods = append(o.PKCEMethods, m)
							}
						default:
							d.errorf(item, p, "unknown PKCE method %q (S256 or plain)", m)
						}
					})
					if len(o.PKCEMethods) == 0 {
						d.errorf(n, p, "must list S256, plain or both")
					}
				},
			}, nil)
		},
	}, nil)
}

func (c *Config) decodeClients(n *yaml.Node, path string) {
	d := c.d
	d.sequence(n, path, func(item *yaml.Node, p string, _ int) {
		var cl server.Client
		var idEnv, secretEnv string
		d.mapping(item, p, fields{
			"id":           func(n *yaml.Node, p string) { cl.ID = d.str(n, p) },
			"idEnv":        func(n *yaml.Node, p string) { idEnv = d.fromEnv(n, p) },
			"secret":       func(n *yaml.Node, p string) { cl.Secret = d.str(n, p) },
			"secretEnv":    func(n *yaml.Node, p string) { secretEnv = d.fromEnv(n, p) },
			"name":         func(n *yaml.Node, p string) { cl.Name = d.str(n, p) },
			"redirectURIs": func(n *yaml.Node, p string) { cl.RedirectURIs = d.strList(n, p) },
			"trustedPeers": func(n *yaml.Node, p string) { cl.TrustedPeers = d.strList(n, p) },
			"public":       func(n *yaml.Node, p string) { cl.Public = d.boolean(n, p) },
			"logoURL":      func(n *yaml.Node, p string) { cl.LogoURL = d.str(n, p) },
			"ssoSharedWith": func(n *yaml.Node, p string) {
				cl.SSOSharedWith = d.strList(n, p)
				if cl.SSOSharedWith == nil {
					cl.SSOSharedWith = []string{}
				}
			},
			"promptNoneWithoutSession": func(n *yaml.Node, p string) {
				cl.PromptNoneWithoutSession = d.oneOf(n, p, server.PromptNoneShowLogin, server.PromptNoneLoginRequired)
			},
			// torii's per-client lifetimes (Dex has none; dexidp/dex#3557).
			"idTokenLifetime":               func(n *yaml.Node, p string) { cl.IDTokenLifetime = d.duration(n, p) },
			"refreshTokenLifetime":          func(n *yaml.Node, p string) { cl.RefreshTokenLifetime = d.duration(n, p) },
			"refreshTokenValidIfNotUsedFor": func(n *yaml.Node, p string) { cl.RefreshTokenValidIfNotUsedFor = d.duration(n, p) },
			"postLogoutRedirectURIs":        func(n *yaml.Node, p string) { cl.PostLogoutRedirectURIs = d.strList(n, p) },
			"backchannelLogoutURI":          func(n *yaml.Node, p string) { cl.BackchannelLogoutURI = d.str(n, p) },
			"backchannelLogoutSessionRequired": func(n *yaml.Node, p string) {
				cl.BackchannelLogoutSessionRequired = d.boolean(n, p)
			},
			"clientCredentialsClaims": func(n *yaml.Node, p string) {
				d.mapping(n, p, fields{
					"groups": func(n *yaml.Node, p string) { cl.ClientCredentialsGroups = d.strList(n, p) },
				}, nil)
			},
		}, map[string]string{
			"allowedConnectors": "allowedConnectors (restricting a client to some connectors)",
		})
		if _, ok := d.lines[p+".idEnv"]; ok {
			if _, both := d.lines[p+".id"]; both {
				d.at(p+".idEnv", "set either id or idEnv, not both")
			}
			cl.ID = idEnv
		}
		if _, ok := d.lines[p+".secretEnv"]; ok {
			if _, both := d.lines[p+".secret"]; both {
				d.at(p+".secretEnv", "set either secret or secretEnv, not both")
			}
			cl.Secret = secretEnv
		}
		c.Clients = append(c.Clients, cl)
	})
}

func (c *Config) decodePasswords(n *yaml.Node, path string) {
	d := c.d
	d.sequence(n, path, func(item *yaml.Node, p string, _ int) {
		u := static.User{EmailVerified: true}
		var hash, hashFromEnv string
		d.mapping(item, p, fields{
			"email":             func(n *yaml.Node, p string) { u.Email = d.str(n, p) },
			"hash":              func(n *yaml.Node, p string) { hash = d.str(n, p) },
			"hashFromEnv":       func(n *yaml.Node, p string) { hashFromEnv = d.fromEnv(n, p) },
			"username":          func(n *yaml.Node, p string) { u.Username = d.str(n, p) },
			"name":              func(n *yaml.Node, p string) { u.Name = d.str(n, p) },
			"preferredUsername": func(n *yaml.Node, p string) { u.PreferredUsername = d.str(n, p) },
			"emailVerified": func(n *yaml.Node, p string) {
				if !isNull(resolve(n)) {
					u.EmailVerified = d.boolean(n, p)
				}
			},
			"userID": func(n *yaml.Node, p string) { u.UserID = d.str(n, p) },
			"groups": func(n *yaml.Node, p string) { u.Groups = d.strList(n, p) },
		}, nil)
		hashPath := p + ".hash"
		if _, ok := d.lines[p+".hashFromEnv"]; ok {
			if _, both := d.lines[hashPath]; both {
				d.at(hashPath, "set either hash or hashFromEnv, not both")
			}
			hash, hashPath = hashFromEnv, p+".hashFromEnv"
		}
		_, hasHash := d.lines[p+".hash"]
		_, hasEnv := d.lines[p+".hashFromEnv"]
		switch {
		case !hasHash && !hasEnv:
			d.at(p, "user %q: hash or hashFromEnv is required", u.Email)
		case hasHash && !hasEnv && hash == "":
			d.at(hashPath, "user %q: the hash is empty", u.Email)
		}
		if hash != "" {
			h, err := static.ParseHash(hash)
			if err != nil {
				d.at(hashPath, "user %q: %v", u.Email, err)
			}
			u.Hash = h
		}
		c.Users = append(c.Users, u)
	})
}

func (c *Config) decodeConnectors(n *yaml.Node, path string) {
	d := c.d
	d.sequence(n, path, func(item *yaml.Node, p string, _ int) {
		cc := ConnectorConfig{Path: p, Line: item.Line}
		d.mapping(item, p, fields{
			"type":   func(n *yaml.Node, p string) { cc.Type = d.str(n, p) },
			"id":     func(n *yaml.Node, p string) { cc.ID = d.str(n, p) },
			"name":   func(n *yaml.Node, p string) { cc.Name = d.str(n, p) },
			"config": func(n *yaml.Node, p string) { cc.Config = d.expand(n, p) },
		}, nil)
		c.Connectors = append(c.Connectors, cc)
	})
}
