#!/usr/bin/env bash
# Debian packages (packaging/debian, docs/PIPELINE.md "Debian packages"): builds both
# .deb, lints them (lintian), installs them with dpkg, checks the files, the conffiles,
# the enabled units (systemd-analyze verify and security), runs the installed binaries
# (the dummy on 127.0.0.1 and docproxy in front of it, GET /1), then purges them, also
# when a check fails.
set -euo pipefail
source .ci/lib.sh
need_apt lintian dpkg-dev systemd curl
packages=(docproxy dummy-pdf-or-png)
# Ports of the "deb" range (25000-25999), so parallel runs of other steps do not clash.
dummy_addr=127.0.0.1:25030 docproxy_addr=127.0.0.1:25080

bash packaging/debian/build.sh
debs=()
for pkg in "${packages[@]}"; do debs+=(target/debian/"${pkg}"_*.deb); done

echo "--- lintian"
lintian --fail-on error,warning --display-info "${debs[@]}"

pids=()
work="$(mktemp -d)"
cleanup() {
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  flock /tmp/apt.lock dpkg --purge "${packages[@]}" >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "--- dpkg -i"
flock /tmp/apt.lock dpkg -i "${debs[@]}"
for pkg in "${packages[@]}"; do
  for file in "/usr/bin/$pkg" "/usr/lib/systemd/system/$pkg.service" "/etc/default/$pkg" \
    "/usr/share/doc/$pkg/copyright" "/usr/share/man/man1/$pkg.1.gz"; do
    dpkg -L "$pkg" | grep -qxF "$file" || { echo "$pkg does not ship $file" >&2; exit 1; }
    [ -s "$file" ] || { echo "$file is missing or empty after install" >&2; exit 1; }
  done
  dpkg-query -W -f='${Conffiles}\n' "$pkg" | grep -q "^ /etc/default/$pkg " ||
    { echo "/etc/default/$pkg is not a conffile of $pkg" >&2; exit 1; }
  # The postinst enabled the unit (without a running systemd it only makes the link).
  [ -L "/etc/systemd/system/multi-user.target.wants/$pkg.service" ] ||
    { echo "$pkg.service is not enabled" >&2; exit 1; }
  "/usr/bin/$pkg" --help >/dev/null
done
echo "files, conffiles and enabled units in place"

echo "--- systemd-analyze"
units=(/usr/lib/systemd/system/docproxy.service /usr/lib/systemd/system/dummy-pdf-or-png.service)
systemd-analyze verify "${units[@]}"
# Exposure 0-100 (shown as 0.0-10.0); 20 = 2.0 is well inside systemd's "OK" band.
systemd-analyze security --offline=yes --threshold=20 --no-pager "${units[@]}" | grep "Overall exposure"

echo "--- the unit's condition: inactive until DOCPROXY_UPSTREAM_URL is set"
condition="$(sed -n 's/^ExecCondition=//p' /usr/lib/systemd/system/docproxy.service | sed 's/\$\$/$/g')"
if env -i bash -c "$condition" 2>"$work/condition.log"; then
  echo "the condition passed without DOCPROXY_UPSTREAM_URL" >&2; exit 1
fi
grep -q DOCPROXY_UPSTREAM_URL "$work/condition.log"
env -i DOCPROXY_UPSTREAM_URL=http://"$dummy_addr" bash -c "$condition"

echo "--- the installed binaries: docproxy in front of the dummy"
env -i DUMMY_LISTEN="$dummy_addr" /usr/bin/dummy-pdf-or-png 2>/dev/null &
pids+=($!)
env -i DOCPROXY_UPSTREAM_URL=http://"$dummy_addr" DOCPROXY_LISTEN="$docproxy_addr" \
  /usr/bin/docproxy >/dev/null &
pids+=($!)
for _ in $(seq 100); do
  curl -sf -o /dev/null "http://$docproxy_addr/readyz" && break
  sleep 0.1
done
type="$(curl -sSf -o "$work/1" -w '%{content_type}' "http://$docproxy_addr/1")"
case "$type:$(head -c 4 "$work/1" | od -An -tx1 | tr -d ' ')" in
  application/pdf:25504446 | image/png:89504e47) echo "GET /1: a $type, as labelled" ;;
  *) echo "GET /1 answered $type with an unexpected body" >&2; exit 1 ;;
esac
