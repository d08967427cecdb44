package main

import (
	"context"
	"log/slog"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/kubernetes"
)

// kubernetesSettings: storage.config of type kubernetes (Dex's keys).
type kubernetesSettings struct {
	InCluster      bool
	KubeConfigFile string
}

func decodeKubernetesStorage(d *decoder, n *yaml.Node, path string) storageSettings {
	var s kubernetesSettings
	d.mapping(n, path, fields{
		"inCluster":      func(n *yaml.Node, p string) { s.InCluster = d.boolean(n, p) },
		"kubeConfigFile": func(n *yaml.Node, p string) { s.KubeConfigFile = d.str(n, p) },
	}, nil)
	if err := s.config().Validate(); err != nil {
		d.at(path, "%v", err)
	}
	return s
}

// serviceAccountDirEnv moves where inCluster reads the service account's
// files from (default kubernetes.DefaultServiceAccountDir): for a token
// mounted elsewhere, and for tests outside a pod.
const serviceAccountDirEnv = "TORII_SERVICE_ACCOUNT_DIR"

func (s kubernetesSettings) config() kubernetes.Config {
	dir, _ := lookupEnv(serviceAccountDirEnv)
	return kubernetes.Config{InCluster: s.InCluster, KubeConfigFile: s.KubeConfigFile, LookupEnv: lookupEnv, ServiceAccountDir: dir}
}

func (s kubernetesSettings) open(ctx context.Context, logger *slog.Logger) (storage.Storage, error) {
	return kubernetes.Open(ctx, s.config(), logger)
}

func (s kubernetesSettings) describe() string {
	if s.InCluster {
		return "kubernetes (in cluster)"
	}
	return "kubernetes (" + s.KubeConfigFile + ")"
}
