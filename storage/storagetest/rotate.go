package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
)

// twoWrites hides a backend's RefreshRotator, so that storage.RotateRefresh
// takes its fallback of two writes; the suite checks both paths.
type twoWrites struct{ storage.Storage }

// rotateTests are run once through the backend's own rotation (if it has
// one) and once through the two-write fallback.
func rotateTests(wrap func(storage.Storage) storage.Storage) []struct {
	name string
	fn   func(t *testing.T, s storage.Storage)
} {
	w := func(fn func(*testing.T, storage.Storage)) func(*testing.T, storage.Storage) {
		return func(t *testing.T, s storage.Storage) { fn(t, wrap(s)) }
	}
	return []struct {
		name string
		fn   func(t *testing.T, s storage.Storage)
	}{
		{"Rotate", w(testRotate)},
		{"RotateAbort", w(testRotateAbort)},
		{"RotateWritesEveryField", w(testRotateWritesEveryField)},
		{"RotateConflicts", w(testRotateConflicts)},
		{"RotateConcurrent", w(testRotateConcurrent)},
		{"RotateRevoked", w(testRotateRevoked)},
	}
}

// rotation marks a token rotated at `at`, refusing one already rotated
// (the refresh grant's single-use check, simplified).
func rotation(at time.Time) func(storage.RefreshToken) (storage.RefreshToken, error) {
	return func(r storage.RefreshToken) (storage.RefreshToken, error) {
		if !r.RotatedAt.IsZero() {
			return r, errAbort
		}
		r.RotatedAt, r.LastUsed, r.Expiry = at, at, at.Add(time.Hour)
		r.Claims.Groups = append(r.Claims.Groups, "rotated")
		// The grant records the seed of the successor on rotation.
		r.SuccessorSeed = []byte{0x5e, 0xed}
		return r, nil
	}
}

func current(id, family string) storage.RefreshToken {
	r := sampleRefresh(id, family)
	r.RotatedAt = time.Time{}
	return r
}

func testRotate(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	old := current("rt-old", "fam-1")
	if err := s.CreateRefresh(ctx, old); err != nil {
		t.Fatal(err)
	}
	next := current("rt-next", "fam-1")
	next.CreatedAt = baseTime()
	at := baseTime().Add(time.Second)
	if err := storage.RotateRefresh(ctx, s, old.ID, next, rotation(at)); err != nil {
		t.Fatalf("RotateRefresh: %v", err)
	}
	want, _ := rotation(at)(old)
	got, err := s.GetRefresh(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "rotated token", got, want)
	got, err = s.GetRefresh(ctx, next.ID)
	if err != nil {
		t.Fatalf("the new token was not stored: %v", err)
	}
	assertEqual(t, "new token", got, next)
	// The old token is single use.
	err = storage.RotateRefresh(ctx, s, old.ID, current("rt-next-2", "fam-1"), rotation(at))
	if !errors.Is(err, errAbort) {
		t.Fatalf("second rotation of one token: %v, want the update's own error", err)
	}
	if _, err := s.GetRefresh(ctx, "rt-next-2"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a refused rotation stored its new token: %v", err)
	}
}

func testRotateAbort(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	old := current("rt-old", "fam-1")
	if err := s.CreateRefresh(ctx, old); err != nil {
		t.Fatal(err)
	}
	own := fmt.Errorf("refused: %w", errAbort)
	err := storage.RotateRefresh(ctx, s, old.ID, current("rt-next", "fam-1"), func(r storage.RefreshToken) (storage.RefreshToken, error) {
		r.LastUsed = baseTime()
		return r, own
	})
	if err != own {
		t.Fatalf("RotateRefresh returned %v, want the update's error unchanged", err)
	}
	got, err := s.GetRefresh(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "token after an aborted rotation", got, old)
	if _, err := s.GetRefresh(ctx, "rt-next"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("an aborted rotation stored its new token: %v", err)
	}
}

