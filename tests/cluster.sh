#!/bin/sh
# cluster.sh - start or stop a throwaway PostgreSQL cluster on a unix socket.
#
#   eval "$(tests/cluster.sh start)"   prints shell assignments: PGHOST, PGPORT,
#                                      PGUSER, PGDATABASE, PGWARD_TEST_CLUSTER
#   tests/cluster.sh stop DIR          stops the server and removes DIR
#
# The server listens on no TCP port: only a socket in a fresh temp dir, so
# several clusters (tests, demo, bench) never collide.  initdb refuses to run
# as root, so as root the server runs as the 'postgres' user.
set -eu

bindir=${PGBINDIR:-}
if [ -z "$bindir" ]; then
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ]; then bindir=$d; break; fi
	done
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	echo "cluster.sh: no PostgreSQL server binaries found (install postgresql-15)" >&2
	exit 1
fi

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

case "${1:-}" in
start)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/pgward-pg.XXXXXX")
	chmod 755 "$dir"
	if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
	port=${PGWARD_TEST_PORT:-5432}
	as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust \
		--auth-host=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		exit 1
	}
	# One role authenticates by password so tests can check wrong passwords.
	as_owner sh -c "printf '%s\n' 'local all pgw_pw scram-sha-256' \
		'local all all trust' > '$dir/data/pg_hba.conf'"
	as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories='$dir' -p $port -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200 -c shared_buffers=128MB" \
		start >/dev/null || {
		cat "$dir/server.log" >&2
		exit 1
	}
	echo "PGHOST='$dir'; PGPORT='$port'; PGUSER=postgres; PGDATABASE=postgres; PGWARD_TEST_CLUSTER='$dir'; export PGHOST PGPORT PGUSER PGDATABASE PGWARD_TEST_CLUSTER"
	;;
stop)
	dir=${2:?usage: cluster.sh stop DIR}
	case "$dir" in
	*/pgward-pg.*) ;;
	*) echo "cluster.sh: refusing to remove '$dir'" >&2; exit 1 ;;
	esac
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: cluster.sh start | stop DIR" >&2
	exit 2
	;;
esac
