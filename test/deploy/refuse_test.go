package deploy

import (
	"strings"
	"testing"
)

// TestChecksRefuse: the checks the manifests pass do fail on what they
// are there to catch.
func TestChecksRefuse(t *testing.T) {
	good := `apiVersion: apps/v1
kind: Deployment
metadata: {name: torii, namespace: torii}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 1001, seccompProfile: {type: RuntimeDefault}}
      volumes: [{name: tmp, emptyDir: {}}]
      containers:
      - name: torii
        image: torii
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
        volumeMounts: [{name: tmp, mountPath: /tmp}]
        livenessProbe: {httpGet: {path: /healthz/live, port: 5558}}
        readinessProbe: {httpGet: {path: /healthz/ready, port: 5558}}
`
	render := func(y string) *rendered {
		o := object{APIVersion: "apps/v1", Kind: "Deployment", Name: "torii", Namespace: "torii", YAML: []byte(y)}
		v, err := decodeStrict(o)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		return &rendered{objs: []object{o}, typed: map[string]any{key(o.Kind, o.Namespace, o.Name): v}}
	}
	if p := podSecurityProblems(t, render(good)); len(p) != 0 {
		t.Fatalf("the good Deployment: %v", p)
	}
	bad := []struct{ name, from, to, want string }{
		{"privilege escalation", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation != false"},
		{"no seccomp", ", seccompProfile: {type: RuntimeDefault}", "", "seccompProfile"},
		{"capabilities kept", "drop: [ALL]", "drop: [NET_RAW]", "unrestricted capabilities"},
		{"root allowed", "runAsNonRoot: true, ", "", "runAsNonRoot"},
		{"writable root", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
		{"another user", "runAsUser: 1001", "runAsUser: 1000", "runAsUser"},
		{"no /tmp", "mountPath: /tmp", "mountPath: /var/tmp", "/tmp"},
		{"probe elsewhere", "/healthz/ready", "/ready", "/healthz/ready"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			y := strings.Replace(good, b.from, b.to, 1)
			if y == good {
				t.Fatalf("%q not in the fixture", b.from)
			}
			p := podSecurityProblems(t, render(y))
			if !strings.Contains(strings.Join(p, "\n"), b.want) {
				t.Fatalf("problems %q, want one mentioning %q", p, b.want)
			}
		})
	}
	t.Run("strict decoding", func(t *testing.T) {
		for _, y := range []string{
			strings.Replace(good, "  selector:", "  replica: 2\n  selector:", 1),                  // unknown field
			strings.Replace(good, "metadata: {name: torii", "metadata: {name: a, name: torii", 1), // duplicate field
		} {
			if _, err := decodeStrict(object{APIVersion: "apps/v1", Kind: "Deployment", YAML: []byte(y)}); err == nil {
				t.Errorf("accepted:\n%s", y)
			}
		}
		if _, err := decodeStrict(object{APIVersion: "example.com/v1", Kind: "Widget", YAML: []byte("kind: Widget\n")}); err == nil {
			t.Error("an unknown kind decoded")
		}
	})
}
