// Package static is Dex's password database (enablePasswordDB): the users
// listed in staticPasswords and, when a store is given, those created at
// run time through the admin API. People log in with their email address
// and a password checked against a bcrypt hash.
package static

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/storage"
)

// ID is the connector id Dex gives its password database; `sub` values of
// existing tokens depend on it.
const ID = "local"

// Bcrypt costs accepted for a stored hash. Dex refuses to log anyone in
// whose hash is cheaper than bcrypt's default or dearer than 16, so such a
// hash is refused when the config is loaded instead.
const (
	MinCost = bcrypt.DefaultCost
	MaxCost = 16
)

// User is one entry of staticPasswords.
type User struct {
	Email string
	// Hash is the bcrypt hash text ("$2a$10$..."); see ParseHash.
	Hash     []byte
	Username string
	// Name is the display name (the name claim); empty means Username.
	Name              string
	PreferredUsername string
	// EmailVerified is the email_verified claim. The config loader defaults
	// it to true, as Dex does.
	EmailVerified bool
	UserID        string
	Groups        []string
}

// Connector checks the passwords of a fixed list of users, then of the
// users in its store. It is immutable after New and safe for concurrent use.
type Connector struct {
	byEmail map[string]*User
	byID    map[string]*User
	// store holds the passwords created at run time; nil: none. It is read
	// on every login and refresh, so a change is seen by every replica.
	store storage.PasswordStore
	// dummy is compared against when the email is unknown, so that an
	// unknown address costs what a known user's wrong password costs: it
	// has the cost most users' hashes have (not the highest, which would
	// let anyone make every unknown-user guess as dear as the dearest hash).
	dummy []byte
	// hashing bounds concurrent bcrypt comparisons (each is a core busy
	// for tens of milliseconds); a login waits its turn until its context
	// ends, then gets connector.ErrUnavailable.
	hashing chan struct{}
	maxWait time.Duration
}

// Options tunes New; the zero value means the defaults.
type Options struct {
	// MaxConcurrentHashes bounds concurrent bcrypt comparisons (default
	// GOMAXPROCS).
	MaxConcurrentHashes int
	// MaxQueueWait bounds how long a login waits for a free slot when its
	// context has no earlier deadline (default 5s).
	MaxQueueWait time.Duration
}

var (
	_ connector.PasswordConnector      = (*Connector)(nil)
	_ connector.RefreshConnector       = (*Connector)(nil)
	_ connector.GatedPasswordConnector = (*Connector)(nil)
)

// NormalizeEmail is how an email address is compared: trimmed and lower
// case (Dex looks passwords up by the lower-cased address).
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// ParseHash accepts a bcrypt hash either as its text or, as Dex also does,
// base64-encoded, and checks that its cost is within MinCost..MaxCost.
func ParseHash(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("no password hash")
	}
	h := []byte(s)
	if _, err := bcrypt.Cost(h); err != nil {
		dec, derr := base64.StdEncoding.DecodeString(s)
		if derr != nil {
			return nil, fmt.Errorf("not a bcrypt hash: %v", err)
		}
		if _, err := bcrypt.Cost(dec); err != nil {
			return nil, fmt.Errorf("not a bcrypt hash (after base64 decoding): %v", err)
		}
		h = dec
	}
	cost, _ := bcrypt.Cost(h)
	if cost < MinCost || cost > MaxCost {
		return nil, fmt.Errorf("bcrypt cost %d is outside %d..%d (Dex refuses such hashes at login)", cost, MinCost, MaxCost)
	}
	return h, nil
}

// New checks the users (an email, a user ID and a valid hash each; no email
// or user ID twice) and builds the connector. It computes one bcrypt hash of
// the highest cost in use, which takes as long as one login.
func New(users []User) (*Connector, error) { return NewDB(users, nil) }

// NewDB is New with a store of passwords created at run time. A static
// user's email wins over a stored one.
func NewDB(users []User, store storage.PasswordStore) (*Connector, error) {
	return NewWithOptions(users, store, Options{})
}

