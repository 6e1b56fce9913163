#!/usr/bin/env bash
# Smoke test of a running docproxy and its observability stack; prints PASS/FAIL/SKIP per check.
#   scripts/smoke-test.sh [--docproxy URL] [--prometheus URL] [--loki URL] [--grafana URL] [--wait SECONDS]
# Env twins: DOCPROXY_URL (default http://127.0.0.1:8080), PROMETHEUS_URL, LOKI_URL, GRAFANA_URL,
# GRAFANA_USER/GRAFANA_PASSWORD, SMOKE_DOC_ID (1), SMOKE_WAIT (0: retry each check up to N s),
# LOKI_SELECTOR ({app="docproxy"}). An observability URL left empty skips its checks.
# Exits 1 if any check failed. Needs curl and jq.
set -euo pipefail

docproxy=${DOCPROXY_URL:-http://127.0.0.1:8080}
prometheus=${PROMETHEUS_URL:-} loki=${LOKI_URL:-} grafana=${GRAFANA_URL:-}
wait_s=${SMOKE_WAIT:-0} doc_id=${SMOKE_DOC_ID:-1} selector=${LOKI_SELECTOR:-'{app="docproxy"}'}
while [ $# -gt 0 ]; do
  case $1 in
    --docproxy) docproxy=$2 ;; --prometheus) prometheus=$2 ;; --loki) loki=$2 ;;
    --grafana) grafana=$2 ;; --wait) wait_s=$2 ;;
    -h | --help) sed -n '2,7s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift 2
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# get [curl args...] URL: body to $tmp/body; prints "STATUS CONTENT-TYPE" (status 000 if unreachable).
get() { : >"$tmp/body"; curl -sS --max-time 10 -o "$tmp/body" -w '%{http_code} %{content_type}' "$@" 2>"$tmp/err" || true; }
# failed RESPONSE: explains a response that is not a 200.
failed() { echo "HTTP ${1%% *} $(head -c 200 "$tmp/body")$(cat "$tmp/err")"; return 1; }
hex() { od -An -tx1 -v | tr -d ' \n'; }

# A check prints a short detail and returns non-zero on failure; it is retried until --wait runs out.
check() {
  local name=$1 out deadline=$((SECONDS + wait_s)); shift
  until out=$("$@"); do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "FAIL $name: $out"; failures=$((failures + 1)); return 0
    fi
    sleep 3
  done
  echo "PASS $name${out:+ ($out)}"
}
skip() { echo "SKIP $1 (no $2 URL given)"; }

document() {
  local r type size
  r=$(get "$docproxy/$doc_id"); type=${r#* }
  [ "${r%% *}" = 200 ] || failed "$r" || return 1
  size=$(wc -c <"$tmp/body")
  case ${type%%;*} in
    application/pdf)
      [ "$(head -c 5 "$tmp/body")" = "%PDF-" ] || { echo "application/pdf without %PDF- header"; return 1; }
      tail -c 1024 "$tmp/body" | grep -aq '%%EOF' || { echo "PDF without %%EOF trailer"; return 1; } ;;
    image/png)
      [ "$(head -c 8 "$tmp/body" | hex)" = 89504e470d0a1a0a ] || { echo "image/png without PNG signature"; return 1; }
      [ "$(tail -c 12 "$tmp/body" | hex)" = 0000000049454e44ae426082 ] || { echo "PNG does not end with IEND"; return 1; } ;;
    *) echo "unexpected content type '$type'"; return 1 ;;
  esac
  echo "${type%%;*}, $size bytes"
}
healthz() { local r; r=$(get "$docproxy/healthz"); [ "${r%% *}" = 200 ] || failed "$r"; }
metrics() {
  local r; r=$(get "$docproxy/metrics")
  [ "${r%% *}" = 200 ] || failed "$r" || return 1
  grep -q '^docproxy_http_requests_total' "$tmp/body" || { echo "no docproxy_http_requests_total sample"; return 1; }
}
# json_ok RESPONSE JQ_FILTER DESCRIPTION: the last response was a 200 and the filter holds on its body.
json_ok() {
  [ "${1%% *}" = 200 ] || failed "$1" || return 1
  jq -e "$2" "$tmp/body" >/dev/null 2>&1 || { echo "$3"; return 1; }
}
prom_target() {
  json_ok "$(get -G "$prometheus/api/v1/query" --data-urlencode 'query=up{job=~".*docproxy.*"} == 1')" \
    '.data.result | length > 0' 'no docproxy target is up'
}
prom_rules() {
  json_ok "$(get "$prometheus/api/v1/rules")" \
    '[.data.groups[].name | select(test("docproxy"; "i"))] | length > 0' 'no docproxy rule group loaded'
}
loki_logs() {
  json_ok "$(get -G "$loki/loki/api/v1/query_range" --data-urlencode "query=$selector" \
    --data-urlencode 'limit=5' --data-urlencode 'since=1h')" \
    '.data.result | length > 0' "no log lines for $selector in the last hour"
}
grafana_dashboard() {
  local auth=()
  [ -z "${GRAFANA_USER:-}" ] || auth=(-u "$GRAFANA_USER:${GRAFANA_PASSWORD:-}")
  json_ok "$(get -G "$grafana/api/search" --data-urlencode 'query=docproxy' "${auth[@]}")" \
    '[.[] | select(.type == "dash-db")] | length > 0' 'no docproxy dashboard'
}

echo "smoke test of $docproxy (wait up to ${wait_s}s per check)"
check "document /$doc_id is a valid PDF or PNG" document
check "/healthz answers 200" healthz
check "/metrics has docproxy_http_requests_total" metrics
if [ -n "$prometheus" ]; then
  check "Prometheus scrapes docproxy (up == 1)" prom_target
  check "Prometheus has the docproxy rule groups" prom_rules
else skip "Prometheus checks" Prometheus; fi
if [ -n "$loki" ]; then check "Loki has docproxy log lines" loki_logs; else skip "Loki check" Loki; fi
if [ -n "$grafana" ]; then check "Grafana has the docproxy dashboard" grafana_dashboard; else skip "Grafana check" Grafana; fi

if [ "$failures" -gt 0 ]; then echo "smoke test FAILED: $failures check(s)"; exit 1; fi
echo "smoke test passed"
