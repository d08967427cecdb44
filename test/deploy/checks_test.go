package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/torii-idp/torii/storage/kubernetes"
)

// rendered is one render, decoded.
type rendered struct {
	objs  []object
	typed map[string]any // kind/namespace/name -> typed object
}

func key(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

// decodeAll decodes every object strictly, and fails on duplicates.
func decodeAll(t *testing.T, objs []object) *rendered {
	t.Helper()
	r := &rendered{objs: objs, typed: map[string]any{}}
	for _, o := range objs {
		v, err := decodeStrict(o)
		if err != nil {
			t.Errorf("%s: strict decode: %v\n%s", o, err, o.YAML)
			continue
		}
		k := key(o.Kind, o.Namespace, o.Name)
		if _, dup := r.typed[k]; dup {
			t.Errorf("%s rendered twice", o)
		}
		r.typed[k] = v
	}
	return r
}

func all[T any](r *rendered) []T {
	var out []T
	for _, o := range r.objs {
		if v, ok := r.typed[key(o.Kind, o.Namespace, o.Name)].(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func (r *rendered) has(kind, ns, name string) bool {
	_, ok := r.typed[key(kind, ns, name)]
	return ok
}

// checkPodSecurity runs the Pod Security admission's own restricted checks
// (latest version) on every Deployment's pod template, plus what the
// standard does not require and torii's image relies on.
func checkPodSecurity(t *testing.T, r *rendered) {
	t.Helper()
	for _, p := range podSecurityProblems(t, r) {
		t.Error(p)
	}
}

func podSecurityProblems(t *testing.T, r *rendered) []string {
	t.Helper()
	var problems []string
	errorf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range all[*appsv1.Deployment](r) {
		spec := &d.Spec.Template.Spec
		res := policy.AggregateCheckResults(eval.EvaluatePod(
			psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}, &d.Spec.Template.ObjectMeta, spec))
		if !res.Allowed {
			errorf("Deployment %s: not restricted: %s: %s", d.Name, res.ForbiddenReason(), res.ForbiddenDetail())
		}
		tmp := map[string]bool{}
		for _, v := range spec.Volumes {
			if v.EmptyDir != nil {
				tmp[v.Name] = true
			}
		}
		for _, c := range spec.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				errorf("Deployment %s container %s: readOnlyRootFilesystem is not true", d.Name, c.Name)
			}
			uid := spec.SecurityContext.RunAsUser
			if sc != nil && sc.RunAsUser != nil {
				uid = sc.RunAsUser
			}
			if uid == nil || *uid != 1001 {
				errorf("Deployment %s container %s: runAsUser %v, want the image's 1001", d.Name, c.Name, uid)
			}
			if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/tmp" && tmp[m.Name] }) {
				errorf("Deployment %s container %s: no emptyDir at /tmp (the image's only writable place)", d.Name, c.Name)
			}
			for _, p := range []struct {
				probe *corev1.Probe
				what  string
			}{{c.LivenessProbe, "/healthz/live"}, {c.ReadinessProbe, "/healthz/ready"}} {
				if p.probe == nil || p.probe.HTTPGet == nil || !strings.HasSuffix(p.probe.HTTPGet.Path, p.what) {
					errorf("Deployment %s container %s: probe on %s missing: %+v", d.Name, c.Name, p.what, p.probe)
				}
			}
		}
	}
	return problems
}

