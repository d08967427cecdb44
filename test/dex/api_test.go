package dextest

import (
	"path/filepath"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/dexidp/dex/api/v2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/torii-idp/torii/internal/testlogin"
)

// apiFromDex creates a client and a user through Dex's gRPC API, logs that
// user in through that client, and checks torii takes both over, with the
// client's refresh token.
func apiFromDex(t *testing.T, bins binaries, dir string) {
	ctx := t.Context()
	addr, grpcAddr := freeAddr(t), freeAddr(t)
	issuer := "http://" + addr + "/dex"
	cfgPath := writeConfig(t, filepath.Join(dir, "config.yaml"), issuer, addr,
		map[string]any{"type": "sqlite3", "config": map[string]any{"file": filepath.Join(dir, "dex.db")}},
		map[string]any{"grpc": map[string]any{"addr": grpcAddr}})
	dex := start(t, dir, "dex", bins.dex, "serve", cfgPath)
	dexProvider := waitProvider(t, issuer)
	conn, err := grpc.NewClient("passthrough:///"+grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dc := api.NewDexClient(conn)
	redirect := "http://127.0.0.1:5555/api-callback"
	if _, err := dc.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Id: "api-app", Secret: "api-app-secret", RedirectUris: []string{redirect}, Name: "API App"}}); err != nil {
		t.Fatal(err)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("carol's password"), bcrypt.DefaultCost)
	if _, err := dc.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{Email: "carol@example.com", Hash: hash, Username: "carol", UserId: "carol-id"}}); err != nil {
		t.Fatal(err)
	}
	oc := &oauth2.Config{ClientID: "api-app", ClientSecret: "api-app-secret", RedirectURL: redirect, Endpoint: dexProvider.Endpoint(),
		Scopes: []string{oidc.ScopeOpenID, "email", oidc.ScopeOfflineAccess}}
	tok, err := oc.Exchange(ctx, login(t, oc, "carol@example.com", "carol's password", "n-carol"))
	if err != nil {
		t.Fatal(err)
	}
	want := testlogin.VerifyClaims(t, dexProvider.Verifier(&oidc.Config{ClientID: "api-app"}), testlogin.IDToken(t, tok))
	dex.stop(t)

	out := runTorii(t, bins, "import-dex", cfgPath, cfgPath)
	mustContain(t, "import", out, "imported:      client api-app", "imported:      password carol@example.com", "refresh tokens: 1 imported")
	start(t, dir, "torii", bins.torii, "serve", cfgPath)
	p := waitProvider(t, issuer)
	oc.Endpoint = p.Endpoint()
	next := testlogin.Refresh(t, oc, tok.RefreshToken)
	if got := testlogin.VerifyClaims(t, p.Verifier(&oidc.Config{ClientID: "api-app"}), testlogin.IDToken(t, next)); got.Subject != want.Subject || got.Email != "carol@example.com" {
		t.Fatalf("refreshed claims %+v, want %+v", got, want)
	}
	// The imported user logs in at torii through the imported client.
	if _, err := oc.Exchange(ctx, login(t, oc, "carol@example.com", "carol's password", "n-carol-2")); err != nil {
		t.Fatalf("login at torii with the imported client and user: %v", err)
	}
}
