package adminapi

import (
	"context"
	"slices"

	api "github.com/dexidp/dex/api/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// serviceDesc is api.Dex as v2.4.0 generates it plus the session methods:
// one service, so a gRPC server registers it once.
func (s *Service) serviceDesc() *grpc.ServiceDesc {
	d := api.Dex_ServiceDesc
	d.Methods = slices.Clone(d.Methods)
	d.Methods = append(d.Methods,
		s.unary(MethodGetAuthSession, "GetAuthSessionReq", func(ctx context.Context, in msg) (msg, error) {
			r, err := s.GetAuthSession(ctx, GetAuthSessionReq{
				UserID: in.str("user_id"), ConnectorID: in.str("connector_id"), ToriiID: in.str("torii_id"),
			})
			out := s.schema.new("GetAuthSessionResp")
			if err == nil {
				out.setMsg("session", s.schema.encodeSession(r.Session))
			}
			return out, err
		}),
		s.unary(MethodListAuthSessions, "ListAuthSessionsReq", func(ctx context.Context, in msg) (msg, error) {
			r, err := s.ListAuthSessions(ctx, ListAuthSessionsReq{UserID: in.str("user_id")})
			return s.schema.encodeListResp(r), err
		}),
		s.unary(MethodDeleteAuthSession, "DeleteAuthSessionReq", func(ctx context.Context, in msg) (msg, error) {
			r, err := s.DeleteAuthSession(ctx, DeleteAuthSessionReq{
				UserID: in.str("user_id"), ConnectorID: in.str("connector_id"), ToriiID: in.str("torii_id"),
			})
			out := s.schema.new("DeleteAuthSessionResp")
			out.set("not_found", r.NotFound)
			return out, err
		}),
		s.unary(MethodTerminateSessionsByConnector, "TerminateSessionsByConnectorReq", func(ctx context.Context, in msg) (msg, error) {
			r, err := s.TerminateSessionsByConnector(ctx, TerminateSessionsByConnectorReq{ConnectorID: in.str("connector_id")})
			out := s.schema.new("TerminateSessionsByConnectorResp")
			out.set("sessions_terminated", r.SessionsTerminated)
			return out, err
		}),
		s.unary(MethodTerminateSessionsByUser, "TerminateSessionsByUserReq", func(ctx context.Context, in msg) (msg, error) {
			r, err := s.TerminateSessionsByUser(ctx, TerminateSessionsByUserReq{UserID: in.str("user_id")})
			out := s.schema.new("TerminateSessionsByUserResp")
			out.set("sessions_terminated", r.SessionsTerminated)
			return out, err
		}),
	)
	return &d
}

// unary is a method whose request is the schema's message reqName.
func (s *Service) unary(name, reqName string, fn func(context.Context, msg) (msg, error)) grpc.MethodDesc {
	full := "/" + api.Dex_ServiceDesc.ServiceName + "/" + name
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := s.schema.new(reqName)
			if err := dec(in.m); err != nil {
				return nil, err
			}
			call := func(ctx context.Context, req any) (any, error) {
				out, err := fn(ctx, msg{req.(*dynamicpb.Message)})
				if err != nil {
					return nil, err
				}
				return out.m, nil
			}
			if interceptor == nil {
				return call(ctx, in.m)
			}
			return interceptor(ctx, in.m, &grpc.UnaryServerInfo{Server: srv, FullMethod: full}, call)
		},
	}
}

// RegisterReflection serves gRPC reflection describing api.Dex with the
// session methods (the global registry only knows v2.4.0's file).
func (s *Service) RegisterReflection(g *grpc.Server) {
	opts := reflection.ServerOptions{Services: g, DescriptorResolver: resolver{s.schema.file}}
	reflectionv1.RegisterServerReflectionServer(g, reflection.NewServerV1(opts))
	reflectionv1alpha.RegisterServerReflectionServer(g, reflection.NewServer(opts))
}

// resolver answers for api/v2/api.proto with the extended file and falls
// back to the global registry for everything else.
type resolver struct{ file protoreflect.FileDescriptor }

func (r resolver) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if path == r.file.Path() {
		return r.file, nil
	}
	return protoregistry.GlobalFiles.FindFileByPath(path)
}

func (r resolver) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if name.Parent() == r.file.Package() || name.Parent().Parent() == r.file.Package() {
		if d := findIn(r.file, name); d != nil {
			return d, nil
		}
	}
	return protoregistry.GlobalFiles.FindDescriptorByName(name)
}

func findIn(f protoreflect.FileDescriptor, name protoreflect.FullName) protoreflect.Descriptor {
	if m := f.Messages().ByName(name.Name()); m != nil && m.FullName() == name {
		return m
	}
	if sv := f.Services().ByName(name.Name()); sv != nil && sv.FullName() == name {
		return sv
	}
	parent := name.Parent()
	if sv := f.Services().ByName(parent.Name()); sv != nil && sv.FullName() == parent {
		if m := sv.Methods().ByName(name.Name()); m != nil {
			return m
		}
	}
	if m := f.Messages().ByName(parent.Name()); m != nil && m.FullName() == parent {
		if fd := m.Fields().ByName(name.Name()); fd != nil {
			return fd
		}
	}
	return nil
}

var _ protodesc.Resolver = resolver{}
