-- Clients and passwords created through the admin API, and the index that
-- finds a person's refresh tokens (list and revoke them by user).

CREATE TABLE clients (
    id            text PRIMARY KEY,
    secret_hash   bytea,
    redirect_uris text[],
    trusted_peers text[],
    public        boolean NOT NULL,
    name          text NOT NULL,
    logo_url      text NOT NULL
);

-- id is the lower-cased email (storage.PasswordKey).
CREATE TABLE passwords (
    id       text PRIMARY KEY,
    email    text NOT NULL,
    hash     bytea NOT NULL,
    username text NOT NULL,
    user_id  text NOT NULL
);

CREATE INDEX refresh_tokens_user ON refresh_tokens (connector_id, (claims->>'user_id'));
