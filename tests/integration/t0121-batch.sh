#!/bin/bash
# Batched data migrations (-- migrate:up batch:N): one idempotent DML
# statement run in short transactions of N rows until it touches none,
# recorded as applied only then; resumed after a kill by `pgward up` or
# `pgward recover`; a concurrent writer never waits long; bad input is
# exit 2 before connecting.
. "$(dirname "$0")/lib.sh"

BK="$TEST_DIR/backups"
export PGWARD_FAULT=
# (only a test build holds the fault points' message)
if grep -qa "killing myself" "$PGWARD"; then
	test_set_prereq FAULTS
fi

# n counts how often a row was changed: a batch that redid a row would
# leave an n of 2
write_migration 001_t.sql <<'EOF'
-- migrate:up
CREATE TABLE t (
    id   int PRIMARY KEY,
    v    int NOT NULL,
    done boolean NOT NULL DEFAULT false,
    n    int NOT NULL DEFAULT 0,
    v2   int,
    v3   int
);
INSERT INTO t (id, v) SELECT g, g FROM generate_series(1, 20000) g;
-- migrate:down
DROP TABLE t;
EOF
write_migration 002_double_v.sql <<'EOF'
-- doubles v, a thousand rows at a time
-- migrate:up batch:1000
UPDATE t SET v = v * 2, done = true, n = n + 1
 WHERE id IN (SELECT id FROM t WHERE NOT done ORDER BY id LIMIT :batch);
-- migrate:count
SELECT count(*) FROM t WHERE NOT done;
-- migrate:down
UPDATE t SET v = id, done = false, n = 0;
-- migrate:verify
SELECT count(*) = 0 FROM t WHERE NOT done;
EOF

deploy() { pgward --backup-dir "$BK" deploy "$@"; }
rows_done() { psql_val "SELECT count(*) FILTER (WHERE done) FROM t"; }
# every row done exactly once, with its value doubled
all_done_once() {
	test_eq "20000 20000 1 0" "$(psql_val "SELECT count(*) FILTER (WHERE done),
		sum(n), max(n), count(*) FILTER (WHERE v <> id * 2) FROM t" | tr '|' ' ')" \
		"done rows, changes, most changes of a row, wrong values"
}
# a batch is a transaction of its own: the rows it changed share an xmin
batches() { psql_val "SELECT count(DISTINCT xmin::text) FROM t WHERE done"; }
rows_sum() { psql_val "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM t"; }
journal() {
	psql_val "SELECT status || ' ' || stage FROM pgward_journal.deploys ORDER BY started_at DESC LIMIT 1"
}
back_to_1() {
	test_expect_code 0 pgward down --to 1 &&
	expect_history 1 &&
	test_eq 0 "$(rows_done)" "rows done after down"
}

test_expect_success 'set up: schema.sql for deploys; dry run shows the batch segment' '
	test_expect_code 0 pgward check --ephemeral --write &&
	test_expect_code 0 pgward up --dry-run &&
	test_grep "segment 2 (batch:1000, a short transaction per batch)" "$OUT" &&
	test_grep "LIMIT :batch" "$OUT" &&
	expect_history ""
'

test_expect_success 'a batch:1000 UPDATE does every row once, in 20 batches, then records it' '
	test_expect_code 0 pgward up &&
	expect_history 1,2 &&
	all_done_once &&
	test_eq 20 "$(batches)" "batches (distinct xmin)" &&
	test_grep "applied 002_double_v.sql (.*20000 rows in 20 batches" "$ERR"
'

test_expect_success 'the history row commits after the last batch, in its own transaction' '
	test_eq t "$(psql_val "SELECT (SELECT xmin::text::bigint FROM pgward.migrations WHERE version = 2)
		> (SELECT max(xmin::text::bigint) FROM t)")" "history row after every batch"
'

test_expect_success 'progress: the finished line in non-terminal output' '
	test_grep "^batch 002_double_v.sql: 20k rows in [0-9.]* s" "$ERR" &&
	test_grep ! $(printf "\\r") "$ERR"
'

test_expect_success FAULTS 'killed after the third batch: not recorded; up resumes and redoes no row' '
	back_to_1 &&
	PGWARD_FAULT=batch-between:3 test_expect_code 137 pgward up &&
	test_grep "fault point .batch-between." "$ERR" &&
	expect_history 1 &&
	test_eq 3000 "$(rows_done)" "rows done when killed" &&
	test_expect_code 0 pgward up &&
	expect_history 1,2 &&
	all_done_once &&
	test_grep "17000 rows in 17 batches" "$ERR"
'

