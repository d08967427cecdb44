// Package storagetest is the conformance suite every storage backend runs.
// A backend's test calls Run with a constructor for a fresh, empty store;
// the suite makes no assumption about how the backend is built.
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
)

// Run runs every conformance test against stores made by newStorage. Each
// subtest gets its own store; newStorage should register its cleanup (for
// example Close) with t.Cleanup.
func Run(t *testing.T, newStorage func(t *testing.T) storage.Storage) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Storage)
	}{
		{"AuthRequest/CRUD", testAuthRequestCRUD},
		{"AuthRequest/UpdateAbort", testAuthRequestUpdateAbort},
		{"AuthRequest/ConcurrentUpdates", testAuthRequestConcurrentUpdates},
		{"AuthRequest/NoAliasing", testAuthRequestNoAliasing},
		{"AuthCode/CRUD", testAuthCodeCRUD},
		{"AuthCode/UpdateAbort", testAuthCodeUpdateAbort},
		{"AuthCode/ConcurrentRedeem", testAuthCodeConcurrentRedeem},
		{"Refresh/CRUD", testRefreshCRUD},
		{"Refresh/UpdateAbort", testRefreshUpdateAbort},
		{"Refresh/ConcurrentUpdates", testRefreshConcurrentUpdates},
		{"NotFound", testNotFound},
		{"AlreadyExists", testAlreadyExists},
		{"RevokeGrant", testRevokeGrant},
		{"Keys/RoundTrip", testKeysRoundTrip},
		{"Keys/UpdateAbort", testKeysUpdateAbort},
		{"Keys/ConcurrentRotation", testKeysConcurrentRotation},
		{"GarbageCollect", testGarbageCollect},
		{"Session/CRUD", testSessionCRUD},
		{"Session/PerUser", testSessionsPerUser},
		{"Session/ConcurrentUpdates", testSessionConcurrentUpdates},
		{"Session/GarbageCollect", testSessionGarbageCollect},
		{"Session/Count", testSessionCount},
		{"Session/List", testSessionList},
		{"Device/CRUD", testDeviceCRUD},
		{"Device/ConcurrentIssue", testDeviceConcurrentIssue},
		{"Device/GarbageCollect", testDeviceGarbageCollect},
		{"CancelledContext", testCancelledContext},
		{"Ping", testPing},
		{"Client/CRUD", testClientCRUD}, {"Password/CRUD", testPasswordCRUD}, {"Refresh/ListUser", testListUserRefresh}, {"Admin/CancelledContext", testAdminCancelledContext},
		{"Logout/Deliveries", testLogoutDeliveries}, {"Logout/ConcurrentClaims", testLogoutConcurrentClaims}, {"Logout/SessionRefresh", testListSessionRefresh},
		{"Throttle/RoundTrip", testThrottleRoundTrip}, {"Throttle/Concurrent", testThrottleConcurrent}, {"Throttle/GC", testThrottleGC},
	}
	for _, r := range rotateTests(func(s storage.Storage) storage.Storage { return s }) {
		tests = append(tests, struct {
			name string
			fn   func(t *testing.T, s storage.Storage)
		}{"Refresh/" + r.name, r.fn})
	}
	for _, r := range rotateTests(func(s storage.Storage) storage.Storage { return twoWrites{s} }) {
		tests = append(tests, struct {
			name string
			fn   func(t *testing.T, s storage.Storage)
		}{"Refresh/TwoWrites/" + r.name, r.fn})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStorage(t))
		})
	}
}

// errAbort is what update functions return to abort an update.
var errAbort = errors.New("storagetest: update aborted on purpose")

// concurrency is how many goroutines the race tests start.
const concurrency = 20

// baseTime is a fixed instant with microsecond precision, which every
// backend must round-trip exactly.
func baseTime() time.Time {
	return time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)
}

