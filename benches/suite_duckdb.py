"""The access-log queries of queries/ in DuckDB, over the log read as space-separated CSV (DuckDB's
fastest form, as in shared/bench/peers.py), each timed in-process: the peer side of the suite
comparison in benches/README.md.
usage: python benches/suite_duckdb.py ACCESS_LOG"""
import sys, time, duckdb

log = sys.argv[1]
cols = ", ".join(f"'column{i:02d}': 'VARCHAR'" for i in range(11))
con = duckdb.connect()
con.sql(f"""CREATE VIEW access AS SELECT
  strptime(substr(column03, 2) || ' ' || substr(column04, 1, 5), '%d/%b/%Y:%H:%M:%S %z') AS ts,
  column00 AS client_ip, split_part(column05, ' ', 1) AS method, split_part(column05, ' ', 2) AS path,
  column06::USMALLINT AS status, column07::UBIGINT AS bytes, column09 AS user_agent, column10::DOUBLE AS request_time
  FROM read_csv('{log}', delim=' ', quote='"', escape='"', header=false, all_varchar=true, auto_detect=false, columns={{{cols}}})""")
con.sql("SET TimeZone='UTC'")
queries = {
 "01_access_requests_per_minute": "SELECT date_trunc('minute', ts) AS minute, count(*), sum(bytes) FROM access GROUP BY 1 ORDER BY 1",
 "02_access_status_mix": "SELECT status, count(*), round(100.0 * count(*) / sum(count(*)) OVER (), 2) FROM access GROUP BY status ORDER BY status",
 "03_access_error_rate": "SELECT date_trunc('hour', ts), count(*), count(*) FILTER (WHERE status BETWEEN 400 AND 499), count(*) FILTER (WHERE status >= 500), round(100.0 * count(*) FILTER (WHERE status >= 400) / count(*), 2) FROM access GROUP BY 1 ORDER BY 1",
 "04_access_top_paths": "SELECT split_part(path, '?', 1) AS e, count(*) AS n, sum(bytes), count(*) FILTER (WHERE status >= 400) FROM access GROUP BY 1 ORDER BY n DESC, e LIMIT 20",
 "05_access_slowest_endpoints": "SELECT split_part(path, '?', 1) AS e, count(*), quantile_cont(request_time, 0.5), quantile_cont(request_time, 0.95) AS p95, quantile_cont(request_time, 0.99) FROM access WHERE request_time IS NOT NULL GROUP BY 1 ORDER BY p95 DESC, e LIMIT 20",
 "06_access_top_clients": "SELECT client_ip, count(*) AS n, sum(bytes), count(*) FILTER (WHERE status >= 400), min(ts), max(ts) FROM access GROUP BY 1 ORDER BY n DESC, client_ip LIMIT 20",
 "07_access_5xx_bursts": "WITH m AS (SELECT date_trunc('minute', ts) AS minute, count(*) AS requests, count(*) FILTER (WHERE status >= 500) AS e FROM access GROUP BY 1) SELECT minute, e, requests FROM m WHERE e > 0 AND e >= 3 * (SELECT avg(e) FROM m) ORDER BY e DESC, minute LIMIT 50",
 "08_access_bot_share": "SELECT CASE WHEN user_agent ILIKE '%bot%' OR user_agent ILIKE '%crawl%' OR user_agent ILIKE '%spider%' THEN 'crawler' WHEN user_agent ILIKE 'curl/%' OR user_agent ILIKE 'wget/%' OR user_agent ILIKE 'python-%' OR user_agent ILIKE 'sqlmap%' THEN 'tool' ELSE 'browser' END AS c, count(*) AS n FROM access GROUP BY 1 ORDER BY n DESC, c",
}
total = 0.0
for name, sql in queries.items():
    t = time.perf_counter()
    rows = con.sql(sql).fetchall()
    dt = time.perf_counter() - t
    total += dt
    print(f"{name:<32} {dt:8.3f} s {len(rows):6d} rows")
print(f"{'total':<32} {total:8.3f} s")
