#!/usr/bin/env bash
# Fuzzes the document validators and the id parser for a bounded time, seeded
# with the fixtures and the committed regression corpus (fuzz/regressions/,
# hostile shapes made by tests/hostile.rs); any crash, any input over the time
# or memory limit, fails the step. Longer runs: docs/FUZZING.md.
set -euo pipefail
source .ci/lib.sh

CARGO_FUZZ_VERSION=0.13.1
FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
# Resource limits every input must stay within (docs/FUZZING.md): the proxy's
# maximum document size, a per-input CPU timeout and an RSS ceiling.
MAX_LEN=8388608
LIMITS=(-max_len="$MAX_LEN" -timeout=2 -rss_limit_mb=256)

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "cargo-fuzz needs the nightly toolchain (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$CI_TOOLS"
fi

seed() {
  local target=$1 corpus=fuzz/corpus/$1
  mkdir -p "$corpus"
  case $target in
    validate) cp tests/fixtures/pdf/*.pdf tests/fixtures/encrypted/*.pdf tests/fixtures/png/*.png fuzz/regressions/pdf/* "$corpus/" ;;
    validate_pdf) cp tests/fixtures/pdf/*.pdf tests/fixtures/encrypted/*.pdf fuzz/regressions/pdf/* "$corpus/" ;;
    validate_png) cp tests/fixtures/png/*.png "$corpus/" ;;
    decoders)
      # The first byte picks the decoder (fuzz_targets/decoders.rs): 3 is JPEG, 4 content.
      printf '\003\377\330\377\333\000\004\000\000\377\331' >"$corpus/jpeg"
      printf '\004q 1 0 0 1 72 720 cm BT /F1 12 Tf (x) Tj ET Q' >"$corpus/content"
      printf '\002\002abc\376x\200' >"$corpus/run-length"
      ;;
    parse_id)
      printf '0' >"$corpus/zero"
      printf '18446744073709551615' >"$corpus/max"
      printf '018446744073709551616' >"$corpus/over"
      ;;
  esac
}

# Safe Rust: no sanitizer needed to catch panics, and the build is much faster.
# -a keeps overflow checks and debug assertions on in the optimised build.
cargo +nightly fuzz build --fuzz-dir fuzz -s none -O -a
# Every committed regression input once, under the limits.
cargo +nightly fuzz run --fuzz-dir fuzz -s none -O -a validate_pdf fuzz/regressions/pdf -- \
  -runs=0 "${LIMITS[@]}"
for target in validate_pdf validate_png validate decoders parse_id; do
  seed "$target"
  dict=()
  case $target in
    validate_pdf) dict=(-dict=fuzz/dict/pdf.dict) ;;
    validate_png) dict=(-dict=fuzz/dict/png.dict) ;;
  esac
  log="fuzz/artifacts/$target.log"
  mkdir -p fuzz/artifacts
  echo "fuzzing $target for ${FUZZ_SECONDS}s"
  if ! cargo +nightly fuzz run --fuzz-dir fuzz -s none -O -a "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$FUZZ_SECONDS" "${LIMITS[@]}" -print_final_stats=1 "${dict[@]}" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz target $target failed; reproducer under fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|new_units_added)' "$log" || true
done
