#!/usr/bin/env bash
# A short fuzz run of every target in fuzz/ (coverage-guided libFuzzer via
# cargo-fuzz, on the stable toolchain: no sanitizer, the code forbids unsafe).
# A smoke test, not a campaign: it proves every target builds against the
# current code and survives FUZZ_SECONDS (default 10) of inputs each; any
# crash fails the run and leaves the input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_EACH="${FUZZ_SECONDS:-10}"
cargo fuzz build -O -s none
for target in $(cargo fuzz list); do
  printf '  fuzz %-18s ' "$target"
  log="$(mktemp)"
  if ! cargo fuzz run -O -s none "$target" -- -max_total_time="$SECONDS_EACH" >"$log" 2>&1; then
    echo "FAILED"
    tail -n 40 "$log"
    exit 1
  fi
  grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log" || echo "done"
  rm -f "$log"
done
