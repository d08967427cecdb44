-- Browser sessions (single sign-on): the fields that are queried are
-- columns, the rest one JSON document.
CREATE TABLE sessions (
    id           text PRIMARY KEY,
    connector_id text NOT NULL,
    user_id      text NOT NULL,
    created_at   timestamptz,
    data         jsonb NOT NULL,
    expiry       timestamptz
);
CREATE INDEX sessions_user ON sessions (connector_id, user_id);
CREATE INDEX sessions_expiry ON sessions (expiry);

-- The session a login was made in, carried to its code and refresh
-- tokens (sid, logout); auth_time survives refreshes.
ALTER TABLE auth_requests ADD COLUMN session_id text NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN session_id text NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN session_id text NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN auth_time timestamptz;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id) WHERE session_id <> '';
