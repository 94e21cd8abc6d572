/*
 * test_config.c - the configuration loader: the embedded default, the example
 * file, the effective configuration printed and loaded back, derived values,
 * and an error that names the exact key path for every kind of bad value.
 * Policy decisions are in test_policy.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ctl/config.h"
#include "sipshard/sip.h"

/* Large structs: static, so that tests do not grow the stack by 100 KiB. */
static struct config cfg, cfg2;
static char err[512];

/* Loads a document that must be good. */
static void load(struct config *c, const char *json)
{
	if (config_load_string(c, json, err, sizeof(err)) != 0)
		fail_msg("%s\n -> %s", json, err);
}

/* Prints c, loads the print, prints again: the two prints must be equal, and
 * the reloaded configuration must print what the original did. */
static void assert_round_trip(const struct config *c)
{
	char *a = config_to_json(c);
	assert_non_null(a);
	load(&cfg2, a);
	char *b = config_to_json(&cfg2);
	assert_non_null(b);
	if (strcmp(a, b) != 0)
		fail_msg("print differs after reload:\n%s\n---\n%s", a, b);
	free(a);
	free(b);
}

static json_t *printed(const struct config *c)
{
	char *s = config_to_json(c);
	assert_non_null(s);
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);
	free(s);
	if (!j)
		fail_msg("config_to_json printed invalid JSON: %s", je.text);
	return j;
}

static void test_default_loads_and_prints(void **state)
{
	char run_dir[CONFIG_PATH_MAX], sock[CONFIG_PATH_MAX + 32];
	(void)state;

	assert_int_equal(config_load_default(&cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.listen, "127.0.0.1:5060");
	assert_int_equal(cfg.listen_addr.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&cfg.listen_addr)->sin_port), 5060);
	assert_string_equal(cfg.advertise, "127.0.0.1:5060");
	assert_int_equal(cfg.nroutes, 1);
	assert_string_equal(cfg.routes[0].targets[0].text, "127.0.0.1:5080");
	assert_string_equal(cfg.routes[0].user_prefix, "");
	assert_string_equal(cfg.routes[0].domain, "");
	assert_false(cfg.routes[0].has_source);
	assert_true(cfg.bpf);
	assert_true(cfg.io_uring);
	assert_true(cfg.persist_dialogs); /* dialogs survive a restart unless told otherwise */
	assert_int_equal(cfg.workers, 0);
	assert_string_equal(cfg.log_level, "info");
	assert_true(cfg.acl_default_allow);
	assert_int_equal(cfg.nacl, 0);
	assert_int_equal(cfg.no_route_status, 404);
	assert_int_equal(cfg.limits.calls_per_second_per_source, 0);
	assert_string_equal(cfg.cdr_file, "");
	/* run_dir follows the effective uid; the socket lives in it */
	config_default_run_dir(geteuid(), run_dir, sizeof(run_dir));
	assert_string_equal(cfg.run_dir, run_dir);
	snprintf(sock, sizeof(sock), "%s/sipshardd.sock", run_dir);
	assert_string_equal(cfg.management_socket, sock);

	json_t *j = printed(&cfg);
	assert_string_equal(json_string_value(json_object_get(j, "listen")), "127.0.0.1:5060");
	assert_true(json_is_null(json_object_get(j, "cdr_file")));
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "out_of_dialog"), "OPTIONS")),
	    200);
	json_t *r0 = json_array_get(json_object_get(j, "routes"), 0);
	assert_string_equal(json_string_value(json_object_get(r0, "target")), "127.0.0.1:5080");
	assert_true(json_is_null(json_object_get(json_object_get(r0, "match"), "source")));
	json_decref(j);
	assert_round_trip(&cfg);
}

static void test_default_run_dir(void **state)
{
	char s[64];
	(void)state;
	config_default_run_dir(0, s, sizeof(s));
	assert_string_equal(s, "/run/sipshard");
	config_default_run_dir(1000, s, sizeof(s));
	assert_string_equal(s, "/tmp/sipshard-1000");
}

