package oidc

import "github.com/torii-idp/torii/connector"

// message is what a person sees when a login through the provider fails:
// a key of torii's catalogs (web/i18n), which has the translations, and
// the English text for logs and for clients told through an error
// redirect. None reveals more than the kind of failure (the cause is
// logged).
type message struct{ Key, Text string }

func (m message) refusal() *connector.LoginError {
	return &connector.LoginError{Message: m.Text, Key: m.Key}
}

var (
	msgDenied          = message{Key: "oidc.denied", Text: "The identity provider did not allow the login."}
	msgUpstreamError   = message{Key: "oidc.upstream_error", Text: "The identity provider could not complete the login. Try again, or contact your administrator."}
	msgNoCode          = message{Key: "oidc.no_code", Text: "The identity provider sent no authorization code back. Start again from the application."}
	msgExchangeFailed  = message{Key: "oidc.exchange_failed", Text: "The identity provider refused to complete the login (the authorization code was not accepted). Start again from the application."}
	msgBadIDToken      = message{Key: "oidc.bad_id_token", Text: "The identity provider's answer could not be verified, so the login was refused. Contact your administrator if this keeps happening."}
	msgMissingClaim    = message{Key: "oidc.missing_claim", Text: "The identity provider did not say enough about your account (a required claim is missing). Contact your administrator."}
	msgEmailUnverified = message{Key: "oidc.email_unverified", Text: "Your email address is not verified at the identity provider."}
	msgNotInGroups     = message{Key: "oidc.not_in_groups", Text: "Your account is not a member of a group allowed to log in here."}
	msgWrongDomain     = message{Key: "oidc.wrong_domain", Text: "Your account's domain is not allowed to log in here."}
	msgGroupOverage    = message{Key: "oidc.group_overage", Text: "Your account is a member of too many groups for the identity provider to list them in the login, so your groups cannot be checked. Contact your administrator (Azure AD group overage)."}
)

// Token exchange refusals go to a client (an error response of /token),
// never to a person's page: English only, without a catalog key.
var (
	msgExchangeAudience     = message{Text: "the subject token was not issued to this connector's client"}
	msgExchangeIDTokensOnly = message{Text: "this connector accepts only ID tokens (access tokens need getUserInfo)"}
)
