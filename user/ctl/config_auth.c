/*
 * config_auth.c - digest credentials (routes[].auth, registrations[].auth).
 *
 * Owns: reading them (username, password, realm: one, a list or any), and
 * whether two are one account answering the same challenges
 * (config_auth_same).
 * Does not own: printing them (config_print.c: never the password),
 * answering a challenge with them (daemon/orig.c, daemon/credentials.c).
 */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "ctl/config_int.h"

/* Whether realm r is among a's (its count bounded: a copy read from the
 * command ring is bounded too, orig_set_creds). */
static bool auth_lists(const struct config_auth *a, const char *r)
{
	for (uint32_t i = 0; i < a->nrealms && i < CONFIG_AUTH_REALMS_MAX; i++)
		if (!strcmp(a->realm[i], r))
			return true;
	return false;
}

bool config_auth_same(const struct config_auth *a, const struct config_auth *b)
{
	if (strcmp(a->username, b->username) || strcmp(a->password, b->password) ||
	    a->nrealms != b->nrealms)
		return false;
	/* both ways: a list read from elsewhere may name one realm twice */
	for (uint32_t i = 0; i < a->nrealms && i < CONFIG_AUTH_REALMS_MAX; i++)
		if (!auth_lists(b, a->realm[i]) || !auth_lists(a, b->realm[i]))
			return false;
	return true;
}

/* A string sent inside a quoted-string (a digest username or realm): no
 * control byte, '"' or '\'; not empty when nonempty is set. */
static int get_quotable(struct cfg_parse *p, const char *path, json_t *v, char *out, size_t cap,
			bool nonempty)
{
	char b[80];
	int rc = cfg_get_str(p, path, v, out, cap);
	if (rc)
		return rc;
	if (nonempty && !out[0])
		return cfg_fail(p, path, "must not be empty");
	for (const char *q = out; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f || *q == '"' || *q == '\\')
			return cfg_fail(p, path,
					"control character, '\"' or '\\' in \"%s\": it is sent "
					"inside a quoted string",
					cfg_shown(out, b, sizeof(b)));
	return 0;
}

/* One of auth.realm's list (p->auth): not empty, nor one named before. */
static int auth_realm(struct cfg_parse *p, const char *path, size_t i, json_t *v)
{
	struct config_auth *a = p->auth;
	int rc = get_quotable(p, path, v, a->realm[i], sizeof(a->realm[i]), true);
	if (rc)
		return rc;
	for (size_t j = 0; j < i; j++)
		if (!strcmp(a->realm[j], a->realm[i]))
			return cfg_fail(p, path, "\"%s\" is in the list already", a->realm[i]);
	a->nrealms = (uint32_t)i + 1;
	return 0;
}

/* auth.realm: one realm, a list of them, or none (null, "", []: any). */
static int get_realms(struct cfg_parse *p, const char *path, json_t *v, struct config_auth *a)
{
	a->nrealms = 0;
	if (json_is_null(v))
		return 0; /* as printed: any realm */
	if (json_is_array(v)) {
		p->auth = a;
		return cfg_each_element(p, path, v, CONFIG_AUTH_REALMS_MAX, "realms", auth_realm);
	}
	if (!json_is_string(v))
		return cfg_fail(p, path, "expected a realm or a list of realms, got %s",
				cfg_type_name(v));
	int rc = get_quotable(p, path, v, a->realm[0], sizeof(a->realm[0]), false);
	if (!rc && a->realm[0][0])
		a->nrealms = 1;
	return rc;
}

static int auth_member(struct cfg_parse *p, const char *path, const char *k, json_t *v, void *arg)
{
	struct config_auth *a = arg;
	if (!strcmp(k, "username"))
		return get_quotable(p, path, v, a->username, sizeof(a->username), true);
	if (!strcmp(k, "realm"))
		return get_realms(p, path, v, a);
	if (!strcmp(k, "password")) /* never printed back: it would end up in logs */
		return cfg_get_str(p, path, v, a->password, sizeof(a->password));
	return -ENOENT;
}

/* Digest credentials (routes[].auth, registrations[].auth); null = none. */
int cfg_get_auth(struct cfg_parse *p, const char *path, json_t *v, struct config_auth *a)
{
	memset(a, 0, sizeof(*a));
	if (json_is_null(v))
		return 0; /* as printed: none */
	int rc = cfg_each_member(p, path, v, auth_member, a);
	if (!rc && !a->username[0])
		return cfg_fail(p, path, "missing \"username\"");
	if (!rc && !json_object_get(v, "password"))
		return cfg_fail(p, path, "missing \"password\"");
	return rc;
}
