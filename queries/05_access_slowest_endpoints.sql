-- Slowest endpoints: p50/p95/p99 of request_time (seconds) per endpoint, slowest p95 first.
SELECT split_part(path, '?', 1) AS endpoint, count(*) AS requests,
       percentile_cont(request_time, 0.5) AS p50,
       percentile_cont(request_time, 0.95) AS p95,
       percentile_cont(request_time, 0.99) AS p99
FROM access
WHERE request_time IS NOT NULL
GROUP BY 1
ORDER BY p95 DESC, endpoint
LIMIT 20;
