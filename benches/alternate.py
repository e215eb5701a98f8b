#!/usr/bin/env python3
"""Alternated runs of one query through several logfusion builds, for A/B figures on a noisy
machine: every round runs each build once, in turn, so a slow minute hits all of them.

    benches/alternate.py RUNS LOG_DIR WORKERS BUILD...
    Q="SELECT ..." benches/alternate.py 7 .bench/peers/access-5120 2 /tmp/lf-old target/release/logfusion

Prints, per build, the median and minimum wall time and the median user and system CPU
seconds (from wait4, microsecond resolution; /usr/bin/time rounds to 10 ms). The default query
is the peers harness's Q1 (count per status).
"""
import os
import statistics
import subprocess
import sys
import time

Q1 = "SELECT status, count(*) FROM access GROUP BY status ORDER BY status"


def main() -> None:
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    runs, log_dir, workers, builds = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    query = os.environ.get("Q", Q1)
    times = {b: [] for b in builds}
    for _ in range(runs):
        for build in builds:
            start = time.perf_counter()
            child = subprocess.Popen(
                [build, "query", "--max-workers", workers, "--log-dir", log_dir, query],
                stdout=subprocess.DEVNULL,
            )
            _, status, usage = os.wait4(child.pid, 0)
            if status != 0:
                sys.exit(f"{build} failed (wait status {status})")
            times[build].append((time.perf_counter() - start, usage.ru_utime, usage.ru_stime))
    for build, rows in times.items():
        wall = [r[0] for r in rows]
        print(
            f"{build:32s} wall median {statistics.median(wall):.3f} min {min(wall):.3f}"
            f" | user median {statistics.median(r[1] for r in rows):.3f}"
            f" | sys median {statistics.median(r[2] for r in rows):.3f}"
        )


if __name__ == "__main__":
    main()
