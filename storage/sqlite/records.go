package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/torii-idp/torii/storage"
)

// kinds holds the SQL of every record type; built once per Storage.
type kinds struct {
	authRequests kind[storage.AuthRequest]
	authCodes    kind[storage.AuthCode]
	refresh      kind[storage.RefreshToken]
	clients      kind[storage.Client]
	passwords    kind[storage.Password]
	sessions     kind[storage.Session]
	devices      kind[storage.DeviceRequest]
	logouts      kind[storage.LogoutDelivery]
}

func newKinds() kinds {
	return kinds{
		authRequests: newKind("auth_requests", []string{
			"id", "client_id", "response_types", "scopes", "redirect_uri", "nonce", "state",
			"code_challenge", "code_challenge_method", "force_approval", "browser_hash",
			"connector_id", "logged_in", "claims", "connector_data", "auth_time", "expiry",
			"session_id", "ui_locales",
		}, authRequestArgs, scanAuthRequest),
		authCodes: newKind("auth_codes", []string{
			"id", "client_id", "redirect_uri", "nonce", "scopes", "connector_id", "connector_data",
			"claims", "code_challenge", "code_challenge_method", "auth_time", "expiry",
			"redeemed", "grant_id", "session_id",
		}, authCodeArgs, scanAuthCode),
		refresh: newKind("refresh_tokens", []string{
			"id", "family_id", "client_id", "scopes", "nonce", "connector_id", "connector_data",
			"claims", "family_created_at", "created_at", "last_used", "rotated_at", "expiry",
			"session_id", "auth_time", "successor_seed",
		}, refreshArgs, scanRefresh),
		clients:   newKind("clients", clientColumns, clientArgs, scanClient),
		passwords: newKind("passwords", passwordColumns, passwordArgs, scanPassword),
		sessions: newKind("sessions", []string{
			"id", "connector_id", "user_id", "created_at", "data", "expiry",
		}, sessionArgs, scanSession),
		devices: newDeviceKind(),
		logouts: newKind("logout_deliveries", []string{"id", "next_attempt", "data"}, logoutArgs, scanLogout),
	}
}

func authRequestArgs(a storage.AuthRequest) ([]any, error) {
	responseTypes, err := jsonValue(a.ResponseTypes)
	if err != nil {
		return nil, err
	}
	scopes, err := jsonValue(a.Scopes)
	if err != nil {
		return nil, err
	}
	claims, err := jsonValue(a.Claims)
	if err != nil {
		return nil, err
	}
	return []any{
		a.ID, a.ClientID, responseTypes, scopes, a.RedirectURI, a.Nonce, a.State,
		a.CodeChallenge, a.CodeChallengeMethod, a.ForceApproval, a.BrowserHash,
		a.ConnectorID, a.LoggedIn, claims, blobValue(a.ConnectorData), timeValue(a.AuthTime), timeValue(a.Expiry),
		a.SessionID, a.UILocales,
	}, nil
}

func scanAuthRequest(row rowScanner) (storage.AuthRequest, error) {
	var (
		a                             storage.AuthRequest
		responseTypes, scopes, claims string
		authTime, expiry              sql.NullInt64
	)
	err := row.Scan(&a.ID, &a.ClientID, &responseTypes, &scopes, &a.RedirectURI, &a.Nonce, &a.State,
		&a.CodeChallenge, &a.CodeChallengeMethod, &a.ForceApproval, &a.BrowserHash,
		&a.ConnectorID, &a.LoggedIn, &claims, &a.ConnectorData, &authTime, &expiry, &a.SessionID, &a.UILocales)
	if err != nil {
		return storage.AuthRequest{}, err
	}
	if err := decodeAll(responseTypes, &a.ResponseTypes, scopes, &a.Scopes, claims, &a.Claims); err != nil {
		return storage.AuthRequest{}, err
	}
	a.AuthTime, a.Expiry = timeFrom(authTime), timeFrom(expiry)
	return a, nil
}

func authCodeArgs(c storage.AuthCode) ([]any, error) {
	scopes, err := jsonValue(c.Scopes)
	if err != nil {
		return nil, err
	}
	claims, err := jsonValue(c.Claims)
	if err != nil {
		return nil, err
	}
	return []any{
		c.ID, c.ClientID, c.RedirectURI, c.Nonce, scopes, c.ConnectorID, blobValue(c.ConnectorData),
		claims, c.CodeChallenge, c.CodeChallengeMethod, timeValue(c.AuthTime), timeValue(c.Expiry),
		c.Redeemed, c.GrantID, c.SessionID,
	}, nil
}

func scanAuthCode(row rowScanner) (storage.AuthCode, error) {
	var (
		c                storage.AuthCode
		scopes, claims   string
		authTime, expiry sql.NullInt64
	)
	err := row.Scan(&c.ID, &c.ClientID, &c.RedirectURI, &c.Nonce, &scopes, &c.ConnectorID, &c.ConnectorData,
		&claims, &c.CodeChallenge, &c.CodeChallengeMethod, &authTime, &expiry,
		&c.Redeemed, &c.GrantID, &c.SessionID)
	if err != nil {
		return storage.AuthCode{}, err
	}
	if err := decodeAll(scopes, &c.Scopes, claims, &c.Claims); err != nil {
		return storage.AuthCode{}, err
	}
	c.AuthTime, c.Expiry = timeFrom(authTime), timeFrom(expiry)
	return c, nil
}

