package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
)

// reloadSettle is how long the config directory must be quiet before a
// change is read: editors and Kubernetes write in several steps.
const reloadSettle = 300 * time.Millisecond

// reloadPoll is how often the file is compared when the directory cannot
// be watched (no inotify).
const reloadPoll = 10 * time.Second

// reloadDrain bounds the wait for requests still running on the previous
// config before its connectors are closed.
const reloadDrain = 30 * time.Second

// reloader applies a changed config file to the running server.
type reloader struct {
	path   string
	boot   *Config // what is running for the keys that need a restart
	logger *slog.Logger
	level  *slog.LevelVar
	srv    *server.Server
	store  storage.Storage
	tel    *telemetry
	audit  *audit.Logger

	mu    sync.Mutex // serializes reloads; guards conns and sum
	conns []server.Connector
	sum   [32]byte // of the file last applied (or refused)
}

func (r *reloader) current() []server.Connector {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}

// connectorIDs are the IDs of the connectors running now.
func (r *reloader) connectorIDs() []string {
	var ids []string
	for _, c := range r.current() {
		ids = append(ids, c.ID)
	}
	return ids
}

// watch starts watching the config file's directory (before the server
// is ready, so no change is missed) and returns the loop that reloads on
// every request from hup and, when watch is set, when the file's content
// changes, until ctx is done.
func (r *reloader) watch(hup <-chan os.Signal, watch bool) func(ctx context.Context) {
	if r.path == "" {
		watch = false
	}
	var events <-chan fsnotify.Event
	var poll <-chan time.Time
	names := configNames(r.path)
	var cleanup []func()
	if watch {
		// The directory, not the file: an editor's rename and a ConfigMap
		// update (a new ..data symlink) replace the file itself.
		w, err := fsnotify.NewWatcher()
		if err == nil {
			err = w.Add(filepath.Dir(r.path))
		}
		if err != nil {
			r.logger.Warn("cannot watch the config directory; polling it", "dir", filepath.Dir(r.path), "every", reloadPoll, "err", err)
			t := time.NewTicker(reloadPoll)
			cleanup = append(cleanup, t.Stop)
			poll = t.C
		} else {
			cleanup = append(cleanup, func() { w.Close() })
			events = w.Events
		}
	}
	return func(ctx context.Context) {
		defer func() {
			for _, f := range cleanup {
				f()
			}
		}()
		r.loop(ctx, hup, events, names, poll)
	}
}

// configNames is what, in the config file's directory, can change the
// config: the file's own name, the file it links to when that lies in the
// same directory, and the kubelet's ..data and ..<version> entries.
// Everything else there (a SQLite database and its WAL, written on every
// token request, when it lives beside the config) is not a change: its
// events would keep resetting the settle timer, so that a busy server
// never reloaded, and wake the loop thousands of times a second.
func configNames(path string) func(event string) bool {
	dir, base := filepath.Dir(path), filepath.Base(path)
	target := ""
	if t, err := filepath.EvalSymlinks(path); err == nil {
		if rd, err := filepath.EvalSymlinks(dir); err == nil && filepath.Dir(t) == rd {
			target = filepath.Base(t)
		}
	}
	return func(event string) bool {
		b := filepath.Base(event)
		return b == base || (target != "" && b == target) || strings.HasPrefix(b, "..")
	}
}

func (r *reloader) loop(ctx context.Context, hup <-chan os.Signal, events <-chan fsnotify.Event, concerns func(string) bool, poll <-chan time.Time) {
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.logger.Info("SIGHUP: reloading the config", "file", r.path)
			r.reload(ctx, true)
		case e := <-events:
			if concerns(e.Name) {
				settle.Reset(reloadSettle)
			}
		case <-settle.C:
			r.reload(ctx, false)
		case <-poll:
			r.reload(ctx, false)
		}
	}
}

