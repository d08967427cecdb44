package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
)

func sampleKeys() storage.Keys {
	return storage.Keys{
		Active: []byte(`{"kty":"RSA","kid":"k1","alg":"RS256","d":"secret"}`),
		Next:   []byte(`{"kty":"RSA","kid":"k2","alg":"RS256","d":"secret2"}`),
		Retired: []storage.RetiredKey{
			{JWK: []byte(`{"kty":"RSA","kid":"k0"}`), Expiry: baseTime().Add(time.Hour)},
			{JWK: []byte(`{"kty":"EC","kid":"k-1"}`), Expiry: baseTime().Add(time.Minute)},
		},
		NextRotation: baseTime().Add(6 * time.Hour),
	}
}

func testKeysRoundTrip(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	_, err := s.GetKeys(ctx)
	mustNotFound(t, "GetKeys before the first store", err)

	want := sampleKeys()
	err = s.UpdateKeys(ctx, func(k storage.Keys) (storage.Keys, error) {
		assertEqual(t, "keys seen by the first update", k, storage.Keys{})
		return want, nil
	})
	if err != nil {
		t.Fatalf("UpdateKeys: %v", err)
	}
	got, err := s.GetKeys(ctx)
	if err != nil {
		t.Fatalf("GetKeys: %v", err)
	}
	assertEqual(t, "stored keys", got, want)

	// The caller's slices do not alias the stored keys.
	got.Active[0] = 'X'
	got.Retired[0].JWK[0] = 'X'
	second := storage.Keys{Active: []byte("a2"), NextRotation: baseTime()}
	err = s.UpdateKeys(ctx, func(k storage.Keys) (storage.Keys, error) {
		// A fresh sampleKeys: want itself may alias a careless backend's rows.
		assertEqual(t, "keys seen by the second update", k, sampleKeys())
		return second, nil
	})
	if err != nil {
		t.Fatalf("second UpdateKeys: %v", err)
	}
	got, err = s.GetKeys(ctx)
	if err != nil {
		t.Fatalf("GetKeys: %v", err)
	}
	assertEqual(t, "keys after the second update", got, second)
}

func testKeysUpdateAbort(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	err := s.UpdateKeys(ctx, func(k storage.Keys) (storage.Keys, error) {
		return sampleKeys(), errAbort
	})
	if err != errAbort { //nolint:errorlint // the contract is "returned unchanged"
		t.Errorf("UpdateKeys returned %v, want the update's own error unchanged", err)
	}
	_, err = s.GetKeys(ctx)
	mustNotFound(t, "GetKeys after an aborted first update", err)

	want := sampleKeys()
	if err := s.UpdateKeys(ctx, func(storage.Keys) (storage.Keys, error) { return want, nil }); err != nil {
		t.Fatalf("UpdateKeys: %v", err)
	}
	err = s.UpdateKeys(ctx, func(k storage.Keys) (storage.Keys, error) {
		k.Active = []byte("changed")
		return k, errAbort
	})
	if err != errAbort { //nolint:errorlint // the contract is "returned unchanged"
		t.Errorf("UpdateKeys returned %v, want the update's own error unchanged", err)
	}
	got, err := s.GetKeys(ctx)
	if err != nil {
		t.Fatalf("GetKeys: %v", err)
	}
	assertEqual(t, "keys after aborted update", got, want)
}

// testKeysConcurrentRotation models replicas that all notice a rotation is
// due at once: each rotates only if NextRotation has passed, so exactly one
// rotation may happen. Each rotation retires the active key, so the number
// of retired keys counts the rotations even if a backend retries updates.
func testKeysConcurrentRotation(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	now := baseTime()
	initial := storage.Keys{
		Active:       []byte("key-initial"),
		Next:         []byte("key-next"),
		NextRotation: now.Add(-time.Minute),
	}
	if err := s.UpdateKeys(ctx, func(storage.Keys) (storage.Keys, error) { return initial, nil }); err != nil {
		t.Fatalf("UpdateKeys: %v", err)
	}
	errs := runConcurrently(concurrency, func(i int) error {
		return s.UpdateKeys(ctx, func(k storage.Keys) (storage.Keys, error) {
			if k.NextRotation.After(now) {
				return k, nil // someone else rotated already
			}
			k.Retired = append(k.Retired, storage.RetiredKey{JWK: k.Active, Expiry: now.Add(time.Hour)})
			k.Active = k.Next
			k.Next = []byte(id("key", i))
			k.NextRotation = now.Add(6 * time.Hour)
			return k, nil
		})
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("UpdateKeys: %v", err)
	}
	got, err := s.GetKeys(ctx)
	if err != nil {
		t.Fatalf("GetKeys: %v", err)
	}
	if len(got.Retired) != 1 {
		t.Fatalf("%d rotations happened, want exactly 1 (retired: %d keys)", len(got.Retired), len(got.Retired))
	}
	if string(got.Retired[0].JWK) != "key-initial" || string(got.Active) != "key-next" {
		t.Errorf("after rotation Active=%q Retired[0]=%q, want key-next and key-initial", got.Active, got.Retired[0].JWK)
	}
	if !got.NextRotation.Equal(now.Add(6 * time.Hour)) {
		t.Errorf("NextRotation = %v, want %v", got.NextRotation, now.Add(6*time.Hour))
	}
}
