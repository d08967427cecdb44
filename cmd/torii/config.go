package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/connector/static"
	"github.com/torii-idp/torii/server"
)

// defaultSQLiteFile is used when the config has no storage block (Dex has
// no default; torii's embedded default is SQLite next to the working
// directory).
const defaultSQLiteFile = "var/torii.db"

// Config is the parsed config file: Dex's config.yaml format, restricted to
// what torii implements.
type Config struct {
	File   string
	Issuer string

	Storage   StorageConfig
	Web       WebConfig
	Telemetry TelemetryConfig
	GRPC      GRPCConfig
	Logger    LoggerConfig
	Audit     AuditConfig

	Expiry server.Expiry
	// KeysRotationPeriod is signer.config.keysRotationPeriod (Dex's newer
	// spelling of expiry.signingKeys).
	KeysRotationPeriod time.Duration
	SigningAlgorithm   string

	OAuth2 OAuth2Config
	// Sessions is the sessions block; nil without one (no browser session).
	Sessions *server.SessionsConfig
	Frontend server.WebConfig
	Clients  []server.Client

	EnablePasswordDB bool
	Users            []static.User

	Connectors []ConnectorConfig

	// ImportDex is importDex.config: a Dex config whose storage is
	// imported when torii starts on an unused storage.
	ImportDex string

	// Throttle is torii's throttle block.
	Throttle server.ThrottleConfig

	// Kubeconfig is torii's kubeconfig block (the kubeconfig page); nil
	// without one.
	Kubeconfig *server.KubeconfigConfig

	// types is the connector-type registry (nil: connectorTypes()).
	types map[string]connectorType

	d      *decoder
	parsed bool     // the YAML itself was readable
	sum    [32]byte // SHA-256 of the file's bytes (LoadConfig), for reloads
	// flags are the serve flags applied (loadConfig), applied again at
	// every reload.
	flags serveFlags
}

// StorageConfig is the storage block.
type StorageConfig struct {
	Type string // a key of storageTypes()
	// Settings is the decoded storage.config (nil when the type is unknown).
	Settings storageSettings
}

// PostgresConfig mirrors Dex's postgres settings (durations may be given as
// whole seconds, as in Dex, or as Go durations).
type PostgresConfig struct {
	Host              string
	Port              int
	Database          string
	User              string
	Password          string
	SSL               PostgresSSL
	ConnectionTimeout time.Duration
	MaxOpenConns      int
	MaxIdleConns      int
	ConnMaxLifetime   time.Duration
	DSN               string
}

// PostgresSSL is storage.config.ssl.
type PostgresSSL struct {
	Mode, CAFile, CertFile, KeyFile, ServerName string
}

// WebConfig is the web block.
type WebConfig struct {
	HTTP, HTTPS     string
	TLSCert, TLSKey string
	TLSMinVersion   uint16
	TLSMaxVersion   uint16
	Headers         map[string]string
	AllowedOrigins  []string
	ClientIP        server.ClientIPConfig
}

// TelemetryConfig is the telemetry block.
type TelemetryConfig struct {
	HTTP string
	// EnableProfiling serves net/http/pprof under /debug/pprof/ on the
	// telemetry listener (Dex's key).
	EnableProfiling bool
}

// LoggerConfig is the logger block.
type LoggerConfig struct {
	Level  slog.Level
	Format string // text or json
}

// OAuth2Config is the oauth2 block.
type OAuth2Config struct {
	ResponseTypes         []string
	GrantTypes            []string
	SkipApprovalScreen    bool
	AlwaysShowLoginScreen bool
	PasswordConnector     string
	// PKCEMethods is pkce.codeChallengeMethodsSupported (nil: not set).
	PKCEMethods []string
	// PromptNoneWithoutSession: showLogin or loginRequired ("" = default).
	PromptNoneWithoutSession string
}

// ConnectorConfig is one entry of connectors; Config is the config block
// with environment variables already expanded.
type ConnectorConfig struct {
	Type, ID, Name string
	Config         *yaml.Node
	Path           string // connectors[i], for messages
	Line           int
}

// LoadConfig reads, parses and validates a config file. The error joins
// every *Problem found.
func LoadConfig(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	return loadConfig(path, lookupEnv, serveFlags{})
}

// loadConfig is LoadConfig with the serve flags applied between parsing and
// validation.
func loadConfig(path string, lookupEnv func(string) (string, bool), flags serveFlags) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(path, data, lookupEnv)
	c.sum = sha256.Sum256(data)
	if !c.parsed {
		return c, err
	}
	c.flags = flags
	flags.apply(c)
	// Validate returns the parse problems too, so every problem is reported.
	return c, c.Validate()
}

// ParseConfig decodes the YAML, reporting unknown keys, keys torii does not
// support, wrong types and bad values. Cross-field checks are Validate's.
// The returned Config is usable for Validate even when err is not nil.
func ParseConfig(name string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	d := &decoder{file: name, lookup: lookupEnv, lines: map[string]int{}}
	c := &Config{File: name, d: d}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.problem(1, "", "the file is empty")
		} else {
			d.problem(yamlErrorLine(err), "", "invalid YAML: %v", err)
		}
		return c, errors.Join(d.problems...)
	}
	if len(doc.Content) == 0 {
		d.problem(1, "", "the file is empty")
		return c, errors.Join(d.problems...)
	}
	c.parsed = true
	c.decodeRoot(doc.Content[0])
	if _, set := d.lines["storage"]; !set {
		c.Storage = StorageConfig{Type: "sqlite3", Settings: sqliteSettings{File: defaultSQLiteFile}}
	}
	if c.Logger.Format == "" {
		c.Logger.Format = "text"
	}
	return c, errors.Join(d.problems...)
}

// yamlErrorLine digs the line out of a yaml.v3 syntax error
// ("yaml: line 3: mapping values are not allowed in this context").
func yamlErrorLine(err error) int {
	msg := err.Error()
	i := strings.Index(msg, "line ")
	if i < 0 {
		return 1
	}
	rest := msg[i+len("line "):]
	j := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if j < 0 {
		j = len(rest)
	}
	if n, err := strconv.Atoi(rest[:j]); err == nil && n > 0 {
		return n
	}
	return 1
}
