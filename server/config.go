package server

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/storage"
)

// Config is everything a Server needs. cmd/torii builds it from config.yaml;
// tests build it directly.
type Config struct {
	// Issuer is the exact issuer URL (http or https, optionally with a path
	// such as /dex under which every route is served).
	Issuer string

	Storage    storage.Storage
	Connectors []Connector
	// Clients are the static clients (staticClients); they cannot be
	// changed at run time and win over a dynamic client with the same id.
	Clients []Client
	// DynamicClients are looked up, on every request, when the id is not a
	// static client's; nil means the clients in Storage (those created
	// through the admin API).
	DynamicClients ClientSource

	// PasswordConnector enables grant_type=password through the named
	// connector ("" disables it).
	PasswordConnector string

	// GrantTypes allowed at /token (authorization_code, refresh_token,
	// password, client_credentials, the device code URN); empty means
	// Dex's default: all but client_credentials (password only with
	// PasswordConnector).
	GrantTypes []string

	// PKCEMethods is oauth2.pkce.codeChallengeMethodsSupported. Unset:
	// S256 for every client and plain for confidential clients only (a
	// public client's plain challenge protects nothing once the
	// authorization request is seen). Set: exactly these, for every client.
	PKCEMethods []string

	// ResponseTypes allowed at /auth; only "code" is implemented.
	ResponseTypes         []string
	SkipApprovalScreen    bool
	AlwaysShowLoginScreen bool

	Expiry Expiry

	// Sessions turns on browser sessions (single sign-on); nil keeps none.
	Sessions *SessionsConfig
	// Backchannel tunes Back-Channel Logout delivery (not reloadable).
	Backchannel BackchannelConfig
	// PromptNoneWithoutSession is what prompt=none gets without a usable
	// session (PromptNoneShowLogin or PromptNoneLoginRequired); "" is
	// showLogin without Sessions and loginRequired with them.
	PromptNoneWithoutSession string

	// SigningAlgorithm is RS256 (default) or ES256.
	SigningAlgorithm string

	// Headers are extra HTTP response headers sent on every response.
	Headers map[string]string
	// AllowedOrigins enables CORS for these origins ("*" for any) on the
	// discovery, keys, token and userinfo endpoints.
	AllowedOrigins []string

	// ClientIP says how to find a client's IP address behind proxies, for
	// login throttling and logs (Dex's web.clientRemoteIP).
	ClientIP ClientIPConfig

	// Web holds the look of the pages.
	Web WebConfig

	// Throttle limits password guessing; the zero value means defaults.
	Throttle ThrottleConfig

	// Kubeconfig turns on the kubeconfig page; nil leaves it off (404).
	Kubeconfig *KubeconfigConfig

	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done, whichever is first, and returns
	// ctx's error in the latter case; nil means a timer. It paces the
	// refresh grant's wait for storage to come back after a write of
	// unknown outcome (tests make it instant).
	Sleep func(ctx context.Context, d time.Duration) error

	// Metrics records Prometheus metrics (nil: none). Build it once with
	// NewMetrics and pass the same one to every Reload.
	Metrics *Metrics
	// SessionCountInterval is how often torii_sessions_live is counted in
	// storage (default a minute).
	SessionCountInterval time.Duration
	// Audit receives one record per security-relevant act (nil: off).
	Audit *audit.Logger
}

// Expiry holds token and key lifetimes (Dex's expiry block).
type Expiry struct {
	SigningKeys  time.Duration // default 6h
	IDTokens     time.Duration // default 24h
	AuthRequests time.Duration // default 24h
	// UnstartedAuthRequests is how long an auth request lives until its
	// login page is shown (default 10m, at most AuthRequests).
	UnstartedAuthRequests time.Duration
	RefreshTokens         RefreshExpiry
	// DeviceRequests is how long a device code and its user code live
	// (default 5m, Dex's expiry.deviceRequests).
	DeviceRequests time.Duration
}

// RefreshExpiry is Dex's expiry.refreshTokens block.
type RefreshExpiry struct {
	DisableRotation   bool
	ReuseInterval     time.Duration // default 3s
	ValidIfNotUsedFor time.Duration // 0: no idle limit
	AbsoluteLifetime  time.Duration // 0: no absolute limit
}