// NewWithOptions is NewDB with the hashing limits set.
func NewWithOptions(users []User, store storage.PasswordStore, o Options) (*Connector, error) {
	if o.MaxConcurrentHashes <= 0 {
		o.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	if o.MaxQueueWait <= 0 {
		o.MaxQueueWait = 5 * time.Second
	}
	c := &Connector{
		hashing: make(chan struct{}, o.MaxConcurrentHashes),
		maxWait: o.MaxQueueWait,
		byEmail: make(map[string]*User, len(users)),
		byID:    make(map[string]*User, len(users)),
		store:   store,
	}
	var errs []error
	costs := map[int]int{}
	for i := range users {
		u := users[i]
		u.Email = strings.TrimSpace(u.Email)
		u.Groups = slices.Clone(u.Groups)
		email := NormalizeEmail(u.Email)
		switch {
		case email == "":
			errs = append(errs, fmt.Errorf("user %d: email is required", i))
		case c.byEmail[email] != nil:
			errs = append(errs, fmt.Errorf("user %d: email %q is listed twice", i, u.Email))
		}
		switch {
		case u.UserID == "":
			errs = append(errs, fmt.Errorf("user %d (%s): userID is required", i, u.Email))
		case c.byID[u.UserID] != nil:
			errs = append(errs, fmt.Errorf("user %d (%s): userID %q is listed twice", i, u.Email, u.UserID))
		}
		cost, err := bcrypt.Cost(u.Hash)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("user %d (%s): %v", i, u.Email, err))
		case cost < MinCost || cost > MaxCost:
			errs = append(errs, fmt.Errorf("user %d (%s): bcrypt cost %d is outside %d..%d", i, u.Email, cost, MinCost, MaxCost))
		default:
			costs[cost]++
		}
		if email != "" {
			c.byEmail[email] = &u
		}
		if u.UserID != "" {
			c.byID[u.UserID] = &u
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	dummy, err := bcrypt.GenerateFromPassword([]byte(base64.RawStdEncoding.EncodeToString(secret)), commonCost(costs))
	if err != nil {
		return nil, err
	}
	c.dummy = dummy
	return c, nil
}

// Prompt is the label of the username field.
func (c *Connector) Prompt() string { return "Email Address" }

// commonCost is the cost most hashes have (the lower one on a tie).
func commonCost(costs map[int]int) int {
	best, n := MinCost, 0
	for c, k := range costs {
		if k > n || (k == n && c < best) {
			best, n = c, k
		}
	}
	return best
}

// Login checks the password of the user with this email address.
func (c *Connector) Login(ctx context.Context, s connector.Scopes, email, password string) (connector.Identity, bool, error) {
	return c.LoginGated(ctx, s, email, password, nil)
}

// LoginGated is Login that calls gate with the user ID of the address
// ("" for an unknown one) before the password is checked.
func (c *Connector) LoginGated(ctx context.Context, s connector.Scopes, email, password string, gate connector.Gate) (connector.Identity, bool, error) {
	if err := ctx.Err(); err != nil {
		return connector.Identity{}, false, err
	}
	u := c.byEmail[NormalizeEmail(email)]
	if u == nil && c.store != nil {
		var err error
		if u, err = c.stored(ctx, email); err != nil {
			return connector.Identity{}, false, err
		}
	}
	hash := c.dummy
	if u != nil {
		hash = u.Hash
	}
	if gate != nil {
		id := ""
		if u != nil {
			id = u.UserID
		}
		if err := gate(ctx, id); err != nil {
			return connector.Identity{}, false, err
		}
	}
	if err := c.acquire(ctx); err != nil {
		return connector.Identity{}, false, err
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	<-c.hashing
	if u == nil || err != nil {
		return connector.Identity{}, false, nil
	}
	return u.identity(), true, nil
}

// acquire waits for a hashing slot until ctx ends or maxWait passes.
func (c *Connector) acquire(ctx context.Context) error {
	select {
	case c.hashing <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(c.maxWait)
	defer t.Stop()
	select {
	case c.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
	case <-t.C:
	}
	return fmt.Errorf("static: %d password checks already running: %w", cap(c.hashing), connector.ErrUnavailable)
}

// Refresh looks the user up again by user ID; a user removed from the config
// is gone.
func (c *Connector) Refresh(ctx context.Context, s connector.Scopes, id connector.Identity) (connector.Identity, error) {
	if err := ctx.Err(); err != nil {
		return connector.Identity{}, err
	}
	u := c.byID[id.UserID]
	if u == nil && c.store != nil && id.Email != "" {
		// Dex looks a stored user up again by email; a new user who took
		// the address over is not the same person.
		su, err := c.stored(ctx, id.Email)
		if err != nil {
			return connector.Identity{}, err
		}
		if su != nil && su.UserID == id.UserID {
			u = su
		}
	}
	if u == nil {
		return connector.Identity{}, connector.ErrUserGone
	}
	fresh := u.identity()
	fresh.ConnectorData = id.ConnectorData
	return fresh, nil
}

// stored returns the user the store holds for email, or nil.
func (c *Connector) stored(ctx context.Context, email string) (*User, error) {
	p, err := c.store.GetPassword(ctx, NormalizeEmail(email))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("password database: %w", err)
	}
	// As in Dex, a stored user's email counts as verified.
	return &User{Email: p.Email, Hash: p.Hash, Username: p.Username, UserID: p.UserID, EmailVerified: true}, nil
}

// Len is the number of users.
func (c *Connector) Len() int { return len(c.byID) }

func (u *User) identity() connector.Identity {
	name := u.Name
	if name == "" {
		name = u.Username
	}
	return connector.Identity{
		UserID:            u.UserID,
		Username:          name,
		PreferredUsername: u.PreferredUsername,
		Email:             u.Email,
		EmailVerified:     u.EmailVerified,
		Groups:            slices.Clone(u.Groups),
	}
}
