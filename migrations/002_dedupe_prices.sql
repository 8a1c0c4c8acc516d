-- 002 data clean-up of prices, BEFORE the unique (asset_id, date) index.
-- Price imports that were retried left several rows for the same asset and
-- day.  Building the unique index first (as the original plan did) fails on
-- any database holding such duplicates, so this migration removes them
-- first: for each (asset_id, date) it keeps the newest row (highest
-- created_at, then highest id).  It then recomputes is_latest: true only on
-- each asset's most recent date.
-- Destructive (DELETE/UPDATE): its down cannot bring deleted rows back, and
-- the schema is unchanged, so down has nothing to undo; the deploy's backup
-- holds the removed rows.

-- migrate:up
DELETE FROM prices p
 USING (SELECT id,
               row_number() OVER (PARTITION BY asset_id, date
                                  ORDER BY created_at DESC, id DESC) AS rn
          FROM prices) ranked
 WHERE p.id = ranked.id
   AND ranked.rn > 1;

UPDATE prices p
   SET is_latest = (p.date = newest.date)
  FROM (SELECT asset_id, max(date) AS date FROM prices GROUP BY asset_id) newest
 WHERE p.asset_id = newest.asset_id
   AND p.is_latest <> (p.date = newest.date);

-- migrate:down
-- Nothing to undo in the schema; removed duplicates are restored only from a backup.
SELECT 1;

-- migrate:verify
SELECT NOT EXISTS (SELECT 1 FROM public.prices
                    GROUP BY asset_id, date HAVING count(*) > 1)
   AND NOT EXISTS (SELECT 1 FROM public.prices p
                      JOIN (SELECT asset_id, max(date) AS last_date
                              FROM public.prices GROUP BY asset_id) l USING (asset_id)
                    WHERE p.is_latest <> (p.date = l.last_date));