// checkReferences: every ConfigMap, Secret, ServiceAccount, claim and Role
// a workload or binding names is rendered too (or marked optional), and
// every selector selects the Deployment's pods. userSecrets are Secrets
// the overlay's README says the operator creates.
func checkReferences(t *testing.T, r *rendered, userSecrets map[string]map[string]string) {
	t.Helper()
	secret := func(ns, name string, optional *bool, who string) {
		if !r.has("Secret", ns, name) && userSecrets[name] == nil && (optional == nil || !*optional) {
			t.Errorf("%s: Secret %s/%s is neither rendered nor optional", who, ns, name)
		}
	}
	cm := func(ns, name string, optional *bool, who string) {
		if !r.has("ConfigMap", ns, name) && (optional == nil || !*optional) {
			t.Errorf("%s: ConfigMap %s/%s is neither rendered nor optional", who, ns, name)
		}
	}
	deps := all[*appsv1.Deployment](r)
	if len(deps) != 1 {
		t.Fatalf("%d Deployments rendered, want 1", len(deps))
	}
	for _, d := range deps {
		who, ns, spec := "Deployment "+d.Name, d.Namespace, d.Spec.Template.Spec
		if !r.has("ServiceAccount", ns, spec.ServiceAccountName) {
			t.Errorf("%s: ServiceAccount %s not rendered", who, spec.ServiceAccountName)
		}
		for _, v := range spec.Volumes {
			switch {
			case v.ConfigMap != nil:
				cm(ns, v.ConfigMap.Name, v.ConfigMap.Optional, who)
			case v.Secret != nil:
				secret(ns, v.Secret.SecretName, v.Secret.Optional, who)
			case v.PersistentVolumeClaim != nil:
				if !r.has("PersistentVolumeClaim", ns, v.PersistentVolumeClaim.ClaimName) {
					t.Errorf("%s: claim %s not rendered", who, v.PersistentVolumeClaim.ClaimName)
				}
			}
		}
		for _, c := range spec.Containers {
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil {
					secret(ns, ef.SecretRef.Name, ef.SecretRef.Optional, who)
				}
				if ef.ConfigMapRef != nil {
					cm(ns, ef.ConfigMapRef.Name, ef.ConfigMapRef.Optional, who)
				}
			}
		}
		sel, err := metav1LabelSelector(d)
		if err != nil {
			t.Fatal(err)
		}
		pod := labels.Set(d.Spec.Template.Labels)
		if !sel.Matches(pod) {
			t.Errorf("%s: selector %s does not select its own pods %v", who, sel, pod)
		}
		for _, s := range all[*corev1.Service](r) {
			if !labels.SelectorFromSet(s.Spec.Selector).Matches(pod) {
				t.Errorf("Service %s selects %v, not the pods %v", s.Name, s.Spec.Selector, pod)
			}
		}
		for _, p := range all[*policyv1.PodDisruptionBudget](r) {
			ps, _ := metav1LabelSelectorOf(p.Spec.Selector)
			if ps == nil || !ps.Matches(pod) {
				t.Errorf("PodDisruptionBudget %s does not select the pods %v", p.Name, pod)
			}
		}
	}
	for _, b := range all[*rbacv1.RoleBinding](r) {
		if !r.has(b.RoleRef.Kind, b.Namespace, b.RoleRef.Name) {
			t.Errorf("RoleBinding %s: %s %s not rendered", b.Name, b.RoleRef.Kind, b.RoleRef.Name)
		}
		for _, s := range b.Subjects {
			if s.Kind == "ServiceAccount" && !r.has("ServiceAccount", cmpOr(s.Namespace, b.Namespace), s.Name) {
				t.Errorf("RoleBinding %s: ServiceAccount %s/%s not rendered", b.Name, s.Namespace, s.Name)
			}
		}
	}
	for _, b := range all[*rbacv1.ClusterRoleBinding](r) {
		if !r.has("ClusterRole", "", b.RoleRef.Name) {
			t.Errorf("ClusterRoleBinding %s: ClusterRole %s not rendered", b.Name, b.RoleRef.Name)
		}
		for _, s := range b.Subjects {
			if s.Kind == "ServiceAccount" && !r.has("ServiceAccount", s.Namespace, s.Name) {
				t.Errorf("ClusterRoleBinding %s: ServiceAccount %s/%s not rendered", b.Name, s.Namespace, s.Name)
			}
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// crdPlurals are torii's kinds in dex.coreos.com: what storage/kubernetes
// uses (and creates at start from deploy/base/crds).
func crdPlurals() []string {
	return slices.Sorted(slices.Values(kubernetes.Plurals()))
}

// checkRBAC: with kubernetes storage, the Role grants exactly torii's own
// dex.coreos.com kinds (every CRD rendered, none of Dex's) with the verbs
// the backend uses, and the ClusterRole only creates CRDs. Without it,
// nothing is granted.
func checkRBAC(t *testing.T, r *rendered, kubernetesStorage, wantCRDs bool) {
	t.Helper()
	roles, croles := all[*rbacv1.Role](r), all[*rbacv1.ClusterRole](r)
	if !kubernetesStorage {
		if len(roles)+len(croles)+len(all[*rbacv1.RoleBinding](r))+len(all[*rbacv1.ClusterRoleBinding](r)) > 0 || len(all[*apiextv1.CustomResourceDefinition](r)) > 0 {
			t.Errorf("RBAC or CRDs rendered though the storage is not kubernetes")
		}
		return
	}
	want := crdPlurals()
	if wantCRDs {
		var got []string
		for _, c := range all[*apiextv1.CustomResourceDefinition](r) {
			if c.Spec.Group != "dex.coreos.com" {
				t.Errorf("CRD %s in group %s", c.Name, c.Spec.Group)
			}
			got = append(got, c.Spec.Names.Plural)
			// The embedded copy the binary creates at start is this file.
			embedded, err := kubernetes.CRD(c.Spec.Names.Plural)
			var e apiextv1.CustomResourceDefinition
			if err == nil {
				var b []byte
				if b, err = json.Marshal(embedded); err == nil {
					err = json.Unmarshal(b, &e)
				}
			}
			if err != nil {
				t.Errorf("CRD %s: the binary's copy: %v", c.Name, err)
			} else if e.Name != c.Name || !reflect.DeepEqual(e.Spec, c.Spec) {
				t.Errorf("CRD %s: the binary creates %s with another spec", c.Name, e.Name)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("CRDs rendered %v, the Role grants %v", got, want)
		}
	}
	if len(roles) != 1 || len(roles[0].Rules) != 1 {
		t.Fatalf("want one Role with one rule, got %+v", roles)
	}
	rule := roles[0].Rules[0]
	res := slices.Sorted(slices.Values(rule.Resources))
	if !slices.Equal(rule.APIGroups, []string{"dex.coreos.com"}) || !slices.Equal(res, want) {
		t.Errorf("Role rule %+v, want dex.coreos.com %v", rule, want)
	}
	if verbs := slices.Sorted(slices.Values(rule.Verbs)); !slices.Equal(verbs, []string{"create", "delete", "deletecollection", "get", "list", "update"}) {
		t.Errorf("Role verbs %v", verbs)
	}
	for _, c := range croles {
		if len(c.Rules) != 1 || !slices.Equal(c.Rules[0].APIGroups, []string{"apiextensions.k8s.io"}) ||
			!slices.Equal(c.Rules[0].Resources, []string{"customresourcedefinitions"}) || !slices.Equal(c.Rules[0].Verbs, []string{"create"}) {
			t.Errorf("ClusterRole %s grants %+v, want only create on customresourcedefinitions", c.Name, c.Rules)
		}
	}
}

var buildOnce struct {
	sync.Once
	bin string
	err error
	out []byte
}

// toriiBinary builds cmd/torii once for the package's tests.
func toriiBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "torii-deploy-test-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.bin = filepath.Join(dir, "torii")
		cmd := exec.Command("go", "build", "-o", buildOnce.bin, "./cmd/torii")
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
		buildOnce.out, buildOnce.err = cmd.CombinedOutput()
	})
	if buildOnce.err != nil {
		t.Fatalf("go build ./cmd/torii: %v\n%s", buildOnce.err, buildOnce.out)
	}
	return buildOnce.bin
}

