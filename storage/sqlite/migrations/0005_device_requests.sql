-- RFC 8628 device authorization requests. id is the device-code hash and
-- user_code the user-code hash (unique: a user code names one request);
-- the rest of the request is one JSON document.
CREATE TABLE device_requests (
	id        TEXT PRIMARY KEY,
	user_code TEXT NOT NULL UNIQUE,
	client_id TEXT NOT NULL,
	data      TEXT NOT NULL,
	expiry    INTEGER
) STRICT;
CREATE INDEX device_requests_expiry ON device_requests (expiry);
