-- 006 covering index for price history and latest-price reads, built
-- CONCURRENTLY so that imports are not blocked.  ix_prices_asset_date (003)
-- finds an asset's rows, but prices is written one day of every asset at a
-- time, so one asset's year of daily prices lies on about 365 different heap
-- pages: 1.5-3 ms per request at 5M rows.  With close in the index, "one
-- asset's closing prices over a period" and "an asset's latest close"
-- (ORDER BY date DESC LIMIT 1) are index-only scans of a few pages.

-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_prices_asset_date_close
    ON prices (asset_id, date) INCLUDE (close);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS ix_prices_asset_date_close;

-- migrate:verify
SELECT i.indisvalid AND i.indisready AND i.indnkeyatts = 2 AND i.indnatts = 3
  FROM pg_catalog.pg_index i
 WHERE i.indexrelid = 'public.ix_prices_asset_date_close'::regclass;