// assertEqual compares two stored values field by field after normalising
// what backends may legitimately change: time locations and monotonic
// readings, and nil versus empty slices.
func assertEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	g := normalize(reflect.ValueOf(got))
	w := normalize(reflect.ValueOf(want))
	if !reflect.DeepEqual(g.Interface(), w.Interface()) {
		t.Errorf("%s mismatch:\n got: %+v\nwant: %+v", what, g.Interface(), w.Interface())
	}
}

var timeType = reflect.TypeOf(time.Time{})

// normalize returns a copy of v with times in UTC without monotonic reading
// and empty slices replaced by nil.
func normalize(v reflect.Value) reflect.Value {
	switch {
	case v.Type() == timeType:
		tm := v.Interface().(time.Time)
		if tm.IsZero() {
			return reflect.ValueOf(time.Time{})
		}
		return reflect.ValueOf(tm.Round(0).UTC())
	case v.Kind() == reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			out.Field(i).Set(normalize(v.Field(i)))
		}
		return out
	case v.Kind() == reflect.Slice:
		if v.Len() == 0 {
			return reflect.Zero(v.Type())
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(normalize(v.Index(i)))
		}
		return out
	default:
		return v
	}
}

// mustNotFound fails unless err is storage.ErrNotFound.
func mustNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("%s: got error %v, want storage.ErrNotFound", what, err)
	}
}

// runConcurrently starts n goroutines running fn(i) and waits for all of
// them, returning their errors in order.
func runConcurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	done := make(chan struct{})
	start := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	for range n {
		<-done
	}
	return errs
}

func testPing(t *testing.T, s storage.Storage) {
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testCancelledContext(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	if err := s.CreateAuthRequest(ctx, sampleAuthRequest("req-1")); err != nil {
		t.Fatalf("CreateAuthRequest: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	noop := func(a storage.AuthRequest) (storage.AuthRequest, error) { return a, nil }
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateAuthRequest", func() error { return s.CreateAuthRequest(cancelled, sampleAuthRequest("req-2")) }},
		{"GetAuthRequest", func() error { _, err := s.GetAuthRequest(cancelled, "req-1"); return err }},
		{"UpdateAuthRequest", func() error { return s.UpdateAuthRequest(cancelled, "req-1", noop) }},
		{"DeleteAuthRequest", func() error { return s.DeleteAuthRequest(cancelled, "req-1") }},
		{"CreateAuthCode", func() error { return s.CreateAuthCode(cancelled, sampleAuthCode("code-1")) }},
		{"GetAuthCode", func() error { _, err := s.GetAuthCode(cancelled, "code-1"); return err }},
		{"CreateRefresh", func() error { return s.CreateRefresh(cancelled, sampleRefresh("rt-1", "fam-1")) }},
		{"GetRefresh", func() error { _, err := s.GetRefresh(cancelled, "rt-1"); return err }},
		{"RevokeGrant", func() error { return s.RevokeGrant(cancelled, "fam-1", baseTime()) }},
		{"GrantRevoked", func() error { _, err := s.GrantRevoked(cancelled, "fam-1"); return err }},
		{"GetKeys", func() error { _, err := s.GetKeys(cancelled); return err }},
		{"UpdateKeys", func() error {
			return s.UpdateKeys(cancelled, func(k storage.Keys) (storage.Keys, error) { return k, nil })
		}},
		{"GarbageCollect", func() error { _, err := s.GarbageCollect(cancelled, baseTime()); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, context.Canceled) {
				t.Errorf("got error %v, want context.Canceled", err)
			}
		})
	}
	// Nothing the cancelled calls attempted may have happened.
	got, err := s.GetAuthRequest(ctx, "req-1")
	if err != nil {
		t.Fatalf("GetAuthRequest after cancelled calls: %v", err)
	}
	assertEqual(t, "auth request", got, sampleAuthRequest("req-1"))
	if _, err := s.GetAuthRequest(ctx, "req-2"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("auth request created with a cancelled context: %v", err)
	}
}

// id makes distinct identifiers for the concurrency tests.
func id(prefix string, i int) string { return fmt.Sprintf("%s-%02d", prefix, i) }
