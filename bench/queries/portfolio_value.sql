-- Portfolio value: a user's holdings (the net quantity of every asset the
-- user bought or received and did not sell or send away) times each asset's
-- latest close.
--   $1  user id
-- Served by ix_transactions_user_date (005) for the user's transactions and,
-- per holding, a backward index-only scan of ix_prices_asset_date_close (006)
-- that stops at the first row: the latest close.  The symbol is a lookup
-- per holding (assets_pkey): as a join, the planner, expecting about 50
-- holdings, hashes all of assets instead, which doubles the time.
-- indexes: ix_transactions_user_date ix_prices_asset_date_close
SELECT h.asset_id,
       (SELECT s.symbol FROM assets s WHERE s.id = h.asset_id) AS symbol,
       h.quantity, lp.date AS price_date, lp.close, h.quantity * lp.close AS value
  FROM (SELECT t.asset_id,
               sum(CASE WHEN t.kind IN ('buy', 'transfer_in') THEN t.quantity
                        WHEN t.kind IN ('sell', 'transfer_out') THEN -t.quantity
                        ELSE 0 END) AS quantity
          FROM transactions t
         WHERE t.user_id = $1
         GROUP BY t.asset_id) h
 CROSS JOIN LATERAL (SELECT p.date, p.close
                       FROM prices p
                      WHERE p.asset_id = h.asset_id
                      ORDER BY p.date DESC
                      LIMIT 1) lp
 WHERE h.quantity <> 0
 ORDER BY value DESC;
