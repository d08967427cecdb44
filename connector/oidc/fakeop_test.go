package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// fakeOP is a hand-written OpenID Provider for unit tests: discovery, keys,
// a token endpoint that redeems codes it was told about and refresh tokens,
// and userinfo. Each test sets what it answers.
type fakeOP struct {
	t   *testing.T
	srv *httptest.Server
	key *ecdsa.PrivateKey
	// other signs tokens with a key the OP does not publish.
	other *ecdsa.PrivateKey

	mu          sync.Mutex
	issuer      string // discovery's issuer ("" = the server URL)
	pkce        bool   // advertise S256
	down        bool   // answer 503 everywhere
	codes       map[string]grant
	refreshes   map[string]grant
	userinfo    map[string]any
	tokenStatus int // non-zero: the token endpoint answers this error
	rotate      bool
	noIDToken   bool // refresh responses carry no id_token
	calls       map[string]int
	lastForm    url.Values
	lastAuth    string
}

// grant is what a code or refresh token stands for.
type grant struct {
	claims   map[string]any
	verifier string // PKCE verifier the code needs ("" = none)
	method   string
	signWith *ecdsa.PrivateKey
}

func newFakeOP(t *testing.T) *fakeOP {
	op := &fakeOP{t: t, codes: map[string]grant{}, refreshes: map[string]grant{}, calls: map[string]int{}, pkce: true}
	op.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	op.other, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", op.discovery)
	mux.HandleFunc("/keys", op.keys)
	mux.HandleFunc("/token", op.token)
	mux.HandleFunc("/userinfo", op.userinfoHandler)
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	return op
}

func (op *fakeOP) url() string { return op.srv.URL }

func (op *fakeOP) count(name string) int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.calls[name]
}

func (op *fakeOP) set(f func(op *fakeOP)) {
	op.mu.Lock()
	defer op.mu.Unlock()
	f(op)
}

func (op *fakeOP) enter(w http.ResponseWriter, name string) bool {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.calls[name]++
	if op.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return false
	}
	return true
}

func (op *fakeOP) discovery(w http.ResponseWriter, r *http.Request) {
	if !op.enter(w, "discovery") {
		return
	}
	op.mu.Lock()
	iss := op.issuer
	pkce := op.pkce
	op.mu.Unlock()
	if iss == "" {
		iss = op.url()
	}
	doc := map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                op.url() + "/authorize",
		"token_endpoint":                        op.url() + "/token",
		"jwks_uri":                              op.url() + "/keys",
		"userinfo_endpoint":                     op.url() + "/userinfo",
		"id_token_signing_alg_values_supported": []string{"ES256"},
	}
	if pkce {
		doc["code_challenge_methods_supported"] = []string{"S256", "plain"}
	}
	json.NewEncoder(w).Encode(doc)
}

func (op *fakeOP) keys(w http.ResponseWriter, r *http.Request) {
	if !op.enter(w, "keys") {
		return
	}
	json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &op.key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
}

// sign makes a JWT of claims with key (kid k1 either way, so a token
// signed with the wrong key names the published key).
func (op *fakeOP) sign(claims map[string]any, key *ecdsa.PrivateKey) string {
	if key == nil {
		key = op.key
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1").WithType("JWT"))
	if err != nil {
		op.t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := s.Sign(b)
	if err != nil {
		op.t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

// idClaims are valid ID token claims for clientID, merged with extra
// (a nil value deletes the claim).
func (op *fakeOP) idClaims(extra map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": op.url(), "aud": "torii", "sub": "user-1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"name": "Ada Lovelace", "email": "ada@example.com", "email_verified": true,
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func (op *fakeOP) token(w http.ResponseWriter, r *http.Request) {
	if !op.enter(w, "token") {
		return
	}
	r.ParseForm()
	op.mu.Lock()
	defer op.mu.Unlock()
	op.lastForm = r.PostForm
	op.lastAuth = r.Header.Get("Authorization")
	fail := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": code})
	}
	if op.tokenStatus != 0 {
		w.WriteHeader(op.tokenStatus)
		json.NewEncoder(w).Encode(map[string]string{"error": "server_error"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != "torii" || secret != "s3cret" {
		fail("invalid_client")
		return
	}
	var g grant
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		code := r.PostForm.Get("code")
		g, ok = op.codes[code]
		delete(op.codes, code)
		if !ok {
			fail("invalid_grant")
			return
		}
		if g.verifier != "" {
			v := r.PostForm.Get("code_verifier")
			if g.method == "S256" {
				sum := sha256.Sum256([]byte(v))
				v = base64.RawURLEncoding.EncodeToString(sum[:])
			}
			if v != g.verifier {
				fail("invalid_grant")
				return
			}
		}
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		g, ok = op.refreshes[rt]
		if !ok {
			fail("invalid_grant")
			return
		}
		if op.rotate {
			delete(op.refreshes, rt)
		}
	default:
		fail("unsupported_grant_type")
		return
	}
	rt := "rt-" + randomString()
	op.refreshes[rt] = grant{claims: g.claims}
	at := "at-" + randomString()
	resp := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 300, "refresh_token": rt}
	if r.PostForm.Get("grant_type") == "refresh_token" && !op.rotate {
		delete(resp, "refresh_token")
		delete(op.refreshes, rt)
	}
	if !(op.noIDToken && r.PostForm.Get("grant_type") == "refresh_token") {
		c := map[string]any{}
		for k, v := range g.claims {
			c[k] = v
		}
		if r.PostForm.Get("grant_type") == "refresh_token" {
			delete(c, "nonce")
		}
		resp["id_token"] = op.sign(c, g.signWith)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func (op *fakeOP) userinfoHandler(w http.ResponseWriter, r *http.Request) {
	if !op.enter(w, "userinfo") {
		return
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.userinfo == nil || r.Header.Get("Authorization") == "" || r.Header.Get("Authorization") == "Bearer bad" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	json.NewEncoder(w).Encode(op.userinfo)
}
