package server

// TokenID is the storage ID of a handed-out token: its hash, the only form
// of a token storage ever sees. An importer writing tokens another issuer
// handed out (Dex's refresh tokens) stores them under this ID, so the
// refresh grant accepts the very string the client holds.
func TokenID(raw string) string { return hashToken(raw) }
