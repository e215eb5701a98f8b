"""Formats of logfusion's library against DuckDB's `regexp_extract` with the same pattern.

  python library_peers.py gen FORMAT SIZE_MIB FILE   deterministic lines of FORMAT
  python library_peers.py duckdb FORMAT FILE          count per level, the time parsed too

The pattern is read from crates/formats/library/FORMAT.yaml, so both tools run the same regex
(DuckDB's RE2 reads Python-style named groups)."""
import pathlib
import random
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The layout of each format's time in DuckDB's strptime.
DUCKDB_TIME = {
    "nginx_error": "%Y/%m/%d %H:%M:%S",
    "postgres": "%Y-%m-%d %H:%M:%S.%g",
    "log4j": "%Y-%m-%d %H:%M:%S,%g",
}


def pattern(fmt):
    for line in (ROOT / "crates/formats/library" / f"{fmt}.yaml").read_text().splitlines():
        if line.startswith("pattern: '"):
            return line[len("pattern: '"):-1].replace("''", "'")
    raise SystemExit(f"no pattern in {fmt}.yaml")


def levels(fmt):
    """The definition's level mapping (`levels: {written: COMMON, ...}`), as pairs."""
    for line in (ROOT / "crates/formats/library" / f"{fmt}.yaml").read_text().splitlines():
        if line.startswith("levels: {"):
            pairs = [p.split(": ", 1) for p in line[len("levels: {"):-1].split(", ")]
            return [(k.strip("'"), v) for k, v in pairs]
    return []


def line_of(fmt, i, rnd):
    h, m, s = (i // 3600) % 24, (i // 60) % 60, i % 60
    ms = rnd.randrange(1000)
    level = rnd.choices(["INFO", "WARN", "ERROR", "DEBUG"], [70, 15, 5, 10])[0]
    if fmt == "nginx_error":
        lvl = {"INFO": "info", "WARN": "warn", "ERROR": "error", "DEBUG": "notice"}[level]
        return (f"2026/10/01 {h:02}:{m:02}:{s:02} [{lvl}] {rnd.randrange(1, 64)}#0: *{i} upstream timed out "
                f"(110: Connection timed out) while reading response header from upstream, client: 10.0.{i % 256}.{rnd.randrange(256)}, "
                f"server: shop.example, request: \"GET /api/items/{rnd.randrange(10000)} HTTP/1.1\"")
    if fmt == "postgres":
        lvl = {"INFO": "LOG", "WARN": "WARNING", "ERROR": "ERROR", "DEBUG": "DEBUG1"}[level]
        return (f"2026-10-01 {h:02}:{m:02}:{s:02}.{ms:03} UTC [{rnd.randrange(100, 9999)}] app@shop {lvl}:  "
                f"duration: {rnd.random() * 100:.3f} ms  statement: SELECT * FROM orders WHERE id = {rnd.randrange(100000)}")
    if fmt == "log4j":
        return (f"2026-10-01 {h:02}:{m:02}:{s:02},{ms:03} {level:<5} [pool-{rnd.randrange(8)}-thread-{rnd.randrange(32)}] "
                f"org.apache.kafka.clients.NetworkClient: [Consumer clientId=c-{rnd.randrange(50)}] Node {rnd.randrange(6)} disconnected.")
    raise SystemExit(f"no generator for {fmt}")


def gen(fmt, size_mib, out):
    rnd = random.Random(7)
    limit = int(size_mib) * 1048576
    written = 0
    i = 0
    with open(out, "w") as f:
        while written < limit:
            chunk = "".join(line_of(fmt, i + k, rnd) + "\n" for k in range(10000))
            i += 10000
            f.write(chunk)
            written += len(chunk)


def duckdb(fmt, path):
    import duckdb
    import re as regex
    text = pattern(fmt)
    # DuckDB names the groups by position: every group of the pattern, in order.
    names = ", ".join(f"'{n}'" for n in regex.findall(r"\(\?P<(\w+)>", text))
    re = text.replace("'", "''")
    # The level mapping logfusion applies, as the same work for DuckDB.
    cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in levels(fmt))
    level = f"CASE r.level {cases} ELSE r.level END" if cases else "r.level"
    sql = (f"SELECT level, count(*) AS n FROM (SELECT regexp_extract(line, '{re}', [{names}]) AS r "
           f"FROM read_csv('{path}', delim='\\x01', quote='', escape='', header=false, columns={{'line': 'VARCHAR'}}, auto_detect=false)), "
           f"LATERAL (SELECT {level} AS level, strptime(r.ts, '{DUCKDB_TIME[fmt]}') AS ts) GROUP BY level ORDER BY level")
    for row in duckdb.sql(sql).fetchall():
        print(*row)


if sys.argv[1] == "gen":
    gen(*sys.argv[2:5])
else:
    duckdb(*sys.argv[2:4])
