/*
 * config_int.h - the configuration loader's own types, for its files and no
 * other (config.c and the config_*.c files beside it): the parse context
 * (struct cfg_parse), the callbacks of the walkers of objects and arrays,
 * and the functions one of those files calls in another, cfg_ prefixed.
 *
 * Does not own: the configuration model and its interface (config.h, the
 * only one of the two that anything else includes), nor what each key means
 * (examples/CONFIG.md).
 */
#ifndef SIPSHARD_CONFIG_INT_H
#define SIPSHARD_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "ctl/config.h"

struct cfg_parse {
	struct config *c;
	char *err;
	size_t errlen;
	/* keys whose absence means "derive from another key" */
	bool have_listen, have_advertise, have_mgmt;
	bool have_long_heads;	    /* capacity.long_heads_per_shard given */
	struct config_route *route; /* the route whose arrays are being read */
	struct config_auth *auth;   /* the credentials whose realms are being read */
};

/* Walks an object's members: fn returns -ENOENT for a key it does not know. */
typedef int (*member_fn)(struct cfg_parse *p, const char *path, const char *key, json_t *v,
			 void *arg);

/* Runs fn on each element of an array, with "path[i]" as the element's path. */
typedef int (*element_fn)(struct cfg_parse *p, const char *path, size_t i, json_t *v);

#endif
