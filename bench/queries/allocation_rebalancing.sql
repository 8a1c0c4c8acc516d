-- Allocation rebalancing: a user's active allocations against their target
-- weights, largest drift first, with each asset's latest close to size the
-- trades.
--   $1  user id
-- Served by the partial ix_allocations_active (005), which holds only the
-- active rows, and the latest close as in portfolio_value.sql
-- (ix_prices_asset_date_close, 006).
-- indexes: ix_allocations_active ix_prices_asset_date_close
SELECT a.asset_id, s.symbol, a.weight, a.target_weight,
       a.target_weight - a.weight AS drift, lp.close
  FROM allocations a
  JOIN assets s ON s.id = a.asset_id
 CROSS JOIN LATERAL (SELECT p.close
                       FROM prices p
                      WHERE p.asset_id = a.asset_id
                      ORDER BY p.date DESC
                      LIMIT 1) lp
 WHERE a.user_id = $1
   AND a.is_active
   AND a.target_weight IS NOT NULL
 ORDER BY abs(a.target_weight - a.weight) DESC, a.asset_id;
