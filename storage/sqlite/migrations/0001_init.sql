-- Times are INTEGER unix microseconds (UTC); NULL is the zero time.
-- Slices and claims are JSON text; connector data is an opaque BLOB.

CREATE TABLE auth_requests (
	id                    TEXT PRIMARY KEY,
	client_id             TEXT NOT NULL,
	response_types        TEXT NOT NULL,
	scopes                TEXT NOT NULL,
	redirect_uri          TEXT NOT NULL,
	nonce                 TEXT NOT NULL,
	state                 TEXT NOT NULL,
	code_challenge        TEXT NOT NULL,
	code_challenge_method TEXT NOT NULL,
	force_approval        INTEGER NOT NULL,
	browser_hash          TEXT NOT NULL,
	connector_id          TEXT NOT NULL,
	logged_in             INTEGER NOT NULL,
	claims                TEXT NOT NULL,
	connector_data        BLOB,
	auth_time             INTEGER,
	expiry                INTEGER
) STRICT;
CREATE INDEX auth_requests_expiry ON auth_requests (expiry);

CREATE TABLE auth_codes (
	id                    TEXT PRIMARY KEY,
	client_id             TEXT NOT NULL,
	redirect_uri          TEXT NOT NULL,
	nonce                 TEXT NOT NULL,
	scopes                TEXT NOT NULL,
	connector_id          TEXT NOT NULL,
	connector_data        BLOB,
	claims                TEXT NOT NULL,
	code_challenge        TEXT NOT NULL,
	code_challenge_method TEXT NOT NULL,
	auth_time             INTEGER,
	expiry                INTEGER,
	redeemed              INTEGER NOT NULL,
	grant_id              TEXT NOT NULL
) STRICT;
CREATE INDEX auth_codes_expiry ON auth_codes (expiry);

CREATE TABLE refresh_tokens (
	id                TEXT PRIMARY KEY,
	family_id         TEXT NOT NULL,
	client_id         TEXT NOT NULL,
	scopes            TEXT NOT NULL,
	nonce             TEXT NOT NULL,
	connector_id      TEXT NOT NULL,
	connector_data    BLOB,
	claims            TEXT NOT NULL,
	family_created_at INTEGER,
	created_at        INTEGER,
	last_used         INTEGER,
	rotated_at        INTEGER,
	expiry            INTEGER
) STRICT;
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expiry);

CREATE TABLE revoked_grants (
	grant_id TEXT PRIMARY KEY,
	expiry   INTEGER
) STRICT;
CREATE INDEX revoked_grants_expiry ON revoked_grants (expiry);

-- One row, id 1: the signing-key state every replica shares.
CREATE TABLE signing_keys (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	active        BLOB,
	next          BLOB,
	retired       TEXT NOT NULL,
	next_rotation INTEGER
) STRICT;
