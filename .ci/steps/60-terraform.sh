#!/usr/bin/env bash
# Terraform: formatting of every layer; offline init, validate and `terraform
# test` of the AWS cluster layer (its provider comes from a filesystem mirror,
# since no Terraform registry is reachable); checkov over terraform/.
# The helm/kubernetes/kind layers cannot be initialised offline: they are
# exercised for real by the GitHub Actions kind job.
set -euo pipefail
# shellcheck source=.ci/lib.sh disable=SC1091
source .ci/lib.sh

command -v terraform >/dev/null || { echo "terraform (>= 1.11) is not on PATH" >&2; exit 1; }

mirror="${TF_PLUGIN_MIRROR:-/opt/tf-plugins}"
[ -d "$mirror/registry.terraform.io/hashicorp/aws" ] || { echo "no AWS provider in the mirror at $mirror" >&2; exit 1; }

export TF_CLI_CONFIG_FILE="$CI_TOOLS/terraform.tfrc"
cat >"$TF_CLI_CONFIG_FILE" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
CFG
export TF_IN_AUTOMATION=1 TF_INPUT=0

terraform fmt -check -recursive -diff terraform

layer=terraform/environments/aws/cluster
# -lockfile=readonly: the committed lock file must already match the mirror.
terraform -chdir="$layer" init -backend=false -lockfile=readonly -no-color >/dev/null
terraform -chdir="$layer" validate -no-color
terraform -chdir="$layer" test -no-color

need_checkov
checkov -d terraform --framework terraform --quiet --compact --skip-download
