package storage

import "context"

// Client is an OAuth2 client created at run time (through the admin API).
// Clients from the config's staticClients are not stored.
type Client struct {
	ID string
	// SecretHash is the hashed secret (see internal/secret); nil for a
	// public client. The secret itself is never stored.
	SecretHash   []byte
	RedirectURIs []string
	TrustedPeers []string
	Public       bool
	Name         string
	LogoURL      string
	// PostLogoutRedirectURIs are where /logout may send the browser back
	// to (exact match).
	PostLogoutRedirectURIs []string
	// BackchannelLogoutURI receives Logout Tokens ("" for none);
	// BackchannelLogoutSessionRequired says the client needs sid in them.
	BackchannelLogoutURI             string
	BackchannelLogoutSessionRequired bool
}

// ClientStore keeps the dynamic clients. Every replica reads them from the
// backend on each request, so a change is seen everywhere at once.
type ClientStore interface {
	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	UpdateClient(ctx context.Context, id string, update func(Client) (Client, error)) error
	DeleteClient(ctx context.Context, id string) error
	// ListClients returns every stored client, ordered by id.
	ListClients(ctx context.Context) ([]Client, error)
}
