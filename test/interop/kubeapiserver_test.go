package interop

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/apis/apiserver"
	apiserverinstall "k8s.io/apiserver/pkg/apis/apiserver/install"
	"k8s.io/apiserver/pkg/apis/apiserver/validation"
	authenticationcel "k8s.io/apiserver/pkg/authentication/cel"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/apiserver/plugin/pkg/authenticator/token/oidc"
)

// apiserverAuthn is kube-apiserver's OIDC token authenticator, built from a
// config the way kube-apiserver builds it.
type apiserverAuthn struct {
	a oidc.AuthenticatorTokenWithHealthCheck
}

// loadAuthenticationConfig decodes and validates an
// AuthenticationConfiguration as kube-apiserver does with
// --authentication-config (strict decoding, then validation).
func loadAuthenticationConfig(t *testing.T, data string) *apiserver.AuthenticationConfiguration {
	t.Helper()
	scheme := runtime.NewScheme()
	apiserverinstall.Install(scheme)
	codecs := serializer.NewCodecFactory(scheme, serializer.EnableStrict)
	obj, err := runtime.Decode(codecs.UniversalDecoder(), []byte(data))
	if err != nil {
		t.Fatalf("decode AuthenticationConfiguration: %v\n%s", err, data)
	}
	cfg, ok := obj.(*apiserver.AuthenticationConfiguration)
	if !ok {
		t.Fatalf("decoded %T, not an AuthenticationConfiguration", obj)
	}
	if errs := validation.ValidateAuthenticationConfiguration(authenticationcel.NewDefaultCompiler(), cfg, nil); len(errs) > 0 {
		t.Fatalf("AuthenticationConfiguration refused: %v", errs.ToAggregate())
	}
	return cfg
}

