package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// DexObjects reads the custom resources Dex's own kubernetes storage keeps
// in dex.coreos.com (signingkeies, refreshtokens, ...), for import-dex. It
// has only GET and LIST: it cannot change one of Dex's objects.
type DexObjects struct {
	c         *client
	namespace string
	server    string
}

// OpenDexObjects connects as cfg says (inCluster or kubeConfigFile, as for
// torii's storage) without touching any CRD.
func OpenDexObjects(cfg Config) (*DexObjects, error) {
	conn, err := cfg.connect()
	if err != nil {
		return nil, fmt.Errorf("Dex's kubernetes storage: %w", err)
	}
	return &DexObjects{c: conn.client, namespace: conn.namespace, server: conn.client.base}, nil
}

// Namespace is where Dex's objects are read from (Dex's own rule: the
// pod's namespace in cluster, the kubeconfig context's otherwise).
func (d *DexObjects) Namespace() string { return d.namespace }

// Server is the API server's base URL.
func (d *DexObjects) Server() string { return d.server }

// Close releases idle connections.
func (d *DexObjects) Close() error {
	d.c.http.CloseIdleConnections()
	return nil
}

func (d *DexObjects) path(plural, name string) string {
	p := "/apis/" + Group + "/" + Version + "/namespaces/" + url.PathEscape(d.namespace) + "/" + url.PathEscape(plural)
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// listPage is the size of one page of a list.
const listPage = 500

// listRestarts bounds how often a list starts again because its continue
// token expired (etcd compacted the revision it read at).
const listRestarts = 3

// List calls fn with every object of a kind in the namespace, a page of
// listPage at a time (limit and continue). Objects come from one snapshot
// of the list; if the API server drops it midway (410 Gone: the continue
// token expired), List starts again with reset, which must forget what fn
// was given.
func (d *DexObjects) List(ctx context.Context, plural string, reset func(), fn func(raw []byte) error) error {
	for restart := 0; ; restart++ {
		err := d.listOnce(ctx, plural, fn)
		var ae *apiError
		if errors.As(err, &ae) && ae.Code == http.StatusGone && restart < listRestarts {
			reset()
			continue
		}
		return err
	}
}

func (d *DexObjects) listOnce(ctx context.Context, plural string, fn func(raw []byte) error) error {
	q := url.Values{"limit": {fmt.Sprint(listPage)}}
	for {
		var page struct {
			Metadata struct {
				Continue string `json:"continue"`
			} `json:"metadata"`
			Items []json.RawMessage `json:"items"`
		}
		if err := d.c.do(ctx, "list "+plural, http.MethodGet, d.path(plural, ""), q, nil, &page); err != nil {
			if ae := (*apiError)(nil); errors.As(err, &ae) && ae.Code == http.StatusGone {
				return err
			}
			return d.explain(plural, err)
		}
		for _, raw := range page.Items {
			if err := fn(raw); err != nil {
				return err
			}
		}
		if page.Metadata.Continue == "" {
			return nil
		}
		q.Set("continue", page.Metadata.Continue)
	}
}

// explain adds what the operator can do to a refusal or an unknown kind.
func (d *DexObjects) explain(plural string, err error) error {
	var ae *apiError
	switch {
	case isForbidden(err):
		return fmt.Errorf("may not read Dex's %s.%s in namespace %s: grant get and list on dex.coreos.com %s (deploy/components/import-dex): %w",
			plural, Group, d.namespace, strings.Join(DexPlurals(), ", "), err)
	case errors.As(err, &ae) && ae.Code == http.StatusNotFound:
		// A list has no object to miss: a 404 is the kind itself (the
		// API server answers "404 page not found" or a NotFound Status).
		return fmt.Errorf("%s.%s is not served by %s: Dex creates its CRDs at its first start on kubernetes storage; is this Dex's cluster? %w",
			plural, Group, d.server, err)
	}
	return err
}

// DexPlurals are the kinds of Dex's storage the import reads.
func DexPlurals() []string {
	return []string{"signingkeies", "refreshtokens", "oauth2clients", "passwords", "offlinesessionses", "connectors"}
}
