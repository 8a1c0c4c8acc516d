/* hash.h - SHA-256 (OpenSSL libcrypto), as lower-case hex. */
#ifndef PGW_HASH_H
#define PGW_HASH_H

#include <stddef.h>

/* Write the SHA-256 of data[0..len) as 64 hex digits and a NUL into out. */
int pgw_sha256_hex(char out[65], const void *data, size_t len);

#endif
