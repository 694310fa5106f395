//go:build tools

// Package tools only records, for `go mod tidy`, the commands this module exists to build.
// It is never compiled; build-controlplane.sh builds the packages below with `go build` (the
// last three, the node's components, with --node: see tests/scripts/node.sh).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
