/* fuzz_archive.c - libFuzzer target: pgw_archive_verify() over any bytes
 * (written to a temporary file, verified, removed).  An archive that
 * verifies must also read back whole with the streaming reader.  Build
 * and run: tests/fuzz/README.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[4096];

/* Every entry of a verified archive reads back without an error. */
static void read_back(const struct pgw_manifest *m)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_archive_reader *r = NULL;
	const struct pgw_archive_entry *e;
	char buf[4096];
	size_t got, n = 0;
	int rc;

	if (pgw_archive_open(&r, path, m, &err))
		abort();
	while ((rc = pgw_archive_next(r, &e, &err)) == 1) {
		n++;
		do {
			if (pgw_archive_read(r, buf, sizeof(buf), &got, &err))
				abort();
		} while (got);
	}
	if (rc != 0 || n != m->n_entries)
		abort();
	pgw_archive_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_manifest *m = NULL;
	FILE *f;
	int rc;

	if (!path[0]) {
		const char *tmp = getenv("TMPDIR");

		snprintf(path, sizeof(path), "%s/pgward-fuzz-%ld.tar.zst",
		         tmp && *tmp ? tmp : "/tmp", (long)getpid());
	}
	f = fopen(path, "wb");
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();
	rc = pgw_archive_verify(&m, path, &err);
	if (rc == 0) {
		if (!m || m->format != PGW_ARCHIVE_FORMAT)
			abort();
		read_back(m);
	} else if (m || !err.msg[0] || (rc != PGW_EINVAL && rc != PGW_ENOMEM)) {
		/* refused, always with a message, never half-filled */
		abort();
	}
	pgw_manifest_free(m);
	unlink(path);
	return 0;
}
