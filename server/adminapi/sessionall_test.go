package adminapi

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/torii-idp/torii/storage"
)

// ListAuthSessions without user_id, GetAuthSession and
// TerminateSessionsByConnector, encoded by field number.
func TestAllSessionsOnTheWire(t *testing.T) {
	e := startSessionAPI(t)

	// ListAuthSessionsReq{} (user_id empty): every live session, as Dex.
	resp, err := e.call(t, "ListAuthSessions", nil)
	if err != nil {
		t.Fatalf("ListAuthSessions(all): %v", err)
	}
	var got []string
	for _, raw := range resp[1] {
		s := decode(t, []byte(raw.(string)))
		got = append(got, s.str(1)+"@"+s.str(2)+"#"+s.str(ToriiIDField))
	}
	slices.Sort(got)
	want := []string{"jane@ldap#cccccccccccccccc", "jane@local#aaaaaaaaaaaaaaaa", "jane@local#bbbbbbbbbbbbbbbb", "joe@local#eeeeeeeeeeeeeeee"}
	if !slices.Equal(got, want) {
		t.Fatalf("all sessions = %v, want %v (the expired one left out)", got, want)
	}

	// GetAuthSessionReq{user_id 1, connector_id 2}: the session used last;
	// GetAuthSessionResp.session = 1.
	resp, err = e.call(t, "GetAuthSession", str(str(nil, 1, "jane"), 2, "local"))
	if err != nil {
		t.Fatalf("GetAuthSession: %v", err)
	}
	s := decode(t, []byte(resp.str(1)))
	if s.str(1) != "jane" || s.str(2) != "local" || s.str(ToriiIDField) != "bbbbbbbbbbbbbbbb" || s.num(5) != uint64(e.now.Add(-4*time.Minute).Unix()) {
		t.Errorf("GetAuthSession(jane, local) = %v; want the later local session", s)
	}
	// With torii_id (1000): that one.
	resp, err = e.call(t, "GetAuthSession", str(str(str(nil, 1, "jane"), 2, "local"), ToriiIDField, "aaaaaaaaaaaaaaaa"))
	if err != nil || decode(t, []byte(resp.str(1))).str(ToriiIDField) != "aaaaaaaaaaaaaaaa" {
		t.Errorf("GetAuthSession(torii_id aaaa...) = %v, %v", resp, err)
	}
	// An expired session is not found, like none.
	if _, err := e.call(t, "GetAuthSession", str(str(str(nil, 1, "jane"), 2, "local"), ToriiIDField, "dddddddddddddddd")); status.Code(err) != codes.Unknown || !strings.Contains(fmt.Sprint(err), "not found") {
		t.Errorf("GetAuthSession(expired) = %v; want not found", err)
	}

	// TerminateSessionsByConnectorReq{connector_id 1}: jane's two and joe's
	// one on local; ldap's stays. sessions_terminated = 1.
	resp, err = e.call(t, "TerminateSessionsByConnector", str(nil, 1, "local"))
	if err != nil || resp.num(1) != 3 {
		t.Fatalf("TerminateSessionsByConnector(local) = %v, %v; want 3", resp, err)
	}
	for _, id := range []string{"aaaaaaaaaaaaaaaa-jane-local-1", "bbbbbbbbbbbbbbbb-jane-local-2", "eeeeeeeeeeeeeeee-joe"} {
		if _, err := e.store.GetSession(context.Background(), id); err == nil {
			t.Errorf("%s survived TerminateSessionsByConnector(local)", id)
		}
	}
	if _, err := e.store.GetSession(context.Background(), "cccccccccccccccc-jane-ldap"); err != nil {
		t.Errorf("the ldap session was ended: %v", err)
	}
	if !e.revoked(t, "fam-online-1") || !e.revoked(t, "fam-online-2") || e.revoked(t, "fam-offline-1") {
		t.Error("terminate by connector: the sessions' online families must be revoked, the offline one kept")
	}
	if resp, err := e.call(t, "TerminateSessionsByConnector", str(nil, 1, "local")); err != nil || resp.num(1) != 0 {
		t.Errorf("TerminateSessionsByConnector again = %v, %v; want 0", resp, err)
	}
	if resp, err := e.call(t, "TerminateSessionsByConnector", str(nil, 1, "no-such-connector")); err != nil || resp.num(1) != 0 {
		t.Errorf("TerminateSessionsByConnector(unknown) = %v, %v; want 0", resp, err)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(e.audit.String())), &rec); err != nil {
		t.Fatalf("audit: want one record: %q: %v", e.audit.String(), err)
	}
	if rec["event"] != "admin_change" || rec["connector_id"] != "local" || rec["detail"] != "sessions terminated by connector (3)" {
		t.Errorf("audit record %v", rec)
	}
}

// The Go client's GetAuthSession and TerminateSessionsByConnector.
func TestSessionClientAll(t *testing.T) {
	e := startSessionAPI(t)
	c, err := NewSessionClient(e.conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g, err := c.GetAuthSession(ctx, GetAuthSessionReq{UserID: "joe", ConnectorID: "local"})
	if err != nil || g.Session.ToriiID != "eeeeeeeeeeeeeeee" || len(g.Session.ClientStates) != 2 {
		t.Errorf("GetAuthSession = %+v, %v", g, err)
	}
	all, err := c.ListAuthSessions(ctx, ListAuthSessionsReq{})
	if err != nil || len(all.Sessions) != 4 {
		t.Errorf("ListAuthSessions(all) = %d sessions, %v; want 4", len(all.Sessions), err)
	}
	if n, err := c.TerminateSessionsByConnector(ctx, TerminateSessionsByConnectorReq{ConnectorID: "ldap"}); err != nil || n.SessionsTerminated != 1 {
		t.Errorf("TerminateSessionsByConnector(ldap) = %v, %v; want 1", n, err)
	}
}

// A store with more live sessions than one answer may carry is refused
// with a clear error rather than truncated; one user's still list.
func TestListAllSessionsBounded(t *testing.T) {
	e := startSessionAPI(t)
	ctx := context.Background()
	for i := range MaxListedSessions {
		ss := storage.Session{ID: fmt.Sprintf("bulk-%05d", i), ConnectorID: "ldap", Claims: storage.Claims{UserID: fmt.Sprintf("u%d", i)},
			CreatedAt: e.now, LastUsed: e.now, AbsoluteExpiry: e.now.Add(time.Hour), IdleExpiry: e.now.Add(time.Hour)}
		if err := e.store.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.call(t, "ListAuthSessions", nil)
	if st, _ := status.FromError(err); err == nil || st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "user_id") {
		t.Fatalf("ListAuthSessions of %d+ sessions = %v; want ResourceExhausted naming user_id", MaxListedSessions, err)
	}
	if resp, err := e.call(t, "ListAuthSessions", str(nil, 1, "joe")); err != nil || len(resp[1]) != 1 {
		t.Errorf("ListAuthSessions(joe) on a large store = %v, %v", resp, err)
	}
	// TerminateSessionsByConnector builds no list: it ends them all.
	if resp, err := e.call(t, "TerminateSessionsByConnector", str(nil, 1, "ldap")); err != nil || resp.num(1) != MaxListedSessions+1 {
		t.Errorf("TerminateSessionsByConnector(ldap) = %v, %v; want %d", resp, err, MaxListedSessions+1)
	}
	resp, err := e.call(t, "ListAuthSessions", nil)
	if err != nil || len(resp[1]) != 3 {
		t.Errorf("ListAuthSessions after = %d sessions, %v; want 3", len(resp[1]), err)
	}
}
