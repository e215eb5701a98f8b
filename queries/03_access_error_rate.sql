-- Error rate over time: per hour, requests, client (4xx) and server (5xx) errors, and the error share.
SELECT date_trunc('hour', ts) AS hour,
       count(*) AS requests,
       count(*) FILTER (WHERE status BETWEEN 400 AND 499) AS client_errors,
       count(*) FILTER (WHERE status >= 500) AS server_errors,
       round(100.0 * count(*) FILTER (WHERE status >= 400) / count(*), 2) AS error_percent
FROM access
GROUP BY 1
ORDER BY 1;
