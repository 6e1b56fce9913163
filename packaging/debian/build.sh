#!/usr/bin/env bash
# Builds the docproxy and dummy-pdf-or-png .deb packages with cargo-deb into
# target/debian/, from a release build (an up-to-date target/release is reused).
# Usage: packaging/debian/build.sh [DEB_VERSION]   (default: Cargo.toml's version, revision 1)
# Used by .ci/steps/80-debian.sh and by release.yml's deb job.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh
need_apt dpkg-dev help2man

CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version 2>/dev/null | grep -qF "$CARGO_DEB_VERSION"; then
  cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION" --root "$CI_TOOLS"
fi

# The same build as .ci/steps/40-observability.sh, so CI reuses it.
cargo build --release --locked -p docproxy -p dummy-pdf-or-png --bins
# The commit's time dates the manual pages and the changelog, so a rebuild is identical.
epoch="$(git log -1 --format=%ct 2>/dev/null || date +%s)"
# Manual pages from the binaries' own --help and --version (help2man), so they cannot
# drift from the code; a clean environment keeps local DOCPROXY_*/DUMMY_* values out.
release="${CARGO_TARGET_DIR:-target}/release"
mkdir -p "$release/man"
for manifest in Cargo.toml dummy-pdf-or-png/Cargo.toml; do
  bin="$(sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -n 1)"
  env -i PATH="$PATH" SOURCE_DATE_EPOCH="$epoch" help2man --no-info --section=1 --output="$release/man/$bin.1" \
    --name="$(sed -n 's/^description = "\(.*\)"$/\1/p' "$manifest")" "$release/$bin"
  gzip -9nf "$release/man/$bin.1"
done

# Debian requires a changelog.Debian entry for the version (the changes themselves are
# in the GitHub release notes).
maintainer="$(sed -n 's/^maintainer = "\(.*\)"$/\1/p' Cargo.toml)"
codename="$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)"
date="$(date -uR -d "@$epoch")"
rm -f target/debian/*.deb  # only this build's packages, whatever the version
for crate in docproxy dummy-pdf-or-png; do
  deb_version="${1:-$(cargo pkgid -p "$crate" | sed 's/.*[#@]//')-1}"
  printf '%s (%s) %s; urgency=medium\n\n  * Release %s: %s\n\n -- %s  %s\n' \
    "$crate" "$deb_version" "${codename:-unstable}" "$deb_version" \
    "https://github.com/docproxy/docproxy/releases" "$maintainer" "$date" |
    gzip -9n >"$release/$crate.changelog.Debian.gz"
  cargo deb --locked --no-build --strip -p "$crate" --deb-version "$deb_version" --output target/debian/
done
