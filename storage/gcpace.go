package storage

import (
	"context"
	"time"
)

// GCPace is how a backend deletes a large number of expired rows without
// stalling the requests that run beside it: in small batches, each its own
// short transaction, with a pause after each batch.
//
// The batch size adapts so that one batch takes about Target (deleting
// from a cold file or table can be slow, from a warm one quick): halved
// after a batch that took more than twice Target, doubled after one that
// took less than half of it, within [Min, Max]. After each full batch GC
// sleeps Yield times as long as the batch took, so it uses at most
// 1/(1+Yield) of the writer and of one CPU, and the writes queued behind a
// batch wait at most about Target.
type GCPace struct {
	First, Min, Max int
	Target          time.Duration
	Yield           float64
}

// DefaultGCPace suits SQLite and PostgreSQL alike: batches of about 2 ms,
// GC using at most a third of the writer.
var DefaultGCPace = GCPace{First: 100, Min: 10, Max: 2000, Target: 2 * time.Millisecond, Yield: 2}

// Next is the size of the batch after one of size batch that took took.
func (p GCPace) Next(batch int, took time.Duration) int {
	switch {
	case took > 2*p.Target:
		return max(batch/2, p.Min)
	case took < p.Target/2:
		return min(batch*2, p.Max)
	}
	return min(max(batch, p.Min), p.Max)
}

// Run calls batch with a size until it deletes fewer rows than asked,
// pausing between batches, and returns how many rows were deleted. It
// stops with ctx's error when ctx ends during a pause.
func (p GCPace) Run(ctx context.Context, batch func(ctx context.Context, limit int) (int64, error)) (int64, error) {
	var total int64
	size := min(max(p.First, p.Min), p.Max)
	for {
		start := time.Now()
		n, err := batch(ctx, size)
		total += n
		if err != nil || n < int64(size) {
			return total, err
		}
		took := time.Since(start)
		size = p.Next(size, took)
		t := time.NewTimer(time.Duration(float64(took) * p.Yield))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return total, ctx.Err()
		}
	}
}
