#!/usr/bin/env bash
# Copies the observability assets into the docproxy chart (Helm cannot read files
# outside a chart). observability/ is the source of truth; never edit the copies.
#   scripts/sync-observability.sh          refresh the copies
#   scripts/sync-observability.sh --check  exit 1 if the copies have drifted (CI)
set -euo pipefail
cd "$(dirname "$0")/.."

# "source-dir chart-dir pattern" per asset kind.
pairs=(
  "observability/prometheus/rules helm/docproxy/files/rules *.yml"
  "observability/grafana/dashboards helm/docproxy/files/dashboards *.json"
)

# copy_assets SRC DEST PATTERN: the files matching PATTERN directly in SRC (none if SRC is missing).
copy_assets() {
  [ -d "$1" ] || return 0
  find "$1" -maxdepth 1 -type f -name "$3" -exec cp {} "$2/" \;
}

status=0
for pair in "${pairs[@]}"; do
  read -r src dst pattern <<<"$pair"
  mkdir -p "$dst"
  if [ "${1:-}" = "--check" ]; then
    expected="$(mktemp -d)"
    copy_assets "$src" "$expected" "$pattern"
    if ! diff -r -x .gitkeep "$expected" "$dst"; then
      echo "drift: $dst is not a copy of $src; run scripts/sync-observability.sh" >&2
      status=1
    fi
    rm -rf "$expected"
  else
    find "$dst" -maxdepth 1 -type f -name "$pattern" -delete
    copy_assets "$src" "$dst" "$pattern"
    echo "synced $src -> $dst"
  fi
done
exit "$status"
