package kubernetes

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/torii-idp/torii/storage"
)

// CreateAuthRequest stores a; a taken ID is storage.ErrAlreadyExists.
func (s *Storage) CreateAuthRequest(ctx context.Context, a storage.AuthRequest) error {
	return s.authRequests().create(ctx, a.ID, a, nil)
}

// GetAuthRequest returns the stored request.
func (s *Storage) GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	o, err := s.authRequests().get(ctx, id)
	return o.Spec, err
}

// UpdateAuthRequest applies update optimistically (retried on conflict).
func (s *Storage) UpdateAuthRequest(ctx context.Context, id string, update func(storage.AuthRequest) (storage.AuthRequest, error)) error {
	return s.authRequests().update(ctx, id, func(a storage.AuthRequest) (storage.AuthRequest, error) {
		a, err := update(a)
		a.ID = id
		return a, err
	}, nil)
}

// DeleteAuthRequest removes the request.
func (s *Storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.authRequests().delete(ctx, id)
}

// CreateAuthCode stores c.
func (s *Storage) CreateAuthCode(ctx context.Context, c storage.AuthCode) error {
	return s.authCodes().create(ctx, c.ID, c, nil)
}

// GetAuthCode returns the stored code.
func (s *Storage) GetAuthCode(ctx context.Context, id string) (storage.AuthCode, error) {
	o, err := s.authCodes().get(ctx, id)
	return o.Spec, err
}

// UpdateAuthCode applies update optimistically: of two replicas redeeming
// one code, the second sees it Redeemed.
func (s *Storage) UpdateAuthCode(ctx context.Context, id string, update func(storage.AuthCode) (storage.AuthCode, error)) error {
	return s.authCodes().update(ctx, id, func(c storage.AuthCode) (storage.AuthCode, error) {
		c, err := update(c)
		c.ID = id
		return c, err
	}, nil)
}

// DeleteAuthCode removes the code.
func (s *Storage) DeleteAuthCode(ctx context.Context, id string) error {
	return s.authCodes().delete(ctx, id)
}

func refreshLabels(r storage.RefreshToken) map[string]string {
	l := map[string]string{
		labelFamily: labelValue(r.FamilyID),
		labelUser:   labelValue(r.ConnectorID, r.Claims.UserID),
	}
	if r.SessionID != "" {
		l[labelSession] = labelValue(r.SessionID)
	}
	return l
}

// CreateRefresh stores r, labelled with its family and user.
func (s *Storage) CreateRefresh(ctx context.Context, r storage.RefreshToken) error {
	return s.refreshTokens().create(ctx, r.ID, r, refreshLabels(r))
}

// GetRefresh returns the stored token.
func (s *Storage) GetRefresh(ctx context.Context, id string) (storage.RefreshToken, error) {
	o, err := s.refreshTokens().get(ctx, id)
	return o.Spec, err
}

// UpdateRefresh applies update optimistically: of two replicas rotating
// one token, the second sees it rotated.
func (s *Storage) UpdateRefresh(ctx context.Context, id string, update func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	return s.refreshTokens().update(ctx, id, func(r storage.RefreshToken) (storage.RefreshToken, error) {
		r, err := update(r)
		r.ID = id
		return r, err
	}, refreshLabels)
}

// DeleteRefresh removes the token.
func (s *Storage) DeleteRefresh(ctx context.Context, id string) error {
	return s.refreshTokens().delete(ctx, id)
}

