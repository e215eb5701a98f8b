-- 5xx bursts: minutes with at least 3 times the average number of server errors per minute.
WITH per_minute AS (
    SELECT date_trunc('minute', ts) AS minute, count(*) AS requests,
           count(*) FILTER (WHERE status >= 500) AS server_errors
    FROM access
    GROUP BY 1
)
SELECT minute, server_errors, requests
FROM per_minute
WHERE server_errors > 0
  AND server_errors >= 3 * (SELECT avg(server_errors) FROM per_minute)
ORDER BY server_errors DESC, minute
LIMIT 50;
