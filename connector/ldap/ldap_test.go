package ldap

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/internal/testslapd"
)

// plainConfig talks to s over the plain port with the reader account and
// finds groups by member (DN) and memberUid (uid).
func plainConfig(s *testslapd.Server) Config {
	pool := 2
	return Config{
		Host:          s.LDAPAddr,
		InsecureNoSSL: true,
		BindDN:        testslapd.ReaderDN,
		BindPW:        testslapd.ReaderPassword,
		UserSearch: UserSearch{
			BaseDN: testslapd.PeopleDN, Filter: "(objectClass=inetOrgPerson)", Username: Attrs{"uid"},
			IDAttr: "uid", EmailAttr: "mail", NameAttr: "cn", PreferredUsernameAttr: "uid",
		},
		GroupSearch: GroupSearch{
			BaseDN: testslapd.GroupsDN, NameAttr: "cn",
			UserMatchers: []UserMatcher{{UserAttr: "DN", GroupAttr: "member"}, {UserAttr: "uid", GroupAttr: "memberUid"}},
		},
		Timeout:  "5s",
		PoolSize: &pool,
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func open(t testing.TB, c Config) *Connector {
	t.Helper()
	conn, err := Open(context.Background(), c, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func login(t testing.TB, c *Connector, user string, groups bool) connector.Identity {
	t.Helper()
	id, ok, err := c.Login(context.Background(), connector.Scopes{Groups: groups, OfflineAccess: true}, user, testslapd.Password(strings.ToLower(strings.TrimSpace(user))))
	if err != nil || !ok {
		t.Fatalf("Login(%q) = %v, %v; want valid", user, ok, err)
	}
	return id
}

func TestTransports(t *testing.T) {
	s := testslapd.Start(t)
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"plain", func(*Config) {}, ""},
		{"ldaps rootCA file", func(c *Config) { c.Host, c.InsecureNoSSL, c.RootCA = s.LDAPSAddr, false, s.CAFile }, ""},
		{"ldaps rootCAData", func(c *Config) { c.Host, c.InsecureNoSSL, c.RootCAData = s.LDAPSAddr, false, s.CAPEM }, ""},
		{"ldaps client cert", func(c *Config) {
			c.Host, c.InsecureNoSSL, c.RootCA = s.LDAPSAddr, false, s.CAFile
			c.ClientCert, c.ClientKey = s.ClientCertFile, s.ClientKeyFile
		}, ""},
		{"startTLS", func(c *Config) { c.InsecureNoSSL, c.StartTLS, c.RootCA = false, true, s.CAFile }, ""},
		{"ldaps unknown CA", func(c *Config) { c.Host, c.InsecureNoSSL = s.LDAPSAddr, false }, "certificate"},
		{"ldaps skip verify", func(c *Config) { c.Host, c.InsecureNoSSL, c.InsecureSkipVerify = s.LDAPSAddr, false, true }, ""},
		{"startTLS unknown CA", func(c *Config) { c.InsecureNoSSL, c.StartTLS = false, true }, "certificate"},
		{"wrong service password", func(c *Config) { c.BindPW = "nope" }, "service account bind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := plainConfig(s)
			tt.mod(&cfg)
			c := open(t, cfg)
			id, ok, err := c.Login(context.Background(), connector.Scopes{}, "jane", testslapd.Password("jane"))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || ok {
					t.Fatalf("Login = %v, %v; want error with %q", ok, err, tt.wantErr)
				}
				return
			}
			if err != nil || !ok || id.Email != "jane@example.org" {
				t.Fatalf("Login = %+v, %v, %v", id, ok, err)
			}
		})
	}
}

