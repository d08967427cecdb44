package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/server"
)

// behindProxy makes the test client a trusted proxy, so each request can
// say which client address it comes from.
func behindProxy(c *server.Config) {
	c.ClientIP = server.ClientIPConfig{Header: "X-Forwarded-For", TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
}

// passwordFrom tries a password-grant login from client address ip.
func (e *env) passwordFrom(ip, user, pass string) (int, string) {
	e.t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}, "scope": {"openid"}}
	req, _ := http.NewRequest(http.MethodPost, e.issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", ip)
	req.SetBasicAuth(confidentialID, confidentialSecret)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	desc, _ := m["error_description"].(string)
	return resp.StatusCode, desc
}

func (e *env) connectorCalls() int {
	e.users.mu.Lock()
	defer e.users.mu.Unlock()
	return e.users.logins
}

const right = "correct horse"

// 60 parallel wrong guesses: only the free allowance reaches the connector,
// because each attempt is reserved before the connector is asked (item 3).
func TestThrottleParallelGuesses(t *testing.T) {
	e := newEnv(t, behindProxy)
	e.users.delay = 20 * time.Millisecond
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() { e.passwordFrom("192.0.2.1", "jane@example.com", fmt.Sprint("guess", i)) })
	}
	wg.Wait()
	if got := e.connectorCalls(); got != 3 {
		t.Fatalf("%d of 60 parallel guesses were checked; want exactly the free allowance, 3", got)
	}
}

// An attacker hammering one user from one address for hours is bounded per
// hour, and never keeps the right password from another address out (item 6).
func TestThrottleOneAttackerNeverLocksOut(t *testing.T) {
	e := newEnv(t, behindProxy)
	guessesIn := func(d time.Duration) int {
		before := e.connectorCalls()
		for end := e.clock.Now().Add(d); e.clock.Now().Before(end); e.clock.Add(time.Second) {
			e.passwordFrom("203.0.113.66", "jane@example.com", "wrong")
		}
		return e.connectorCalls() - before
	}
	for hour := range 4 {
		n := guessesIn(time.Hour)
		t.Logf("hour %d: %d guesses checked", hour, n)
		if n > 25 {
			t.Errorf("hour %d: %d guesses from one address, want at most 25", hour, n)
		}
		// A fresh address, never seen before, gets straight in.
		ip := fmt.Sprintf("198.51.100.%d", hour+1)
		if st, desc := e.passwordFrom(ip, "jane@example.com", right); st != http.StatusOK {
			t.Fatalf("hour %d: right password from %s: %d %s", hour, ip, st, desc)
		}
	}
	// The attacker's address is still slowed down.
	if st, _ := e.passwordFrom("203.0.113.66", "jane@example.com", right); st == http.StatusOK {
		t.Error("the attacker's address is not throttled any more")
	}
}

// Spelling the name differently does not get fresh counters: an unknown
// connector keys on the NFKC-normalized, case-folded name (item 2).
func TestThrottleNormalizesNames(t *testing.T) {
	e := newEnv(t, behindProxy)
	for _, u := range []string{"jane@example.com", "JANE@example.com", "ｊａｎｅ@example.com"} {
		e.passwordFrom("192.0.2.7", u, "wrong")
	}
	before := e.connectorCalls()
	if st, desc := e.passwordFrom("192.0.2.7", "Jane@Example.com", right); st != http.StatusBadRequest || !strings.Contains(desc, "too many") {
		t.Errorf("fourth spelling after three failures: %d %q, want throttled", st, desc)
	}
	if e.connectorCalls() != before {
		t.Error("a throttled attempt reached the connector")
	}
}

// Many addresses guessing one user: the per-user counter bounds the guesses
// per hour; an address the user logged in from keeps working (item 6).
func TestThrottleDistributedAttack(t *testing.T) {
	e := newEnv(t, behindProxy)
	if st, _ := e.passwordFrom("198.51.100.10", "jane@example.com", right); st != http.StatusOK {
		t.Fatal("first login")
	}
	before := e.connectorCalls()
	ip := 0
	for end := e.clock.Now().Add(time.Hour); e.clock.Now().Before(end); e.clock.Add(10 * time.Second) {
		for range 5 {
			ip++
			e.passwordFrom(fmt.Sprintf("10.%d.%d.%d", ip>>16&255, ip>>8&255, ip&255), "jane@example.com", "wrong")
		}
	}
	n := e.connectorCalls() - before
	t.Logf("%d addresses, %d guesses checked in an hour", ip, n)
	if n > 60 {
		t.Errorf("%d guesses at one user in an hour from many addresses, want at most 60", n)
	}
	if st, desc := e.passwordFrom("198.51.100.10", "jane@example.com", right); st != http.StatusOK {
		t.Errorf("right password from the user's known address during the attack: %d %s", st, desc)
	}
}

// Behind a gateway without clientRemoteIP everyone shares one address:
// others' failures do not block a user who logged in from it before.
func TestThrottleSharedAddress(t *testing.T) {
	e := newEnv(t, behindProxy)
	if st, _ := e.passwordFrom("10.0.0.1", "jane@example.com", right); st != http.StatusOK {
		t.Fatal("first login")
	}
	for i := range 40 {
		e.passwordFrom("10.0.0.1", fmt.Sprintf("user%d@example.com", i), "wrong")
	}
	if st, desc := e.passwordFrom("10.0.0.1", "jane@example.com", right); st != http.StatusOK {
		t.Errorf("after 40 failures of others from the same address: %d %s", st, desc)
	}
}

// Connector errors count per client address, reserved before the
// connector is called (item 4).
func TestThrottleConnectorErrors(t *testing.T) {
	e := newEnv(t, behindProxy)
	e.users.err = errors.Join(connector.ErrUnavailable, errors.New("directory silent"))
	e.users.delay = 10 * time.Millisecond
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() { e.passwordFrom("192.0.2.9", fmt.Sprintf("user%d@example.com", i), "pw") })
	}
	wg.Wait()
	if got := e.connectorCalls(); got != 20 {
		t.Errorf("%d of 100 logins reached a failing connector from one address, want the allowance 20", got)
	}
	before := e.connectorCalls()
	e.passwordFrom("192.0.2.10", "jane@example.com", right)
	if e.connectorCalls() != before+1 {
		t.Error("another address is throttled by the first one's errors")
	}
}

// Replicas sharing a store share the counters (item 12): failures on one
// replica throttle the same user and address on the other.
func TestThrottleSharedByReplicas(t *testing.T) {
	a := newEnv(t, behindProxy)
	b := newEnv(t, behindProxy, func(c *server.Config) { c.Storage = a.store; c.Now = a.clock.Now })
	for range 3 {
		a.passwordFrom("192.0.2.20", "jane@example.com", "wrong")
	}
	if st, desc := b.passwordFrom("192.0.2.20", "jane@example.com", right); st != http.StatusBadRequest || !strings.Contains(desc, "too many") {
		t.Errorf("replica B after three failures on A: %d %q, want throttled", st, desc)
	}
}