// kubernetesStorageBuilt reports whether this tree has the kubernetes
// storage backend; until it does, check-config refuses storage type
// kubernetes by name and the configs are checked with memory storage.
func kubernetesStorageBuilt(t *testing.T) bool {
	_, err := os.Stat(filepath.Join(repoRoot(t), "storage", "kubernetes"))
	return err == nil
}

// checkConfigs runs `torii check-config` on the config every Deployment
// mounts, with the command line its container runs (serve replaced by
// check-config: the same flags, the dex name included) and the environment
// its pod would get from the rendered Secrets. It returns the configs.
func checkConfigs(t *testing.T, r *rendered, userSecrets map[string]map[string]string) map[string][]byte {
	t.Helper()
	bin := toriiBinary(t)
	configs := map[string][]byte{}
	for _, d := range all[*appsv1.Deployment](r) {
		spec := d.Spec.Template.Spec
		c := spec.Containers[0]
		var mount *corev1.VolumeMount
		for i := range c.VolumeMounts {
			if c.VolumeMounts[i].Name == "config" {
				mount = &c.VolumeMounts[i]
			}
		}
		if mount == nil {
			t.Fatalf("Deployment %s: no config volume mount", d.Name)
		}
		var data []byte
		var file string
		for _, v := range spec.Volumes {
			if v.Name != "config" {
				continue
			}
			switch {
			case v.ConfigMap != nil:
				cm, _ := r.typed[key("ConfigMap", d.Namespace, v.ConfigMap.Name)].(*corev1.ConfigMap)
				if cm == nil {
					t.Fatalf("ConfigMap %s not rendered", v.ConfigMap.Name)
				}
				file = "config.yaml"
				for _, it := range v.ConfigMap.Items {
					if it.Key == "config.yaml" {
						file = it.Path
					}
				}
				data = []byte(cm.Data["config.yaml"])
			case v.Secret != nil:
				s, _ := r.typed[key("Secret", d.Namespace, v.Secret.SecretName)].(*corev1.Secret)
				if s == nil {
					t.Fatalf("Secret %s not rendered", v.Secret.SecretName)
				}
				file, data = "config.yaml", s.Data["config.yaml"]
				if data == nil {
					data = []byte(s.StringData["config.yaml"])
				}
			}
		}
		if len(data) == 0 {
			t.Fatalf("Deployment %s: the config volume holds no config.yaml", d.Name)
		}
		configs[d.Name] = data
		check := data
		if !kubernetesStorageBuilt(t) && bytes.Contains(data, []byte("type: kubernetes")) {
			check = swapStorage(t, data)
			t.Logf("Deployment %s: storage/kubernetes is not in this tree yet: checking the config with its storage block swapped for memory", d.Name)
		}
		dir := t.TempDir()
		cfgPath := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(cfgPath, check, 0o600); err != nil {
			t.Fatal(err)
		}
		argv := commandLine(t, c, path.Join(mount.MountPath, file), cfgPath)
		env := podEnv(t, r, d, c, userSecrets)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, bin, argv...)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("Deployment %s: torii %s: %v\n%s\n--- config.yaml:\n%s", d.Name, strings.Join(argv, " "), err, out, check)
		} else {
			t.Logf("Deployment %s: torii %s:\n%s", d.Name, strings.Join(argv, " "), out)
		}
	}
	return configs
}

