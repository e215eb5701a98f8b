#!/usr/bin/env bash
# A user-defined regex format against its peers: count per level over generated lines like
# `2026-10-01 00:00:00.123 [INFO] component: message` (`logfusion gen --format app`), through
# logfusion's `regex` format (the pattern of `data/custom/`, timestamps typed), DuckDB
# (`regexp_extract`, `strptime`) and Polars (`str.extract_groups`, `str.strptime`). Minimum
# wall time of RUNS runs (default 3), MB/s, peak RSS, and the ratio to the fastest peer.
#
#   LOGFUSION=target/release/logfusion benches/regex_peers.sh [SIZE_MIB]   (default 256)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${LOGFUSION:-$root/target/release/logfusion}
size=${1:-256}
runs=${RUNS:-3}
work=${BENCH_DIR:-$root/.bench/regex}
venv=${BENCH_VENV:-$root/.bench/venv}
mkdir -p "$work/app-$size"
log=$work/app-$size/app.log
[[ -s $log ]] || "$bin" gen --format app --size "${size}MiB" --out "$log" >/dev/null
if [[ ! -x $venv/bin/python ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q duckdb polars
fi
cat > "$work/regex.yaml" <<YAML
sources:
  - name: app
    path: $work/app-$size/
    format: regex
    options:
      pattern: '^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \[(?P<level>[A-Z]+)\] (?P<component>\w+): (?P<message>.*)$'
      timestamp_format: '%Y-%m-%d %H:%M:%S%.3f'
      columns: { ts: timestamp }
logging: { system_log: system.log, performance_log: performance.log }
YAML
bytes=$(stat -c %s "$log")
echo "data: $log  $((bytes / 1048576)) MiB  $(wc -l < "$log") lines  runs=$runs  cores=$(nproc)"
cat "$log" > /dev/null
declare -A best rss
measure() { # name command...
  local name=$1; shift
  local b=999999 m=0 t
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -f '%e %M' -o "$work/.time" "$@" > "$work/.out.$name" 2> "$work/.err.$name" || { echo "$name failed: $(tail -n 3 "$work/.err.$name")"; return 0; }
    read -r t m < "$work/.time"
    b=$(awk -v a="$t" -v b="$b" 'BEGIN{print (a<b)?a:b}')
  done
  best[$name]=$b; rss[$name]=$m
}
measure duckdb "$venv/bin/python" "$root/benches/regex_peers.py" duckdb "$log"
measure polars "$venv/bin/python" "$root/benches/regex_peers.py" polars "$log"
measure logfusion "$bin" --config "$work/regex.yaml" query --output csv "SELECT level, count(*) AS n FROM app GROUP BY level ORDER BY level"
peer=$(awk -v a="${best[duckdb]}" -v b="${best[polars]}" 'BEGIN{print (a<b)?a:b}')
printf '\n%-12s %9s %9s %9s %12s\n' tool seconds MB/s "RSS MiB" "vs best peer"
for k in duckdb polars logfusion; do
  awk -v k="$k" -v t="${best[$k]}" -v by="$bytes" -v r="${rss[$k]}" -v pb="$peer" \
    'BEGIN{printf "%-12s %9.2f %9.0f %9.0f %11.2fx\n", k, t, by/1e6/(t>0?t:0.001), r/1024, pb/(t>0?t:0.001)}'
done
echo
for k in duckdb polars logfusion; do printf '  %-10s %s\n' "$k" "$(tail -n +1 "$work/.out.$k" | grep -v '^level' | tr '\n,' '  ')"; done
