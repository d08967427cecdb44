-- Browser sessions (single sign-on). The session's fields other than the
-- ones queried are one JSON document.
CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,
	connector_id TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	created_at   INTEGER,
	data         TEXT NOT NULL,
	expiry       INTEGER
) STRICT;
CREATE INDEX sessions_user ON sessions (connector_id, user_id);
CREATE INDEX sessions_expiry ON sessions (expiry);

-- The session a login was made in, carried to its code and refresh
-- tokens (sid, logout); auth_time survives refreshes.
ALTER TABLE auth_requests ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN auth_time INTEGER;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id) WHERE session_id != '';
