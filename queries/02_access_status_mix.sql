-- Status code mix: how many requests ended in each status, and their share of all requests.
SELECT status, count(*) AS requests, round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS percent
FROM access
GROUP BY status
ORDER BY status;
