#!/usr/bin/env bash
# Rust: formatting, lints, and the README's test command.
set -euo pipefail
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace
