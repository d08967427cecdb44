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

// A refresh whose rotation is stored but whose response never reaches the
// client (the database connection drops after COMMIT, a proxy times out)
// leaves the client with the old token only. It presents it again, often
// after the reuse interval when it waited out an outage, and without more
// that would be a replay that revokes the family. So the first rotation of
// a token stores a random seed, and the successor's value is derived from
// the seed and the old token's value: a client presenting the old token
// again, within RefreshResendWindow and before the successor was ever
// used, gets the same successor back. No second branch is created, so a
// thief who presents an old token in that window shares the legitimate
// client's successor, and whichever of them uses it second revokes the
// family, as a replay does. The value needs both halves: the seed (only
// in storage) and the old token (only with the client; storage keeps its
// hash), so neither a copy of the database nor an old token alone yields
// a current token.

// RefreshResendWindow is how long after a rotation an unused successor
// is handed out again for the old token: long enough for a client to wait
// out a database restart or failover and retry.
const RefreshResendWindow = 5 * time.Minute

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

// resendWindow is RefreshResendWindow, or the reuse interval if longer.
func (g *refreshGrant) resendWindow() time.Duration {
	return max(RefreshResendWindow, g.refresh.policy.ReuseInterval)
}

// unusedSuccessor returns the successor of the rotated token tok (whose
// value is raw) when it may be handed out again: the rotation is recent
// and the successor, of the same family, has never been used.
func (g *refreshGrant) unusedSuccessor(ctx context.Context, raw string, tok storage.RefreshToken, now time.Time) (string, storage.RefreshToken, bool, error) {
	if tok.RotatedAt.IsZero() || len(tok.SuccessorSeed) == 0 || now.Sub(tok.RotatedAt) > g.resendWindow() {
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