// reload reads, validates and applies the file; unless force, an
// unchanged file is left alone. It reports whether a new config was
// applied.
func (r *reloader) reload(ctx context.Context, force bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	data, err := os.ReadFile(r.path)
	if err != nil {
		r.refused(ctx, err)
		return false
	}
	sum := sha256.Sum256(data)
	if !force && bytes.Equal(sum[:], r.sum[:]) {
		return false
	}
	r.sum = sum
	c, err := checkFile(ctx, r.path, r.boot.flags)
	if err != nil {
		r.refused(ctx, err)
		return false
	}
	restart := restartKeys(r.boot, c)
	conns, err := c.openConnectors(ctx, r.logger, r.store)
	if err != nil {
		r.refused(ctx, err)
		return false
	}
	r.tel.ldap.attach(conns)
	r.tel.oidc.attach(conns)
	sc := c.serverConfig(r.store, conns, r.logger)
	sc.Metrics, sc.Audit = r.tel.server, r.audit
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reloadDrain)
	defer cancel()
	if err := r.srv.Reload(dctx, sc); err != nil {
		closeConnectors(conns, r.logger)
		r.tel.ldap.attach(r.conns)
		r.tel.oidc.attach(r.conns)
		r.refused(ctx, err)
		return false
	}
	// Reload returned: no request uses the old connectors any more.
	closeConnectors(r.conns, r.logger)
	r.conns = conns
	if r.level != nil {
		r.level.Set(c.Logger.Level)
	}
	r.tel.reloads.result(true)
	detail := ""
	if len(restart) > 0 {
		detail = "not applied until a restart: " + strings.Join(restart, ", ")
		r.logger.Warn("config reloaded; these keys changed but need a restart", "keys", strings.Join(restart, ", "))
	} else {
		r.logger.Info("config reloaded", "file", r.path)
	}
	r.audit.Log(ctx, audit.Record{Event: audit.ConfigReloaded, Detail: detail})
	return true
}

// refused logs every problem (with its line) and keeps the running config.
func (r *reloader) refused(ctx context.Context, err error) {
	problems := flatten(err)
	for _, p := range problems {
		r.logger.Error("config reload refused; the previous config keeps serving", "problem", p.Error())
	}
	r.tel.reloads.result(false)
	r.audit.Log(ctx, audit.Record{Event: audit.ConfigReloaded, Result: audit.ResultError,
		Reason: "invalid config", Detail: fmt.Sprintf("%d problem(s)", len(problems))})
}

// restartKeys lists the keys whose change a reload does not apply.
func restartKeys(boot, next *Config) []string {
	var keys []string
	add := func(changed bool, key string) {
		if changed {
			keys = append(keys, key)
		}
	}
	bw, nw := boot.Web, next.Web
	add(boot.Issuer != next.Issuer, "issuer")
	add(!reflect.DeepEqual(boot.Storage, next.Storage), "storage")
	add(bw.HTTP != nw.HTTP, "web.http")
	add(bw.HTTPS != nw.HTTPS, "web.https")
	add(bw.TLSCert != nw.TLSCert || bw.TLSKey != nw.TLSKey, "web.tlsCert/web.tlsKey (the files themselves are reloaded)")
	add(bw.TLSMinVersion != nw.TLSMinVersion || bw.TLSMaxVersion != nw.TLSMaxVersion, "web.tlsMinVersion/web.tlsMaxVersion")
	add(boot.Telemetry != next.Telemetry, "telemetry")
	add(boot.Logger.Format != next.Logger.Format, "logger.format")
	add(boot.Audit != next.Audit, "audit")
	add(boot.SigningAlgorithm != next.SigningAlgorithm, "signer.config.algorithm")
	add(boot.serverConfig(nil, nil, nil).Expiry.SigningKeys != next.serverConfig(nil, nil, nil).Expiry.SigningKeys, "expiry.signingKeys")
	add(boot.Expiry.IDTokens != next.Expiry.IDTokens, "expiry.idTokens")
	return keys
}
