-- Historical prices: one asset's daily closes over one year, for a chart.
--   $1  asset id
--   $2  first day (date)
-- An index-only range scan of ix_prices_asset_date_close (006): the year's
-- 365 entries lie side by side in a few index pages, where the heap holds
-- them on as many different pages.
-- indexes: ix_prices_asset_date_close
SELECT p.date, p.close
  FROM prices p
 WHERE p.asset_id = $1
   AND p.date >= $2::date
   AND p.date < $2::date + 365
 ORDER BY p.date;
