// Package testslapd runs a throwaway OpenLDAP slapd for tests: Debian's
// /usr/sbin/slapd started on random loopback ports from a generated
// slapd.conf, an mdb database loaded with slapadd, and TLS with a CA and
// server certificate generated at test time. Without slapd installed the
// calling test is skipped.
//
// The fixture directory (see Fixture) has people, groupOfNames and posixGroup
// groups, a nested group cycle and memberOf values maintained by the memberof
// overlay.
package testslapd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// BaseDN is the suffix of the test directory.
	BaseDN = "dc=example,dc=org"
	// AdminDN and AdminPassword are the rootdn, allowed to write anything.
	AdminDN       = "cn=admin,dc=example,dc=org"
	AdminPassword = "admin-secret"
	// ReaderDN and ReaderPassword are a plain service account that may read.
	ReaderDN       = "cn=reader,dc=example,dc=org"
	ReaderPassword = "reader-secret"
	// PeopleDN and GroupsDN hold the fixture's people and groups.
	PeopleDN = "ou=People,dc=example,dc=org"
	GroupsDN = "ou=Groups,dc=example,dc=org"
)

const (
	slapdPath   = "/usr/sbin/slapd"
	slapaddPath = "/usr/sbin/slapadd"
	schemaDir   = "/etc/ldap/schema"
	moduleDir   = "/usr/lib/ldap"
	skipMessage = "slapd not found: install slapd and ldap-utils (apt-get install slapd ldap-utils)"
)

// Server is a running (or stopped) slapd.
type Server struct {
	// LDAPAddr is host:port of the plain (and StartTLS) listener, LDAPSAddr
	// of the TLS listener; both on 127.0.0.1.
	LDAPAddr  string
	LDAPSAddr string
	// CAPEM is the CA certificate that signed the server certificate;
	// CAFile is the same PEM on disk.
	CAPEM  []byte
	CAFile string
	// ClientCertFile and ClientKeyFile are a client certificate signed by
	// the CA (slapd does not ask for one; it is there to test loading).
	ClientCertFile string
	ClientKeyFile  string
	// Dir is the server's working directory.
	Dir string

	t    testing.TB
	conf string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Available reports whether slapd and slapadd are installed.
func Available() bool {
	for _, p := range []string{slapdPath, slapaddPath, filepath.Join(schemaDir, "core.schema")} {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

// Start writes a config and the fixture data into t.TempDir(), starts slapd
// and waits until it answers. It is stopped when the test ends.
func Start(t testing.TB) *Server {
	return StartLDIF(t, Fixture())
}

// StartLDIF is Start with other data; ldif must contain the base entry.
func StartLDIF(t testing.TB, ldif string) *Server {
	t.Helper()
	if !Available() {
		t.Skip(skipMessage)
	}
	dir := t.TempDir()
	s := &Server{t: t, Dir: dir}
	if err := s.writeCerts(); err != nil {
		t.Fatalf("testslapd: certificates: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	s.conf = filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(s.conf, []byte(s.config()), 0o600); err != nil {
		t.Fatal(err)
	}
	ldifFile := filepath.Join(dir, "data.ldif")
	if err := os.WriteFile(ldifFile, []byte(ldif), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(slapaddPath, "-q", "-f", s.conf, "-l", ldifFile).CombinedOutput(); err != nil {
		t.Fatalf("testslapd: slapadd: %v\n%s", err, out)
	}
	s.LDAPAddr = freeAddr(t)
	s.LDAPSAddr = freeAddr(t)
	if err := s.start(); err != nil {
		t.Fatalf("testslapd: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (s *Server) config() string {
	var b strings.Builder
	for _, sc := range []string{"core", "cosine", "inetorgperson", "nis"} {
		fmt.Fprintf(&b, "include %s/%s.schema\n", schemaDir, sc)
	}
	fmt.Fprintf(&b, `modulepath %s
moduleload back_mdb
moduleload memberof
pidfile %s
loglevel 0
TLSCACertificateFile %s
TLSCertificateFile %s
TLSCertificateKeyFile %s
TLSVerifyClient never

database mdb
suffix "%s"
rootdn "%s"
rootpw %s
directory %s
maxsize 104857600
index uid,mail,cn eq
overlay memberof
memberof-refint true
`, moduleDir, filepath.Join(s.Dir, "slapd.pid"),
		s.CAFile, filepath.Join(s.Dir, "server.crt"), filepath.Join(s.Dir, "server.key"),
		BaseDN, AdminDN, AdminPassword, filepath.Join(s.Dir, "db"))
	return b.String()
}

// start launches slapd in the foreground (-d 0) and waits for both ports.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("already running")
	}
	urls := fmt.Sprintf("ldap://%s/ ldaps://%s/", s.LDAPAddr, s.LDAPSAddr)
	// Starting can race with another process grabbing a port we picked or,
	// on restart, with the old socket still closing: try a few times.
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		var stderr bytes.Buffer
		cmd := exec.Command(slapdPath, "-f", s.conf, "-h", urls, "-d", "0")
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start slapd: %w", err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		if err := waitReady(done, s.LDAPAddr, s.LDAPSAddr); err != nil {
			_ = cmd.Process.Kill()
			<-done
			lastErr = fmt.Errorf("slapd did not start: %v\n%s", err, stderr.String())
			time.Sleep(100 * time.Millisecond)
			continue
		}
		s.cmd, s.done = cmd, done
		return nil
	}
	return lastErr
}

func waitReady(done <-chan struct{}, addrs ...string) error {
	deadline := time.Now().Add(15 * time.Second)
	for _, a := range addrs {
		for {
			select {
			case <-done:
				return errors.New("slapd exited")
			default:
			}
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				return err
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// Stop terminates slapd and waits for it to exit; the data stays, so
// Restart brings the same directory back on the same ports.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd, s.done = nil, nil
}

// Restart starts a stopped server again on the same ports.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("testslapd: restart: %v", err)
	}
}

// WaitGone blocks until nothing listens on the plain port any more (the
// caller stopped the server), bounded by ctx.
func (s *Server) WaitGone(ctx context.Context) error {
	for {
		c, err := net.DialTimeout("tcp", s.LDAPAddr, time.Second)
		if err != nil {
			return nil
		}
		c.Close()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