func TestLogin(t *testing.T) {
	s := testslapd.Start(t)
	cfg := plainConfig(s)
	cfg.UserSearch.Username = Attrs{"uid", "mail"}
	c := open(t, cfg)
	tests := []struct {
		name, user, password string
		want                 *connector.Identity // nil: refused
	}{
		{"right password", "jane", testslapd.Password("jane"), &connector.Identity{
			UserID: "jane", Username: "Jane Doe", PreferredUsername: "jane", Email: "jane@example.org", EmailVerified: true}},
		{"cleartext stored password", "john", testslapd.Password("john"), &connector.Identity{
			UserID: "john", Username: "John Smith", PreferredUsername: "john", Email: "john@example.org", EmailVerified: true}},
		{"second username attribute", "jane@example.org", testslapd.Password("jane"), &connector.Identity{
			UserID: "jane", Username: "Jane Doe", PreferredUsername: "jane", Email: "jane@example.org", EmailVerified: true}},
		{"case-insensitive and trimmed", "  JaNe ", testslapd.Password("jane"), &connector.Identity{
			UserID: "jane", Username: "Jane Doe", PreferredUsername: "jane", Email: "jane@example.org", EmailVerified: true}},
		{"umlauts", "juergen", testslapd.Password("juergen"), &connector.Identity{
			UserID: "juergen", Username: "Jürgen Müller", PreferredUsername: "juergen", Email: "juergen@example.org", EmailVerified: true}},
		{"kanji", "yamada", testslapd.Password("yamada"), &connector.Identity{
			UserID: "yamada", Username: "山田太郎", PreferredUsername: "yamada", Email: "yamada@example.org", EmailVerified: true}},
		{"wrong password", "jane", "wrong", nil},
		{"other user's password", "jane", testslapd.Password("john"), nil},
		{"unknown user", "nobody", "x", nil},
		{"several matches", "twins@example.org", testslapd.Password("twin1"), nil},
		{"star", "*", testslapd.Password("jane"), nil},
		{"injection or", "*)(uid=*", testslapd.Password("jane"), nil},
		{"injection admin", "admin)(|(uid=*", testslapd.Password("jane"), nil},
		{"wildcard prefix", "jan*", testslapd.Password("jane"), nil},
		{"escaped nul", "jane\x00", testslapd.Password("jane"), nil},
		{"empty username", "   ", testslapd.Password("jane"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok, err := c.Login(context.Background(), connector.Scopes{}, tt.user, tt.password)
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			if tt.want == nil {
				if ok {
					t.Fatalf("Login(%q) accepted: %+v", tt.user, id)
				}
				return
			}
			if !ok {
				t.Fatalf("Login(%q) refused", tt.user)
			}
			id.ConnectorData = nil
			if !equalIdentity(id, *tt.want) {
				t.Errorf("identity = %+v\nwant       %+v", id, *tt.want)
			}
		})
	}
}

func equalIdentity(a, b connector.Identity) bool {
	return a.UserID == b.UserID && a.Username == b.Username && a.PreferredUsername == b.PreferredUsername &&
		a.Email == b.Email && a.EmailVerified == b.EmailVerified && slices.Equal(a.Groups, b.Groups)
}

func TestEmptyPasswordNeverBinds(t *testing.T) {
	s := testslapd.Start(t)
	c := open(t, plainConfig(s))
	_, ok, err := c.Login(context.Background(), connector.Scopes{}, "jane", "")
	if ok || err != nil {
		t.Fatalf("Login with empty password = %v, %v", ok, err)
	}
	if n := c.stats.dials.Load() + c.stats.userBinds.Load() + c.stats.serviceBinds.Load(); n != 0 {
		t.Fatalf("empty password caused %d dials/binds", n)
	}
}

func TestMissingEmail(t *testing.T) {
	s := testslapd.Start(t)
	t.Run("no mail attribute", func(t *testing.T) {
		c := open(t, plainConfig(s))
		_, ok, err := c.Login(context.Background(), connector.Scopes{}, "nomail", testslapd.Password("nomail"))
		var le *connector.LoginError
		if ok || err == nil || !errors.As(err, &le) {
			t.Fatalf("Login = %v, %v; want a LoginError", ok, err)
		}
		if !strings.Contains(err.Error(), `has no "mail" attribute`) || le.Message == "" {
			t.Errorf("error = %v (shown: %q)", err, le.Message)
		}
	})
	t.Run("email suffix", func(t *testing.T) {
		cfg := plainConfig(s)
		cfg.UserSearch.EmailAttr, cfg.UserSearch.EmailSuffix, cfg.UserSearch.NameAttr = "", "corp.example", "uid"
		id := login(t, open(t, cfg), "nomail", false)
		if id.Email != "nomail@corp.example" {
			t.Errorf("email = %q", id.Email)
		}
	})
}

