-- 003 unique (asset_id, date) index on prices: one price row per asset and
-- day from now on, and the index the API's "price of asset X on day D"
-- lookups use.  It comes after 002 because a unique index cannot be built
-- while duplicates exist.  Built CONCURRENTLY (outside a transaction), so the
-- price importer keeps writing during the build; if the build fails, pgward
-- drops the invalid index at once.

-- migrate:up transaction:false
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ix_prices_asset_date
    ON prices (asset_id, date);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS ix_prices_asset_date;

-- migrate:verify
SELECT i.indisunique AND i.indisvalid AND i.indisready
  FROM pg_catalog.pg_index i
 WHERE i.indexrelid = 'public.ix_prices_asset_date'::regclass;
