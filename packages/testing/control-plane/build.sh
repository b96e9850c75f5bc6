#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager and kubectl from the Go modules next to this script,
# into a cache directory keyed by version, and prints that directory. Only the first run pays (~14 min on
# 2 cores, ~5 GB of Go caches); later runs find the binaries and return at once.
#
#   ENDPOINT_WATCH_CONTROL_PLANE_CACHE  where built binaries are kept (default ~/.cache/endpoint-watch/control-plane)
#   ENDPOINT_WATCH_CONTROL_PLANE_BIN    a directory of prebuilt binaries: used as is, nothing is built
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

kube_version="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$here/kube/go.mod")"
etcd_version="$(awk '$1 == "require" && $2 == "go.etcd.io/etcd/server/v3" { print $3 }' "$here/etcd/go.mod")"
binaries=(etcd kube-apiserver kube-controller-manager kubectl)

if [ -n "${ENDPOINT_WATCH_CONTROL_PLANE_BIN:-}" ]; then
  for b in "${binaries[@]}"; do
    [ -x "$ENDPOINT_WATCH_CONTROL_PLANE_BIN/$b" ] || { echo "ENDPOINT_WATCH_CONTROL_PLANE_BIN has no executable $b" >&2; exit 1; }
  done
  echo "$ENDPOINT_WATCH_CONTROL_PLANE_BIN"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "building the control plane needs Go >= 1.26 (or ENDPOINT_WATCH_CONTROL_PLANE_BIN)" >&2; exit 1; }

cache="${ENDPOINT_WATCH_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/endpoint-watch/control-plane}"
out="$cache/kube-${kube_version}_etcd-${etcd_version}"
if [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi

mkdir -p "$out.tmp"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
started=$SECONDS

# Without these, /version reports a development build and kubectl warns about version skew.
minor="${kube_version#v1.}"; minor="${minor%%.*}"
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

echo "building kube-apiserver, kube-controller-manager and kubectl $kube_version (cold: 8-14 min on 2 cores)" >&2
(cd "$here/kube" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
echo "building etcd $etcd_version" >&2
(cd "$here/etcd" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3)

rm -rf "$out"
mv "$out.tmp" "$out"
touch "$out/.complete"
echo "built in $((SECONDS - started)) s" >&2
echo "$out"
