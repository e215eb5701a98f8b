-- Top clients by requests, with their bytes, error count and first/last request.
SELECT client_ip, count(*) AS requests, sum(bytes) AS bytes,
       count(*) FILTER (WHERE status >= 400) AS errors, min(ts) AS first_seen, max(ts) AS last_seen
FROM access
GROUP BY client_ip
ORDER BY requests DESC, client_ip
LIMIT 20;
