/*
 * config_registrations.c - registrations[], as written (cfg_registration).
 *
 * Owns: each one's keys (name, registrar, aor, auth, expires_s, retry_s),
 * its defaults, and "sip:user@domain" for its aor.
 * Does not own: the registrar's address (config_addr.c) and its resolution
 * (config_dns.c), the credentials (config_auth.c), registering
 * (daemon/register.c).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ctl/config_int.h"
#include "sipshard/sip.h"

/* "sip:user@domain[:port]", as it is written into the REGISTER's
 * Request-URI, From, To and Contact: decided by one parse (RFC 3261 25.1:
 * sip_parse_uri), a user and no password (the Contact takes the user up to
 * the '@', register.c), no parameters or headers, a host. Checks of its own
 * bytes once passed "example.com:", "exa!mple" or a user with a '[', and
 * the REGISTER and each registrar's answer to it were then refused by
 * sipshard's own parser, the registration failing at Timer F for a fault of
 * the configuration. */
static int get_aor(struct cfg_parse *p, const char *path, json_t *v, struct config_registration *g)
{
	char b[80];
	struct sip_uri u;
	int rc = cfg_get_str(p, path, v, g->aor, sizeof(g->aor));
	if (rc)
		return rc;
	if (strncmp(g->aor, "sip:", 4) != 0 ||
	    sip_parse_uri(&u, g->aor, 0, (uint16_t)strlen(g->aor)) != 0 || !u.user.len ||
	    u.has_password || u.params.len || u.headers.len || u.host_type == SIP_HOST_NONE)
		return cfg_fail(p, path,
				"expected \"sip:user@domain\" (a domain or address, an optional "
				":port, a user of RFC 3261 URI characters), got \"%s\"",
				cfg_shown(g->aor, b, sizeof(b)));
	g->aor_user_len = u.user.len;
	return 0;
}

static int registration_member(struct cfg_parse *p, const char *path, const char *k, json_t *v,
			       void *arg)
{
	struct config_registration *g = arg;
	if (!strcmp(k, "name"))
		return cfg_get_name(p, path, v, g->name, sizeof(g->name));
	if (!strcmp(k, "registrar"))
		return cfg_target_address(p, path, v, &g->registrar);
	if (!strcmp(k, "aor"))
		return get_aor(p, path, v, g);
	if (!strcmp(k, "auth"))
		return cfg_get_auth(p, path, v, &g->auth);
	if (!strcmp(k, "expires_s"))
		return cfg_get_uint(p, path, v, 60, 86400, &g->expires_s);
	if (!strcmp(k, "retry_s"))
		return cfg_get_uint(p, path, v, 1, 3600, &g->retry_s);
	return -ENOENT;
}

int cfg_registration(struct cfg_parse *p, const char *path, size_t i, json_t *v)
{
	struct config_registration *g = &p->c->registrations[i];

	memset(g, 0, sizeof(*g));
	g->expires_s = 3600;
	g->retry_s = 30;
	int rc = cfg_each_member(p, path, v, registration_member, g);
	if (rc)
		return rc;
	if (!json_object_get(v, "registrar"))
		return cfg_fail(p, path, "missing \"registrar\"");
	if (!json_object_get(v, "aor"))
		return cfg_fail(p, path, "missing \"aor\"");
	if (!g->name[0])
		snprintf(g->name, sizeof(g->name), "registration%zu", i);
	for (size_t j = 0; j < i; j++)
		if (!strcmp(p->c->registrations[j].name, g->name))
			return cfg_name_taken(p, path, v, g->name, "registrations", j);
	p->c->nregistrations = (unsigned)i + 1;
	return 0;
}
