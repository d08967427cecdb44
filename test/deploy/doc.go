// Package deploy tests deploy/: every kustomization builds, the Helm chart
// lints and renders, every object decodes strictly into its Kubernetes
// type, pods meet the restricted Pod Security Standard, references
// resolve, and every config the manifests carry passes `torii
// check-config` with the environment its pod would have.
package deploy
