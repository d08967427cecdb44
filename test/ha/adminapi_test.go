package ha_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"testing"

	api "github.com/dexidp/dex/api/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/torii-idp/torii/internal/testpg"
	"github.com/torii-idp/torii/server/adminapi"
	"github.com/torii-idp/torii/storage"
)

// adminAPI serves Dex's gRPC API on replica r's storage (loopback, no TLS)
// and returns Dex's own Go client for it.
func adminAPI(t *testing.T, r *replica, store storage.Storage, clk *clock) api.DexClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	adminapi.New(adminapi.Config{Storage: store, Issuer: r.Issuer, Handler: r.Torii, Version: "test", Now: clk.Now}).Register(g)
	go g.Serve(ln)
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return api.NewDexClient(conn)
}

// TestAdminAPIAcrossReplicas: a client created through replica A's admin
// API completes a code flow on replica B at once; revoking one family of
// the user through A is seen by B while the user's other family works.
func TestAdminAPIAcrossReplicas(t *testing.T) {
	clk := newClock()
	dsn := testpg.DSN(t)
	storeA := openPostgres(t, dsn)
	d := newDeployment(t, clk, []storage.Storage{storeA, openPostgres(t, dsn)})
	a, b := d.Replicas[0], d.Replicas[1]
	ctx := context.Background()
	dex := adminAPI(t, a, storeA, clk)

	const ciRedirect = "https://ci.example/callback"
	resp, err := dex.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Name: "from CI", RedirectUris: []string{ciRedirect}}})
	if err != nil || resp.AlreadyExists {
		t.Fatalf("CreateClient through A: %+v %v", resp, err)
	}
	ci := resp.Client

	// On B only, right away: no restart, no cache to wait for.
	code := newBrowser(t, d.Issuer, b.Srv.URL).LoginCodeFor(ci.Id, ciRedirect)
	tr, err := b.TokenAs(ci.Id, ci.Secret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {ciRedirect}})
	if err != nil || tr.Status != http.StatusOK || tr.IDToken == "" || tr.RefreshToken == "" {
		t.Fatalf("code flow of the new client on B: %v %v", tr, err)
	}

	// Two families of the static client for the same user.
	fam1 := a.PasswordLogin()
	fam2 := b.PasswordLogin()
	sub := adminapi.Subject(janeUserID, "local")
	list, err := dex.ListRefresh(ctx, &api.ListRefreshReq{UserId: sub})
	if err != nil || len(list.RefreshTokens) != 3 {
		t.Fatalf("ListRefresh: %v %v; want three families (two of %s, one of %s)", list, err, clientID, ci.Id)
	}

	// Revoke the CI client's family through A: refused on B at once.
	rr, err := dex.RevokeRefresh(ctx, &api.RevokeRefreshReq{UserId: sub, ClientId: ci.Id})
	if err != nil || rr.NotFound {
		t.Fatalf("RevokeRefresh: %+v %v", rr, err)
	}
	got, err := b.TokenAs(ci.Id, ci.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}})
	if err != nil || got.Status != http.StatusBadRequest || got.Error != "invalid_grant" {
		t.Errorf("revoked family on B: %v %v; want invalid_grant", got, err)
	}
	for i, f := range []tokenResponse{fam1, fam2} {
		if got, err := b.Refresh(f.RefreshToken); err != nil || got.Status != http.StatusOK {
			t.Errorf("the user's other family %d on B: %v %v", i+1, got, err)
		}
	}

	// Deleted through A: B refuses the client at once.
	if del, err := dex.DeleteClient(ctx, &api.DeleteClientReq{Id: ci.Id}); err != nil || del.NotFound {
		t.Fatalf("DeleteClient: %+v %v", del, err)
	}
	got, err = b.TokenAs(ci.Id, ci.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}})
	if err != nil || got.Status != http.StatusUnauthorized {
		t.Errorf("deleted client on B: %v %v; want 401", got, err)
	}
}
