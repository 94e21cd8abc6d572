/*
 * cli.h - numbers from the programs' command lines.
 *
 * Owns: reading a whole argument as a decimal integer within bounds. Does not
 * own: the message to the operator (each program names its own flag).
 */
#ifndef SIPSHARD_CLI_H
#define SIPSHARD_CLI_H

#include <stdint.h>

/* The whole of s as a decimal integer from lo to hi: 0, or -EINVAL when s is
 * empty, holds anything else (a '+', a '-' where lo >= 0, spaces, a fraction)
 * or is out of range. *out is written only on success. */
int cli_long(const char *s, long lo, long hi, long *out);
int cli_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

#endif