func refreshArgs(r storage.RefreshToken) ([]any, error) {
	return []any{
		r.ID, r.FamilyID, r.ClientID, stringsValue(r.Scopes), r.Nonce, r.ConnectorID, blobValue(r.ConnectorData),
		claimsValue(r.Claims), timeValue(r.FamilyCreatedAt), timeValue(r.CreatedAt), timeValue(r.LastUsed),
		timeValue(r.RotatedAt), timeValue(r.Expiry), r.SessionID, timeValue(r.AuthTime), blobValue(r.SuccessorSeed),
	}, nil
}

func scanRefresh(row rowScanner) (storage.RefreshToken, error) {
	var (
		r                                                     storage.RefreshToken
		scopes, claims                                        string
		familyCreatedAt, createdAt, lastUsed, rotated, expiry sql.NullInt64
		authTime                                              sql.NullInt64
	)
	err := row.Scan(&r.ID, &r.FamilyID, &r.ClientID, &scopes, &r.Nonce, &r.ConnectorID, &r.ConnectorData,
		&claims, &familyCreatedAt, &createdAt, &lastUsed, &rotated, &expiry, &r.SessionID, &authTime, &r.SuccessorSeed)
	if err != nil {
		return storage.RefreshToken{}, err
	}
	if err := errors.Join(stringsFrom(scopes, &r.Scopes), claimsFrom(claims, &r.Claims)); err != nil {
		return storage.RefreshToken{}, err
	}
	r.FamilyCreatedAt, r.CreatedAt, r.LastUsed = timeFrom(familyCreatedAt), timeFrom(createdAt), timeFrom(lastUsed)
	r.RotatedAt, r.Expiry, r.AuthTime = timeFrom(rotated), timeFrom(expiry), timeFrom(authTime)
	return r, nil
}

func (k *kinds) prepare(ctx context.Context, writer, reader *sql.DB) error {
	return errors.Join(
		k.authRequests.prepare(ctx, writer, reader),
		k.authCodes.prepare(ctx, writer, reader),
		k.refresh.prepare(ctx, writer, reader),
		k.clients.prepare(ctx, writer, reader),
		k.passwords.prepare(ctx, writer, reader),
		k.sessions.prepare(ctx, writer, reader),
		k.devices.prepare(ctx, writer, reader),
		k.logouts.prepare(ctx, writer, reader),
	)
}

func (k *kinds) close() error {
	return errors.Join(k.authRequests.close(), k.authCodes.close(), k.refresh.close(), k.clients.close(), k.passwords.close(), k.sessions.close(), k.devices.close(), k.logouts.close())
}

// decodeAll decodes pairs of (JSON text, destination).
func decodeAll(pairs ...any) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := jsonFrom(pairs[i].(string), pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// CreateAuthRequest stores a; storage.ErrAlreadyExists if the id is taken.
func (s *Storage) CreateAuthRequest(ctx context.Context, a storage.AuthRequest) error {
	return s.kinds.authRequests.create(ctx, s, a)
}

// GetAuthRequest returns the request or storage.ErrNotFound.
func (s *Storage) GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	return s.kinds.authRequests.get(ctx, id)
}

// UpdateAuthRequest applies update in an immediate transaction.
func (s *Storage) UpdateAuthRequest(ctx context.Context, id string, update func(storage.AuthRequest) (storage.AuthRequest, error)) error {
	return s.kinds.authRequests.update(ctx, s, id, update)
}

// DeleteAuthRequest removes the request or reports storage.ErrNotFound.
func (s *Storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.kinds.authRequests.delete(ctx, s, id)
}

// CreateAuthCode stores c; storage.ErrAlreadyExists if the id is taken.
func (s *Storage) CreateAuthCode(ctx context.Context, c storage.AuthCode) error {
	return s.kinds.authCodes.create(ctx, s, c)
}

// GetAuthCode returns the code or storage.ErrNotFound.
func (s *Storage) GetAuthCode(ctx context.Context, id string) (storage.AuthCode, error) {
	return s.kinds.authCodes.get(ctx, id)
}

// UpdateAuthCode applies update in an immediate transaction.
func (s *Storage) UpdateAuthCode(ctx context.Context, id string, update func(storage.AuthCode) (storage.AuthCode, error)) error {
	return s.kinds.authCodes.update(ctx, s, id, update)
}

// DeleteAuthCode removes the code or reports storage.ErrNotFound.
func (s *Storage) DeleteAuthCode(ctx context.Context, id string) error {
	return s.kinds.authCodes.delete(ctx, s, id)
}

// CreateRefresh stores r; storage.ErrAlreadyExists if the id is taken.
func (s *Storage) CreateRefresh(ctx context.Context, r storage.RefreshToken) error {
	return s.kinds.refresh.create(ctx, s, r)
}

// GetRefresh returns the token or storage.ErrNotFound. It reads on the
// writer's connection, between group transactions, not on the reader pool:
// SQLite drops a connection's whole page cache when it starts a read after
// another connection committed, so with rotations committing all the time
// every reader lookup re-read the index and table from the root (two to
// four levels each with a million tokens, most of a lookup's cost), while
// the writer's cache stays valid and holds those pages, and the token a
// refresh presents is usually one this process wrote. The lookup is a few
// microseconds of the writer's time and is followed by a write anyway.
func (s *Storage) GetRefresh(ctx context.Context, id string) (storage.RefreshToken, error) {
	k := &s.kinds.refresh
	v, err := k.scan(k.selectW.QueryRowContext(ctx, id))
	return v, k.wrap(err)
}

// UpdateRefresh applies update in an immediate transaction.
func (s *Storage) UpdateRefresh(ctx context.Context, id string, update func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	return s.kinds.refresh.update(ctx, s, id, update)
}

// DeleteRefresh removes the token or reports storage.ErrNotFound.
func (s *Storage) DeleteRefresh(ctx context.Context, id string) error {
	return s.kinds.refresh.delete(ctx, s, id)
}
