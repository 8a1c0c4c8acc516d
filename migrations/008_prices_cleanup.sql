-- 008 clean-up of the price history, in batches, while the importer keeps
-- writing.  The first importer wrote a close only (open, high and low
-- NULL), and some feeds sent bars whose high or low is not the bar's
-- extreme (a high below its open or close, a low above them); the
-- importer also left is_latest on an asset's previous last day now and
-- then.  For each such row: open, high and low NULL -> close, high and low
-- widened to the bar's open and close, is_latest recomputed (true only on
-- the asset's most recent date).
-- The ids of a batch are collected first (ARRAY(...): an InitPlan, run
-- before any row is touched), then the rows are updated by primary key:
-- a row stays locked only from its own update to the batch's COMMIT,
-- never while the search for the next candidates scans the table (an
-- IN (...) join may instead scan prices for the target rows, locking
-- each as it finds it).
-- Batched (docs/migrations.md): each run of the statement fixes at most
-- 5,000 rows of each kind in a short transaction of its own, so the
-- importer's writes wait for one batch at most, never for the whole
-- table; a fixed row no longer matches, so a run that stopped resumes
-- where it was, and the migration is recorded when no row is left.
-- 009 then keeps is_latest right for the rows the importer writes, and 010
-- makes "one latest row per asset" a unique index.
-- Destructive (UPDATE): down restores nothing (the old values come back
-- only from the deploy's backup).

-- migrate:up batch:5000
UPDATE prices p
   SET open = coalesce(p.open, p.close),
       high = greatest(p.high, p.open, p.close, p.low),
       low = least(p.low, p.open, p.close, p.high),
       is_latest = (p.date = (SELECT max(q.date) FROM prices q
                               WHERE q.asset_id = p.asset_id))
 WHERE p.id = ANY (ARRAY(
        -- bars with a missing or inconsistent value
        (SELECT id FROM prices
          WHERE open IS NULL OR high IS NULL OR low IS NULL
             OR high < greatest(open, close) OR low > least(open, close)
          ORDER BY id LIMIT :batch)
        UNION ALL
        -- is_latest on a day that is not the asset's last (by the partial
        -- index ix_prices_latest)
        (SELECT q.id FROM prices q
          WHERE q.is_latest
            AND q.date < (SELECT max(r.date) FROM prices r
                           WHERE r.asset_id = q.asset_id)
          LIMIT :batch)
        UNION ALL
        -- an asset's last day without is_latest
        (SELECT l.id FROM assets a
          CROSS JOIN LATERAL (SELECT r.id, r.is_latest FROM prices r
                               WHERE r.asset_id = a.id
                               ORDER BY r.date DESC LIMIT 1) l
          WHERE NOT l.is_latest
          LIMIT :batch)));

-- migrate:count
SELECT (SELECT count(*) FROM prices
         WHERE open IS NULL OR high IS NULL OR low IS NULL
            OR high < greatest(open, close) OR low > least(open, close))
     + (SELECT count(*) FROM prices q
         WHERE q.is_latest
           AND q.date < (SELECT max(r.date) FROM prices r
                          WHERE r.asset_id = q.asset_id))
     + (SELECT count(*) FROM assets a
         CROSS JOIN LATERAL (SELECT r.is_latest FROM prices r
                              WHERE r.asset_id = a.id
                              ORDER BY r.date DESC LIMIT 1) l
         WHERE NOT l.is_latest);

-- migrate:down
-- Nothing to undo in the schema; the old values are restored only from a backup.
SELECT 1;

-- migrate:verify
SELECT NOT EXISTS (SELECT 1 FROM public.prices
                    WHERE open IS NULL OR high IS NULL OR low IS NULL
                       OR high < greatest(open, close) OR low > least(open, close))
   AND NOT EXISTS (SELECT 1 FROM public.assets a
                    CROSS JOIN LATERAL (SELECT r.is_latest FROM public.prices r
                                         WHERE r.asset_id = a.id
                                         ORDER BY r.date DESC LIMIT 1) l
                    WHERE NOT l.is_latest)
   AND NOT EXISTS (SELECT 1 FROM public.prices q
                    WHERE q.is_latest
                      AND q.date < (SELECT max(r.date) FROM public.prices r
                                     WHERE r.asset_id = q.asset_id));
