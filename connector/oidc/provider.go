package oidc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/torii-idp/torii/connector"
)

// Upstream calls, as reported to an Observer.
const (
	OpDiscovery = "discovery" // the discovery document
	OpKeys      = "keys"      // the provider's JWKS
	OpToken     = "token"     // code exchange and refresh at the token endpoint
	OpUserInfo  = "userinfo"  // the userinfo endpoint
)

// Observer receives the latency of every request to the provider, and
// whether it got no answer (connection refused, timeout, 5xx).
type Observer interface {
	ObserveOIDC(op string, took time.Duration, failed bool)
}

// How long a discovery document is used before it is read again, and how
// long a failed discovery is not retried (so an upstream that is down is
// not hammered by every login, and is used again soon after it is back).
const (
	discoveryTTL   = time.Hour
	discoveryRetry = 5 * time.Second
)

// endpoints is what torii uses of a discovery document (after overrides).
type endpoints struct {
	issuer   string // the iss of ID tokens
	auth     string
	token    string
	userInfo string
	jwks     string
	algs     []string
	pkceS256 bool
	verifier *gooidc.IDTokenVerifier // aud must be clientID
	keys     *gooidc.RemoteKeySet
}

// discovery reads and caches the provider's metadata.
type discovery struct {
	c *Connector

	mu       sync.Mutex
	cur      *endpoints
	fetched  time.Time
	failedAt time.Time
	lastErr  error
}

// get returns the provider's endpoints, reading the discovery document when
// there is none yet or it is old. A failed read keeps the old document if
// there is one; without one the error wraps connector.ErrUnavailable.
func (d *discovery) get(ctx context.Context) (*endpoints, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.c.now()
	if d.cur != nil && now.Sub(d.fetched) < discoveryTTL {
		return d.cur, nil
	}
	if !d.failedAt.IsZero() && now.Sub(d.failedAt) < discoveryRetry {
		if d.cur != nil {
			return d.cur, nil
		}
		return nil, d.lastErr
	}
	ep, err := d.fetch(ctx)
	if err != nil {
		d.failedAt, d.lastErr = now, err
		if d.cur != nil {
			d.c.log.WarnContext(ctx, "reading the provider's discovery document again failed; using the one read before", "err", err)
			return d.cur, nil
		}
		return nil, err
	}
	d.cur, d.fetched, d.failedAt, d.lastErr = ep, now, time.Time{}, nil
	return ep, nil
}

