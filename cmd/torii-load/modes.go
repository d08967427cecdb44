package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
)

// allModes in the order they run when --modes is not given.
var allModes = []string{"discovery", "jwks", "password", "refresh", "login", "code", "introspect", "device"}

// errExhausted ends a worker that has nothing left to send.
var errExhausted = errors.New("nothing left to send")

// setup prepares a mode's workers against t. A non-empty skip says why the
// issuer cannot run the mode (an endpoint it does not advertise).
func (t *target) setup(ctx context.Context, mode string) (workers []op, skip string, err error) {
	n := t.opts.concurrency
	same := func(fn op) []op {
		ws := make([]op, n)
		for i := range ws {
			ws[i] = fn
		}
		return ws
	}
	switch mode {
	case "discovery":
		return same(func(ctx context.Context) error { _, err := t.get(ctx, t.discoveryURL()); return err }), "", nil
	case "jwks":
		return same(func(ctx context.Context) error { _, err := t.get(ctx, t.disc.JWKSURI); return err }), "", nil
	case "password":
		return t.perWorker(func(i int) op {
			u := t.opts.users[i%len(t.opts.users)]
			return func(ctx context.Context) error { _, err := t.passwordGrant(ctx, u); return err }
		}), "", nil
	case "login":
		return t.perWorker(func(i int) op {
			u := t.opts.users[i%len(t.opts.users)]
			return func(ctx context.Context) error { _, err := t.login(ctx, u); return err }
		}), "", nil
	case "refresh":
		ws, err := t.refreshWorkers(ctx)
		return ws, "", err
	case "code":
		ws, err := t.codeWorkers(ctx)
		return ws, "", err
	case "introspect":
		if t.disc.IntrospectionEndpoint == "" {
			return nil, "discovery has no introspection_endpoint", nil
		}
		ws, err := t.introspectWorkers(ctx)
		return ws, "", err
	case "device":
		if t.disc.DeviceAuthorizationEndpoint == "" {
			return nil, "discovery has no device_authorization_endpoint", nil
		}
		return same(func(ctx context.Context) error {
			var out struct {
				DeviceCode string `json:"device_code"`
			}
			if err := t.postForm(ctx, t.disc.DeviceAuthorizationEndpoint, url.Values{"scope": {t.opts.scope}}, &out); err != nil {
				return err
			}
			if out.DeviceCode == "" {
				return errors.New("device authorization response without device_code")
			}
			return nil
		}), "", nil
	}
	return nil, "", fmt.Errorf("unknown mode %q", mode)
}

func (t *target) perWorker(fn func(i int) op) []op {
	ws := make([]op, t.opts.concurrency)
	for i := range ws {
		ws[i] = fn(i)
	}
	return ws
}

// parallel runs fn for 0..n-1 on the mode's concurrency and returns the
// first error.
func (t *target) parallel(n int, fn func(i int) error) error {
	var (
		mu    sync.Mutex
		first error
		next  int
		wg    sync.WaitGroup
	)
	for range min(t.opts.concurrency, n) {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := i >= n || first != nil
				mu.Unlock()
				if stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// refreshWorkers starts --sessions sessions (round robin over the users)
// and gives worker i the sessions i, i+c, i+2c...: each session's refresh
// token chain is used by one worker only, like one client.
func (t *target) refreshWorkers(ctx context.Context) ([]op, error) {
	sessions := max(t.opts.sessions, t.opts.concurrency)
	tokens := make([]string, sessions)
	err := t.parallel(sessions, func(i int) error {
		u := t.opts.users[i%len(t.opts.users)]
		var tr tokenResponse
		err := t.setupLogin(u, func() (err error) {
			tr, err = t.session(ctx, u)
			return err
		})
		if err != nil {
			return fmt.Errorf("refresh: starting session %d: %w", i, err)
		}
		tokens[i] = tr.RefreshToken
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t.perWorker(func(w int) op {
		var mine []int
		for i := w; i < sessions; i += t.opts.concurrency {
			mine = append(mine, i)
		}
		k := 0
		return func(ctx context.Context) error {
			i := mine[k%len(mine)]
			k++
			tr, err := t.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens[i]}})
			if err != nil {
				return err
			}
			if tr.RefreshToken != "" { // rotation; without it the old token stays valid
				tokens[i] = tr.RefreshToken
			}
			return nil
		}
	}), nil
}

// codeWorkers mints --codes codes through the browser flow first, then
// measures their exchange alone; workers stop when the codes run out.
func (t *target) codeWorkers(ctx context.Context) ([]op, error) {
	codes := make(chan code, t.opts.codes)
	err := t.parallel(t.opts.codes, func(i int) error {
		u := t.opts.users[i%len(t.opts.users)]
		var c code
		err := t.setupLogin(u, func() (err error) {
			c, err = t.login(ctx, u)
			return err
		})
		if err != nil {
			return fmt.Errorf("code: minting code %d: %w", i, err)
		}
		codes <- c
		return nil
	})
	if err != nil {
		return nil, err
	}
	close(codes)
	exchange := func(ctx context.Context) error {
		c, ok := <-codes
		if !ok {
			return errExhausted
		}
		_, err := t.exchange(ctx, c)
		return err
	}
	return t.perWorker(func(int) op { return exchange }), nil
}

// introspectWorkers introspect one access token per worker.
func (t *target) introspectWorkers(ctx context.Context) ([]op, error) {
	tokens := make([]string, t.opts.concurrency)
	err := t.parallel(len(tokens), func(i int) error {
		u := t.opts.users[i%len(t.opts.users)]
		var tr tokenResponse
		err := t.setupLogin(u, func() (err error) {
			tr, err = t.session(ctx, u)
			return err
		})
		if err != nil {
			return fmt.Errorf("introspect: getting a token: %w", err)
		}
		tokens[i] = tr.AccessToken
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t.perWorker(func(i int) op {
		return func(ctx context.Context) error {
			var out struct {
				Active bool `json:"active"`
			}
			if err := t.postForm(ctx, t.disc.IntrospectionEndpoint, url.Values{"token": {tokens[i]}}, &out); err != nil {
				return err
			}
			if !out.Active {
				return errors.New("introspection: a fresh access token reported inactive")
			}
			return nil
		}
	}), nil
}
