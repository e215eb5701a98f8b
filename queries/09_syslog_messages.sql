-- Syslog volume: messages per hour, host, application and severity (0 emergency .. 7 debug).
SELECT date_trunc('hour', ts) AS hour, hostname, app_name, severity, count(*) AS messages
FROM syslog
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4;
