package kubernetes

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Group and Version of torii's custom resources.
const (
	Group   = "dex.coreos.com"
	Version = "v1"
)

// The plurals of torii's kinds (deploy/base/crds/PLURAL.yaml).
const (
	pluralAuthCodes       = "toriiauthcodes"
	pluralAuthRequests    = "toriiauthrequests"
	pluralClients         = "toriiclients"
	pluralDeviceRequests  = "toriidevicerequests"
	pluralDeviceUserCodes = "toriideviceusercodes"
	pluralLogouts         = "toriilogoutdeliveries"
	pluralKeys            = "toriikeys"
	pluralLocks           = "toriilocks"
	pluralPasswords       = "toriipasswords"
	pluralRefreshTokens   = "toriirefreshtokens"
	pluralRevokedGrants   = "toriirevokedgrants"
	pluralSessions        = "toriisessions"
	pluralThrottles       = "toriithrottles"
)

// Labels: a refresh token carries its hashed family (RevokeGrant deletes
// the family in one deletecollection) and, like a session, its hashed
// (connector, user).
const (
	labelFamily = "torii.dex.coreos.com/family"
	labelUser   = "torii.dex.coreos.com/user"
	// labelSession: a refresh token issued from a browser session carries
	// the session's hashed ID (logout revokes by it).
	labelSession = "torii.dex.coreos.com/session"
)

// kindOf is the Kind of a plural (torii + the singular, capitalised).
func kindOf(plural string) string {
	switch plural {
	case pluralAuthCodes:
		return "ToriiAuthCode"
	case pluralAuthRequests:
		return "ToriiAuthRequest"
	case pluralClients:
		return "ToriiClient"
	case pluralDeviceRequests:
		return "ToriiDeviceRequest"
	case pluralDeviceUserCodes:
		return "ToriiDeviceUserCode"
	case pluralLogouts:
		return "ToriiLogoutDelivery"
	case pluralKeys:
		return "ToriiKeys"
	case pluralLocks:
		return "ToriiLock"
	case pluralPasswords:
		return "ToriiPassword"
	case pluralRefreshTokens:
		return "ToriiRefreshToken"
	case pluralRevokedGrants:
		return "ToriiRevokedGrant"
	case pluralSessions:
		return "ToriiSession"
	case pluralThrottles:
		return "ToriiThrottle"
	}
	panic("kubernetes: unknown plural " + plural)
}

// Plurals lists torii's resources in dex.coreos.com.
func Plurals() []string {
	return []string{pluralAuthCodes, pluralAuthRequests, pluralClients, pluralDeviceRequests, pluralDeviceUserCodes,
		pluralKeys, pluralLocks, pluralLogouts,
		pluralPasswords, pluralRefreshTokens, pluralRevokedGrants, pluralSessions, pluralThrottles}
}

// objectName is the object name of an ID: its SHA-256 in hex, a valid
// DNS-1123 subdomain whatever the ID (length, case, characters), and no
// two IDs share one.
func objectName(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// labelValue hashes parts into a label value (at most 63 characters of
// [a-z2-7], as label values must be).
func labelValue(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil)))
}

