#!/bin/bash
# The example application's 002 (duplicate price rows removed before 003's
# unique index) on a database of a realistic size: 200,000 price rows with
# duplicates apply within a 60 s statement timeout (its verify section
# compares each row with its asset's newest date through one aggregate,
# not a subquery per row), keep the newest of each duplicate, and leave
# is_latest true on each asset's newest day only.
. "$(dirname "$0")/lib.sh"

REPO_MIG=$TEST_SRC/../../migrations

test_expect_success 'set up: the example schema (001) with 200,000 prices and 500 duplicates' '
	test_expect_code 0 pgward --migrations "$REPO_MIG" up --to 1 &&
	psql_run "INSERT INTO assets (symbol, name, asset_class, currency)
			SELECT '"'"'S'"'"' || a, '"'"'Asset '"'"' || a, '"'"'equity'"'"', '"'"'USD'"'"'
			FROM generate_series(1, 200) a;
		INSERT INTO prices (asset_id, date, close, volume, is_latest, created_at)
			SELECT a, date '"'"'2020-01-01'"'"' + d, 10 + a, 100, d = 999,
				timestamptz '"'"'2020-01-01 18:00+00'"'"' + d * interval '"'"'1 day'"'"'
			FROM generate_series(1, 200) a, generate_series(0, 999) d;
		INSERT INTO prices (asset_id, date, close, volume, created_at)
			SELECT 1 + i % 200, date '"'"'2020-01-01'"'"' + i, 77.7777, 1,
				timestamptz '"'"'2030-01-01 00:00+00'"'"'
			FROM generate_series(0, 499) i" &&
	test_eq 200500 "$(psql_val "SELECT count(*) FROM prices")" "price rows"
'

test_expect_success '002 applies within the statement timeout; the newest of each duplicate kept' '
	test_expect_code 0 pgward --migrations "$REPO_MIG" --timeout 60 up --to 2 &&
	test_eq 200000 "$(psql_val "SELECT count(*) FROM prices")" "price rows left" &&
	test_eq 500 "$(psql_val "SELECT count(*) FROM prices WHERE close = 77.7777")" "newer duplicates kept" &&
	test_eq 200 "$(psql_val "SELECT count(*) FROM prices WHERE is_latest")" "one latest row per asset" &&
	test_eq 0 "$(psql_val "SELECT count(*) FROM prices p WHERE is_latest
		AND date <> (SELECT max(date) FROM prices q WHERE q.asset_id = p.asset_id)")" "latest rows on the newest day"
'

test_done
