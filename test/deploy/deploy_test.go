package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// toriiConfig is the part of config.yaml the expectations look at.
type toriiConfig struct {
	Issuer  string `yaml:"issuer"`
	Storage struct {
		Type   string         `yaml:"type"`
		Config map[string]any `yaml:"config"`
	} `yaml:"storage"`
}

func TestKustomizations(t *testing.T) {
	root := repoRoot(t)
	fsys := deployFS(t, root)
	tests := []struct {
		dir         string
		namespace   string
		replicas    int32
		storage     string
		userSecrets map[string]map[string]string
		extra       func(t *testing.T, r *rendered, configs map[string][]byte)
	}{
		{dir: "base", namespace: "torii", replicas: 2, storage: "kubernetes"},
		{dir: "overlays/kubeflow", namespace: "auth", replicas: 2, storage: "kubernetes", extra: kubeflowExpectations},
		{
			dir: "overlays/postgres", namespace: "torii", replicas: 3, storage: "postgres",
			// Created by the operator (the overlay's kustomization.yaml says how).
			userSecrets: map[string]map[string]string{"torii-postgres": {"POSTGRES_PASSWORD": "example"}},
		},
		{dir: "overlays/sqlite", namespace: "torii", replicas: 1, storage: "sqlite3", extra: func(t *testing.T, r *rendered, _ map[string][]byte) {
			d := all[*appsv1.Deployment](r)[0]
			if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Errorf("strategy %s, want Recreate (one ReadWriteOnce volume)", d.Spec.Strategy.Type)
			}
			if !slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/var/lib/torii" }) {
				t.Error("no volume at /var/lib/torii, where the config's SQLite file is")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			objs := kustomizeBuild(t, fsys, filepath.Join(root, "deploy", tt.dir))
			r := decodeAll(t, objs)
			for _, o := range objs {
				clusterScoped := o.Kind == "Namespace" || strings.HasPrefix(o.Kind, "Cluster") || o.Kind == "CustomResourceDefinition"
				if !clusterScoped && o.Namespace != tt.namespace {
					t.Errorf("%s: namespace %q, want %q", o, o.Namespace, tt.namespace)
				}
			}
			deps := all[*appsv1.Deployment](r)
			if len(deps) != 1 {
				t.Fatalf("%d Deployments", len(deps))
			}
			if got := deps[0].Spec.Replicas; got == nil || *got != tt.replicas {
				t.Errorf("replicas %v, want %d", got, tt.replicas)
			}
			checkPodSecurity(t, r)
			checkReferences(t, r, tt.userSecrets)
			checkRBAC(t, r, tt.storage == "kubernetes", true)
			configs := checkConfigs(t, r, tt.userSecrets)
			for name, data := range configs {
				var c toriiConfig
				if err := yaml.Unmarshal(data, &c); err != nil {
					t.Fatal(err)
				}
				if c.Storage.Type != tt.storage {
					t.Errorf("Deployment %s: storage %q, want %q", name, c.Storage.Type, tt.storage)
				}
			}
			if tt.extra != nil {
				tt.extra(t, r, configs)
			}
		})
	}
}

