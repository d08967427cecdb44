package static

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/torii-idp/torii/connector"
)

func hash(t *testing.T, password string, cost int) []byte {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testUsers(t *testing.T) []User {
	h := hash(t, "password", bcrypt.DefaultCost)
	return []User{
		{Email: "Admin@Example.com", Hash: h, Username: "admin", UserID: "u-1", EmailVerified: true, Groups: []string{"admins", "devs"}},
		{Email: "jane@example.com", Hash: hash(t, "s3cret", 11), Username: "jane", Name: "Jane Doe", PreferredUsername: "jd", UserID: "u-2"},
	}
}

func TestLogin(t *testing.T) {
	c, err := New(testUsers(t))
	if err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		email    string
		password string
		valid    bool
		wantErr  bool
		want     connector.Identity
	}{
		{name: "right password", email: "admin@example.com", password: "password", valid: true,
			want: connector.Identity{UserID: "u-1", Username: "admin", Email: "Admin@Example.com", EmailVerified: true, Groups: []string{"admins", "devs"}}},
		{name: "email case and spaces", email: "  ADMIN@example.COM ", password: "password", valid: true,
			want: connector.Identity{UserID: "u-1", Username: "admin", Email: "Admin@Example.com", EmailVerified: true, Groups: []string{"admins", "devs"}}},
		{name: "name wins over username", email: "jane@example.com", password: "s3cret", valid: true,
			want: connector.Identity{UserID: "u-2", Username: "Jane Doe", PreferredUsername: "jd", Email: "jane@example.com"}},
		{name: "wrong password", email: "admin@example.com", password: "Password"},
		{name: "password is not trimmed", email: "admin@example.com", password: "password "},
		{name: "unknown user", email: "nobody@example.com", password: "password"},
		{name: "empty", email: "", password: ""},
		{name: "canceled", ctx: canceled, email: "admin@example.com", password: "password", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			id, valid, err := c.Login(ctx, connector.Scopes{Groups: true}, tt.email, tt.password)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if valid != tt.valid {
				t.Fatalf("valid = %v, want %v", valid, tt.valid)
			}
			if !equalIdentity(id, tt.want) {
				t.Fatalf("identity = %+v, want %+v", id, tt.want)
			}
		})
	}
}

func equalIdentity(a, b connector.Identity) bool {
	return a.UserID == b.UserID && a.Username == b.Username && a.PreferredUsername == b.PreferredUsername &&
		a.Email == b.Email && a.EmailVerified == b.EmailVerified && slices.Equal(a.Groups, b.Groups) &&
		string(a.ConnectorData) == string(b.ConnectorData)
}

func TestLoginDoesNotShareGroups(t *testing.T) {
	c, err := New(testUsers(t))
	if err != nil {
		t.Fatal(err)
	}
	id, _, _ := c.Login(context.Background(), connector.Scopes{}, "admin@example.com", "password")
	id.Groups[0] = "changed"
	again, _, _ := c.Login(context.Background(), connector.Scopes{}, "admin@example.com", "password")
	if again.Groups[0] != "admins" {
		t.Fatalf("a caller changed the connector's groups: %v", again.Groups)
	}
}

// The dummy hash compared for unknown users costs what most users' hashes
// cost: one user with a dear hash must not make every unknown-user guess
// that dear (issue 12, item 10).
func TestDummyHashCost(t *testing.T) {
	mk := func(costs ...int) *Connector {
		t.Helper()
		var us []User
		for i, c := range costs {
			us = append(us, User{Email: fmt.Sprintf("u%d@example.com", i), UserID: fmt.Sprint(i), Hash: hash(t, "pw", c)})
		}
		c, err := New(us)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		costs []int
		want  int
	}{
		{nil, MinCost},
		{[]int{11}, 11},
		{[]int{10, 10, 14}, 10},
		{[]int{12, 10}, 10},
		{[]int{11, 12, 12}, 12},
	} {
		if cost, err := bcrypt.Cost(mk(tc.costs...).dummy); err != nil || cost != tc.want {
			t.Errorf("costs %v: dummy cost %d, %v; want %d", tc.costs, cost, err, tc.want)
		}
	}
}

