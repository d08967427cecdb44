package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/deploy/base/crds"
	"github.com/torii-idp/torii/storage"
)

// crdTimeout bounds the wait for a created CRD to be served.
const crdTimeout = 30 * time.Second

// ensureCRDs checks that every torii kind is served and creates the CRD of
// each missing one (the manifests of deploy/base/crds, embedded). Without
// the right to create CRDs, the error names the missing CRDs and the rule
// to grant, or the manifests to apply.
func (s *Storage) ensureCRDs(ctx context.Context) error {
	var missing []string
	for _, plural := range Plurals() {
		r := resources[struct{}]{s, plural}
		err := s.c.do(ctx, "check "+plural, http.MethodGet, r.path(""), url.Values{"limit": {"1"}}, nil, nil)
		var ae *apiError
		switch {
		case err == nil:
		case errors.As(err, &ae) && ae.Code == http.StatusNotFound:
			missing = append(missing, plural)
		case isForbidden(err):
			return fmt.Errorf("kubernetes storage: the service account may not list %s.%s in namespace %s: grant get, list, create, update, delete and deletecollection on dex.coreos.com %s (deploy/base/rbac.yaml): %w",
				plural, Group, s.namespace, strings.Join(Plurals(), ", "), err)
		default:
			return fmt.Errorf("kubernetes storage: %w", err)
		}
	}
	var forbidden []string
	for _, plural := range missing {
		manifest, err := CRD(plural)
		if err != nil {
			return err
		}
		err = s.c.do(ctx, "create CRD "+plural, http.MethodPost, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", nil, manifest, nil)
		switch {
		case err == nil:
			s.logger.InfoContext(ctx, "created CustomResourceDefinition", "crd", plural+"."+Group)
		case isAlreadyExists(err): // another replica was first
		case isForbidden(err):
			forbidden = append(forbidden, plural+"."+Group)
			continue
		default:
			return fmt.Errorf("kubernetes storage: create CRD %s.%s: %w", plural, Group, err)
		}
		if err := s.waitServed(ctx, plural); err != nil {
			return err
		}
	}
	if len(forbidden) > 0 {
		return fmt.Errorf("kubernetes storage: CustomResourceDefinitions %s are missing and torii may not create them: "+
			"apply deploy/base/crds (kubectl apply -k deploy/base/crds), or grant the service account create on "+
			"customresourcedefinitions in apiGroup apiextensions.k8s.io (a ClusterRole, as deploy/base/rbac.yaml)", strings.Join(forbidden, ", "))
	}
	return nil
}

func isAlreadyExists(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Code == http.StatusConflict && ae.Reason == "AlreadyExists"
}

// waitServed polls until the API server serves a freshly created kind.
func (s *Storage) waitServed(ctx context.Context, plural string) error {
	ctx, cancel := context.WithTimeout(ctx, crdTimeout)
	defer cancel()
	r := resources[struct{}]{s, plural}
	for attempt := 0; ; attempt++ {
		err := s.c.do(ctx, "check "+plural, http.MethodGet, r.path(""), url.Values{"limit": {"1"}}, nil, nil)
		var ae *apiError
		if err == nil {
			return nil
		}
		// Not yet served: 404, or a 503 while the API server installs it.
		if ctx.Err() == nil && !errors.Is(err, storage.ErrUnavailable) && (!errors.As(err, &ae) || ae.Code != http.StatusNotFound) {
			return fmt.Errorf("kubernetes storage: waiting for CRD %s.%s: %w", plural, Group, err)
		}
		t := time.NewTimer(time.Duration(min(attempt+1, 10)) * 50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("kubernetes storage: CRD %s.%s created but not served after %s: %w", plural, Group, crdTimeout, ctx.Err())
		case <-t.C:
		}
	}
}

// CRD returns the CustomResourceDefinition of a plural (from
// deploy/base/crds/PLURAL.yaml) as a JSON-ready value.
func CRD(plural string) (map[string]any, error) {
	b, err := fs.ReadFile(crds.Manifests, plural+".yaml")
	if err != nil {
		return nil, fmt.Errorf("kubernetes storage: no CRD manifest for %s: %w", plural, err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("kubernetes storage: CRD manifest %s.yaml: %w", plural, err)
	}
	return m, nil
}
