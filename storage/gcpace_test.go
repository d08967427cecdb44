package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
)

func TestGCPaceNext(t *testing.T) {
	p := storage.GCPace{Min: 10, Max: 2000, Target: 2 * time.Millisecond}
	for _, tc := range []struct {
		batch int
		took  time.Duration
		want  int
	}{
		{500, 50 * time.Millisecond, 250}, // slow: halve
		{10, time.Second, 10},             // never below Min
		{500, 100 * time.Microsecond, 1000},
		{2000, 0, 2000}, // never above Max
		{500, 2 * time.Millisecond, 500},
		{5000, 2 * time.Millisecond, 2000},
	} {
		if got := p.Next(tc.batch, tc.took); got != tc.want {
			t.Errorf("Next(%d, %v) = %d, want %d", tc.batch, tc.took, got, tc.want)
		}
	}
}

func TestGCPaceRun(t *testing.T) {
	ctx := context.Background()
	// 1,000 rows in quick batches: sizes grow from First, within bounds.
	left := int64(1000)
	var sizes []int
	p := storage.GCPace{First: 10, Min: 5, Max: 200, Target: time.Hour, Yield: 0}
	n, err := p.Run(ctx, func(ctx context.Context, limit int) (int64, error) {
		sizes = append(sizes, limit)
		k := min(int64(limit), left)
		left -= k
		return k, nil
	})
	if err != nil || n != 1000 || left != 0 {
		t.Fatalf("Run deleted %d (%v), %d left; want 1000, 0 left", n, err, left)
	}
	if sizes[0] != 10 || len(sizes) < 2 {
		t.Fatalf("batch sizes %v: want a first batch of 10 and then more", sizes)
	}
	for _, s := range sizes {
		if s < p.Min || s > p.Max {
			t.Fatalf("batch size %d outside [%d, %d]: %v", s, p.Min, p.Max, sizes)
		}
	}

	// A batch error stops the run with what was deleted so far.
	boom := errors.New("boom")
	calls := 0
	n, err = storage.GCPace{First: 3, Min: 3, Max: 3}.Run(ctx, func(context.Context, int) (int64, error) {
		calls++
		if calls == 3 {
			return 1, boom
		}
		return 3, nil
	})
	if !errors.Is(err, boom) || n != 7 || calls != 3 {
		t.Fatalf("Run after a failing batch: %d rows, %d calls, %v; want 7, 3, boom", n, calls, err)
	}

	// The pause between batches ends with ctx.
	cctx, cancel := context.WithCancel(ctx)
	calls = 0
	n, err = storage.GCPace{First: 3, Min: 3, Max: 3, Yield: 1e6}.Run(cctx, func(context.Context, int) (int64, error) {
		calls++
		time.Sleep(time.Millisecond) // a pause of 1,000 s follows
		cancel()
		return 3, nil
	})
	if !errors.Is(err, context.Canceled) || n != 3 || calls != 1 {
		t.Fatalf("Run cancelled during a pause: %d rows, %d calls, %v; want 3, 1, context.Canceled", n, calls, err)
	}
}
