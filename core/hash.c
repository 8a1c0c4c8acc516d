/* hash.c - SHA-256 with GNU Nettle.  Nettle rather than OpenSSL 3: the
 * latter spends more on provider start-up than on hashing a hundred
 * migration files, and a no-op run has a budget of milliseconds. */
#include "hash.h"

#include <nettle/sha2.h>

int pgw_sha256_hex(char out[65], const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;
	int i;

	sha256_init(&ctx);
	sha256_update(&ctx, len, data);
	sha256_digest(&ctx, sizeof(md), md);
	for (i = 0; i < SHA256_DIGEST_SIZE; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return 0;
}