type meta struct {
	Name            string            `json:"name"`
	Namespace       string            `json:"namespace,omitempty"`
	ResourceVersion string            `json:"resourceVersion,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
}

// object is one custom resource; Spec is the stored record.
type object[T any] struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   meta   `json:"metadata"`
	Spec       T      `json:"spec"`
}

type objectList[T any] struct {
	Metadata struct {
		Continue string `json:"continue"`
	} `json:"metadata"`
	Items []object[T] `json:"items"`
}

// resources reads and writes one kind in the storage's namespace.
type resources[T any] struct {
	s      *Storage
	plural string
}

func (r resources[T]) path(name string) string {
	p := "/apis/" + Group + "/" + Version + "/namespaces/" + r.s.namespace + "/" + r.plural
	if name != "" {
		p += "/" + name
	}
	return p
}

func (r resources[T]) newObject(id string, spec T, labels map[string]string) object[T] {
	return object[T]{
		APIVersion: Group + "/" + Version,
		Kind:       kindOf(r.plural),
		Metadata:   meta{Name: objectName(id), Labels: labels},
		Spec:       spec,
	}
}

func (r resources[T]) create(ctx context.Context, id string, spec T, labels map[string]string) error {
	obj := r.newObject(id, spec, labels)
	return r.s.c.do(ctx, "create "+r.plural, http.MethodPost, r.path(""), nil, obj, nil)
}

func (r resources[T]) get(ctx context.Context, id string) (object[T], error) {
	var obj object[T]
	err := r.s.c.do(ctx, "get "+r.plural, http.MethodGet, r.path(objectName(id)), nil, nil, &obj)
	return obj, err
}

// put replaces obj; its resourceVersion makes it conditional (409 when the
// object changed since it was read).
func (r resources[T]) put(ctx context.Context, obj object[T]) (object[T], error) {
	var out object[T]
	err := r.s.c.do(ctx, "update "+r.plural, http.MethodPut, r.path(obj.Metadata.Name), nil, obj, &out)
	return out, err
}

// remove deletes by name; a non-empty resourceVersion makes it conditional.
func (r resources[T]) remove(ctx context.Context, name, resourceVersion string) error {
	var body any
	if resourceVersion != "" {
		body = map[string]any{
			"apiVersion":    "v1",
			"kind":          "DeleteOptions",
			"preconditions": map[string]string{"resourceVersion": resourceVersion},
		}
	}
	return r.s.c.do(ctx, "delete "+r.plural, http.MethodDelete, r.path(name), nil, body, nil)
}

func (r resources[T]) delete(ctx context.Context, id string) error {
	return r.remove(ctx, objectName(id), "")
}

// deleteAll deletes every object matching the label selector in one call
// and returns how many went.
func (r resources[T]) deleteAll(ctx context.Context, selector string) (int64, error) {
	var out objectList[T]
	q := url.Values{"labelSelector": {selector}}
	err := r.s.c.do(ctx, "deletecollection "+r.plural, http.MethodDelete, r.path(""), q, nil, &out)
	return int64(len(out.Items)), err
}

// pageSize is the limit of one list call: every list pages with continue.
const pageSize = 500

// each calls fn for every object (matching selector, if any), a page of
// pageSize at a time.
func (r resources[T]) each(ctx context.Context, selector string, fn func(object[T]) error) error {
	q := url.Values{"limit": {fmt.Sprint(pageSize)}}
	if selector != "" {
		q.Set("labelSelector", selector)
	}
	for {
		var page objectList[T]
		if err := r.s.c.do(ctx, "list "+r.plural, http.MethodGet, r.path(""), q, nil, &page); err != nil {
			return err
		}
		for _, o := range page.Items {
			if err := fn(o); err != nil {
				return err
			}
		}
		if page.Metadata.Continue == "" {
			return nil
		}
		q.Set("continue", page.Metadata.Continue)
	}
}

// page is one list call of at most limit objects, from the continue
// token cont ("" for the first page).
func (r resources[T]) page(ctx context.Context, cont string, limit int) (objectList[T], error) {
	q := url.Values{"limit": {fmt.Sprint(limit)}}
	if cont != "" {
		q.Set("continue", cont)
	}
	var page objectList[T]
	err := r.s.c.do(ctx, "list "+r.plural, http.MethodGet, r.path(""), q, nil, &page)
	return page, err
}

func (r resources[T]) list(ctx context.Context, selector string) ([]object[T], error) {
	var out []object[T]
	err := r.each(ctx, selector, func(o object[T]) error { out = append(out, o); return nil })
	return out, err
}

// update is optimistic concurrency: read, apply fn, write back with the
// read resourceVersion; a conflict (another replica wrote in between)
// starts again from a fresh read. fn may thus run more than once; its own
// error aborts and is returned unchanged. Creating when missing is
// create's job: a missing object is storage.ErrNotFound, fn not called.
func (r resources[T]) update(ctx context.Context, id string, fn func(T) (T, error), labels func(T) map[string]string) error {
	for attempt := 0; ; attempt++ {
		obj, err := r.get(ctx, id)
		if err != nil {
			return err
		}
		next, err := fn(obj.Spec)
		if err != nil {
			return err
		}
		obj.Spec = next
		if labels != nil {
			obj.Metadata.Labels = labels(next)
		}
		if _, err := r.put(ctx, obj); !isConflict(err) {
			return err
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

// backoff waits a little, more with every attempt, with jitter so that
// replicas that conflicted do not collide again in step.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(1+min(attempt, 6)*3) * time.Millisecond
	d += time.Duration(rand.Int64N(int64(d)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
