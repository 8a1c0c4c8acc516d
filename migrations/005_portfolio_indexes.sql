-- 005 indexes for the per-user portfolio queries, built CONCURRENTLY so the
-- API keeps writing: allocations and transactions by user and date, index
-- values by date and type, and two partial indexes that cover only live
-- rows (active allocations, users not soft-deleted).

-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_allocations_user_date
    ON allocations (user_id, date, asset_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_allocations_active
    ON allocations (user_id, asset_id) WHERE is_active;
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_transactions_user_date
    ON transactions (user_id, transaction_date);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_index_values_date_type
    ON index_values (date, index_type);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_users_active
    ON users (email) WHERE deleted_at IS NULL;

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS ix_users_active;
DROP INDEX CONCURRENTLY IF EXISTS ix_index_values_date_type;
DROP INDEX CONCURRENTLY IF EXISTS ix_transactions_user_date;
DROP INDEX CONCURRENTLY IF EXISTS ix_allocations_active;
DROP INDEX CONCURRENTLY IF EXISTS ix_allocations_user_date;

-- migrate:verify
SELECT count(*) = 5 AND bool_and(i.indisvalid AND i.indisready)
  FROM pg_catalog.pg_index i
 WHERE i.indexrelid IN ('public.ix_allocations_user_date'::regclass,
                        'public.ix_allocations_active'::regclass,
                        'public.ix_transactions_user_date'::regclass,
                        'public.ix_index_values_date_type'::regclass,
                        'public.ix_users_active'::regclass);
