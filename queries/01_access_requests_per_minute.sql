-- Requests and bytes sent per minute: traffic shape and volume over time.
SELECT date_trunc('minute', ts) AS minute, count(*) AS requests, sum(bytes) AS bytes
FROM access
GROUP BY 1
ORDER BY 1;
