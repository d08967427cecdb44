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
func drive(ctx context.Context, workers []op, warmup, duration time.Duration) ([]*recorder, time.Duration) {
	if warmup > 0 {
		wctx, cancel := context.WithTimeout(ctx, warmup)
		loop(wctx, workers, nil)
		cancel()
	}
	recs := make([]*recorder, len(workers))
	for i := range recs {
		recs[i] = &recorder{}
	}
	mctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	start := time.Now()
	loop(mctx, workers, recs)
	return recs, time.Since(start)
}

func loop(ctx context.Context, workers []op, recs []*recorder) {
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				err := w(ctx)
				if err == errExhausted {
					return
				}
				if ctx.Err() != nil {
					return // cut off by the end of the phase: not a server error
				}
				if recs != nil {
					recs[i].record(time.Since(start), err)
				}
			}
		})
	}
	wg.Wait()
}