func TestGroups(t *testing.T) {
	s := testslapd.Start(t)
	nested := func(c *Config) { c.GroupSearch.UserMatchers[0].RecursionGroupAttr = "member" }
	tests := []struct {
		name   string
		mod    func(*Config)
		user   string
		want   []string
		levels int64 // group searches expected, 0: don't check
	}{
		{"groupOfNames and posixGroup", func(*Config) {}, "jane", []string{"admins", "developers", "unix-users"}, 2},
		{"posixGroup only", func(*Config) {}, "juergen", []string{"unix-users"}, 0},
		{"no groups", func(*Config) {}, "yamada", []string{}, 0},
		{"direct only", func(*Config) {}, "john", []string{"developers", "nest-a"}, 0},
		// nest-a -> nest-b -> nest-c -> nest-a: three levels, then the cycle
		// yields nothing new. One query per level plus memberUid.
		{"nested with cycle", nested, "john", []string{"developers", "nest-a", "nest-b", "nest-c"}, 5},
		{"nesting depth bound", func(c *Config) { nested(c); c.MaxNestingDepth = 1 }, "john",
			[]string{"developers", "nest-a", "nest-b"}, 3},
		{"dex legacy single matcher", func(c *Config) {
			c.GroupSearch.UserMatchers = nil
			c.GroupSearch.UserAttr, c.GroupSearch.GroupAttr = "uid", "memberUid"
		}, "jane", []string{"unix-users"}, 1},
		{"group filter", func(c *Config) { c.GroupSearch.Filter = "(objectClass=posixGroup)" }, "jane", []string{"unix-users"}, 0},
		{"memberOf mode", func(c *Config) {
			c.GroupSearch = GroupSearch{}
			c.UserSearch.GroupsAttr = "memberOf"
		}, "jane", []string{"admins", "developers"}, 0},
		{"memberOf mode reading entries", func(c *Config) {
			c.GroupSearch = GroupSearch{BaseDN: testslapd.GroupsDN, NameAttr: "cn", Filter: "(cn=admins)"}
			c.UserSearch.GroupsAttr = "memberOf"
		}, "jane", []string{"admins"}, 0},
		{"memberOf mode outside baseDN", func(c *Config) {
			c.GroupSearch = GroupSearch{BaseDN: "ou=Elsewhere," + testslapd.BaseDN}
			c.UserSearch.GroupsAttr = "memberOf"
		}, "jane", []string{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := plainConfig(s)
			tt.mod(&cfg)
			c := open(t, cfg)
			id := login(t, c, tt.user, true)
			if !slices.Equal(id.Groups, tt.want) {
				t.Errorf("groups = %q, want %q", id.Groups, tt.want)
			}
			if tt.levels > 0 {
				if got := c.stats.groupSearches.Load(); got != tt.levels {
					t.Errorf("group searches = %d, want %d", got, tt.levels)
				}
			}
		})
	}
	t.Run("not asked for", func(t *testing.T) {
		c := open(t, plainConfig(s))
		if id := login(t, c, "jane", false); id.Groups != nil || c.stats.groupSearches.Load() != 0 {
			t.Errorf("groups = %q after %d searches without the groups scope", id.Groups, c.stats.groupSearches.Load())
		}
	})
}