func testRotateConflicts(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	// Unknown old token: ErrNotFound, and nothing stored.
	err := storage.RotateRefresh(ctx, s, "rt-missing", current("rt-next", "fam-1"), rotation(baseTime()))
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("rotating an unknown token: %v, want ErrNotFound", err)
	}
	if _, err := s.GetRefresh(ctx, "rt-next"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("rotating an unknown token stored the new one: %v", err)
	}
	// New id taken: ErrAlreadyExists, the old token untouched, the holder
	// of the id untouched.
	old, taken := current("rt-old", "fam-1"), current("rt-taken", "fam-2")
	for _, r := range []storage.RefreshToken{old, taken} {
		if err := s.CreateRefresh(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	clash := current("rt-taken", "fam-1")
	clash.Nonce = "other"
	err = storage.RotateRefresh(ctx, s, old.ID, clash, rotation(baseTime()))
	if !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("rotating into a taken id: %v, want ErrAlreadyExists", err)
	}
	for _, want := range []storage.RefreshToken{old, taken} {
		got, err := s.GetRefresh(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, "token after a rotation into a taken id", got, want)
	}
}

// testRotateConcurrent: many rotations of one token at once; exactly one
// wins and exactly one new token exists.
func testRotateConcurrent(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	if err := s.CreateRefresh(ctx, current("rt-old", "fam-1")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, concurrency)
	for i := range concurrency {
		wg.Go(func() {
			errs[i] = storage.RotateRefresh(ctx, s, "rt-old", current(fmt.Sprint("rt-next-", i), "fam-1"), rotation(baseTime()))
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		_, gerr := s.GetRefresh(ctx, fmt.Sprint("rt-next-", i))
		switch {
		case err == nil:
			won++
			if gerr != nil {
				t.Errorf("rotation %d succeeded but its new token is missing: %v", i, gerr)
			}
		case errors.Is(err, errAbort):
			if !errors.Is(gerr, storage.ErrNotFound) {
				t.Errorf("rotation %d was refused but its new token exists (%v)", i, gerr)
			}
		default:
			t.Errorf("rotation %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent rotations of one token succeeded, want exactly 1", won)
	}
}

// testRotateRevoked: a revoked family cannot be rotated, and a rotation
// never leaves a new token in a family revoked after it.
func testRotateRevoked(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	if err := s.CreateRefresh(ctx, current("rt-a", "fam-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeGrant(ctx, "fam-1", baseTime().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	err := storage.RotateRefresh(ctx, s, "rt-a", current("rt-b", "fam-1"), rotation(baseTime()))
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("rotating a token of a revoked family: %v, want ErrNotFound", err)
	}
	if _, err := s.GetRefresh(ctx, "rt-b"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("rotating a revoked family stored a new token: %v", err)
	}
	if err := s.CreateRefresh(ctx, current("rt-c", "fam-2")); err != nil {
		t.Fatal(err)
	}
	if err := storage.RotateRefresh(ctx, s, "rt-c", current("rt-d", "fam-2"), rotation(baseTime())); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeGrant(ctx, "fam-2", baseTime().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"rt-c", "rt-d"} {
		if _, err := s.GetRefresh(ctx, id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s survived the revocation of its family: %v", id, err)
		}
	}
}

// testRotateWritesEveryField: whatever the update changes is stored, be it
// only the times, the claims, the connector data or any other field.
func testRotateWritesEveryField(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	at := baseTime().Add(time.Minute)
	for i, change := range []func(*storage.RefreshToken){
		func(r *storage.RefreshToken) {},
		func(r *storage.RefreshToken) { r.Claims.Email = "new@example.org" },
		func(r *storage.RefreshToken) { r.Claims.Groups = nil },
		func(r *storage.RefreshToken) { r.ConnectorData = []byte{} },
		func(r *storage.RefreshToken) { r.ConnectorData = nil },
		func(r *storage.RefreshToken) { r.ConnectorData = []byte("new"); r.Claims.Username = "new" },
		func(r *storage.RefreshToken) { r.Nonce = "changed" },
		func(r *storage.RefreshToken) { r.Scopes = []string{"openid"}; r.SessionID = "" },
		func(r *storage.RefreshToken) { r.Expiry = time.Time{}; r.RotatedAt = time.Time{} },
	} {
		old := current(fmt.Sprint("rt-old-", i), "fam-1")
		if err := s.CreateRefresh(ctx, old); err != nil {
			t.Fatal(err)
		}
		var want storage.RefreshToken
		err := storage.RotateRefresh(ctx, s, old.ID, current(fmt.Sprint("rt-new-", i), "fam-1"), func(r storage.RefreshToken) (storage.RefreshToken, error) {
			r.LastUsed, r.RotatedAt, r.Expiry = at, at, at.Add(time.Hour)
			change(&r)
			want = r
			return r, nil
		})
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		got, err := s.GetRefresh(ctx, old.ID)
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, fmt.Sprint("token after rotation ", i), got, want)
	}
}
