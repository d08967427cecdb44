-- RFC 8628 device authorization requests. id is the device-code hash and
-- user_code the user-code hash (unique: a user code names one request);
-- the rest of the request is one JSON document.
CREATE TABLE device_requests (
    id        text PRIMARY KEY,
    user_code text NOT NULL UNIQUE,
    client_id text NOT NULL,
    data      jsonb NOT NULL,
    expiry    timestamptz
);
CREATE INDEX device_requests_expiry ON device_requests (expiry);