test_expect_success 'a deploy runs it, each batch in the step journal' '
	back_to_1 &&
	test_expect_code 0 deploy &&
	expect_history 1,2 &&
	all_done_once &&
	case "$(journal)" in "succeeded "*) ;; *) echo "journal: $(journal)"; false ;; esac &&
	id=$(psql_val "SELECT id FROM pgward_journal.deploys ORDER BY started_at DESC LIMIT 1") &&
	test_eq "21 20000" "$(psql_val "SELECT count(*), sum(substring(sql FROM \$\$: ([0-9]+) rows\$\$)::int)
		FROM pgward_journal.steps WHERE deploy_id = \$\$$id\$\$ AND version = \$\$002\$\$
		AND status = \$\$done\$\$" | tr "|" " ")" "journaled batches and rows" &&
	test_grep "batch 21 of 002_double_v.sql (batch:1000): 0 rows, 20000 in all; recorded as applied" \
		<(psql_val "SELECT sql FROM pgward_journal.steps WHERE deploy_id = \$\$$id\$\$ AND statement = 21")
'

test_expect_success FAULTS 'a deploy killed after the third batch: recover rolls it forward' '
	back_to_1 &&
	PGWARD_FAULT=batch-between:3 test_expect_code 137 deploy &&
	expect_history 1 &&
	test_eq 3000 "$(rows_done)" "rows done when killed" &&
	id=$(psql_val "SELECT id FROM pgward_journal.deploys ORDER BY started_at DESC LIMIT 1") &&
	test_eq 3 "$(psql_val "SELECT count(*) FROM pgward_journal.steps WHERE deploy_id = \$\$$id\$\$
		AND version = \$\$002\$\$ AND status = \$\$done\$\$")" "batches journaled done" &&
	test_expect_code 3 deploy &&
	test_grep "recover" "$ERR" &&
	test_expect_code 0 pgward --wait 30 recover &&
	expect_history 1,2 &&
	all_done_once &&
	case "$(journal)" in "succeeded "*) ;; *) echo "journal: $(journal)"; false ;; esac &&
	test_eq "4 21" "$(psql_val "SELECT min(statement), max(statement) FROM pgward_journal.steps
		WHERE deploy_id = \$\$$id\$\$ AND version = \$\$002\$\$ AND statement > 3" | tr "|" " ")" \
		"batch numbers go on after the third"
'

test_expect_success FAULTS 'the same with recover --way-back: the committed batches need the archive, so --writes-stopped' '
	back_to_1 &&
	before=$(rows_sum) &&
	PGWARD_FAULT=batch-between:3 test_expect_code 137 deploy &&
	test_eq 3000 "$(rows_done)" "rows done when killed" &&
	test_expect_code 3 pgward --wait 30 recover --way-back &&
	test_grep "committed batches of a data migration" "$ERR" &&
	test_grep "writes-stopped" "$ERR" &&
	test_eq 3000 "$(rows_done)" "nothing restored yet" &&
	test_expect_code 0 pgward --wait 30 recover --way-back --writes-stopped &&
	test_grep "restored the deploy" "$OUT" &&
	expect_history 1 &&
	test_eq "$before" "$(rows_sum)" "rows as before the deploy" &&
	case "$(journal)" in "rolled back "*) ;; *) echo "journal: $(journal)"; false ;; esac
'

test_expect_success 'a concurrent writer waits less than a second at any time' '
	write_migration 003_v2.sql <<-\EOF &&
	-- migrate:up batch:500
	UPDATE t SET v2 = v + 1
	 WHERE id IN (SELECT id FROM t WHERE v2 IS NULL ORDER BY id LIMIT :batch);
	-- migrate:count
	SELECT count(*) FROM t WHERE v2 IS NULL;
	-- migrate:down
	UPDATE t SET v2 = NULL;
	EOF
	printf "%s\n" "\\set id random(1, 20000)" \
		"UPDATE t SET v3 = :id WHERE id = :id;" >"$TEST_DIR/writer.sql" &&
	bg_start writer "$PGBIN/pgbench" -n -c 1 -T 4 -f "$TEST_DIR/writer.sql" \
		-l --log-prefix="$TEST_DIR/writer" &&
	wait_for 10 "SELECT count(*) > 50 FROM t WHERE v3 IS NOT NULL" &&
	test_expect_code 0 pgward up &&
	test_eq running "$(test -f "$TEST_DIR/writer.rc" || echo running)" \
		"the writer when the migration ended" &&
	bg_wait writer 60 &&
	test_eq 0 "$(bg_rc writer)" "writer exit" &&
	test_eq 0 "$(psql_val "SELECT count(*) FROM t WHERE v2 IS DISTINCT FROM v + 1")" "rows not done" &&
	# pgbench logs each transaction: client, number, latency (us), ...
	longest=$(cat "$TEST_DIR"/writer.[0-9]* | awk "\$3 > m { m = \$3 } END { print m + 0 }") &&
	echo "longest wait of the writer: $longest us" &&
	test_le 100 "$(cat "$TEST_DIR"/writer.[0-9]* | wc -l)" "timed updates" &&
	test_le "$longest" 999999 "longest writer wait (us)"
