"""Peers of logfusion's user-defined regex format: count per level of lines like
`2026-10-01 00:00:00.123 [INFO] component: message`, each tool extracting the fields with the
regex users write (the timestamp parsed too, as logfusion validates it).
usage: python regex_peers.py duckdb|polars FILE"""
import sys

RE = r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \[([A-Z]+)\] (\w+): (.*)$'

def duckdb(f):
    import duckdb
    sql = (f"SELECT level, count(*) AS n FROM (SELECT regexp_extract(line, '{RE}', ['ts', 'level', 'component', 'message']) AS r "
           f"FROM read_csv('{f}', delim='\\x01', quote='', escape='', header=false, columns={{'line': 'VARCHAR'}}, auto_detect=false)), "
           f"LATERAL (SELECT r.level AS level, strptime(r.ts, '%Y-%m-%d %H:%M:%S.%g') AS ts) GROUP BY level ORDER BY level")
    for row in duckdb.sql(sql).fetchall():
        print(*row)

def polars(f):
    import polars as pl
    lf = pl.scan_csv(f, has_header=False, separator="\x01", quote_char=None, new_columns=["line"], schema={"line": pl.String})
    groups = lf.select(pl.col("line").str.extract_groups(r'^(?<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \[(?<level>[A-Z]+)\] (?<component>\w+): (?<message>.*)$')).unnest("line")
    out = (groups.with_columns(pl.col("ts").str.strptime(pl.Datetime, "%Y-%m-%d %H:%M:%S%.3f"))
                 .group_by("level").agg(pl.len().alias("n")).sort("level")).collect()
    for row in out.iter_rows():
        print(*row)

{"duckdb": duckdb, "polars": polars}[sys.argv[1]](sys.argv[2])
