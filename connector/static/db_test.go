package static

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/memory"
)

// failingStore is a store whose backend is down.
type failingStore struct{ storage.PasswordStore }

func (failingStore) GetPassword(context.Context, string) (storage.Password, error) {
	return storage.Password{}, storage.ErrUnavailable
}

func TestPasswordsInStorage(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	c, err := NewDB(testUsers(t), store)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Login(ctx, connector.Scopes{}, "bob@example.com", "hunter22"); ok || err != nil {
		t.Fatalf("unknown user: ok=%v err=%v", ok, err)
	}
	// Created at run time: usable at once, by any case of the email.
	if err := store.CreatePassword(ctx, storage.Password{Email: "bob@example.com", Hash: hash(t, "hunter22", bcrypt.DefaultCost),
		Username: "bob", UserID: "u-bob"}); err != nil {
		t.Fatal(err)
	}
	id, ok, err := c.Login(ctx, connector.Scopes{}, "Bob@Example.com", "hunter22")
	if err != nil || !ok {
		t.Fatalf("stored user: ok=%v err=%v", ok, err)
	}
	want := connector.Identity{UserID: "u-bob", Username: "bob", Email: "bob@example.com", EmailVerified: true}
	if id.UserID != want.UserID || id.Username != want.Username || id.Email != want.Email || !id.EmailVerified {
		t.Errorf("identity = %+v, want %+v", id, want)
	}
	if _, ok, _ := c.Login(ctx, connector.Scopes{}, "bob@example.com", "wrong"); ok {
		t.Error("wrong password accepted")
	}
	// A static user's email wins over a stored one.
	if err := store.CreatePassword(ctx, storage.Password{Email: "jane@example.com", Hash: hash(t, "other", bcrypt.DefaultCost), UserID: "u-x"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Login(ctx, connector.Scopes{}, "jane@example.com", "other"); ok {
		t.Error("a stored password shadowed a static user")
	}

	// Refresh sees renames and deletions at once.
	if err := store.UpdatePassword(ctx, "bob@example.com", func(p storage.Password) (storage.Password, error) {
		p.Username = "robert"
		return p, nil
	}); err != nil {
		t.Fatal(err)
	}
	fresh, err := c.Refresh(ctx, connector.Scopes{}, id)
	if err != nil || fresh.Username != "robert" {
		t.Fatalf("refresh after rename: %+v %v", fresh, err)
	}
	if err := store.DeletePassword(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refresh(ctx, connector.Scopes{}, id); !errors.Is(err, connector.ErrUserGone) {
		t.Errorf("refresh of a deleted user: %v, want ErrUserGone", err)
	}
	// Someone else who takes the address over is not the same person.
	if err := store.CreatePassword(ctx, storage.Password{Email: "bob@example.com", Hash: hash(t, "x", bcrypt.DefaultCost), UserID: "u-bob2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refresh(ctx, connector.Scopes{}, id); !errors.Is(err, connector.ErrUserGone) {
		t.Errorf("refresh after the email was reused: %v, want ErrUserGone", err)
	}

	// A failing store is an error (the login page says so), not a wrong password.
	down, err := NewDB(testUsers(t), failingStore{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := down.Login(ctx, connector.Scopes{}, "bob@example.com", "hunter22"); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("store down: %v, want ErrUnavailable", err)
	}
	if _, ok, err := down.Login(ctx, connector.Scopes{}, "admin@example.com", "password"); !ok || err != nil {
		t.Errorf("static user while the store is down: ok=%v err=%v", ok, err)
	}
}
