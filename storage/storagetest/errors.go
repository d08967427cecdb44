package storagetest

import (
	"context"
	"errors"
	"testing"

	"github.com/torii-idp/torii/storage"
)

func testNotFound(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	// One row of each kind exists, so "missing" means "this id", not "empty table".
	if err := s.CreateAuthRequest(ctx, sampleAuthRequest("present")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAuthCode(ctx, sampleAuthCode("present")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRefresh(ctx, sampleRefresh("present", "fam")); err != nil {
		t.Fatal(err)
	}
	called := false
	calls := []struct {
		name string
		call func() error
	}{
		{"GetAuthRequest", func() error { _, err := s.GetAuthRequest(ctx, "missing"); return err }},
		{"UpdateAuthRequest", func() error {
			return s.UpdateAuthRequest(ctx, "missing", func(a storage.AuthRequest) (storage.AuthRequest, error) {
				called = true
				return a, nil
			})
		}},
		{"DeleteAuthRequest", func() error { return s.DeleteAuthRequest(ctx, "missing") }},
		{"GetAuthCode", func() error { _, err := s.GetAuthCode(ctx, "missing"); return err }},
		{"UpdateAuthCode", func() error {
			return s.UpdateAuthCode(ctx, "missing", func(c storage.AuthCode) (storage.AuthCode, error) {
				called = true
				return c, nil
			})
		}},
		{"DeleteAuthCode", func() error { return s.DeleteAuthCode(ctx, "missing") }},
		{"GetRefresh", func() error { _, err := s.GetRefresh(ctx, "missing"); return err }},
		{"UpdateRefresh", func() error {
			return s.UpdateRefresh(ctx, "missing", func(r storage.RefreshToken) (storage.RefreshToken, error) {
				called = true
				return r, nil
			})
		}},
		{"DeleteRefresh", func() error { return s.DeleteRefresh(ctx, "missing") }},
		{"GetKeys", func() error { _, err := s.GetKeys(ctx); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			called = false
			mustNotFound(t, c.name, c.call())
			if called {
				t.Errorf("%s called the update function for a missing row", c.name)
			}
		})
	}
	// Updating a missing row must not create it.
	if _, err := s.GetAuthRequest(ctx, "missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UpdateAuthRequest of a missing id created it: %v", err)
	}
}

func testAlreadyExists(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	calls := []struct {
		name   string
		create func(variant int) error
	}{
		{"AuthRequest", func(v int) error {
			a := sampleAuthRequest("dup")
			a.State = id("state", v)
			return s.CreateAuthRequest(ctx, a)
		}},
		{"AuthCode", func(v int) error {
			c := sampleAuthCode("dup")
			c.Nonce = id("nonce", v)
			return s.CreateAuthCode(ctx, c)
		}},
		{"Refresh", func(v int) error {
			r := sampleRefresh("dup", id("fam", v))
			return s.CreateRefresh(ctx, r)
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.create(1); err != nil {
				t.Fatalf("first create: %v", err)
			}
			err := c.create(2)
			if !errors.Is(err, storage.ErrAlreadyExists) {
				t.Errorf("second create: got %v, want storage.ErrAlreadyExists", err)
			}
		})
	}
	// The first row survives the failed duplicate.
	a, err := s.GetAuthRequest(ctx, "dup")
	if err != nil || a.State != id("state", 1) {
		t.Errorf("after duplicate create: State=%q err=%v, want %q", a.State, err, id("state", 1))
	}
	r, err := s.GetRefresh(ctx, "dup")
	if err != nil || r.FamilyID != id("fam", 1) {
		t.Errorf("after duplicate create: FamilyID=%q err=%v, want %q", r.FamilyID, err, id("fam", 1))
	}
}
