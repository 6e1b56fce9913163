#!/usr/bin/env bash
# Observability: Prometheus rule syntax and unit tests (promtool), static checks
# of dashboards/runbooks/Alloy/Loki/compose, and the live proof: the release
# docproxy in front of the dummy upstream, scraped by a real Prometheus, with
# every dashboard query run against it. See docs/OBSERVABILITY.md.
set -euo pipefail
source .ci/lib.sh
need_apt prometheus shellcheck
need_pip 'pytest==9.2.0' 'pyyaml==6.0.3' 'requests==2.34.2'

echo "--- shellcheck"
shellcheck -x .ci/steps/40-observability.sh

echo "--- promtool check rules"
promtool check rules observability/prometheus/rules/*.yml

echo "--- promtool test rules"
promtool test rules observability/prometheus/tests/*.yml

echo "--- release binaries for the live test"
cargo build --release --locked -p docproxy -p dummy-pdf-or-png --bins
target/release/docproxy --help >/dev/null

echo "--- pytest observability/tests"
pytest -q observability/tests
