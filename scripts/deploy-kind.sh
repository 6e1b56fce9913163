#!/usr/bin/env bash
# Deploys docproxy to a kind cluster with terraform/environments/local and smoke-tests it.
# cd.yml's deploy job runs exactly these commands, so they work by hand too:
#   scripts/deploy-kind.sh deploy TAG   terraform apply with both images at TAG, wait for rollouts
#   scripts/deploy-kind.sh smoke        port-forward docproxy/Prometheus/Loki/Grafana, run smoke-test.sh
#   scripts/deploy-kind.sh diagnose     pods, recent events and docproxy logs
#   scripts/deploy-kind.sh destroy      terraform destroy (deletes the kind cluster)
# Env: IMAGE_REGISTRY (e.g. ghcr.io/acme: images are pulled from there; empty: local images
# docproxy:TAG and dummy-pdf-or-png:TAG), KIND_CLUSTER (docproxy), SMOKE_WAIT (seconds, 120).
set -euo pipefail
cd "$(dirname "$0")/.."
tf=(terraform -chdir=terraform/environments/local)
registry=${IMAGE_REGISTRY:-}
pids=() # background port-forwards, stopped on exit
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

kube() { local flags; read -ra flags <<<"$("${tf[@]}" output -raw kubectl_flags)"; kubectl "${flags[@]}" "$@"; }

deploy() {
  local tag=${1:?usage: deploy TAG} ns image platform
  if [ -n "$registry" ]; then # terraform `kind load`s them from the local Docker daemon
    # Only the Docker host's platform (the kind nodes'): terraform saves that one (kind#3795).
    platform=$(docker version --format '{{.Server.Os}}/{{.Server.Arch}}')
    for image in docproxy dummy-pdf-or-png; do
      docker pull -q --platform "$platform" "$registry/$image:$tag"
    done
  fi
  "${tf[@]}" init -input=false >/dev/null
  "${tf[@]}" apply -input=false -auto-approve -var "cluster_name=${KIND_CLUSTER:-docproxy}" \
    -var "image_registry=$registry" -var "docproxy_image_tag=$tag"
  for ns in monitoring docproxy; do
    kube -n "$ns" get deployments,statefulsets,daemonsets -o name | while read -r workload; do
      kube -n "$ns" rollout status "$workload" --timeout=300s || exit 1
    done
  done
  image=$(kube -n docproxy get deployments -o jsonpath='{.items[*].spec.template.spec.containers[*].image}')
  case " $image " in *"docproxy:$tag "*) echo "deployed: $image" ;;
    *) echo "expected docproxy:$tag, found: $image" >&2; return 1 ;; esac
}

smoke() {
  local grafana_password port
  # The same port-forwards terraform prints for humans; Loki's gateway is not among them.
  while read -r cmd; do
    bash -c "$cmd" >/dev/null 2>&1 &
    pids+=($!)
  done < <("${tf[@]}" output -json | jq -r '.docproxy_port_forward_command.value,
      .prometheus_port_forward_command.value, .grafana.value.port_forward')
  kube -n monitoring port-forward svc/loki-gateway 3100:80 >/dev/null 2>&1 &
  pids+=($!)
  grafana_password=$(bash -c "$("${tf[@]}" output -json grafana | jq -r .password)")
  for port in 8080 9090 3000 3100; do # until each forward accepts connections
    timeout 30 bash -c "until curl -s -o /dev/null http://127.0.0.1:$port/; do sleep 1; done" \
      || { echo "port-forward to 127.0.0.1:$port did not come up" >&2; return 1; }
  done
  GRAFANA_USER=admin GRAFANA_PASSWORD=$grafana_password SMOKE_WAIT=${SMOKE_WAIT:-120} scripts/smoke-test.sh \
    --docproxy http://127.0.0.1:8080 --prometheus http://127.0.0.1:9090 \
    --loki http://127.0.0.1:3100 --grafana http://127.0.0.1:3000
}

diagnose() {
  kube get pods -A -o wide || true
  kube get events -A --sort-by=.lastTimestamp | tail -n 40 || true
  kube -n docproxy logs -l app.kubernetes.io/name=docproxy --tail=30 --prefix || true
}

case ${1:-} in
  deploy) deploy "${2:-}" ;;
  smoke) smoke ;;
  diagnose) diagnose ;;
  destroy) "${tf[@]}" destroy -input=false -auto-approve -var "cluster_name=${KIND_CLUSTER:-docproxy}" ;;
  *) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 2 ;;
esac