// ListUserRefresh returns the user's current tokens (one labelled list).
func (s *Storage) ListUserRefresh(ctx context.Context, userID, connectorID string) ([]storage.RefreshToken, error) {
	var out []storage.RefreshToken
	err := s.refreshTokens().each(ctx, labelUser+"="+labelValue(connectorID, userID), func(o object[storage.RefreshToken]) error {
		r := o.Spec
		if r.Claims.UserID == userID && r.ConnectorID == connectorID && r.RotatedAt.IsZero() {
			out = append(out, r)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b storage.RefreshToken) int {
		return cmp.Or(cmp.Compare(a.FamilyID, b.FamilyID), cmp.Compare(a.ID, b.ID))
	})
	return out, err
}

// CreateClient stores c.
func (s *Storage) CreateClient(ctx context.Context, c storage.Client) error {
	return s.clients().create(ctx, c.ID, c, nil)
}

// GetClient returns the stored client.
func (s *Storage) GetClient(ctx context.Context, id string) (storage.Client, error) {
	o, err := s.clients().get(ctx, id)
	return o.Spec, err
}

// UpdateClient applies update optimistically; the client keeps its id.
func (s *Storage) UpdateClient(ctx context.Context, id string, update func(storage.Client) (storage.Client, error)) error {
	return s.clients().update(ctx, id, func(c storage.Client) (storage.Client, error) {
		c, err := update(c)
		c.ID = id
		return c, err
	}, nil)
}

// DeleteClient removes the client.
func (s *Storage) DeleteClient(ctx context.Context, id string) error {
	return s.clients().delete(ctx, id)
}

// ListClients returns every client, by id.
func (s *Storage) ListClients(ctx context.Context) ([]storage.Client, error) {
	objs, err := s.clients().list(ctx, "")
	out := make([]storage.Client, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.Spec)
	}
	slices.SortFunc(out, func(a, b storage.Client) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

// CreatePassword stores p under its lower-cased email.
func (s *Storage) CreatePassword(ctx context.Context, p storage.Password) error {
	p.Email = storage.PasswordKey(p.Email)
	return s.passwords().create(ctx, p.Email, p, nil)
}

// GetPassword returns the password of email (any case).
func (s *Storage) GetPassword(ctx context.Context, email string) (storage.Password, error) {
	o, err := s.passwords().get(ctx, storage.PasswordKey(email))
	return o.Spec, err
}

// UpdatePassword applies update optimistically; the password keeps its email.
func (s *Storage) UpdatePassword(ctx context.Context, email string, update func(storage.Password) (storage.Password, error)) error {
	key := storage.PasswordKey(email)
	return s.passwords().update(ctx, key, func(p storage.Password) (storage.Password, error) {
		p, err := update(p)
		p.Email = key
		return p, err
	}, nil)
}

// DeletePassword removes the password of email (any case).
func (s *Storage) DeletePassword(ctx context.Context, email string) error {
	return s.passwords().delete(ctx, storage.PasswordKey(email))
}

// ListPasswords returns every password, by email.
func (s *Storage) ListPasswords(ctx context.Context) ([]storage.Password, error) {
	objs, err := s.passwords().list(ctx, "")
	out := make([]storage.Password, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.Spec)
	}
	slices.SortFunc(out, func(a, b storage.Password) int { return strings.Compare(a.Email, b.Email) })
	return out, err
}

func sessionLabels(ss storage.Session) map[string]string {
	return map[string]string{labelUser: labelValue(ss.ConnectorID, ss.Claims.UserID)}
}

// CreateSession stores ss, labelled with its user.
func (s *Storage) CreateSession(ctx context.Context, ss storage.Session) error {
	return s.sessions().create(ctx, ss.ID, ss, sessionLabels(ss))
}

// GetSession returns the stored session.
func (s *Storage) GetSession(ctx context.Context, id string) (storage.Session, error) {
	o, err := s.sessions().get(ctx, id)
	return o.Spec, err
}

// UpdateSession applies update optimistically.
func (s *Storage) UpdateSession(ctx context.Context, id string, update func(storage.Session) (storage.Session, error)) error {
	return s.sessions().update(ctx, id, func(ss storage.Session) (storage.Session, error) {
		ss, err := update(ss)
		ss.ID = id
		return ss, err
	}, sessionLabels)
}

// DeleteSession removes the session.
func (s *Storage) DeleteSession(ctx context.Context, id string) error {
	return s.sessions().delete(ctx, id)
}

// ListUserSessions returns the user's sessions, oldest first.
func (s *Storage) ListUserSessions(ctx context.Context, connectorID, userID string) ([]storage.Session, error) {
	var out []storage.Session
	err := s.sessions().each(ctx, labelUser+"="+labelValue(connectorID, userID), func(o object[storage.Session]) error {
		if o.Spec.ConnectorID == connectorID && o.Spec.Claims.UserID == userID {
			out = append(out, o.Spec)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b storage.Session) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return out, err
}

// DeleteUserSessions ends the user's sessions in one deletecollection.
func (s *Storage) DeleteUserSessions(ctx context.Context, connectorID, userID string) (int64, error) {
	return s.sessions().deleteAll(ctx, labelUser+"="+labelValue(connectorID, userID))
}

// CountSessions counts the sessions that have not expired at now, for the
// torii_sessions_live gauge (a background loop, once a minute: a paged
// list of the sessions, never a cost of a request).
func (s *Storage) CountSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.sessions().each(ctx, "", func(o object[storage.Session]) error {
		if e := o.Spec.Expiry(); !e.IsZero() && !e.Before(now) {
			n++
		}
		return nil
	})
	return n, err
}

// ListSessions pages through every session with the API server's own
// paging: the page token is its continue token (valid for a few minutes,
// then the list is "expired" and has to start again).
func (s *Storage) ListSessions(ctx context.Context, pageToken string, limit int) ([]storage.Session, string, error) {
	if err := storage.CheckPageLimit(limit); err != nil {
		return nil, "", err
	}
	page, err := s.sessions().page(ctx, pageToken, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]storage.Session, 0, len(page.Items))
	for _, o := range page.Items {
		out = append(out, o.Spec)
	}
	return out, page.Metadata.Continue, nil
}
