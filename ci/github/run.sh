#!/bin/bash
# run.sh - the step of the pgward GitHub Action (action.yml) that runs
# pgward with the action's inputs.  action.yml passes every input in the
# environment, never on a command line that the runner prints:
#
#   DATABASE_URL            the database (required; from a secret)
#   PGWARD_COMMAND          deploy (default), check, status, up, releases, ...
#   PGWARD_RELEASE          the release tag to go to (--release)
#   PGWARD_ARGS             more arguments, split on white space
#   PGWARD_NOTIFY_URLS      webhook URLs, one a line (--notify, deploy only)
#   PGWARD_NOTIFY_SECRET    the webhook signing secret (read by pgward)
#   PGWARD_BACKUP_TARGET    --backup-target (command:CMD)
#   PGWARD_BACKUP_DIR       --backup-dir (default $RUNNER_TEMP/pgward-backups)
#   PGWARD_MIGRATIONS       the migrations dir (read by pgward)
#   PGWARD_BIN              the pgward binary (default: the action's build)
#
# pgward itself appends from_version, to_version, status and backup to
# $GITHUB_OUTPUT and the table of stages to $GITHUB_STEP_SUMMARY (deploy);
# this script adds exit_code and archive (the local archive a deploy or
# backup wrote, for its manifest).  It exits with pgward's exit code.
set -u

die() {
	echo "::error::pgward action: $1" >&2
	exit 2
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=${PGWARD_BIN:-$here/../../build/rel/pgward}
[ -x "$bin" ] || die "no pgward binary at $bin (did the build step run?)"
# An input left empty is no setting at all: pgward.ini or the default.
for v in PGWARD_MIGRATIONS PGWARD_NOTIFY_SECRET; do
	[ -n "${!v:-}" ] || unset "$v"
done

command=${PGWARD_COMMAND:-deploy}
case "$command" in
"" | -* | *[!a-z]*) die "command '$command' is not a pgward command" ;;
esac
# Every command needs the database but check --ephemeral (a throwaway
# cluster of its own) and releases (git only).
if [ -z "${DATABASE_URL:-}" ]; then
	case "$command  ${PGWARD_ARGS:-} " in
	"check "*" --ephemeral "* | "releases "*) unset DATABASE_URL ;;
	*) die "the database-url input is empty: set it from a secret" ;;
	esac
else
	export DATABASE_URL
fi

backup_dir=${PGWARD_BACKUP_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/pgward-backups}
mkdir -p "$backup_dir" || die "cannot create the backup dir $backup_dir"

args=(--backup-dir "$backup_dir")
[ -n "${PGWARD_BACKUP_TARGET:-}" ] && args+=(--backup-target "$PGWARD_BACKUP_TARGET")
args+=("$command")
if [ -n "${PGWARD_RELEASE:-}" ]; then
	case "$command" in
	deploy | up | down) args+=(--release "$PGWARD_RELEASE") ;;
	*) die "the release input applies to deploy, up and down, not to $command" ;;
	esac
fi
if [ "$command" = deploy ] && [ -n "${PGWARD_NOTIFY_URLS:-}" ]; then
	while IFS= read -r url; do
		url=${url#"${url%%[![:space:]]*}"}
		url=${url%"${url##*[![:space:]]}"}
		[ -n "$url" ] && args+=(--notify "$url")
	done <<<"$PGWARD_NOTIFY_URLS"
fi
if [ -n "${PGWARD_ARGS:-}" ]; then
	# split on white space, no glob expansion
	set -f
	# shellcheck disable=SC2206
	extra=($PGWARD_ARGS)
	set +f
	args+=("${extra[@]}")
fi

# The archives already there, to find the one this run writes.
before=$(find "$backup_dir" -maxdepth 1 -name '*.tar.zst' -printf '%f\n' 2>/dev/null | sort)

echo "pgward $command (backup dir $backup_dir)" >&2
"$bin" "${args[@]}"
rc=$?

archive=
while IFS= read -r f; do
	[ -n "$f" ] || continue
	if ! printf '%s\n' "$before" | grep -qxF -- "$f"; then
		archive="$backup_dir/$f"
	fi
done < <(find "$backup_dir" -maxdepth 1 -name '*.tar.zst' -printf '%T@ %f\n' 2>/dev/null |
	sort -n | cut -d' ' -f2-)

if [ -n "${GITHUB_OUTPUT:-}" ]; then
	{
		echo "exit_code=$rc"
		case "$archive" in
		*$'\n'*) ;;
		*) echo "archive=$archive" ;;
		esac
	} >>"$GITHUB_OUTPUT"
fi
exit $rc
