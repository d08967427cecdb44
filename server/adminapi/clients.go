package adminapi

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"

	api "github.com/dexidp/dex/api/v2"

	"github.com/torii-idp/torii/internal/secret"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
)

// newID is a random id in Dex's form (26 lower-case base32 characters).
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Bounds on what a client may hold (ids appear in URLs and tokens).
const (
	maxIDLen   = 255
	maxURIs    = 100
	maxTextLen = 2048
)

// Dex's messages for static records, which live in the config.
const (
	staticClientCreate = "static clients: read-only cannot create client"
	staticClientUpdate = "static clients: read-only cannot update client"
	staticClientDelete = "static clients: read-only cannot delete client"
)

// errNotFound is Dex's answer to GetClient of an unknown id: an error, not
// a flag (its storage's "not found").
var errNotFound = errors.New("not found")

// GetClient returns a client. A client created through the API comes back
// without its secret: torii keeps only a hash of it.
func (s *Service) GetClient(ctx context.Context, req *api.GetClientReq) (*api.GetClientResp, error) {
	if c, ok := s.clients[req.GetId()]; ok {
		return &api.GetClientResp{Client: staticClient(c)}, nil
	}
	c, err := s.c.Storage.GetClient(ctx, req.GetId())
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, errNotFound
	case err != nil:
		return nil, s.internal(ctx, "get client", err)
	}
	return &api.GetClientResp{Client: storedClient(c)}, nil
}

// CreateClient stores a new client. Without an id one is generated; a
// confidential client without a secret gets a generated one, returned in
// the response once.
func (s *Service) CreateClient(ctx context.Context, req *api.CreateClientReq) (*api.CreateClientResp, error) {
	in := req.GetClient()
	if in == nil {
		return nil, errors.New("no client supplied")
	}
	out := &api.Client{
		Id: in.GetId(), Secret: in.GetSecret(), RedirectUris: in.GetRedirectUris(), TrustedPeers: in.GetTrustedPeers(),
		Public: in.GetPublic(), Name: in.GetName(), LogoUrl: in.GetLogoUrl(),
	}
	if out.Id == "" {
		out.Id = newID()
	}
	if err := validClient(out.Id, out.RedirectUris, out.TrustedPeers, out.Name, out.LogoUrl); err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	if _, ok := s.clients[out.Id]; ok {
		return nil, fmt.Errorf("create client: %s", staticClientCreate)
	}
	if out.Id == server.BuiltinClientID {
		// torii's own pages' client would shadow it.
		return nil, fmt.Errorf("create client: the client ID %q is reserved for torii's own pages", out.Id)
	}
	c := storage.Client{
		ID: out.Id, RedirectURIs: out.RedirectUris, TrustedPeers: out.TrustedPeers,
		Public: out.Public, Name: out.Name, LogoURL: out.LogoUrl,
	}
	switch {
	case out.Public:
		out.Secret = "" // a public client authenticates with PKCE, not a secret
	case out.Secret == "":
		out.Secret = secret.Generate()
		c.SecretHash = secret.HashGenerated(out.Secret)
	default:
		h, err := secret.HashChosen(out.Secret)
		if err != nil {
			return nil, fmt.Errorf("create client: %w", err)
		}
		c.SecretHash = h
	}
	if err := s.c.Storage.CreateClient(ctx, c); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return &api.CreateClientResp{AlreadyExists: true}, nil
		}
		return nil, s.internal(ctx, "create client", err)
	}
	s.audit(ctx, "client created", "client_id", c.ID, "public", c.Public)
	return &api.CreateClientResp{Client: out}, nil
}

