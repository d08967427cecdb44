package adminapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	api "github.com/dexidp/dex/api/v2"
)

// GetVersion reports torii's version and Dex's API version.
func (s *Service) GetVersion(context.Context, *api.VersionReq) (*api.VersionResp, error) {
	return &api.VersionResp{Server: s.c.Version, Api: apiVersion}, nil
}

// GetDiscovery returns the server's discovery document, fetched from its
// own handler so it is exactly what /.well-known/openid-configuration says.
func (s *Service) GetDiscovery(ctx context.Context, _ *api.DiscoveryReq) (*api.DiscoveryResp, error) {
	u, err := url.Parse(s.c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discovery: %v", err)
	}
	path := strings.TrimSuffix(u.Path, "/") + "/.well-known/openid-configuration"
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	req.Host = u.Host
	rec := httptest.NewRecorder()
	s.c.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("discovery: status %d", rec.Code)
	}
	var doc struct {
		Issuer                            string   `json:"issuer"`
		AuthorizationEndpoint             string   `json:"authorization_endpoint"`
		TokenEndpoint                     string   `json:"token_endpoint"`
		JWKSURI                           string   `json:"jwks_uri"`
		UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
		DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
		IntrospectionEndpoint             string   `json:"introspection_endpoint"`
		GrantTypesSupported               []string `json:"grant_types_supported"`
		ResponseTypesSupported            []string `json:"response_types_supported"`
		SubjectTypesSupported             []string `json:"subject_types_supported"`
		IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
		CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
		ScopesSupported                   []string `json:"scopes_supported"`
		TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
		ClaimsSupported                   []string `json:"claims_supported"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		return nil, fmt.Errorf("discovery: %v", err)
	}
	return &api.DiscoveryResp{
		Issuer: doc.Issuer, AuthorizationEndpoint: doc.AuthorizationEndpoint, TokenEndpoint: doc.TokenEndpoint,
		JwksUri: doc.JWKSURI, UserinfoEndpoint: doc.UserinfoEndpoint, DeviceAuthorizationEndpoint: doc.DeviceAuthorizationEndpoint,
		IntrospectionEndpoint: doc.IntrospectionEndpoint, GrantTypesSupported: doc.GrantTypesSupported,
		ResponseTypesSupported: doc.ResponseTypesSupported, SubjectTypesSupported: doc.SubjectTypesSupported,
		IdTokenSigningAlgValuesSupported: doc.IDTokenSigningAlgValuesSupported, CodeChallengeMethodsSupported: doc.CodeChallengeMethodsSupported,
		ScopesSupported: doc.ScopesSupported, TokenEndpointAuthMethodsSupported: doc.TokenEndpointAuthMethodsSupported,
		ClaimsSupported: doc.ClaimsSupported,
	}, nil
}
