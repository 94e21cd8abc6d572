/*
 * test_ctl_config.c - configuration loading with key-path errors, and the
 * policy decisions built on it (ACL, routes, rate, call limit, out-of-dialog).
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

#include <cmocka.h>

#include "ctl/config.h"
#include "ctl/policy.h"

static struct config cfg;
static char err[512];

static struct sockaddr_storage addr(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
		v6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &v6->sin6_addr), 1);
	} else {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
		v4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &v4->sin_addr), 1);
	}
	return ss;
}
/* An address for one call: each use gets its own slot of a small ring. */
static const struct sockaddr *SA(const char *ip)
{
	static struct sockaddr_storage ring[4];
	static unsigned next;
	struct sockaddr_storage *ss = &ring[next++ % 4];
	*ss = addr(ip);
	return (const struct sockaddr *)ss;
}

static void test_default_loads_and_prints(void **state)
{
	(void)state;
	assert_int_equal(config_load_default(&cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.listen, "127.0.0.1:5060");
	assert_string_equal(cfg.advertise, "127.0.0.1:5060");
	assert_int_equal(cfg.nroutes, 1);
	assert_string_equal(cfg.routes[0].target, "127.0.0.1:5080");
	char *s = config_to_json(&cfg);
	assert_non_null(s);
	/* what --check-config prints loads back to the same configuration */
	struct config again;
	assert_int_equal(config_load_string(&again, s, err, sizeof(err)), 0);
	assert_int_equal(again.capacity.dialogs_per_shard, cfg.capacity.dialogs_per_shard);
	assert_int_equal(again.nood, cfg.nood);
	free(s);
}

static void test_example_file_loads(void **state)
{
	(void)state;
	int rc = config_load_file(&cfg, "examples/sipshardd.json", err, sizeof(err));
	if (rc)
		fail_msg("examples/sipshardd.json: %s", err);
	assert_int_equal(cfg.nroutes, 3);
	assert_int_equal(cfg.nacl, 2);
	assert_int_equal(cfg.limits.burst, 400);
}

/* Each bad document fails with exactly this message. */
static void test_errors_name_the_key(void **state)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{"{\"bogus\": 1}", "bogus: unknown key"},
		{"{\"limits\": {\"max_call\": 1}}", "limits.max_call: unknown key"},
		{"{\"limits\": {\"max_calls\": \"many\"}}",
		 "limits.max_calls: expected an integer from 1 to 2147483647, got a string"},
		{"{\"workers\": 65}", "workers: expected an integer from 0 to 64, got 65"},
		{"{\"listen\": \"127.0.0.1\"}", "listen: expected \"IP:port\", got \"127.0.0.1\""},
		{"{\"listen\": \"example.com:5060\"}",
		 "listen: \"example.com\" is not a numeric IPv4 or IPv6 address"},
		{"{\"routes\": []}", "routes: at least one route is required"},
		{"{\"routes\": [{\"name\": \"x\"}]}", "routes[0]: missing \"target\""},
		{"{\"routes\": [{\"target\": \"10.0.0.1:5060\"}, {\"target\": \"10.0.0.1:0\"}]}",
		 "routes[1].target: port must be 1-65535 in \"10.0.0.1:0\""},
		{"{\"routes\": [{\"target\": \"10.0.0.1:5060\", \"match\": {\"source\": \"10.0.0.0/33\"}}]}",
		 "routes[0].match.source: expected a CIDR such as \"10.0.0.0/8\" or \"::1/128\", got "
		 "\"10.0.0.0/33\""},
		{"{\"acl\": {\"rules\": [{\"action\": \"maybe\", \"cidr\": \"::/0\"}]}}",
		 "acl.rules[0].action: expected \"allow\" or \"deny\", got \"maybe\""},
		{"{\"bpf\": 1}", "bpf: expected true or false, got an integer"},
		{"{\"timers\": {\"t1_ms\": 900, \"t2_ms\": 800}}",
		 "timers.t2_ms: must not be smaller than timers.t1_ms"},
		{"{\"out_of_dialog\": {\"INVITE\": 403}}",
		 "out_of_dialog.INVITE: not a method policy can answer"},
		{"{\"listen\": ", "line 1, column 11: '[' or '{' expected near end of file"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char doc[512];
		/* every document but the syntax error gets a route so that only the
		 * key under test is wrong */
		if (strstr(cases[i].json, "routes") || strstr(cases[i].msg, "line 1"))
			snprintf(doc, sizeof(doc), "%s", cases[i].json);
		else
			snprintf(doc, sizeof(doc), "{\"routes\": [{\"target\": \"10.0.0.1:5060\"}], %s",
				 cases[i].json + 1);
		assert_int_equal(config_load_string(&cfg, doc, err, sizeof(err)), -EINVAL);
		if (strcmp(err, cases[i].msg) != 0 && !strstr(cases[i].msg, "line 1"))
			fail_msg("for %s\n got: %s\nwant: %s", doc, err, cases[i].msg);
		if (strstr(cases[i].msg, "line 1"))
			assert_non_null(strstr(err, "line 1, column"));
	}
}

static void load(const char *json)
{
	if (config_load_string(&cfg, json, err, sizeof(err)) != 0)
		fail_msg("%s: %s", json, err);
}

