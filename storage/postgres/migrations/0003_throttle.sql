-- Login-throttle counters shared by every replica.
CREATE TABLE throttle_counters (
    id           text PRIMARY KEY,
    window_start timestamptz,
    count        bigint NOT NULL,
    previous     bigint NOT NULL,
    next_allowed timestamptz,
    expiry       timestamptz NOT NULL
);
CREATE INDEX throttle_counters_expiry ON throttle_counters (expiry);
