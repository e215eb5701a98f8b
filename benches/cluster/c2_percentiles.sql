-- Exact latency percentiles per method: every request_time of a method meets in one place.
SELECT method, count(*) AS requests,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY request_time) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY request_time) AS p95,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY request_time) AS p99
FROM access GROUP BY method ORDER BY method
