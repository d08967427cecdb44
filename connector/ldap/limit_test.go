package ldap

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/internal/testslapd"
)

// silentServer accepts TCP connections and never answers; it reports how
// many connections were open at most at once.
func silentServer(t *testing.T) (addr string, peak func() int64) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var open, most atomic.Int64
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n := open.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				// Reading returns when the client closes its side.
				buf := make([]byte, 512)
				for {
					if _, err := c.Read(buf); err != nil {
						open.Add(-1)
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String(), most.Load
}

// 150 parallel logins against a directory that never answers hold at most
// poolSize connections; the rest wait for a slot until their context ends
// and get connector.ErrUnavailable (issue 12, item 4).
func TestOpenConnectionsCapped(t *testing.T) {
	addr, peak := silentServer(t)
	pool := 3
	c := open(t, Config{
		Host: addr, InsecureNoSSL: true, Timeout: "2s", PoolSize: &pool,
		UserSearch: UserSearch{BaseDN: "dc=x", Username: Attrs{"uid"}, IDAttr: "uid", EmailAttr: "mail"},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	var unavailable atomic.Int64
	for range 150 {
		wg.Go(func() {
			_, ok, err := c.Login(ctx, connector.Scopes{}, "jane", "pw")
			if ok || err == nil {
				t.Errorf("Login against a silent server: ok=%v err=%v", ok, err)
			}
			if errors.Is(err, connector.ErrUnavailable) {
				unavailable.Add(1)
			}
		})
	}
	wg.Wait()
	if got := peak(); got > int64(pool) {
		t.Errorf("%d connections open at once, want at most poolSize %d", got, pool)
	}
	if unavailable.Load() < 150-int64(pool) {
		t.Errorf("%d logins got ErrUnavailable, want at least %d", unavailable.Load(), 150-pool)
	}
	t.Logf("peak open connections %d, ErrUnavailable %d of 150", peak(), unavailable.Load())
}

// The gate sees one user ID for every spelling the directory accepts for a
// person (case, fullwidth letters, a second username attribute), so the
// server's throttle counts them together (issue 12, item 2); "" for nobody.
func TestLoginGatedResolvesTheEntry(t *testing.T) {
	s := testslapd.Start(t)
	cfg := plainConfig(s)
	cfg.UserSearch.Username = Attrs{"uid", "mail"}
	var logs strings.Builder
	c, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct{ typed, want string }{
		{"jane", "jane"}, {"JANE", "jane"}, {"ｊａｎｅ", "jane"}, {"jane@example.org", "jane"}, {"nobody-here", ""},
	} {
		var got []string
		_, ok, err := c.LoginGated(context.Background(), connector.Scopes{}, tc.typed, "wrong password",
			func(_ context.Context, id string) error { got = append(got, id); return nil })
		if ok || err != nil {
			t.Errorf("%q: ok=%v err=%v", tc.typed, ok, err)
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%q: gate saw %q, want [%q]", tc.typed, got, tc.want)
		}
	}
	// A password typed into the username field never reaches an INFO log,
	// nor does the filter built from it (issue 12, item 9).
	c.Login(context.Background(), connector.Scopes{}, "hunter2-secret", "x")
	c.Login(context.Background(), connector.Scopes{}, "jane", "hunter3-secret")
	if strings.Contains(logs.String(), "hunter") {
		t.Errorf("typed input logged at INFO:\n%s", logs.String())
	}
}
