package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/torii-idp/torii/storage"
)

// The first rotation of a token stores a random seed, and the successor's
// value is derived from the seed and the old token's value. Two things
// follow. A request whose rotation write failed of unknown outcome (the
// database connection dropped after COMMIT was sent) can tell, once
// storage answers again, whether its own write is the one stored (the
// seed is its own) and then answer with the successor it computed
// (refresh_resolve.go). And the old token presented again inside the
// reuse interval, before its successor was used, gets that same successor
// rather than a second branch of the family, as Dex answers a retry with
// the current token. Outside the reuse interval the old token is a
// replay, successor used or not: the grace window is the reuse interval
// and nothing longer, so a stolen just-rotated token does not share the
// victim's successor after it. The value needs both halves: the seed
// (only in storage) and the old token (only with the client; storage
// keeps its hash), so neither a copy of the database nor an old token
// alone yields a current token.

// errRotatedMeanwhile: a concurrent request rotated the token between the
// read and the locked update; the refresh starts again and, the token
// being rotated now, gets that request's successor.
var errRotatedMeanwhile = errors.New("refresh token rotated by a concurrent request")

func newSuccessorSeed() []byte {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics on a broken source)
	return b
}

// successorValue is the value of the successor of the refresh token raw
// rotated with seed.
func successorValue(raw string, seed []byte) string {
	m := hmac.New(sha256.New, []byte(raw))
	m.Write([]byte("torii refresh successor\x00"))
	m.Write(seed)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// unusedSuccessor returns the successor of the rotated token tok (whose
// value is raw) when it may be handed out again: the rotation is inside
// the reuse interval and the successor, of the same family, has never
// been used.
func (g *refreshGrant) unusedSuccessor(ctx context.Context, raw string, tok storage.RefreshToken, now time.Time) (string, storage.RefreshToken, bool, error) {
	if tok.RotatedAt.IsZero() || len(tok.SuccessorSeed) == 0 || now.Sub(tok.RotatedAt) > g.refresh.policy.ReuseInterval {
		return "", storage.RefreshToken{}, false, nil
	}
	v := successorValue(raw, tok.SuccessorSeed)
	succ, err := g.store.GetRefresh(ctx, hashToken(v))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return "", storage.RefreshToken{}, false, nil
	case err != nil:
		return "", storage.RefreshToken{}, false, err
	}
	if succ.FamilyID != tok.FamilyID || succ.ClientID != tok.ClientID || !succ.RotatedAt.IsZero() {
		return "", storage.RefreshToken{}, false, nil
	}
	return v, succ, true, nil
}