'

test_expect_success 'progress: lines with rows and an ETA every few seconds in a log' '
	write_migration 004_v3.sql <<-\EOF &&
	-- migrate:up batch:1500
	UPDATE t SET v3 = -1
	 WHERE id IN (SELECT id FROM t, pg_sleep(0.4) WHERE v3 IS DISTINCT FROM -1
	              ORDER BY id LIMIT :batch);
	-- migrate:count
	SELECT count(*) FROM t WHERE v3 IS DISTINCT FROM -1;
	-- migrate:down
	SELECT 1;
	EOF
	test_expect_code 0 pgward up &&
	expect_history 1,2,3,4 &&
	test_grep -E "^batch 004_v3.sql: [0-9]+k rows of about 20k in [5-9]\.[0-9] s \([0-9.]+[kM]? rows/s\), ETA [0-9]+ s$" "$ERR" &&
	test_grep "^batch 004_v3.sql: 20k rows in" "$ERR"
'

# bad FILE-BODY LINE WHAT: exit 2 naming 005_bad.sql:LINE, nothing changed,
# and decided before connecting (a server that is not there changes
# nothing about it)
bad() {
	local before
	before=$(rows_sum) &&
	write_migration 005_bad.sql &&
	test_expect_code 2 pgward up &&
	test_grep "005_bad.sql:$1: .*$2" "$ERR" &&
	test_expect_code 2 pgward -d "host=$TEST_DIR/nowhere dbname=none" up &&
	test_grep "005_bad.sql:$1: .*$2" "$ERR" &&
	expect_history 1,2,3,4 &&
	test_eq "$before" "$(rows_sum)" "rows of t" &&
	rm -f "$MIG/005_bad.sql"
}

test_expect_success 'bad: batch:0' '
	bad 1 "batch:0" <<-\EOF
	-- migrate:up batch:0
	UPDATE t SET v = 0 WHERE id IN (SELECT id FROM t LIMIT :batch);
	EOF
'

test_expect_success 'bad: batch size not a number' '
	bad 2 "batch:ten" <<-\EOF
	-- a comment
	-- migrate:up batch:ten
	UPDATE t SET v = 0 WHERE id IN (SELECT id FROM t LIMIT :batch);
	EOF
'

test_expect_success 'bad: two statements in a batch section' '
	bad 4 "second statement" <<-\EOF
	-- migrate:up batch:100
	UPDATE t SET v = 0 WHERE id IN (SELECT id FROM t LIMIT :batch);

	DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT :batch);
	EOF
'

test_expect_success 'bad: a batch statement that is not DML' '
	bad 2 "not a data change" <<-\EOF
	-- migrate:up batch:100
	SELECT id FROM t LIMIT :batch;
	EOF
'

test_expect_success 'bad: no :batch placeholder' '
	bad 3 "no :batch placeholder" <<-\EOF
	-- migrate:up batch:100
	-- LIMIT :batch in a comment does not count
	UPDATE t SET v = 0 WHERE id IN (SELECT id FROM t LIMIT 100);
	EOF
'

test_expect_success 'bad: batch with transaction:false' '
	bad 1 "transaction:false" <<-\EOF
	-- migrate:up batch:100 transaction:false
	UPDATE t SET v = 0 WHERE id IN (SELECT id FROM t LIMIT :batch);
	EOF
'

test_expect_success 'bad: a count section that is not one SELECT' '
	bad 5 "count section" <<-\EOF &&
	-- migrate:up batch:100
	UPDATE t SET v = 0 WHERE id IN (SELECT id FROM t LIMIT :batch);
	-- migrate:count
	SELECT count(*) FROM t;
	SELECT 1;
	EOF
	bad 4 "count section" <<-\EOF
	-- migrate:up batch:100
	UPDATE t SET v = 0 WHERE id IN (SELECT id FROM t LIMIT :batch);
	-- migrate:count
	UPDATE t SET v = 0;
	EOF
'

test_expect_success 'a statement that does not exclude what it did is stopped (exit 3), not run forever' '
	write_migration 005_bad.sql <<-\EOF &&
	-- migrate:up batch:1000
	UPDATE t SET n = n + 1 WHERE id IN (SELECT id FROM t ORDER BY id LIMIT :batch);
	-- migrate:count
	SELECT 2000;
	EOF
	test_expect_code 3 pgward up &&
	test_grep "does not seem to exclude the rows it has done" "$ERR" &&
	test_grep "pgward up" "$ERR" &&
	expect_history 1,2,3,4 &&
	rm -f "$MIG/005_bad.sql"
'

test_done
