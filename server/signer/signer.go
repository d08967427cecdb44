// Package signer owns torii's token-signing keys: it generates them, keeps
// them in storage so every replica and every restart uses the same ones,
// rotates them with pre-publication, signs and verifies compact JWS, and
// serves the JWKS.
//
// Stored state (storage.Keys) is parsed once per load or rotation into an
// immutable keySet held in an atomic pointer; Sign, Verify and JWKS only read
// it.
package signer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/torii-idp/torii/storage"
)

// Defaults applied by New.
const (
	DefaultAlgorithm      = "RS256"
	DefaultRotationPeriod = 6 * time.Hour
	DefaultTokenLifetime  = 24 * time.Hour
)

// retireMargin is added to TokenLifetime when a key is retired; it absorbs
// clock skew between replicas.
const retireMargin = 5 * time.Minute

// maxMaxAge caps the JWKS Cache-Control max-age.
const maxMaxAge = time.Hour

// Config configures a Signer.
type Config struct {
	Storage storage.Storage
	// Algorithm is "RS256" (default, RSA-2048) or "ES256" (P-256). It applies
	// to keys generated from now on; see docs/keys.md for switching.
	Algorithm string
	// RotationPeriod is expiry.signingKeys (default 6h): how long a key is
	// published as Next before it signs, and how long it then signs.
	RotationPeriod time.Duration
	// TokenLifetime is the longest lifetime of anything signed (ID/access
	// tokens), so retired keys are kept that long (default 24h).
	TokenLifetime time.Duration
	Logger        *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Signer signs and verifies tokens with the stored keys. It is safe for
// concurrent use.
type Signer struct {
	store         storage.Storage
	alg           string
	period        time.Duration
	tokenLifetime time.Duration
	log           *slog.Logger
	now           func() time.Time

	keys atomic.Pointer[keySet]
	// mu serializes loads and rotations within this process so an older
	// stored state is never installed over a newer one. Readers never take it.
	mu sync.Mutex
}

// New loads the stored keys, creating Active and Next on first start (two
// replicas starting together agree through UpdateKeys), and rotates once if
// a rotation is overdue.
func New(ctx context.Context, c Config) (*Signer, error) {
	if c.Storage == nil {
		return nil, errors.New("signer: Config.Storage is required")
	}
	s := &Signer{
		store:         c.Storage,
		alg:           c.Algorithm,
		period:        c.RotationPeriod,
		tokenLifetime: c.TokenLifetime,
		log:           c.Logger,
		now:           c.Now,
	}
	if s.alg == "" {
		s.alg = DefaultAlgorithm
	}
	if s.alg != string(jose.RS256) && s.alg != string(jose.ES256) {
		return nil, fmt.Errorf("signer: algorithm %q is not supported (RS256 or ES256)", c.Algorithm)
	}
	if s.period < 0 || s.tokenLifetime < 0 {
		return nil, errors.New("signer: RotationPeriod and TokenLifetime must not be negative")
	}
	if s.period == 0 {
		s.period = DefaultRotationPeriod
	}
	if s.tokenLifetime == 0 {
		s.tokenLifetime = DefaultTokenLifetime
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.period < 30*time.Minute {
		s.log.Warn("signing key rotation period is shorter than 30m; verifiers that cache the JWKS for a fixed time (Istio: 20m) may meet an unknown kid",
			"rotation_period", s.period)
	}
	if err := s.Rotate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// current returns the key set, rebuilding it locally once a retired key in
// it has expired (so the JWKS drops it even before the next Rotate). The
// rebuild is swapped in only if no load or rotation replaced the set
// meanwhile, and never waits for storage.
func (s *Signer) current(now time.Time) *keySet {
	ks := s.keys.Load()
	if ks.staleAt.IsZero() || now.Before(ks.staleAt) {
		return ks
	}
	fresh, err := buildKeySet(ks.stored, now)
	if err != nil { // cannot happen: the same state parsed before
		s.log.Error("rebuild signing keys", "err", err)
		return ks
	}
	if s.keys.CompareAndSwap(ks, fresh) {
		return fresh
	}
	return s.keys.Load()
}

// signingKeyAt is the key that signs at now. Once NextRotation has passed,
// Next signs even if the stored rotation has not been seen yet: it has been
// published for a full period, and the rotation (whichever replica performs
// it) makes exactly that key Active. So a replica that lags in reloading never
// signs with a key that is about to be retired.
func (ks *keySet) signingKeyAt(now time.Time) *signingKey {
	if !now.Before(ks.nextRotation) {
		return ks.next
	}
	return ks.active
}

// Sign returns payload as a compact JWS (headers alg, kid, typ JWT).
func (s *Signer) Sign(ctx context.Context, payload []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	k := s.keys.Load().signingKeyAt(s.now())
	if k.compact != nil {
		return k.compact.sign(payload)
	}
	jws, err := k.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("signer: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// Verify checks a compact JWS against the active, next and unexpired retired
// keys and returns its payload. The kid must name one of them and the alg
// header must be that key's alg (so alg none, HS256 with a public key, or an
// RS256 key used as PS256 are all refused). Claims are not checked here.
func (s *Signer) Verify(ctx context.Context, token string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return nil, fmt.Errorf("signer: malformed token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("signer: token must carry exactly one signature")
	}
	h := jws.Signatures[0].Protected
	now := s.now()
	k, ok := s.keys.Load().verify[h.KeyID]
	if !ok || (!k.expiry.IsZero() && !now.Before(k.expiry)) {
		return nil, errors.New("signer: token signed by an unknown key")
	}
	if h.Algorithm != string(k.alg) {
		return nil, fmt.Errorf("signer: token alg %q does not match key alg %q", h.Algorithm, k.alg)
	}
	payload, err := jws.Verify(k.key)
	if err != nil {
		return nil, errors.New("signer: invalid signature")
	}
	return payload, nil
}

// Algorithm is the alg of the key that signs now. It equals Config.Algorithm
// except during the switch to another algorithm (see Algorithms).
func (s *Signer) Algorithm() string {
	return s.keys.Load().signingKeyAt(s.now()).alg
}

// Algorithms lists the algs of the active and next keys (one entry unless
// the algorithm is being switched), for id_token_signing_alg_values_supported.
func (s *Signer) Algorithms() []string {
	ks := s.keys.Load()
	if ks.active.alg == ks.next.alg {
		return []string{ks.active.alg}
	}
	return []string{ks.active.alg, ks.next.alg}
}

// JWKS returns the pre-serialized {"keys":[...]} document (active, next,
// retired public keys), its strong ETag (a hash of the body) and the
// Cache-Control max-age to send with it.
func (s *Signer) JWKS(ctx context.Context) (body []byte, etag string, maxAge time.Duration, err error) {
	if err := ctx.Err(); err != nil {
		return nil, "", 0, err
	}
	ks := s.current(s.now())
	return ks.jwks, ks.etag, s.MaxAge(), nil
}

// MaxAge is the JWKS Cache-Control max-age: min(RotationPeriod/4, 1h),
// whole seconds.
//
// Why that is safe: a key is published as Next one RotationPeriod before it
// signs. A verifier that fetched the JWKS just before Next was published
// keeps that copy at most max-age, plus up to the reload interval if it
// fetched from a replica that had not yet seen the rotation (Run keeps that
// interval at most RotationPeriod/4). So it refreshes at the latest half a
// period after publication, well before the key signs. With the default 6h
// period that is a 1h max-age against 6h of pre-publication, which also
// leaves room for Istio's fixed 20-minute JWKS cache. A shorter period only
// stays safe for Istio above about 30 minutes (New warns below that).
func (s *Signer) MaxAge() time.Duration {
	return min(s.period/4, maxMaxAge).Truncate(time.Second)
}
