package dexmigrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage/memory"
)

// fakeObjects serves fixed objects per plural. With restartAfter > 0 it
// feeds that many objects, then (as after a 410 Gone) calls reset and
// lists again from the start, once.
type fakeObjects struct {
	objects      map[string][]string
	restartAfter int
	listed       []string
	err          map[string]error
}

func (f *fakeObjects) List(_ context.Context, plural string, reset func(), fn func([]byte) error) error {
	f.listed = append(f.listed, plural)
	if err := f.err[plural]; err != nil {
		return err
	}
	objs := f.objects[plural]
	if f.restartAfter > 0 && len(objs) > f.restartAfter {
		for _, o := range objs[:f.restartAfter] {
			if err := fn([]byte(o)); err != nil {
				return err
			}
		}
		reset()
	}
	for _, o := range objs {
		if err := fn([]byte(o)); err != nil {
			return err
		}
	}
	return nil
}

// Fixtures in the JSON shapes Dex v2.45.1's kubernetes storage writes
// (storage/kubernetes/types.go there): fields at the top level, no spec;
// CreatedAt and LastUsed spelt as Go fields; []byte as base64; clients and
// passwords named by a hash Dex computes, which the import never rebuilds.
const (
	fixtureKeys = `{"apiVersion":"dex.coreos.com/v1","kind":"SigningKey","metadata":{"name":"openid-connect-keys","namespace":"auth","resourceVersion":"41"},
	 "signingKey":{"use":"sig","kty":"RSA","kid":"priv","alg":"RS256","n":"AQAB","e":"AQAB","d":"AQAB"},
	 "signingKeyPub":%s,
	 "verificationKeys":[{"publicKey":%s,"expiry":"2026-03-04T10:00:00Z"}],
	 "nextRotation":"2026-03-04T12:00:00+02:00"}`
	fixtureRefresh = `{"apiVersion":"dex.coreos.com/v1","kind":"RefreshToken","metadata":{"name":"%s","namespace":"auth"},
	 "CreatedAt":"2026-03-01T09:00:00Z","LastUsed":"2026-03-04T08:00:00.123456789Z",
	 "clientID":"example-app","scopes":["openid","email","groups","offline_access"],
	 "token":"tok-%[1]s","obsoleteToken":"%s","nonce":"n-1",
	 "claims":{"userID":"08a8684b","username":"alice","preferredUsername":"ali","email":"alice@example.com","emailVerified":true,"groups":["admins","developers"]},
	 "connectorID":"local","connectorData":"eyJrIjoidiJ9"}`
	fixtureClient = `{"apiVersion":"dex.coreos.com/v1","kind":"OAuth2Client","metadata":{"name":"nbswy3dpeb3w64tmmqqq"},
	 "id":"grafana","secret":"s3cr3t","redirectURIs":["https://grafana.example.com/login/generic_oauth"],"public":false,"name":"Grafana","logoURL":"https://example.com/g.png"}`
	fixturePublicClient = `{"apiVersion":"dex.coreos.com/v1","kind":"OAuth2Client","metadata":{"name":"mfzwizltmfzgk"},"id":"cli","public":true,"name":"CLI","trustedPeers":["grafana"]}`
	fixturePassword     = `{"apiVersion":"dex.coreos.com/v1","kind":"Password","metadata":{"name":"mnqxe33mebuw4"},
	 "email":"carol@example.com","hash":"JDJhJDEwJGFiYw==","username":"carol","userID":"c-1","emailVerified":false}`
	fixtureOffline   = `{"apiVersion":"dex.coreos.com/v1","kind":"OfflineSessions","metadata":{"name":"x"},"userID":"08a8684b","connID":"local","refresh":{"example-app":{"ID":"r1","ClientID":"example-app"}}}`
	fixtureConnector = `{"apiVersion":"dex.coreos.com/v1","kind":"Connector","metadata":{"name":"github"},"id":"github","type":"github","name":"GitHub","config":"e30="}`
)

func fixtureSource(t *testing.T) *fakeObjects {
	pub, old := string(testJWK(t, "dex-signing")), string(testJWK(t, "dex-old"))
	return &fakeObjects{objects: map[string][]string{
		// Another object in the kind is not Dex's keys.
		"signingkeies":      {fmt.Sprintf(fixtureKeys, pub, old), `{"metadata":{"name":"something-else"},"signingKeyPub":null}`},
		"refreshtokens":     {fmt.Sprintf(fixtureRefresh, "zz2", ""), fmt.Sprintf(fixtureRefresh, "aa1", "old-aa1")},
		"oauth2clients":     {fixtureClient, fixturePublicClient},
		"passwords":         {fixturePassword},
		"offlinesessionses": {fixtureOffline, fixtureOffline},
		"connectors":        {fixtureConnector},
	}}
}

