package adminapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/dexidp/dex/api/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/memory"
)

// rawCodec sends and receives bytes as they are: the test's client encodes
// Dex master's messages by hand (field numbers and wire types straight from
// the proto), without torii's descriptor.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// wire is a decoded message: field number to its values in order.
type wire map[protowire.Number][]any

func decode(t *testing.T, b []byte) wire {
	t.Helper()
	w := wire{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				t.Fatal("bad varint")
			}
			w[num] = append(w[num], v)
			b = b[n:]
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				t.Fatal("bad bytes")
			}
			w[num] = append(w[num], string(v))
			b = b[n:]
		default:
			t.Fatalf("field %d has wire type %d; Dex's session messages use varint and length-delimited only", num, typ)
		}
	}
	return w
}

func (w wire) str(n protowire.Number) string {
	if len(w[n]) == 0 {
		return ""
	}
	return w[n][0].(string)
}

func (w wire) num(n protowire.Number) uint64 {
	if len(w[n]) == 0 {
		return 0
	}
	return w[n][0].(uint64)
}

func str(b []byte, n protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendString(b, s)
}

type sessionEnv struct {
	store *memory.Storage
	conn  *grpc.ClientConn
	audit *strings.Builder
	now   time.Time
}

func (e *sessionEnv) call(t *testing.T, method string, req []byte) (wire, error) {
	t.Helper()
	var resp []byte
	err := e.conn.Invoke(context.Background(), "/api.Dex/"+method, &req, &resp, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return nil, err
	}
	return decode(t, resp), nil
}

