-- Bot share: requests from crawlers and command-line tools versus browsers, by user agent.
SELECT CASE
         WHEN user_agent IS NULL THEN 'unknown'
         WHEN user_agent ILIKE '%bot%' OR user_agent ILIKE '%crawl%' OR user_agent ILIKE '%spider%' THEN 'crawler'
         WHEN user_agent ILIKE 'curl/%' OR user_agent ILIKE 'wget/%' OR user_agent ILIKE 'python-%'
              OR user_agent ILIKE 'sqlmap%' THEN 'tool'
         ELSE 'browser'
       END AS agent_class,
       count(*) AS requests,
       round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS percent
FROM access
GROUP BY 1
ORDER BY requests DESC, agent_class;
