package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	api "github.com/dexidp/dex/api/v2"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/torii-idp/torii/server/adminapi"
)

// adminEnv is a running torii (serve, as `torii serve` runs it) with the
// admin API on mutual TLS.
type adminEnv struct {
	issuer   string
	grpcAddr string
	pki      *testPKI
	// certFile and keyFile are a client certificate signed by the CA.
	certFile, keyFile string
}

// freeAddr returns a loopback address nobody listens on (the issuer must
// name the port before torii binds it).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startAdminTorii(t *testing.T, grpcBlock func(p *testPKI) string) *adminEnv {
	t.Helper()
	e := &adminEnv{pki: newTestPKI(t, "admin")}
	httpAddr := freeAddr(t)
	e.issuer = "http://" + httpAddr + "/dex"
	e.certFile, e.keyFile = e.pki.issue(t, "operator")
	yaml := `issuer: ` + e.issuer + `
storage:
  type: sqlite3
  config:
    file: ` + e.pki.dir + `/torii.db
web:
  http: ` + httpAddr + `
` + grpcBlock(e.pki) + `
oauth2:
  skipApprovalScreen: true
staticClients:
- id: static-app
  name: Static App
  secret: static-secret
  redirectURIs: [http://127.0.0.1:5555/callback]
enablePasswordDB: true
staticPasswords:
- email: admin@example.com
  hash: "` + demoHash + `"
  username: admin
  userID: "1"
`
	c, err := ParseConfig("config.yaml", []byte(yaml), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan map[string]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, c, serveOptions{logger: slog.New(slog.DiscardHandler), ready: func(a map[string]string) { addrs <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case a := <-addrs:
		e.grpcAddr = a["grpc"]
	case err := <-done:
		t.Fatalf("serve returned before listening: %v", err)
	}
	return e
}

// mtlsBlock is a grpc block requiring client certificates from the CA.
func mtlsBlock(p *testPKI, t *testing.T) string {
	cert, key := p.issue(t, "torii-server")
	return `grpc:
  addr: 127.0.0.1:0
  tlsCert: ` + cert + `
  tlsKey: ` + key + `
  tlsClientCA: ` + p.CAFile + `
  reflection: true
`
}

// dexClient is Dex's own Go client, with the given client certificate
// (none when certFile is empty).
func (e *adminEnv) dexClient(t *testing.T, certFile, keyFile string) api.DexClient {
	t.Helper()
	pem, err := os.ReadFile(e.pki.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	tc := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
	if certFile != "" {
		kp, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{kp}
	}
	conn, err := grpc.NewClient("passthrough:///"+e.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return api.NewDexClient(conn)
}

// codeFlow logs in through the password form as a browser would and
// exchanges the code; it returns the token response.
func codeFlow(t *testing.T, issuer, clientID, secret, redirectURI, email, password string, scopes string) (int, map[string]any) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	u := issuer + "/auth?" + url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {scopes}, "state": {"st-123"}}.Encode()
	resp, err := hc.Get(u)
	for err == nil && resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(absolute(issuer, resp.Header.Get("Location")), issuer) {
		resp.Body.Close()
		resp, err = hc.Get(absolute(issuer, resp.Header.Get("Location")))
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login page: %d %s", resp.StatusCode, body)
	}
	field := func(name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("login form has no %s field:\n%s", name, body)
		}
		return string(m[1])
	}
	action := regexp.MustCompile(`action="([^"]*)"`).FindSubmatch(body)
	if action == nil {
		t.Fatalf("no form action:\n%s", body)
	}
	resp, err = hc.PostForm(absolute(issuer, string(action[1])), url.Values{"req": {field("req")}, "csrf": {field("csrf")},
		"login": {email}, "password": {password}})
	for err == nil && resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(absolute(issuer, resp.Header.Get("Location")), issuer) {
		resp.Body.Close()
		resp, err = hc.Get(absolute(issuer, resp.Header.Get("Location")))
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("no code in the redirect back: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return tokenCall(t, issuer, clientID, secret, url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "redirect_uri": {redirectURI}})
}

func absolute(issuer, loc string) string {
	if strings.HasPrefix(loc, "/") {
		u, _ := url.Parse(issuer)
		return u.Scheme + "://" + u.Host + loc
	}
	return loc
}

func tokenCall(t *testing.T, issuer, clientID, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// mustErr fails unless err is a plain (code Unknown) error containing want,
// which is how Dex's server answers bad requests.
func mustErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %q", what, want)
		return
	}
	if st := status.Convert(err); !strings.Contains(st.Message(), want) || st.Code().String() != "Unknown" {
		t.Errorf("%s: %v (code %s), want code Unknown with %q", what, err, st.Code(), want)
	}
}

func TestAdminAPIWithDexClient(t *testing.T) {
	e := startAdminTorii(t, func(p *testPKI) string { return mtlsBlock(p, t) })
	dex := e.dexClient(t, e.certFile, e.keyFile)
	ctx := context.Background()

	t.Run("GetVersion", func(t *testing.T) {
		v, err := dex.GetVersion(ctx, &api.VersionReq{})
		if err != nil || v.Api != 4 || v.Server == "" {
			t.Fatalf("GetVersion = %v, %v; want api 4 (Dex master's) and a server version", v, err)
		}
	})
	t.Run("GetDiscovery", func(t *testing.T) {
		d, err := dex.GetDiscovery(ctx, &api.DiscoveryReq{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Issuer != e.issuer || d.TokenEndpoint != e.issuer+"/token" || d.JwksUri != e.issuer+"/keys" ||
			!strings.Contains(strings.Join(d.GrantTypesSupported, " "), "authorization_code") || len(d.IdTokenSigningAlgValuesSupported) == 0 {
			t.Errorf("GetDiscovery = %+v", d)
		}
	})

	var created *api.Client
	t.Run("CreateClient", func(t *testing.T) {
		resp, err := dex.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{
			Name: "CI app", RedirectUris: []string{"http://127.0.0.1:7777/cb"}, TrustedPeers: []string{"static-app"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		created = resp.Client
		if resp.AlreadyExists || len(created.Id) != 26 || len(created.Secret) < 40 {
			t.Fatalf("CreateClient = %+v: want a generated id and secret", resp)
		}
		again, err := dex.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Id: created.Id, RedirectUris: []string{"http://127.0.0.1:7777/cb"}}})
		if err != nil || !again.AlreadyExists {
			t.Errorf("CreateClient of an existing id = %+v, %v; want already_exists", again, err)
		}
		_, err = dex.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Id: "static-app"}})
		mustErr(t, "CreateClient of a static id", err, "static clients: read-only cannot create client")
		_, err = dex.CreateClient(ctx, &api.CreateClientReq{})
		mustErr(t, "CreateClient without a client", err, "no client supplied")
		_, err = dex.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Id: "bad", RedirectUris: []string{"not a uri"}}})
		mustErr(t, "CreateClient with an unusable redirect URI", err, `redirect URI "not a uri"`)
		pub, err := dex.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Id: "cli", Public: true, Secret: "ignored"}})
		if err != nil || pub.Client.Secret != "" {
			t.Errorf("public client: %+v %v; want no secret", pub, err)
		}
		chosen, err := dex.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Id: "chosen", Secret: "ZXhhbXBsZS1hcHAtc2VjcmV0",
			RedirectUris: []string{"http://127.0.0.1:7778/cb"}}})
		if err != nil || chosen.Client.Secret != "ZXhhbXBsZS1hcHAtc2VjcmV0" {
			t.Errorf("client with a chosen secret: %+v %v", chosen, err)
		}
	})
	if created == nil {
		t.Fatal("no client created")
	}

	t.Run("a created client completes a code flow at once", func(t *testing.T) {
		status, tok := codeFlow(t, e.issuer, created.Id, created.Secret, "http://127.0.0.1:7777/cb", "admin@example.com", "password", "openid email")
		if status != http.StatusOK || tok["id_token"] == nil {
			t.Fatalf("token response: %d %v", status, tok)
		}
		status, tok = codeFlow(t, e.issuer, "chosen", "ZXhhbXBsZS1hcHAtc2VjcmV0", "http://127.0.0.1:7778/cb", "admin@example.com", "password", "openid")
		if status != http.StatusOK {
			t.Fatalf("client with a chosen (bcrypt-hashed) secret: %d %v", status, tok)
		}
		if status, tok := tokenCall(t, e.issuer, created.Id, "wrong", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}); status != http.StatusUnauthorized {
			t.Errorf("wrong secret: %d %v", status, tok)
		}
	})

	t.Run("GetClient", func(t *testing.T) {
		got, err := dex.GetClient(ctx, &api.GetClientReq{Id: created.Id})
		if err != nil {
			t.Fatal(err)
		}
		if got.Client.Secret != "" || got.Client.Name != "CI app" || got.Client.RedirectUris[0] != "http://127.0.0.1:7777/cb" {
			t.Errorf("GetClient = %+v; want the client without its (hashed) secret", got.Client)
		}
		st, err := dex.GetClient(ctx, &api.GetClientReq{Id: "static-app"})
		if err != nil || st.Client.Secret != "static-secret" || st.Client.Name != "Static App" {
			t.Errorf("GetClient of a static client = %+v, %v (Dex returns its secret)", st, err)
		}
		_, err = dex.GetClient(ctx, &api.GetClientReq{Id: "nope"})
		mustErr(t, "GetClient unknown", err, "not found")
	})
	t.Run("UpdateClient", func(t *testing.T) {
		resp, err := dex.UpdateClient(ctx, &api.UpdateClientReq{Id: created.Id, Name: "CI app 2", RedirectUris: []string{"http://127.0.0.1:7779/cb"}})
		if err != nil || resp.NotFound {
			t.Fatalf("UpdateClient = %+v, %v", resp, err)
		}
		got, _ := dex.GetClient(ctx, &api.GetClientReq{Id: created.Id})
		if got.Client.Name != "CI app 2" || len(got.Client.RedirectUris) != 1 || got.Client.RedirectUris[0] != "http://127.0.0.1:7779/cb" ||
			len(got.Client.TrustedPeers) != 1 {
			t.Errorf("after UpdateClient: %+v", got.Client)
		}
		// The old redirect URI is refused at once.
		if status, _ := authStatus(t, e.issuer, created.Id, "http://127.0.0.1:7777/cb"); status != http.StatusBadRequest {
			t.Errorf("old redirect URI after update: %d, want 400", status)
		}
		nf, err := dex.UpdateClient(ctx, &api.UpdateClientReq{Id: "nope", Name: "x"})
		if err != nil || !nf.NotFound {
			t.Errorf("UpdateClient unknown = %+v, %v; want not_found", nf, err)
		}
		_, err = dex.UpdateClient(ctx, &api.UpdateClientReq{Id: "static-app", Name: "x"})
		mustErr(t, "UpdateClient static", err, "static clients: read-only cannot update client")
		_, err = dex.UpdateClient(ctx, &api.UpdateClientReq{})
		mustErr(t, "UpdateClient without id", err, "update client: no client ID supplied")
	})
	t.Run("ListClients", func(t *testing.T) {
		l, err := dex.ListClients(ctx, &api.ListClientReq{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range l.Clients {
			ids = append(ids, c.Id)
		}
		want := []string{"chosen", "cli", created.Id, "static-app"}
		if strings.Join(sortedCopy(ids), " ") != strings.Join(sortedCopy(want), " ") || ids[len(ids)-1] != "static-app" {
			t.Errorf("ListClients ids = %v, want %v with the static client last", ids, want)
		}
	})

	hash, _ := bcrypt.GenerateFromPassword([]byte("bobs password"), bcrypt.DefaultCost)
	t.Run("CreatePassword", func(t *testing.T) {
		resp, err := dex.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{
			Email: "Bob@Example.com", Hash: hash, Username: "bob", UserId: "bob-1"}})
		if err != nil || resp.AlreadyExists {
			t.Fatalf("CreatePassword = %+v, %v", resp, err)
		}
		again, err := dex.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{Email: "bob@example.com", Hash: hash, UserId: "bob-2"}})
		if err != nil || !again.AlreadyExists {
			t.Errorf("CreatePassword twice = %+v, %v; want already_exists", again, err)
		}
		_, err = dex.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{Email: "admin@example.com", Hash: hash, UserId: "x"}})
		mustErr(t, "CreatePassword static", err, "static passwords: read-only cannot create password")
		cheap, _ := bcrypt.GenerateFromPassword([]byte("x"), 4)
		_, err = dex.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{Email: "c@example.com", Hash: cheap, UserId: "c"}})
		mustErr(t, "CreatePassword cheap hash", err, "given hash cost = 4 does not meet minimum cost requirement = 10")
		_, err = dex.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{Email: "c@example.com", Hash: hash}})
		mustErr(t, "CreatePassword without user ID", err, "no user ID supplied")
		_, err = dex.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{Email: "c@example.com", UserId: "c"}})
		mustErr(t, "CreatePassword without hash", err, "no hash of password supplied")
		_, err = dex.CreatePassword(ctx, &api.CreatePasswordReq{})
		mustErr(t, "CreatePassword without password", err, "no password supplied")
	})
	t.Run("VerifyPassword", func(t *testing.T) {
		for _, tt := range []struct {
			email, password string
			verified, nf    bool
		}{
			{"bob@example.com", "bobs password", true, false},
			{"BOB@example.com", "bobs password", true, false},
			{"bob@example.com", "wrong", false, false},
			{"admin@example.com", "password", true, false},
			{"nobody@example.com", "x", false, true},
		} {
			r, err := dex.VerifyPassword(ctx, &api.VerifyPasswordReq{Email: tt.email, Password: tt.password})
			if err != nil || r.Verified != tt.verified || r.NotFound != tt.nf {
				t.Errorf("VerifyPassword(%s, %s) = %+v, %v", tt.email, tt.password, r, err)
			}
		}
		_, err := dex.VerifyPassword(ctx, &api.VerifyPasswordReq{Email: "bob@example.com"})
		mustErr(t, "VerifyPassword without password", err, "no password to verify supplied")
	})
	t.Run("a created password logs in at once", func(t *testing.T) {
		status, tok := codeFlow(t, e.issuer, "static-app", "static-secret", "http://127.0.0.1:5555/callback", "bob@example.com", "bobs password", "openid")
		if status != http.StatusOK || tok["id_token"] == nil {
			t.Fatalf("login of a user created through the API: %d %v", status, tok)
		}
	})
	t.Run("UpdatePassword", func(t *testing.T) {
		newHash, _ := bcrypt.GenerateFromPassword([]byte("new password"), bcrypt.DefaultCost)
		r, err := dex.UpdatePassword(ctx, &api.UpdatePasswordReq{Email: "bob@example.com", NewHash: newHash, NewUsername: "robert"})
		if err != nil || r.NotFound {
			t.Fatalf("UpdatePassword = %+v, %v", r, err)
		}
		if v, _ := dex.VerifyPassword(ctx, &api.VerifyPasswordReq{Email: "bob@example.com", Password: "new password"}); !v.Verified {
			t.Error("new password not verified")
		}
		nf, err := dex.UpdatePassword(ctx, &api.UpdatePasswordReq{Email: "nobody@example.com", NewUsername: "x"})
		if err != nil || !nf.NotFound {
			t.Errorf("UpdatePassword unknown = %+v, %v", nf, err)
		}
		_, err = dex.UpdatePassword(ctx, &api.UpdatePasswordReq{Email: "admin@example.com", NewUsername: "x"})
		mustErr(t, "UpdatePassword static", err, "static passwords: read-only cannot update password")
		_, err = dex.UpdatePassword(ctx, &api.UpdatePasswordReq{Email: "bob@example.com"})
		mustErr(t, "UpdatePassword nothing", err, "nothing to update")
	})
	t.Run("ListPasswords", func(t *testing.T) {
		l, err := dex.ListPasswords(ctx, &api.ListPasswordReq{})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Passwords) != 2 || l.Passwords[0].Email != "bob@example.com" || l.Passwords[0].Username != "robert" ||
			l.Passwords[1].Email != "admin@example.com" || l.Passwords[0].Hash != nil {
			t.Errorf("ListPasswords = %v", l.Passwords)
		}
	})

	t.Run("ListRefresh and RevokeRefresh", func(t *testing.T) {
		// Two logins of bob with offline_access: two families of one client.
		_, t1 := codeFlow(t, e.issuer, "static-app", "static-secret", "http://127.0.0.1:5555/callback", "bob@example.com", "new password", "openid offline_access")
		_, t2 := codeFlow(t, e.issuer, "static-app", "static-secret", "http://127.0.0.1:5555/callback", "bob@example.com", "new password", "openid offline_access")
		_, t3 := codeFlow(t, e.issuer, created.Id, created.Secret, "http://127.0.0.1:7779/cb", "bob@example.com", "new password", "openid offline_access")
		for _, tk := range []map[string]any{t1, t2, t3} {
			if tk["refresh_token"] == nil {
				t.Fatalf("no refresh token: %v", tk)
			}
		}
		sub := subOf(t, t1["id_token"].(string))
		l, err := dex.ListRefresh(ctx, &api.ListRefreshReq{UserId: sub})
		if err != nil {
			t.Fatal(err)
		}
		perClient := map[string]int{}
		for _, r := range l.RefreshTokens {
			perClient[r.ClientId]++
			if r.Id == "" || r.CreatedAt == 0 || r.LastUsed < r.CreatedAt {
				t.Errorf("refresh ref %+v", r)
			}
		}
		if len(l.RefreshTokens) != 3 || perClient["static-app"] != 2 || perClient[created.Id] != 1 {
			t.Fatalf("ListRefresh = %v; want two families of static-app and one of %s", l.RefreshTokens, created.Id)
		}
		r, err := dex.RevokeRefresh(ctx, &api.RevokeRefreshReq{UserId: sub, ClientId: "static-app"})
		if err != nil || r.NotFound {
			t.Fatalf("RevokeRefresh = %+v, %v", r, err)
		}
		for _, tk := range []map[string]any{t1, t2} {
			status, body := tokenCall(t, e.issuer, "static-app", "static-secret", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk["refresh_token"].(string)}})
			if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
				t.Errorf("revoked family's refresh: %d %v; want invalid_grant", status, body)
			}
		}
		// Access tokens of a revoked family are refused too.
		req, _ := http.NewRequest(http.MethodGet, e.issuer+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+t1["access_token"].(string))
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("userinfo with a revoked family's access token: %v %v; want 401", resp.StatusCode, err)
		} else {
			resp.Body.Close()
		}
		status, body := tokenCall(t, e.issuer, created.Id, created.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t3["refresh_token"].(string)}})
		if status != http.StatusOK {
			t.Errorf("the user's other family: %d %v; want it to work", status, body)
		}
		if l, _ := dex.ListRefresh(ctx, &api.ListRefreshReq{UserId: sub}); len(l.RefreshTokens) != 1 || l.RefreshTokens[0].ClientId != created.Id {
			t.Errorf("ListRefresh after revoke = %v", l.RefreshTokens)
		}
		nf, err := dex.RevokeRefresh(ctx, &api.RevokeRefreshReq{UserId: sub, ClientId: "static-app"})
		if err != nil || !nf.NotFound {
			t.Errorf("RevokeRefresh again = %+v, %v; want not_found", nf, err)
		}
		empty, err := dex.ListRefresh(ctx, &api.ListRefreshReq{UserId: adminSubject("nobody", "local")})
		if err != nil || len(empty.RefreshTokens) != 0 {
			t.Errorf("ListRefresh of a user without tokens = %v, %v", empty, err)
		}
		_, err = dex.ListRefresh(ctx, &api.ListRefreshReq{UserId: "%%%"})
		mustErr(t, "ListRefresh with a malformed sub", err, "invalid user_id")
	})

	t.Run("DeletePassword", func(t *testing.T) {
		r, err := dex.DeletePassword(ctx, &api.DeletePasswordReq{Email: "BOB@example.com"})
		if err != nil || r.NotFound {
			t.Fatalf("DeletePassword = %+v, %v", r, err)
		}
		r, err = dex.DeletePassword(ctx, &api.DeletePasswordReq{Email: "bob@example.com"})
		if err != nil || !r.NotFound {
			t.Errorf("DeletePassword twice = %+v, %v", r, err)
		}
		_, err = dex.DeletePassword(ctx, &api.DeletePasswordReq{Email: "admin@example.com"})
		mustErr(t, "DeletePassword static", err, "static passwords: read-only cannot delete password")
		_, err = dex.DeletePassword(ctx, &api.DeletePasswordReq{})
		mustErr(t, "DeletePassword without email", err, "no email supplied")
	})
	t.Run("DeleteClient", func(t *testing.T) {
		r, err := dex.DeleteClient(ctx, &api.DeleteClientReq{Id: created.Id})
		if err != nil || r.NotFound {
			t.Fatalf("DeleteClient = %+v, %v", r, err)
		}
		if status, _ := tokenCall(t, e.issuer, created.Id, created.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}); status != http.StatusUnauthorized {
			t.Errorf("deleted client at /token: %d, want 401 at once", status)
		}
		r, err = dex.DeleteClient(ctx, &api.DeleteClientReq{Id: created.Id})
		if err != nil || !r.NotFound {
			t.Errorf("DeleteClient twice = %+v, %v", r, err)
		}
		_, err = dex.DeleteClient(ctx, &api.DeleteClientReq{Id: "static-app"})
		mustErr(t, "DeleteClient static", err, "static clients: read-only cannot delete client")
	})
	t.Run("connector CRUD is unimplemented", func(t *testing.T) {
		_, err := dex.ListConnectors(ctx, &api.ListConnectorReq{})
		if status.Code(err).String() != "Unimplemented" {
			t.Errorf("ListConnectors: %v, want Unimplemented", err)
		}
	})

	t.Run("mutual TLS: a client without a certificate is refused", func(t *testing.T) {
		_, err := e.dexClient(t, "", "").GetVersion(ctx, &api.VersionReq{})
		if err == nil {
			t.Fatal("GetVersion without a client certificate succeeded")
		}
	})
	t.Run("mutual TLS: a certificate from another CA is refused", func(t *testing.T) {
		other := newTestPKI(t, "other")
		cert, key := other.issue(t, "intruder")
		_, err := e.dexClient(t, cert, key).GetVersion(ctx, &api.VersionReq{})
		if err == nil {
			t.Fatal("GetVersion with a certificate of another CA succeeded")
		}
	})
	t.Run("plaintext is refused", func(t *testing.T) {
		conn, err := grpc.NewClient("passthrough:///"+e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := api.NewDexClient(conn).GetVersion(ctx, &api.VersionReq{}); err == nil {
			t.Fatal("plaintext call succeeded")
		}
	})
}

// authStatus is the status of GET /auth for the client and redirect URI.
func authStatus(t *testing.T, issuer, clientID, redirectURI string) (int, string) {
	t.Helper()
	resp, err := http.Get(issuer + "/auth?" + url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI},
		"response_type": {"code"}, "scope": {"openid"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func sortedCopy(v []string) []string {
	out := append([]string{}, v...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// subOf returns the sub of an ID token (its signature is checked by the
// server tests; here only the claim matters).
func subOf(t *testing.T, idToken string) string {
	t.Helper()
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", idToken)
	}
	b, err := base64URL(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Sub string `json:"sub"`
	}
	json.Unmarshal(b, &c)
	return c.Sub
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func adminSubject(userID, connID string) string { return adminapi.Subject(userID, connID) }
