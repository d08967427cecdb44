package usergrants

import (
	"context"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/memory"
)

func TestEndSessionAndRevokeFamilies(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := memory.New()
	jane := storage.Claims{UserID: "jane"}
	bob := storage.Claims{UserID: "bob"}
	ss := storage.Session{ID: "session-of-jane-0001", ConnectorID: "local", Claims: jane, CreatedAt: now, LastUsed: now,
		AbsoluteExpiry: now.Add(time.Hour), IdleExpiry: now.Add(time.Hour)}
	if err := st.CreateSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	for _, r := range []storage.RefreshToken{
		{ID: "t1", FamilyID: "in-session", ClientID: "web", Scopes: []string{"openid"}, SessionID: ss.ID},
		{ID: "t2", FamilyID: "offline", ClientID: "kubectl", Scopes: []string{"openid", "offline_access"}, SessionID: ss.ID},
		{ID: "t3", FamilyID: "other-web", ClientID: "web", Scopes: []string{"openid", "offline_access"}},
	} {
		r.ConnectorID, r.Claims, r.CreatedAt = "local", jane, now
		if err := st.CreateRefresh(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateRefresh(ctx, storage.RefreshToken{ID: "b1", FamilyID: "bobs", ClientID: "web", ConnectorID: "local", Claims: bob, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}

	live, err := LiveSessions(ctx, st, "local", "jane", now)
	if err != nil || len(live) != 1 {
		t.Fatalf("LiveSessions: %v %v", live, err)
	}
	if live, _ := LiveSessions(ctx, st, "local", "jane", now.Add(2*time.Hour)); len(live) != 0 {
		t.Errorf("an expired session is live: %v", live)
	}
	if ShortID(ss.ID) != "session-of-jane-" || !SameShortID(ss.ID, "session-of-jane-") || SameShortID(ss.ID, "session-of-jane-0001") {
		t.Errorf("ShortID %q: want the first %d characters, and only those to name it", ShortID(ss.ID), ShortIDLen)
	}

	ended, revoked, err := EndSession(ctx, st, ss, now.Add(time.Hour))
	if err != nil || !ended || revoked != 1 {
		t.Fatalf("EndSession: ended %v revoked %d err %v, want the one family without offline_access", ended, revoked, err)
	}
	for fam, want := range map[string]bool{"in-session": true, "offline": false, "other-web": false, "bobs": false} {
		if got, _ := st.GrantRevoked(ctx, fam); got != want {
			t.Errorf("family %s revoked = %v, want %v", fam, got, want)
		}
	}
	if ended, _, err := EndSession(ctx, st, ss, now.Add(time.Hour)); ended || err != nil {
		t.Errorf("ending it again: ended %v err %v, want nothing to end", ended, err)
	}

	// Only jane's own families are looked at: bob's is never matched.
	n, err := RevokeFamilies(ctx, st, "jane", "local", func(f Family) bool { return f.ClientID == "web" || f.ID == "bobs" }, now.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("RevokeFamilies: %d %v, want jane's one web family", n, err)
	}
	if got, _ := st.GrantRevoked(ctx, "bobs"); got {
		t.Error("bob's family revoked through jane")
	}
	fams, _ := Families(ctx, st, "jane", "local")
	if len(fams) != 1 || fams[0].ID != "offline" || fams[0].ClientID != "kubectl" {
		t.Errorf("jane's families left: %+v, want only kubectl's offline one", fams)
	}
}