// newAPIServerAuthn starts the authenticator for one JWT issuer and waits
// until it has fetched the issuer's discovery document and keys (what
// kube-apiserver's health check waits for).
func newAPIServerAuthn(t *testing.T, jwt apiserver.JWTAuthenticator, caPEM []byte) *apiserverAuthn {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	caContent, err := dynamiccertificates.NewStaticCAContent("oidc-authenticator", caPEM)
	if err != nil {
		t.Fatal(err)
	}
	a, err := oidc.New(ctx, oidc.Options{
		JWTAuthenticator:     jwt,
		CAContentProvider:    caContent,
		SupportedSigningAlgs: []string{"RS256", "ES256"},
	})
	if err != nil {
		t.Fatalf("oidc.New: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := a.HealthCheck()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("authenticator for %s not ready: %v", jwt.Issuer.URL, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &apiserverAuthn{a: a}
}

// authenticate returns the user kube-apiserver would see, or an error.
func (a *apiserverAuthn) authenticate(ctx context.Context, token string) (name string, groups []string, err error) {
	resp, ok, err := a.a.AuthenticateToken(ctx, token)
	if err != nil {
		return "", nil, err
	}
	if !ok || resp == nil || resp.User == nil {
		return "", nil, fmt.Errorf("token not recognised (no error)")
	}
	return resp.User.GetName(), resp.User.GetGroups(), nil
}

func prefixed(prefix string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = prefix + x
	}
	return out
}

// wantUser fails t unless the token maps to name and exactly groups.
func wantUser(t *testing.T, a *apiserverAuthn, token, name string, groups []string) {
	t.Helper()
	gotName, gotGroups, err := a.authenticate(t.Context(), token)
	if err != nil {
		t.Fatalf("kube-apiserver refused the token: %v\nclaims: %v", err, jwtClaims(t, token))
	}
	g := slices.Sorted(slices.Values(gotGroups))
	w := slices.Sorted(slices.Values(groups))
	if gotName != name || !slices.Equal(g, w) {
		t.Fatalf("kube-apiserver sees user %q groups %q, want %q groups %q", gotName, g, name, w)
	}
}

// wantRefused fails t unless the authenticator refuses the token, and
// checks the reason mentions want.
func wantRefused(t *testing.T, a *apiserverAuthn, token, want string) {
	t.Helper()
	name, groups, err := a.authenticate(t.Context(), token)
	if err == nil {
		t.Fatalf("kube-apiserver accepted the token as %q %q; want it refused (%s)", name, groups, want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("kube-apiserver refused the token for another reason: %v (want %q)", err, want)
	}
	t.Logf("refused as expected: %v", err)
}

const k8sScopes = "openid email profile groups"

func (s *suite) testKubeAPIServer(t *testing.T, sources []*source) {
	t.Run("kube-apiserver", func(t *testing.T) {
		s.forEachSource(t, sources, func(t *testing.T, src *source) {
			cfg := loadAuthenticationConfig(t, renderAuthenticationConfig(t, src.Torii.Issuer, s.ca.CAPEM))
			authn := newAPIServerAuthn(t, cfg.JWT[0], s.ca.CAPEM)
			tok := s.passwordGrant(t, src.Torii, k8sClientID, k8sClientSecret, src.Who, k8sScopes)

			s.scenario(t, "email-claim", func(t *testing.T) {
				wantUser(t, authn, tok.IDToken, src.Who.Email, prefixed("oidc:", src.Who.Groups))
			})
			s.scenario(t, "classic-flags-preferred-username", func(t *testing.T) {
				classic := newAPIServerAuthn(t, flagsAuthenticator(t, src.Torii.Issuer), s.ca.CAPEM)
				wantUser(t, classic, tok.IDToken, "oidc:"+src.Who.PreferredUsername, prefixed("oidc:", src.Who.Groups))
			})
			s.scenario(t, "refused-wrong-audience", func(t *testing.T) {
				other := s.passwordGrant(t, src.Torii, proxyClientID, proxyClientSecret, src.Who, k8sScopes)
				wantRefused(t, authn, other.IDToken, "audience")
			})
			if src.Name != "static-users" {
				return
			}
			s.scenario(t, "refused-email-unverified", func(t *testing.T) {
				unv := s.passwordGrant(t, src.Torii, k8sClientID, k8sClientSecret, staticUnverified(), k8sScopes)
				if v, ok := jwtClaims(t, unv.IDToken)["email_verified"]; !ok || v != false {
					t.Errorf("torii's ID token for an emailVerified: false user has email_verified %v (present %v), want false", v, ok)
				}
				wantRefused(t, authn, unv.IDToken, "email not verified")
			})
			s.scenario(t, "refused-other-issuer", func(t *testing.T) {
				c, dir := s.staticConfig(t, "other-issuer")
				other := s.startTorii(t, "other-issuer", c, dir)
				tok := s.passwordGrant(t, other, k8sClientID, k8sClientSecret, src.Who, k8sScopes)
				// kube-apiserver picks the authenticator by the iss claim:
				// no authenticator answers for an unknown issuer.
				name, groups, err := authn.authenticate(t.Context(), tok.IDToken)
				if err == nil {
					t.Fatalf("kube-apiserver accepted a token of issuer %s as %q %q", other.Issuer, name, groups)
				}
				t.Logf("refused as expected: %v", err)
			})
			s.scenario(t, "refused-expired", func(t *testing.T) {
				c, dir := s.staticConfig(t, "short-expiry")
				c.Expiry = map[string]string{"idTokens": "2s"}
				short := s.startTorii(t, "short-expiry", c, dir)
				a := newAPIServerAuthn(t, loadAuthenticationConfig(t, renderAuthenticationConfig(t, short.Issuer, s.ca.CAPEM)).JWT[0], s.ca.CAPEM)
				tok := s.passwordGrant(t, short, k8sClientID, k8sClientSecret, src.Who, k8sScopes)
				wantUser(t, a, tok.IDToken, src.Who.Email, prefixed("oidc:", src.Who.Groups))
				exp, ok := jwtClaims(t, tok.IDToken)["exp"].(float64)
				if !ok {
					t.Fatal("ID token has no numeric exp")
				}
				expiry := time.Unix(int64(exp), 0)
				if d := time.Until(expiry); d > 5*time.Second {
					t.Fatalf("expiry.idTokens: 2s, but the ID token expires in %s", d.Round(time.Second))
				}
				// The one wait of the suite: until the token's own exp
				// has passed (at most 2s with this config).
				time.Sleep(time.Until(expiry) + 1100*time.Millisecond)
				wantRefused(t, a, tok.IDToken, "expired")
			})
		})
	})
}
