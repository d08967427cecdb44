package storage

import (
	"context"
	"strings"
)

// Password is a local user of the password database (Dex's enablePasswordDB)
// created at run time. Users listed in staticPasswords are not stored.
type Password struct {
	// Email is the login name. Backends key passwords by PasswordKey(Email),
	// so lookups ignore case, as Dex's do.
	Email    string
	Hash     []byte // bcrypt
	Username string
	UserID   string
}

// PasswordKey is the key a password is stored under: its email in lower case.
func PasswordKey(email string) string { return strings.ToLower(email) }

// PasswordStore keeps the passwords created at run time.
type PasswordStore interface {
	// CreatePassword stores p with Email lower-cased; an email already
	// stored in any case is ErrAlreadyExists.
	CreatePassword(ctx context.Context, p Password) error
	GetPassword(ctx context.Context, email string) (Password, error)
	// UpdatePassword runs update on the stored password; the email in its
	// result is ignored (a password keeps its key).
	UpdatePassword(ctx context.Context, email string, update func(Password) (Password, error)) error
	DeletePassword(ctx context.Context, email string) error
	// ListPasswords returns every stored password, ordered by email.
	ListPasswords(ctx context.Context) ([]Password, error)
}
