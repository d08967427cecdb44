package postgres

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Config is the `storage.config` block of a Dex-style config file for
// `type: postgres`. Either DSN or the individual fields describe the server.
type Config struct {
	Host     string
	Port     int
	Database string
	User     string
	Password string
	SSL      SSL

	// ConnectionTimeout bounds each connection attempt (default 5s), so a
	// request fails fast when the database is unreachable.
	ConnectionTimeout time.Duration
	// MaxOpenConns caps the pool (default: pgxpool's, max(4, CPUs)).
	MaxOpenConns int
	// MaxIdleConns is accepted for Dex compatibility. pgxpool keeps no more
	// idle connections than it needs and closes them after 30 minutes idle.
	MaxIdleConns int
	// ConnMaxLifetime recycles connections (default: one hour).
	ConnMaxLifetime time.Duration

	// DSN is a libpq connection string or postgres:// URL; when set, Host,
	// Port, Database, User, Password and SSL must be empty.
	DSN string
}

// SSL configures TLS to the server; the fields are Dex's.
type SSL struct {
	// Mode is a libpq sslmode: disable, allow, prefer, require, verify-ca
	// or verify-full (the default, as in Dex).
	Mode       string
	CAFile     string
	CertFile   string
	KeyFile    string
	ServerName string
}

const (
	defaultPort              = 5432
	defaultConnectionTimeout = 5 * time.Second
	// healthCheckPeriod is how often idle connections are checked, so a
	// restarted server is noticed before a request needs the connection.
	healthCheckPeriod = 10 * time.Second
)

func (s SSL) isZero() bool { return s == SSL{} }

// poolConfig turns c into a pgxpool configuration.
func (c Config) poolConfig() (*pgxpool.Config, error) {
	dsn := c.DSN
	if dsn != "" {
		if c.Host != "" || c.Port != 0 || c.Database != "" || c.User != "" || c.Password != "" || !c.SSL.isZero() {
			return nil, errors.New("postgres: set either dsn or host/port/database/user/password/ssl, not both")
		}
	} else {
		var err error
		if dsn, err = c.keywordDSN(); err != nil {
			return nil, err
		}
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgconn's parse errors never include the password.
		return nil, fmt.Errorf("postgres: connection settings: %w", err)
	}
	if c.ConnectionTimeout < 0 || c.MaxOpenConns < 0 || c.MaxIdleConns < 0 || c.ConnMaxLifetime < 0 {
		return nil, errors.New("postgres: connectionTimeout, maxOpenConns, maxIdleConns and connMaxLifetime must not be negative")
	}
	switch {
	case c.ConnectionTimeout > 0:
		pc.ConnConfig.ConnectTimeout = c.ConnectionTimeout
	case pc.ConnConfig.ConnectTimeout == 0: // a DSN's connect_timeout wins
		pc.ConnConfig.ConnectTimeout = defaultConnectionTimeout
	}
	if c.MaxOpenConns > 0 {
		pc.MaxConns = int32(min(c.MaxOpenConns, 1<<20))
	}
	if c.ConnMaxLifetime > 0 {
		pc.MaxConnLifetime = c.ConnMaxLifetime
	}
	pc.HealthCheckPeriod = healthCheckPeriod
	if c.SSL.ServerName != "" {
		if pc.ConnConfig.TLSConfig != nil {
			pc.ConnConfig.TLSConfig.ServerName = c.SSL.ServerName
		}
		for _, fb := range pc.ConnConfig.Fallbacks {
			if fb.TLSConfig != nil {
				fb.TLSConfig.ServerName = c.SSL.ServerName
			}
		}
	}
	return pc, nil
}

// keywordDSN builds a libpq keyword/value string from the individual fields.
func (c Config) keywordDSN() (string, error) {
	host, port := c.Host, c.Port
	if host == "" {
		return "", errors.New("postgres: host (or dsn) is required")
	}
	// Dex accepts "host:port" in host.
	if h, p, err := net.SplitHostPort(host); err == nil && !strings.HasPrefix(host, "/") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return "", fmt.Errorf("postgres: host %q: bad port", host)
		}
		if port != 0 && port != n {
			return "", fmt.Errorf("postgres: host %q and port %d disagree", host, port)
		}
		host, port = h, n
	}
	if port == 0 {
		port = defaultPort
	}
	if port < 0 || port > 65535 {
		return "", fmt.Errorf("postgres: port %d out of range", port)
	}
	if c.Database == "" {
		return "", errors.New("postgres: database is required")
	}
	mode := c.SSL.Mode
	switch mode {
	case "":
		mode = "verify-full"
	case "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
	default:
		return "", fmt.Errorf("postgres: ssl.mode %q: want disable, allow, prefer, require, verify-ca or verify-full", mode)
	}
	kv := []string{
		"host=" + quote(host),
		"port=" + strconv.Itoa(port),
		"dbname=" + quote(c.Database),
		"sslmode=" + mode,
	}
	if c.User != "" {
		kv = append(kv, "user="+quote(c.User))
	}
	if c.Password != "" {
		kv = append(kv, "password="+quote(c.Password))
	}
	if c.SSL.CAFile != "" {
		kv = append(kv, "sslrootcert="+quote(c.SSL.CAFile))
	}
	if c.SSL.CertFile != "" {
		kv = append(kv, "sslcert="+quote(c.SSL.CertFile))
	}
	if c.SSL.KeyFile != "" {
		kv = append(kv, "sslkey="+quote(c.SSL.KeyFile))
	}
	return strings.Join(kv, " "), nil
}

// quote quotes a libpq keyword value.
func quote(v string) string {
	v = strings.ReplaceAll(v, `\`, `\\`)
	v = strings.ReplaceAll(v, `'`, `\'`)
	return "'" + v + "'"
}
