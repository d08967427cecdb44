-- Clients and passwords created through the admin API, and the index that
-- finds a person's refresh tokens (list and revoke them by user).

CREATE TABLE clients (
	id            TEXT PRIMARY KEY,
	secret_hash   BLOB,
	redirect_uris TEXT NOT NULL,
	trusted_peers TEXT NOT NULL,
	public        INTEGER NOT NULL,
	name          TEXT NOT NULL,
	logo_url      TEXT NOT NULL
) STRICT;

-- id is the lower-cased email (storage.PasswordKey).
CREATE TABLE passwords (
	id       TEXT PRIMARY KEY,
	email    TEXT NOT NULL,
	hash     BLOB NOT NULL,
	username TEXT NOT NULL,
	user_id  TEXT NOT NULL
) STRICT;

CREATE INDEX refresh_tokens_user ON refresh_tokens (connector_id, json_extract(claims, '$.user_id'));