// UpdateClient changes redirect URIs and trusted peers (when given, even
// empty) and the name and logo (when not empty), as Dex does.
func (s *Service) UpdateClient(ctx context.Context, req *api.UpdateClientReq) (*api.UpdateClientResp, error) {
	if req.GetId() == "" {
		return nil, errors.New("update client: no client ID supplied")
	}
	if _, ok := s.clients[req.GetId()]; ok {
		return nil, fmt.Errorf("update client: %s", staticClientUpdate)
	}
	if err := validClient(req.GetId(), req.GetRedirectUris(), req.GetTrustedPeers(), req.GetName(), req.GetLogoUrl()); err != nil {
		return nil, fmt.Errorf("update client: %w", err)
	}
	err := s.c.Storage.UpdateClient(ctx, req.GetId(), func(c storage.Client) (storage.Client, error) {
		if req.RedirectUris != nil {
			c.RedirectURIs = req.RedirectUris
		}
		if req.TrustedPeers != nil {
			c.TrustedPeers = req.TrustedPeers
		}
		if req.Name != "" {
			c.Name = req.Name
		}
		if req.LogoUrl != "" {
			c.LogoURL = req.LogoUrl
		}
		return c, nil
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return &api.UpdateClientResp{NotFound: true}, nil
	case err != nil:
		return nil, s.internal(ctx, "update client", err)
	}
	s.audit(ctx, "client updated", "client_id", req.GetId())
	return &api.UpdateClientResp{}, nil
}

// DeleteClient removes a client created through the API. Its refresh
// tokens stay until they are used (and refused: the client is gone).
func (s *Service) DeleteClient(ctx context.Context, req *api.DeleteClientReq) (*api.DeleteClientResp, error) {
	if _, ok := s.clients[req.GetId()]; ok {
		return nil, fmt.Errorf("delete client: %s", staticClientDelete)
	}
	err := s.c.Storage.DeleteClient(ctx, req.GetId())
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return &api.DeleteClientResp{NotFound: true}, nil
	case err != nil:
		return nil, s.internal(ctx, "delete client", err)
	}
	s.audit(ctx, "client deleted", "client_id", req.GetId())
	return &api.DeleteClientResp{}, nil
}

// ListClients lists the stored clients, then the static ones (Dex's order).
func (s *Service) ListClients(ctx context.Context, _ *api.ListClientReq) (*api.ListClientResp, error) {
	stored, err := s.c.Storage.ListClients(ctx)
	if err != nil {
		return nil, s.internal(ctx, "list clients", err)
	}
	resp := &api.ListClientResp{Clients: make([]*api.ClientInfo, 0, len(stored)+len(s.c.StaticClients))}
	for _, c := range stored {
		if _, shadowed := s.clients[c.ID]; !shadowed {
			resp.Clients = append(resp.Clients, info(storedClient(c)))
		}
	}
	for _, c := range s.c.StaticClients {
		resp.Clients = append(resp.Clients, info(staticClient(c)))
	}
	return resp, nil
}

func staticClient(c server.Client) *api.Client {
	return &api.Client{Id: c.ID, Secret: c.Secret, RedirectUris: slices.Clone(c.RedirectURIs), TrustedPeers: slices.Clone(c.TrustedPeers),
		Public: c.Public, Name: c.Name, LogoUrl: c.LogoURL}
}

func storedClient(c storage.Client) *api.Client {
	return &api.Client{Id: c.ID, RedirectUris: c.RedirectURIs, TrustedPeers: c.TrustedPeers,
		Public: c.Public, Name: c.Name, LogoUrl: c.LogoURL}
}

func info(c *api.Client) *api.ClientInfo {
	return &api.ClientInfo{Id: c.Id, RedirectUris: c.RedirectUris, TrustedPeers: c.TrustedPeers,
		Public: c.Public, Name: c.Name, LogoUrl: c.LogoUrl}
}

// validClient checks what Dex does not: a client the server could not use
// (an unusable redirect URI, an empty peer) is refused when it is created.
func validClient(id string, redirects, peers []string, name, logo string) error {
	var errs []error
	if len(id) > maxIDLen {
		errs = append(errs, fmt.Errorf("client ID is longer than %d bytes", maxIDLen))
	}
	if len(redirects) > maxURIs || len(peers) > maxURIs {
		errs = append(errs, fmt.Errorf("at most %d redirect URIs and %d trusted peers", maxURIs, maxURIs))
	}
	if len(name) > maxTextLen || len(logo) > maxTextLen {
		errs = append(errs, fmt.Errorf("the name and the logo URL may be at most %d bytes each", maxTextLen))
	}
	for _, u := range redirects {
		if err := server.ValidRedirectURI(u); err != nil {
			errs = append(errs, fmt.Errorf("redirect URI %q: %w", u, err))
		}
	}
	for _, p := range peers {
		if p == "" {
			errs = append(errs, errors.New("a trusted peer is empty"))
		}
	}
	return errors.Join(errs...)
}

// internal logs a storage failure and answers with Dex's "op: cause" error.
func (s *Service) internal(ctx context.Context, op string, err error) error {
	s.c.Logger.ErrorContext(ctx, "admin api: "+op+" failed", "err", err)
	return fmt.Errorf("%s: %v", op, err)
}
