-- Performance metrics: one index's values over a period, with its daily
-- return, its return since the first day of the period, its drawdown from
-- the highest value so far, its 30-day volatility and its one-year return.
--   $1  index type
--   $2  first day (date)
--   $3  last day (date)
-- Reads the materialized view index_performance (007), which holds the
-- metrics that need earlier days, through its unique index
-- ix_index_performance_type_date.  performance_metrics.005.sql computes the
-- same rows from index_values, as before 007.
-- indexes: ix_index_performance_type_date
SELECT date, value, daily_return,
       round(value / first_value(value) OVER (ORDER BY date) - 1, 8) AS period_return,
       drawdown, volatility_30d, return_1y
  FROM index_performance
 WHERE index_type = $1
   AND date >= $2::date
   AND date <= $3::date
 ORDER BY date;
