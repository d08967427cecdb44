-- Logout: where a client may be sent back after /logout, its back-channel
-- logout endpoint, and the back-channel deliveries waiting to be sent.
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required INTEGER NOT NULL DEFAULT 0;

CREATE TABLE logout_deliveries (
	id           TEXT PRIMARY KEY,
	next_attempt INTEGER NOT NULL,
	data         TEXT NOT NULL
) STRICT;
CREATE INDEX logout_deliveries_due ON logout_deliveries (next_attempt);
