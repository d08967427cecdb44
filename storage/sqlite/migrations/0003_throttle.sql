-- Login-throttle counters shared by every process on the file.
CREATE TABLE throttle_counters (
	key          TEXT PRIMARY KEY,
	window_start INTEGER,
	count        INTEGER NOT NULL,
	previous     INTEGER NOT NULL,
	next_allowed INTEGER,
	expiry       INTEGER NOT NULL
) STRICT;
CREATE INDEX throttle_counters_expiry ON throttle_counters (expiry);
