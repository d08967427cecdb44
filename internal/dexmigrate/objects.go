package dexmigrate

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// ObjectSource lists the custom resources of Dex's kubernetes storage
// (storage/kubernetes.DexObjects). List calls fn with each object of a
// kind as JSON; reset, if the listing has to start again, means forget
// what fn was given so far.
type ObjectSource interface {
	List(ctx context.Context, plural string, reset func(), fn func(raw []byte) error) error
}

// dexKeysName is the one object of kind signingkeies Dex writes.
const dexKeysName = "openid-connect-keys"

// ReadObjects takes a Snapshot of Dex's kubernetes storage: the same
// snapshot Read takes of its SQL tables, from Dex v2's objects in
// dex.coreos.com. Object names are Dex's business (hashes for clients and
// passwords): everything is taken from list results, never looked up by a
// name rebuilt here. It only lists.
func ReadObjects(ctx context.Context, src ObjectSource) (Snapshot, error) {
	var s Snapshot
	steps := []struct {
		plural string
		read   func(raw []byte, s *Snapshot) error
		reset  func(s *Snapshot)
	}{
		{"signingkeies", decodeKeysObject, func(s *Snapshot) { s.Keys = nil }},
		{"refreshtokens", decodeRefreshObject, func(s *Snapshot) { s.RefreshTokens = nil }},
		{"oauth2clients", decodeClientObject, func(s *Snapshot) { s.Clients = nil }},
		{"passwords", decodePasswordObject, func(s *Snapshot) { s.Passwords = nil }},
		{"offlinesessionses", func(_ []byte, s *Snapshot) error { s.OfflineSessions++; return nil }, func(s *Snapshot) { s.OfflineSessions = 0 }},
		{"connectors", decodeConnectorObject, func(s *Snapshot) { s.Connectors = nil }},
	}
	for _, st := range steps {
		err := src.List(ctx, st.plural, func() { st.reset(&s) }, func(raw []byte) error { return st.read(raw, &s) })
		if err != nil {
			return Snapshot{}, fmt.Errorf("dex storage: %s: %w", st.plural, err)
		}
	}
	// Lists come in name order, and names are hashes: sort by ID as the
	// SQL reader does, so reports read the same.
	slices.SortFunc(s.RefreshTokens, func(a, b RefreshToken) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(s.Clients, func(a, b Client) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(s.Passwords, func(a, b Password) int { return cmp.Compare(a.Email, b.Email) })
	slices.SortFunc(s.Connectors, func(a, b Connector) int { return cmp.Compare(a.ID, b.ID) })
	return s, nil
}

// objectMeta is the part of an object's metadata the import uses.
type objectMeta struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

// dexKeysObject is Dex's SigningKey object. Its private signingKey is
// left out on purpose: it is never decoded, so never held.
type dexKeysObject struct {
	objectMeta
	SigningKeyPub    json.RawMessage `json:"signingKeyPub"`
	VerificationKeys []struct {
		PublicKey json.RawMessage `json:"publicKey"`
		Expiry    time.Time       `json:"expiry"`
	} `json:"verificationKeys"`
	NextRotation time.Time `json:"nextRotation"`
}

func decodeKeysObject(raw []byte, s *Snapshot) error {
	var o dexKeysObject
	if err := json.Unmarshal(raw, &o); err != nil {
		return objectError(raw, err)
	}
	if o.Metadata.Name != dexKeysName {
		return nil // not Dex's: Dex keeps exactly one, under this name
	}
	k := &Keys{NextRotation: o.NextRotation.UTC()}
	if !isJSONNull(o.SigningKeyPub) {
		k.SigningKeyPub = o.SigningKeyPub
	}
	for _, v := range o.VerificationKeys {
		k.VerificationKeys = append(k.VerificationKeys, VerificationKey{JWK: v.PublicKey, Expiry: v.Expiry.UTC()})
	}
	s.Keys = k
	return nil
}

// dexRefreshObject is Dex's RefreshToken object: the refresh ID is the
// object's name; CreatedAt and LastUsed have no JSON tags in Dex, so
// they are spelt as Go fields.
type dexRefreshObject struct {
	objectMeta
	CreatedAt     time.Time `json:"CreatedAt"`
	LastUsed      time.Time `json:"LastUsed"`
	ClientID      string    `json:"clientID"`
	Scopes        []string  `json:"scopes"`
	Token         string    `json:"token"`
	ObsoleteToken string    `json:"obsoleteToken"`
	Nonce         string    `json:"nonce"`
	Claims        struct {
		UserID            string   `json:"userID"`
		Username          string   `json:"username"`
		PreferredUsername string   `json:"preferredUsername"`
		Email             string   `json:"email"`
		EmailVerified     bool     `json:"emailVerified"`
		Groups            []string `json:"groups"`
	} `json:"claims"`
	ConnectorID   string `json:"connectorID"`
	ConnectorData []byte `json:"connectorData"`
}

func decodeRefreshObject(raw []byte, s *Snapshot) error {
	var o dexRefreshObject
	if err := json.Unmarshal(raw, &o); err != nil {
		return objectError(raw, err)
	}
	if o.Metadata.Name == "" {
		return fmt.Errorf("an object without a name")
	}
	s.RefreshTokens = append(s.RefreshTokens, RefreshToken{
		ID: o.Metadata.Name, Token: o.Token, ObsoleteToken: o.ObsoleteToken,
		CreatedAt: o.CreatedAt.UTC(), LastUsed: o.LastUsed.UTC(),
		ClientID: o.ClientID, Scopes: o.Scopes, Nonce: o.Nonce,
		ConnectorID: o.ConnectorID, ConnectorData: o.ConnectorData,
		UserID: o.Claims.UserID, Username: o.Claims.Username, PreferredUsername: o.Claims.PreferredUsername,
		Email: o.Claims.Email, EmailVerified: o.Claims.EmailVerified, Groups: o.Claims.Groups,
	})
	return nil
}

// dexClientObject is Dex's OAuth2Client object (its name is a hash of the
// ID; the ID is a field).
type dexClientObject struct {
	objectMeta
	ID           string   `json:"id"`
	Secret       string   `json:"secret"`
	RedirectURIs []string `json:"redirectURIs"`
	TrustedPeers []string `json:"trustedPeers"`
	Public       bool     `json:"public"`
	Name         string   `json:"name"`
	LogoURL      string   `json:"logoURL"`
}

func decodeClientObject(raw []byte, s *Snapshot) error {
	var o dexClientObject
	if err := json.Unmarshal(raw, &o); err != nil {
		return objectError(raw, err)
	}
	if o.ID == "" {
		return fmt.Errorf("object %s has no id", o.Metadata.Name)
	}
	s.Clients = append(s.Clients, Client{ID: o.ID, Secret: o.Secret, RedirectURIs: o.RedirectURIs,
		TrustedPeers: o.TrustedPeers, Public: o.Public, Name: o.Name, LogoURL: o.LogoURL})
	return nil
}

// dexPasswordObject is Dex's Password object (named by a hash of the
// lowercased email; the hash is base64 in JSON, as []byte is).
type dexPasswordObject struct {
	objectMeta
	Email             string   `json:"email"`
	Hash              []byte   `json:"hash"`
	Username          string   `json:"username"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferredUsername"`
	EmailVerified     *bool    `json:"emailVerified"`
	UserID            string   `json:"userID"`
	Groups            []string `json:"groups"`
}

func decodePasswordObject(raw []byte, s *Snapshot) error {
	var o dexPasswordObject
	if err := json.Unmarshal(raw, &o); err != nil {
		return objectError(raw, err)
	}
	if o.Email == "" {
		return fmt.Errorf("object %s has no email", o.Metadata.Name)
	}
	s.Passwords = append(s.Passwords, Password{Email: o.Email, Hash: o.Hash, Username: o.Username, UserID: o.UserID,
		PreferredUsername: o.PreferredUsername, Name: o.Name, Groups: o.Groups, EmailVerified: o.EmailVerified})
	return nil
}

type dexConnectorObject struct {
	objectMeta
	ID   string `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
}

func decodeConnectorObject(raw []byte, s *Snapshot) error {
	var o dexConnectorObject
	if err := json.Unmarshal(raw, &o); err != nil {
		return objectError(raw, err)
	}
	id := cmp.Or(o.ID, o.Metadata.Name) // Dex names connector objects by their ID
	s.Connectors = append(s.Connectors, Connector{ID: id, Type: o.Type, Name: o.Name})
	return nil
}

// objectError names the object that could not be read (by its name,
// which for Dex is an ID or a hash, never a secret).
func objectError(raw []byte, err error) error {
	var m objectMeta
	if json.Unmarshal(raw, &m) == nil && m.Metadata.Name != "" {
		return fmt.Errorf("object %s: %w", m.Metadata.Name, err)
	}
	return fmt.Errorf("unreadable object: %w", err)
}

func isJSONNull(b json.RawMessage) bool {
	return len(b) == 0 || string(b) == "null"
}
