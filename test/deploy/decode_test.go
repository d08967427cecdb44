package deploy

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// newTyped returns an empty value of the Go type of apiVersion/kind. The
// Kubernetes kinds are k8s.io/api's; the two kinds of other projects that
// the manifests carry (Istio's VirtualService, Prometheus Operator's
// ServiceMonitor) are the structs below, holding exactly the fields of
// their published schemas that torii's manifests may use.
func newTyped(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 Namespace":
		return &corev1.Namespace{}, nil
	case "v1 PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "rbac.authorization.k8s.io/v1 Role":
		return &rbacv1.Role{}, nil
	case "rbac.authorization.k8s.io/v1 RoleBinding":
		return &rbacv1.RoleBinding{}, nil
	case "rbac.authorization.k8s.io/v1 ClusterRole":
		return &rbacv1.ClusterRole{}, nil
	case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
		return &rbacv1.ClusterRoleBinding{}, nil
	case "networking.k8s.io/v1 Ingress":
		return &networkingv1.Ingress{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "apiextensions.k8s.io/v1 CustomResourceDefinition":
		return &apiextv1.CustomResourceDefinition{}, nil
	case "networking.istio.io/v1alpha3 VirtualService":
		return &virtualService{}, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &serviceMonitor{}, nil
	}
	return nil, fmt.Errorf("no Go type for %s %s: add it to newTyped", apiVersion, kind)
}

// decodeStrict decodes o into its type; an unknown or duplicate field is
// an error (sigs.k8s.io/yaml's strict mode, as kubectl --validate=strict).
func decodeStrict(o object) (any, error) {
	v, err := newTyped(o.APIVersion, o.Kind)
	if err != nil {
		return nil, err
	}
	if err := yaml.UnmarshalStrict(o.YAML, v); err != nil {
		return nil, err
	}
	return v, nil
}

// virtualService is networking.istio.io/v1alpha3 VirtualService, the
// fields of Istio's schema that HTTP routing by prefix uses.
type virtualService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Gateways []string `json:"gateways"`
		Hosts    []string `json:"hosts"`
		HTTP     []struct {
			Match []struct {
				URI struct {
					Prefix string `json:"prefix,omitempty"`
					Exact  string `json:"exact,omitempty"`
				} `json:"uri"`
			} `json:"match"`
			Route []struct {
				Destination struct {
					Host string `json:"host"`
					Port struct {
						Number int `json:"number"`
					} `json:"port"`
				} `json:"destination"`
			} `json:"route"`
		} `json:"http"`
	} `json:"spec"`
}

// serviceMonitor is monitoring.coreos.com/v1 ServiceMonitor, the fields
// the chart can set.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port              string           `json:"port"`
			Path              string           `json:"path"`
			Interval          string           `json:"interval,omitempty"`
			ScrapeTimeout     string           `json:"scrapeTimeout,omitempty"`
			Scheme            string           `json:"scheme,omitempty"`
			TLSConfig         map[string]any   `json:"tlsConfig,omitempty"`
			BearerTokenFile   string           `json:"bearerTokenFile,omitempty"`
			HonorLabels       bool             `json:"honorLabels"`
			MetricRelabelings []map[string]any `json:"metricRelabelings,omitempty"`
			Relabelings       []map[string]any `json:"relabelings,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}
