package interop

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// oauth2ProxyConfig is Kubeflow's oauth2-proxy config file
// (kubeflow/manifests common/oauth2-proxy/base/oauth2_proxy.cfg) with the
// addresses of this run filled in: OIDC discovery skipped, the login page
// reached through the gateway at the relative /dex/auth, the code redeemed
// and the keys fetched at torii directly. Kubeflow sets cookie_secure and
// the client credentials from its Deployment (flags and environment); here
// they are in the file. skip_jwt_bearer_tokens is what Kubeflow's
// machine-to-machine overlay adds.
const oauth2ProxyConfig = `provider = "oidc"
oidc_issuer_url = "{{ISSUER}}"
scope = "profile email groups openid"
email_domains = [ "*" ]
upstreams = [ "static://200" ]
skip_auth_routes = [ "^/dex/" ]
api_routes = [ "/api/", "/apis/", "^/ml_metadata" ]

skip_oidc_discovery = true
login_url = "/dex/auth"
redeem_url = "{{ISSUER}}/token"
oidc_jwks_url = "{{ISSUER}}/keys"
provider_ca_files = [ "{{CA}}" ]

skip_provider_button = false
provider_display_name = "Dex"
prompt = "none"
set_authorization_header = true
set_xauthrequest = true
skip_jwt_bearer_tokens = true

cookie_name = "oauth2_proxy_kubeflow"
cookie_expire = "24h"
cookie_refresh = 0
cookie_secure = false
cookie_secret = "{{COOKIE_SECRET}}"

code_challenge_method = "S256"
redirect_url = "/oauth2/callback"
relative_redirect_url = true

client_id = "{{CLIENT_ID}}"
client_secret = "{{CLIENT_SECRET}}"
http_address = "{{ADDR}}"
`

// gateway is one HTTPS port in front of torii and oauth2-proxy, as
// Kubeflow's Istio ingress gateway: /dex/ goes to torii, everything else
// to oauth2-proxy.
type gateway struct {
	URL      string // https://127.0.0.1:PORT
	ProxyLog string
}

// startGateway starts oauth2-proxy for src's torii and the gateway. The
// processes stop when t ends.
func (s *suite) startGateway(t *testing.T, src *source) (*gateway, error) {
	dir := filepath.Join(s.dir, "oauth2-proxy-"+src.Name+src.ProxyName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	addr := freePort(t)
	cfg := strings.NewReplacer(
		"{{ISSUER}}", src.Torii.Issuer,
		"{{CA}}", s.ca.CAFile,
		"{{COOKIE_SECRET}}", "0123456789abcdef0123456789abcdef",
		"{{ADDR}}", addr,
		"{{CLIENT_ID}}", cmp.Or(src.ProxyClientID, proxyClientID),
		"{{CLIENT_SECRET}}", cmp.Or(src.ProxyClientSecret, proxyClientSecret),
	).Replace(oauth2ProxyConfig + src.ProxyExtra)
	cfgPath := filepath.Join(dir, "oauth2_proxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(s.artifacts, "oauth2-proxy-"+src.Name+src.ProxyName+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.bin.oauth2Proxy, "--config="+cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	if err := waitHTTP("http://"+addr+"/ping", exited); err != nil {
		return nil, fmt.Errorf("oauth2-proxy did not start: %v\n--- %s:\n%s", err, logPath, tail(logPath, 30))
	}

	toriiURL, _ := url.Parse(src.Torii.Issuer)
	toriiURL.Path = ""
	proxyURL, _ := url.Parse("http://" + addr)
	toToriiTransport := s.ca.transport()
	route := func(target *url.URL, tr http.RoundTripper) *httputil.ReverseProxy {
		return &httputil.ReverseProxy{
			Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(target)
				r.SetXForwarded()
				r.Out.Host = r.In.Host // Istio keeps the Host header
			},
			Transport: tr,
		}
	}
	toTorii, toProxy := route(toriiURL, toToriiTransport), route(proxyURL, http.DefaultTransport)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/dex/") {
			toTorii.ServeHTTP(w, r)
			return
		}
		toProxy.ServeHTTP(w, r)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{s.ca.Cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &gateway{URL: srv.URL, ProxyLog: logPath}, nil
}

