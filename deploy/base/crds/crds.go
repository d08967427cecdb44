// Package crds holds torii's CustomResourceDefinitions for the kubernetes
// storage backend: the manifests kustomize applies from this directory are
// the ones storage/kubernetes creates at start, embedded here, so the two
// cannot drift.
package crds

import "embed"

// Manifests are the CRD files (one CRD each, named PLURAL.yaml).
//
//go:embed torii*.yaml
var Manifests embed.FS
