package kubernetes_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"gopkg.in/yaml.v3"
)

// rule is one RBAC PolicyRule; namespaced rules (from a Role) apply in
// every namespace here, as each test's store has a namespace of its own.
type rule struct {
	APIGroups []string `yaml:"apiGroups"`
	Resources []string `yaml:"resources"`
	Verbs     []string `yaml:"verbs"`
}

func (r rule) allows(group, resource, verb string) bool {
	match := func(list []string, v string) bool { return slices.Contains(list, v) || slices.Contains(list, "*") }
	return match(r.APIGroups, group) && match(r.Resources, resource) && match(r.Verbs, verb)
}

type subject struct {
	user  string
	rules []rule
}

// authz is the webhook the API server delegates authentication
// (TokenReview) and authorization (SubjectAccessReview) to.
type authz struct {
	srv *httptest.Server
	url string

	mu     sync.Mutex
	tokens map[string]subject
	seen   map[string]int // requests authenticated, by token
}

func newAuthz() (*authz, error) {
	a := &authz{tokens: map[string]subject{}, seen: map[string]int{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	a.url = a.srv.URL
	return a, nil
}

func (a *authz) close() { a.srv.Close() }

func (a *authz) kubeconfig() string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: webhook
contexts:
- name: webhook
  context: {cluster: webhook, user: apiserver}
clusters:
- name: webhook
  cluster: {server: %q}
users:
- name: apiserver
  user: {}
`, a.url)
}

// grant makes token authenticate as user with rules.
func (a *authz) grant(token, user string, rules []rule) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[token] = subject{user: user, rules: rules}
}

func (a *authz) revoke(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.tokens, token)
}

func (a *authz) used(token string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen[token]
}

func (a *authz) serve(w http.ResponseWriter, r *http.Request) {
	var req struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			Token              string   `json:"token"`
			Audiences          []string `json:"audiences"`
			User               string   `json:"user"`
			ResourceAttributes *struct {
				Namespace, Verb, Group, Resource, Subresource, Name string
			} `json:"resourceAttributes"`
		} `json:"spec"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	status := map[string]any{}
	a.mu.Lock()
	switch r.URL.Path {
	case "/apis/authentication.k8s.io/v1/tokenreviews":
		s, ok := a.tokens[req.Spec.Token]
		status["authenticated"] = ok
		if ok {
			a.seen[req.Spec.Token]++
			status["user"] = map[string]any{"username": s.user, "groups": []string{"system:authenticated"}}
			status["audiences"] = req.Spec.Audiences
		}
	case "/apis/authorization.k8s.io/v1/subjectaccessreviews":
		allowed := false
		if ra := req.Spec.ResourceAttributes; ra == nil {
			allowed = true // non-resource paths (/version, /healthz): any authenticated user
		} else {
			for _, s := range a.tokens {
				if s.user != req.Spec.User {
					continue
				}
				resource := ra.Resource
				if ra.Subresource != "" {
					resource += "/" + ra.Subresource
				}
				for _, rl := range s.rules {
					allowed = allowed || rl.allows(ra.Group, resource, ra.Verb)
				}
			}
		}
		status["allowed"] = allowed
		if !allowed {
			status["reason"] = "no RBAC rule allows it"
		}
	default:
		a.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": req.APIVersion, "kind": req.Kind, "status": status})
}

// repoRoot is the repository's top directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// manifestRules reads the rules of every Role and ClusterRole in a
// manifest file (such as deploy/base/rbac.yaml); roles limits them to the
// named kinds ("Role", "ClusterRole").
func manifestRules(path string, kinds ...string) ([]rule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []rule
	for {
		var doc struct {
			Kind  string `yaml:"kind"`
			Rules []rule `yaml:"rules"`
		}
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if slices.Contains(kinds, doc.Kind) {
			out = append(out, doc.Rules...)
		}
	}
}
