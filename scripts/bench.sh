#!/usr/bin/env bash
# Data-plane benchmark: floor (poem echo) vs the full pipeline, one run, loopback.
# Prints a markdown table (see BENCHMARKS.md). Takes about a minute after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench pipeline