func TestReadObjects(t *testing.T) {
	src := fixtureSource(t)
	snap, err := ReadObjects(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"signingkeies", "refreshtokens", "oauth2clients", "passwords", "offlinesessionses", "connectors"}; !slices.Equal(src.listed, want) {
		t.Fatalf("listed %v, want %v", src.listed, want)
	}
	k := snap.Keys
	if k == nil || !strings.Contains(string(k.SigningKeyPub), `"dex-signing"`) || len(k.VerificationKeys) != 1 ||
		!strings.Contains(string(k.VerificationKeys[0].JWK), `"dex-old"`) {
		t.Fatalf("keys %+v", k)
	}
	if want := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC); !k.NextRotation.Equal(want) || k.NextRotation.Location() != time.UTC || !k.VerificationKeys[0].Expiry.Equal(want) {
		t.Fatalf("nextRotation %v, verification expiry %v", k.NextRotation, k.VerificationKeys[0].Expiry)
	}
	if strings.Contains(string(k.SigningKeyPub), `"d"`) {
		t.Fatal("the private key was read")
	}
	if len(snap.RefreshTokens) != 2 {
		t.Fatalf("%d refresh tokens", len(snap.RefreshTokens))
	}
	r := snap.RefreshTokens[0] // sorted by ID
	want := RefreshToken{
		ID: "aa1", Token: "tok-aa1", ObsoleteToken: "old-aa1",
		CreatedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), LastUsed: time.Date(2026, 3, 4, 8, 0, 0, 123456789, time.UTC),
		ClientID: "example-app", Scopes: []string{"openid", "email", "groups", "offline_access"}, Nonce: "n-1",
		ConnectorID: "local", ConnectorData: []byte(`{"k":"v"}`),
		UserID: "08a8684b", Username: "alice", PreferredUsername: "ali", Email: "alice@example.com", EmailVerified: true,
		Groups: []string{"admins", "developers"},
	}
	if fmt.Sprintf("%+v", r) != fmt.Sprintf("%+v", want) {
		t.Fatalf("refresh token\n got %+v\nwant %+v", r, want)
	}
	if snap.RefreshTokens[1].ID != "zz2" || snap.RefreshTokens[1].ObsoleteToken != "" {
		t.Fatalf("second token %+v", snap.RefreshTokens[1])
	}
	if len(snap.Clients) != 2 || snap.Clients[0].ID != "cli" || !snap.Clients[0].Public || !slices.Equal(snap.Clients[0].TrustedPeers, []string{"grafana"}) ||
		snap.Clients[1].ID != "grafana" || snap.Clients[1].Secret != "s3cr3t" || snap.Clients[1].LogoURL != "https://example.com/g.png" ||
		!slices.Equal(snap.Clients[1].RedirectURIs, []string{"https://grafana.example.com/login/generic_oauth"}) {
		t.Fatalf("clients %+v", snap.Clients)
	}
	p := snap.Passwords
	if len(p) != 1 || p[0].Email != "carol@example.com" || string(p[0].Hash) != "$2a$10$abc" || p[0].UserID != "c-1" || p[0].EmailVerified == nil || *p[0].EmailVerified {
		t.Fatalf("passwords %+v", p)
	}
	if snap.OfflineSessions != 2 {
		t.Fatalf("offline sessions %d", snap.OfflineSessions)
	}
	if len(snap.Connectors) != 1 || snap.Connectors[0] != (Connector{ID: "github", Type: "github", Name: "GitHub"}) {
		t.Fatalf("connectors %+v", snap.Connectors)
	}
}

// A list that starts again (its continue token expired) yields each
// object once.
func TestReadObjectsRestartedList(t *testing.T) {
	src := fixtureSource(t)
	src.restartAfter = 1
	snap, err := ReadObjects(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.RefreshTokens) != 2 || len(snap.Clients) != 2 || snap.OfflineSessions != 2 || snap.Keys == nil {
		t.Fatalf("after a restarted list: %d tokens, %d clients, %d offline sessions, keys %v",
			len(snap.RefreshTokens), len(snap.Clients), snap.OfflineSessions, snap.Keys != nil)
	}
}

