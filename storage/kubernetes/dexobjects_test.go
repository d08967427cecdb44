package kubernetes

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeAPI answers list calls of dex.coreos.com in namespace auth with n
// objects per kind, in pages of the limit asked for. gone makes the first
// continued page of that plural answer 410 once; forbidden and unserved
// plurals answer 403 and the API server's 404 for an unknown resource.
type fakeAPI struct {
	n                 int
	gone              string
	forbidden         string
	unserved          string
	mu                sync.Mutex
	methods, requests []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.methods = append(f.methods, r.Method)
	f.requests = append(f.requests, r.URL.RequestURI())
	gone := f.gone
	if r.URL.Query().Get("continue") != "" && gone != "" && strings.HasSuffix(r.URL.Path, "/"+gone) {
		f.gone = ""
	} else {
		gone = ""
	}
	f.mu.Unlock()
	status := func(code int, reason, msg string) {
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":%q,"message":%q,"code":%d}`, reason, msg, code)
	}
	if r.Header.Get("Authorization") != "Bearer reader" {
		status(http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	prefix := "/apis/dex.coreos.com/v1/namespaces/auth/"
	plural := strings.TrimPrefix(r.URL.Path, prefix)
	switch {
	case r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, prefix):
		status(http.StatusMethodNotAllowed, "MethodNotAllowed", "not here")
		return
	case gone != "":
		status(http.StatusGone, "Expired", "The provided continue parameter is too old")
		return
	case plural == f.forbidden:
		status(http.StatusForbidden, "Forbidden", "no RBAC rule allows it")
		return
	case plural == f.unserved:
		status(http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	from, _ := strconv.Atoi(r.URL.Query().Get("continue"))
	to := min(from+limit, f.n)
	var page struct {
		Metadata struct {
			Continue string `json:"continue,omitempty"`
		} `json:"metadata"`
		Items []map[string]any `json:"items"`
	}
	page.Items = []map[string]any{}
	for i := from; i < to; i++ {
		page.Items = append(page.Items, map[string]any{"metadata": map[string]string{"name": fmt.Sprintf("%s-%05d", plural, i)}})
	}
	if to < f.n {
		page.Metadata.Continue = strconv.Itoa(to)
	}
	_ = json.NewEncoder(w).Encode(page)
}

func openFake(t *testing.T, api *fakeAPI) *DexObjects {
	t.Helper()
	srv := httptest.NewTLSServer(api)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	kc := fmt.Sprintf(`current-context: c
contexts: [{name: c, context: {cluster: k, user: u, namespace: auth}}]
clusters: [{name: k, cluster: {server: %q, certificate-authority: ca.crt}}]
users: [{name: u, user: {token: reader}}]
`, srv.URL)
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDexObjects(Config{KubeConfigFile: filepath.Join(dir, "kubeconfig")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if d.Namespace() != "auth" {
		t.Fatalf("namespace %q", d.Namespace())
	}
	return d
}

func collect(t *testing.T, d *DexObjects, plural string) ([]string, error) {
	var names []string
	err := d.List(context.Background(), plural, func() { names = nil }, func(raw []byte) error {
		var o struct {
			Metadata struct{ Name string } `json:"metadata"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			return err
		}
		names = append(names, o.Metadata.Name)
		return nil
	})
	return names, err
}

func TestDexObjectsList(t *testing.T) {
	api := &fakeAPI{n: 2*listPage + 7, gone: "refreshtokens"}
	d := openFake(t, api)
	for _, plural := range []string{"passwords", "refreshtokens"} {
		names, err := collect(t, d, plural)
		if err != nil {
			t.Fatal(err)
		}
		if len(names) != api.n || names[0] != plural+"-00000" || names[api.n-1] != fmt.Sprintf("%s-%05d", plural, api.n-1) {
			t.Fatalf("%s: %d objects (%v...)", plural, len(names), names[:min(3, len(names))])
		}
		seen := map[string]bool{}
		for _, n := range names {
			if seen[n] {
				t.Fatalf("%s: %s twice (the restarted list was not reset)", plural, n)
			}
			seen[n] = true
		}
	}
	for _, m := range api.methods {
		if m != http.MethodGet {
			t.Fatalf("a %s request: the reader must only read", m)
		}
	}
	// 3 pages of passwords; refreshtokens: 1 page, a 410, then 3 pages.
	if len(api.requests) != 3+1+1+3 {
		t.Fatalf("%d requests: %v", len(api.requests), api.requests)
	}
	if !strings.Contains(api.requests[0], "limit=500") || !strings.Contains(api.requests[1], "continue=500") {
		t.Fatalf("not paginated: %v", api.requests[:2])
	}
}

func TestDexObjectsErrors(t *testing.T) {
	api := &fakeAPI{n: 1, forbidden: "passwords", unserved: "connectors"}
	d := openFake(t, api)
	if _, err := collect(t, d, "passwords"); err == nil || !strings.Contains(err.Error(), "grant get and list on dex.coreos.com signingkeies, refreshtokens") ||
		!strings.Contains(err.Error(), "namespace auth") {
		t.Fatalf("forbidden: %v", err)
	}
	if _, err := collect(t, d, "connectors"); err == nil || !strings.Contains(err.Error(), "connectors.dex.coreos.com is not served") {
		t.Fatalf("unserved: %v", err)
	}
}
