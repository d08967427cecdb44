package adminapi

import (
	"fmt"

	api "github.com/dexidp/dex/api/v2"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Dex's published api/v2 (v2.4.0) has no session methods; Dex master's
// api.Dex does: GetAuthSession, ListAuthSessions, DeleteAuthSession,
// TerminateSessionsByConnector and TerminateSessionsByUser. torii serves
// them on the same service, with Dex master's message and field names,
// from a descriptor built here: v2.4.0's file with those messages and
// methods appended. No proto of Dex master is at hand, only its server
// code: the field numbers follow the order in which that code fills the
// fields (1, 2, ...), the way protoc numbers a message written in that
// order. A client generated from Dex master's api.proto talks to it
// unchanged as long as that holds; this file is the one place to change
// if it does not.
//
// torii adds one field of its own, torii_id (number 1000, far from Dex's),
// to AuthSession, GetAuthSessionReq and DeleteAuthSessionReq: torii keeps
// a session per browser where Dex keeps one per user and connector, and
// the field names one of them. Dex's clients never set it and skip it when
// reading.

// ToriiIDField is the number of the torii_id field.
const ToriiIDField = 1000

// Method names of the session methods (full name "/api.Dex/" + name).
const (
	MethodGetAuthSession               = "GetAuthSession"
	MethodListAuthSessions             = "ListAuthSessions"
	MethodDeleteAuthSession            = "DeleteAuthSession"
	MethodTerminateSessionsByConnector = "TerminateSessionsByConnector"
	MethodTerminateSessionsByUser      = "TerminateSessionsByUser"
)

// schema is the extended descriptor and the session messages in it.
type schema struct {
	file protoreflect.FileDescriptor
	// Message descriptors by short name (AuthSession, ListAuthSessionsReq...).
	msg map[string]protoreflect.MessageDescriptor
}

type field struct {
	name  string
	num   int32
	kind  descriptorpb.FieldDescriptorProto_Type
	rep   bool
	msgOf string // message type of a message field (short name)
}

const (
	tString = descriptorpb.FieldDescriptorProto_TYPE_STRING
	tInt64  = descriptorpb.FieldDescriptorProto_TYPE_INT64
	tBool   = descriptorpb.FieldDescriptorProto_TYPE_BOOL
	tMsg    = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
)

// sessionMessages are Dex master's session messages; torii_id is torii's.
func sessionMessages() []struct {
	name   string
	fields []field
} {
	return []struct {
		name   string
		fields []field
	}{
		{"ClientAuthState", []field{
			{name: "client_id", num: 1, kind: tString},
			{name: "active", num: 2, kind: tBool},
			{name: "expires_at", num: 3, kind: tInt64},
			{name: "last_activity", num: 4, kind: tInt64},
			{name: "last_token_issued_at", num: 5, kind: tInt64},
		}},
		{"AuthSession", []field{
			{name: "user_id", num: 1, kind: tString},
			{name: "connector_id", num: 2, kind: tString},
			{name: "client_states", num: 3, kind: tMsg, rep: true, msgOf: "ClientAuthState"},
			{name: "created_at", num: 4, kind: tInt64},
			{name: "last_activity", num: 5, kind: tInt64},
			{name: "ip_address", num: 6, kind: tString},
			{name: "user_agent", num: 7, kind: tString},
			{name: "absolute_expiry", num: 8, kind: tInt64},
			{name: "idle_expiry", num: 9, kind: tInt64},
			{name: "torii_id", num: ToriiIDField, kind: tString},
		}},
		{"GetAuthSessionReq", []field{
			{name: "user_id", num: 1, kind: tString},
			{name: "connector_id", num: 2, kind: tString},
			{name: "torii_id", num: ToriiIDField, kind: tString},
		}},
		{"GetAuthSessionResp", []field{
			{name: "session", num: 1, kind: tMsg, msgOf: "AuthSession"},
		}},
		{"ListAuthSessionsReq", []field{
			{name: "user_id", num: 1, kind: tString},
		}},
		{"ListAuthSessionsResp", []field{
			{name: "sessions", num: 1, kind: tMsg, rep: true, msgOf: "AuthSession"},
		}},
		{"DeleteAuthSessionReq", []field{
			{name: "user_id", num: 1, kind: tString},
			{name: "connector_id", num: 2, kind: tString},
			{name: "torii_id", num: ToriiIDField, kind: tString},
		}},
		{"DeleteAuthSessionResp", []field{
			{name: "not_found", num: 1, kind: tBool},
		}},
		{"TerminateSessionsByConnectorReq", []field{
			{name: "connector_id", num: 1, kind: tString},
		}},
		{"TerminateSessionsByConnectorResp", []field{
			{name: "sessions_terminated", num: 1, kind: tInt64},
		}},
		{"TerminateSessionsByUserReq", []field{
			{name: "user_id", num: 1, kind: tString},
		}},
		{"TerminateSessionsByUserResp", []field{
			{name: "sessions_terminated", num: 1, kind: tInt64},
		}},
	}
}

// sessionMethods are the session methods: name, request, response.
func sessionMethods() [][3]string {
	return [][3]string{
		{MethodGetAuthSession, "GetAuthSessionReq", "GetAuthSessionResp"},
		{MethodListAuthSessions, "ListAuthSessionsReq", "ListAuthSessionsResp"},
		{MethodDeleteAuthSession, "DeleteAuthSessionReq", "DeleteAuthSessionResp"},
		{MethodTerminateSessionsByConnector, "TerminateSessionsByConnectorReq", "TerminateSessionsByConnectorResp"},
		{MethodTerminateSessionsByUser, "TerminateSessionsByUserReq", "TerminateSessionsByUserResp"},
	}
}

// newSchema builds the descriptor of api/v2/api.proto with the session
// messages and methods. It is not registered globally (the generated
// package owns that file name there).
func newSchema() (*schema, error) {
	fdp := protodesc.ToFileDescriptorProto(api.File_api_v2_api_proto)
	pkg := fdp.GetPackage()
	for _, m := range sessionMessages() {
		dp := &descriptorpb.DescriptorProto{Name: &m.name}
		for _, f := range m.fields {
			label := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
			if f.rep {
				label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
			}
			jsonName := protoJSONName(f.name)
			fp := &descriptorpb.FieldDescriptorProto{Name: &f.name, Number: &f.num, Type: &f.kind, Label: &label, JsonName: &jsonName}
			if f.msgOf != "" {
				t := "." + pkg + "." + f.msgOf
				fp.TypeName = &t
			}
			dp.Field = append(dp.Field, fp)
		}
		fdp.MessageType = append(fdp.MessageType, dp)
	}
	var svc *descriptorpb.ServiceDescriptorProto
	for _, s := range fdp.Service {
		if s.GetName() == "Dex" {
			svc = s
		}
	}
	if svc == nil {
		return nil, fmt.Errorf("adminapi: api/v2 has no service Dex")
	}
	for _, m := range sessionMethods() {
		name, in, out := m[0], "."+pkg+"."+m[1], "."+pkg+"."+m[2]
		svc.Method = append(svc.Method, &descriptorpb.MethodDescriptorProto{Name: &name, InputType: &in, OutputType: &out})
	}
	fd, err := protodesc.NewFile(fdp, nil)
	if err != nil {
		return nil, fmt.Errorf("adminapi: session descriptor: %w", err)
	}
	s := &schema{file: fd, msg: map[string]protoreflect.MessageDescriptor{}}
	for _, m := range sessionMessages() {
		s.msg[m.name] = fd.Messages().ByName(protoreflect.Name(m.name))
	}
	return s, nil
}

// protoJSONName is protoc's JSON name of a field: lowerCamelCase.
func protoJSONName(s string) string {
	out := make([]byte, 0, len(s))
	up := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			up = true
		case up && 'a' <= c && c <= 'z':
			out = append(out, c-'a'+'A')
			up = false
		default:
			out = append(out, c)
			up = false
		}
	}
	return string(out)
}
