package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestPhaseEndDoesNotCutOffRequests: the end of the warm-up and of the
// measurement lets each worker's request in flight finish (a refresh
// dropped after the server rotated it would leave the worker with a token
// the server takes for a replay); requests ending after the measurement's
// end are not counted, and only the caller's ctx cancels a request.
func TestPhaseEndDoesNotCutOffRequests(t *testing.T) {
	var started, cut, finished atomic.Int64
	slow := func(ctx context.Context) error {
		started.Add(1)
		select {
		case <-time.After(40 * time.Millisecond):
			finished.Add(1)
			return nil
		case <-ctx.Done():
			cut.Add(1)
			return ctx.Err()
		}
	}
	workers := []op{slow, slow, slow}
	recs, elapsed := drive(context.Background(), workers, 30*time.Millisecond, 100*time.Millisecond)
	if n := cut.Load(); n != 0 {
		t.Errorf("%d requests were cancelled by the end of a phase", n)
	}
	if started.Load() != finished.Load() {
		t.Errorf("%d requests started, %d finished: drive returned with requests in flight", started.Load(), finished.Load())
	}
	recorded := 0
	for _, r := range recs {
		recorded += len(r.lat) + r.errors
	}
	// Each worker: one warm-up request (30 ms phase, 40 ms requests), then
	// the measurement's 100 ms hold two whole requests and the start of a
	// third that ends after it and is not recorded.
	if recorded == 0 || int64(recorded) >= finished.Load() {
		t.Errorf("recorded %d of %d finished requests; want the measured ones only, not the warm-up's or the late ones", recorded, finished.Load())
	}
	if elapsed > 100*time.Millisecond {
		t.Errorf("elapsed %v, longer than the measurement", elapsed)
	}

	// An interrupt (the caller's ctx) still cancels a request in flight.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	cut.Store(0)
	if recs, _ := drive(ctx, []op{slow}, 0, time.Second); cut.Load() != 1 || len(recs[0].lat)+recs[0].errors != 0 {
		t.Errorf("after an interrupt: %d cut off, %d recorded; want the request cancelled and not recorded", cut.Load(), len(recs[0].lat)+recs[0].errors)
	}
}
