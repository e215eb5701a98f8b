#!/usr/bin/env bash
# Formats of the library against DuckDB's `regexp_extract` with the same pattern: count per
# level (the time parsed too) over generated nginx error, Postgres and log4j logs. logfusion
# detects each file's format itself. Minimum wall time of RUNS runs (default 3), MB/s, peak RSS
# and logfusion's ratio to DuckDB.
#
#   LOGFUSION=target/release/logfusion benches/library_peers.sh [SIZE_MIB]   (default 256)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${LOGFUSION:-$root/target/release/logfusion}
size=${1:-256}
runs=${RUNS:-3}
work=${BENCH_DIR:-$root/.bench/library}
venv=${BENCH_VENV:-$root/.bench/venv}
if [[ ! -x $venv/bin/python ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q duckdb
fi
best() { # prints "seconds rss_kib" of the fastest of RUNS runs of the command
  local b=999999 m=0 t r
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -f '%e %M' -o "$work/.time" "$@" > "$work/.out" 2> "$work/.err" || { echo "failed: $(tail -n 3 "$work/.err")" >&2; exit 1; }
    read -r t r < "$work/.time"
    if awk -v a="$t" -v b="$b" 'BEGIN{exit !(a<b)}'; then b=$t; m=$r; fi
  done
  echo "$b $m"
}
printf '%-12s %-10s %9s %9s %9s %9s\n' format tool seconds MB/s "RSS MiB" "vs duckdb"
for fmt in nginx_error postgres log4j; do
  dir=$work/$fmt-$size
  mkdir -p "$dir"
  log=$dir/$fmt.log
  [[ -s $log ]] || "$venv/bin/python" "$root/benches/library_peers.py" gen "$fmt" "$size" "$log"
  bytes=$(stat -c %s "$log")
  cat "$log" > /dev/null
  read -r dt dm < <(best "$venv/bin/python" "$root/benches/library_peers.py" duckdb "$fmt" "$log")
  duck_out=$(tr '\n' ' ' < "$work/.out")
  read -r lt lm < <(best "$bin" query --log-dir "$dir" --output csv "SELECT level, count(*) AS n FROM $fmt GROUP BY level ORDER BY level")
  lf_out=$(grep -v '^level' "$work/.out" | tr '\n,' '  ')
  for row in "duckdb $dt $dm" "logfusion $lt $lm"; do
    read -r tool t m <<< "$row"
    awk -v f="$fmt" -v k="$tool" -v t="$t" -v by="$bytes" -v r="$m" -v d="$dt" \
      'BEGIN{printf "%-12s %-10s %9.2f %9.0f %9.0f %8.2fx\n", f, k, t, by/1e6/(t>0?t:0.001), r/1024, d/(t>0?t:0.001)}'
  done
  echo "  duckdb:    $duck_out"
  echo "  logfusion: $lf_out"
done