// kubeflowExpectations: what Kubeflow's manifests and its oauth2-proxy
// rely on from common/dex.
func kubeflowExpectations(t *testing.T, r *rendered, configs map[string][]byte) {
	for _, want := range []string{"Deployment", "Service", "ServiceAccount", "ConfigMap"} {
		if !r.has(want, "auth", "dex") {
			t.Errorf("%s auth/dex missing (Kubeflow's name)", want)
		}
	}
	for _, s := range []string{"dex-oidc-client", "dex-passwords"} {
		if !r.has("Secret", "auth", s) {
			t.Errorf("Secret auth/%s missing", s)
		}
	}
	if !r.has("Namespace", "", "auth") || !r.has("VirtualService", "auth", "dex") || !r.has("ClusterRole", "", "dex") {
		t.Error("Namespace auth, VirtualService dex or ClusterRole dex missing")
	}
	svc, _ := r.typed[key("Service", "auth", "dex")].(*corev1.Service)
	if svc == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 5556 || svc.Spec.Selector["app"] != "dex" {
		t.Errorf("Service dex: %+v, want port 5556 selecting app: dex", svc)
	}
	d, _ := r.typed[key("Deployment", "auth", "dex")].(*appsv1.Deployment)
	if d == nil {
		return
	}
	// A Deployment's selector cannot change: Kubeflow's is app: dex.
	if !slices.Equal([]string{"app=dex"}, selectorStrings(d.Spec.Selector.MatchLabels)) {
		t.Errorf("selector %v, want Kubeflow's app: dex", d.Spec.Selector.MatchLabels)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.Name != "dex" || !slices.Equal(c.Command, []string{"dex", "serve", "/etc/dex/cfg/config.yaml"}) {
		t.Errorf("container %s runs %q, want Kubeflow's dex serve /etc/dex/cfg/config.yaml", c.Name, c.Command)
	}
	var cfg toriiConfig
	yaml.Unmarshal(configs["dex"], &cfg)
	if cfg.Issuer != "http://dex.auth.svc.cluster.local:5556/dex" || cfg.Storage.Config["inCluster"] != true {
		t.Errorf("issuer %q storage %+v, want Kubeflow's", cfg.Issuer, cfg.Storage)
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || !strings.HasPrefix(p.HTTPGet.Path, "/dex/healthz/") {
			t.Errorf("probe %+v: Kubeflow's config has no telemetry listener; probes go to the web port under /dex", p)
		}
	}
}

func selectorStrings(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

func TestHelmChart(t *testing.T) {
	root := repoRoot(t)
	chart := filepath.Join(root, "deploy", "helm", "torii")

	t.Run("lint", func(t *testing.T) {
		for _, vals := range []map[string]any{nil, everythingOn()} {
			l := lint.RunAll(chart, vals, "torii")
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				} else {
					t.Logf("helm lint: %s", m)
				}
			}
		}
	})

	cases := []struct {
		name        string
		values      map[string]any
		userSecrets map[string]map[string]string
		check       func(t *testing.T, r *rendered)
	}{
		{name: "defaults"},
		{name: "everything on", values: everythingOn(), userSecrets: map[string]map[string]string{"torii-tls": {}}, check: func(t *testing.T, r *rendered) {
			for _, k := range []string{"Ingress", "ServiceMonitor", "HorizontalPodAutoscaler"} {
				if !r.has(k, "idp", "torii") {
					t.Errorf("%s not rendered", k)
				}
			}
			d := all[*appsv1.Deployment](r)[0]
			if d.Spec.Replicas != nil {
				t.Error("replicas set though autoscaling is on")
			}
			c := d.Spec.Template.Spec.Containers[0]
			if !slices.Contains(c.Args, "--web-https-addr") {
				t.Errorf("args %q: https.enabled adds --web-https-addr", c.Args)
			}
			env := map[string]string{}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			if env["FROM_ENV_MAP"] != "a" || env["FROM_ENV_VARS"] != "b" {
				t.Errorf("env and envVars not both applied: %v", env)
			}
		}},
		{name: "sqlite, no rbac", values: map[string]any{
			"replicaCount": 1,
			"rbac":         map[string]any{"create": false},
			"config":       map[string]any{"storage": map[string]any{"type": "sqlite3", "config": map[string]any{"file": "/var/lib/torii/torii.db"}}},
		}},
	}
	for _, tc := range cases {
		t.Run("render "+tc.name, func(t *testing.T) {
			objs, err := helmRender(t, chart, "torii", "idp", tc.values)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			r := decodeAll(t, objs)
			checkPodSecurity(t, r)
			checkReferences(t, r, tc.userSecrets)
			var c toriiConfig
			for data := range mapsValues(checkConfigs(t, r, tc.userSecrets)) {
				yaml.Unmarshal(data, &c)
			}
			checkRBAC(t, r, c.Storage.Type == "kubernetes", false)
			d := all[*appsv1.Deployment](r)[0]
			// Dex's chart's command line, with torii's image entrypoint.
			if args := d.Spec.Template.Spec.Containers[0].Args; len(args) < 2 || args[0] != "dex" || args[1] != "serve" || args[len(args)-1] != "/etc/dex/config.yaml" {
				t.Errorf("args %q, want Dex's chart's dex serve ... /etc/dex/config.yaml", args)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}

	t.Run("grpc", func(t *testing.T) {
		objs, err := helmRender(t, chart, "torii", "idp", map[string]any{"grpc": map[string]any{"enabled": true}})
		if err != nil {
			t.Fatal(err)
		}
		r := decodeAll(t, objs)
		c := all[*appsv1.Deployment](r)[0].Spec.Template.Spec.Containers[0]
		if i := slices.Index(c.Args, "--grpc-addr"); i < 0 || c.Args[i+1] != "0.0.0.0:5557" {
			t.Errorf("args %q, want --grpc-addr 0.0.0.0:5557 as Dex's chart", c.Args)
		}
		svc := all[*corev1.Service](r)[0]
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "grpc" && p.Port == 5557 }) {
			t.Errorf("Service ports %+v, want grpc 5557", svc.Spec.Ports)
		}
		// Without TLS in config.grpc, torii refuses the reachable admin API.
		cfg := t.TempDir() + "/config.yaml"
		os.WriteFile(cfg, []byte("issuer: http://x/dex\nstorage: {type: memory}\n"), 0o600)
		out, err := exec.Command(toriiBinary(t), "dex", "check-config", "--web-http-addr", "0.0.0.0:5556", "--grpc-addr", "0.0.0.0:5557", cfg).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "grpc.addr") {
			t.Errorf("check-config with --grpc-addr 0.0.0.0:5557 and no TLS: %v %s", err, out)
		}
	})
}

// everythingOn turns on every optional part of the chart.
func everythingOn() map[string]any {
	return map[string]any{
		"https": map[string]any{"enabled": true},
		"config": map[string]any{
			"web": map[string]any{"tlsCert": "/etc/torii/tls/tls.crt", "tlsKey": "/etc/torii/tls/tls.key"},
		},
		"ingress":             map[string]any{"enabled": true, "className": "nginx", "tls": []any{map[string]any{"hosts": []any{"torii.example.com"}, "secretName": "torii-tls"}}},
		"serviceMonitor":      map[string]any{"enabled": true, "interval": "30s"},
		"autoscaling":         map[string]any{"enabled": true},
		"env":                 map[string]any{"FROM_ENV_MAP": "a"},
		"envVars":             []any{map[string]any{"name": "FROM_ENV_VARS", "value": "b"}},
		"volumes":             []any{map[string]any{"name": "tls", "secret": map[string]any{"secretName": "torii-tls"}}},
		"volumeMounts":        []any{map[string]any{"name": "tls", "mountPath": "/etc/torii/tls", "readOnly": true}},
		"podDisruptionBudget": map[string]any{"minAvailable": 1},
	}
}

func mapsValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}