func TestRefresh(t *testing.T) {
	s := testslapd.Start(t)
	admin := s.Admin(t)
	cfg := plainConfig(s)
	c := open(t, cfg)
	memberOf := func() *Connector {
		cfg := plainConfig(s)
		cfg.GroupSearch = GroupSearch{}
		cfg.UserSearch.GroupsAttr = "memberOf"
		return open(t, cfg)
	}()
	ctx := context.Background()
	scopes := connector.Scopes{Groups: true, OfflineAccess: true}

	jane := login(t, c, "jane", true)
	janeMO := login(t, memberOf, "jane", true)

	modify := func(dn string, op func(*goldap.ModifyRequest)) {
		t.Helper()
		req := goldap.NewModifyRequest(dn, nil)
		op(req)
		if err := admin.Modify(req); err != nil {
			t.Fatalf("modify %s: %v", dn, err)
		}
	}
	modify(testslapd.GroupDN("admins"), func(r *goldap.ModifyRequest) {
		r.Add("member", []string{"uid=john," + testslapd.PeopleDN}) // keep the group non-empty
	})
	modify(testslapd.GroupDN("admins"), func(r *goldap.ModifyRequest) {
		r.Delete("member", []string{"uid=jane," + testslapd.PeopleDN})
	})
	modify(testslapd.GroupDN("nest-b"), func(r *goldap.ModifyRequest) {
		r.Add("member", []string{"uid=jane," + testslapd.PeopleDN})
	})

	t.Run("groups changed", func(t *testing.T) {
		id, err := c.Refresh(ctx, scopes, jane)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"developers", "nest-b", "unix-users"}; !slices.Equal(id.Groups, want) {
			t.Errorf("groups = %q, want %q", id.Groups, want)
		}
		if id.UserID != "jane" || string(id.ConnectorData) != string(jane.ConnectorData) {
			t.Errorf("identity = %+v", id)
		}
	})
	t.Run("groups changed, memberOf mode", func(t *testing.T) {
		id, err := memberOf.Refresh(ctx, scopes, janeMO)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"developers", "nest-b"}; !slices.Equal(id.Groups, want) {
			t.Errorf("groups = %q, want %q", id.Groups, want)
		}
	})
	t.Run("dex refresh data", func(t *testing.T) {
		old := jane
		old.ConnectorData, _ = json.Marshal(map[string]any{
			"username": "jane", "entry": map[string]any{"DN": "uid=jane," + testslapd.PeopleDN, "Attributes": nil}})
		if _, err := c.Refresh(ctx, scopes, old); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("user deleted", func(t *testing.T) {
		if err := admin.Del(goldap.NewDelRequest("uid=jane,"+testslapd.PeopleDN, nil)); err != nil {
			t.Fatal(err)
		}
		for _, conn := range []*Connector{c, memberOf} {
			if _, err := conn.Refresh(ctx, scopes, jane); !errors.Is(err, connector.ErrUserGone) {
				t.Errorf("Refresh after delete = %v, want ErrUserGone", err)
			}
		}
	})
	t.Run("username reassigned", func(t *testing.T) {
		// A new entry takes the old uid: it is another person.
		add := goldap.NewAddRequest("cn=impostor,"+testslapd.PeopleDN, nil)
		add.Attribute("objectClass", []string{"inetOrgPerson"})
		add.Attribute("cn", []string{"impostor"})
		add.Attribute("sn", []string{"x"})
		add.Attribute("uid", []string{"jane"})
		add.Attribute("mail", []string{"impostor@example.org"})
		if err := admin.Add(add); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Refresh(ctx, scopes, jane); !errors.Is(err, connector.ErrUserGone) {
			t.Errorf("Refresh = %v, want ErrUserGone", err)
		}
	})
}

func TestPoolReuse(t *testing.T) {
	s := testslapd.Start(t)
	const logins = 20
	for _, size := range []int{0, 2} {
		t.Run("pool "+string(rune('0'+size)), func(t *testing.T) {
			cfg := plainConfig(s)
			cfg.PoolSize = &size
			c := open(t, cfg)
			for range logins {
				login(t, c, "jane", true)
			}
			wantDials := int64(1)
			if size == 0 {
				wantDials = logins
			}
			if got := c.stats.dials.Load(); got != wantDials {
				t.Errorf("dials = %d, want %d", got, wantDials)
			}
			// One service bind per dial, one rebind after each user bind.
			if got := c.stats.serviceBinds.Load(); got != wantDials+logins {
				t.Errorf("service binds = %d, want %d", got, wantDials+logins)
			}
		})
	}
	t.Run("failed user bind does not poison the pool", func(t *testing.T) {
		c := open(t, plainConfig(s))
		if _, ok, err := c.Login(context.Background(), connector.Scopes{}, "jane", "wrong"); ok || err != nil {
			t.Fatalf("Login = %v, %v", ok, err)
		}
		// The reused connection must search and read groups as the service
		// account again.
		if id := login(t, c, "jane", true); len(id.Groups) != 3 || c.stats.dials.Load() != 1 {
			t.Errorf("groups %q, dials %d", id.Groups, c.stats.dials.Load())
		}
	})
}

func TestServerDownAndBack(t *testing.T) {
	s := testslapd.Start(t)
	cfg := plainConfig(s)
	cfg.Timeout = "2s"
	c := open(t, cfg)
	login(t, c, "jane", true) // leaves a pooled connection

	s.Stop()
	_, ok, err := c.Login(context.Background(), connector.Scopes{}, "jane", testslapd.Password("jane"))
	var ne net.Error
	var ue *UnavailableError
	if ok || err == nil || !errors.As(err, &ne) || !errors.As(err, &ue) {
		t.Fatalf("Login with slapd stopped = %v, %v; want an UnavailableError", ok, err)
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), s.LDAPAddr) {
		t.Errorf("error does not name the server: %v", err)
	}

	s.Restart()
	login(t, c, "jane", true)

	// A pooled connection whose server restarted is replaced transparently.
	s.Stop()
	s.Restart()
	login(t, c, "jane", true)
}

