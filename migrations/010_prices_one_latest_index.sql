-- 010 one latest row per asset, enforced: a unique partial index on
-- (asset_id) WHERE is_latest, built CONCURRENTLY so the importer keeps
-- writing.  It cannot fail on a second latest row: 008 and 009 removed
-- them and 009's trigger lets none be written since.

-- migrate:up transaction:false
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ix_prices_one_latest
    ON prices (asset_id) WHERE is_latest;

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS ix_prices_one_latest;

-- migrate:verify
SELECT i.indisunique AND i.indisvalid AND i.indisready
  FROM pg_catalog.pg_index i
 WHERE i.indexrelid = 'public.ix_prices_one_latest'::regclass;
