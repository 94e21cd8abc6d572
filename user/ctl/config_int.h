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

/* config.c: the parse context's errors, the typed readers, the walkers */
__attribute__((format(printf, 3, 4))) int cfg_fail(struct cfg_parse *p, const char *path,
						   const char *fmt, ...);
const char *cfg_shown(const char *s, char *buf, size_t cap);
const char *cfg_type_name(const json_t *v);
int cfg_get_uint(struct cfg_parse *p, const char *path, json_t *v, uint32_t lo, uint32_t hi,
		 uint32_t *out);
int cfg_get_bool(struct cfg_parse *p, const char *path, json_t *v, bool *out);
int cfg_get_str(struct cfg_parse *p, const char *path, json_t *v, char *out, size_t cap);
int cfg_get_choice(struct cfg_parse *p, const char *path, json_t *v, const char *const *names,
		   const char *expected, int *out);
int cfg_get_name(struct cfg_parse *p, const char *path, json_t *v, char *out, size_t cap);
int cfg_get_path(struct cfg_parse *p, const char *path, json_t *v, char *out, size_t cap,
		 bool nullable);
int cfg_each_member(struct cfg_parse *p, const char *path, json_t *obj, member_fn fn, void *arg);
int cfg_each_element(struct cfg_parse *p, const char *path, json_t *arr, size_t max,
		     const char *what, element_fn fn);
int cfg_name_taken(struct cfg_parse *p, const char *path, json_t *v, const char *name,
		   const char *what, size_t j);

/* config_addr.c: addresses as written */
bool cfg_parse_port(const char *s, uint16_t *out);
int cfg_parse_ipport(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *why,
		     size_t cap);
/* 0.0.0.0, [::], or [::ffff:0.0.0.0] (the IPv4 wildcard, IPv4-mapped). */
bool cfg_addr_is_wildcard(const struct sockaddr_storage *ss);
/* The same for a host as cfg_normalize_host gives it ("0.0.0.0", "[::]");
 * false for a name. */
bool cfg_host_is_wildcard(const char *host);
int cfg_get_ipport(struct cfg_parse *p, const char *path, json_t *v, char *str, size_t cap,
		   struct sockaddr_storage *addr, socklen_t *len);
bool cfg_normalize_host(const char *s, size_t n, char *out, size_t cap);
int cfg_get_cidr(struct cfg_parse *p, const char *path, json_t *v, struct config_cidr *out);
int cfg_target_address(struct cfg_parse *p, const char *path, json_t *v, struct config_target *t);

/* config_dns.c: names and SRV records resolved */
void cfg_target_path(const struct config *c, unsigned i, unsigned t, char *out, size_t cap);
int cfg_resolve_name(const struct config *c, const struct config_target *ct,
		     struct sockaddr_storage *addr, socklen_t *len, char *why, size_t cap);
int cfg_reachable(struct cfg_parse *p, const char *path, const char *what,
		  const struct config_target *ct);
int cfg_srv_targets(const struct config *c, const struct config_route *r,
		    const struct config_target *w, struct config_target *out, unsigned room,
		    char *why, size_t whycap);
int cfg_resolve_targets(struct cfg_parse *p);

/* config_auth.c: digest credentials */
int cfg_get_auth(struct cfg_parse *p, const char *path, json_t *v, struct config_auth *a);

/* config_routes.c: routes[] */
uint32_t cfg_route_tag(const struct config_route *r);
int cfg_route(struct cfg_parse *p, const char *path, size_t i, json_t *v);

/* config_registrations.c: registrations[] */
int cfg_registration(struct cfg_parse *p, const char *path, size_t i, json_t *v);

/* config_keys.c: the top level and the daemon-wide keys */
int cfg_top_member(struct cfg_parse *p, const char *path, const char *k, json_t *v, void *arg);

#endif
