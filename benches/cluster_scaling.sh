#!/usr/bin/env bash
# Scaling of logfusion on a Ballista cluster on this machine: the queries of benches/cluster/
# (status count, exact percentiles) over a generated access log, locally in one process and on
# a cluster of 1 and then 2 executors with one slot each, by `logfusion bench` (median of
# ITERATIONS runs after a warm-up), then one `logfusion run` per cluster shape for the
# per-stage times of each job (from performance.log).
#
#   LOGFUSION=target/release/logfusion benches/cluster_scaling.sh [SIZE_MIB]   (default 1024)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${LOGFUSION:-$root/target/release/logfusion}
size=${1:-1024}
iterations=${ITERATIONS:-3}
work=${BENCH_DIR:-$root/.bench/cluster}
data=$work/data-$size
mkdir -p "$data" "$work/out"
log=$data/access.log
[[ -s $log ]] || "$bin" gen --format access --size "${size}MiB" --out "$log" >/dev/null
port=$(( 20000 + RANDOM % 20000 ))
config=$work/cluster.yaml
cat > "$config" <<YAML
max_workers: 2
cluster:
  scheduler: df://127.0.0.1:$port
  bind: 127.0.0.1:$port
  partitions: 16
  executor_timeout: 10s
  heartbeat: 2s
logging: { system_log: system.log, performance_log: performance.log, level: warn }
YAML
rm -f "$work/performance.log"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
executor() { # N
  "$bin" --config "$config" executor --scheduler "127.0.0.1:$port" --bind "127.0.0.1:$((port + 10 * $1))" \
    --grpc-port "$((port + 10 * $1 + 1))" --slots 1 --work-dir "$work/e$1" > "$work/e$1.out" 2>&1 &
  pids+=($!)
}
alive() { # N
  for _ in $(seq 1 100); do
    [[ $("$bin" --config "$config" cluster status 2>/dev/null | grep -c ' alive ') == "$1" ]] && return 0
    sleep 0.3
  done
  echo "the cluster never had $1 executors"; exit 1
}
bench() { # label extra-args...
  local label=$1; shift
  echo "== $label"
  "$bin" --config "$config" bench --log-dir "$data" --queries "$root/benches/cluster" --iterations "$iterations" \
    --warmup 1 --out "$work/out/bench-$label" --save "$work/$label.json" "$@" | sed -n '/query/,/^$/p'
}
stages() { # label extra-args...
  local label=$1; shift
  "$bin" --config "$config" run --log-dir "$data" --queries "$root/benches/cluster" --out "$work/out/run-$label" "$@" >/dev/null
  python3 - "$work/performance.log" "$label" <<'PY'
import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
for r in records[-2:]:
    job = r.get("job")
    print(f"{sys.argv[2]} {r['query']}: wall {r['wall_seconds']:.3f} s, job {job['job_id'] if job else '-'}")
    for s in (job or {}).get("stages", []):
        print(f"  stage {s['stage_id']}: {s['partitions']:>2} tasks, wall {s['wall_seconds']:.3f} s, "
              f"tasks {s['task_seconds']:.3f} s (max {s['max_task_seconds']:.3f} s), {s['operators']}")
PY
}
echo "data: $log ($(( $(stat -c %s "$log") / 1048576 )) MiB, $(wc -l < "$log") lines), $(nproc) cores"
cat "$log" > /dev/null
bench local
"$bin" --config "$config" scheduler > "$work/scheduler.out" 2>&1 &
pids+=($!)
executor 1; alive 1
bench cluster-1 --cluster
stages cluster-1 --cluster
executor 2; alive 2
bench cluster-2 --cluster
stages cluster-2 --cluster
python3 - "$work" <<'PY'
import json, sys
runs = {k: json.load(open(f"{sys.argv[1]}/{k}.json")) for k in ("local", "cluster-1", "cluster-2")}
def medians(run):
    return {q["name"]: q["wall"]["median"] for q in run["settings"][0]["queries"]}
m = {k: medians(v) for k, v in runs.items()}
print(f"{'query':<20} {'local':>9} {'1 executor':>11} {'2 executors':>12} {'2 vs 1':>7}")
for q in m["local"]:
    print(f"{q:<20} {m['local'][q]:>8.3f}s {m['cluster-1'][q]:>10.3f}s {m['cluster-2'][q]:>11.3f}s "
          f"{m['cluster-1'][q] / m['cluster-2'][q]:>6.2f}x")
PY
