# shellcheck shell=bash
# Shared helpers for .ci/steps: idempotent installs from the registries this
# project may use (Debian, PyPI, crates.io). Source it; do not run it.

CI_TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/.tools"
mkdir -p "$CI_TOOLS/bin"
export PATH="$CI_TOOLS/bin:$CI_TOOLS/venv/bin:$PATH"

# need_apt PKG... : installs the Debian packages not yet installed (apt-get update once per run).
need_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ ! -e "$CI_TOOLS/.apt-updated" ]; then
    apt-get update -qq && touch "$CI_TOOLS/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# need_pip REQ... : installs pinned PyPI requirements into the CI virtualenv.
need_pip() {
  [ -x "$CI_TOOLS/venv/bin/python" ] || python3 -m venv "$CI_TOOLS/venv"
  "$CI_TOOLS/venv/bin/pip" install -q --disable-pip-version-check "$@"
}

# need_checkov : checkov in a virtualenv of its own (its pins clash with other tools).
need_checkov() {
  if [ ! -x "$CI_TOOLS/checkov-venv/bin/checkov" ]; then
    python3 -m venv "$CI_TOOLS/checkov-venv"
    "$CI_TOOLS/checkov-venv/bin/pip" install -q --disable-pip-version-check checkov==3.3.30
  fi
  ln -sf "$CI_TOOLS/checkov-venv/bin/checkov" "$CI_TOOLS/bin/checkov"
}
