-- Logout: where a client may be sent back after /logout, its back-channel
-- logout endpoint, and the back-channel deliveries waiting to be sent.
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris text[];
ALTER TABLE clients ADD COLUMN backchannel_logout_uri text NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required boolean NOT NULL DEFAULT false;

CREATE TABLE logout_deliveries (
    id           text PRIMARY KEY,
    next_attempt timestamptz NOT NULL,
    attempts     integer NOT NULL,
    data         jsonb NOT NULL
);
CREATE INDEX logout_deliveries_due ON logout_deliveries (next_attempt);
