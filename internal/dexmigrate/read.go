package dexmigrate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Read takes a Snapshot of Dex's SQL storage in one read-only transaction
// (opts says how the driver spells that). It never writes.
func Read(ctx context.Context, db *sql.DB, opts *sql.TxOptions) (Snapshot, error) {
	var s Snapshot
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return s, fmt.Errorf("dex storage: begin read-only transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep

	steps := []struct {
		table string
		read  func(context.Context, *sql.Tx, *Snapshot) error
	}{
		{"keys", readKeys},
		{"refresh_token", readRefreshTokens},
		{"client", readClients},
		{"password", readPasswords},
		{"offline_session", readOfflineSessions},
		{"connector", readConnectors},
	}
	for _, st := range steps {
		if err := st.read(ctx, tx, &s); err != nil {
			return Snapshot{}, fmt.Errorf("dex storage: table %s: %w (is this a Dex v2.45 database? start that Dex once so it migrates its schema)", st.table, err)
		}
	}
	return s, nil
}

func readKeys(ctx context.Context, tx *sql.Tx, s *Snapshot) error {
	var verification, pub []byte
	var next any
	err := tx.QueryRowContext(ctx, `select verification_keys, signing_key_pub, next_rotation from keys where id = 'keys'`).
		Scan(&verification, &pub, &next)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	k := &Keys{SigningKeyPub: pub}
	if k.NextRotation, err = asTime(next); err != nil {
		return fmt.Errorf("next_rotation: %w", err)
	}
	var vks []struct {
		PublicKey json.RawMessage `json:"publicKey"`
		Expiry    time.Time       `json:"expiry"`
	}
	if err := json.Unmarshal(verification, &vks); err != nil {
		return fmt.Errorf("verification_keys: %w", err)
	}
	for _, v := range vks {
		k.VerificationKeys = append(k.VerificationKeys, VerificationKey{JWK: v.PublicKey, Expiry: v.Expiry})
	}
	s.Keys = k
	return nil
}

func readRefreshTokens(ctx context.Context, tx *sql.Tx, s *Snapshot) error {
	rows, err := tx.QueryContext(ctx, `select id, token, obsolete_token, created_at, last_used,
		client_id, scopes, nonce, connector_id, connector_data,
		claims_user_id, claims_username, claims_preferred_username,
		claims_email, claims_email_verified, claims_groups
		from refresh_token order by id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r RefreshToken
		var obsolete sql.NullString
		var created, used any
		var scopes, groups []byte
		if err := rows.Scan(&r.ID, &r.Token, &obsolete, &created, &used,
			&r.ClientID, &scopes, &r.Nonce, &r.ConnectorID, &r.ConnectorData,
			&r.UserID, &r.Username, &r.PreferredUsername,
			&r.Email, &r.EmailVerified, &groups); err != nil {
			return err
		}
		r.ObsoleteToken = obsolete.String
		if r.CreatedAt, err = asTime(created); err != nil {
			return fmt.Errorf("refresh token %s: created_at: %w", r.ID, err)
		}
		if r.LastUsed, err = asTime(used); err != nil {
			return fmt.Errorf("refresh token %s: last_used: %w", r.ID, err)
		}
		if err := jsonList(scopes, &r.Scopes); err != nil {
			return fmt.Errorf("refresh token %s: scopes: %w", r.ID, err)
		}
		if err := jsonList(groups, &r.Groups); err != nil {
			return fmt.Errorf("refresh token %s: claims_groups: %w", r.ID, err)
		}
		s.RefreshTokens = append(s.RefreshTokens, r)
	}
	return rows.Err()
}

func readClients(ctx context.Context, tx *sql.Tx, s *Snapshot) error {
	rows, err := tx.QueryContext(ctx, `select id, secret, redirect_uris, trusted_peers, public, name, logo_url from client order by id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c Client
		var secret sql.NullString
		var redirects, peers []byte
		if err := rows.Scan(&c.ID, &secret, &redirects, &peers, &c.Public, &c.Name, &c.LogoURL); err != nil {
			return err
		}
		c.Secret = secret.String
		if err := jsonList(redirects, &c.RedirectURIs); err != nil {
			return fmt.Errorf("client %s: redirect_uris: %w", c.ID, err)
		}
		if err := jsonList(peers, &c.TrustedPeers); err != nil {
			return fmt.Errorf("client %s: trusted_peers: %w", c.ID, err)
		}
		s.Clients = append(s.Clients, c)
	}
	return rows.Err()
}

func readPasswords(ctx context.Context, tx *sql.Tx, s *Snapshot) error {
	rows, err := tx.QueryContext(ctx, `select email, hash, username, user_id, preferred_username, name, groups, email_verified from password order by email`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var p Password
		var groups []byte
		var verified sql.NullBool
		if err := rows.Scan(&p.Email, &p.Hash, &p.Username, &p.UserID, &p.PreferredUsername, &p.Name, &groups, &verified); err != nil {
			return err
		}
		if verified.Valid {
			p.EmailVerified = &verified.Bool
		}
		if err := jsonList(groups, &p.Groups); err != nil {
			return fmt.Errorf("password %s: groups: %w", p.Email, err)
		}
		s.Passwords = append(s.Passwords, p)
	}
	return rows.Err()
}

func readOfflineSessions(ctx context.Context, tx *sql.Tx, s *Snapshot) error {
	return tx.QueryRowContext(ctx, `select count(*) from offline_session`).Scan(&s.OfflineSessions)
}

func readConnectors(ctx context.Context, tx *sql.Tx, s *Snapshot) error {
	rows, err := tx.QueryContext(ctx, `select id, type, name from connector order by id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c Connector
		if err := rows.Scan(&c.ID, &c.Type, &c.Name); err != nil {
			return err
		}
		s.Connectors = append(s.Connectors, c)
	}
	return rows.Err()
}

// jsonList decodes a JSON array column; NULL and empty are an empty list.
func jsonList(b []byte, dst *[]string) error {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, dst)
}

// sqliteTimeLayouts are the text forms SQLite drivers store time.Time in
// (mattn/go-sqlite3, which Dex uses, writes the first).
var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
	time.RFC3339Nano,
}

// asTime reads a timestamp column: PostgreSQL gives time.Time, SQLite the
// text its writer chose.
func asTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case []byte:
		return parseTimeText(string(t))
	case string:
		return parseTimeText(t)
	case nil:
		return time.Time{}, nil
	}
	return time.Time{}, fmt.Errorf("unexpected timestamp type %T", v)
}

func parseTimeText(s string) (time.Time, error) {
	for _, l := range sqliteTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable timestamp %q", s)
}
