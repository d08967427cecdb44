package adminapi

import (
	"context"
	"errors"
	"fmt"

	api "github.com/dexidp/dex/api/v2"
	"golang.org/x/crypto/bcrypt"

	"github.com/torii-idp/torii/connector/static"
	"github.com/torii-idp/torii/storage"
)

// Dex's messages for static passwords, which live in the config.
const (
	staticPasswordCreate = "static passwords: read-only cannot create password"
	staticPasswordUpdate = "static passwords: read-only cannot update password"
	staticPasswordDelete = "static passwords: read-only cannot delete password"
)

// recCost is the cost Dex recommends when a hash is too dear.
const recCost = 12

// checkCost refuses hashes Dex would refuse (and that the login would).
func checkCost(hash []byte) error {
	cost, err := bcrypt.Cost(hash)
	if err != nil {
		return fmt.Errorf("parsing bcrypt hash: %v", err)
	}
	if cost < static.MinCost {
		return fmt.Errorf("given hash cost = %d does not meet minimum cost requirement = %d", cost, static.MinCost)
	}
	if cost > static.MaxCost {
		return fmt.Errorf("given hash cost = %d is above upper bound cost = %d, recommended cost = %d", cost, static.MaxCost, recCost)
	}
	return nil
}

func (s *Service) isStaticPassword(email string) bool {
	_, ok := s.passwords[static.NormalizeEmail(email)]
	return ok
}

// CreatePassword adds a user to the password database (enablePasswordDB).
func (s *Service) CreatePassword(ctx context.Context, req *api.CreatePasswordReq) (*api.CreatePasswordResp, error) {
	p := req.GetPassword()
	switch {
	case p == nil:
		return nil, errors.New("no password supplied")
	case p.GetUserId() == "":
		return nil, errors.New("no user ID supplied")
	case p.GetHash() == nil:
		return nil, errors.New("no hash of password supplied")
	}
	if err := checkCost(p.GetHash()); err != nil {
		return nil, err
	}
	// Dex does not check these; an empty or padded email could never log in.
	if p.GetEmail() == "" || static.NormalizeEmail(p.GetEmail()) != storage.PasswordKey(p.GetEmail()) {
		return nil, errors.New("create password: the email must be non-empty without surrounding spaces")
	}
	if len(p.GetEmail()) > maxTextLen || len(p.GetUsername()) > maxTextLen || len(p.GetUserId()) > maxIDLen {
		return nil, fmt.Errorf("create password: the email and username may be at most %d bytes, the user ID %d", maxTextLen, maxIDLen)
	}
	if s.isStaticPassword(p.GetEmail()) {
		return nil, fmt.Errorf("create password: %s", staticPasswordCreate)
	}
	for _, u := range s.c.StaticPasswords {
		if u.UserID == p.GetUserId() {
			return nil, fmt.Errorf("create password: user ID %q belongs to a static password", p.GetUserId())
		}
	}
	err := s.c.Storage.CreatePassword(ctx, storage.Password{
		Email: p.GetEmail(), Hash: p.GetHash(), Username: p.GetUsername(), UserID: p.GetUserId(),
	})
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		return &api.CreatePasswordResp{AlreadyExists: true}, nil
	case err != nil:
		return nil, s.internal(ctx, "create password", err)
	}
	s.audit(ctx, "password created", "user_id", p.GetUserId())
	return &api.CreatePasswordResp{}, nil
}

// UpdatePassword changes a stored user's hash and/or username.
func (s *Service) UpdatePassword(ctx context.Context, req *api.UpdatePasswordReq) (*api.UpdatePasswordResp, error) {
	if req.GetEmail() == "" {
		return nil, errors.New("no email supplied")
	}
	if req.NewHash == nil && req.GetNewUsername() == "" {
		return nil, errors.New("nothing to update")
	}
	if len(req.GetNewUsername()) > maxTextLen {
		return nil, fmt.Errorf("update password: the username may be at most %d bytes", maxTextLen)
	}
	if req.NewHash != nil {
		if err := checkCost(req.NewHash); err != nil {
			return nil, err
		}
	}
	if s.isStaticPassword(req.GetEmail()) {
		return nil, fmt.Errorf("update password: %s", staticPasswordUpdate)
	}
	var userID string
	err := s.c.Storage.UpdatePassword(ctx, req.GetEmail(), func(p storage.Password) (storage.Password, error) {
		if req.NewHash != nil {
			p.Hash = req.NewHash
		}
		if req.GetNewUsername() != "" {
			p.Username = req.GetNewUsername()
		}
		userID = p.UserID
		return p, nil
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return &api.UpdatePasswordResp{NotFound: true}, nil
	case err != nil:
		return nil, s.internal(ctx, "update password", err)
	}
	s.audit(ctx, "password updated", "user_id", userID, "hash_changed", req.NewHash != nil)
	return &api.UpdatePasswordResp{}, nil
}

// DeletePassword removes a stored user. Their refresh tokens are refused
// at the next use (the connector no longer knows them).
func (s *Service) DeletePassword(ctx context.Context, req *api.DeletePasswordReq) (*api.DeletePasswordResp, error) {
	if req.GetEmail() == "" {
		return nil, errors.New("no email supplied")
	}
	if s.isStaticPassword(req.GetEmail()) {
		return nil, fmt.Errorf("delete password: %s", staticPasswordDelete)
	}
	err := s.c.Storage.DeletePassword(ctx, req.GetEmail())
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return &api.DeletePasswordResp{NotFound: true}, nil
	case err != nil:
		return nil, s.internal(ctx, "delete password", err)
	}
	s.audit(ctx, "password deleted")
	return &api.DeletePasswordResp{}, nil
}

// ListPasswords lists the stored users, then the static ones, without
// hashes (as Dex).
func (s *Service) ListPasswords(ctx context.Context, _ *api.ListPasswordReq) (*api.ListPasswordResp, error) {
	stored, err := s.c.Storage.ListPasswords(ctx)
	if err != nil {
		return nil, s.internal(ctx, "list passwords", err)
	}
	resp := &api.ListPasswordResp{Passwords: make([]*api.Password, 0, len(stored)+len(s.c.StaticPasswords))}
	for _, p := range stored {
		if !s.isStaticPassword(p.Email) {
			resp.Passwords = append(resp.Passwords, &api.Password{Email: p.Email, Username: p.Username, UserId: p.UserID})
		}
	}
	for _, u := range s.c.StaticPasswords {
		resp.Passwords = append(resp.Passwords, &api.Password{Email: u.Email, Username: u.Username, UserId: u.UserID})
	}
	return resp, nil
}

// VerifyPassword checks a password of a static or stored user.
func (s *Service) VerifyPassword(ctx context.Context, req *api.VerifyPasswordReq) (*api.VerifyPasswordResp, error) {
	if req.GetEmail() == "" {
		return nil, errors.New("no email supplied")
	}
	if req.GetPassword() == "" {
		return nil, errors.New("no password to verify supplied")
	}
	var hash []byte
	if u, ok := s.passwords[static.NormalizeEmail(req.GetEmail())]; ok {
		hash = u.Hash
	} else {
		p, err := s.c.Storage.GetPassword(ctx, static.NormalizeEmail(req.GetEmail()))
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return &api.VerifyPasswordResp{NotFound: true}, nil
		case err != nil:
			return nil, s.internal(ctx, "verify password", err)
		}
		hash = p.Hash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(req.GetPassword())) != nil {
		s.c.Logger.InfoContext(ctx, "admin api: password check failed")
		return &api.VerifyPasswordResp{}, nil
	}
	return &api.VerifyPasswordResp{Verified: true}, nil
}
