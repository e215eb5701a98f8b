-- Top syslog errors: the most frequent messages of severity error or worse (0-3), per application.
SELECT app_name, message, count(*) AS occurrences, min(ts) AS first_seen, max(ts) AS last_seen
FROM syslog
WHERE severity <= 3
GROUP BY app_name, message
ORDER BY occurrences DESC, app_name, message
LIMIT 20;
