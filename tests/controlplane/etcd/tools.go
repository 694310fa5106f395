//go:build tools

// Package tools only records, for `go mod tidy`, the command this module exists to build.
// It is never compiled; build-controlplane.sh runs `go build go.etcd.io/etcd/server/v3`.
package tools

import _ "go.etcd.io/etcd/server/v3"
