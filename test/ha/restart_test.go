package ha_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/internal/testpg"
	"github.com/torii-idp/torii/storage"
)

// TestDatabaseRestartUnderLoad refreshes tokens through two replicas from
// several workers while PostgreSQL (a private cluster) is stopped and
// started again. While it is down the token endpoint answers 503
// temporarily_unavailable (never 500, never a hang) and readiness fails;
// once it is back both replicas work again without a restart, readiness
// passes, and every refresh token acknowledged with a 200 still works.
func TestDatabaseRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a PostgreSQL cluster")
	}
	cluster := testpg.StartCluster(t)
	dsn := testpg.CreateDatabase(t, cluster.AdminDSN())
	clk := newClock()
	d := newDeployment(t, clk, []storage.Storage{openPostgres(t, dsn), openPostgres(t, dsn)})
	replicas := d.Replicas

	const (
		workers = 4
		// Bounds: the load stops after this many requests per worker or
		// when ctx ends, whichever comes first.
		maxRequests = 5000
		minOK       = 5
	)
	type phase int
	const (
		before phase = iota
		down
		after
	)
	type worker struct {
		latest      string // last refresh token acknowledged with a 200
		requests    int
		ok          [3]int // 200s per phase
		unavailable [3]int // 503 temporarily_unavailable per phase
		slowest     time.Duration
	}
	ws := make([]*worker, workers)
	for i := range ws {
		ws[i] = &worker{latest: replicas[i%2].PasswordLogin().RefreshToken}
	}

	var mu sync.Mutex // guards ws, now and unexpected
	now := before
	var unexpected []string
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Go(func() {
			for n := 0; n < maxRequests; n++ {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				r := replicas[(i+n)%2]
				mu.Lock()
				tok := w.latest
				mu.Unlock()
				start := time.Now()
				got, err := r.Refresh(tok)
				took := time.Since(start)
				mu.Lock()
				w.requests++
				p := now
				switch {
				case err != nil:
					unexpected = append(unexpected, fmt.Sprintf("worker %d, phase %d: %v", i, p, err))
				case got.Status == http.StatusOK && got.RefreshToken != "":
					w.latest = got.RefreshToken
					w.ok[p]++
				case got.Status == http.StatusServiceUnavailable && got.Error == "temporarily_unavailable":
					w.unavailable[p]++
					if p == down {
						w.slowest = max(w.slowest, took)
					}
				default:
					unexpected = append(unexpected, fmt.Sprintf("worker %d, phase %d, %s: %v", i, p, r.Name, got))
				}
				mu.Unlock()
				if err != nil || got.Status != http.StatusOK {
					time.Sleep(10 * time.Millisecond) // a client backs off
				}
			}
		})
	}
	halt := func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}
	defer halt()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for {
			mu.Lock()
			done := cond()
			mu.Unlock()
			if done {
				return
			}
			select {
			case <-ctx.Done():
				halt()
				t.Fatalf("gave up waiting for %s", what)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	all := func(f func(w *worker) bool) func() bool {
		return func() bool {
			for _, w := range ws {
				if !f(w) && w.requests < maxRequests {
					return false
				}
			}
			return true
		}
	}
	ready := func(r *replica) int {
		status, _, err := r.Get("/healthz/ready")
		if err != nil {
			t.Errorf("%s: GET /healthz/ready: %v", r.Name, err)
		}
		return status
	}

	for _, r := range replicas {
		if got := ready(r); got != http.StatusOK {
			t.Fatalf("%s: ready before the outage: %d", r.Name, got)
		}
	}
	waitFor("refreshes before the outage", all(func(w *worker) bool { return w.ok[before] >= minOK }))

	mu.Lock()
	now = down
	mu.Unlock()
	cluster.Stop()
	waitFor("503s during the outage", all(func(w *worker) bool { return w.unavailable[down] >= 3 }))
	for _, r := range replicas {
		if got := ready(r); got != http.StatusServiceUnavailable {
			t.Errorf("%s: ready while the database is down: %d, want 503", r.Name, got)
		}
	}
	// Outages outlast the reuse interval (3 s): a token whose rotation was
	// cut short must not count as replayed afterwards.
	clk.Add(10 * time.Second)

	cluster.Start()
	mu.Lock()
	now = after
	mu.Unlock()
	waitFor("refreshes after the restart", all(func(w *worker) bool { return w.ok[after] >= minOK }))
	for _, r := range replicas {
		for ready(r) != http.StatusOK {
			select {
			case <-ctx.Done():
				halt()
				t.Fatalf("%s: not ready again after the restart", r.Name)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	halt()

	mu.Lock()
	defer mu.Unlock()
	if len(unexpected) > 0 {
		t.Errorf("%d responses were neither 200 nor 503 temporarily_unavailable:", len(unexpected))
		for _, u := range unexpected[:min(len(unexpected), 10)] {
			t.Errorf("  %s", u)
		}
	}
	clk.Add(time.Minute) // every earlier token is past its reuse interval
	for i, w := range ws {
		t.Logf("worker %d: %d requests; 200: %v; 503: %v; slowest 503 while down: %v",
			i, w.requests, w.ok, w.unavailable, w.slowest.Round(time.Millisecond))
		// Each worker presents the same token until it gets a 200, so its
		// first 200 after the restart used the token acknowledged before.
		if w.ok[after] == 0 {
			t.Errorf("worker %d: no refresh succeeded after the restart", i)
		}
		r := replicas[(i+1)%2]
		if got, err := r.Refresh(w.latest); err != nil || got.Status != http.StatusOK {
			t.Errorf("worker %d: last acknowledged refresh token on %s: %v %v; want 200", i, r.Name, got, err)
		}
	}
}
