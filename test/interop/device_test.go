package interop

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// kubeloginDevice runs get-token with --grant-type=device-code: the
// browser opens the verification_uri_complete kubelogin prints and logs
// the person in while kubelogin polls.
func (s *suite) kubeloginDevice(t *testing.T, src *source, args []string) execCredential {
	t.Helper()
	return s.kubeloginVisit(t, src, args, func(b *browser, u string) (*page, error) {
		p, err := b.deviceLogin(u, src.ConnectorID, src.Who)
		if err == nil && (p.Status != http.StatusOK || !strings.HasSuffix(p.URL.Path, "/device/callback") || !strings.Contains(p.Body, "Return to your device")) {
			t.Errorf("the device login did not end on /device/callback: %s", p)
		}
		return p, err
	})
}

// deviceLogin is a person's visit to a device login link: the code is
// already filled in, they submit it, confirm that they started it, log in
// and approve.
func (b *browser) deviceLogin(start, connectorID string, who person) (*page, error) {
	p, err := b.get(start)
	if err != nil {
		return nil, err
	}
	fs, err := forms(p.Body)
	if err != nil || len(fs) == 0 || fs[0].Fields.Get("user_code") == "" {
		return nil, fmt.Errorf("no pre-filled user code form: %v %s", err, p)
	}
	if p, err = b.submit(p, fs[0], nil); err != nil {
		return nil, err
	}
	fs, err = forms(p.Body)
	if err != nil {
		return nil, err
	}
	var confirm *form
	for i := range fs {
		if fs[i].Fields.Get("confirm") == "yes" {
			confirm = &fs[i]
		}
	}
	if confirm == nil {
		return nil, fmt.Errorf("no confirmation form: %s", p)
	}
	if p, err = b.submit(p, *confirm, nil); err != nil {
		return nil, err
	}
	if p, err = b.chooseConnector(p, connectorID); err != nil {
		return nil, err
	}
	f, err := passwordForm(p)
	if err != nil {
		return nil, err
	}
	if p, err = b.submit(p, f, map[string]string{"login": who.Login, "password": who.Password}); err != nil {
		return nil, err
	}
	return b.approve(p)
}