// hungServer accepts connections and never answers.
func hungServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return l.Addr().String()
}

func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestHungServer(t *testing.T) {
	hung := hungServer(t)
	tests := []struct {
		name    string
		mod     func(*Config)
		ctx     func() (context.Context, context.CancelFunc)
		wantCtx bool
	}{
		{"timeout, plain", func(c *Config) { c.Timeout = "300ms" }, nil, false},
		{"timeout, ldaps handshake", func(c *Config) { c.Timeout = "300ms"; c.InsecureNoSSL = false }, nil, false},
		{"context deadline", func(c *Config) { c.Timeout = "1h" }, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300_000_000)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{
				Host: hung, InsecureNoSSL: true,
				UserSearch: UserSearch{BaseDN: "dc=x", Username: Attrs{"uid"}, IDAttr: "uid", EmailAttr: "mail"},
			}
			tt.mod(&cfg)
			c := open(t, cfg)
			ctx, cancel := context.Background(), func() {}
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			_, ok, err := c.Login(ctx, connector.Scopes{}, "jane", "pw")
			// Which timer fires first (the connection deadline or go-ldap's
			// own request timeout) decides the error's shape; either way the
			// directory is unavailable.
			// A caller's own deadline is reported as that deadline.
			if ok || err == nil {
				t.Fatalf("Login = %v, %v; want an error", ok, err)
			}
			t.Logf("error: %v", err)
			if tt.wantCtx {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("error = %v, want the context's deadline", err)
				}
			} else if !errors.Is(err, connector.ErrUnavailable) {
				t.Errorf("error = %v, want connector.ErrUnavailable", err)
			}
		})
	}
}

func TestFailover(t *testing.T) {
	s := testslapd.Start(t)
	dead := deadAddr(t)
	t.Run("first host dead", func(t *testing.T) {
		cfg := plainConfig(s)
		cfg.Host, cfg.Hosts = dead, []string{s.LDAPAddr}
		login(t, open(t, cfg), "jane", true)
	})
	t.Run("all hosts dead", func(t *testing.T) {
		cfg := plainConfig(s)
		cfg.Host, cfg.Hosts = dead, []string{deadAddr(t)}
		_, ok, err := open(t, cfg).Login(context.Background(), connector.Scopes{}, "jane", testslapd.Password("jane"))
		var ue *UnavailableError
		if ok || !errors.As(err, &ue) || !strings.Contains(err.Error(), dead) {
			t.Fatalf("Login = %v, %v", ok, err)
		}
	})
	t.Run("ldaps failover with rootCAData in base64 through JSON", func(t *testing.T) {
		raw, _ := json.Marshal(map[string]any{
			"host": dead, "hosts": []string{s.LDAPSAddr}, "bindDN": testslapd.ReaderDN, "bindPW": testslapd.ReaderPassword,
			"rootCAData": base64.StdEncoding.EncodeToString(s.CAPEM),
			"userSearch": map[string]any{"baseDN": testslapd.PeopleDN, "username": "uid", "idAttr": "uid", "emailAttr": "mail"},
		})
		var cfg Config
		if err := json.Unmarshal(raw, &cfg); err != nil {
			t.Fatal(err)
		}
		login(t, open(t, cfg), "jane", false)
	})
}

func TestConcurrentLogins(t *testing.T) {
	s := testslapd.Start(t)
	c := open(t, plainConfig(s))
	users := []string{"jane", "john", "juergen", "yamada"}
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			u := users[i%len(users)]
			id, ok, err := c.Login(context.Background(), connector.Scopes{Groups: true}, u, testslapd.Password(u))
			switch {
			case err != nil:
				errs <- err
			case !ok || id.UserID != u:
				errs <- errors.New("login " + u + " got " + id.UserID)
			default:
				errs <- nil
			}
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if d := c.stats.dials.Load(); d > 40 {
		t.Errorf("dials = %d", d)
	}
}
