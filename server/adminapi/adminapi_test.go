package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	api "github.com/dexidp/dex/api/v2"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/memory"
)

// downStore is a storage whose backend fails every call the API makes.
type downStore struct{ storage.Storage }

var errDown = errors.Join(storage.ErrUnavailable, errors.New("connection refused"))

func (downStore) GetClient(context.Context, string) (storage.Client, error) {
	return storage.Client{}, errDown
}
func (downStore) CreateClient(context.Context, storage.Client) error    { return errDown }
func (downStore) ListClients(context.Context) ([]storage.Client, error) { return nil, errDown }
func (downStore) ListUserRefresh(context.Context, string, string) ([]storage.RefreshToken, error) {
	return nil, errDown
}

func TestStorageFailuresAreErrors(t *testing.T) {
	s := New(Config{Storage: downStore{memory.New()}})
	ctx := context.Background()
	_, err := s.GetClient(ctx, &api.GetClientReq{Id: "x"})
	if err == nil || err == errNotFound || !strings.Contains(err.Error(), "get client: ") {
		t.Errorf("GetClient with storage down: %v; want an error, not \"not found\"", err)
	}
	if _, err := s.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Id: "x", RedirectUris: []string{"https://a.example/cb"}}}); err == nil ||
		!strings.HasPrefix(err.Error(), "create client: ") {
		t.Errorf("CreateClient with storage down: %v", err)
	}
	if _, err := s.ListRefresh(ctx, &api.ListRefreshReq{UserId: Subject("u", "local")}); err == nil {
		t.Error("ListRefresh with storage down: no error")
	}
}

func TestFamiliesOfOneLogin(t *testing.T) {
	store := memory.New()
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0).UTC()
	tok := func(id, fam string, lastUsed time.Time) storage.RefreshToken {
		return storage.RefreshToken{ID: id, FamilyID: fam, ClientID: "app", ConnectorID: "local",
			Claims: storage.Claims{UserID: "u"}, FamilyCreatedAt: now, CreatedAt: now, LastUsed: lastUsed}
	}
	// Two current tokens of one family (a reuse inside the grace window)
	// are one family; another login is another.
	for _, r := range []storage.RefreshToken{tok("a1", "fam-a", now.Add(time.Minute)), tok("a2", "fam-a", now.Add(2*time.Minute)), tok("b1", "fam-b", time.Time{})} {
		if err := store.CreateRefresh(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	s := New(Config{Storage: store, Now: func() time.Time { return now }})
	resp, err := s.ListRefresh(ctx, &api.ListRefreshReq{UserId: Subject("u", "local")})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.RefreshTokens) != 2 || resp.RefreshTokens[0].Id != "fam-a" || resp.RefreshTokens[0].LastUsed != now.Add(2*time.Minute).Unix() ||
		resp.RefreshTokens[1].LastUsed != now.Unix() {
		t.Fatalf("ListRefresh = %v", resp.RefreshTokens)
	}
	if _, err := s.RevokeRefresh(ctx, &api.RevokeRefreshReq{UserId: Subject("u", "local"), ClientId: "app"}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"fam-a", "fam-b"} {
		if revoked, _ := store.GrantRevoked(ctx, g); !revoked {
			t.Errorf("%s not revoked", g)
		}
	}
}

func TestBounds(t *testing.T) {
	s := New(Config{Storage: memory.New()})
	ctx := context.Background()
	long := strings.Repeat("x", maxTextLen+1)
	if _, err := s.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Name: long}}); err == nil {
		t.Error("CreateClient with an over-long name accepted")
	}
	if _, err := s.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Id: strings.Repeat("i", maxIDLen+1), Public: true}}); err == nil {
		t.Error("CreateClient with an over-long id accepted")
	}
	if _, err := s.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Secret: strings.Repeat("s", 73), RedirectUris: []string{"https://a.example/cb"}}}); err == nil {
		t.Error("CreateClient with a 73-byte secret accepted (bcrypt would truncate it)")
	}
	if _, err := s.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Id: server.BuiltinClientID, Public: true}}); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("CreateClient with the built-in client's ID: err = %v, want it refused", err)
	}
}

func TestChangesAreAudited(t *testing.T) {
	var out strings.Builder
	s := New(Config{Storage: memory.New(), Audit: audit.New(&out, nil)})
	ctx := context.Background()
	resp, err := s.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Id: "ci-app", RedirectUris: []string{"https://a.example/cb"}}})
	if err != nil || resp.AlreadyExists {
		t.Fatalf("CreateClient: %v %v", resp, err)
	}
	if _, err := s.DeleteClient(ctx, &api.DeleteClientReq{Id: "ci-app"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("audit lines = %q, want 2", lines)
	}
	for i, want := range []string{"client created", "client deleted"} {
		var e map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &e); err != nil {
			t.Fatal(err)
		}
		if e["event"] != "admin_change" || e["detail"] != want || e["client_id"] != "ci-app" {
			t.Errorf("audit line %d = %v, want admin_change %q for ci-app", i, e, want)
		}
		if strings.Contains(lines[i], resp.Client.GetSecret()) {
			t.Errorf("audit line %d carries the client secret", i)
		}
	}
}
