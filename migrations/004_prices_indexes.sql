-- 004 read-path indexes on prices, built CONCURRENTLY so that imports are
-- not blocked: ix_prices_date_desc serves "all prices of the latest day"
-- and date-range scans; the partial ix_prices_latest indexes only the one
-- is_latest row per asset (recomputed by 002), so "current price of every
-- asset" reads a tiny index instead of the whole history.

-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_prices_date_desc
    ON prices (date DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_prices_latest
    ON prices (asset_id) WHERE is_latest;

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS ix_prices_latest;
DROP INDEX CONCURRENTLY IF EXISTS ix_prices_date_desc;

-- migrate:verify
SELECT count(*) = 2 AND bool_and(i.indisvalid AND i.indisready)
   AND bool_and((i.indexrelid = 'public.ix_prices_latest'::regclass) = (i.indpred IS NOT NULL))
  FROM pg_catalog.pg_index i
 WHERE i.indexrelid IN ('public.ix_prices_date_desc'::regclass,
                        'public.ix_prices_latest'::regclass);
