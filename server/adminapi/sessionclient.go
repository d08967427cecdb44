package adminapi

import (
	"context"

	api "github.com/dexidp/dex/api/v2"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/dynamicpb"
)

// SessionClient calls the session methods of api.Dex (Dex master's, which
// the published Go module does not generate).
type SessionClient struct {
	cc     grpc.ClientConnInterface
	schema *schema
}

// NewSessionClient is a session client on cc.
func NewSessionClient(cc grpc.ClientConnInterface) (*SessionClient, error) {
	sc, err := newSchema()
	if err != nil {
		return nil, err
	}
	return &SessionClient{cc: cc, schema: sc}, nil
}

func (c *SessionClient) invoke(ctx context.Context, method string, in msg, outName string, opts ...grpc.CallOption) (msg, error) {
	out := c.schema.new(outName)
	err := c.cc.Invoke(ctx, "/"+api.Dex_ServiceDesc.ServiceName+"/"+method, in.m, out.m, opts...)
	return out, err
}

// GetAuthSession returns one session of the user on a connector.
func (c *SessionClient) GetAuthSession(ctx context.Context, req GetAuthSessionReq, opts ...grpc.CallOption) (GetAuthSessionResp, error) {
	in := c.schema.new("GetAuthSessionReq")
	in.set("user_id", req.UserID)
	in.set("connector_id", req.ConnectorID)
	in.set("torii_id", req.ToriiID)
	out, err := c.invoke(ctx, MethodGetAuthSession, in, "GetAuthSessionResp", opts...)
	if err != nil {
		return GetAuthSessionResp{}, err
	}
	return GetAuthSessionResp{Session: decodeSession(msg{out.m.Get(out.fd("session")).Message().Interface().(*dynamicpb.Message)})}, nil
}

// TerminateSessionsByConnector ends every session on a connector.
func (c *SessionClient) TerminateSessionsByConnector(ctx context.Context, req TerminateSessionsByConnectorReq, opts ...grpc.CallOption) (TerminateSessionsByConnectorResp, error) {
	in := c.schema.new("TerminateSessionsByConnectorReq")
	in.set("connector_id", req.ConnectorID)
	out, err := c.invoke(ctx, MethodTerminateSessionsByConnector, in, "TerminateSessionsByConnectorResp", opts...)
	if err != nil {
		return TerminateSessionsByConnectorResp{}, err
	}
	return TerminateSessionsByConnectorResp{SessionsTerminated: out.i64("sessions_terminated")}, nil
}

// ListAuthSessions lists the user's sessions (every session for "").
func (c *SessionClient) ListAuthSessions(ctx context.Context, req ListAuthSessionsReq, opts ...grpc.CallOption) (ListAuthSessionsResp, error) {
	in := c.schema.new("ListAuthSessionsReq")
	in.set("user_id", req.UserID)
	out, err := c.invoke(ctx, MethodListAuthSessions, in, "ListAuthSessionsResp", opts...)
	if err != nil {
		return ListAuthSessionsResp{}, err
	}
	return decodeListResp(out), nil
}

// DeleteAuthSession ends the user's sessions on a connector (or one).
func (c *SessionClient) DeleteAuthSession(ctx context.Context, req DeleteAuthSessionReq, opts ...grpc.CallOption) (DeleteAuthSessionResp, error) {
	in := c.schema.new("DeleteAuthSessionReq")
	in.set("user_id", req.UserID)
	in.set("connector_id", req.ConnectorID)
	in.set("torii_id", req.ToriiID)
	out, err := c.invoke(ctx, MethodDeleteAuthSession, in, "DeleteAuthSessionResp", opts...)
	if err != nil {
		return DeleteAuthSessionResp{}, err
	}
	return DeleteAuthSessionResp{NotFound: out.flag("not_found")}, nil
}

// TerminateSessionsByUser ends every session of the user.
func (c *SessionClient) TerminateSessionsByUser(ctx context.Context, req TerminateSessionsByUserReq, opts ...grpc.CallOption) (TerminateSessionsByUserResp, error) {
	in := c.schema.new("TerminateSessionsByUserReq")
	in.set("user_id", req.UserID)
	out, err := c.invoke(ctx, MethodTerminateSessionsByUser, in, "TerminateSessionsByUserResp", opts...)
	if err != nil {
		return TerminateSessionsByUserResp{}, err
	}
	return TerminateSessionsByUserResp{SessionsTerminated: out.i64("sessions_terminated")}, nil
}
