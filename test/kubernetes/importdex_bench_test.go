package kubernetes_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/torii-idp/torii/internal/dexmigrate"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/kubernetes"
	"github.com/torii-idp/torii/storage/memory"
)

// BenchmarkImportDex measures the import of Dex's kubernetes storage with
// N refresh tokens (objects in Dex's v2.45.1 shape, seeded through the
// API): "read" lists them (the baseline), "memory" reads and imports into
// memory storage (the import's own cost), "kubernetes" reads and imports
// into torii's kubernetes storage on the same API server (a namespace of
// its own each time), one token at a time (the default) and 8 at once:
//
//	cd test/kubernetes && go test -run '^$' -bench ImportDex -benchtime 1x .
func BenchmarkImportDex(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	admin := newAPI(b, shared, newToken(shared, "admin", []rule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}))
	ensureDexCRDs(b, admin)
	ns := namespace("dexbench")
	seedDex(b, admin, ns, n)
	reader := newToken(shared, "system:serviceaccount:"+ns+":torii", importRules(b))
	kc := shared.kubeconfig(b, reader, ns)
	read := func(b *testing.B) dexmigrate.Snapshot {
		objs, err := kubernetes.OpenDexObjects(kubernetes.Config{KubeConfigFile: kc})
		if err != nil {
			b.Fatal(err)
		}
		defer objs.Close()
		snap, err := dexmigrate.ReadObjects(ctx, objs)
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.RefreshTokens) != n {
			b.Fatalf("read %d tokens, want %d", len(snap.RefreshTokens), n)
		}
		return snap
	}
	opts := dexmigrate.Options{Connectors: map[string]bool{"local": true}, Clients: map[string]bool{dexClientID: true},
		Refresh: server.RefreshExpiry{ReuseInterval: time.Second}}
	imp := func(b *testing.B, store storage.Storage, workers int) {
		o := opts
		o.Workers = workers
		rep, err := dexmigrate.Import(ctx, read(b), store, o)
		if err != nil {
			b.Fatal(err)
		}
		if got := rep.Count(dexmigrate.KindRefreshToken, dexmigrate.Imported); got != n {
			b.Fatalf("imported %d tokens, want %d", got, n)
		}
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
	}
	b.Run("read", func(b *testing.B) {
		for range b.N {
			read(b)
		}
		report(b)
	})
	b.Run("memory", func(b *testing.B) {
		for range b.N {
			imp(b, memory.New(), 0)
		}
		report(b)
	})
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("kubernetes/workers=%d", workers), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				store := openStore(b, shared, namespace("toriibench"), saRules(b))
				b.StartTimer()
				imp(b, store, workers)
			}
			report(b)
		})
	}
}

// ensureDexCRDs creates Dex's CRDs as Dex does (schemaless, namespaced)
// when the Dex test did not run first, and waits until they are served.
func ensureDexCRDs(b *testing.B, a *restAPI) {
	b.Helper()
	singular := map[string]string{"signingkeies": "signingkey", "offlinesessionses": "offlinesessions"}
	kinds := map[string]string{"signingkeies": "SigningKey", "refreshtokens": "RefreshToken", "oauth2clients": "OAuth2Client",
		"passwords": "Password", "offlinesessionses": "OfflineSessions", "connectors": "Connector"}
	for plural, kind := range kinds {
		s := singular[plural]
		if s == "" {
			s = plural[:len(plural)-1]
		}
		crd := map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": plural + ".dex.coreos.com"},
			"spec": map[string]any{"group": "dex.coreos.com", "scope": "Namespaced",
				"names": map[string]any{"plural": plural, "singular": s, "kind": kind},
				"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
					"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}},
		}
		code, body, err := a.do(b.Context(), http.MethodPost, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
		if err != nil || (code != http.StatusCreated && code != http.StatusConflict) {
			b.Fatalf("create CRD %s: %d %v %s", plural, code, err, body)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for plural := range kinds {
		for {
			code, _, err := a.do(b.Context(), http.MethodGet, "/apis/dex.coreos.com/v1/namespaces/default/"+plural+"?limit=1", nil)
			if err == nil && code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s not served: %d %v", plural, code, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// seedDex writes Dex's keys object and n refresh tokens into ns, in the
// JSON Dex v2.45.1 writes.
func seedDex(b *testing.B, a *restAPI, ns string, n int) {
	b.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	pub, err := json.Marshal(jose.JSONWebKey{Key: &k.PublicKey, KeyID: "dex-bench", Algorithm: "RS256", Use: "sig"})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	post := func(plural string, obj map[string]any) {
		obj["apiVersion"] = "dex.coreos.com/v1"
		code, body, err := a.do(b.Context(), http.MethodPost, "/apis/dex.coreos.com/v1/namespaces/"+ns+"/"+plural, obj)
		if err != nil || code != http.StatusCreated {
			b.Fatalf("create %s: %d %v %s", plural, code, err, body)
		}
	}
	post("signingkeies", map[string]any{"kind": "SigningKey", "metadata": map[string]any{"name": "openid-connect-keys"},
		"signingKeyPub": json.RawMessage(pub), "nextRotation": now.Add(6 * time.Hour)})
	for i := range n {
		post("refreshtokens", map[string]any{"kind": "RefreshToken", "metadata": map[string]any{"name": fmt.Sprintf("bench%06d", i)},
			"CreatedAt": now.Add(-time.Hour), "LastUsed": now.Add(-time.Minute),
			"clientID": dexClientID, "scopes": []string{"openid", "email", "groups", "offline_access"},
			"token": fmt.Sprintf("secret%06d", i), "nonce": "n",
			"claims":      map[string]any{"userID": fmt.Sprintf("user-%d", i), "username": "u", "email": fmt.Sprintf("u%d@example.com", i), "emailVerified": true, "groups": []string{"g"}},
			"connectorID": "local", "connectorData": []byte(`{}`)})
	}
}
