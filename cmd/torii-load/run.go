package main

import (
	"context"
	"sync"
	"time"
)

// op is one measured request (or flow) of a worker; it returns an error for
// anything but the expected answer.
type op func(ctx context.Context) error

// drive runs one op per worker in a loop: first for warmup (not recorded),
// then for duration. A worker's op returning errExhausted stops that
// worker (the code mode runs out of pre-minted codes).
//
// The end of a phase does not cut off a request in flight: a client that
// drops a refresh whose rotation the server has already stored holds a
// token the server takes for a replay (Dex then refuses the chain for
// good). Each worker finishes its op and then stops; an op that ends after
// the phase's end is not recorded. Only ctx (an interrupt) cancels ops.
func drive(ctx context.Context, workers []op, warmup, duration time.Duration) ([]*recorder, time.Duration) {
	if warmup > 0 {
		loop(ctx, time.Now().Add(warmup), workers, nil)
	}
	recs := make([]*recorder, len(workers))
	for i := range recs {
		recs[i] = &recorder{}
	}
	start := time.Now()
	loop(ctx, start.Add(duration), workers, recs)
	return recs, min(time.Since(start), duration)
}

func loop(ctx context.Context, until time.Time, workers []op, recs []*recorder) {
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(until) {
				start := time.Now()
				err := w(ctx)
				if err == errExhausted {
					return
				}
				if ctx.Err() != nil {
					return // interrupted: not a server error
				}
				if end := time.Now(); recs != nil && !end.After(until) {
					recs[i].record(end.Sub(start), err)
				}
			}
		})
	}
	wg.Wait()
}