// commandLine turns the container's command line into torii's arguments
// for check-config: the image's entrypoint is torii, a command of dex runs
// torii's dex name; serve becomes check-config and the mounted config path
// the test's file.
func commandLine(t *testing.T, c corev1.Container, mounted, local string) []string {
	t.Helper()
	argv := append(slices.Clone(c.Command), c.Args...)
	if len(c.Command) > 0 {
		switch path.Base(argv[0]) {
		case "torii":
			argv = argv[1:]
		case "dex":
			argv[0] = "dex"
		default:
			t.Fatalf("container %s runs %q, not torii or dex", c.Name, argv[0])
		}
	}
	i := slices.Index(argv, "serve")
	j := slices.Index(argv, mounted)
	if i < 0 || j < 0 {
		t.Fatalf("container %s: %q has no serve command or no %s", c.Name, argv, mounted)
	}
	argv[i], argv[j] = "check-config", local
	return argv
}

// podEnv is the container's environment as the kubelet would set it from
// the rendered objects (and userSecrets for Secrets the operator creates).
func podEnv(t *testing.T, r *rendered, d *appsv1.Deployment, c corev1.Container, userSecrets map[string]map[string]string) []string {
	t.Helper()
	var env []string
	secretData := func(name string) map[string]string {
		if s, ok := r.typed[key("Secret", d.Namespace, name)].(*corev1.Secret); ok {
			m := map[string]string{}
			for k, v := range s.Data {
				m[k] = string(v)
			}
			for k, v := range s.StringData {
				m[k] = v
			}
			return m
		}
		return userSecrets[name]
	}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.SecretRef != nil:
			for k, v := range secretData(ef.SecretRef.Name) {
				env = append(env, ef.Prefix+k+"="+v)
			}
		case ef.ConfigMapRef != nil:
			if cm, ok := r.typed[key("ConfigMap", d.Namespace, ef.ConfigMapRef.Name)].(*corev1.ConfigMap); ok {
				for k, v := range cm.Data {
					env = append(env, ef.Prefix+k+"="+v)
				}
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env = append(env, e.Name+"="+d.Namespace)
		case e.ValueFrom.SecretKeyRef != nil:
			if v, ok := secretData(e.ValueFrom.SecretKeyRef.Name)[e.ValueFrom.SecretKeyRef.Key]; ok {
				env = append(env, e.Name+"="+v)
			}
		default:
			t.Errorf("container %s: env %s: valueFrom the test cannot resolve", c.Name, e.Name)
		}
	}
	return env
}

// swapStorage replaces the storage block with memory storage.
func swapStorage(t *testing.T, data []byte) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "storage" {
			var mem yaml.Node
			yaml.Unmarshal([]byte("type: memory\n"), &mem)
			root.Content[i+1] = mem.Content[0]
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func metav1LabelSelector(d *appsv1.Deployment) (labels.Selector, error) {
	return metav1LabelSelectorOf(d.Spec.Selector)
}

func metav1LabelSelectorOf(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return nil, nil
	}
	return metav1.LabelSelectorAsSelector(s)
}
