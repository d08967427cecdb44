-- A rotated refresh token's successor seed: with the old token's value it
-- gives its successor's value again, so a client that lost the response of
-- a refresh gets the same new token back instead of a revoked family.
ALTER TABLE refresh_tokens ADD COLUMN successor_seed bytea;
