package ldap

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/internal/testslapd"
)

type recordingObserver struct {
	mu  sync.Mutex
	ops map[string]int
}

func (r *recordingObserver) ObserveLDAP(op string, took time.Duration, failed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if failed {
		op += " failed"
	}
	r.ops[op]++
}

// The observer sees every directory operation of a login against slapd,
// and the pool statistics follow the connections.
func TestObserverAndPoolStats(t *testing.T) {
	s := testslapd.Start(t)
	c := open(t, plainConfig(s))
	obs := &recordingObserver{ops: map[string]int{}}
	c.SetObserver(obs)

	if st := c.PoolStats(); st != (PoolStats{}) {
		t.Fatalf("fresh pool: %+v", st)
	}
	login(t, c, "jane", true)
	st := c.PoolStats()
	if st.InUse != 0 || st.Idle != 1 || st.Misses != 1 {
		t.Fatalf("after one login: %+v, want 0 in use, 1 idle, 1 miss (the first dial)", st)
	}
	login(t, c, "jane", true)
	if st := c.PoolStats(); st.Misses != 1 || st.Idle != 1 {
		t.Fatalf("after a second login: %+v, want the pooled connection reused", st)
	}
	if _, ok, err := c.Login(context.Background(), connector.Scopes{}, "jane", "wrong"); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	// Each login: a user search, a user bind, a rebind as the service
	// account; with groups, group searches. The first also dialled (one
	// more service bind). A refused password is an answer, not a failure.
	if obs.ops[OpUserBind] != 3 || obs.ops[OpSearch] < 4 || obs.ops[OpServiceBind] < 4 {
		t.Fatalf("observed %v", obs.ops)
	}
	for op := range obs.ops {
		if len(op) > 7 && op[len(op)-6:] == "failed" {
			t.Fatalf("a failure was observed: %v", obs.ops)
		}
	}
}

// A borrowing that finds every poolSize slot taken waits, and is counted
// as a wait; one that finds a free slot is not.
func TestPoolStatsWaits(t *testing.T) {
	s := testslapd.Start(t)
	cfg := plainConfig(s)
	one := 1
	cfg.PoolSize = &one
	c := open(t, cfg)
	login(t, c, "jane", true)
	if st := c.PoolStats(); st.Waits != 0 {
		t.Fatalf("after a login on a free pool: %+v, want no wait", st)
	}
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- c.do(context.Background(), func(*session) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	waited := make(chan error, 1)
	go func() {
		_, ok, err := c.Login(context.Background(), connector.Scopes{}, "jane", testslapd.Password("jane"))
		if err == nil && !ok {
			err = errors.New("refused")
		}
		waited <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); c.PoolStats().Waits == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second login never waited for the only slot")
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("the waiting login: %v", err)
	}
	if st := c.PoolStats(); st.Waits != 1 || st.InUse != 0 {
		t.Fatalf("after the wait: %+v, want 1 wait, none in use", st)
	}
}