static void test_acl_first_match(void **state)
{
	struct policy *p;
	(void)state;
	load("{\"routes\": [{\"target\": \"10.0.0.1:5060\"}], \"acl\": {\"default\": \"deny\", "
	     "\"rules\": [{\"action\": \"deny\", \"cidr\": \"10.1.2.3/32\"},"
	     "{\"action\": \"allow\", \"cidr\": \"10.0.0.0/8\"},"
	     "{\"action\": \"allow\", \"cidr\": \"2001:db8::/32\"},"
	     "{\"action\": \"allow\", \"cidr\": \"::ffff:192.168.0.0/112\"}]}}");
	assert_int_equal(policy_create(&p, &cfg, err, sizeof(err)), 0);
	assert_int_equal(policy_acl_check(p, SA("10.1.2.3")), -EACCES);
	assert_int_equal(policy_acl_check(p, SA("10.1.2.4")), 0);
	assert_int_equal(policy_acl_check(p, SA("11.0.0.1")), -EACCES);
	assert_int_equal(policy_acl_check(p, SA("2001:db8:1::5")), 0);
	assert_int_equal(policy_acl_check(p, SA("2001:db9::5")), -EACCES);
	assert_int_equal(policy_acl_check(p, SA("192.168.4.4")), 0); /* v4 peer, mapped rule */
	assert_int_equal(policy_acl_check(p, SA("::ffff:10.9.9.9")), 0); /* mapped peer, v4 rule */
	policy_destroy(p);
	load("{\"routes\": [{\"target\": \"10.0.0.1:5060\"}], \"acl\": {\"default\": \"allow\", "
	     "\"rules\": [{\"action\": \"deny\", \"cidr\": \"0.0.0.0/0\"}]}}");
	assert_int_equal(policy_create(&p, &cfg, err, sizeof(err)), 0);
	assert_int_equal(policy_acl_check(p, SA("1.2.3.4")), -EACCES);
	assert_int_equal(policy_acl_check(p, SA("::1")), 0);
	policy_destroy(p);
}

static void test_routes_first_match(void **state)
{
	struct policy *p;
	(void)state;
	load("{\"routes\": ["
	     "{\"name\": \"sos\", \"match\": {\"user_prefix\": \"112\"}, \"target\": \"10.0.0.1:1\"},"
	     "{\"name\": \"dom\", \"match\": {\"domain\": \"Example.COM\"}, \"target\": \"10.0.0.1:2\"},"
	     "{\"name\": \"src\", \"match\": {\"source\": \"192.0.2.0/24\"}, \"target\": \"10.0.0.1:3\"},"
	     "{\"name\": \"any\", \"target\": \"10.0.0.1:4\"}]}");
	assert_int_equal(policy_create(&p, &cfg, err, sizeof(err)), 0);
	assert_int_equal(policy_route(p, "1125", 4, "x.org", 5, SA("192.0.2.1")), 0);
	assert_int_equal(policy_route(p, "99", 2, "example.com", 11, SA("192.0.2.1")), 1);
	assert_int_equal(policy_route(p, "99", 2, "x.org", 5, SA("192.0.2.1")), 2);
	assert_int_equal(policy_route(p, "99", 2, "x.org", 5, SA("198.51.100.1")), 3);
	assert_int_equal(policy_route(p, "", 0, "example.co", 10, SA("198.51.100.1")), 3);
	policy_destroy(p);
	load("{\"routes\": [{\"match\": {\"user_prefix\": \"+44\"}, \"target\": \"10.0.0.1:1\"}]}");
	assert_int_equal(policy_create(&p, &cfg, err, sizeof(err)), 0);
	assert_int_equal(policy_route(p, "+33", 3, "x", 1, SA("1.1.1.1")), -ENOENT);
	policy_destroy(p);
}

static void test_rate_and_limits(void **state)
{
	struct policy *p;
	const uint64_t s = 1000000000ull;
	(void)state;
	load("{\"routes\": [{\"target\": \"10.0.0.1:5060\"}], \"limits\": {\"max_calls\": 2, "
	     "\"calls_per_second_per_source\": 2, \"burst\": 3, \"rate_sources\": 16}}");
	assert_int_equal(policy_create(&p, &cfg, err, sizeof(err)), 0);
	/* burst of 3, then refused, then 2 per second refill */
	for (int i = 0; i < 3; i++)
		assert_int_equal(policy_rate_take(p, SA("10.0.0.5"), 10 * s), 0);
	assert_int_equal(policy_rate_take(p, SA("10.0.0.5"), 10 * s), -EAGAIN);
	assert_int_equal(policy_rate_take(p, SA("10.0.0.6"), 10 * s), 0); /* other source */
	assert_int_equal(policy_rate_take(p, SA("10.0.0.5"), 10 * s + s / 2), 0);
	assert_int_equal(policy_rate_take(p, SA("10.0.0.5"), 10 * s + s / 2), -EAGAIN);
	/* far more sources than the table holds: bounded, and new ones still admitted */
	for (int i = 0; i < 1000; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "172.16.%d.%d", i / 250, i % 250);
		assert_int_equal(policy_rate_take(p, SA(ip), 20 * s), 0);
	}
	/* concurrent calls */
	assert_int_equal(policy_call_admit(p), 0);
	assert_int_equal(policy_call_admit(p), 0);
	assert_int_equal(policy_call_admit(p), -EBUSY);
	policy_call_release(p);
	assert_int_equal(policy_call_admit(p), 0);
	assert_int_equal(policy_ood_status(p, "REGISTER", 8), 403);
	assert_int_equal(policy_ood_status(p, "SUBSCRIBE", 9), 405);
	assert_int_equal(policy_ood_status(p, "FOO", 3), 405);
	policy_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_loads_and_prints),
		cmocka_unit_test(test_example_file_loads),
		cmocka_unit_test(test_errors_name_the_key),
		cmocka_unit_test(test_acl_first_match),
		cmocka_unit_test(test_routes_first_match),
		cmocka_unit_test(test_rate_and_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
