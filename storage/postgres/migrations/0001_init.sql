-- torii schema version 1.
-- Every token-like id is a hash computed by the server; rows whose expiry
-- lies in the past are removed by GarbageCollect.

CREATE TABLE auth_requests (
    id                    text PRIMARY KEY,
    client_id             text NOT NULL,
    response_types        text[],
    scopes                text[],
    redirect_uri          text NOT NULL,
    nonce                 text NOT NULL,
    state                 text NOT NULL,
    code_challenge        text NOT NULL,
    code_challenge_method text NOT NULL,
    force_approval        boolean NOT NULL,
    browser_hash          text NOT NULL,
    connector_id          text NOT NULL,
    logged_in             boolean NOT NULL,
    claims                jsonb NOT NULL,
    connector_data        bytea,
    auth_time             timestamptz,
    expiry                timestamptz
);
CREATE INDEX auth_requests_expiry ON auth_requests (expiry);

CREATE TABLE auth_codes (
    id                    text PRIMARY KEY,
    client_id             text NOT NULL,
    redirect_uri          text NOT NULL,
    nonce                 text NOT NULL,
    scopes                text[],
    connector_id          text NOT NULL,
    connector_data        bytea,
    claims                jsonb NOT NULL,
    code_challenge        text NOT NULL,
    code_challenge_method text NOT NULL,
    auth_time             timestamptz,
    expiry                timestamptz,
    redeemed              boolean NOT NULL,
    grant_id              text NOT NULL
);
CREATE INDEX auth_codes_expiry ON auth_codes (expiry);

CREATE TABLE refresh_tokens (
    id                text PRIMARY KEY,
    family_id         text NOT NULL,
    client_id         text NOT NULL,
    scopes            text[],
    nonce             text NOT NULL,
    connector_id      text NOT NULL,
    connector_data    bytea,
    claims            jsonb NOT NULL,
    family_created_at timestamptz,
    created_at        timestamptz,
    last_used         timestamptz,
    rotated_at        timestamptz,
    -- NULL: never collected.
    expiry            timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expiry) WHERE expiry IS NOT NULL;

CREATE TABLE revoked_grants (
    id     text PRIMARY KEY,
    expiry timestamptz
);
CREATE INDEX revoked_grants_expiry ON revoked_grants (expiry);

-- One row (id = 1) shared by every replica; UpdateKeys locks it.
CREATE TABLE signing_keys (
    id            integer PRIMARY KEY CHECK (id = 1),
    active        bytea,
    next          bytea,
    -- JSON array of {"jwk": base64, "expiry": RFC 3339}.
    retired       jsonb,
    next_rotation timestamptz
);
