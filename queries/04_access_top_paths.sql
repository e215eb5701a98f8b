-- Top paths (query string removed) by requests, with bytes sent and error count.
SELECT split_part(path, '?', 1) AS endpoint, count(*) AS requests, sum(bytes) AS bytes,
       count(*) FILTER (WHERE status >= 400) AS errors
FROM access
GROUP BY 1
ORDER BY requests DESC, endpoint
LIMIT 20;
