-- Performance metrics as computed before index_performance (007): the same
-- rows as performance_metrics.sql, from index_values.  Drawdown needs the
-- highest value of the index's whole history before each day, so every day
-- up to the last one is read and every window computed on each request.
--   $1  index type
--   $2  first day (date)
--   $3  last day (date)
SELECT date, value, daily_return,
       round(value / first_value(value) OVER (ORDER BY date) - 1, 8) AS period_return,
       drawdown, volatility_30d, return_1y
  FROM (SELECT date, value, daily_return,
               round(value / max(value) OVER w - 1, 8) AS drawdown,
               round(stddev_samp(daily_return) OVER (w ROWS 29 PRECEDING) * sqrt(252.0), 8)
                   AS volatility_30d,
               round(value / first_value(value) OVER (w RANGE '365 days' PRECEDING) - 1, 8)
                   AS return_1y
          FROM index_values
         WHERE index_type = $1
           AND date <= $3::date
        WINDOW w AS (ORDER BY date)) m
 WHERE date >= $2::date
 ORDER BY date;
