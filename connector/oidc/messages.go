package oidc

// What a person sees when a login through the provider fails. They are
// kept here, in one place, so they can move to the message catalogs; none
// reveals more than the kind of failure (the cause is logged).
const (
	msgDenied          = "The identity provider did not allow the login."
	msgUpstreamError   = "The identity provider could not complete the login. Try again, or contact your administrator."
	msgNoCode          = "The identity provider sent no authorization code back. Start again from the application."
	msgExchangeFailed  = "The identity provider refused to complete the login (the authorization code was not accepted). Start again from the application."
	msgBadIDToken      = "The identity provider's answer could not be verified, so the login was refused. Contact your administrator if this keeps happening."
	msgMissingClaim    = "The identity provider did not say enough about your account (a required claim is missing). Contact your administrator."
	msgEmailUnverified = "Your email address is not verified at the identity provider."
	msgNotInGroups     = "Your account is not a member of a group allowed to log in here."
	msgWrongDomain     = "Your account's domain is not allowed to log in here."
	msgGroupOverage    = "Your account is a member of too many groups for the identity provider to list them in the login, so your groups cannot be checked. Contact your administrator (Azure AD group overage)."
	msgUnavailable     = "The identity provider did not answer; try again in a moment."
)
