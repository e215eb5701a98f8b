-- Requests per status over the whole log: a scan, a partial and a final aggregate.
SELECT status, count(*) AS requests FROM access GROUP BY status ORDER BY status
