package server

import (
	"context"
	"crypto/subtle"
	"errors"

	"github.com/torii-idp/torii/internal/secret"
	"github.com/torii-idp/torii/storage"
)

// ClientSource is where clients not listed in the config come from (the
// ones created through the admin API). Get returns storage.ErrNotFound for
// an unknown id.
type ClientSource interface {
	Client(ctx context.Context, id string) (Client, error)
}

// clientLookup is the one way every handler finds a client: static clients
// from the config first, then the dynamic source. Nothing is cached, so a
// client created, changed or deleted on one replica is seen by all of them
// on the next request.
type clientLookup struct {
	static  map[string]Client
	dynamic ClientSource // nil: static clients only
}

func newClientLookup(static []Client, dynamic ClientSource) *clientLookup {
	m := make(map[string]Client, len(static))
	for _, cl := range static {
		m[cl.ID] = cl
	}
	return &clientLookup{static: m, dynamic: dynamic}
}

// get returns the client; ok is false for an unknown id. err is a backend
// failure, never "not found".
func (l *clientLookup) get(ctx context.Context, id string) (c Client, ok bool, err error) {
	if c, ok := l.static[id]; ok {
		return c, true, nil
	}
	if l.dynamic == nil || id == "" {
		return Client{}, false, nil
	}
	c, err = l.dynamic.Client(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return Client{}, false, nil
	case err != nil:
		return Client{}, false, err
	}
	return c, true, nil
}

// verifySecret checks a presented secret: in constant time against a
// static client's secret, or against the stored hash of a dynamic one.
func (c Client) verifySecret(s string) bool {
	if c.SecretHash != nil {
		return secret.Verify(c.SecretHash, s)
	}
	return c.Secret != "" && subtle.ConstantTimeCompare([]byte(s), []byte(c.Secret)) == 1
}

// storedClients is the ClientSource of clients kept in storage.
type storedClients struct{ store storage.ClientStore }

func (s storedClients) Client(ctx context.Context, id string) (Client, error) {
	c, err := s.store.GetClient(ctx, id)
	if err != nil {
		return Client{}, err
	}
	return Client{
		ID: c.ID, SecretHash: c.SecretHash, Name: c.Name, RedirectURIs: c.RedirectURIs,
		TrustedPeers: c.TrustedPeers, Public: c.Public, LogoURL: c.LogoURL,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, BackchannelLogoutURI: c.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired: c.BackchannelLogoutSessionRequired,
	}, nil
}
