// Package interop runs the real torii binary against the real programs
// people point at an OpenID Connect provider (kube-apiserver's OIDC
// authenticator, oauth2-proxy, kubelogin, openid-client, Chromium) and
// checks that each one works. Everything is in the tests; see
// README.md ("Works with").
package interop