// fetch reads the discovery document and checks it names the expected
// issuer.
func (d *discovery) fetch(ctx context.Context) (*endpoints, error) {
	c := d.c
	wellKnown := strings.TrimSuffix(c.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	var doc struct {
		Issuer      string   `json:"issuer"`
		Auth        string   `json:"authorization_endpoint"`
		Token       string   `json:"token_endpoint"`
		UserInfo    string   `json:"userinfo_endpoint"`
		JWKS        string   `json:"jwks_uri"`
		Algs        []string `json:"id_token_signing_alg_values_supported"`
		PKCEMethods []string `json:"code_challenge_methods_supported"`
	}
	if err := c.getJSON(ctx, OpDiscovery, wellKnown, &doc); err != nil {
		return nil, err
	}
	want := c.cfg.Issuer
	if c.cfg.IssuerAlias != "" {
		want = c.cfg.IssuerAlias
	}
	if doc.Issuer != want {
		// Not ErrUnavailable: a misconfiguration, logged and shown as such.
		return nil, fmt.Errorf("the discovery document at %s names issuer %q, not %q (set issuerAlias if the provider really uses another issuer)", wellKnown, doc.Issuer, want)
	}
	o := c.cfg.ProviderDiscoveryOverrides
	ep := &endpoints{
		issuer:   doc.Issuer,
		auth:     or(o.AuthURL, doc.Auth),
		token:    or(o.TokenURL, doc.Token),
		userInfo: or(o.UserInfoURL, doc.UserInfo),
		jwks:     or(o.JWKSURL, doc.JWKS),
		pkceS256: slices.Contains(doc.PKCEMethods, "S256"),
	}
	if ep.auth == "" || ep.token == "" || ep.jwks == "" {
		return nil, fmt.Errorf("the discovery document at %s lacks authorization_endpoint, token_endpoint or jwks_uri", wellKnown)
	}
	for _, a := range doc.Algs {
		if supportedAlg(a) {
			ep.algs = append(ep.algs, a)
		}
	}
	if len(ep.algs) == 0 {
		ep.algs = []string{gooidc.RS256}
	}
	// The key set keeps the keys it fetched and fetches again when a token
	// names a key it does not know; its requests go through the connector's
	// client (timeouts, rootCAs) and are observed as "keys".
	keysCtx := gooidc.ClientContext(withOp(context.Background(), OpKeys), c.http)
	ep.keys = gooidc.NewRemoteKeySet(keysCtx, ep.jwks)
	ep.verifier = gooidc.NewVerifier(ep.issuer, ep.keys, &gooidc.Config{
		ClientID: c.cfg.ClientID, SupportedSigningAlgs: ep.algs, Now: c.now,
	})
	return ep, nil
}

// supportedAlg: asymmetric algorithms only (an HS256 ID token would be
// signed with the client secret, which torii does not accept as a key).
func supportedAlg(a string) bool {
	switch a {
	case gooidc.RS256, gooidc.RS384, gooidc.RS512, gooidc.ES256, gooidc.ES384, gooidc.ES512, gooidc.PS256, gooidc.PS384, gooidc.PS512, gooidc.EdDSA:
		return true
	}
	return false
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// maxBody bounds what is read from the provider.
const maxBody = 1 << 20

// getJSON GETs u and decodes its JSON body; failures to get an answer wrap
// connector.ErrUnavailable.
func (c *Connector) getJSON(ctx context.Context, op, u string, v any) error {
	req, err := http.NewRequestWithContext(withOp(ctx, op), http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", connector.ErrUnavailable, op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", connector.ErrUnavailable, op, err)
	}
	if resp.StatusCode >= 500 {
		return fmt.Errorf("%w: %s: %s answered %s", connector.ErrUnavailable, op, u, resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s answered %s", op, u, resp.Status)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: %s: %v", op, u, err)
	}
	return nil
}

type opKey struct{}

func withOp(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, opKey{}, op)
}

// observingTransport reports every request's latency to the observer, by
// the op its context names.
type observingTransport struct {
	base http.RoundTripper
	c    *Connector
}

func (t observingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	if p := t.c.observer.Load(); p != nil {
		o := *p
		op, _ := req.Context().Value(opKey{}).(string)
		if op == "" {
			op = OpToken // x/oauth2 requests carry the caller's context
		}
		o.ObserveOIDC(op, time.Since(start), err != nil || resp.StatusCode >= 500)
	}
	return resp, err
}

// newHTTPClient is the client for every request to the provider: bounded
// by DefaultTimeout, trusting rootCAs when set.
func newHTTPClient(cfg Config, c *Connector) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
	if len(cfg.RootCAs) > 0 {
		pool, err := loadRootCAs(cfg.RootCAs)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{
		Transport: observingTransport{base: tr, c: c},
		Timeout:   DefaultTimeout,
		// The provider's endpoints answer directly; a redirect is not followed
		// to somewhere else with the client's credentials.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// loadRootCAs reads each entry as a file, PEM text, or base64-encoded PEM.
func loadRootCAs(cas []string) (*x509.CertPool, error) {
	if len(cas) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	var errs []error
	for i, ca := range cas {
		var data []byte
		switch {
		case strings.Contains(ca, "-----BEGIN"):
			data = []byte(ca)
		default:
			b, ferr := os.ReadFile(ca)
			if ferr == nil {
				data = b
				break
			}
			dec, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(ca))
			if derr != nil {
				errs = append(errs, fmt.Errorf("[%d]: not a readable file (%v) nor base64-encoded PEM", i, ferr))
				continue
			}
			data = dec
		}
		if !pool.AppendCertsFromPEM(data) {
			errs = append(errs, fmt.Errorf("[%d]: no PEM certificate found", i))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return pool, nil
}
