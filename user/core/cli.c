/*
 * cli.c - numbers from the programs' command lines (see cli.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "core/cli.h"

int cli_long(const char *s, long lo, long hi, long *out)
{
	char *end;

	/* strtol takes a leading '+' too; a length or a count written "+5" is
	 * not a decimal number as the programs promise, so it is refused like
	 * cli_u64 refuses it */
	if (!*s || isspace((unsigned char)*s) || *s == '+' || (lo >= 0 && *s == '-'))
		return -EINVAL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

int cli_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;

	if (!*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}
