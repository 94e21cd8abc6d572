/*
 * config.c - loading, validating and printing the configuration (see config.h).
 *
 * Owns: turning one JSON document into a struct config, or an error that
 * names the key path. Values start from config_defaults(); the document then
 * overrides what it names; finish() checks what spans several keys and fills
 * in derived values (advertise, management_socket,
 * capacity.long_heads_per_shard). Everything is parsed into
 * a scratch copy that replaces the caller's only on success, so a bad reload
 * never half-applies.
 * This file also has the parse context's errors (cfg_fail), the typed
 * readers and walkers the sections share, reading a file or a string, the
 * management socket sipshardctl finds in a file, and the keys a reload
 * cannot change.
 *
 * Beside it, each with what it owns (config_int.h holds the parse context
 * and the functions one of these files calls in another, cfg_ prefixed):
 * - config_keys.c: the top level of the document (which reader each
 *   key goes to) and the keys that hold for the whole daemon: listen,
 *   advertise, workers and the other single values, capacity, timers,
 *   limits, acl, out_of_dialog, strip_headers;
 * - config_routes.c: routes[] (match, rewrite, targets as written,
 *   failover, select) and each route's tag;
 * - config_registrations.c: registrations[];
 * - config_auth.c: the digest credentials of routes and registrations
 *   (auth), and whether two are one account;
 * - config_addr.c: addresses as written ("IP:port", hosts, CIDR, a
 *   target's address or name) and which target an operator's text names;
 * - config_dns.c: target names and their SRV records resolved (RFC
 *   3263) and checked reachable from listen, at a load and again while
 *   running (dns_refresh_s), and which targets go into service;
 * - config_print.c: the effective configuration as JSON.
 * Does not own: what the daemon does with the values.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/config_int.h"
#include "sipshard/hash.h"

_Static_assert(CONFIG_MAX_WORKERS == SHARD_MAX_WORKERS, "workers bound = shard bound");

const char config_default_json[] =
    "{\n"
    "  \"listen\": \"127.0.0.1:5060\",\n"
    "  \"routes\": [ { \"name\": \"local-callee\", \"target\": \"127.0.0.1:5080\" } ]\n"
    "}\n";

#define MGMT_SOCKET_NAME "sipshardd.sock"

void config_default_run_dir(uid_t euid, char *out, size_t cap)
{
	/* root owns /run; anyone else gets a private directory in /tmp, which the
	 * daemon must create 0700 and refuse if someone else owns it */
	if (euid == 0)
		snprintf(out, cap, "/run/sipshard");
	else
		snprintf(out, cap, "/tmp/sipshard-%u", (unsigned)euid);
}

static void config_defaults(struct config *c)
{
	static const struct config_ood ood[] = {
	    {"OPTIONS", 200}, {"REGISTER", 403}, {"SUBSCRIBE", 405},
	    {"PUBLISH", 405}, {"MESSAGE", 405},
	};

	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:5060");
	c->bpf = true;
	c->io_uring = true;
	c->persist_dialogs = true;
	snprintf(c->log_level, sizeof(c->log_level), "info");
	c->tx_buffer_size = 8192;
	config_default_run_dir(geteuid(), c->run_dir, sizeof(c->run_dir));
	c->capacity.dialogs_per_shard = 65536;
	c->capacity.transactions_per_shard = 65536;
	c->capacity.setups = 16384;
	c->capacity.long_heads_per_shard = 1024; /* finish(): transactions_per_shard / 64 */
	c->timers.t1_ms = 500;
	c->timers.t2_ms = 4000;
	c->timers.transaction_timeout_ms = 32000;
	c->timers.dialog_idle_s = 7200;
	c->timers.dialog_max_s = 86400;
	c->timers.drain_s = 30;
	c->timers.no_answer_s = 120;
	c->timers.session_timer = true;
	c->timers.dialog_keepalive_misses = 3;
	c->limits.max_calls = 1000000;
	c->limits.retry_after_s = 5;
	c->limits.rate_sources = 65536;
	c->acl_default_allow = true;
	c->no_route_status = 404;
	c->dns_refresh_s = 60;
	c->ood_default_status = 405;
	memcpy(c->ood, ood, sizeof(ood));
	c->nood = sizeof(ood) / sizeof(ood[0]);
}

/* ---- parse context and error reporting ------------------------------------ */