// Connector is one configured connector: exactly one of Password (a
// username/password form) and Callback (a redirect to an upstream provider)
// is set; Refresh is set when the connector can look a person up again.
type Connector struct {
	ID       string
	Type     string
	Name     string
	Password connector.PasswordConnector
	Callback connector.CallbackConnector
	Refresh  connector.RefreshConnector
	// TokenIdentity, when set, lets token exchange (RFC 8693) accept the
	// upstream's tokens through this connector.
	TokenIdentity connector.TokenIdentityConnector
}

// Client is an OAuth2 client: from staticClients, or from DynamicClients.
type Client struct {
	ID     string
	Secret string
	// SecretHash is set instead of Secret for clients from storage, whose
	// secret torii keeps only hashed (see internal/secret).
	SecretHash   []byte
	Name         string
	RedirectURIs []string
	TrustedPeers []string
	Public       bool
	LogoURL      string
	// SSOSharedWith lists the clients whose sessions this client may reuse
	// ("*": any); nil means SessionsConfig.SSOSharedWithDefault.
	SSOSharedWith []string
	// PromptNoneWithoutSession overrides Config.PromptNoneWithoutSession.
	PromptNoneWithoutSession string
	// PostLogoutRedirectURIs are where /logout may send the browser back
	// (post_logout_redirect_uri must equal one exactly).
	PostLogoutRedirectURIs []string
	// BackchannelLogoutURI receives a Logout Token when a session the
	// client took part in ends ("" for none); with
	// BackchannelLogoutSessionRequired the client needs sid in it (torii
	// always sends it).
	BackchannelLogoutURI             string
	BackchannelLogoutSessionRequired bool
	// ClientCredentialsGroups are the groups of the client's own tokens
	// from the client_credentials grant (Dex master's
	// clientCredentialsClaims.groups).
	ClientCredentialsGroups []string
	// Per-client lifetimes (torii's keys: Dex has none, dexidp/dex#3557,
	// #1792); zero means the global value. IDTokenLifetime bounds the
	// client's ID and access tokens (at most Expiry.IDTokens, for which
	// the signing keys are kept); RefreshTokenLifetime and
	// RefreshTokenValidIfNotUsedFor replace expiry.refreshTokens'
	// absoluteLifetime and validIfNotUsedFor for its refresh tokens.
	IDTokenLifetime               time.Duration
	RefreshTokenLifetime          time.Duration
	RefreshTokenValidIfNotUsedFor time.Duration
}

// WebConfig customizes the pages (Dex's frontend block, subset).
type WebConfig struct {
	Issuer  string // display name, default "torii"
	LogoURL string
	// Theme is light (the default), dark, or auto (the browser's
	// prefers-color-scheme).
	Theme string
	// Dir holds an operator's templates/, static/ and i18n/ that replace
	// torii's own files of the same name (docs/pages.md); "" for none.
	Dir string
	// Extra is given to the templates as .Extra.
	Extra map[string]string
	// DefaultLanguage is the page language when neither ui_locales nor
	// Accept-Language names one torii has ("" is English).
	DefaultLanguage string
}

// ThrottleConfig bounds password guessing and auth-request flooding (see
// docs/security.md); zero fields take the defaults.
type ThrottleConfig struct {
	Disabled bool
	// Window is the counting period (default 1h).
	Window time.Duration
	// BaseDelay is the first delay past a free allowance; each further
	// failure doubles it, up to MaxDelay (defaults 1s, 5m).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Free allowances per Window: failures of one user from one address
	// (default 3), of one user from addresses it has not logged in from
	// (default 30), from one address across users (default 30), and
	// connector errors from one address (default 20).
	FailuresPerUserAndIP int
	FailuresPerUser      int
	FailuresPerIP        int
	ErrorsPerIP          int
	// KnownAddressFor is how long a successful login exempts its address
	// from the per-user and per-address counters (default 720h).
	KnownAddressFor time.Duration
	// PendingAuthRequestsPerIP caps the auth requests one address may
	// start within the un-started lifetime (default 1000; negative: no cap).
	PendingAuthRequestsPerIP int
}

// ClientIPConfig trusts a header (X-Forwarded-For, X-Real-IP, ...) only when
// the TCP peer is one of TrustedProxies; the client is then the rightmost
// address in the header that is not itself a trusted proxy.
type ClientIPConfig struct {
	Header         string
	TrustedProxies []netip.Prefix
}
