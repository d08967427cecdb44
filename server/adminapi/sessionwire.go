package adminapi

import (
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// The session messages as Go values. Times are Unix seconds, 0 for unset
// (as Dex sends them). User IDs are the connector's IDs of the user (the
// UserID of the identity, what Dex stores sessions under), not the sub.

// ClientAuthState is a client the session signed in to.
type ClientAuthState struct {
	ClientID          string `json:"clientID"`
	Active            bool   `json:"active"`
	ExpiresAt         int64  `json:"expiresAt"`
	LastActivity      int64  `json:"lastActivity,omitempty"`
	LastTokenIssuedAt int64  `json:"lastTokenIssuedAt,omitempty"`
}

// AuthSession is one browser session. ToriiID names it among the user's
// sessions (Dex keeps one per user and connector and has no such field).
type AuthSession struct {
	UserID         string            `json:"userID"`
	ConnectorID    string            `json:"connectorID"`
	ClientStates   []ClientAuthState `json:"clientStates"`
	CreatedAt      int64             `json:"createdAt"`
	LastActivity   int64             `json:"lastActivity"`
	IPAddress      string            `json:"ipAddress,omitempty"`
	UserAgent      string            `json:"userAgent,omitempty"`
	AbsoluteExpiry int64             `json:"absoluteExpiry"`
	IdleExpiry     int64             `json:"idleExpiry"`
	ToriiID        string            `json:"id"`
}

// GetAuthSessionReq asks for the user's session on a connector: the one
// ToriiID names, or the most recently used one.
type GetAuthSessionReq struct{ UserID, ConnectorID, ToriiID string }

// GetAuthSessionResp holds it.
type GetAuthSessionResp struct{ Session AuthSession }

// ListAuthSessionsReq lists the sessions of a user on every connector, or
// every session when UserID is empty.
type ListAuthSessionsReq struct{ UserID string }

// ListAuthSessionsResp holds them, oldest first per connector.
type ListAuthSessionsResp struct{ Sessions []AuthSession }

// DeleteAuthSessionReq ends the user's sessions on a connector, or only
// the one named by ToriiID.
type DeleteAuthSessionReq struct{ UserID, ConnectorID, ToriiID string }

// DeleteAuthSessionResp reports NotFound when there was nothing to end.
type DeleteAuthSessionResp struct{ NotFound bool }

// TerminateSessionsByConnectorReq ends every session on a connector.
type TerminateSessionsByConnectorReq struct{ ConnectorID string }

// TerminateSessionsByConnectorResp counts the sessions ended.
type TerminateSessionsByConnectorResp struct{ SessionsTerminated int64 }

// TerminateSessionsByUserReq ends every session of a user.
type TerminateSessionsByUserReq struct{ UserID string }

// TerminateSessionsByUserResp counts the sessions ended.
type TerminateSessionsByUserResp struct{ SessionsTerminated int64 }

// msg wraps a dynamic message for typed field access by name.
type msg struct{ m *dynamicpb.Message }

func (s *schema) new(name string) msg { return msg{dynamicpb.NewMessage(s.msg[name])} }

func (m msg) fd(name string) protoreflect.FieldDescriptor {
	return m.m.Descriptor().Fields().ByName(protoreflect.Name(name))
}

func (m msg) str(name string) string             { return m.m.Get(m.fd(name)).String() }
func (m msg) i64(name string) int64              { return m.m.Get(m.fd(name)).Int() }
func (m msg) flag(name string) bool              { return m.m.Get(m.fd(name)).Bool() }
func (m msg) list(name string) protoreflect.List { return m.m.Get(m.fd(name)).List() }

// set stores v unless it is the zero value (proto3 leaves zeros unset).
func (m msg) set(name string, v any) {
	switch v := v.(type) {
	case string:
		if v != "" {
			m.m.Set(m.fd(name), protoreflect.ValueOfString(v))
		}
	case int64:
		if v != 0 {
			m.m.Set(m.fd(name), protoreflect.ValueOfInt64(v))
		}
	case bool:
		if v {
			m.m.Set(m.fd(name), protoreflect.ValueOfBool(v))
		}
	}
}

func (m msg) setMsg(name string, e msg) {
	m.m.Set(m.fd(name), protoreflect.ValueOfMessage(e.m))
}

func (m msg) appendMsg(name string, e msg) {
	m.m.Mutable(m.fd(name)).List().Append(protoreflect.ValueOfMessage(e.m))
}

func (s *schema) encodeSession(a AuthSession) msg {
	m := s.new("AuthSession")
	m.set("user_id", a.UserID)
	m.set("connector_id", a.ConnectorID)
	for _, c := range a.ClientStates {
		e := s.new("ClientAuthState")
		e.set("client_id", c.ClientID)
		e.set("active", c.Active)
		e.set("expires_at", c.ExpiresAt)
		e.set("last_activity", c.LastActivity)
		e.set("last_token_issued_at", c.LastTokenIssuedAt)
		m.appendMsg("client_states", e)
	}
	m.set("created_at", a.CreatedAt)
	m.set("last_activity", a.LastActivity)
	m.set("ip_address", a.IPAddress)
	m.set("user_agent", a.UserAgent)
	m.set("absolute_expiry", a.AbsoluteExpiry)
	m.set("idle_expiry", a.IdleExpiry)
	m.set("torii_id", a.ToriiID)
	return m
}

func decodeSession(m msg) AuthSession {
	a := AuthSession{
		UserID: m.str("user_id"), ConnectorID: m.str("connector_id"),
		CreatedAt: m.i64("created_at"), LastActivity: m.i64("last_activity"),
		IPAddress: m.str("ip_address"), UserAgent: m.str("user_agent"),
		AbsoluteExpiry: m.i64("absolute_expiry"), IdleExpiry: m.i64("idle_expiry"),
		ToriiID: m.str("torii_id"),
	}
	l := m.list("client_states")
	for i := range l.Len() {
		e := msg{l.Get(i).Message().Interface().(*dynamicpb.Message)}
		a.ClientStates = append(a.ClientStates, ClientAuthState{
			ClientID: e.str("client_id"), Active: e.flag("active"), ExpiresAt: e.i64("expires_at"),
			LastActivity: e.i64("last_activity"), LastTokenIssuedAt: e.i64("last_token_issued_at"),
		})
	}
	return a
}

func (s *schema) encodeListResp(r ListAuthSessionsResp) msg {
	m := s.new("ListAuthSessionsResp")
	for _, a := range r.Sessions {
		m.appendMsg("sessions", s.encodeSession(a))
	}
	return m
}

func decodeListResp(m msg) ListAuthSessionsResp {
	var r ListAuthSessionsResp
	l := m.list("sessions")
	for i := range l.Len() {
		r.Sessions = append(r.Sessions, decodeSession(msg{l.Get(i).Message().Interface().(*dynamicpb.Message)}))
	}
	return r
}

// unixOrZero is t in Unix seconds, 0 for the zero time (not year 1).
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