__attribute__((format(printf, 3, 4))) int cfg_fail(struct cfg_parse *p, const char *path,
						   const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "%s: ", *path ? path : "(top level)");
	if (n < 0 || (size_t)n >= p->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* management_socket when the file names none: RUN_DIR/sipshardd.sock. */
static int default_mgmt_socket(struct cfg_parse *p, struct config *c)
{
	int n = snprintf(c->management_socket, sizeof(c->management_socket), "%s/%s",
			 strcmp(c->run_dir, "/") ? c->run_dir : "", MGMT_SOCKET_NAME);
	if (n < 0 || (size_t)n >= sizeof(c->management_socket))
		return cfg_fail(p, "management_socket",
				"run_dir + \"/" MGMT_SOCKET_NAME "\" is longer than %zu "
				"characters, the limit of a Unix socket path; set "
				"management_socket explicitly",
				sizeof(c->management_socket) - 1);
	return 0;
}

/* Copies s for an error message: control and non-ASCII bytes become '?' and a
 * long value is cut with "...", so a message is always one readable line. */
const char *cfg_shown(const char *s, char *buf, size_t cap)
{
	size_t i = 0;
	for (; s[i] && i + 4 < cap; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

const char *cfg_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* ---- typed readers -------------------------------------------------------- */

int cfg_get_uint(struct cfg_parse *p, const char *path, json_t *v, uint32_t lo, uint32_t hi,
		 uint32_t *out)
{
	if (!json_is_integer(v))
		return cfg_fail(p, path, "expected an integer from %u to %u, got %s", lo, hi,
				cfg_type_name(v));
	json_int_t x = json_integer_value(v);
	if (x < (json_int_t)lo || x > (json_int_t)hi)
		return cfg_fail(p, path, "expected an integer from %u to %u, got %lld", lo, hi,
				(long long)x);
	*out = (uint32_t)x;
	return 0;
}

int cfg_get_bool(struct cfg_parse *p, const char *path, json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return cfg_fail(p, path, "expected true or false, got %s", cfg_type_name(v));
	*out = json_is_true(v);
	return 0;
}

int cfg_get_str(struct cfg_parse *p, const char *path, json_t *v, char *out, size_t cap)
{
	if (!json_is_string(v))
		return cfg_fail(p, path, "expected a string, got %s", cfg_type_name(v));
	if (json_string_length(v) >= cap)
		return cfg_fail(p, path, "longer than %zu characters", cap - 1);
	snprintf(out, cap, "%s", json_string_value(v));
	return 0;
}

int cfg_get_choice(struct cfg_parse *p, const char *path, json_t *v, const char *const *names,
		   const char *expected, int *out)
{
	char s[32], b[48];
	int rc = cfg_get_str(p, path, v, s, sizeof(s));
	if (rc)
		return cfg_fail(p, path, "expected %s, got %s", expected,
				json_is_string(v) ? cfg_shown(json_string_value(v), b, sizeof(b))
						  : cfg_type_name(v));
	for (int i = 0; names[i]; i++)
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	return cfg_fail(p, path, "expected %s, got \"%s\"", expected, cfg_shown(s, b, sizeof(b)));
}

/* A route's or a registration's name, for logs, statistics and CDRs: not
 * empty, no control character. */
int cfg_get_name(struct cfg_parse *p, const char *path, json_t *v, char *out, size_t cap)
{
	char b[80];
	int rc = cfg_get_str(p, path, v, out, cap);
	if (rc)
		return rc;
	if (!out[0])
		return cfg_fail(p, path, "must not be empty");
	for (const char *q = out; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return cfg_fail(p, path, "control character in \"%s\"",
					cfg_shown(out, b, sizeof(b)));
	return 0;
}

/* ---- paths ---------------------------------------------------------------- */

int cfg_get_path(struct cfg_parse *p, const char *path, json_t *v, char *out, size_t cap,
		 bool nullable)
{
	char b[80];
	if (nullable && json_is_null(v)) {
		out[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return cfg_fail(p, path, "expected an absolute path%s, got %s",
				nullable ? " or null" : "", cfg_type_name(v));
	const char *s = json_string_value(v);
	/* the daemon and sipshardctl may start in different directories */
	if (s[0] != '/')
		return cfg_fail(p, path, "expected an absolute path, got \"%s\"",
				cfg_shown(s, b, sizeof(b)));
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return cfg_fail(p, path, "control character in \"%s\"",
					cfg_shown(s, b, sizeof(b)));
	if (json_string_length(v) >= cap)
		return cfg_fail(p, path, "longer than %zu characters", cap - 1);
	snprintf(out, cap, "%s", s);
	/* "/run/x/" and "/run/x" are one directory; keep "/" itself */
	size_t n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
}

/* ---- objects -------------------------------------------------------------- */

static void sub_path(char *out, size_t cap, const char *path, const char *key)
{
	char b[80];
	snprintf(out, cap, "%s%s%s", path, *path ? "." : "", cfg_shown(key, b, sizeof(b)));
}

int cfg_each_member(struct cfg_parse *p, const char *path, json_t *obj, member_fn fn, void *arg)
{
	const char *key;
	json_t *v;
	char sub[300];

	if (!json_is_object(obj))
		return cfg_fail(p, path, "expected an object, got %s", cfg_type_name(obj));
	json_object_foreach(obj, key, v)
	{
		sub_path(sub, sizeof(sub), path, key);
		int rc = fn(p, sub, key, v, arg);
		if (rc == -ENOENT)
			return cfg_fail(p, sub, "unknown key");
		if (rc)
			return rc;
	}
	return 0;
}

int cfg_each_element(struct cfg_parse *p, const char *path, json_t *arr, size_t max,
		     const char *what, element_fn fn)
{
	size_t i;
	json_t *v;
	char sub[300];

	if (!json_is_array(arr))
		return cfg_fail(p, path, "expected an array, got %s", cfg_type_name(arr));
	if (json_array_size(arr) > max)
		return cfg_fail(p, path, "at most %zu %s, got %zu", max, what,
				json_array_size(arr));
	json_array_foreach(arr, i, v)
	{
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		int rc = fn(p, sub, i, v);
		if (rc)
			return rc;
	}
	return 0;
}

/* Entry v at path (routes[i] or registrations[i]) has name, already the name
 * of what[j]. One that wrote no "name" has the default "routeN" or
 * "registrationN", which an earlier entry may have been given: the message
 * then names the entry, not a key the document does not have. */
int cfg_name_taken(struct cfg_parse *p, const char *path, json_t *v, const char *name,
		   const char *what, size_t j)
{
	char sub[320];
	if (!json_object_get(v, "name"))
		return cfg_fail(
		    p, path,
		    "its default name \"%s\" is already the name of %s[%zu]: give either "
		    "a \"name\"",
		    name, what, j);
	snprintf(sub, sizeof(sub), "%s.name", path);
	return cfg_fail(p, sub, "\"%s\" is already the name of %s[%zu]", name, what, j);
}

/* ---- the document as a whole -------------------------------------------- */

static uint16_t addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* What spans several keys, and values derived from others. */
static int finish(struct cfg_parse *p)
{
	struct config *c = p->c;
	char b[80], why[200];

	if (!p->have_listen &&
	    cfg_parse_ipport(c->listen, &c->listen_addr, &c->listen_addr_len, why, sizeof(why)))
		return cfg_fail(p, "listen", "%s", why);
	if (!c->nroutes)
		return cfg_fail(p, "routes", "at least one route is required");
	if (c->timers.t2_ms < c->timers.t1_ms)
		return cfg_fail(p, "timers.t2_ms", "must not be smaller than timers.t1_ms");
	/* a transaction holds one long head at most: more slots are never used */
	if (!p->have_long_heads)
		c->capacity.long_heads_per_shard = (c->capacity.transactions_per_shard + 63) / 64;
	else if (c->capacity.long_heads_per_shard > c->capacity.transactions_per_shard)
		return cfg_fail(
		    p, "capacity.long_heads_per_shard",
		    "must not exceed capacity.transactions_per_shard (%u): a transaction "
		    "keeps one long head at most",
		    c->capacity.transactions_per_shard);
	/* sipshard would ask the callee for what it refuses callers */
	if (c->timers.session_expires_s && c->timers.session_expires_s < c->timers.min_se_s)
		return cfg_fail(p, "timers.session_expires_s",
				"must not be smaller than timers.min_se_s (%u)",
				c->timers.min_se_s);

	/* advertise: what peers send to, so it must be a host they can reach and
	 * must be safe to paste into a header line */
	if (!p->have_advertise) {
		if (cfg_addr_is_wildcard(&c->listen_addr))
			return cfg_fail(p, "advertise",
					"required when listen is a wildcard address (\"%s\")",
					c->listen);
		snprintf(c->advertise, sizeof(c->advertise), "%s", c->listen);
	} else {
		const char *s = c->advertise, *port_s = NULL, *hend;
		char host[CONFIG_STR_MAX];
		uint16_t port;
		bool ok;
		if (s[0] == '[') {
			const char *close = strchr(s, ']');
			hend = close ? close + 1 : s;
			ok = close && (!close[1] || close[1] == ':');
		} else {
			/* a second colon means a bare IPv6 address: ambiguous */
			hend = strchr(s, ':');
			ok = !hend || !strchr(hend + 1, ':');
			if (!hend)
				hend = s + strlen(s);
		}
		if (ok && *hend == ':')
			port_s = hend + 1;
		ok = ok && cfg_normalize_host(s, (size_t)(hend - s), host, sizeof(host)) &&
		     (!port_s || cfg_parse_port(port_s, &port));
		if (!ok && s[0] == '[' && memchr(s, '%', (size_t)(hend - s)))
			return cfg_fail(p, "advertise",
					"\"%s\": scope ids (a link-local address with %%zone) are "
					"not supported; give a global or unique-local IPv6 address",
					cfg_shown(s, b, sizeof(b)));
		if (!ok)
			return cfg_fail(p, "advertise",
					"expected \"host\" or \"host:port\" (an IPv6 address in "
					"brackets), got \"%s\"",
					cfg_shown(s, b, sizeof(b)));
		/* it goes into Via, Contact and From for peers to send to: a
		 * wildcard there ([::ffff:0.0.0.0] too) sends their responses
		 * and requests nowhere */
		if (cfg_host_is_wildcard(host))
			return cfg_fail(
			    p, "advertise",
			    "\"%s\" is a wildcard address: peers cannot send to it (give "
			    "the address or name they reach this host at)",
			    host);
		if (!port_s) {
			/* without a port, peers would use 5060, whatever we listen on */
			size_t n = strlen(c->advertise);
			if (n + 7 > sizeof(c->advertise))
				return cfg_fail(p, "advertise", "too long to add the listen port");
			snprintf(c->advertise + n, sizeof(c->advertise) - n, ":%u",
				 addr_port(&c->listen_addr));
		}
	}

	/* route targets resolved, checked reachable (one UDP socket family per
	 * daemon) and made of SRV records; then the registrars */
	int rc = cfg_resolve_targets(p);
	if (rc)
		return rc;
	for (unsigned i = 0; i < c->nregistrations; i++) {
		struct config_registration *g = &c->registrations[i];
		struct config_target *ct = &g->registrar;
		char path[48], swhy[512];
		snprintf(path, sizeof(path), "registrations[%u].registrar", i);
		if (ct->domain[0]) {
			int n = cfg_srv_targets(c, NULL, ct, g->registrar_srv,
						CONFIG_MAX_REGISTRAR_SRV, swhy, sizeof(swhy));
			if (n < 0)
				return cfg_fail(p, path, "%s", swhy);
			g->nregistrar_srv = (unsigned)n;
			continue;
		}
		if (ct->by_name &&
		    cfg_resolve_name(c, ct, &ct->addr, &ct->addr_len, why, sizeof(why)))
			return cfg_fail(p, path, "%s", why);
		rc = cfg_reachable(p, path, "registrar", ct);
		if (rc)
			return rc;
	}

	if (!p->have_mgmt)
		return default_mgmt_socket(p, c);
	return 0;
}

static int load_json(struct config *out, json_t *root, char *err, size_t errlen)
{
	struct config *c = malloc(sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct cfg_parse p = {.c = c, .err = err, .errlen = errlen};
	config_defaults(c);
	int rc = cfg_each_member(&p, "", root, cfg_top_member, NULL);
	if (!rc)
		rc = finish(&p);
	if (!rc)
		memcpy(out, c, sizeof(*c));
	free(c);
	return rc;
}

/* The key of a secret: a document that holds it is not quoted in errors. */
static const char password_key[] = "\"password\"";

/* Whether the file at path holds needle (true when it cannot be read: the
 * caller then shows less, never more). */
static bool file_holds(const char *path, const char *needle)
{
	const size_t nl = strlen(needle);
	char buf[4096];
	size_t keep = 0;
	bool found = false;
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	for (;;) {
		size_t n = fread(buf + keep, 1, sizeof(buf) - keep, f);
		if (!n)
			break;
		n += keep;
		if (memmem(buf, n, needle, nl)) {
			found = true;
			break;
		}
		/* a needle cut by the buffer's end is found in the next round */
		keep = n < nl - 1 ? n : nl - 1;
		memmove(buf, buf + n - keep, keep);
	}
	fclose(f);
	return found;
}

/* jansson's syntax error ("PROBLEM near 'TEXT'"). TEXT is the document's
 * own bytes where the parse stopped: in a file with credentials they may be
 * the password (a raw backslash or tab in it, or no quotes), and the error
 * goes to the log, to sipshardctl reload and to --check-config, which never
 * show a password. Such a file's errors keep the problem, line and column
 * only. */
static const char *syntax_error(const json_error_t *je, bool secret, char *buf, size_t cap)
{
	const char *near = strstr(je->text, " near '");
	if (secret && near) {
		snprintf(buf, cap, "%.*s (the text there is not shown: the file holds a password)",
			 (int)(near - je->text), je->text);
		return buf;
	}
	/* TEXT may hold control bytes (a raw newline after a backslash): the
	 * error is one line of a log or of sipshardctl's answer, so they are
	 * written as \xHH */
	size_t n = 0;
	for (const char *t = je->text; *t && n + 5 < cap; t++) {
		unsigned char ch = (unsigned char)*t;
		if (ch < 0x20 || ch == 0x7f)
			n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", ch);
		else
			buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	return buf;
}

int config_load_string(struct config *c, const char *json, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		char text[JSON_ERROR_TEXT_LENGTH + 80];
		snprintf(err, errlen, "line %d, column %d: %s", je.line, je.column,
			 syntax_error(&je, strstr(json, password_key) != NULL, text, sizeof(text)));
		return -EINVAL;
	}
	int rc = load_json(c, root, err, errlen);
	json_decref(root);
	return rc;
}

/* The JSON document in the file at path, or NULL with why in err
 * ("FILE:LINE:COLUMN: problem"). On success err starts with "FILE: " for
 * what the caller finds wrong next, and *prefix is that prefix's length. */
static json_t *load_file_root(const char *path, char *err, size_t errlen, size_t *prefix)
{
	json_error_t je;
	struct stat st;
	/* a directory opens, and jansson reads it as an empty document ("FILE:1:0:
	 * '[' or '{' expected near end of file"): say what it is instead */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(EISDIR));
		return NULL;
	}
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (je.line < 1) /* could not open or read; jansson names the file */
			snprintf(err, errlen, "%s: cannot read: %s", path, je.text);
		else {
			char text[JSON_ERROR_TEXT_LENGTH + 80];
			snprintf(
			    err, errlen, "%s:%d:%d: %s", path, je.line, je.column,
			    syntax_error(&je, file_holds(path, password_key), text, sizeof(text)));
		}
		return NULL;
	}
	int n = snprintf(err, errlen, "%s: ", path);
	*prefix = n < 0 || (size_t)n >= errlen ? 0 : (size_t)n;
	return root;
}

int config_management_socket(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
	size_t n;
	json_t *root = load_file_root(path, err, errlen, &n);
	if (!root)
		return -EINVAL;
	struct config *c = malloc(sizeof(*c));
	if (!c) {
		json_decref(root);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct cfg_parse p = {.c = c, .err = err + n, .errlen = errlen - n};
	config_defaults(c);
	json_t *rd = json_object_get(root, "run_dir");
	json_t *ms = json_object_get(root, "management_socket");
	int rc = 0;
	if (!json_is_object(root))
		rc = cfg_fail(&p, "", "expected an object, got %s", cfg_type_name(root));
	if (!rc && rd)
		rc = cfg_get_path(&p, "run_dir", rd, c->run_dir, sizeof(c->run_dir), false);
	if (!rc && ms) {
		rc = cfg_get_path(&p, "management_socket", ms, c->management_socket,
				  sizeof(c->management_socket), true);
		if (!rc && !c->management_socket[0])
			rc = cfg_fail(&p, "management_socket",
				      "null: the daemon has no management socket");
	} else if (!rc) {
		rc = default_mgmt_socket(&p, c);
	}
	if (!rc) {
		snprintf(out, cap, "%s", c->management_socket);
		if (errlen)
			err[0] = '\0';
	}
	free(c);
	json_decref(root);
	return rc;
}

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	size_t n;
	json_t *root = load_file_root(path, err, errlen, &n);
	if (!root)
		return -EINVAL;
	int rc = load_json(c, root, err + n, errlen - n);
	json_decref(root);
	if (!rc && errlen)
		err[0] = '\0';
	return rc;
}

int config_load_default(struct config *c, char *err, size_t errlen)
{
	return config_load_string(c, config_default_json, err, errlen);
}

void config_free(struct config *c)
{
	(void)c; /* everything is inline today; kept for callers */
}

/* ---- reload ------------------------------------------------------------- */

/* The keys a reload cannot change, each as the bytes that hold it (a config
 * is zeroed before it is filled, so whole fields compare with memcmp). */
#define RESTART_KEY(name, field)                                                                   \
	{                                                                                          \
		name, offsetof(struct config, field), sizeof(((struct config *)0)->field)          \
	}
static const struct restart_key {
	const char *name;
	size_t off, size;
} restart_keys[] = {
    RESTART_KEY("listen", listen),
    RESTART_KEY("listen", listen_addr),
    RESTART_KEY("listen", listen_addr_len),
    RESTART_KEY("advertise", advertise),
    RESTART_KEY("workers", workers),
    RESTART_KEY("bpf", bpf),
    RESTART_KEY("io_uring", io_uring),
    RESTART_KEY("log_target", log_to_syslog),
    RESTART_KEY("tx_buffer_size", tx_buffer_size),
    RESTART_KEY("management_socket", management_socket),
    RESTART_KEY("run_dir", run_dir),
    RESTART_KEY("persist_dialogs", persist_dialogs),
    RESTART_KEY("cdr_file", cdr_file),
    RESTART_KEY("metrics_listen", metrics_listen),
    RESTART_KEY("metrics_listen", metrics_addr),
    RESTART_KEY("metrics_listen", metrics_addr_len),
    RESTART_KEY("capacity.dialogs_per_shard", capacity.dialogs_per_shard),
    RESTART_KEY("capacity.transactions_per_shard", capacity.transactions_per_shard),
    RESTART_KEY("capacity.setups", capacity.setups),
    RESTART_KEY("capacity.long_heads_per_shard", capacity.long_heads_per_shard),
    RESTART_KEY("timers.t1_ms", timers.t1_ms),
    RESTART_KEY("timers.t2_ms", timers.t2_ms),
    RESTART_KEY("timers.transaction_timeout_ms", timers.transaction_timeout_ms),
    RESTART_KEY("timers.dialog_idle_s", timers.dialog_idle_s),
    RESTART_KEY("timers.dialog_max_s", timers.dialog_max_s),
    RESTART_KEY("timers.drain_s", timers.drain_s),
    RESTART_KEY("timers.no_answer_s", timers.no_answer_s),
    RESTART_KEY("timers.session_timer", timers.session_timer),
    RESTART_KEY("timers.session_expires_s", timers.session_expires_s),
    RESTART_KEY("timers.min_se_s", timers.min_se_s),
    RESTART_KEY("timers.dialog_keepalive_s", timers.dialog_keepalive_s),
    RESTART_KEY("timers.dialog_keepalive_misses", timers.dialog_keepalive_misses),
    RESTART_KEY("strip_headers", strip_headers),
    RESTART_KEY("rewrite_refer_to", rewrite_refer_to),
};
#undef RESTART_KEY

size_t config_restart_changes(const struct config *running, const struct config *next,
			      const char **names, size_t cap)
{
	const char *a = (const char *)running, *b = (const char *)next, *last = NULL;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(restart_keys) / sizeof(restart_keys[0]); i++) {
		const struct restart_key *k = &restart_keys[i];
		/* one name per key, though a key may span several (adjacent) fields */
		if ((last && strcmp(last, k->name) == 0) ||
		    memcmp(a + k->off, b + k->off, k->size) == 0)
			continue;
		last = k->name;
		if (n < cap)
			names[n] = k->name;
		n++;
	}
	return n;
}

void config_keep_restart_keys(struct config *next, const struct config *running)
{
	for (size_t i = 0; i < sizeof(restart_keys) / sizeof(restart_keys[0]); i++) {
		const struct restart_key *k = &restart_keys[i];
		memcpy((char *)next + k->off, (const char *)running + k->off, k->size);
	}
}
