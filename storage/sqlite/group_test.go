package sqlite_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/sqlite"
)

// TestGroupConcurrentRotations rotates many tokens at once, as the refresh
// grant does (create the new token, mark the old one rotated), with every
// third update refused by its function: exactly the refused ones stay
// unrotated, and the others all land.
func TestGroupConcurrentRotations(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "torii.db"))
	const n = 96
	for i := range n {
		if err := s.CreateRefresh(ctx, benchToken(fmt.Sprintf("old-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	errRefused := errors.New("refused")
	now := time.Now().UTC().Truncate(time.Microsecond)
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Go(func() {
			if err := s.CreateRefresh(ctx, benchToken(fmt.Sprintf("new-%d", i))); err != nil {
				results[i] = err
				return
			}
			results[i] = s.UpdateRefresh(ctx, fmt.Sprintf("old-%d", i), func(r storage.RefreshToken) (storage.RefreshToken, error) {
				if i%3 == 0 {
					r.RotatedAt = now // must not be stored
					return r, errRefused
				}
				r.RotatedAt = now
				return r, nil
			})
		})
	}
	wg.Wait()
	for i := range n {
		if i%3 == 0 {
			if !errors.Is(results[i], errRefused) {
				t.Errorf("rotation %d: got %v, want its function's error", i, results[i])
			}
		} else if results[i] != nil {
			t.Errorf("rotation %d: %v", i, results[i])
		}
		old, err := s.GetRefresh(ctx, fmt.Sprintf("old-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if rotated := !old.RotatedAt.IsZero(); rotated != (i%3 != 0) {
			t.Errorf("token %d rotated = %v after %v", i, rotated, results[i])
		}
		if _, err := s.GetRefresh(ctx, fmt.Sprintf("new-%d", i)); err != nil {
			t.Errorf("new token %d: %v", i, err)
		}
	}
	groups, writes := s.GroupStats()
	t.Logf("%d writes in %d group transactions", writes, groups)
	if writes != n*2+n-n/3 { // creates (old and new) and the accepted updates
		t.Errorf("GroupStats counted %d committed writes, want %d", writes, n*2+n-n/3)
	}
}

// TestGroupCancelledWhileQueued: a write whose caller gives up while it
// waits behind a running transaction returns ctx.Err() and never happens;
// one already running ignores the cancellation and its caller gets the
// real outcome.
func TestGroupCancelledWhileQueued(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "torii.db"))
	for _, id := range []string{"held", "queued", "running"} {
		if err := s.CreateRefresh(ctx, benchToken(id)); err != nil {
			t.Fatal(err)
		}
	}
	entered, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- s.UpdateRefresh(ctx, "held", func(r storage.RefreshToken) (storage.RefreshToken, error) {
			close(entered)
			<-release // the writer is busy until the test says so
			return r, nil
		})
	}()
	<-entered

	qctx, cancel := context.WithCancel(ctx)
	queued := make(chan error, 1)
	go func() {
		queued <- s.UpdateRefresh(qctx, "queued", func(r storage.RefreshToken) (storage.RefreshToken, error) {
			r.Nonce = "changed"
			return r, nil
		})
	}()
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Errorf("queued write after cancel: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}

	rctx, rcancel := context.WithCancel(ctx)
	err := s.UpdateRefresh(rctx, "running", func(r storage.RefreshToken) (storage.RefreshToken, error) {
		rcancel() // the caller gives up while its write runs
		r.Nonce = "changed"
		return r, nil
	})
	if err != nil {
		t.Errorf("running write after cancel: %v, want nil (it committed)", err)
	}
	for id, want := range map[string]string{"queued": "", "running": "changed"} {
		r, err := s.GetRefresh(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Nonce != want {
			t.Errorf("%s: nonce %q, want %q", id, r.Nonce, want)
		}
	}
}

// TestKillNineKeepsAcknowledged starts a child process that writes from 8
// goroutines and prints each id once its write is acknowledged, kills it
// with SIGKILL mid-stream, reopens the file and finds every acknowledged
// write.
func TestKillNineKeepsAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	file := filepath.Join(t.TempDir(), "torii.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillNineChild$", "-test.v=false")
	cmd.Env = append(os.Environ(), "TORII_SQLITE_KILL_CHILD="+file)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "ack "); ok {
			acked = append(acked, id)
			if len(acked) == 3000 {
				_ = cmd.Process.Kill() // SIGKILL: no deferred close, no checkpoint
			}
		}
	}
	_ = cmd.Wait()
	if len(acked) < 3000 {
		t.Fatalf("child acknowledged only %d writes before exiting", len(acked))
	}
	s := open(t, file)
	missing := 0
	for _, id := range acked {
		if _, err := s.GetRefresh(context.Background(), id); err != nil {
			missing++
			if missing < 5 {
				t.Errorf("acknowledged write %s lost: %v", id, err)
			}
		}
	}
	t.Logf("%d acknowledged writes before SIGKILL, %d lost", len(acked), missing)
	if missing > 0 {
		t.Errorf("%d of %d acknowledged writes lost", missing, len(acked))
	}
}

// TestKillNineChild is the child of TestKillNineKeepsAcknowledged; it does
// nothing in a normal run.
func TestKillNineChild(t *testing.T) {
	file := os.Getenv("TORII_SQLITE_KILL_CHILD")
	if file == "" {
		t.Skip("only run as the child of TestKillNineKeepsAcknowledged")
	}
	s, err := sqlite.Open(context.Background(), file, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("rt-%d-%d", g, i)
				if err := s.CreateRefresh(context.Background(), benchToken(id)); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fmt.Fprintln(os.Stdout, "ack "+id) // one write(2) per line: nothing buffered in the process
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