func TestReadObjectsErrors(t *testing.T) {
	denied := errors.New("forbidden")
	for name, mod := range map[string]func(*fakeObjects){
		"list refused": func(f *fakeObjects) { f.err = map[string]error{"passwords": denied} },
		"not JSON":     func(f *fakeObjects) { f.objects["refreshtokens"] = []string{`{"metadata":`} },
		"wrong type": func(f *fakeObjects) {
			f.objects["refreshtokens"] = []string{`{"metadata":{"name":"r1"},"scopes":"openid"}`}
		},
		"token without name": func(f *fakeObjects) { f.objects["refreshtokens"] = []string{`{"metadata":{},"token":"t"}`} },
		"client without id":  func(f *fakeObjects) { f.objects["oauth2clients"] = []string{`{"metadata":{"name":"h"},"secret":"s"}`} },
		"password no email":  func(f *fakeObjects) { f.objects["passwords"] = []string{`{"metadata":{"name":"h"},"hash":"YQ=="}`} },
		"bad timestamp": func(f *fakeObjects) {
			f.objects["refreshtokens"] = []string{`{"metadata":{"name":"r1"},"CreatedAt":"yesterday"}`}
		},
		"hash is not base64": func(f *fakeObjects) {
			f.objects["passwords"] = []string{`{"metadata":{"name":"h"},"email":"a@b","hash":"$2a$"}`}
		},
		"keys not an object": func(f *fakeObjects) { f.objects["signingkeies"] = []string{`[]`} },
	} {
		t.Run(name, func(t *testing.T) {
			src := fixtureSource(t)
			mod(src)
			_, err := ReadObjects(context.Background(), src)
			if err == nil {
				t.Fatal("read")
			}
			if name == "list refused" && !errors.Is(err, denied) {
				t.Fatalf("the cause is lost: %v", err)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "tok-") {
				t.Fatalf("the error shows a secret: %v", err)
			}
			t.Log(err)
		})
	}
}

// An import from objects is the import from tables: the token Dex handed
// out for (name, token) is what torii now accepts.
func TestImportFromObjects(t *testing.T) {
	snap, err := ReadObjects(context.Background(), fixtureSource(t))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	store := memory.New()
	o := Options{Now: func() time.Time { return now }, Connectors: map[string]bool{"local": true}, Clients: map[string]bool{"example-app": true},
		PasswordConnector: "local", Refresh: server.RefreshExpiry{ReuseInterval: time.Second}}
	rep, err := Import(context.Background(), snap, store, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := rep.Count(KindRefreshToken, Imported); n != 2 {
		t.Fatalf("%d tokens imported:\n%+v", n, rep.Items)
	}
	got, err := store.GetRefresh(context.Background(), server.TokenID(RefreshTokenString("aa1", "tok-aa1")))
	if err != nil || got.FamilyID != FamilyPrefix+"aa1" || got.Claims.Email != "alice@example.com" || string(got.ConnectorData) != `{"k":"v"}` {
		t.Fatalf("imported token %+v, %v", got, err)
	}
	if rep.Count(KindConnector, Skipped) != 1 || rep.Count(KindClient, Imported) != 2 || rep.Count(KindPassword, Imported) != 1 {
		t.Fatalf("report %+v", rep.Items)
	}
	var out strings.Builder
	rep.Print(&out)
	if !strings.Contains(out.String(), "skipped:       connector github (type github, \"GitHub\"): created through Dex's API") ||
		!strings.Contains(out.String(), "connectors: 0 imported, 0 unchanged, 1 skipped") {
		t.Fatalf("report:\n%s", out.String())
	}
	again, err := Import(context.Background(), snap, store, o)
	if err != nil || again.Changed() {
		t.Fatalf("second import changed something (%v):\n%+v", err, again.Items)
	}
}

// Tokens are imported several at once; the report keeps Dex's order and
// the first error stops the run.
func TestImportConcurrent(t *testing.T) {
	now := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	var snap Snapshot
	for i := range 100 {
		snap.RefreshTokens = append(snap.RefreshTokens, RefreshToken{ID: fmt.Sprintf("t%03d", i), Token: "s", ClientID: "app", ConnectorID: "local",
			CreatedAt: now.Add(-time.Hour), LastUsed: now})
	}
	o := Options{Now: func() time.Time { return now }, Connectors: map[string]bool{"local": true}, Clients: map[string]bool{"app": true}, Workers: 7}
	rep, err := Import(context.Background(), snap, memory.New(), o)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range rep.Items {
		if it.Kind == KindRefreshToken {
			ids = append(ids, it.ID)
		}
	}
	if len(ids) != 100 || !slices.IsSorted(ids) || rep.Count(KindRefreshToken, Imported) != 100 {
		t.Fatalf("report order %v, %d imported", ids, rep.Count(KindRefreshToken, Imported))
	}

	boom := errors.New("boom")
	var ran atomic.Int64
	err = forEach(context.Background(), 1000, 4, func(ctx context.Context, i int) error {
		ran.Add(1)
		if i == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || ran.Load() == 1000 {
		t.Fatalf("forEach: %v after %d calls; want boom, and a stop", err, ran.Load())
	}
	if err := forEach(context.Background(), 0, 4, func(context.Context, int) error { return boom }); err != nil {
		t.Fatal(err)
	}
}
