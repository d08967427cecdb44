package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
)

// testSessionList pages through every session: each comes back exactly
// once whatever its user or connector, no page is longer than asked, the
// last page says so, and a session deleted between pages does not stop
// the walk.
func testSessionList(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	if got, next, err := s.ListSessions(ctx, "", 10); err != nil || len(got) != 0 || next != "" {
		t.Fatalf("ListSessions of an empty store = %v, %q, %v; want nothing", got, next, err)
	}
	t0 := baseTime()
	const n = 11
	want := map[string]storage.Session{}
	for i := range n {
		ss := sampleSession(fmt.Sprintf("sess-%02d", i), fmt.Sprintf("user-%d", i%4), t0.Add(time.Duration(i)*time.Minute))
		if i%3 == 0 {
			ss.ConnectorID = "local"
		}
		if i == 5 {
			ss.AbsoluteExpiry, ss.IdleExpiry = t0.Add(-time.Hour), t0.Add(-time.Hour) // expired, not yet collected
		}
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatalf("CreateSession %d: %v", i, err)
		}
		want[ss.ID] = ss
	}

	for _, limit := range []int{1, 4, n, 100} {
		seen := map[string]int{}
		token, pages := "", 0
		for {
			pages++
			if pages > n+2 {
				t.Fatalf("limit %d: more than %d pages; the walk does not end", limit, n+2)
			}
			got, next, err := s.ListSessions(ctx, token, limit)
			if err != nil {
				t.Fatalf("limit %d, page %d: %v", limit, pages, err)
			}
			if len(got) > limit {
				t.Errorf("limit %d, page %d: %d sessions", limit, pages, len(got))
			}
			for _, ss := range got {
				seen[ss.ID]++
				if w, ok := want[ss.ID]; ok && seen[ss.ID] == 1 {
					assertEqual(t, "listed session "+ss.ID, ss, w)
				}
			}
			if next == "" {
				break
			}
			token = next
		}
		for id := range want {
			if seen[id] != 1 {
				t.Errorf("limit %d: %s listed %d times, want once", limit, id, seen[id])
			}
		}
		if len(seen) != n {
			t.Errorf("limit %d: %d distinct sessions listed, want %d", limit, len(seen), n)
		}
		if limit >= n && pages > 2 {
			t.Errorf("limit %d: %d pages for %d sessions", limit, pages, n)
		}
	}

	// Deleting what a page returned (as TerminateSessionsByConnector does)
	// does not lose the sessions of later pages.
	first, next, err := s.ListSessions(ctx, "", 3)
	if err != nil || len(first) == 0 || next == "" {
		t.Fatalf("first page = %d sessions, next %q, %v", len(first), next, err)
	}
	for _, ss := range first {
		if err := s.DeleteSession(ctx, ss.ID); err != nil {
			t.Fatal(err)
		}
		delete(want, ss.ID)
	}
	rest := map[string]bool{}
	for token, pages := next, 0; token != ""; pages++ {
		if pages > n {
			t.Fatal("the walk after deletes does not end")
		}
		got, nx, err := s.ListSessions(ctx, token, 3)
		if err != nil {
			t.Fatalf("page after deletes: %v", err)
		}
		for _, ss := range got {
			rest[ss.ID] = true
		}
		token = nx
	}
	for id := range want {
		if !rest[id] {
			t.Errorf("%s was not listed after the first page's sessions were deleted", id)
		}
	}

	if _, _, err := s.ListSessions(ctx, "", 0); err == nil {
		t.Error("ListSessions with limit 0 succeeded; want an error")
	}
}
