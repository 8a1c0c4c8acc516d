-- 007 index_performance: the performance metrics of every index, per day,
-- computed once from index_values instead of on every request.  A day's
-- drawdown needs the index's whole history before it, so computing the
-- metrics of one year from index_values reads every earlier day too: 6-10 ms
-- with 7 years of history, against about 0.5 ms from this view.
-- Per (index_type, date), the newest index_values row of that day (highest
-- created_at, then highest id; index_values has no unique key):
--   daily_return    as stored in index_values
--   drawdown        value / highest value so far - 1
--   volatility_30d  stddev of the last 30 daily returns, annualised (x sqrt 252)
--   return_1y       value / the value of the earliest day at most 365 days
--                   before - 1
-- The unique index lets the job that writes index_values run
-- REFRESH MATERIALIZED VIEW CONCURRENTLY index_performance afterwards
-- without blocking readers.  The view is new, so its index is built in the
-- same transaction: nobody reads it yet.

-- migrate:up
CREATE MATERIALIZED VIEW index_performance AS
SELECT index_type, date, value, daily_return,
       round(value / max(value) OVER w - 1, 8) AS drawdown,
       round(stddev_samp(daily_return) OVER (w ROWS 29 PRECEDING) * sqrt(252.0), 8)
           AS volatility_30d,
       round(value / first_value(value) OVER (w RANGE '365 days' PRECEDING) - 1, 8)
           AS return_1y
  FROM (SELECT index_type, date, value, daily_return,
               row_number() OVER (PARTITION BY index_type, date
                                  ORDER BY created_at DESC, id DESC) AS rn
          FROM index_values) newest
 WHERE rn = 1
WINDOW w AS (PARTITION BY index_type ORDER BY date);

CREATE UNIQUE INDEX ix_index_performance_type_date
    ON index_performance (index_type, date);

-- migrate:down
DROP MATERIALIZED VIEW index_performance;

-- migrate:verify
SELECT c.relispopulated AND i.indisunique AND i.indisvalid
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_index i ON i.indrelid = c.oid
 WHERE c.oid = 'public.index_performance'::regclass
   AND i.indexrelid = 'public.ix_index_performance_type_date'::regclass;
