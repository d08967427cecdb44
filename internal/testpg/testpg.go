// Package testpg gives tests a real PostgreSQL database.
//
// The server is, in order: the admin DSN in $TORII_TEST_POSTGRES; the
// server on 127.0.0.1:5432 (user postgres, trust auth) when it answers; a
// throwaway cluster started with initdb and pg_ctl; otherwise the test is
// skipped. Each DSN call creates a fresh database, dropped when the test ends.
package testpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable holding an admin DSN (a role that
// may CREATE DATABASE) of the server tests should use.
const EnvDSN = "TORII_TEST_POSTGRES"

const localDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=2"

// DSN returns the DSN of a new, empty database, dropped in t.Cleanup.
func DSN(t testing.TB) string {
	t.Helper()
	return CreateDatabase(t, AdminDSN(t))
}

// AdminDSN returns a DSN of a server tests may create databases on,
// starting a private cluster when no shared server is configured or
// running (that cluster is stopped in t.Cleanup).
func AdminDSN(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return dsn
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, localDSN); err == nil {
		conn.Close(ctx)
		return localDSN
	}
	return StartCluster(t).AdminDSN()
}

// CreateDatabase creates a database named torii_test_<random> on the server
// of adminDSN and returns a DSN for it; the database is dropped (with any
// connections still open to it) in t.Cleanup.
func CreateDatabase(t testing.TB, adminDSN string) string {
	t.Helper()
	name := "torii_test_" + randomHex(t, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatalf("testpg: connect to %s: %v", redact(adminDSN), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testpg: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminDSN)
		if err != nil {
			t.Logf("testpg: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("testpg: drop database %s: %v", name, err)
		}
	})
	return withDatabase(t, adminDSN, name)
}

// withDatabase replaces the database of a URL or keyword/value DSN.
func withDatabase(t testing.TB, dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("testpg: admin DSN: %v", err)
		}
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
		}
		return u.String()
	}
	return "the admin DSN"
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Cluster is a PostgreSQL server of the test's own, which the test may
// stop and start (to simulate losing the database) without disturbing
// anyone else.
type Cluster struct {
	t    testing.TB
	dir  string // data, socket and log live here
	port int
	bin  string // directory holding initdb, pg_ctl and postgres
}

// StartCluster initialises and starts a private cluster (trust auth, user
// postgres, listening on 127.0.0.1 on a free port), stopped and removed in
// t.Cleanup. It skips the test when initdb or pg_ctl cannot be found.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := findBin()
	if bin == "" {
		t.Skip("testpg: no PostgreSQL server: set " + EnvDSN + ", run one on 127.0.0.1:5432 or install initdb and pg_ctl")
	}
	dir, err := os.MkdirTemp("", "torii-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, dir: dir, port: freePort(t), bin: bin}
	t.Cleanup(func() {
		c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop") //nolint:errcheck // may be stopped already
		os.RemoveAll(dir)
	})
	if err := c.chownForPostgres(); err != nil {
		t.Fatal(err)
	}
	if out, err := c.run("initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--no-locale", "--no-sync", "--no-instructions"); err != nil {
		t.Fatalf("testpg: initdb: %v\n%s", err, out)
	}
	c.Start()
	return c
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// AdminDSN is the DSN of the cluster's postgres database as superuser.
func (c *Cluster) AdminDSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", c.port)
}

// Start starts the (stopped) server and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", c.port, c.dir)
	if out, err := c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.t.Fatalf("testpg: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server (fast shutdown: open connections are cut).
func (c *Cluster) Stop() {
	c.t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		c.t.Fatalf("testpg: pg_ctl stop: %v\n%s", err, out)
	}
}

// run runs one of the server binaries, as the postgres user when this
// process is root (PostgreSQL refuses to run as root).
func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

func (c *Cluster) chownForPostgres() error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("testpg: running as root needs a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(c.dir, uid, gid)
}

func findBin() string {
	candidates := []string{"/usr/local/bin"}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		candidates = append([]string{filepath.Dir(p)}, candidates...)
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(m) > 0 {
		candidates = append(candidates, m...)
	}
	for _, d := range candidates {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
