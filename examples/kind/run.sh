#!/usr/bin/env bash
# The endpoint-watch demo on a local kind cluster: creates the cluster (one control plane, two workers in
# zones zone-a and zone-b), builds the client and echo images from this repository, loads them into the
# cluster, deploys, scales the echo backend 3 → 6 → 2 while showing the client's per-pod distribution,
# and deletes the cluster on exit (also on failure or Ctrl-C) unless --keep is given.
#
# Needs: docker, kind, kubectl.
# Usage: examples/kind/run.sh [--keep]
#   KIND_CLUSTER_NAME   cluster name (endpoint-watch-demo); an existing cluster of that name is reused
#   OBSERVE_SECONDS     how long to watch the distribution after each step (20)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cluster=${KIND_CLUSTER_NAME:-endpoint-watch-demo}
observe=${OBSERVE_SECONDS:-20}
namespace=endpoint-watch-demo
client_image=endpoint-watch-demo/client:dev
echo_image=endpoint-watch-demo/echo:dev
keep=false

usage() { sed -n '2,10s/^# \{0,1\}//p' "$0"; }
for arg in "$@"; do
  case $arg in
    --keep) keep=true ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is required but not installed" >&2; exit 1; }
done

step() { printf '\n── %s\n' "$*"; }
k() { kubectl --context "kind-$cluster" --namespace "$namespace" "$@"; }

logs_pid=
cleanup() {
  local status=$?
  if [ -n "$logs_pid" ]; then kill "$logs_pid" 2>/dev/null || true; fi
  if [ "$keep" = true ]; then
    step "keeping cluster $cluster (delete it with: kind delete cluster --name $cluster)"
  else
    step "deleting cluster $cluster"
    kind delete cluster --name "$cluster" || true
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  step "reusing cluster $cluster (left by a --keep run)"
else
  step "creating cluster $cluster"
  kind create cluster --name "$cluster" --config "$here/kind-config.yaml" --wait 180s
fi

step "building images from $repo"
docker build --file "$here/Dockerfile" --target echo --tag "$echo_image" "$repo"
docker build --file "$here/Dockerfile" --target client --tag "$client_image" "$repo"
kind load docker-image --name "$cluster" "$echo_image" "$client_image"

step "deploying"
kubectl --context "kind-$cluster" apply --filename "$here/manifests/"
k rollout status deployment/echo --timeout=180s
k rollout status deployment/client --timeout=180s
k get pods --output wide

step "client logs (per-pod distribution every 5 s)"
k logs --follow --since=10s deployment/client &
logs_pid=$!
sleep "$observe"

for replicas in 6 2; do
  step "scaling echo to $replicas replicas"
  k scale deployment/echo --replicas="$replicas"
  k rollout status deployment/echo --timeout=180s >/dev/null
  k get pods --selector app.kubernetes.io/name=echo --output wide
  sleep "$observe"
done

step "done"