static void test_example_file_loads(void **state)
{
	(void)state;
	if (config_load_file(&cfg, "examples/sipshardd.json", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(err, "");
	assert_string_equal(cfg.advertise, "127.0.0.1:5060");
	assert_string_equal(cfg.run_dir, "/run/sipshard");
	assert_string_equal(cfg.management_socket, "/run/sipshard/sipshardd.sock");
	assert_string_equal(cfg.cdr_file, "/var/log/sipshard/cdr.jsonl");
	assert_int_equal(cfg.capacity.transactions_per_shard, 131072);
	assert_int_equal(cfg.limits.max_calls, 100000);
	assert_int_equal(cfg.limits.calls_per_second_per_source, 200);
	assert_int_equal(cfg.limits.burst, 400);
	assert_false(cfg.acl_default_allow);
	assert_int_equal(cfg.nacl, 2);
	assert_true(cfg.acl[1].allow);
	assert_int_equal(cfg.acl[1].cidr.family, AF_INET6);
	assert_int_equal(cfg.acl[1].cidr.prefix, 128);
	assert_int_equal(cfg.nroutes, 3);
	assert_string_equal(cfg.routes[0].name, "emergency");
	assert_string_equal(cfg.routes[0].user_prefix, "112");
	assert_string_equal(cfg.routes[1].domain, "carrier-b.example.net");
	assert_true(cfg.routes[1].has_source);
	assert_int_equal(cfg.routes[1].source.prefix, 32);
	assert_int_equal(ntohs(((struct sockaddr_in *)&cfg.routes[1].targets[0].addr)->sin_port),
			 5081);
	assert_int_equal(cfg.routes[1].ntargets, 2);
	assert_int_equal(cfg.routes[1].targets[0].max_cps, 50);
	assert_int_equal(cfg.routes[1].targets[1].max_calls, 500);
	assert_string_equal(cfg.routes[1].rewrite_prefix, "00");
	assert_int_equal(cfg.routes[1].keepalive_s, 30);
	assert_string_equal(cfg.routes[2].targets[0].text, "127.0.0.1:5080");
	/* NOTIFY was added after the five built-in methods */
	assert_int_equal(cfg.nood, 6);
	assert_string_equal(cfg.ood[5].method, "NOTIFY");
	assert_int_equal(cfg.ood[5].status, 481);
	assert_int_equal(cfg.strip_headers.n, 3);
	assert_int_equal(cfg.strip_headers.other.n, 1);
	assert_round_trip(&cfg);
}

/* Keys not given keep their defaults; given ones replace them. */
static void test_partial_document_keeps_defaults(void **state)
{
	(void)state;
	load(&cfg, "{\"routes\": [{\"target\": \"10.0.0.1:5060\"}], \"timers\": {\"t1_ms\": 250}}");
	assert_int_equal(cfg.timers.t1_ms, 250);
	assert_int_equal(cfg.timers.t2_ms, 4000);
	assert_int_equal(cfg.timers.no_answer_s, 120);
	assert_true(cfg.timers.session_timer);
	assert_int_equal(cfg.timers.session_expires_s, 0);
	assert_int_equal(cfg.timers.min_se_s, 0);
	assert_int_equal(cfg.timers.dialog_keepalive_s, 0);
	assert_int_equal(cfg.timers.dialog_keepalive_misses, 3);
	assert_string_equal(cfg.routes[0].name, "route0");
	assert_string_equal(cfg.listen, "127.0.0.1:5060");
	assert_round_trip(&cfg);
	load(&cfg, "{\"routes\": [{\"target\": \"10.0.0.1:5060\"}], \"timers\": "
		   "{\"session_timer\": false, \"session_expires_s\": 1800, \"min_se_s\": 600, "
		   "\"dialog_keepalive_s\": 30, \"dialog_keepalive_misses\": 4}}");
	assert_false(cfg.timers.session_timer);
	assert_int_equal(cfg.timers.session_expires_s, 1800);
	assert_int_equal(cfg.timers.min_se_s, 600);
	assert_int_equal(cfg.timers.dialog_keepalive_s, 30);
	assert_int_equal(cfg.timers.dialog_keepalive_misses, 4);
	assert_round_trip(&cfg);
}

/* A route's targets in order, its failover statuses and time; "target" is
 * one target; the tag follows the name and the targets, nothing else. */
static void test_route_targets_and_failover(void **state)
{
	static struct config other;
	(void)state;
	load(&cfg,
	     "{\"routes\": [{\"name\": \"trunk\", \"targets\": [\"10.0.0.1:5060\","
	     " {\"address\": \"10.0.0.2:5070\", \"max_calls\": 30, \"max_cps\": 5, \"weight\": 4},"
	     " {\"address\": "
	     "\"10.0.0.3:5080\"}], \"failover_on\": [503, 486],"
	     " \"failover_ms\": 700, \"down_s\": 0, \"keepalive_s\": 15, \"select\": "
	     "\"round_robin\","
	     " \"rewrite\": {\"strip\": 1, \"prefix\": \"0044\"}}, {\"target\":"
	     " \"10.0.0.9:5060\"}]}");
	const struct config_route *r = &cfg.routes[0];
	assert_int_equal(r->ntargets, 3);
	assert_string_equal(r->targets[1].text, "10.0.0.2:5070");
	assert_int_equal(r->targets[0].max_calls, 0);
	assert_int_equal(r->targets[1].max_calls, 30);
	assert_int_equal(r->targets[1].max_cps, 5);
	assert_int_equal(r->targets[1].weight, 4);
	assert_int_equal(r->targets[0].weight, 1);
	assert_int_equal(r->targets[0].max_cps, 0);
	assert_int_equal(r->targets[2].max_calls, 0);
	assert_int_equal(ntohs(((const struct sockaddr_in *)&r->targets[2].addr)->sin_port), 5080);
	assert_int_equal(r->nfailover, 2);
	assert_int_equal(r->failover_on[0], 503);
	assert_int_equal(r->failover_on[1], 486);
	assert_int_equal(r->failover_ms, 700);
	assert_int_equal(r->down_s, 0);
	assert_int_equal(r->keepalive_s, 15);
	assert_true(r->round_robin);
	assert_int_equal(r->rewrite_strip, 1);
	assert_string_equal(r->rewrite_prefix, "0044");
	assert_int_not_equal(r->tag, 0);
	/* defaults */
	r = &cfg.routes[1];
	assert_int_equal(r->ntargets, 1);
	assert_int_equal(r->nfailover, 5);
	assert_int_equal(r->failover_on[0], 408);
	assert_int_equal(r->failover_on[4], 504);
	assert_int_equal(r->failover_ms, 2000);
	assert_int_equal(r->down_s, 30);
	assert_int_equal(r->probe_s, 5);
	assert_int_equal(r->keepalive_s, 0);
	assert_false(r->round_robin);
	assert_int_equal(r->rewrite_strip, 0);
	assert_string_equal(r->rewrite_prefix, "");
	assert_round_trip(&cfg);
	/* one target in an array stays an array */
	load(&other, "{\"routes\": [{\"targets\": [\"10.0.0.1:5060\"]}]}");
	assert_true(other.routes[0].targets_array);
	assert_round_trip(&other);
	/* failover_on [] fails over only on silence */
	load(&other, "{\"routes\": [{\"name\": \"trunk\", \"targets\": [\"10.0.0.1:5060\","
		     " \"10.0.0.2:5070\", \"10.0.0.3:5080\"], \"failover_on\": []}]}");
	assert_int_equal(other.routes[0].nfailover, 0);
	assert_int_equal(other.routes[0].tag, cfg.routes[0].tag);
	/* another order of the same targets is another route */
	load(&other, "{\"routes\": [{\"name\": \"trunk\", \"targets\": [\"10.0.0.2:5070\","
		     " \"10.0.0.1:5060\", \"10.0.0.3:5080\"]}]}");
	assert_int_not_equal(other.routes[0].tag, cfg.routes[0].tag);
	load(&other, "{\"routes\": [{\"name\": \"trunk2\", \"targets\": [\"10.0.0.1:5060\","
		     " \"10.0.0.2:5070\", \"10.0.0.3:5080\"]}]}");
	assert_int_not_equal(other.routes[0].tag, cfg.routes[0].tag);
}

/* routes[].auth: read, and printed without its password. */
static void test_route_auth(void **state)
{
	(void)state;
	load(&cfg, "{\"routes\": [{\"name\": \"carrier\", \"target\": \"10.0.0.1:5060\","
		   " \"auth\": {\"username\": \"trunk7\", \"password\": \"s3cr\\\"et\","
		   " \"realm\": \"carrier.example\"}}, {\"target\": \"10.0.0.2:5060\"}]}");
	const struct config_route *r = &cfg.routes[0];
	assert_string_equal(r->auth.username, "trunk7");
	assert_string_equal(r->auth.password, "s3cr\"et");
	assert_int_equal(r->auth.nrealms, 1);
	assert_string_equal(r->auth.realm[0], "carrier.example");
	assert_string_equal(cfg.routes[1].auth.username, "");
	char *text = config_to_json(&cfg);
	assert_non_null(text);
	assert_null(strstr(text, "s3cr"));
	free(text);
	json_t *j = printed(&cfg);
	json_t *a = json_object_get(json_array_get(json_object_get(j, "routes"), 0), "auth");
	assert_string_equal(json_string_value(json_object_get(a, "username")), "trunk7");
	assert_string_equal(json_string_value(json_object_get(a, "password")), "(set)");
	assert_string_equal(json_string_value(json_object_get(a, "realm")), "carrier.example");
	assert_true(
	    json_is_null(json_object_get(json_array_get(json_object_get(j, "routes"), 1), "auth")));
	json_decref(j);
	assert_round_trip(&cfg);
	/* no realm: any */
	load(&cfg, "{\"routes\": [{\"target\": \"10.0.0.1:5060\", \"auth\": {\"username\": \"u\","
		   " \"password\": \"\"}}]}");
	assert_int_equal(cfg.routes[0].auth.nrealms, 0);
	assert_round_trip(&cfg);
	/* a list of realms: a proxy's and its server's; printed as a list */
	load(&cfg, "{\"routes\": [{\"target\": \"10.0.0.1:5060\", \"auth\": {\"username\": \"u\","
		   " \"password\": \"p\", \"realm\": [\"proxy.example\", \"server.example\"]}}]}");
	assert_int_equal(cfg.routes[0].auth.nrealms, 2);
	assert_string_equal(cfg.routes[0].auth.realm[0], "proxy.example");
	assert_string_equal(cfg.routes[0].auth.realm[1], "server.example");
	j = printed(&cfg);
	a = json_object_get(json_array_get(json_object_get(j, "routes"), 0), "auth");
	assert_int_equal(json_array_size(json_object_get(a, "realm")), 2);
	json_decref(j);
	assert_round_trip(&cfg);
	/* "" and [] say any realm, as an absent realm does */
	load(&cfg, "{\"routes\": [{\"target\": \"10.0.0.1:5060\", \"auth\": {\"username\": \"u\","
		   " \"password\": \"p\", \"realm\": []}}]}");
	assert_int_equal(cfg.routes[0].auth.nrealms, 0);
	load(&cfg, "{\"routes\": [{\"target\": \"10.0.0.1:5060\", \"auth\": {\"username\": \"u\","
		   " \"password\": \"p\", \"realm\": \"\"}}]}");
	assert_int_equal(cfg.routes[0].auth.nrealms, 0);
}

/* registrations[]: read with their defaults, the registrar by name, printed
 * without the password and loaded back the same. */
static void test_registrations(void **state)
{
	(void)state;
	load(&cfg,
	     "{\"routes\": [{\"target\": \"10.0.0.1:5060\"}], \"registrations\": ["
	     " {\"name\": \"carrier\", \"registrar\": \"localhost:5070\","
	     " \"aor\": \"sip:acct-4471@trunk.example.net\", \"expires_s\": 600, \"retry_s\": 9,"
	     " \"auth\": {\"username\": \"acct-4471\", \"password\": \"s3cret\"}},"
	     " {\"registrar\": \"10.0.0.2:5060\", \"aor\": \"sip:+15551234@10.0.0.2\"}]}");
	assert_int_equal(cfg.nregistrations, 2);
	const struct config_registration *g = &cfg.registrations[0];
	assert_string_equal(g->name, "carrier");
	assert_true(g->registrar.by_name);
	assert_int_equal(ntohs(((const struct sockaddr_in *)&g->registrar.addr)->sin_port), 5070);
	assert_int_equal(((const struct sockaddr_in *)&g->registrar.addr)->sin_addr.s_addr,
			 htonl(INADDR_LOOPBACK));
	assert_int_equal(g->aor_user_len, 9);
	assert_int_equal(g->expires_s, 600);
	assert_int_equal(g->retry_s, 9);
	assert_string_equal(g->auth.password, "s3cret");
	g = &cfg.registrations[1];
	assert_string_equal(g->name, "registration1");
	assert_int_equal(g->aor_user_len, 9);
	assert_int_equal(g->expires_s, 3600);
	assert_int_equal(g->retry_s, 30);
	assert_string_equal(g->auth.username, "");
	char *text = config_to_json(&cfg);
	assert_non_null(text);
	assert_null(strstr(text, "s3cret"));
	free(text);
	assert_round_trip(&cfg);
}

/* A target may be a host name: resolved at load (here by /etc/hosts) to an
 * address of listen's family, its text kept as written; a name that does
 * not resolve, or two targets of a route at one address, are errors. */
static void test_target_names(void **state)
{
	(void)state;

	load(&cfg, "{\"routes\": [{\"targets\": [\"localhost:5090\", \"127.0.0.2:5090\"]}]}");
	const struct config_target *t = &cfg.routes[0].targets[0];
	assert_true(t->by_name);
	assert_false(cfg.routes[0].targets[1].by_name);
	assert_string_equal(t->text, "localhost:5090");
	assert_int_equal(t->addr.ss_family, AF_INET);
	const struct sockaddr_in *in = (const struct sockaddr_in *)&t->addr;
	assert_int_equal(ntohl(in->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(ntohs(in->sin_port), 5090);
	assert_round_trip(&cfg);

	/* a DNS server that does not answer costs a second, not glibc's 10 s */
	setenv("RES_OPTIONS", "timeout:1 attempts:1", 1);
	assert_int_not_equal(
	    config_load_string(&cfg2, "{\"routes\": [{\"target\": \"nosuch.invalid:5060\"}]}", err,
			       sizeof(err)),
	    0);
	const char *want = "routes[0].target: \"nosuch.invalid:5060\": nosuch.invalid has no IPv4 "
			   "address (";
	assert_memory_equal(err, want, strlen(want));

	/* dns_refresh_s (60 by default): resolved again, a moved name follows */
	assert_int_equal(cfg.dns_refresh_s, 60);
	const struct config_target *changed[2] = {NULL, NULL};
	assert_int_equal(config_resolve_names(&cfg, changed, 2, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	struct sockaddr_in *moved = (struct sockaddr_in *)&cfg.routes[0].targets[0].addr;
	moved->sin_addr.s_addr = htonl(0x7f000009); /* as if it had resolved to 127.0.0.9 */
	assert_int_equal(config_resolve_names(&cfg, changed, 2, err, sizeof(err)), 1);
	assert_ptr_equal(changed[0], &cfg.routes[0].targets[0]);
	assert_int_equal(ntohl(moved->sin_addr.s_addr), 0x7f000001);
	/* a name that no longer resolves keeps its address, and is named */
	snprintf(cfg.routes[0].targets[0].text, sizeof(cfg.routes[0].targets[0].text),
		 "nosuch.invalid:5090");
	assert_int_equal(config_resolve_names(&cfg, changed, 2, err, sizeof(err)), 0);
	assert_int_equal(ntohl(moved->sin_addr.s_addr), 0x7f000001);
	want = "\"nosuch.invalid:5090\": nosuch.invalid has no IPv4 address (";
	assert_memory_equal(err, want, strlen(want));
}

/* sipshardctl disable|enable TARGET: an address in any spelling of it finds
 * the target ("[0::1]:5080" is "[::1]:5080", which a comparison of the text
 * missed), a name only as written, and nothing else. */
static void test_target_named(void **state)
{
	(void)state;

	load(&cfg, "{\"listen\": \"[::1]:5060\", \"routes\": [{\"targets\": "
		   "[\"[::1]:5080\", \"[2001:db8::1]:5080\"]}]}");
	const struct config_target *t = cfg.routes[0].targets;
	assert_true(config_target_named(&t[0], "[::1]:5080"));
	assert_true(config_target_named(&t[0], "[0::1]:5080"));
	assert_true(config_target_named(&t[0], "[0:0:0:0:0:0:0:1]:5080"));
	assert_true(config_target_named(&t[1], "[2001:DB8:0::1]:5080"));
	assert_false(config_target_named(&t[0], "[::1]:5081"));
	assert_false(config_target_named(&t[0], "[2001:db8::1]:5080"));
	assert_false(config_target_named(&t[0], "127.0.0.1:5080"));
	assert_false(config_target_named(&t[0], "[::1]"));
	assert_false(config_target_named(&t[0], ""));

	load(&cfg, "{\"routes\": [{\"targets\": [\"localhost:5090\", \"127.0.0.2:5091\"]}]}");
	t = cfg.routes[0].targets;
	assert_true(config_target_named(&t[0], "localhost:5090"));
	assert_true(config_target_named(&t[0], "127.0.0.1:5090")); /* what it resolved to */
	assert_false(config_target_named(&t[0], "localhost:5091"));
	/* a name in any letter case (RFC 4343), its port in any spelling */
	assert_true(config_target_named(&t[0], "LOCALHOST:5090"));
	assert_true(config_target_named(&t[0], "LocalHost:05090"));
	assert_false(config_target_named(&t[0], "localhost.:5090"));
	assert_false(config_target_named(&t[0], "localhos:5090"));
	assert_false(config_target_named(&t[0], "LOCALHOST"));
	assert_true(config_target_named(&t[1], "127.0.0.2:5091"));
	assert_false(config_target_named(&t[1], "127.0.0.2:5090"));
	/* an IPv4-mapped spelling is the IPv4 host: the workers take such a
	 * peer as IPv4 (udp_addr_unmap), so a target written so is held as
	 * IPv4, or its answers (from 127.0.0.3) matched no target */
	assert_true(config_target_named(&t[1], "[::ffff:127.0.0.2]:5091"));
	assert_false(config_target_named(&t[1], "[::ffff:127.0.0.2]:5090"));
	load(&cfg, "{\"routes\": [{\"targets\": [\"[::ffff:127.0.0.3]:5092\"]}]}");
	t = cfg.routes[0].targets;
	assert_int_equal(t[0].addr.ss_family, AF_INET);
	assert_int_equal(t[0].addr_len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohl(((struct sockaddr_in *)&t[0].addr)->sin_addr.s_addr), 0x7f000003);
	assert_int_equal(ntohs(((struct sockaddr_in *)&t[0].addr)->sin_port), 5092);
	assert_true(config_target_named(&t[0], "127.0.0.3:5092"));
	assert_true(config_target_named(&t[0], "[::ffff:127.0.0.3]:5092"));
	/* so is one from a listen written IPv4-mapped, which a socket bound
	 * so reaches (it is not IPv6-only), as it reaches any IPv4 target:
	 * the load refused them, the target held as IPv4 and the listen as
	 * IPv6 */
	load(&cfg, "{\"listen\": \"[::ffff:127.0.0.1]:5060\", \"routes\": [{\"targets\": "
		   "[\"[::ffff:127.0.0.3]:5092\", \"127.0.0.4:5093\"]}]}");
	t = cfg.routes[0].targets;
	assert_int_equal(t[0].addr.ss_family, AF_INET);
	assert_int_equal(t[1].addr.ss_family, AF_INET);

	/* operator input of any length (sipshardctl disable TEXT): a name
	 * longer than any target's, whose first 63 bytes are a target's text,
	 * names no target; a port with no digits names none either */
	struct config_target longest = {.by_name = true};
	char text[201];
	memset(longest.text, 'a', 50);
	memcpy(longest.text + 50, ".example:5060", 14);
	assert_int_equal(strlen(longest.text), CONFIG_TARGET_MAX - 1);
	memcpy(text, longest.text, CONFIG_TARGET_MAX - 1);
	memset(text + CONFIG_TARGET_MAX - 1, 'x', sizeof(text) - CONFIG_TARGET_MAX);
	memcpy(text + sizeof(text) - 6, ":5060", 6);
	assert_int_equal(strlen(text), 200);
	assert_false(config_target_named(&longest, text));
	text[CONFIG_TARGET_MAX - 1] = '\0';
	text[0] = 'A';
	assert_true(config_target_named(&longest, text));
	assert_false(config_target_named(&t[0], "localhost:"));
	assert_false(config_target_named(&t[0], "x:"));
}

/* config_target_canonical: one spelling of each target, whichever way the
 * file writes it; a name's, not its address's. */
static void test_target_canonical(void **state)
{
	(void)state;
	char out[CONFIG_TARGET_MAX];

	load(&cfg, "{\"listen\": \"[::1]:5060\", \"routes\": [{\"targets\": "
		   "[\"[0:0:0:0:0:0:0:1]:05080\", \"[2001:DB8:0::A]:5080\"]}]}");
	config_target_canonical(&cfg.routes[0].targets[0], out, sizeof(out));
	assert_string_equal(out, "[::1]:5080");
	config_target_canonical(&cfg.routes[0].targets[1], out, sizeof(out));
	assert_string_equal(out, "[2001:db8::a]:5080");

	load(&cfg, "{\"routes\": [{\"targets\": [\"LocalHost:05090\", \"127.0.0.2:05091\"]}]}");
	config_target_canonical(&cfg.routes[0].targets[0], out, sizeof(out));
	assert_string_equal(out, "localhost:5090"); /* not 127.0.0.1:5090 */
	config_target_canonical(&cfg.routes[0].targets[1], out, sizeof(out));
	assert_string_equal(out, "127.0.0.2:5091");

	/* a target made from an SRV record: its domain */
	struct config_target t = {.by_name = true, .srv = true};
	snprintf(t.domain, sizeof(t.domain), "Carrier.EXAMPLE");
	snprintf(t.text, sizeof(t.text), "SIP1.carrier.example:5060");
	config_target_canonical(&t, out, sizeof(out));
	assert_string_equal(out, "carrier.example");
}

/* dns_refresh_s for targets made from a name without a port (the records
 * themselves need a DNS server: tests/integration/srv.sh): a route whose
 * lookup fails keeps its targets as they were, and the failure is named;
 * a route without such a name is not looked at. */
static void test_srv_refresh_keeps_targets(void **state)
{
	(void)state;
	load(&cfg, "{\"routes\": [{\"name\": \"a\", \"targets\": [\"127.0.0.1:5090\", "
		   "\"127.0.0.1:5091\", \"127.0.0.1:5092\"]}, {\"name\": \"b\", \"target\": "
		   "\"127.0.0.1:5093\"}]}");
	/* the first two as the load makes them of a name's records */
	struct config_route *r = &cfg.routes[0];
	for (unsigned t = 0; t < 2; t++) {
		snprintf(r->targets[t].domain, sizeof(r->targets[t].domain), "carrier.invalid");
		r->targets[t].srv = true;
		r->targets[t].srv_priority = (uint16_t)(10 * (t + 1));
	}
	r->srv = true;
	struct config before;
	memcpy(&before, &cfg, sizeof(before));

	setenv("RES_OPTIONS", "timeout:1 attempts:1", 1);
	struct config_srv_change changed[2] = {{NULL, NULL, 0, NULL}, {NULL, NULL, 0, NULL}};
	assert_int_equal(config_refresh_srv(&cfg, changed, 2, err, sizeof(err)), 0);
	assert_null(changed[0].name);
	const char *want = "routes[0].targets[0]: ";
	assert_memory_equal(err, want, strlen(want));
	assert_non_null(strstr(err, "_sip._udp.carrier.invalid"));
	assert_memory_equal(&cfg, &before, sizeof(before));
}

/* config_in_service: what a refresh (dns_refresh_s) puts in service. A route
 * keeps one target per address, the first in order (a refresh can move a
 * name onto another target's address; a load refuses that); a route that
 * loses any gets a new tag, the others keep theirs. The configuration given
 * keeps every target. */
static void test_in_service(void **state)
{
	static struct config out, before;
	struct config_left_out left[4];
	(void)state;

	load(&cfg, "{\"routes\": [{\"name\": \"a\", \"targets\": [\"localhost:5090\", "
		   "\"127.0.0.2:5090\", \"127.0.0.3:5090\"]}, {\"name\": \"b\", \"target\": "
		   "\"127.0.0.1:5093\"}, {\"name\": \"c\", \"targets\": [\"127.0.0.1:5094\", "
		   "\"127.0.0.1:5095\"]}]}");
	/* a's third moved onto its first's address (localhost: 127.0.0.1) */
	struct config_target *a = cfg.routes[0].targets;
	memcpy(&a[2].addr, &a[0].addr, sizeof(a[2].addr));
	/* c's second moved onto b's address: another route's, no matter */
	struct config_target *c1 = &cfg.routes[2].targets[1];
	memcpy(&c1->addr, &cfg.routes[1].targets[0].addr, sizeof(c1->addr));
	memcpy(&before, &cfg, sizeof(before));

	assert_int_equal(config_in_service(&cfg, &out, left, 4), 1);
	assert_memory_equal(&cfg, &before, sizeof(before));
	assert_int_equal(out.routes[0].ntargets, 2);
	assert_string_equal(out.routes[0].targets[0].text, "localhost:5090");
	assert_string_equal(out.routes[0].targets[1].text, "127.0.0.2:5090");
	assert_int_not_equal(out.routes[0].tag, cfg.routes[0].tag);
	assert_ptr_equal(left[0].route, &cfg.routes[0]);
	assert_ptr_equal(left[0].target, &a[2]);
	assert_ptr_equal(left[0].same, &a[0]);
	assert_int_equal(out.routes[1].ntargets, 1);
	assert_int_equal(out.routes[1].tag, cfg.routes[1].tag);
	assert_int_equal(out.routes[2].ntargets, 2);
	assert_int_equal(out.routes[2].tag, cfg.routes[2].tag);

	/* a short list still counts them all */
	memcpy(&a[1].addr, &a[0].addr, sizeof(a[1].addr));
	assert_int_equal(config_in_service(&cfg, &out, left, 1), 2);
	assert_ptr_equal(left[0].target, &a[1]);
	assert_int_equal(out.routes[0].ntargets, 1);

	/* two names whose addresses no longer clash: both in service again */
	load(&cfg, "{\"routes\": [{\"targets\": [\"localhost:5090\", \"127.0.0.2:5090\"]}]}");
	assert_int_equal(config_in_service(&cfg, &out, NULL, 0), 0);
	assert_int_equal(out.routes[0].ntargets, 2);
	assert_int_equal(out.routes[0].tag, cfg.routes[0].tag);
}

/* config_in_service and a name whose SRV records said "." at the last
 * refresh (no_service: the entry holds the name, no address): none of it
 * goes into service, and it is listed without an earlier target; a route
 * left with none gets a new tag and prints as "targets": [] (sipshardctl
 * config shows what is in service). The configuration given keeps it. */
static void test_in_service_no_service(void **state)
{
	static struct config out, before;
	struct config_left_out left[4];
	(void)state;

	load(&cfg, "{\"routes\": [{\"name\": \"b\", \"target\": \"127.0.0.1:5093\"}, "
		   "{\"name\": \"c\", \"targets\": [\"127.0.0.1:5094\", \"127.0.0.1:5095\"]}]}");
	struct config_target *dot = &cfg.routes[1].targets[1];
	snprintf(dot->domain, sizeof(dot->domain), "carrier.invalid");
	memcpy(dot->text, dot->domain, sizeof(dot->text));
	dot->no_service = true;
	memset(&dot->addr, 0, sizeof(dot->addr));
	dot->addr_len = 0;
	memcpy(&before, &cfg, sizeof(before));

	assert_int_equal(config_in_service(&cfg, &out, left, 4), 1);
	assert_memory_equal(&cfg, &before, sizeof(before));
	assert_int_equal(out.routes[1].ntargets, 1);
	assert_string_equal(out.routes[1].targets[0].text, "127.0.0.1:5094");
	assert_int_not_equal(out.routes[1].tag, cfg.routes[1].tag);
	assert_ptr_equal(left[0].route, &cfg.routes[1]);
	assert_ptr_equal(left[0].target, dot);
	assert_null(left[0].same);
	assert_int_equal(out.routes[0].tag, cfg.routes[0].tag);

	/* route b of one such name: none in service */
	cfg.routes[0].targets[0] = *dot;
	assert_int_equal(config_in_service(&cfg, &out, left, 4), 2);
	assert_int_equal(out.routes[0].ntargets, 0);
	assert_int_not_equal(out.routes[0].tag, cfg.routes[0].tag);
	assert_ptr_equal(left[0].target, &cfg.routes[0].targets[0]);
	json_t *o = config_to_object(&out);
	assert_non_null(o);
	json_t *r0 = json_array_get(json_object_get(o, "routes"), 0);
	assert_null(json_object_get(r0, "target"));
	assert_non_null(json_object_get(r0, "targets"));
	assert_int_equal(json_array_size(json_object_get(r0, "targets")), 0);
	json_decref(o);
	/* printed as written, the configuration names it */
	o = config_to_object(&cfg);
	assert_non_null(o);
	r0 = json_array_get(json_object_get(o, "routes"), 0);
	assert_string_equal(json_string_value(json_object_get(r0, "target")), "carrier.invalid");
	json_decref(o);
}

static void test_derived_values(void **state)
{
	(void)state;
	/* the long-head pool follows capacity.transactions_per_shard unless given */
	load(&cfg, "{\"routes\": [{\"target\": \"127.0.0.1:5080\"}]}");
	assert_int_equal(cfg.capacity.long_heads_per_shard, 1024);
	load(&cfg, "{\"capacity\": {\"transactions_per_shard\": 100}, \"routes\": [{\"target\": "
		   "\"127.0.0.1:5080\"}]}");
	assert_int_equal(cfg.capacity.long_heads_per_shard, 2);
	assert_round_trip(&cfg);
	load(&cfg, "{\"capacity\": {\"transactions_per_shard\": 100, \"long_heads_per_shard\": 0},"
		   " \"routes\": [{\"target\": \"127.0.0.1:5080\"}]}");
	assert_int_equal(cfg.capacity.long_heads_per_shard, 0);
	load(&cfg, "{\"capacity\": {\"long_heads_per_shard\": 65536}, \"routes\": [{\"target\": "
		   "\"127.0.0.1:5080\"}]}");
	assert_int_equal(cfg.capacity.long_heads_per_shard, 65536);
	/* advertise without a port takes the listen port, not SIP's 5060 */
	load(&cfg, "{\"listen\": \"127.0.0.1:15060\", \"advertise\": \"SBC.example.com\","
		   " \"routes\": [{\"target\": \"127.0.0.1:5080\"}]}");
	assert_string_equal(cfg.advertise, "SBC.example.com:15060");
	load(&cfg, "{\"listen\": \"[::1]:15060\", \"advertise\": \"[2001:db8::7]\","
		   " \"routes\": [{\"target\": \"[::1]:5080\"}]}");
	assert_string_equal(cfg.advertise, "[2001:db8::7]:15060");
	assert_int_equal(cfg.listen_addr.ss_family, AF_INET6);
	assert_int_equal(cfg.routes[0].targets[0].addr.ss_family, AF_INET6);
	load(&cfg, "{\"advertise\": \"192.0.2.10:5999\", \"routes\": [{\"target\": "
		   "\"127.0.0.1:5080\"}]}");
	assert_string_equal(cfg.advertise, "192.0.2.10:5999");
	/* a wildcard listen is fine with an advertise; [::] takes both families */
	load(&cfg, "{\"listen\": \"[::]:5060\", \"advertise\": \"sbc.example.com\", \"routes\": "
		   "[{\"target\": \"127.0.0.1:5080\"}, {\"target\": \"[::1]:5080\"}]}");
	assert_int_equal(cfg.nroutes, 2);
	assert_string_equal(cfg.routes[1].name, "route1");
	/* the socket follows run_dir unless given; a trailing slash is dropped */
	load(&cfg,
	     "{\"run_dir\": \"/var/run/sbc1/\", \"routes\": [{\"target\": \"127.0.0.1:5080\"}]}");
	assert_string_equal(cfg.run_dir, "/var/run/sbc1");
	assert_string_equal(cfg.management_socket, "/var/run/sbc1/sipshardd.sock");
	load(&cfg, "{\"run_dir\": \"/var/run/sbc1\", \"management_socket\": null,"
		   " \"cdr_file\": \"/var/log/cdr.jsonl\", \"routes\": [{\"target\": "
		   "\"127.0.0.1:5080\"}]}");
	assert_string_equal(cfg.management_socket, "");
	assert_string_equal(cfg.cdr_file, "/var/log/cdr.jsonl");
	json_t *j = printed(&cfg);
	assert_true(json_is_null(json_object_get(j, "management_socket")));
	json_decref(j);
	assert_round_trip(&cfg);
	/* a bare IPv6 domain is kept in brackets, as a Request-URI carries it */
	load(&cfg, "{\"routes\": [{\"match\": {\"domain\": \"2001:db8::1\", \"source\": "
		   "\"2001:db8::/32\"}, \"target\": \"127.0.0.1:5080\"}]}");
	assert_string_equal(cfg.routes[0].domain, "[2001:db8::1]");
	assert_round_trip(&cfg);
	/* out_of_dialog entries replace the built-in ones in place */
	load(&cfg, "{\"routes\": [{\"target\": \"127.0.0.1:5080\"}], \"out_of_dialog\": "
		   "{\"REGISTER\": 200, \"default\": 501}}");
	assert_int_equal(cfg.nood, 5);
	assert_string_equal(cfg.ood[1].method, "REGISTER");
	assert_int_equal(cfg.ood[1].status, 200);
	assert_int_equal(cfg.ood_default_status, 501);
}

/* A document that must fail with exactly this message. */
struct bad {
	const char *json, *msg;
};

/* {"routes": [...]} is added in front of each case that has no "routes" of
 * its own, so only the key under test is wrong. */
static const struct bad bad_cases[] = {
    /* unknown keys, at every depth */
    {"{\"bogus\": 1}", "bogus: unknown key"},
    {"{\"limits\": {\"max_call\": 1}}", "limits.max_call: unknown key"},
    {"{\"capacity\": {\"dialogs\": 1}}", "capacity.dialogs: unknown key"},
    {"{\"timers\": {\"t3_ms\": 1}}", "timers.t3_ms: unknown key"},
    {"{\"acl\": {\"rules\": [{\"action\": \"deny\", \"cidr\": \"10.0.0.0/8\"}, {\"action\": "
     "\"deny\", \"cidr\": \"10.0.0.0/8\", \"port\": 5}]}}",
     "acl.rules[1].port: unknown key"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:5\"}, {\"target\": \"10.0.0.1:5\", \"match\": "
     "{\"user\": \"1\"}}]}",
     "routes[1].match.user: unknown key"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:5\", \"weight\": 1}]}",
     "routes[0].weight: unknown key"},
    {"{\"Listen\": \"127.0.0.1:5060\"}", "Listen: unknown key"},
    {"{\"bad\\nkey\": 1}", "bad?key: unknown key"},
    /* wrong types */
    {"[1, 2]", "(top level): expected an object, got an array"},
    {"{\"limits\": {\"max_calls\": \"many\"}}",
     "limits.max_calls: expected an integer from 1 to 2147483647, got a string"},
    {"{\"limits\": {\"max_calls\": 1.5}}",
     "limits.max_calls: expected an integer from 1 to 2147483647, got a number"},
    {"{\"limits\": []}", "limits: expected an object, got an array"},
    {"{\"bpf\": 1}", "bpf: expected true or false, got an integer"},
    {"{\"io_uring\": \"yes\"}", "io_uring: expected true or false, got a string"},
    {"{\"persist_dialogs\": \"no\"}", "persist_dialogs: expected true or false, got a string"},
    {"{\"rewrite_refer_to\": \"yes\"}", "rewrite_refer_to: expected true or false, got a string"},
    {"{\"rewrite_refer_to\": 1}", "rewrite_refer_to: expected true or false, got an integer"},
    {"{\"rewrite_refer_to\": null}", "rewrite_refer_to: expected true or false, got null"},
    {"{\"listen\": 5060}", "listen: expected a string, got an integer"},
    {"{\"routes\": {\"target\": \"10.0.0.1:5\"}}", "routes: expected an array, got an object"},
    {"{\"routes\": [\"10.0.0.1:5\"]}", "routes[0]: expected an object, got a string"},
    {"{\"acl\": {\"rules\": [{\"action\": true, \"cidr\": \"::/0\"}]}}",
     "acl.rules[0].action: expected \"allow\" or \"deny\", got a boolean"},
    {"{\"log_level\": \"verbose\"}",
     "log_level: expected error, warn, info or debug, got \"verbose\""},
    {"{\"run_dir\": null}", "run_dir: expected an absolute path, got null"},
    {"{\"cdr_file\": 1}", "cdr_file: expected an absolute path or null, got an integer"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:5\", \"match\": {\"domain\": 7}}]}",
     "routes[0].match.domain: expected a host name, IP address or null, got an integer"},
    /* bad CIDRs */
    {"{\"routes\": [{\"target\": \"10.0.0.1:5060\", \"match\": {\"source\": \"10.0.0.0/33\"}}]}",
     "routes[0].match.source: expected a CIDR such as \"10.0.0.0/8\" or \"::1/128\", got "
     "\"10.0.0.0/33\""},
    {"{\"acl\": {\"rules\": [{\"action\": \"deny\", \"cidr\": \"::/129\"}]}}",
     "acl.rules[0].cidr: expected a CIDR such as \"10.0.0.0/8\" or \"::1/128\", got \"::/129\""},
    {"{\"acl\": {\"rules\": [{\"action\": \"deny\", \"cidr\": \"10.0.0/8\"}]}}",
     "acl.rules[0].cidr: expected a CIDR such as \"10.0.0.0/8\" or \"::1/128\", got \"10.0.0/8\""},
    {"{\"acl\": {\"rules\": [{\"action\": \"deny\", \"cidr\": \"10.0.0.0/\"}]}}",
     "acl.rules[0].cidr: expected a CIDR such as \"10.0.0.0/8\" or \"::1/128\", got \"10.0.0.0/\""},
    {"{\"acl\": {\"rules\": [{\"action\": \"deny\", \"cidr\": \"10.0.0.0/+8\"}]}}",
     "acl.rules[0].cidr: expected a CIDR such as \"10.0.0.0/8\" or \"::1/128\", got "
     "\"10.0.0.0/+8\""},
    {"{\"acl\": {\"rules\": [{\"action\": \"deny\", \"cidr\": \"example.com/8\"}]}}",
     "acl.rules[0].cidr: expected a CIDR such as \"10.0.0.0/8\" or \"::1/128\", got "
     "\"example.com/8\""},
    {"{\"acl\": {\"rules\": [{\"action\": \"deny\", \"cidr\": \"10.1.2.3/8\"}]}}",
     "acl.rules[0].cidr: host bits set in \"10.1.2.3/8\" (the network is 10.0.0.0/8)"},
    {"{\"acl\": {\"rules\": [{\"action\": \"deny\", \"cidr\": \"2001:db8::1/64\"}]}}",
     "acl.rules[0].cidr: host bits set in \"2001:db8::1/64\" (the network is 2001:db8::/64)"},
    {"{\"acl\": {\"rules\": [{\"action\": \"deny\"}]}}", "acl.rules[0]: missing \"cidr\""},
    {"{\"acl\": {\"rules\": [{\"cidr\": \"::1\"}]}}", "acl.rules[0]: missing \"action\""},
    /* bad addresses */
    {"{\"listen\": \"127.0.0.1\"}", "listen: expected \"IP:port\", got \"127.0.0.1\""},
    {"{\"listen\": \"example.com:5060\"}",
     "listen: \"example.com\" is not a numeric IPv4 or IPv6 address"},
    {"{\"listen\": \"127.0.0.1:+5060\"}", "listen: port must be 1-65535 in \"127.0.0.1:+5060\""},
    {"{\"listen\": \"127.0.0.1:65536\"}", "listen: port must be 1-65535 in \"127.0.0.1:65536\""},
    {"{\"listen\": \"::1:5060\"}",
     "listen: an IPv6 address needs brackets: expected \"[IPv6]:port\", got \"::1:5060\""},
    {"{\"listen\": \"[::1]\"}", "listen: expected \"[IPv6]:port\", got \"[::1]\""},
    {"{\"listen\": \"[::g]:5060\"}", "listen: \"::g\" is not a numeric IPv6 address"},
    /* a zone: said so, not "not a numeric IPv6 address" */
    {"{\"listen\": \"[fe80::1%lo]:5060\"}",
     "listen: \"fe80::1%lo\": scope ids (a link-local address with %zone) are not supported; "
     "give a global or unique-local IPv6 address"},
    {"{\"listen\": \"[::1]:5060\", \"routes\": [{\"target\": \"[fe80::1%2]:5060\"}]}",
     "routes[0].target: \"fe80::1%2\": scope ids (a link-local address with %zone) are not "
     "supported; give a global or unique-local IPv6 address"},
    {"{\"listen\": \"[::1]:5060\", \"metrics_listen\": \"[fe80::1%lo]:9100\"}",
     "metrics_listen: \"fe80::1%lo\": scope ids (a link-local address with %zone) are not "
     "supported; give a global or unique-local IPv6 address"},
    {"{\"listen\": \"[::1]:5060\", \"advertise\": \"[fe80::1%lo]:5060\"}",
     "advertise: \"[fe80::1%lo]:5060\": scope ids (a link-local address with %zone) are not "
     "supported; give a global or unique-local IPv6 address"},
    {"{\"listen\": \"0.0.0.0:5060\"}",
     "advertise: required when listen is a wildcard address (\"0.0.0.0:5060\")"},
    /* the IPv4 wildcard written IPv4-mapped is one too: a socket bound to it
     * takes IPv4 datagrams to any address of the host */
    {"{\"listen\": \"[::ffff:0.0.0.0]:5060\"}",
     "advertise: required when listen is a wildcard address (\"[::ffff:0.0.0.0]:5060\")"},
    {"{\"listen\": \"[::ffff:0:0]:5060\"}",
     "advertise: required when listen is a wildcard address (\"[::ffff:0:0]:5060\")"},
    {"{\"routes\": []}", "routes: at least one route is required"},
    {"{\"routes\": [{\"name\": \"x\"}]}", "routes[0]: missing \"target\" (or \"targets\")"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"targets\": [\"10.0.0.1:2\"]}]}",
     "routes[0]: \"target\" and \"targets\" both given: use one"},
    {"{\"routes\": [{\"targets\": []}]}", "routes[0].targets: at least one target is required"},
    {"{\"routes\": [{\"targets\": \"10.0.0.1:1\"}]}",
     "routes[0].targets: expected an array, got a string"},
    {"{\"routes\": [{\"targets\": [\"10.0.0.1:1\", \"10.0.0.1:2\", \"10.0.0.1:3\", "
     "\"10.0.0.1:4\", \"10.0.0.1:5\", \"10.0.0.1:6\", \"10.0.0.1:7\", \"10.0.0.1:8\", "
     "\"10.0.0.1:9\"]}]}",
     "routes[0].targets: at most 8 targets, got 9"},
    {"{\"routes\": [{\"targets\": [\"10.0.0.1:1\", \"10.0.0.1:x\"]}]}",
     "routes[0].targets[1]: port must be 1-65535 in \"10.0.0.1:x\""},
    {"{\"routes\": [{\"targets\": [\"10.0.0.1:1\", \"10.0.0.1:1\"]}]}",
     "routes[0].targets[1]: \"10.0.0.1:1\" is already target 0 of this route"},
    /* a name without a port: its SRV records (found at load, after these checks) */
    {"{\"routes\": [{\"targets\": [\"carrier.invalid\", \"10.0.0.1:1\", \"Carrier.invalid\"]}]}",
     "routes[0].targets[2]: \"Carrier.invalid\" is already target 0 of this route"},
    {"{\"routes\": [{\"select\": \"round_robin\", \"targets\": [\"10.0.0.1:1\", "
     "\"carrier.invalid\"]}]}",
     "routes[0].targets[1]: a name without a port is shared out by its SRV records' priorities "
     "and weights: not with \"select\": \"round_robin\""},
    {"{\"routes\": [{\"target\": {\"address\": \"carrier.invalid\", \"weight\": 2}}]}",
     "routes[0].target.weight: a name without a port takes its SRV records' weights"},
    {"{\"routes\": [{\"target\": \"10.0.0.1\"}]}",
     "routes[0].target: expected \"IP:port\", got \"10.0.0.1\""},
    {"{\"routes\": [{\"targets\": [\"[2001:db8::1]:5080\"]}]}",
     "routes[0].targets[0]: an IPv6 target cannot be reached from listen \"127.0.0.1:5060\" "
     "(IPv4)"},
    /* named by its index as written, past a name without a port (whose
     * records would come before it) */
    {"{\"routes\": [{\"targets\": [\"carrier.invalid\", \"[2001:db8::1]:5080\"]}]}",
     "routes[0].targets[1]: an IPv6 target cannot be reached from listen \"127.0.0.1:5060\" "
     "(IPv4)"},
    {"{\"routes\": [{\"targets\": [\"10.0.0.1:1\", \"[2001:db8::1]:5080\"]}]}",
     "routes[0].targets[1]: an IPv6 target cannot be reached from listen \"127.0.0.1:5060\" "
     "(IPv4)"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"failover_on\": [503, 302]}]}",
     "routes[0].failover_on[1]: expected an integer from 400 to 699, got 302"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"failover_on\": 503}]}",
     "routes[0].failover_on: expected an array, got an integer"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"failover_ms\": 50}]}",
     "routes[0].failover_ms: expected an integer from 100 to 600000, got 50"},
    {"{\"routes\": [{\"targets\": [{\"max_calls\": 5}]}]}",
     "routes[0].targets[0]: missing \"address\""},
    {"{\"routes\": [{\"targets\": [{\"address\": \"10.0.0.1:1\", \"max_call\": 5}]}]}",
     "routes[0].targets[0].max_call: unknown key"},
    {"{\"routes\": [{\"target\": {\"address\": \"10.0.0.1:1\", \"max_calls\": -5}}]}",
     "routes[0].target.max_calls: expected an integer from 0 to 2147483647, got -5"},
    {"{\"routes\": [{\"targets\": [5060]}]}",
     "routes[0].targets[0]: expected \"IP:port\" or {\"address\": \"IP:port\", \"max_calls\": N, "
     "\"max_cps\": R, \"weight\": W}, got an integer"},
    {"{\"routes\": [{\"targets\": [\"10.0.0.1:1\", {\"address\": \"10.0.0.2:1\", \"weight\": "
     "3}]}]}",
     "routes[0].targets[1].weight: calls are shared by weight only with \"select\": "
     "\"round_robin\""},
    {"{\"routes\": [{\"target\": {\"address\": \"10.0.0.2:1\", \"weight\": 2}}]}",
     "routes[0].target.weight: calls are shared by weight only with \"select\": \"round_robin\""},
    {"{\"routes\": [{\"select\": \"round_robin\", \"targets\": [{\"address\": \"10.0.0.2:1\","
     " \"weight\": 0}]}]}",
     "routes[0].targets[0].weight: expected an integer from 1 to 1000, got 0"},
    {"{\"routes\": [{\"targets\": [{\"address\": \"10.0.0.1:1\", \"max_cps\": 1000001}]}]}",
     "routes[0].targets[0].max_cps: expected an integer from 0 to 1000000, got 1000001"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"down_s\": -1}]}",
     "routes[0].down_s: expected an integer from 0 to 86400, got -1"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"rewrite\": {\"prefix\": \"00 44\"}}]}",
     "routes[0].rewrite.prefix: expected the start of a Request-URI user: letters, digits, "
     "-_.!~*'()&=+$,;?/# and %XX escapes (RFC 3261 25.1), got \"00 44\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"rewrite\": {\"strip\": 65}}]}",
     "routes[0].rewrite.strip: expected an integer from 0 to 64, got 65"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"rewrite\": {\"add\": \"1\"}}]}",
     "routes[0].rewrite.add: unknown key"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"select\": \"random\"}]}",
     "routes[0].select: expected \"order\" or \"round_robin\", got \"random\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"probe_s\": 3601}]}",
     "routes[0].probe_s: expected an integer from 0 to 3600, got 3601"},
    {"{\"routes\": [{\"targets\": [\"localhost:5090\", \"127.0.0.1:5090\"]}]}",
     "routes[0].targets[1]: \"127.0.0.1:5090\" is 127.0.0.1:5090, already target 0 of this "
     "route (\"localhost:5090\")"},
    {"{\"dns_refresh_s\": 86401}", "dns_refresh_s: expected an integer from 0 to 86400, got 86401"},
    {"{\"routes\": [{\"target\": \"localhost:0\"}]}",
     "routes[0].target: port must be 1-65535 in \"localhost:0\""},
    {"{\"routes\": [{\"target\": \"10.0.0.300:5060\"}]}",
     "routes[0].target: \"10.0.0.300\" is not a numeric IPv4 or IPv6 address"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"aor\": \"sip:a@b\"}]}",
     "registrations[0]: missing \"registrar\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"name\": \"a\\tb\", "
     "\"registrar\": \"10.0.0.1:5060\", \"aor\": \"sip:a@b\"}]}",
     "registrations[0].name: control character in \"a?b\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\"}]}",
     "registrations[0]: missing \"aor\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"sip:@b\"}]}",
     "registrations[0].aor: expected \"sip:user@domain\" (a domain or address, an optional :port, "
     "a user of RFC 3261 URI characters), got \"sip:@b\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"tel:+15551234\"}]}",
     "registrations[0].aor: expected \"sip:user@domain\" (a domain or address, an optional :port, "
     "a user of RFC 3261 URI characters), got \"tel:+15551234\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"sip:a@b;x=y\"}]}",
     "registrations[0].aor: expected \"sip:user@domain\" (a domain or address, an optional :port, "
     "a user of RFC 3261 URI characters), got \"sip:a@b;x=y\""},
    /* a password: the Contact takes the user up to the '@' */
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"sip:a:pw@b\"}]}",
     "registrations[0].aor: expected \"sip:user@domain\" (a domain or address, an optional :port, "
     "a user of RFC 3261 URI characters), got \"sip:a:pw@b\""},
    /* each of these passed once, then was refused by the parser in every REGISTER */
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"sip:alice@example.com:\"}]}",
     "registrations[0].aor: expected \"sip:user@domain\" (a domain or address, an optional :port, "
     "a user of RFC 3261 URI characters), got \"sip:alice@example.com:\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"sip:alice@example.com:99999\"}]}",
     "registrations[0].aor: expected \"sip:user@domain\" (a domain or address, an optional :port, "
     "a user of RFC 3261 URI characters), got \"sip:alice@example.com:99999\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"sip:alice@exa!mple\"}]}",
     "registrations[0].aor: expected \"sip:user@domain\" (a domain or address, an optional :port, "
     "a user of RFC 3261 URI characters), got \"sip:alice@exa!mple\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"sip:alice@[::1\"}]}",
     "registrations[0].aor: expected \"sip:user@domain\" (a domain or address, an optional :port, "
     "a user of RFC 3261 URI characters), got \"sip:alice@[::1\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"sip:alice@-bad-.com\"}]}",
     "registrations[0].aor: expected \"sip:user@domain\" (a domain or address, an optional :port, "
     "a user of RFC 3261 URI characters), got \"sip:alice@-bad-.com\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"sip:al[ce@example.com\"}]}",
     "registrations[0].aor: expected \"sip:user@domain\" (a domain or address, an optional :port, "
     "a user of RFC 3261 URI characters), got \"sip:al[ce@example.com\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"sip:al%zzce@example.com\"}]}",
     "registrations[0].aor: expected \"sip:user@domain\" (a domain or address, an optional :port, "
     "a user of RFC 3261 URI characters), got \"sip:al%zzce@example.com\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"sip:a@b\", \"expires_s\": 59}]}",
     "registrations[0].expires_s: expected an integer from 60 to 86400, got 59"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"sip:a@b\", \"retry_s\": 0}]}",
     "registrations[0].retry_s: expected an integer from 1 to 3600, got 0"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"name\": \"x\", "
     "\"registrar\": \"10.0.0.1:5060\", \"aor\": \"sip:a@b\"}, {\"name\": \"x\", \"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"sip:c@b\"}]}",
     "registrations[1].name: \"x\" is already the name of registrations[0]"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"name\": "
     "\"registration1\", \"registrar\": \"10.0.0.1:5060\", \"aor\": \"sip:a@b\"}, "
     "{\"registrar\": \"10.0.0.1:5060\", \"aor\": \"sip:c@b\"}]}",
     "registrations[1]: its default name \"registration1\" is already the name of "
     "registrations[0]: give either a \"name\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"[::1]:5060\", \"aor\": \"sip:a@b\"}]}",
     "registrations[0].registrar: an IPv6 registrar cannot be reached from listen "
     "\"127.0.0.1:5060\" (IPv4)"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"10.0.0.1:5060\", \"aor\": \"sip:a@b\", \"auth\": {\"username\": \"u\"}}]}",
     "registrations[0].auth: missing \"password\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": {}}",
     "registrations: expected an array, got an object"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"auth\": {\"password\": \"x\"}}]}",
     "routes[0].auth: missing \"username\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"auth\": {\"username\": \"u\"}}]}",
     "routes[0].auth: missing \"password\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"auth\": {\"username\": \"\"}}]}",
     "routes[0].auth.username: must not be empty"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"auth\": {\"username\": \"a\\\"b\"}}]}",
     "routes[0].auth.username: control character, '\"' or '\\' in \"a\"b\": it is sent inside a "
     "quoted string"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"auth\": {\"username\": \"u\", \"password\": "
     "\"p\", \"realm\": 7}}]}",
     "routes[0].auth.realm: expected a realm or a list of realms, got an integer"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"auth\": {\"username\": \"u\", \"password\": "
     "\"p\", \"realm\": [\"a\", \"\"]}}]}",
     "routes[0].auth.realm[1]: must not be empty"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"auth\": {\"username\": \"u\", \"password\": "
     "\"p\", \"realm\": [\"a\", \"b\", \"a\"]}}]}",
     "routes[0].auth.realm[2]: \"a\" is in the list already"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"auth\": {\"username\": \"u\", \"password\": "
     "\"p\", \"realm\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}}]}",
     "routes[0].auth.realm: at most 4 realms, got 5"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"auth\": {\"username\": \"u\", \"password\": "
     "\"p\", \"realm\": [7]}}]}",
     "routes[0].auth.realm[0]: expected a string, got an integer"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"auth\": {\"username\": \"u\", \"password\": "
     "\"p\", \"realm\": [\"a\\\"b\"]}}]}",
     "routes[0].auth.realm[0]: control character, '\"' or '\\' in \"a\"b\": it is sent inside a "
     "quoted string"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"auth\": {\"user\": \"u\"}}]}",
     "routes[0].auth.user: unknown key"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"auth\": \"u:p\"}]}",
     "routes[0].auth: expected an object, got a string"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"keepalive_s\": -1}]}",
     "routes[0].keepalive_s: expected an integer from 0 to 3600, got -1"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:5060\"}, {\"target\": \"10.0.0.1:0\"}]}",
     "routes[1].target: port must be 1-65535 in \"10.0.0.1:0\""},
    {"{\"routes\": [{\"target\": \"0.0.0.0:5080\"}]}",
     "routes[0].target: \"0.0.0.0:5080\" is a wildcard address, not a destination"},
    /* ... and so is it IPv4-mapped: unmapped, it is 0.0.0.0, this host */
    {"{\"routes\": [{\"target\": \"[::ffff:0.0.0.0]:5080\"}]}",
     "routes[0].target: \"[::ffff:0.0.0.0]:5080\" is a wildcard address, not a destination"},
    {"{\"routes\": [{\"targets\": [\"10.0.0.1:5080\", \"[::ffff:0:0]:5080\"]}]}",
     "routes[0].targets[1]: \"[::ffff:0:0]:5080\" is a wildcard address, not a destination"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [{\"registrar\": "
     "\"[::ffff:0.0.0.0]:5099\", \"aor\": \"sip:a@b\"}]}",
     "registrations[0].registrar: \"[::ffff:0.0.0.0]:5099\" is a wildcard address, not a "
     "destination"},
    /* an IPv4-mapped wildcard listen is bound for IPv4 peers only, as [::] is not */
    {"{\"listen\": \"[::ffff:0.0.0.0]:5060\", \"advertise\": \"sbc.example.com\", "
     "\"routes\": [{\"target\": \"[2001:db8::1]:5080\"}]}",
     "routes[0].target: an IPv6 target cannot be reached from listen \"[::ffff:0.0.0.0]:5060\" "
     "(IPv4)"},
    {"{\"routes\": [{\"target\": \"[2001:db8::1]:5080\"}]}",
     "routes[0].target: an IPv6 target cannot be reached from listen \"127.0.0.1:5060\" (IPv4)"},
    /* a listen written IPv4-mapped is bound for IPv4 peers only */
    {"{\"listen\": \"[::ffff:127.0.0.1]:5060\", \"routes\": [{\"target\": "
     "\"[2001:db8::1]:5080\"}]}",
     "routes[0].target: an IPv6 target cannot be reached from listen \"[::ffff:127.0.0.1]:5060\" "
     "(IPv4)"},
    {"{\"routes\": [{\"name\": \"a\", \"target\": \"10.0.0.1:1\"}, {\"name\": \"a\", "
     "\"target\": \"10.0.0.1:2\"}]}",
     "routes[1].name: \"a\" is already the name of routes[0]"},
    /* a route without a name takes "routeN": the clash is with that, not a key */
    {"{\"routes\": [{\"name\": \"route1\", \"target\": \"10.0.0.1:1\"}, {\"target\": "
     "\"10.0.0.1:2\"}]}",
     "routes[1]: its default name \"route1\" is already the name of routes[0]: give either "
     "a \"name\""},
    {"{\"routes\": [{\"name\": \"\", \"target\": \"10.0.0.1:1\"}]}",
     "routes[0].name: must not be empty"},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"match\": {\"user_prefix\": \"a b\"}}]}",
     "routes[0].match.user_prefix: expected the start of a Request-URI user: letters, "
     "digits, -_.!~*'()&=+$,;?/# and %XX escapes (RFC 3261 25.1), got \"a b\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"match\": {\"domain\": \"-bad.example\"}}]}",
     "routes[0].match.domain: expected a host name or IP address such as \"example.com\", got "
     "\"-bad.example\""},
    {"{\"routes\": [{\"target\": \"10.0.0.1:1\", \"match\": {\"domain\": \"10.0.0.300\"}}]}",
     "routes[0].match.domain: expected a host name or IP address such as \"example.com\", got "
     "\"10.0.0.300\""},
    {"{\"advertise\": \"sbc.example.com\\r\\nX-Evil: 1\"}",
     "advertise: expected \"host\" or \"host:port\" (an IPv6 address in brackets), got "
     "\"sbc.example.com??X-Evil: 1\""},
    {"{\"advertise\": \"2001:db8::1\"}",
     "advertise: expected \"host\" or \"host:port\" (an IPv6 address in brackets), got "
     "\"2001:db8::1\""},
    /* a wildcard is where sipshardd listens, not an address a peer can send to */
    {"{\"advertise\": \"0.0.0.0\"}",
     "advertise: \"0.0.0.0\" is a wildcard address: peers cannot send to it (give the "
     "address or name they reach this host at)"},
    {"{\"listen\": \"[::]:5060\", \"advertise\": \"[::]:5070\"}",
     "advertise: \"[::]\" is a wildcard address: peers cannot send to it (give the "
     "address or name they reach this host at)"},
    {"{\"advertise\": \"[::ffff:0.0.0.0]\"}",
     "advertise: \"[::ffff:0.0.0.0]\" is a wildcard address: peers cannot send to it (give "
     "the address or name they reach this host at)"},
    {"{\"listen\": \"[::]:5060\", \"advertise\": \"[::ffff:0:0]:5070\"}",
     "advertise: \"[::ffff:0:0]\" is a wildcard address: peers cannot send to it (give the "
     "address or name they reach this host at)"},
    {"{\"advertise\": \"sbc.example.com:0\"}",
     "advertise: expected \"host\" or \"host:port\" (an IPv6 address in brackets), got "
     "\"sbc.example.com:0\""},
    /* out-of-range numbers */
    {"{\"workers\": 65}", "workers: expected an integer from 0 to 64, got 65"},
    {"{\"workers\": -1}", "workers: expected an integer from 0 to 64, got -1"},
    {"{\"limits\": {\"max_calls\": 0}}",
     "limits.max_calls: expected an integer from 1 to 2147483647, got 0"},
    {"{\"limits\": {\"max_calls\": 4294967296}}",
     "limits.max_calls: expected an integer from 1 to 2147483647, got 4294967296"},
    {"{\"limits\": {\"rate_sources\": 8}}",
     "limits.rate_sources: expected an integer from 16 to 1048576, got 8"},
    {"{\"capacity\": {\"dialogs_per_shard\": 0}}",
     "capacity.dialogs_per_shard: expected an integer from 16 to 16777216, got 0"},
    {"{\"capacity\": {\"long_heads_per_shard\": -1}}",
     "capacity.long_heads_per_shard: expected an integer from 0 to 16777216, got -1"},
    {"{\"capacity\": {\"transactions_per_shard\": 100, \"long_heads_per_shard\": 101}}",
     "capacity.long_heads_per_shard: must not exceed capacity.transactions_per_shard (100): a "
     "transaction keeps one long head at most"},
    {"{\"timers\": {\"t1_ms\": 5}}", "timers.t1_ms: expected an integer from 10 to 60000, got 5"},
    {"{\"timers\": {\"no_answer_s\": 0}}",
     "timers.no_answer_s: expected an integer from 1 to 86400, got 0"},
    {"{\"timers\": {\"session_timer\": 1}}",
     "timers.session_timer: expected true or false, got an integer"},
    {"{\"timers\": {\"session_expires_s\": 89}}",
     "timers.session_expires_s: expected 0 (never) or at least 90 (RFC 4028's Min-SE), got 89"},
    {"{\"timers\": {\"session_expires_s\": 86401}}",
     "timers.session_expires_s: expected an integer from 0 to 86400, got 86401"},
    {"{\"timers\": {\"min_se_s\": 60}}",
     "timers.min_se_s: expected 0 (none) or at least 90 (RFC 4028's smallest Min-SE), got 60"},
    {"{\"timers\": {\"session_expires_s\": 300, \"min_se_s\": 600}}",
     "timers.session_expires_s: must not be smaller than timers.min_se_s (600)"},
    {"{\"timers\": {\"dialog_keepalive_s\": 86401}}",
     "timers.dialog_keepalive_s: expected an integer from 0 to 86400, got 86401"},
    {"{\"timers\": {\"dialog_keepalive_misses\": 0}}",
     "timers.dialog_keepalive_misses: expected an integer from 1 to 100, got 0"},
    {"{\"timers\": {\"dialog_keepalive_misses\": 101}}",
     "timers.dialog_keepalive_misses: expected an integer from 1 to 100, got 101"},
    {"{\"timers\": {\"t1_ms\": 900, \"t2_ms\": 800}}",
     "timers.t2_ms: must not be smaller than timers.t1_ms"},
    {"{\"tx_buffer_size\": 1000}",
     "tx_buffer_size: expected an integer from 1500 to 65535, got 1000"},
    {"{\"no_route_status\": 200}", "no_route_status: expected an integer from 400 to 699, got 200"},
    {"{\"no_route_status\": 700}", "no_route_status: expected an integer from 400 to 699, got 700"},
    {"{\"out_of_dialog\": {\"REGISTER\": 302}}",
     "out_of_dialog.REGISTER: a 3xx answer needs a Contact, which policy does not give; "
     "expected 2xx, 4xx, 5xx or 6xx, got 302"},
    {"{\"out_of_dialog\": {\"default\": 100}}",
     "out_of_dialog.default: expected an integer from 200 to 699, got 100"},
    /* out-of-dialog methods */
    {"{\"out_of_dialog\": {\"INVITE\": 403}}",
     "out_of_dialog.INVITE: not a method policy can answer"},
    {"{\"out_of_dialog\": {\"register\": 403}}",
     "out_of_dialog.register: expected a method name in upper case (SIP methods are "
     "case-sensitive)"},
    {"{\"out_of_dialog\": {\"RE GISTER\": 403}}",
     "out_of_dialog.RE GISTER: expected a method name (a SIP token)"},
    /* strip_headers: names sipshard needs (long, compact, any case), names
     * that are no token, one header twice (by its other form too) */
    {"{\"strip_headers\": \"User-Agent\"}", "strip_headers: expected an array, got a string"},
    {"{\"strip_headers\": [\"Server\", \"Via\"]}",
     "strip_headers[1]: sipshard needs \"Via\" to relay calls: it cannot be stripped "
     "(examples/CONFIG.md, strip_headers)"},
    {"{\"strip_headers\": [\"i\"]}",
     "strip_headers[0]: sipshard needs \"i\" to relay calls: it cannot be stripped "
     "(examples/CONFIG.md, strip_headers)"},
    {"{\"strip_headers\": [\"content-disposition\"]}",
     "strip_headers[0]: sipshard needs \"content-disposition\" to relay calls: it cannot be "
     "stripped (examples/CONFIG.md, strip_headers)"},
    {"{\"strip_headers\": [\"SUBSCRIPTION-STATE\"]}",
     "strip_headers[0]: sipshard needs \"SUBSCRIPTION-STATE\" to relay calls: it cannot be "
     "stripped (examples/CONFIG.md, strip_headers)"},
    {"{\"strip_headers\": [\"Proxy-Authorization\"]}",
     "strip_headers[0]: sipshard needs \"Proxy-Authorization\" to relay calls: it cannot be "
     "stripped (examples/CONFIG.md, strip_headers)"},
    {"{\"strip_headers\": [\"\"]}",
     "strip_headers[0]: expected a header name (a SIP token), got \"\""},
    {"{\"strip_headers\": [\"User-Agent:\"]}",
     "strip_headers[0]: expected a header name (a SIP token), got \"User-Agent:\""},
    {"{\"strip_headers\": [null]}", "strip_headers[0]: expected a header name, got null"},
    {"{\"strip_headers\": [\"X-01234567890123456789012345678901234567890123456789012345678901\"]}",
     "strip_headers[0]: longer than 63 characters"},
    {"{\"strip_headers\": [\"User-Agent\", \"Server\", \"user-agent\"]}",
     "strip_headers[2]: \"user-agent\" is already named by strip_headers[0] (\"User-Agent\")"},
    {"{\"strip_headers\": [\"Subject\", \"s\"]}",
     "strip_headers[1]: \"s\" is already named by strip_headers[0] (\"Subject\")"},
    {"{\"strip_headers\": [\"X-Internal-Route\", \"x-internal-route\"]}",
     "strip_headers[1]: \"x-internal-route\" is already named by strip_headers[0] "
     "(\"X-Internal-Route\")"},
    /* paths */
    {"{\"run_dir\": \"run/sipshard\"}", "run_dir: expected an absolute path, got \"run/sipshard\""},
    {"{\"cdr_file\": \"/var/log/a\\u0001b\"}", "cdr_file: control character in \"/var/log/a?b\""},
    {"{\"management_socket\": \"/"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
     "management_socket: longer than 107 characters"},
    {"{\"run_dir\": \"/"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaa\"}",
     "management_socket: run_dir + \"/sipshardd.sock\" is longer than 107 characters, the "
     "limit of a Unix socket path; set management_socket explicitly"},
    /* JSON syntax: line and column */
    {"{\"listen\": ", "line 1, column 11: unexpected token near end of file"},
    {"{\n  \"workers\": 2,\n  \"workers\": 3\n}",
     "line 3, column 11: duplicate object key near '\"workers\"'"},
    {"{\n  \"workers\": 2,,\n}", "line 2, column 16: string or '}' expected near ','"},
    /* a control byte where the parse stopped is written as \xHH: the error
     * is one line of the log or of sipshardctl's answer (fuzz_mgmt) */
    {"{\"maarg\\\n", "line 2, column 0: invalid escape near '\"maarg\\\\x0a'"},
};

static void test_errors_name_the_key(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *b = &bad_cases[i];
		char doc[1024];
		if (strstr(b->json, "\"routes\"") || b->json[0] != '{' || !strchr(b->json, '"') ||
		    strncmp(b->msg, "line ", 5) == 0)
			snprintf(doc, sizeof(doc), "%s", b->json);
		else
			snprintf(doc, sizeof(doc),
				 "{\"routes\": [{\"target\": \"10.0.0.1:5060\"}], %s", b->json + 1);
		int rc = config_load_string(&cfg, doc, err, sizeof(err));
		if (rc != -EINVAL)
			fail_msg("case %zu: %s\n  loaded (rc %d), want: %s", i, doc, rc, b->msg);
		if (strcmp(err, b->msg) != 0)
			fail_msg("case %zu: %s\n   got: %s\n  want: %s", i, doc, err, b->msg);
	}
	/* a file without any "routes" is refused, though the default has one */
	assert_int_equal(
	    config_load_string(&cfg, "{\"listen\": \"127.0.0.1:5060\"}", err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "routes: at least one route is required");
	assert_int_equal(config_load_string(&cfg, "", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 1, column"));
}

/* More routes or rules than the model holds is an error, not a truncation. */
static void test_too_many(void **state)
{
	static char doc[64 * 1024];
	size_t n = 0;
	(void)state;
	n += (size_t)snprintf(doc + n, sizeof(doc) - n, "{\"routes\": [");
	for (int i = 0; i <= CONFIG_MAX_ROUTES; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s{\"target\": \"10.0.0.1:%d\"}",
				      i ? ", " : "", i + 1);
	snprintf(doc + n, sizeof(doc) - n, "]}");
	assert_int_equal(config_load_string(&cfg, doc, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "routes: at most 64 routes, got 65");

	n = (size_t)snprintf(doc, sizeof(doc),
			     "{\"routes\": [{\"target\": \"10.0.0.1:1\"}], "
			     "\"out_of_dialog\": {");
	for (int i = 0; i < CONFIG_MAX_OOD; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s\"X%d\": 405", i ? ", " : "", i);
	snprintf(doc + n, sizeof(doc) - n, "}}");
	assert_int_equal(config_load_string(&cfg, doc, err, sizeof(err)), -EINVAL);
	/* the five built-in methods count: X11 is the seventeenth */
	assert_string_equal(err, "out_of_dialog.X11: at most 16 methods (with the defaults)");

	n = (size_t)snprintf(doc, sizeof(doc),
			     "{\"routes\": [{\"target\": \"10.0.0.1:1\"}], \"registrations\": [");
	for (int i = 0; i <= CONFIG_MAX_REGISTRATIONS; i++)
		n +=
		    (size_t)snprintf(doc + n, sizeof(doc) - n,
				     "%s{\"registrar\": \"10.0.0.1:5060\", \"aor\": \"sip:u%d@b\"}",
				     i ? ", " : "", i);
	snprintf(doc + n, sizeof(doc) - n, "]}");
	assert_int_equal(config_load_string(&cfg, doc, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "registrations: at most 16 registrations, got 17");
}

/* strip_headers: a known name (long or compact form, any case) becomes its
 * header's bit, an extension header's name goes on the list the writer
 * compares, both printed as written; up to CONFIG_MAX_STRIP_HEADERS of them;
 * and a reload keeps the running value (the workers read it at start). */
static void test_strip_headers(void **state)
{
	static char doc[4096];
	static struct config running;
	const char *names[4];
	(void)state;

	load(&cfg, "{\"routes\": [{\"target\": \"10.0.0.1:5060\"}]}");
	assert_int_equal(cfg.strip_headers.n, 0);
	struct sip_strip none = config_strip_set(&cfg);
	assert_true(none.ids == 0);
	assert_null(none.named); /* so that a relay looks no name up */
	json_t *j = printed(&cfg);
	assert_int_equal(json_array_size(json_object_get(j, "strip_headers")), 0);
	json_decref(j);

	load(&cfg, "{\"routes\": [{\"target\": \"10.0.0.1:5060\"}], \"strip_headers\": "
		   "[\"User-Agent\", \"server\", \"s\", \"X-Internal-Route\", \"P-Foo\"]}");
	assert_int_equal(cfg.strip_headers.n, 5);
	assert_true(
	    cfg.strip_headers.known ==
	    (SIP_HBIT(SIP_HDR_USER_AGENT) | SIP_HBIT(SIP_HDR_SERVER) | SIP_HBIT(SIP_HDR_SUBJECT)));
	assert_int_equal(cfg.strip_headers.other.n, 2);
	assert_true(sip_names_has(&cfg.strip_headers.other, "x-internal-route", 16));
	assert_true(sip_names_has(&cfg.strip_headers.other, "P-FOO", 5));
	assert_false(sip_names_has(&cfg.strip_headers.other, "P-Fo", 4));
	assert_false(sip_names_has(&cfg.strip_headers.other, "User-Agent", 10));
	struct sip_strip set = config_strip_set(&cfg);
	assert_true(set.ids == cfg.strip_headers.known);
	assert_ptr_equal(set.named, &cfg.strip_headers.other);
	j = printed(&cfg);
	json_t *a = json_object_get(j, "strip_headers");
	assert_int_equal(json_array_size(a), 5);
	assert_string_equal(json_string_value(json_array_get(a, 1)), "server");
	assert_string_equal(json_string_value(json_array_get(a, 2)), "s");
	assert_string_equal(json_string_value(json_array_get(a, 3)), "X-Internal-Route");
	json_decref(j);
	assert_round_trip(&cfg);

	/* the bound: all of them, one more is refused */
	size_t n = (size_t)snprintf(doc, sizeof(doc),
				    "{\"routes\": [{\"target\": \"10.0.0.1:1\"}], "
				    "\"strip_headers\": [");
	for (int i = 0; i < CONFIG_MAX_STRIP_HEADERS; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s\"X-%d\"", i ? ", " : "", i);
	snprintf(doc + n, sizeof(doc) - n, "]}");
	load(&cfg, doc);
	assert_int_equal(cfg.strip_headers.other.n, CONFIG_MAX_STRIP_HEADERS);
	snprintf(doc + n, sizeof(doc) - n, ", \"Server\"]}");
	assert_int_equal(config_load_string(&cfg, doc, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "strip_headers: at most 32 header names, got 33");

	/* a restart-only key: reported, and kept as it runs */
	load(&running, "{\"routes\": [{\"target\": \"10.0.0.1:5060\"}]}");
	load(&cfg, "{\"routes\": [{\"target\": \"10.0.0.1:5060\"}], \"strip_headers\": "
		   "[\"User-Agent\", \"X-Internal-Route\"]}");
	assert_int_equal(config_restart_changes(&running, &cfg, names, 4), 1);
	assert_string_equal(names[0], "strip_headers");
	config_keep_restart_keys(&cfg, &running);
	assert_int_equal(cfg.strip_headers.n, 0);
	assert_null(config_strip_set(&cfg).named);
}

/* rewrite_refer_to: off unless set, so that a deployment that never named
 * it sees its REFERs cross as before; printed (--check-config prints
 * config_to_json) and loaded back; and a reload keeps the running value,
 * as for strip_headers: the workers read it at start. */
static void test_rewrite_refer_to(void **state)
{
	static struct config running;
	const char *names[4];
	(void)state;

	assert_int_equal(config_load_default(&cfg, err, sizeof(err)), 0);
	assert_false(cfg.rewrite_refer_to);
	load(&cfg, "{\"routes\": [{\"target\": \"10.0.0.1:5060\"}]}");
	assert_false(cfg.rewrite_refer_to);
	json_t *j = printed(&cfg);
	assert_true(json_is_false(json_object_get(j, "rewrite_refer_to")));
	json_decref(j);

	load(&cfg, "{\"routes\": [{\"target\": \"10.0.0.1:5060\"}], \"rewrite_refer_to\": true}");
	assert_true(cfg.rewrite_refer_to);
	j = printed(&cfg);
	assert_true(json_is_true(json_object_get(j, "rewrite_refer_to")));
	json_decref(j);
	assert_round_trip(&cfg);
	assert_true(cfg2.rewrite_refer_to);

	/* a restart-only key: reported, and kept as it runs */
	load(&running, "{\"routes\": [{\"target\": \"10.0.0.1:5060\"}]}");
	assert_int_equal(config_restart_changes(&running, &cfg, names, 4), 1);
	assert_string_equal(names[0], "rewrite_refer_to");
	config_keep_restart_keys(&cfg, &running);
	assert_false(cfg.rewrite_refer_to);
}

/* A failed load leaves the previous configuration exactly as it was. */
static void test_failed_load_changes_nothing(void **state)
{
	static struct config before;
	(void)state;
	load(&cfg, "{\"workers\": 3, \"routes\": [{\"name\": \"r\", \"target\": \"10.0.0.1:1\"}]}");
	memcpy(&before, &cfg, sizeof(cfg));
	assert_int_equal(config_load_string(&cfg,
					    "{\"workers\": 4, \"routes\": [{\"target\": "
					    "\"10.0.0.2:1\"}], \"bpf\": \"no\"}",
					    err, sizeof(err)),
			 -EINVAL);
	assert_memory_equal(&before, &cfg, sizeof(cfg));
	assert_int_equal(config_load_file(&cfg, "/nonexistent/sipshardd.json", err, sizeof(err)),
			 -EINVAL);
	assert_memory_equal(&before, &cfg, sizeof(cfg));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A syntax error in or next to a password does not quote it: jansson's
 * "near '...'" is the text it stopped at, and the error goes to the log
 * (a reload refused), to sipshardctl reload and to --check-config's output,
 * which examples/CONFIG.md says never show a password. A raw backslash or a
 * tab pasted into a password, or one left unquoted, are the usual slips.
 * The line and column still say where the error is. */
static void test_syntax_error_hides_password(void **state)
{
	static const char *const docs[] = {
	    "{\"routes\": [{\"target\": \"10.0.0.1:5060\", \"auth\": {\"username\": \"u\", "
	    "\"password\": \"hunter2\\qx\"}}]}",
	    "{\"routes\": [{\"target\": \"10.0.0.1:5060\", \"auth\": {\"username\": \"u\", "
	    "\"password\": \"hunter2\tx\"}}]}",
	    "{\"registrations\": [{\"registrar\": \"10.0.0.1:5060\", \"aor\": \"sip:a@b\", "
	    "\"auth\": {\"username\": \"u\", \"password\": hunter2}}], "
	    "\"routes\": [{\"target\": \"10.0.0.1:5060\"}]}",
	};
	char path[] = "/tmp/test_config_XXXXXX";
	(void)state;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		assert_int_equal(config_load_string(&cfg, docs[i], err, sizeof(err)), -EINVAL);
		if (strstr(err, "hunter") || strncmp(err, "line 1, column ", 15) != 0)
			fail_msg("case %zu: %s", i, err);
		write_file(path, docs[i]);
		assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
		if (strstr(err, "hunter") || strncmp(err, path, strlen(path)) != 0 ||
		    strncmp(err + strlen(path), ":1:", 3) != 0)
			fail_msg("case %zu (file): %s", i, err);
	}
	unlink(path);
}

/* File errors carry the file name: FILE:LINE:COLUMN for syntax. */
static void test_file_errors(void **state)
{
	char path[] = "/tmp/test_config_XXXXXX", want[512];
	(void)state;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);

	write_file(path,
		   "{\n  \"listen\": \"127.0.0.1:5060\",\n  \"workers\": 2\n  \"bpf\": true\n}\n");
	assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:4:7: '}' expected near '\"bpf\"'", path);
	assert_string_equal(err, want);

	write_file(path,
		   "{\"routes\": [{\"target\": \"10.0.0.1:1\"}, {\"target\": \"10.0.0.2\"}]}");
	assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: routes[1].target: expected \"IP:port\", got \"10.0.0.2\"",
		 path);
	assert_string_equal(err, want);

	write_file(path, "{\"routes\": [{\"target\": \"10.0.0.1:1\"}]}");
	assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	unlink(path);

	assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s: cannot read: unable to open %s: No such file or directory", path, path);
	assert_string_equal(err, want);

	/* a directory is not read as an empty document ("FILE:1:0: '[' or '{'
	 * expected near end of file"), by sipshardd nor by sipshardctl -c */
	char dir[] = "/tmp/test_config_dir_XXXXXX", sock[CONFIG_PATH_MAX];
	assert_non_null(mkdtemp(dir));
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory", dir);
	assert_int_equal(config_load_file(&cfg, dir, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
	assert_int_equal(config_management_socket(dir, sock, sizeof(sock), err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, want);
	rmdir(dir);
}

/* A short error buffer truncates, never overflows. */
static void test_short_error_buffer(void **state)
{
	char small[12];
	(void)state;
	memset(small, 'x', sizeof(small));
	assert_int_equal(config_load_string(&cfg, "{\"limits\": {\"max_calls\": 0}}", small, 8),
			 -EINVAL);
	assert_string_equal(small, "limits.");
	assert_int_equal(small[8], 'x');
}

static void test_cidr_helpers(void **state)
{
	struct config_cidr c;
	struct sockaddr_in v4 = {.sin_family = AF_INET};
	struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
	(void)state;

	assert_int_equal(config_parse_cidr("192.0.2.0/24", &c), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 24);
	assert_int_equal(config_parse_cidr("192.0.2.7", &c), 0);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(config_parse_cidr("::", &c), 0);
	assert_int_equal(c.prefix, 128);
	assert_int_equal(config_parse_cidr("::/0", &c), 0);
	assert_int_equal(config_parse_cidr("0.0.0.0/0", &c), 0);
	assert_int_equal(config_parse_cidr("192.0.2.1/24", &c), -ERANGE);
	assert_int_equal(config_parse_cidr("192.0.2.0/024", &c), -EINVAL);
	assert_int_equal(config_parse_cidr("192.0.2.0/ 24", &c), -EINVAL);
	assert_int_equal(config_parse_cidr("", &c), -EINVAL);

	assert_int_equal(config_parse_cidr("192.0.2.128/25", &c), 0);
	inet_pton(AF_INET, "192.0.2.200", &v4.sin_addr);
	assert_true(config_cidr_match(&c, (struct sockaddr *)&v4));
	inet_pton(AF_INET, "192.0.2.127", &v4.sin_addr);
	assert_false(config_cidr_match(&c, (struct sockaddr *)&v4));
	inet_pton(AF_INET6, "::ffff:192.0.2.200", &v6.sin6_addr);
	assert_true(config_cidr_match(&c, (struct sockaddr *)&v6));
	inet_pton(AF_INET6, "::192.0.2.200", &v6.sin6_addr); /* v4-compatible, not mapped */
	assert_false(config_cidr_match(&c, (struct sockaddr *)&v6));
}

/* A reload keeps every key that shapes the process and reports each changed one
 * once (listen spans three fields, and its change also moves the derived
 * advertise); the policy keys change silently. */
static void test_restart_keys(void **state)
{
	(void)state;
	static struct config running, next;
	const char *names[8];

	load(&running, "{\"listen\": \"127.0.0.1:5060\", \"workers\": 2,"
		       " \"routes\": [{\"name\": \"a\", \"target\": \"127.0.0.1:5080\"}]}");
	load(&next, "{\"listen\": \"127.0.0.1:5060\", \"workers\": 2, \"log_level\": \"debug\","
		    " \"limits\": {\"max_calls\": 7},"
		    " \"acl\": {\"default\": \"deny\"},"
		    " \"routes\": [{\"name\": \"b\", \"target\": \"127.0.0.1:5090\"}]}");
	assert_int_equal(config_restart_changes(&running, &next, names, 8), 0);

	load(&next, "{\"listen\": \"127.0.0.1:5070\", \"workers\": 3,"
		    " \"timers\": {\"t1_ms\": 250}, \"capacity\": {\"setups\": 100},"
		    " \"limits\": {\"max_calls\": 7},"
		    " \"routes\": [{\"name\": \"b\", \"target\": \"127.0.0.1:5090\"}]}");
	size_t n = config_restart_changes(&running, &next, names, 8);
	assert_int_equal(n, 5);
	assert_string_equal(names[0], "listen");
	assert_string_equal(names[1], "advertise");
	assert_string_equal(names[2], "workers");
	assert_string_equal(names[3], "capacity.setups");
	assert_string_equal(names[4], "timers.t1_ms");
	assert_int_equal(config_restart_changes(&running, &next, names, 2),
			 5); /* counts past cap */

	config_keep_restart_keys(&next, &running);
	assert_int_equal(config_restart_changes(&running, &next, names, 8), 0);
	assert_string_equal(next.listen, "127.0.0.1:5060");
	assert_int_equal(next.workers, 2);
	assert_int_equal(next.timers.t1_ms, running.timers.t1_ms);
	assert_int_equal(next.capacity.setups, running.capacity.setups);
	/* what a reload may change is left as the new file has it */
	assert_int_equal(next.limits.max_calls, 7);
	assert_string_equal(next.routes[0].name, "b");
}

/* CONFIG.md: an absent or null condition always holds; user_prefix once
 * refused null while domain and source took it. */
static void test_null_match_conditions(void **state)
{
	(void)state;
	assert_int_equal(
	    config_load_string(&cfg,
			       "{\"routes\": [{\"target\": \"10.0.0.1:5060\", \"match\": "
			       "{\"user_prefix\": null, \"domain\": null, \"source\": null}}]}",
			       err, sizeof(err)),
	    0);
	assert_string_equal(cfg.routes[0].user_prefix, "");
	assert_string_equal(cfg.routes[0].domain, "");
	assert_false(cfg.routes[0].has_source);
}

/* sipshardctl -c: only the socket is read, so a file with another error or a
 * name that does not resolve still leads to the daemon; a file that says
 * there is no socket, or is not JSON, says so with the key. */
static void test_management_socket_only(void **state)
{
	char dir[] = "/tmp/sipshard-cfg.XXXXXX", path[128], sock[CONFIG_PATH_MAX];
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.json", dir);
	write_file(path, "{\"management_socket\": \"/tmp/x/s.sock\", \"no_such_key\": 1, "
			 "\"routes\": [{\"target\": \"trunk.example.invalid:5060\"}]}");
	assert_int_equal(config_management_socket(path, sock, sizeof(sock), err, sizeof(err)), 0);
	assert_string_equal(sock, "/tmp/x/s.sock");
	assert_string_equal(err, "");
	assert_int_not_equal(config_load_file(&cfg, path, err, sizeof(err)), 0);
	unlink(path);

	snprintf(path, sizeof(path), "%s/b.json", dir);
	write_file(path, "{\"run_dir\": \"/tmp/rd\", \"workers\": \"many\"}");
	assert_int_equal(config_management_socket(path, sock, sizeof(sock), err, sizeof(err)), 0);
	assert_string_equal(sock, "/tmp/rd/sipshardd.sock");
	unlink(path);

	static const struct {
		const char *text, *why;
	} refused[] = {
	    {"{\"management_socket\": null}", "x.json: management_socket: null"},
	    {"{\"management_socket\": 5}", "x.json: management_socket: "},
	    {"{\"management_socket\": ", "x.json:1:"},
	};
	snprintf(path, sizeof(path), "%s/x.json", dir);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		write_file(path, refused[i].text);
		assert_int_equal(
		    config_management_socket(path, sock, sizeof(sock), err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, refused[i].why));
	}
	unlink(path);
	rmdir(dir);
}

/* user_prefix and rewrite.prefix are pieces of a Request-URI user (RFC 3261
 * 25.1: unreserved, user-unreserved and %HH escapes, and '#', kept as %23).
 * A rewrite.prefix outside that grammar makes every leg B INVITE of the route
 * malformed (a strict callee, sipshard itself included, refuses it), and a
 * user_prefix outside it can never match a Request-URI that parses: both are
 * load errors that name the key. A user_prefix may end inside an escape ("%2"
 * matches "%2B..." and "%23..."); a rewrite prefix is sent, so its escapes are
 * whole. */
static void test_user_parts_are_uri_users(void **state)
{
	static const char *const good[] = {"0",	   "+44", "*31%23", "%2B", "a-b_c.!~*'()&=+$,;?/",
					   "#31#", "*#"};
	static const struct {
		const char *key, *value, *why;
	} bad[] = {
	    {"rewrite", "#31 ",
	     "routes[0].rewrite.prefix: expected the start of a Request-URI "
	     "user: letters, digits, -_.!~*'()&=+$,;?/# and %XX escapes (RFC "
	     "3261 25.1), got \"#31 \""},
	    /* 63 characters, but 65 with the '#' written %23 */
	    {"rewrite", "#12345678901234567890123456789012345678901234567890123456789012",
	     "routes[0].rewrite.prefix: longer than 63 characters with each '#' written %23"},
	    {"rewrite", "00%", "routes[0].rewrite.prefix: "},
	    {"rewrite", "%2", "routes[0].rewrite.prefix: "},
	    {"rewrite", "%G1", "routes[0].rewrite.prefix: "},
	    {"rewrite", "[1]", "routes[0].rewrite.prefix: "},
	    {"match", "#<", "routes[0].match.user_prefix: "},
	    {"match", "9%2G", "routes[0].match.user_prefix: "},
	    {"match", "a\\\\b", "routes[0].match.user_prefix: "},
	};
	char doc[256], uri[128];
	struct sip_uri u;
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(doc, sizeof(doc),
			 "{\"routes\": [{\"target\": \"10.0.0.1:1\", \"match\": {\"user_prefix\": "
			 "\"%s\"}, \"rewrite\": {\"prefix\": \"%s\"}}]}",
			 good[i], good[i]);
		load(&cfg, doc);
		/* what leg B's Request-URI would be: it must parse */
		snprintf(uri, sizeof(uri), "sip:%s0044@example.com", cfg.routes[0].rewrite_prefix);
		memset(&u, 0, sizeof(u));
		if (sip_parse_uri(&u, uri, 0, (uint16_t)strlen(uri)) != 0)
			fail_msg("%s: not a SIP URI", uri);
	}
	/* a user_prefix may stop inside an escape */
	load(&cfg, "{\"routes\": [{\"target\": \"10.0.0.1:1\", \"match\": {\"user_prefix\": "
		   "\"*31%2\"}}]}");
	assert_string_equal(cfg.routes[0].user_prefix, "*31%2");
	/* a '#' is kept as leg B's Request-URI carries it, %23 */
	load(&cfg, "{\"routes\": [{\"target\": \"10.0.0.1:1\", \"match\": {\"user_prefix\": "
		   "\"#31#\"}, \"rewrite\": {\"prefix\": \"*#\"}}]}");
	assert_string_equal(cfg.routes[0].user_prefix, "%2331%23");
	assert_string_equal(cfg.routes[0].rewrite_prefix, "*%23");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool rw = !strcmp(bad[i].key, "rewrite");
		snprintf(doc, sizeof(doc),
			 "{\"routes\": [{\"target\": \"10.0.0.1:1\", \"%s\": {\"%s\": \"%s\"}}]}",
			 bad[i].key, rw ? "prefix" : "user_prefix", bad[i].value);
		if (config_load_string(&cfg, doc, err, sizeof(err)) != -EINVAL)
			fail_msg("%s: accepted", doc);
		if (strncmp(err, bad[i].why, strlen(bad[i].why)) != 0)
			fail_msg("%s:\n got      %s\n expected %s", doc, err, bad[i].why);
	}
}

/* The whole text of a file of the repository (tests run from its top). */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[1 << 18];
	size_t n;

	if (!f)
		fail_msg("cannot open %s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* CONFIG.md, "Reloading": every key a reload keeps at its running value (and
 * logs as taking effect at the next start) is in the list of such keys, so
 * that an operator who changes it knows a restart is needed. */
static void test_config_md_lists_restart_keys(void **state)
{
	static struct config running, next;
	const char *names[64];
	(void)state;

	load(&running, "{\"routes\": [{\"target\": \"127.0.0.1:5080\"}]}");
	/* every key that shapes the process, each changed */
	load(&next,
	     "{\"listen\": \"127.0.0.1:5070\", \"advertise\": \"sbc.example.com\","
	     " \"workers\": 3, \"bpf\": false, \"io_uring\": false, \"log_target\": \"syslog\","
	     " \"tx_buffer_size\": 4000, \"management_socket\": \"/tmp/m.sock\","
	     " \"run_dir\": \"/tmp/rd\", \"persist_dialogs\": false, \"cdr_file\": \"/tmp/c\","
	     " \"metrics_listen\": \"127.0.0.1:9464\", \"capacity\": {\"setups\": 100},"
	     " \"timers\": {\"t1_ms\": 250}, \"strip_headers\": [\"User-Agent\"],"
	     " \"rewrite_refer_to\": true,"
	     " \"routes\": [{\"target\": \"127.0.0.1:5080\"}]}");
	size_t n = config_restart_changes(&running, &next, names, 64);
	assert_true(n >= 13);
	const char *md = read_text("examples/CONFIG.md");
	const char *from = strstr(md, "Keys that shape the process keep their running values");
	assert_non_null(from);
	const char *to = strstr(from, "Command-line");
	assert_non_null(to);
	for (size_t i = 0; i < n; i++) {
		char quoted[64];
		if (!strncmp(names[i], "capacity.", 9))
			snprintf(quoted, sizeof(quoted), "`capacity.*`");
		else if (!strncmp(names[i], "timers.", 7))
			snprintf(quoted, sizeof(quoted), "`timers.*`");
		else
			snprintf(quoted, sizeof(quoted), "`%s`", names[i]);
		const char *at = strstr(from, quoted);
		if (!at || at > to)
			fail_msg("CONFIG.md, Reloading: %s is kept until the next start but not "
				 "listed",
				 quoted);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_loads_and_prints),
	    cmocka_unit_test(test_null_match_conditions),
	    cmocka_unit_test(test_management_socket_only),
	    cmocka_unit_test(test_default_run_dir),
	    cmocka_unit_test(test_example_file_loads),
	    cmocka_unit_test(test_partial_document_keeps_defaults),
	    cmocka_unit_test(test_route_targets_and_failover),
	    cmocka_unit_test(test_route_auth),
	    cmocka_unit_test(test_registrations),
	    cmocka_unit_test(test_target_names),
	    cmocka_unit_test(test_target_named),
	    cmocka_unit_test(test_target_canonical),
	    cmocka_unit_test(test_srv_refresh_keeps_targets),
	    cmocka_unit_test(test_in_service),
	    cmocka_unit_test(test_in_service_no_service),
	    cmocka_unit_test(test_derived_values),
	    cmocka_unit_test(test_errors_name_the_key),
	    cmocka_unit_test(test_too_many),
	    cmocka_unit_test(test_strip_headers),
	    cmocka_unit_test(test_rewrite_refer_to),
	    cmocka_unit_test(test_failed_load_changes_nothing),
	    cmocka_unit_test(test_file_errors),
	    cmocka_unit_test(test_syntax_error_hides_password),
	    cmocka_unit_test(test_short_error_buffer),
	    cmocka_unit_test(test_cidr_helpers),
	    cmocka_unit_test(test_restart_keys),
	    cmocka_unit_test(test_user_parts_are_uri_users),
	    cmocka_unit_test(test_config_md_lists_restart_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
