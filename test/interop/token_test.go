package interop

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// tokenResponse is RFC 6749 §5.1 plus id_token.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// passwordGrant asks torii's token endpoint for tokens with
// grant_type=password (what kubelogin --grant-type=password sends). It
// fails the test with the exact request and response when torii refuses.
func (s *suite) passwordGrant(t *testing.T, tp *toriiProc, clientID, secret string, who person, scope string) tokenResponse {
	t.Helper()
	form := url.Values{
		"grant_type": {"password"},
		"username":   {who.Login},
		"password":   {who.Password},
		"scope":      {scope},
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, tp.Issuer+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := s.ca.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tr tokenResponse
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tr) != nil || tr.IDToken == "" {
		t.Fatalf("password grant refused:\nPOST %s/token (client %s, username %s, scope %q)\nHTTP %d\n%s\n--- torii log:\n%s",
			tp.Issuer, clientID, who.Login, scope, resp.StatusCode, body, tail(tp.LogFile, 15))
	}
	return tr
}

// jwtClaims decodes a JWT's payload without checking anything: the clients
// under test do the checking.
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return c
}

func stringList(v any) []string {
	raw, _ := v.([]any)
	out := make([]string, 0, len(raw))
	for _, x := range raw {
		out = append(out, fmt.Sprint(x))
	}
	return out
}
