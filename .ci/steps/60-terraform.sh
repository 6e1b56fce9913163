#!/usr/bin/env bash
# Terraform: formatting of every layer; init, validate and `terraform test` of
# the AWS cluster layer and of the provider-free values modules; the README
# tables check; checkov over terraform/.
# Where no registry is reachable (this project's CI machine) the AWS provider
# comes from a filesystem mirror and the helm/kubernetes/kind layers get fmt and
# checkov only; where it is reachable (GitHub runners) they are also initialised
# and validated. The kind layer is applied for real by the GitHub Actions CD job.
set -euo pipefail
# shellcheck source=.ci/lib.sh disable=SC1091
source .ci/lib.sh

command -v terraform >/dev/null || { echo "terraform (>= 1.11) is not on PATH" >&2; exit 1; }

export TF_IN_AUTOMATION=1 TF_INPUT=0
mirror="${TF_PLUGIN_MIRROR:-/opt/tf-plugins}"
if [ -d "$mirror/registry.terraform.io/hashicorp/aws" ]; then
  # Offline (this project's CI machine): only the AWS provider is available.
  export TF_CLI_CONFIG_FILE="$CI_TOOLS/terraform.tfrc"
  cat >"$TF_CLI_CONFIG_FILE" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
CFG
  other_layers=()
else
  # Registry reachable (GitHub runners): the helm/kubernetes/kind layers validate too.
  other_layers=(terraform/environments/local terraform/environments/aws/platform)
fi

terraform fmt -check -recursive -diff terraform

# Layers testable offline: the AWS cluster layer (mocked AWS provider) and the
# provider-free modules that compute each module's Helm values.
# -lockfile=readonly: the committed lock file must already match the provider.
for layer in terraform/environments/aws/cluster terraform/modules/*/values; do
  terraform -chdir="$layer" init -backend=false -lockfile=readonly -no-color >/dev/null
  terraform -chdir="$layer" validate -no-color
  terraform -chdir="$layer" test -no-color
done
# The provider-free root that hands the values above to the chart checks.
terraform -chdir=terraform/tools/chart-values init -backend=false -no-color >/dev/null
terraform -chdir=terraform/tools/chart-values validate -no-color

for layer in "${other_layers[@]}"; do
  terraform -chdir="$layer" init -backend=false -no-color >/dev/null
  terraform -chdir="$layer" validate -no-color
done

# terraform/tools: the module READMEs' inputs/outputs tables are generated from the
# .tf files; observability/alloy/config.alloy survives the Alloy chart's `tpl` byte
# for byte (a stand-in chart rendered by the real helm with Terraform's values).
need_pip 'pytest==9.2.0' 'pyyaml==6.0.3'
command -v helm >/dev/null || bash .ci/tools/install-helm.sh
python -m pytest -q -p no:cacheprovider terraform/tools

need_checkov
checkov -d terraform --framework terraform --quiet --compact --skip-download