// startSessionAPI serves the API on a loopback port, with sessions of
// jane (two on local, one on ldap, one expired) and joe.
func startSessionAPI(t *testing.T) *sessionEnv {
	t.Helper()
	e := &sessionEnv{store: memory.New(), audit: &strings.Builder{}, now: time.Unix(1_800_000_000, 0).UTC()}
	ctx := context.Background()
	sess := func(id, conn, user string, created time.Time) storage.Session {
		return storage.Session{ID: id, ConnectorID: conn, Claims: storage.Claims{UserID: user, Email: user + "@example.com"},
			AuthTime: created, CreatedAt: created, LastUsed: created.Add(time.Minute),
			AbsoluteExpiry: created.Add(24 * time.Hour), IdleExpiry: created.Add(time.Hour), Clients: []string{"app", "other"}}
	}
	for _, s := range []storage.Session{
		sess("aaaaaaaaaaaaaaaa-jane-local-1", "local", "jane", e.now.Add(-10*time.Minute)),
		sess("bbbbbbbbbbbbbbbb-jane-local-2", "local", "jane", e.now.Add(-5*time.Minute)),
		sess("cccccccccccccccc-jane-ldap", "ldap", "jane", e.now.Add(-time.Minute)),
		sess("dddddddddddddddd-jane-expired", "local", "jane", e.now.Add(-3*time.Hour)),
		sess("eeeeeeeeeeeeeeee-joe", "local", "joe", e.now.Add(-time.Minute)),
	} {
		if err := e.store.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	tok := func(id, fam, sessionID string, scopes ...string) storage.RefreshToken {
		return storage.RefreshToken{ID: id, FamilyID: fam, ClientID: "app", ConnectorID: "local", Scopes: scopes,
			Claims: storage.Claims{UserID: "jane"}, FamilyCreatedAt: e.now, CreatedAt: e.now, SessionID: sessionID}
	}
	for _, r := range []storage.RefreshToken{
		tok("r1", "fam-online-1", "aaaaaaaaaaaaaaaa-jane-local-1", "openid"),
		tok("r2", "fam-offline-1", "aaaaaaaaaaaaaaaa-jane-local-1", "openid", "offline_access"),
		tok("r3", "fam-online-2", "bbbbbbbbbbbbbbbb-jane-local-2", "openid"),
	} {
		if err := e.store.CreateRefresh(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	svc := New(Config{Storage: e.store, Audit: audit.New(e.audit, nil), Now: func() time.Time { return e.now },
		ConnectorIDs: func() []string { return []string{"local", "ldap"} }, Version: "test"})
	g := grpc.NewServer()
	svc.Register(g)
	svc.RegisterReflection(g)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(ln)
	t.Cleanup(g.Stop)
	e.conn, err = grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.conn.Close() })
	return e
}

func (e *sessionEnv) revoked(t *testing.T, fam string) bool {
	t.Helper()
	r, err := e.store.GrantRevoked(context.Background(), fam)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSessionMethodsOnTheWire(t *testing.T) {
	e := startSessionAPI(t)

	// ListAuthSessionsReq{user_id = 1}
	resp, err := e.call(t, "ListAuthSessions", str(nil, 1, "jane"))
	if err != nil {
		t.Fatalf("ListAuthSessions: %v", err)
	}
	var got []string
	for _, raw := range resp[1] { // ListAuthSessionsResp.sessions = 1
		s := decode(t, []byte(raw.(string)))
		// AuthSession: user_id 1, connector_id 2, client_states 3,
		// created_at 4, last_activity 5, absolute_expiry 8, idle_expiry 9.
		got = append(got, s.str(1)+"@"+s.str(2))
		if s.num(4) == 0 || s.num(5) != s.num(4)+60 || s.num(8) != s.num(4)+24*3600 || s.num(9) != s.num(4)+3600 {
			t.Errorf("session times: created %d, last %d, absolute %d, idle %d", s.num(4), s.num(5), s.num(8), s.num(9))
		}
		if len(s[3]) != 2 {
			t.Fatalf("client_states = %d entries, want 2", len(s[3]))
		}
		// ClientAuthState: client_id 1, active 2, expires_at 3.
		cs := decode(t, []byte(s[3][0].(string)))
		if cs.str(1) != "app" || cs.num(2) != 1 || cs.num(3) != s.num(9) {
			t.Errorf("client state = %v", cs)
		}
		if id := s.str(ToriiIDField); len(id) != 16 {
			t.Errorf("torii_id = %q, want 16 characters", id)
		}
	}
	if want := []string{"jane@local", "jane@local", "jane@ldap"}; !slices.Equal(got, want) {
		t.Fatalf("sessions = %v, want %v (the expired one left out, joe's not listed)", got, want)
	}

	// DeleteAuthSessionReq{user_id 1, connector_id 2, torii_id 1000}: the
	// first local session only.
	req := str(str(str(nil, 1, "jane"), 2, "local"), ToriiIDField, "aaaaaaaaaaaaaaaa")
	if resp, err := e.call(t, "DeleteAuthSession", req); err != nil || resp.num(1) != 0 {
		t.Fatalf("DeleteAuthSession one = %v, %v", resp, err)
	}
	if _, err := e.store.GetSession(context.Background(), "aaaaaaaaaaaaaaaa-jane-local-1"); err == nil {
		t.Error("the session named by torii_id is still there")
	}
	if _, err := e.store.GetSession(context.Background(), "bbbbbbbbbbbbbbbb-jane-local-2"); err != nil {
		t.Errorf("the other local session was ended too: %v", err)
	}
	if !e.revoked(t, "fam-online-1") || e.revoked(t, "fam-offline-1") || e.revoked(t, "fam-online-2") {
		t.Errorf("revoked: online-1 %v (want true), offline-1 %v, online-2 %v (want false)",
			e.revoked(t, "fam-online-1"), e.revoked(t, "fam-offline-1"), e.revoked(t, "fam-online-2"))
	}
	// Again: nothing left to delete is not_found = 1 (true), as in Dex.
	if resp, err := e.call(t, "DeleteAuthSession", req); err != nil || resp.num(1) != 1 {
		t.Errorf("DeleteAuthSession again = %v, %v; want not_found", resp, err)
	}
	if resp, err := e.call(t, "DeleteAuthSession", str(str(nil, 1, "nobody"), 2, "local")); err != nil || resp.num(1) != 1 {
		t.Errorf("DeleteAuthSession of an unknown user = %v, %v; want not_found", resp, err)
	}

	// Dex's refusals: plain errors (code Unknown) with Dex's messages.
	for _, tc := range []struct {
		method string
		req    []byte
		msg    string
	}{
		{"DeleteAuthSession", str(nil, 2, "local"), "no user_id supplied"},
		{"DeleteAuthSession", str(nil, 1, "jane"), "no connector_id supplied"},
		{"TerminateSessionsByUser", nil, "no user_id supplied"},
		{"GetAuthSession", str(nil, 2, "local"), "no user_id supplied"},
		{"GetAuthSession", str(nil, 1, "jane"), "no connector_id supplied"},
		{"GetAuthSession", str(str(nil, 1, "nobody"), 2, "local"), "not found"},
		{"TerminateSessionsByConnector", nil, "no connector_id supplied"},
	} {
		_, err := e.call(t, tc.method, tc.req)
		if st, _ := status.FromError(err); err == nil || st.Code() != codes.Unknown || !strings.HasPrefix(st.Message(), tc.msg) {
			t.Errorf("%s(%x) = %v; want code Unknown %q", tc.method, tc.req, err, tc.msg)
		}
	}

	// TerminateSessionsByUserReq{user_id 1}: every connector.
	resp, err = e.call(t, "TerminateSessionsByUser", str(nil, 1, "jane"))
	if err != nil || resp.num(1) != 2 {
		t.Fatalf("TerminateSessionsByUser = %v, %v; want sessions_terminated 2", resp, err)
	}
	if !e.revoked(t, "fam-online-2") || e.revoked(t, "fam-offline-1") {
		t.Error("terminate: the session's online family must be revoked, the offline one kept")
	}
	if resp, err := e.call(t, "TerminateSessionsByUser", str(nil, 1, "jane")); err != nil || resp.num(1) != 0 {
		t.Errorf("TerminateSessionsByUser again = %v, %v; want 0 (not an error)", resp, err)
	}
	if _, err := e.store.GetSession(context.Background(), "eeeeeeeeeeeeeeee-joe"); err != nil {
		t.Errorf("joe's session was ended: %v", err)
	}

	// Every change is an admin_change naming the user.
	var details []string
	for _, line := range strings.Split(strings.TrimSpace(e.audit.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["event"] != "admin_change" || rec["sub"] != Subject("jane", rec["connector_id"].(string)) {
			t.Errorf("audit record %v", rec)
		}
		details = append(details, fmt.Sprint(rec["detail"], "@", rec["connector_id"]))
	}
	if want := []string{"session deleted@local", "sessions terminated@local", "sessions terminated@ldap"}; !slices.Equal(details, want) {
		t.Errorf("audit = %v, want %v", details, want)
	}

	// The v2.4.0 methods are still served, by the same service.
	v, err := api.NewDexClient(e.conn).GetVersion(context.Background(), &api.VersionReq{})
	if err != nil || v.Server != "test" || v.Api != 4 {
		t.Errorf("GetVersion = %v, %v; want server test, api 4 (Dex master's)", v, err)
	}
}

// Reflection describes api.Dex with the session methods, so grpcurl and
// similar tools can call them.
func TestReflectionDescribesSessionMethods(t *testing.T) {
	e := startSessionAPI(t)
	stream, err := reflectionv1.NewServerReflectionClient(e.conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "api.Dex"}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	files := resp.GetFileDescriptorResponse().GetFileDescriptorProto()
	if len(files) != 1 {
		t.Fatalf("reflection returned %d files: %v", len(files), resp)
	}
	var fd descriptorpb.FileDescriptorProto
	if err := proto.Unmarshal(files[0], &fd); err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, m := range fd.GetService()[0].GetMethod() {
		methods = append(methods, m.GetName()+"("+m.GetInputType()+")")
	}
	for _, want := range []string{"GetVersion(.api.VersionReq)", "ListAuthSessions(.api.ListAuthSessionsReq)",
		"DeleteAuthSession(.api.DeleteAuthSessionReq)", "TerminateSessionsByUser(.api.TerminateSessionsByUserReq)",
		"GetAuthSession(.api.GetAuthSessionReq)", "TerminateSessionsByConnector(.api.TerminateSessionsByConnectorReq)"} {
		if !slices.Contains(methods, want) {
			t.Errorf("api.Dex methods %v lack %s", methods, want)
		}
	}
}

// The Go client round-trips what the server sends.
func TestSessionClient(t *testing.T) {
	e := startSessionAPI(t)
	c, err := NewSessionClient(e.conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := c.ListAuthSessions(ctx, ListAuthSessionsReq{UserID: "joe"})
	if err != nil || len(l.Sessions) != 1 {
		t.Fatalf("ListAuthSessions = %v, %v", l, err)
	}
	s := l.Sessions[0]
	want := AuthSession{UserID: "joe", ConnectorID: "local", CreatedAt: e.now.Add(-time.Minute).Unix(), LastActivity: e.now.Unix(),
		AbsoluteExpiry: e.now.Add(-time.Minute + 24*time.Hour).Unix(), IdleExpiry: e.now.Add(-time.Minute + time.Hour).Unix(), ToriiID: "eeeeeeeeeeeeeeee",
		ClientStates: []ClientAuthState{{ClientID: "app", Active: true, ExpiresAt: e.now.Add(-time.Minute + time.Hour).Unix()},
			{ClientID: "other", Active: true, ExpiresAt: e.now.Add(-time.Minute + time.Hour).Unix()}}}
	if fmt.Sprint(s) != fmt.Sprint(want) {
		t.Errorf("session\n got %+v\nwant %+v", s, want)
	}
	if d, err := c.DeleteAuthSession(ctx, DeleteAuthSessionReq{UserID: "joe", ConnectorID: "local", ToriiID: "ffffffffffffffff"}); err != nil || !d.NotFound {
		t.Errorf("DeleteAuthSession of another id = %v, %v; want not found", d, err)
	}
	if d, err := c.DeleteAuthSession(ctx, DeleteAuthSessionReq{UserID: "joe", ConnectorID: "local"}); err != nil || d.NotFound {
		t.Errorf("DeleteAuthSession = %v, %v", d, err)
	}
	if n, err := c.TerminateSessionsByUser(ctx, TerminateSessionsByUserReq{UserID: "jane"}); err != nil || n.SessionsTerminated != 3 {
		t.Errorf("TerminateSessionsByUser = %v, %v; want 3", n, err)
	}
}
