#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that takes outside bytes (fuzz/fuzz_targets):
# builds the targets once, runs each for SECONDS (default 20), prints executions and
# crashes per target and what the stage took. Exits 1 if any target crashed.
#
#   scripts/fuzz.sh            # every target, 20 s each (what .ci/run does)
#   scripts/fuzz.sh 600 token  # one target, 10 minutes
#
# Corpora grow in fuzz/corpus/<target> (not in git) from the seeds in fuzz/seeds/<target>
# (reference token vectors, JSON-RPC bodies, an NDJSON export). Crashes are kept in
# fuzz/artifacts/<target>; rerun one with `cargo fuzz run --sanitizer none <target> <file>`.
# cargo-fuzz is pinned and installed once; the stable toolchain is enough with
# `--sanitizer none` (libFuzzer's coverage instrumentation, no address sanitizer).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-20}
shift || true
CARGO_FUZZ_VERSION=0.13.2
started=$(date +%s)

if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build --sanitizer none
echo "fuzz: built in $(($(date +%s) - started)) s"

crashed=0
printf '%-18s %12s %10s %8s\n' target executions exec/s crashed
for target in "${targets[@]}"; do
  corpus=fuzz/corpus/$target
  mkdir -p "$corpus" "fuzz/artifacts/$target"
  log=$(mktemp)
  status=ok
  if ! cargo fuzz run --sanitizer none "$target" "$corpus" "fuzz/seeds/$target" -- \
      -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 >"$log" 2>&1; then
    status=CRASH
    crashed=1
    tail -n 40 "$log"
  fi
  runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -n 1)
  speed=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log" | tail -n 1)
  printf '%-18s %12s %10s %8s\n' "$target" "${runs:-?}" "${speed:-?}" "$status"
  rm -f "$log"
done
echo "fuzz: ${#targets[@]} targets x ${SECONDS_EACH} s in $(($(date +%s) - started)) s"
exit "$crashed"
