package server

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/torii-idp/torii/server/oauth2"
	"github.com/torii-idp/torii/storage"
)

// A rotation write whose outcome is unknown (storage.OutcomeUnknown: the
// connection to PostgreSQL dropped after COMMIT was sent) may have been
// stored, and then the old token is rotated while the client, answered
// 503, only has the old token. Its retry, typically after an outage longer
// than the reuse interval, would be taken for a replay and revoke the
// family. So the request does not answer at once: it waits, within
// lostAnswerBound, for storage to come back and reads the old token.
// Rotated with this request's seed, the write was stored: the answer is
// the successor this request computed. Not rotated, nothing was stored:
// the rotation is tried once more. Rotated with another seed, a concurrent
// request won, and the reuse-interval rules decide as for any request
// that loses a race. A request that gives up answers 503 and says so in
// the log: if its write was stored, the client's later retry outside the
// reuse interval is indeed a replay (docs/protocol.md).

// lostAnswerBound bounds how long a refresh waits for storage to come
// back before it gives up: long enough for a PostgreSQL restart or
// failover, short enough for a client's HTTP timeout.
const lostAnswerBound = 10 * time.Second

// lostAnswerDelay is the pause before the n-th read (from 0): 100ms
// doubling up to 2s, the last one cut to what is left of the bound.
func lostAnswerDelay(n int, waited time.Duration) time.Duration {
	d := 2 * time.Second
	if n < 5 {
		d = min(d, 100*time.Millisecond<<n)
	}
	return min(d, lostAnswerBound-waited)
}

// lostRotation is the write of one refresh whose answer was lost.
type lostRotation struct {
	id     string               // hash of the old token
	next   storage.RefreshToken // its successor's row
	seed   []byte               // the seed this request's update stores
	update func(storage.RefreshToken) (storage.RefreshToken, error)
	client Client
}

// resolveLost finds out what became of the rotation lr that failed with
// lost (of unknown outcome). nil: the rotation is stored (the response
// carries lr.next's value); errRotatedMeanwhile: another request's is;
// any other error is the request's answer.
func (g *refreshGrant) resolveLost(ctx context.Context, lr lostRotation, lost error) error {
	if ctx.Err() != nil {
		// Nobody is waiting for the answer any more (the client went
		// away, the server is stopping): there is no one to resolve it for.
		return lost
	}
	rctx, cancel := context.WithTimeout(ctx, lostAnswerBound)
	defer cancel()
	retried := false
	var waited time.Duration
	for n := 0; ; n++ {
		tok, err := g.store.GetRefresh(rctx, lr.id)
		switch {
		case err == nil && !tok.RotatedAt.IsZero() && bytes.Equal(tok.SuccessorSeed, lr.seed):
			// This request's write is stored. Its successor is too, unless
			// a backend of two writes applied the lost update late, after
			// the retry below had removed the successor: then the answer
			// would carry a dead token, and a 503 is the honest one.
			_, err = g.store.GetRefresh(rctx, lr.next.ID)
			if err == nil {
				g.log.InfoContext(ctx, "refresh rotation stored though its answer was lost; answering with its successor",
					"client_id", lr.client.ID, "connector_id", tok.ConnectorID, "waited", waited)
				return nil
			}
			if errors.Is(err, storage.ErrNotFound) {
				g.log.WarnContext(ctx, "refresh rotation stored though its answer was lost, but its successor is gone; answering 503",
					"client_id", lr.client.ID, "connector_id", tok.ConnectorID)
				return errors.Join(oauth2.TemporarilyUnavailable("the service is temporarily unavailable, try again"), err)
			}
			if !storage.OutcomeUnknown(rctx, err) {
				return err
			}
			lost = err // down again: read both once more
		case err == nil && !tok.RotatedAt.IsZero():
			return errRotatedMeanwhile
		case err == nil && retried:
			// The second attempt failed too, and nothing was stored: the
			// old token is as it was, the client's retry a normal refresh.
			return errors.Join(oauth2.TemporarilyUnavailable("the refresh could not be stored; try again"), lost)
		case err == nil:
			// Nothing was stored: try once more, with the same successor.
			// A backend without an atomic rotation kept the successor row
			// of the lost write (storage.RotateRefresh): remove it first.
			retried = true
			derr := g.store.DeleteRefresh(rctx, lr.next.ID)
			if derr != nil && !errors.Is(derr, storage.ErrNotFound) && !storage.OutcomeUnknown(rctx, derr) {
				return derr
			}
			if derr == nil || errors.Is(derr, storage.ErrNotFound) {
				err = storage.RotateRefresh(rctx, g.store, lr.id, lr.next, lr.update)
				if err == nil {
					g.log.InfoContext(ctx, "refresh rotation retried after a write of unknown outcome that was not stored",
						"client_id", lr.client.ID, "connector_id", tok.ConnectorID, "waited", waited)
					return nil
				}
				if errors.Is(err, errRotatedMeanwhile) {
					continue // by whom: the next read tells
				}
				if !storage.OutcomeUnknown(rctx, err) {
					return err
				}
				lost = err
			} else {
				retried, lost = false, derr // storage went away again before the retry
			}
		case errors.Is(err, storage.ErrNotFound):
			return err // revoked meanwhile
		case !storage.OutcomeUnknown(rctx, err):
			return err
		}
		if err := ctx.Err(); err != nil {
			return lost
		}
		d := lostAnswerDelay(n, waited)
		if d <= 0 || g.sleep(rctx, d) != nil {
			break
		}
		waited += d
	}
	if ctx.Err() != nil {
		return lost
	}
	g.log.WarnContext(ctx, "refresh rotation of unknown outcome not resolved: storage did not answer in time; if it was stored, "+
		"the client's retry after the reuse interval will be taken for a replay",
		"client_id", lr.client.ID, "bound", lostAnswerBound, "err", truncate(lost.Error()))
	return errors.Join(oauth2.TemporarilyUnavailable("the service is temporarily unavailable, try again"), lost)
}

// sleep is Config.Sleep's default: a timer that ctx can cut short.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
