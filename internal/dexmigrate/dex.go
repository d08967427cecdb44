// Package dexmigrate reads what Dex v2 keeps in its storage (the SQL
// tables of SQLite or PostgreSQL, or the custom resources of its kubernetes
// storage; read-only either way) and writes what torii needs of it into torii's
// storage, so that switching from Dex to torii logs nobody out: Dex's
// verification keys and its last signing key become retired keys in torii's
// JWKS, and every Dex refresh token becomes a torii token family that
// accepts the exact token string the client holds.
package dexmigrate

import "time"

// Snapshot is the part of Dex's storage the import looks at, read in one
// read-only transaction (SQL) or one list per kind (kubernetes).
type Snapshot struct {
	// Keys is nil when Dex never stored keys.
	Keys            *Keys
	RefreshTokens   []RefreshToken
	Clients         []Client
	Passwords       []Password
	OfflineSessions int
	// Connectors are those Dex keeps in storage (created through its gRPC
	// API); the connectors of Dex's config file are not stored.
	Connectors []Connector
}

// Connector is a connector Dex keeps in storage. Its config is not read:
// torii takes connectors from its own config file only.
type Connector struct {
	ID, Type, Name string
}

// Keys is Dex's keys row: JWKs as Dex stored them (JSON).
type Keys struct {
	SigningKeyPub    []byte
	VerificationKeys []VerificationKey
	NextRotation     time.Time
}

// VerificationKey is a public JWK Dex still publishes after a rotation.
type VerificationKey struct {
	JWK    []byte
	Expiry time.Time
}

// RefreshToken is one row of Dex's refresh_token table.
type RefreshToken struct {
	ID            string
	Token         string
	ObsoleteToken string
	CreatedAt     time.Time
	LastUsed      time.Time
	ClientID      string
	Scopes        []string
	Nonce         string
	ConnectorID   string
	ConnectorData []byte

	UserID            string
	Username          string
	PreferredUsername string
	Email             string
	EmailVerified     bool
	Groups            []string
}

// Client is a client Dex keeps in storage (created through its gRPC API).
type Client struct {
	ID           string
	Secret       string
	RedirectURIs []string
	TrustedPeers []string
	Public       bool
	Name         string
	LogoURL      string
}

// Password is a user of Dex's password database kept in storage.
type Password struct {
	Email             string
	Hash              []byte
	Username          string
	UserID            string
	PreferredUsername string
	Name              string
	Groups            []string
	EmailVerified     *bool
}
