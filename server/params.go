package server

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"unicode/utf8"

	"github.com/torii-idp/torii/server/oauth2"
)

// maxParamLen bounds every parameter value of an authorization or token
// request: state, nonce and the rest are stored (an auth request lives
// for minutes to a day) or echoed, and nothing legitimate comes near it.
const maxParamLen = 4096

// authorizeParams and tokenParams are the parameters RFC 6749 §3.1 (and
// OIDC Core §3.1.2.1, RFC 7636) define for each endpoint; each may be given
// at most once.
var (
	authorizeParams = []string{"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "nonce",
		"code_challenge", "code_challenge_method", "prompt", "connector_id", "login_hint", "max_age", "display",
		"ui_locales", "id_token_hint", "acr_values", "claims", "request", "request_uri"}
	tokenParams = []string{"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope",
		"username", "password", "client_id", "client_secret",
		"connector_id", "subject_token", "subject_token_type", "requested_token_type", "audience", "device_code"}
)

// checkParams refuses a value longer than maxParamLen and any of the
// endpoint's parameters given more than once; only names listed in only
// are looked at (nil: every parameter).
func checkParams(v url.Values, defined, only []string) error {
	names := make([]string, 0, len(v))
	for k := range v {
		if only == nil || slices.Contains(only, k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		if len(k) > maxParamLen {
			return oauth2.InvalidRequest(fmt.Sprintf("a parameter name is longer than %d bytes", maxParamLen))
		}
		if len(v[k]) > 1 && slices.Contains(defined, k) {
			return oauth2.InvalidRequest(quote(k) + " is given more than once")
		}
		for _, val := range v[k] {
			if len(val) > maxParamLen {
				return oauth2.InvalidRequest(fmt.Sprintf("%s is longer than %d bytes", quote(k), maxParamLen))
			}
		}
	}
	return nil
}

// maxLogged bounds what of an input a log line carries.
const maxLogged = 256

// truncate shortens an input for a log line, saying how long it was.
func truncate(s string) string {
	if len(s) <= maxLogged {
		return s
	}
	cut := maxLogged
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s))
}
