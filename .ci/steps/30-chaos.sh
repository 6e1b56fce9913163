#!/usr/bin/env bash
# Chaos: the release docproxy in front of the fault-injecting dummy upstream,
# through every scenario of `cargo xtask chaos --short` (docs/CHAOS.md).
# Fails if any scenario misses its pass criteria.
set -euo pipefail
cargo build --release --locked --bins -p docproxy -p dummy-pdf-or-png -p xtask
target/release/xtask chaos --short --out target/xtask
