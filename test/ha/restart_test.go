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
// started again. While it is down the token endpoint answers a new request
// 503 temporarily_unavailable (never 500) and readiness fails; a refresh
// whose rotation write was cut off by the stop is held until PostgreSQL is
// back (at most about 10 s) and then answered: 200 with the successor it
// stored, or after trying the rotation again. Once it is back both
// replicas work again without a restart, readiness passes, and every
// refresh token acknowledged with a 200 still works.
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
		busySince   time.Time // start of the request in flight (zero: none)
		held        int       // requests begun before the stop, answered 200 once the restart began
		slowestHeld time.Duration
	}
	ws := make([]*worker, workers)
	for i := range ws {
		ws[i] = &worker{latest: replicas[i%2].PasswordLogin().RefreshToken}
	}
	probe := replicas[0].PasswordLogin().RefreshToken // sent by the test itself while the database is down

	var mu sync.Mutex // guards ws, now, stoppedAt, restarting and unexpected
	now := before
	var stoppedAt time.Time
	restarting := false
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
				start := time.Now()
				w.busySince = start
				mu.Unlock()
				got, err := r.Refresh(tok)
				took := time.Since(start)
				mu.Lock()
				w.busySince = time.Time{}
				w.requests++
				p := now
				switch {
				case err != nil:
					unexpected = append(unexpected, fmt.Sprintf("worker %d, phase %d: %v", i, p, err))
				case got.Status == http.StatusOK && got.RefreshToken != "":
					w.latest = got.RefreshToken
					w.ok[p]++
					if start.Before(stoppedAt) && restarting {
						w.held++
						w.slowestHeld = max(w.slowestHeld, took)
					}
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
	mu.Lock()
	stoppedAt = time.Now()
	mu.Unlock()
	// A worker whose request began before the stop and has not been
	// answered is held: its rotation write was cut off, and the request
	// waits for PostgreSQL to come back to learn whether it was stored.
	// Restarting only after it gave up (its bound, about 10 s) would make
	// the outage outlast the bound, the documented case where a stored
	// rotation whose answer was lost costs the family. So the outage ends
	// once every worker either got 503s or is held, as after a short
	// restart or failover.
	waitFor("503s during the outage", all(func(w *worker) bool {
		return w.unavailable[down] >= 3 || (!w.busySince.IsZero() && w.busySince.Before(stoppedAt))
	}))
	for _, r := range replicas {
		if got, err := r.Refresh(probe); err != nil || got.Status != http.StatusServiceUnavailable || got.Error != "temporarily_unavailable" {
			t.Errorf("%s: refresh while the database is down: %v %v, want 503 temporarily_unavailable", r.Name, got, err)
		}
		if got := ready(r); got != http.StatusServiceUnavailable {
			t.Errorf("%s: ready while the database is down: %d, want 503", r.Name, got)
		}
	}
	// Outages outlast the reuse interval (3 s): a token whose rotation was
	// cut short must not count as replayed afterwards.
	clk.Add(10 * time.Second)

	mu.Lock()
	restarting = true
	mu.Unlock()
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
		t.Logf("worker %d: %d requests; 200: %v; 503: %v; slowest 503 while down: %v; held through the outage, then 200: %d (slowest %v)",
			i, w.requests, w.ok, w.unavailable, w.slowest.Round(time.Millisecond), w.held, w.slowestHeld.Round(time.Millisecond))
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
