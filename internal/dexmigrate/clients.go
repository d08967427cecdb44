package dexmigrate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/torii-idp/torii/internal/secret"
	"github.com/torii-idp/torii/storage"
)

// importClients copies the clients Dex created through its gRPC API into
// torii's client storage, hashing their secrets (Dex kept them in clear).
// It returns the IDs that are (or, in a dry run, would be) stored.
func importClients(ctx context.Context, cs []Client, store storage.Storage, o Options, rep *Report) (map[string]bool, error) {
	have := map[string]bool{}
	for _, c := range cs {
		item := Item{Kind: KindClient, ID: c.ID, Detail: fmt.Sprintf("%q", c.Name)}
		if o.Clients[c.ID] {
			rep.add(item, Skipped, "also a static client in torii's config, which wins")
			continue
		}
		if _, err := store.GetClient(ctx, c.ID); err == nil {
			have[c.ID] = true
			rep.add(item, Unchanged, "already in torii's client storage")
			continue
		} else if !errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("torii storage: %w", err)
		}
		sc := storage.Client{ID: c.ID, RedirectURIs: c.RedirectURIs, TrustedPeers: c.TrustedPeers, Public: c.Public, Name: c.Name, LogoURL: c.LogoURL}
		if !c.Public {
			// Dex's secrets may have been chosen by a person: bcrypt.
			h, err := secret.HashChosen(c.Secret)
			if err != nil {
				rep.add(item, Skipped, "its secret cannot be kept: "+err.Error())
				continue
			}
			sc.SecretHash = h
		}
		have[c.ID] = true
		if o.DryRun {
			rep.add(item, Imported, "")
			continue
		}
		if err := store.CreateClient(ctx, sc); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
			return nil, fmt.Errorf("torii storage: %w", err)
		}
		rep.add(item, Imported, "secret stored hashed")
	}
	return have, nil
}

// importPasswords copies Dex's stored password-database users.
func importPasswords(ctx context.Context, ps []Password, store storage.Storage, o Options, rep *Report) error {
	for _, p := range ps {
		item := Item{Kind: KindPassword, ID: p.Email}
		switch {
		case !o.Connectors[o.PasswordConnector] || o.PasswordConnector == "":
			rep.add(item, Skipped, "torii's password database is off (enablePasswordDB)")
			continue
		case o.StaticUsers[storage.PasswordKey(p.Email)]:
			rep.add(item, Skipped, "also in torii's staticPasswords, which win")
			continue
		}
		if _, err := store.GetPassword(ctx, p.Email); err == nil {
			rep.add(item, Unchanged, "already in torii's password storage")
			continue
		} else if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("torii storage: %w", err)
		}
		reason := ""
		var lost []string
		if len(p.Groups) > 0 {
			lost = append(lost, "groups")
		}
		if p.Name != "" {
			lost = append(lost, "name")
		}
		if p.PreferredUsername != "" {
			lost = append(lost, "preferredUsername")
		}
		if len(lost) > 0 {
			reason = "torii's stored users have no " + strings.Join(lost, ", ") + ": not kept"
		}
		if o.DryRun {
			rep.add(item, Imported, reason)
			continue
		}
		err := store.CreatePassword(ctx, storage.Password{Email: p.Email, Hash: p.Hash, Username: p.Username, UserID: p.UserID})
		if err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
			return fmt.Errorf("torii storage: %w", err)
		}
		rep.add(item, Imported, reason)
	}
	return nil
}
