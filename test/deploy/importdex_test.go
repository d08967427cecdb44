package deploy

import (
	"path/filepath"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/torii-idp/torii/storage/kubernetes"
)

// TestImportDexComponent: deploy/components/import-dex, added to the base
// or the Kubeflow overlay as its kustomization.yaml says, adds exactly one
// Role and its RoleBinding: get and list on the Dex kinds the import reads
// (never a write, never torii's kinds), in the Deployment's namespace, for
// the Deployment's ServiceAccount. Everything else renders as without it.
func TestImportDexComponent(t *testing.T) {
	root := repoRoot(t)
	for _, dir := range []string{"base", "overlays/kubeflow"} {
		t.Run(dir, func(t *testing.T) {
			fsys := deployFS(t, root)
			kpath := filepath.Join(root, "deploy", dir, "kustomization.yaml")
			k, err := fsys.ReadFile(kpath)
			if err != nil {
				t.Fatal(err)
			}
			rel, err := filepath.Rel(filepath.Join(root, "deploy", dir), filepath.Join(root, "deploy", "components", "import-dex"))
			if err != nil {
				t.Fatal(err)
			}
			if err := fsys.WriteFile(kpath, append(k, []byte("components:\n- "+rel+"\n")...)); err != nil {
				t.Fatal(err)
			}
			with := kustomizeBuild(t, fsys, filepath.Join(root, "deploy", dir))
			without := kustomizeBuild(t, deployFS(t, root), filepath.Join(root, "deploy", dir))
			var rest, added []object
			for _, o := range with {
				if o.Name == "torii-import-dex" {
					added = append(added, o)
				} else {
					rest = append(rest, o)
				}
			}
			if len(rest) != len(without) {
				t.Errorf("with the component %d other objects, without it %d", len(rest), len(without))
			}
			r := decodeAll(t, with)
			checkReferences(t, r, nil)
			checkRBAC(t, decodeAll(t, rest), true, true)
			checkImportDexRBAC(t, r, added)
		})
	}
}

// TestHelmImportDex: rbac.importDex adds the same read-only Role.
func TestHelmImportDex(t *testing.T) {
	chart := filepath.Join(repoRoot(t), "deploy", "helm", "torii")
	objs, err := helmRender(t, chart, "torii", "idp", map[string]any{"rbac": map[string]any{"importDex": true}})
	if err != nil {
		t.Fatal(err)
	}
	var rest, added []object
	for _, o := range objs {
		if o.Name == "torii-import-dex" {
			added = append(added, o)
		} else {
			rest = append(rest, o)
		}
	}
	r := decodeAll(t, objs)
	checkReferences(t, r, nil)
	checkRBAC(t, decodeAll(t, rest), true, false)
	checkImportDexRBAC(t, r, added)
}

// checkImportDexRBAC: added is one Role and its RoleBinding: get and list
// on the Dex kinds the import reads (never a write, never torii's kinds),
// in the Deployment's namespace, for the Deployment's ServiceAccount.
func checkImportDexRBAC(t *testing.T, r *rendered, added []object) {
	t.Helper()
	d := all[*appsv1.Deployment](r)[0]
	roles := all[*rbacv1.Role](decodeAll(t, added))
	bindings := all[*rbacv1.RoleBinding](decodeAll(t, added))
	if len(added) != 2 || len(roles) != 1 || len(bindings) != 1 {
		t.Fatalf("added %v, want one Role and one RoleBinding", added)
	}
	role, b := roles[0], bindings[0]
	if role.Namespace != d.Namespace || b.Namespace != d.Namespace {
		t.Errorf("Role in %q, RoleBinding in %q; the Deployment (and Dex's objects) in %q", role.Namespace, b.Namespace, d.Namespace)
	}
	if len(role.Rules) != 1 {
		t.Fatalf("rules %+v", role.Rules)
	}
	rule := role.Rules[0]
	if !slices.Equal(rule.APIGroups, []string{"dex.coreos.com"}) ||
		!slices.Equal(slices.Sorted(slices.Values(rule.Resources)), slices.Sorted(slices.Values(kubernetes.DexPlurals()))) ||
		!slices.Equal(slices.Sorted(slices.Values(rule.Verbs)), []string{"get", "list"}) {
		t.Errorf("rule %+v, want get and list on dex.coreos.com %v", rule, kubernetes.DexPlurals())
	}
	if b.RoleRef.Kind != "Role" || b.RoleRef.Name != role.Name || len(b.Subjects) != 1 ||
		b.Subjects[0].Kind != "ServiceAccount" || b.Subjects[0].Name != d.Spec.Template.Spec.ServiceAccountName ||
		cmpOr(b.Subjects[0].Namespace, b.Namespace) != d.Namespace {
		t.Errorf("RoleBinding %+v does not bind the Role to the Deployment's ServiceAccount %s/%s", b, d.Namespace, d.Spec.Template.Spec.ServiceAccountName)
	}
}
