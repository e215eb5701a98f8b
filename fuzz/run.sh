#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each (default 30), on the corpus in corpus/.
#   fuzz/run.sh [SECONDS]
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
for target in access syslog json logfmt regex lines; do
  echo "== fuzz $target for ${seconds}s"
  mkdir -p "corpus/$target"
  cargo fuzz run -O "$target" "corpus/$target" -- -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 2>&1 | tail -n 3
done