// waitHTTP polls u until it answers 200 or the process exits.
func waitHTTP(u string, exited <-chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited: %v", err)
		default:
		}
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return errors.Join(errors.New("not ready after 60s"), last)
}

// wantAuthHeaders checks oauth2-proxy's /oauth2/auth answer (what Istio's
// ext_authz asks for every request in Kubeflow).
func wantAuthHeaders(t *testing.T, resp *page, who person) {
	t.Helper()
	if resp.Status != http.StatusAccepted {
		t.Fatalf("/oauth2/auth: HTTP %d, want 202\n%s", resp.Status, resp)
	}
	if got := resp.Header.Get("X-Auth-Request-Email"); got != who.Email {
		t.Errorf("X-Auth-Request-Email = %q, want %q", got, who.Email)
	}
	var groups []string
	if h := resp.Header.Get("X-Auth-Request-Groups"); h != "" {
		groups = strings.Split(h, ",")
	}
	slices.Sort(groups)
	want := slices.Sorted(slices.Values(who.Groups))
	if !slices.Equal(groups, want) {
		t.Errorf("X-Auth-Request-Groups = %q, want %q", resp.Header.Get("X-Auth-Request-Groups"), strings.Join(want, ","))
	}
}

func (s *suite) testOAuth2Proxy(t *testing.T, sources []*source) {
	t.Run("oauth2-proxy", func(t *testing.T) {
		s.forEachSource(t, sources, func(t *testing.T, src *source) {
			s.scenario(t, "browser-login", func(t *testing.T) {
				gw := s.gatewayFor(t, src)
				b := newBrowser(s.ca)
				p, err := b.login(gw.URL+"/oauth2/start?rd=/", src.ConnectorID, src.Who)
				if err != nil {
					t.Fatalf("login through the gateway: %v\n--- oauth2-proxy log:\n%s\n--- torii log:\n%s", err, tail(gw.ProxyLog, 10), tail(src.Torii.LogFile, 10))
				}
				if p.Status != http.StatusOK || p.URL.Path != "/" || !strings.HasPrefix(p.URL.String(), gw.URL) {
					t.Fatalf("after login the browser is at %s, want %s/ with HTTP 200\n%s\n--- oauth2-proxy log:\n%s",
						p.URL, gw.URL, p, tail(gw.ProxyLog, 10))
				}
				auth, err := b.get(gw.URL + "/oauth2/auth")
				if err != nil {
					t.Fatal(err)
				}
				wantAuthHeaders(t, auth, src.Who)
			})
			s.scenario(t, "bearer-id-token", func(t *testing.T) {
				gw := s.gatewayFor(t, src)
				tok := s.passwordGrant(t, src.Torii, proxyClientID, proxyClientSecret, src.Who, "openid email profile groups")
				b := newBrowser(s.ca)
				anon, err := b.get(gw.URL + "/oauth2/auth")
				if err != nil {
					t.Fatal(err)
				}
				if anon.Status != http.StatusUnauthorized {
					t.Fatalf("/oauth2/auth without a session: HTTP %d, want 401", anon.Status)
				}
				req, _ := http.NewRequest(http.MethodGet, gw.URL+"/oauth2/auth", nil)
				req.Header.Set("Authorization", "Bearer "+tok.IDToken)
				p, err := b.do(req)
				if err != nil {
					t.Fatal(err)
				}
				if p.Status != http.StatusAccepted {
					t.Logf("--- oauth2-proxy log:\n%s", tail(gw.ProxyLog, 10))
				}
				wantAuthHeaders(t, p, src.Who)
			})
		})
	})
}

// gatewayFor returns src's gateway, failing t if it could not start.
func (s *suite) gatewayFor(t *testing.T, src *source) *gateway {
	t.Helper()
	if src.GatewayErr != nil {
		t.Fatalf("gateway: %v", src.GatewayErr)
	}
	if src.Gateway == nil {
		t.Fatal("gateway not started")
	}
	return src.Gateway
}