// Concurrent bcrypt comparisons are capped; a login waits for a slot until
// its context ends (or MaxQueueWait), then gets connector.ErrUnavailable.
func TestHashingCap(t *testing.T) {
	c, err := NewWithOptions(testUsers(t), nil, Options{MaxConcurrentHashes: 2, MaxQueueWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c.hashing <- struct{}{}
	c.hashing <- struct{}{} // both slots busy
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, ok, err := c.Login(ctx, connector.Scopes{}, "jane@example.com", "s3cret")
	if ok || !errors.Is(err, connector.ErrUnavailable) {
		t.Fatalf("with every slot busy past the deadline: ok=%v err=%v; want ErrUnavailable", ok, err)
	}
	// A queued login proceeds once a slot frees up.
	done := make(chan error, 1)
	go func() {
		_, ok, err := c.Login(context.Background(), connector.Scopes{}, "jane@example.com", "s3cret")
		if err == nil && !ok {
			err = errors.New("right password refused")
		}
		done <- err
	}()
	<-c.hashing
	if err := <-done; err != nil {
		t.Fatalf("queued login: %v", err)
	}
	// Without a deadline the wait is bounded by MaxQueueWait.
	c2, _ := NewWithOptions(testUsers(t), nil, Options{MaxConcurrentHashes: 1, MaxQueueWait: 20 * time.Millisecond})
	c2.hashing <- struct{}{}
	if _, _, err := c2.Login(context.Background(), connector.Scopes{}, "jane@example.com", "x"); !errors.Is(err, connector.ErrUnavailable) {
		t.Fatalf("no deadline, queue full: %v", err)
	}
}

// The gate sees the user ID whatever spelling of the address was typed,
// and "" for an unknown one; its error stops the check.
func TestLoginGated(t *testing.T) {
	c, err := New(testUsers(t))
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	gate := func(_ context.Context, id string) error { seen = append(seen, id); return nil }
	for _, u := range []string{"jane@example.com", " JANE@example.com ", "nobody@example.com"} {
		c.LoginGated(context.Background(), connector.Scopes{}, u, "x", gate)
	}
	if want := []string{"u-2", "u-2", ""}; !slices.Equal(seen, want) {
		t.Errorf("gate saw %q, want %q", seen, want)
	}
	stop := errors.New("throttled")
	_, ok, err := c.LoginGated(context.Background(), connector.Scopes{}, "jane@example.com", "s3cret",
		func(context.Context, string) error { return stop })
	if ok || !errors.Is(err, stop) {
		t.Errorf("gate error: ok=%v err=%v", ok, err)
	}
}

func TestRefresh(t *testing.T) {
	users := testUsers(t)
	c, err := New(users)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      connector.Identity
		want    connector.Identity
		wantErr error
	}{
		{name: "present", in: connector.Identity{UserID: "u-2", Username: "old", ConnectorData: []byte("x")},
			want: connector.Identity{UserID: "u-2", Username: "Jane Doe", PreferredUsername: "jd", Email: "jane@example.com", ConnectorData: []byte("x")}},
		{name: "gone", in: connector.Identity{UserID: "u-9", Email: "admin@example.com"}, wantErr: connector.ErrUserGone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Refresh(context.Background(), connector.Scopes{}, tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !equalIdentity(got, tt.want) {
				t.Fatalf("identity = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	good := hash(t, "pw", bcrypt.DefaultCost)
	cheap := hash(t, "pw", bcrypt.MinCost)
	tests := []struct {
		name  string
		users []User
		want  []string
	}{
		{name: "duplicate email", users: []User{
			{Email: "a@x", Hash: good, UserID: "1"}, {Email: " A@X", Hash: good, UserID: "2"}}, want: []string{"listed twice"}},
		{name: "duplicate id", users: []User{
			{Email: "a@x", Hash: good, UserID: "1"}, {Email: "b@x", Hash: good, UserID: "1"}}, want: []string{`userID "1" is listed twice`}},
		{name: "missing fields, all reported", users: []User{{Hash: []byte("nope")}},
			want: []string{"email is required", "userID is required", "hash"}},
		{name: "cost too low", users: []User{{Email: "a@x", Hash: cheap, UserID: "1"}}, want: []string{"cost 4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.users)
			if err == nil {
				t.Fatal("New accepted bad users")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseHash(t *testing.T) {
	h := string(hash(t, "pw", bcrypt.DefaultCost))
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{name: "text", in: h, want: h},
		{name: "text with spaces", in: " " + h + "\n", want: h},
		{name: "base64", in: base64.StdEncoding.EncodeToString([]byte(h)), want: h},
		{name: "2y prefix", in: "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72", want: "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72"},
		{name: "empty", in: "", wantErr: "no password hash"},
		{name: "garbage", in: "password", wantErr: "not a bcrypt hash"},
		{name: "base64 garbage", in: base64.StdEncoding.EncodeToString([]byte("password")), wantErr: "after base64"},
		{name: "cost too high", in: "$2a$17$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72", wantErr: "cost 17"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHash(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("ParseHash = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestPrompt(t *testing.T) {
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Prompt() != "Email Address" {
		t.Fatalf("Prompt = %q", c.Prompt())
	}
}

// BenchmarkLogin compares an unknown user against a wrong password: the
// ratio should be close to 1.
func BenchmarkLogin(b *testing.B) {
	h, _ := bcrypt.GenerateFromPassword([]byte("password"), bcrypt.DefaultCost)
	c, err := New([]User{{Email: "a@example.com", Hash: h, UserID: "1"}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("wrong-password", func(b *testing.B) {
		for b.Loop() {
			c.Login(ctx, connector.Scopes{}, "a@example.com", "nope")
		}
	})
	b.Run("unknown-user", func(b *testing.B) {
		for b.Loop() {
			c.Login(ctx, connector.Scopes{}, "b@example.com", "nope")
		}
	})
}
