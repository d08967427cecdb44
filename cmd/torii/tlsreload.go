package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certReloader serves the certificate of web.tlsCert/web.tlsKey and loads
// it again when either file changes on disk (cert-manager renewals), keeping
// the previous certificate if the new pair cannot be loaded.
type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger

	mu                sync.Mutex
	cert              *tls.Certificate
	certMod, keyMod   time.Time
	certSize, keySize int64
	lastErr           string
}

func newCertReloader(certFile, keyFile string, logger *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, logger: logger}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// reload loads the pair if the files changed since the last load. r.mu is
// held or r is not shared yet.
func (r *certReloader) reload() error {
	ci, err := os.Stat(r.certFile)
	if err != nil {
		return err
	}
	ki, err := os.Stat(r.keyFile)
	if err != nil {
		return err
	}
	if r.cert != nil && ci.ModTime().Equal(r.certMod) && ki.ModTime().Equal(r.keyMod) &&
		ci.Size() == r.certSize && ki.Size() == r.keySize {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate: %w", err)
	}
	r.cert, r.certMod, r.keyMod, r.certSize, r.keySize = &cert, ci.ModTime(), ki.ModTime(), ci.Size(), ki.Size()
	return nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.cert
	if err := r.reload(); err != nil {
		// A half-written renewal: keep serving the previous pair, and say
		// so once per distinct failure rather than on every handshake.
		if err.Error() != r.lastErr {
			r.lastErr = err.Error()
			r.logger.Warn("TLS certificate reload failed, keeping the previous one", "err", err)
		}
	} else if r.cert != old {
		r.lastErr = ""
		r.logger.Info("TLS certificate reloaded", "cert", r.certFile)
	}
	return r.cert, nil
}
