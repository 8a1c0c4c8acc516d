-- 009 keeps "one is_latest row per asset" true for every row written from
-- now on, so that 010 can make it a unique index.  A row written with
-- is_latest takes the flag from the asset's other rows (the importer used
-- to leave it on the previous day); a per-asset transaction lock makes two
-- writers of the same asset take turns, so neither can miss the other's
-- row.  Rows the importer wrote while 008 ran are fixed here, in the same
-- transaction that creates the trigger: CREATE TRIGGER locks out writes
-- until COMMIT, so no second latest row can slip in between.  The fix
-- reads only the is_latest rows (the partial index ix_prices_latest).
-- The function names its table with the schema: it also runs under the
-- search_path of a restore or of pgward's own sessions.

-- migrate:up
CREATE FUNCTION prices_one_latest() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1885828965, NEW.asset_id::int);
    UPDATE public.prices SET is_latest = false
     WHERE asset_id = NEW.asset_id AND is_latest AND id <> NEW.id;
    RETURN NEW;
END
$$;

CREATE TRIGGER prices_one_latest
    BEFORE INSERT OR UPDATE OF is_latest ON prices
    FOR EACH ROW WHEN (NEW.is_latest)
    EXECUTE FUNCTION prices_one_latest();

UPDATE prices p
   SET is_latest = false
 WHERE p.is_latest
   AND p.date < (SELECT max(q.date) FROM prices q
                  WHERE q.asset_id = p.asset_id AND q.is_latest);

-- migrate:down
DROP TRIGGER prices_one_latest ON prices;
DROP FUNCTION prices_one_latest();

-- migrate:verify
SELECT NOT EXISTS (SELECT 1 FROM public.prices WHERE is_latest
                    GROUP BY asset_id HAVING count(*) > 1);
