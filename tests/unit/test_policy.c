/*
 * test_policy.c - the decisions built from a configuration: ACL first match
 * (IPv4, IPv6, mapped, /0 /32 /128), routes first match (user prefix, domain
 * without case, source network), the per-source rate limiter (burst, refill,
 * bounded table with eviction; time passed in, never slept), the concurrent
 * call limit, out-of-dialog answers, and carrying state across a reload.
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
#include <sys/un.h>

#include <cmocka.h>

#include "ctl/config.h"
#include "ctl/policy.h"

#define S  1000000000ull /* ns per second */
#define MS 1000000ull

static struct config cfg;
static char err[512];

static const struct sockaddr *SAP(const char *ip, uint16_t port)
{
	/* each call gets its own slot of a small ring, so that two addresses
	 * can be used in one expression */
	static struct sockaddr_storage ring[4];
	static unsigned next;
	struct sockaddr_storage *ss = &ring[next++ % 4];
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, ip, &v6->sin6_addr) != 1)
			fail_msg("bad test address %s", ip);
	} else {
		struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		if (inet_pton(AF_INET, ip, &v4->sin_addr) != 1)
			fail_msg("bad test address %s", ip);
	}
	return (const struct sockaddr *)ss;
}

static const struct sockaddr *SA(const char *ip)
{
	return SAP(ip, 5060);
}

/* A policy from a document; routes default to one catch-all when absent. */
static struct policy *make(const char *members)
{
	char doc[4096];
	struct policy *p = NULL;
	snprintf(doc, sizeof(doc), "{%s%s%s}",
		 strstr(members, "\"routes\"") ? ""
					       : "\"routes\": [{\"target\": \"10.0.0.1:5060\"}]",
		 strstr(members, "\"routes\"") || !*members ? "" : ", ", members);
	if (config_load_string(&cfg, doc, err, sizeof(err)) != 0)
		fail_msg("%s\n -> %s", doc, err);
	if (policy_create(&p, &cfg, err, sizeof(err)) != 0)
		fail_msg("policy_create: %s", err);
	return p;
}

static int acl(const struct policy *p, const char *ip)
{
	return policy_acl_check(p, SA(ip));
}

static void test_acl_ipv4(void **state)
{
	(void)state;
	struct policy *p = make("\"acl\": {\"default\": \"deny\", \"rules\": ["
				"{\"action\": \"deny\", \"cidr\": \"10.1.2.3/32\"},"
				"{\"action\": \"allow\", \"cidr\": \"10.0.0.0/8\"},"
				"{\"action\": \"deny\", \"cidr\": \"10.9.0.0/16\"},"
				"{\"action\": \"allow\", \"cidr\": \"192.0.2.128/25\"}]}");
	assert_int_equal(acl(p, "10.1.2.3"), -EACCES); /* /32 before the /8 */
	assert_int_equal(acl(p, "10.1.2.2"), 0);
	assert_int_equal(acl(p, "10.1.2.4"), 0);
	assert_int_equal(acl(p, "10.9.1.1"), 0); /* the /8 is first: the later deny never wins */
	assert_int_equal(acl(p, "11.0.0.0"), -EACCES); /* no rule: default */
	assert_int_equal(acl(p, "9.255.255.255"), -EACCES);
	assert_int_equal(acl(p, "192.0.2.128"), 0); /* /25 edges */
	assert_int_equal(acl(p, "192.0.2.255"), 0);
	assert_int_equal(acl(p, "192.0.2.127"), -EACCES);
	assert_int_equal(acl(p, "::ffff:10.7.7.7"), 0); /* v4-mapped peer, IPv4 rule */
	assert_int_equal(acl(p, "::ffff:10.1.2.3"), -EACCES);
	assert_int_equal(acl(p, "::10.7.7.7"), -EACCES); /* v4-compatible is not mapped */
	assert_int_equal(acl(p, "2001:db8::1"), -EACCES);
	policy_destroy(p);

	/* /0 takes every IPv4 source but no IPv6 one */
	p = make("\"acl\": {\"default\": \"allow\", \"rules\": [{\"action\": \"deny\", \"cidr\": "
		 "\"0.0.0.0/0\"}]}");
	assert_int_equal(acl(p, "0.0.0.0"), -EACCES);
	assert_int_equal(acl(p, "255.255.255.255"), -EACCES);
	assert_int_equal(acl(p, "127.0.0.1"), -EACCES);
	assert_int_equal(acl(p, "::ffff:127.0.0.1"), -EACCES);
	assert_int_equal(acl(p, "::1"), 0);
	assert_int_equal(acl(p, "2001:db8::1"), 0);
	policy_destroy(p);
}

static void test_acl_ipv6(void **state)
{
	(void)state;
	struct policy *p = make("\"acl\": {\"default\": \"deny\", \"rules\": ["
				"{\"action\": \"allow\", \"cidr\": \"::1/128\"},"
				"{\"action\": \"deny\", \"cidr\": \"2001:db8:0:1::/64\"},"
				"{\"action\": \"allow\", \"cidr\": \"2001:db8::/32\"},"
				"{\"action\": \"allow\", \"cidr\": \"::ffff:192.168.0.0/112\"},"
				"{\"action\": \"allow\", \"cidr\": \"fe80::/10\"}]}");
	assert_int_equal(acl(p, "::1"), 0);
	assert_int_equal(acl(p, "::2"), -EACCES); /* /128 is one address */
	assert_int_equal(acl(p, "::"), -EACCES);
	assert_int_equal(acl(p, "2001:db8:0:1::5"), -EACCES);
	assert_int_equal(acl(p, "2001:db8:0:1:ffff:ffff:ffff:ffff"), -EACCES);
	assert_int_equal(acl(p, "2001:db8:0:2::5"), 0);
	assert_int_equal(acl(p, "2001:db8:ffff::1"), 0);
	assert_int_equal(acl(p, "2001:db9::1"), -EACCES);
	assert_int_equal(acl(p, "192.168.4.4"), 0); /* IPv4 peer, mapped rule */
	assert_int_equal(acl(p, "192.169.4.4"), -EACCES);
	assert_int_equal(acl(p, "febf::1"), 0); /* /10 edges */
	assert_int_equal(acl(p, "fec0::1"), -EACCES);
	policy_destroy(p);

	/* ::/0 is every address, IPv4 ones included (they are ::ffff:a.b.c.d) */
	p = make("\"acl\": {\"default\": \"allow\", \"rules\": [{\"action\": \"deny\", \"cidr\": "
		 "\"::/0\"}]}");
	assert_int_equal(acl(p, "::1"), -EACCES);
	assert_int_equal(acl(p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), -EACCES);
	assert_int_equal(acl(p, "198.51.100.1"), -EACCES);
	/* a source that is not IP matches no rule: the default decides */
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	assert_int_equal(policy_acl_check(p, (struct sockaddr *)&un), 0);
	policy_destroy(p);

	/* no rules at all */
	p = make("\"acl\": {\"default\": \"deny\"}");
	assert_int_equal(acl(p, "127.0.0.1"), -EACCES);
	assert_int_equal(acl(p, "::1"), -EACCES);
	policy_destroy(p);
}

static int route(const struct policy *p, const char *user, const char *host, const char *ip)
{
	return policy_route(p, user, user ? strlen(user) : 0, host, host ? strlen(host) : 0,
			    ip ? SA(ip) : NULL);
}

static void test_routes_first_match(void **state)
{
	(void)state;
	struct policy *p = make(
	    "\"routes\": ["
	    "{\"name\": \"sos\", \"match\": {\"user_prefix\": \"112\"}, \"target\": "
	    "\"10.0.0.1:1\"},"
	    "{\"name\": \"uk\", \"match\": {\"user_prefix\": \"+44\"}, \"target\": \"10.0.0.1:2\"},"
	    "{\"name\": \"uk-london\", \"match\": {\"user_prefix\": \"+4420\"}, \"target\": "
	    "\"10.0.0.1:3\"},"
	    "{\"name\": \"dom\", \"match\": {\"domain\": \"Example.COM\"}, \"target\": "
	    "\"10.0.0.1:4\"},"
	    "{\"name\": \"v6host\", \"match\": {\"domain\": \"2001:DB8::1\"}, \"target\": "
	    "\"10.0.0.1:5\"},"
	    "{\"name\": \"net\", \"match\": {\"source\": \"192.0.2.0/24\"}, \"target\": "
	    "\"10.0.0.1:6\"},"
	    "{\"name\": \"net6\", \"match\": {\"source\": \"2001:db8:aa::/48\"}, \"target\": "
	    "\"10.0.0.1:7\"},"
	    "{\"name\": \"all3\", \"match\": {\"user_prefix\": \"9\", \"domain\": \"b.example\", "
	    "\"source\": \"198.51.100.7/32\"}, \"target\": \"10.0.0.1:8\"},"
	    "{\"name\": \"any\", \"target\": \"10.0.0.1:9\"}]");
	/* user prefix */
	assert_int_equal(route(p, "112", "x.org", "203.0.113.1"), 0);
	assert_int_equal(route(p, "1125", "x.org", "203.0.113.1"), 0);
	assert_int_equal(route(p, "11", "x.org", "203.0.113.1"), 8); /* shorter than the prefix */
	assert_int_equal(route(p, "+4420555", "x.org", "203.0.113.1"), 1); /* first, not longest */
	/* only the given bytes count: "1125" cut to 2 bytes is "11" */
	assert_int_equal(policy_route(p, "1125", 2, "x.org", 5, SA("203.0.113.1")), 8);
	/* domain: ASCII case ignored, exact length */
	assert_int_equal(route(p, "7", "example.com", "203.0.113.1"), 3);
	assert_int_equal(route(p, "7", "EXAMPLE.com", "203.0.113.1"), 3);
	assert_int_equal(route(p, "7", "example.co", "203.0.113.1"), 8);
	assert_int_equal(route(p, "7", "example.com.evil", "203.0.113.1"), 8);
	assert_int_equal(route(p, "7", "www.example.com", "203.0.113.1"), 8);
	assert_int_equal(route(p, "7", "[2001:db8::1]", "203.0.113.1"), 4);
	/* a NUL inside a hostile host does not end the comparison early */
	assert_int_equal(policy_route(p, "7", 1, "example\0com", 11, SA("203.0.113.1")), 8);
	/* source network, IPv4 and IPv6 */
	assert_int_equal(route(p, "7", "x.org", "192.0.2.55"), 5);
	assert_int_equal(route(p, "7", "x.org", "::ffff:192.0.2.55"), 5);
	assert_int_equal(route(p, "7", "x.org", "192.0.3.55"), 8);
	assert_int_equal(route(p, "7", "x.org", "2001:db8:aa:1::9"), 6);
	assert_int_equal(route(p, "7", "x.org", "2001:db8:ab::9"), 8);
	/* all three conditions together, each one missing in turn */
	assert_int_equal(route(p, "90", "B.Example", "198.51.100.7"), 7);
	assert_int_equal(route(p, "80", "b.example", "198.51.100.7"), 8);
	assert_int_equal(route(p, "90", "c.example", "198.51.100.7"), 8);
	assert_int_equal(route(p, "90", "b.example", "198.51.100.8"), 8);
	/* no user part, no host, no source address */
	assert_int_equal(route(p, NULL, NULL, NULL), 8);
	assert_int_equal(route(p, "", "example.com", NULL), 3);
	policy_destroy(p);

	/* a '#' of a Request-URI user, bare (as equipment sends it) or %23, meets
	 * a prefix written with either: the configuration keeps it as %23 */
	p = make("\"routes\": ["
		 "{\"name\": \"code\", \"match\": {\"user_prefix\": \"#31#\"}, \"target\": "
		 "\"10.0.0.1:1\"},"
		 "{\"name\": \"star\", \"match\": {\"user_prefix\": \"*%2\"}, \"target\": "
		 "\"10.0.0.1:2\"},"
		 "{\"name\": \"any\", \"target\": \"10.0.0.1:3\"}]");
	assert_int_equal(route(p, "#31#5551234", "x.org", NULL), 0);
	assert_int_equal(route(p, "%2331%235551234", "x.org", NULL), 0);
	assert_int_equal(route(p, "#31%235551234", "x.org", NULL), 0);
	assert_int_equal(route(p, "#31#", "x.org", NULL), 0);
	assert_int_equal(route(p, "#31", "x.org", NULL), 2); /* shorter than the prefix */
	assert_int_equal(route(p, "#32#1", "x.org", NULL), 2);
	assert_int_equal(route(p, "*#1", "x.org", NULL), 1); /* "*%2" ends inside the escape */
	assert_int_equal(route(p, "*%2B1", "x.org", NULL), 1);
	assert_int_equal(route(p, "*1", "x.org", NULL), 2);
	policy_destroy(p);

	/* nothing matches: -ENOENT, and the configured status is there to answer */
	p = make("\"no_route_status\": 480, \"routes\": ["
		 "{\"match\": {\"user_prefix\": \"+44\"}, \"target\": \"10.0.0.1:1\"},"
		 "{\"match\": {\"domain\": \"a.example\", \"source\": \"10.0.0.0/8\"}, "
		 "\"target\": \"10.0.0.1:2\"}]");
	assert_int_equal(route(p, "+33", "x", "1.1.1.1"), -ENOENT);
	assert_int_equal(route(p, "+33", "a.example", "11.0.0.1"), -ENOENT);
	assert_int_equal(route(p, "+33", "a.example", NULL), -ENOENT);
	assert_int_equal(route(p, "+33", "a.example", "10.0.0.1"), 1);
	assert_int_equal(policy_config(p)->no_route_status, 480);
	policy_destroy(p);
}

/* An IPv6 reference in a Request-URI names the address, whatever its text:
 * "[2001:db8::1]" and "[2001:db8:0:0:0:0:0:1]" are one host (RFC 5954
 * section 4, updating RFC 3261 19.1.4), so a route's domain written one way
 * matches a peer that writes the other. */
static void test_route_domain_ipv6_by_address(void **state)
{
	(void)state;
	struct policy *p =
	    make("\"routes\": ["
		 "{\"match\": {\"domain\": \"2001:DB8::1\"}, \"target\": \"10.0.0.1:1\"},"
		 "{\"target\": \"10.0.0.1:2\"}]");
	assert_int_equal(route(p, "7", "[2001:db8::1]", "203.0.113.1"), 0);
	assert_int_equal(route(p, "7", "[2001:db8:0:0:0:0:0:1]", "203.0.113.1"), 0);
	assert_int_equal(route(p, "7", "[2001:0db8::0001]", "203.0.113.1"), 0);
	assert_int_equal(route(p, "7", "[2001:db8::2]", "203.0.113.1"), 1);
	assert_int_equal(route(p, "7", "[2001:db8::1", "203.0.113.1"), 1);
	assert_int_equal(route(p, "7", "2001:db8::1", "203.0.113.1"), 1);
	policy_destroy(p);
}

/* The policy keeps its own copy: the caller's config may change or go. */
static void test_policy_owns_its_config(void **state)
{
	(void)state;
	struct policy *p =
	    make("\"routes\": [{\"name\": \"a\", \"match\": {\"user_prefix\": \"1\"}, "
		 "\"target\": \"10.0.0.1:1\"}, {\"name\": \"b\", \"target\": "
		 "\"10.0.0.2:2\"}], \"acl\": {\"default\": \"deny\", \"rules\": "
		 "[{\"action\": \"allow\", \"cidr\": \"10.0.0.0/8\"}]}");
	memset(&cfg, 0xa5, sizeof(cfg));
	assert_int_equal(route(p, "2", "x", "10.0.0.9"), 1);
	assert_int_equal(acl(p, "10.0.0.9"), 0);
	assert_int_equal(acl(p, "11.0.0.9"), -EACCES);
	assert_string_equal(policy_config(p)->routes[1].targets[0].text, "10.0.0.2:2");
	assert_string_equal(policy_config(p)->routes[1].name, "b");
	policy_destroy(p);
}

static int take(struct policy *p, const char *ip, uint64_t now)
{
	return policy_rate_take(p, SA(ip), now);
}

static void test_rate_burst_then_refill(void **state)
{
	struct policy_rate_stats st;
	(void)state;
	struct policy *p = make("\"limits\": {\"calls_per_second_per_source\": 2, \"burst\": 3}");
	const uint64_t t0 = 10 * S;

	for (int i = 0; i < 3; i++)
		assert_int_equal(take(p, "10.0.0.5", t0), 0);
	assert_int_equal(take(p, "10.0.0.5", t0), -EAGAIN);
	assert_int_equal(take(p, "10.0.0.5", t0), -EAGAIN); /* refusals cost nothing... */
	assert_int_equal(take(p, "10.0.0.6", t0), 0);	    /* ...and sources are separate */
	/* one token per 500 ms: not a nanosecond before */
	assert_int_equal(take(p, "10.0.0.5", t0 + 500 * MS - 1), -EAGAIN);
	assert_int_equal(take(p, "10.0.0.5", t0 + 500 * MS), 0);
	assert_int_equal(take(p, "10.0.0.5", t0 + 500 * MS), -EAGAIN);
	/* the port does not matter, and an IPv4 source is its v4-mapped self */
	assert_int_equal(policy_rate_take(p, SAP("10.0.0.5", 1234), t0 + 500 * MS), -EAGAIN);
	assert_int_equal(take(p, "::ffff:10.0.0.5", t0 + 500 * MS), -EAGAIN);
	/* after a long pause the bucket is full again: exactly the burst */
	for (int i = 0; i < 3; i++)
		assert_int_equal(take(p, "10.0.0.5", t0 + 60 * S), 0);
	assert_int_equal(take(p, "10.0.0.5", t0 + 60 * S), -EAGAIN);
	/* a steady 2 per second is always admitted */
	for (int i = 1; i <= 20; i++)
		assert_int_equal(take(p, "10.0.0.5", t0 + 60 * S + (uint64_t)i * 500 * MS), 0);
	/* a clock that steps back refuses rather than granting extra calls */
	assert_int_equal(take(p, "10.0.0.5", t0), -EAGAIN);
	policy_rate_stats(p, &st);
	assert_int_equal(st.capacity, 65536);
	assert_int_equal(st.occupied, 2);
	assert_int_equal(st.admitted, 3 + 1 + 1 + 3 + 20);
	assert_int_equal(st.refused, 2 + 1 + 1 + 2 + 1 + 1);
	assert_int_equal(st.evictions, 0);
	policy_destroy(p);

	/* burst 0 = one second's worth; IPv6 sources too */
	p = make("\"limits\": {\"calls_per_second_per_source\": 5}");
	for (int i = 0; i < 5; i++)
		assert_int_equal(take(p, "2001:db8::1", 0), 0);
	assert_int_equal(take(p, "2001:db8::1", 0), -EAGAIN);
	assert_int_equal(take(p, "2001:db8::2", 0), 0);
	assert_int_equal(take(p, "2001:db8::1", 200 * MS), 0);
	policy_destroy(p);
}

/* Large rates and long idle times: no overflow, no lost tokens. */
static void test_rate_extremes(void **state)
{
	(void)state;
	struct policy *p = make("\"limits\": {\"calls_per_second_per_source\": 1000000, "
				"\"burst\": 1000000}");
	uint64_t t = 5 * S;
	int admitted = 0;
	for (int i = 0; i < 1000; i++)
		admitted += take(p, "10.0.0.1", t) == 0;
	assert_int_equal(admitted, 1000);
	/* a year later, at a clock value near its top */
	t = UINT64_MAX - 400 * 86400 * S;
	assert_int_equal(take(p, "10.0.0.1", t), 0);
	policy_destroy(p);

	/* 1 per second, called every millisecond: exactly one call a second
	 * (a limiter that rounds each elapsed step down would starve this) */
	p = make("\"limits\": {\"calls_per_second_per_source\": 1, \"burst\": 1}");
	admitted = 0;
	for (uint64_t ms = 0; ms < 5000; ms++)
		admitted += take(p, "10.0.0.1", 100 * S + ms * MS) == 0;
	assert_int_equal(admitted, 5);
	policy_destroy(p);

	/* 4000 a second with a burst of 2, offered 8 a millisecond by a caller
	 * whose clock counts milliseconds (the controller's): 4000 admitted
	 * in a second, not 2 each millisecond (2000) */
	p = make("\"limits\": {\"calls_per_second_per_source\": 4000, \"burst\": 2}");
	admitted = 0;
	for (uint64_t ms = 0; ms < 1000; ms++)
		for (int i = 0; i < 8; i++)
			admitted += take(p, "10.0.0.1", 100 * S + ms * MS) == 0;
	assert_in_range(admitted, 4000, 4001);
	policy_destroy(p);

	/* no rate: always admitted, no table */
	p = make("");
	struct policy_rate_stats st;
	for (int i = 0; i < 100; i++)
		assert_int_equal(take(p, "10.0.0.1", 0), 0);
	policy_rate_stats(p, &st);
	assert_int_equal(st.capacity, 0);
	assert_int_equal(st.occupied, 0);
	policy_destroy(p);
}

/* 16 slots, so a probe window covers the whole table and the choice of
 * victim is exact: the source with the earliest TAT. */
static void test_rate_table_full_evicts_stalest(void **state)
{
	struct policy_rate_stats st;
	char ip[32];
	(void)state;
	struct policy *p = make("\"limits\": {\"calls_per_second_per_source\": 1, \"burst\": 2, "
				"\"rate_sources\": 16}");
	/* 16 sources drain their buckets, source i at i ms: TAT i ms + 2 s */
	for (int i = 0; i < 16; i++) {
		snprintf(ip, sizeof(ip), "10.0.1.%d", i);
		assert_int_equal(take(p, ip, (uint64_t)i * MS), 0);
		assert_int_equal(take(p, ip, (uint64_t)i * MS), 0);
		assert_int_equal(take(p, ip, (uint64_t)i * MS), -EAGAIN);
	}
	policy_rate_stats(p, &st);
	assert_int_equal(st.occupied, 16);
	assert_int_equal(st.evictions, 0);
	/* at 1 s every bucket is still in debt */
	const uint64_t now = S;
	assert_int_equal(take(p, "10.0.2.1", now), 0); /* a newcomer is admitted... */
	policy_rate_stats(p, &st);
	assert_int_equal(st.occupied, 16); /* ...without growing the table... */
	assert_int_equal(st.evictions, 1); /* ...by evicting one source */
	/* the evicted one is the stalest, 10.0.1.0: 10.0.1.1 is still remembered */
	assert_int_equal(take(p, "10.0.1.1", now), -EAGAIN);
	assert_int_equal(take(p, "10.0.1.0", now), 0); /* forgotten: a fresh bucket */
	assert_int_equal(take(p, "10.0.1.0", now), 0);
	assert_int_equal(take(p, "10.0.1.0", now), -EAGAIN);
	policy_rate_stats(p, &st);
	assert_int_equal(st.occupied, 16);
	/* 10.0.1.0 came back in place of the newcomer, whose TAT (2 s) was then
	 * the earliest */
	assert_int_equal(st.evictions, 2);
	assert_int_equal(take(p, "10.0.1.2", now), -EAGAIN);
	/* much later every bucket is full again: reusing those slots evicts no debt */
	for (int i = 0; i < 16; i++) {
		snprintf(ip, sizeof(ip), "10.0.3.%d", i);
		assert_int_equal(take(p, ip, 100 * S), 0);
	}
	policy_rate_stats(p, &st);
	assert_int_equal(st.occupied, 16);
	assert_int_equal(st.evictions, 2);
	policy_destroy(p);
}

/* A larger table under a flood of distinct sources: every newcomer either
 * fills an empty slot or evicts one, and the table never exceeds its size. */
static void test_rate_table_bounded_under_flood(void **state)
{
	struct policy_rate_stats st;
	(void)state;
	struct policy *p = make("\"limits\": {\"calls_per_second_per_source\": 10, "
				"\"rate_sources\": 1024}");
	const unsigned n = 20000;
	for (unsigned i = 0; i < n; i++) {
		char ip[48];
		snprintf(ip, sizeof(ip), "2001:db8::%x:%x", i >> 16, i & 0xffff);
		assert_int_equal(take(p, ip, 7 * S), 0);
	}
	policy_rate_stats(p, &st);
	assert_int_equal(st.capacity, 1024);
	assert_true(st.occupied <= 1024);
	assert_true(st.occupied > 900); /* the windows spread: the table did fill */
	assert_int_equal(st.occupied + st.evictions, n);
	assert_int_equal(st.admitted, n);
	/* a source that keeps calling is found again among the flood */
	for (int i = 0; i < 10; i++)
		assert_int_equal(take(p, "192.0.2.1", 7 * S), 0);
	assert_int_equal(take(p, "192.0.2.1", 7 * S), -EAGAIN);
	policy_destroy(p);
}

static void test_call_admit_release(void **state)
{
	(void)state;
	struct policy *p = make("\"limits\": {\"max_calls\": 3}");
	assert_int_equal(policy_calls(p), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(policy_call_admit(p), 0);
	assert_int_equal(policy_calls(p), 3);
	assert_int_equal(policy_call_admit(p), -EBUSY);
	assert_int_equal(policy_calls(p), 3);
	policy_call_release(p);
	assert_int_equal(policy_call_admit(p), 0);
	assert_int_equal(policy_call_admit(p), -EBUSY);
	/* more releases than admits stop at 0 and give no extra credit */
	for (int i = 0; i < 10; i++)
		policy_call_release(p);
	assert_int_equal(policy_calls(p), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(policy_call_admit(p), 0);
	assert_int_equal(policy_call_admit(p), -EBUSY);
	policy_destroy(p);

	p = make("\"limits\": {\"max_calls\": 1}");
	assert_int_equal(policy_call_admit(p), 0);
	assert_int_equal(policy_call_admit(p), -EBUSY);
	policy_destroy(p);
}

static int ood(const struct policy *p, const char *m)
{
	return policy_ood_status(p, m, strlen(m));
}

static void test_out_of_dialog(void **state)
{
	(void)state;
	struct policy *p = make("");
	assert_int_equal(ood(p, "OPTIONS"), 200);
	assert_int_equal(ood(p, "REGISTER"), 403);
	assert_int_equal(ood(p, "SUBSCRIBE"), 405);
	assert_int_equal(ood(p, "PUBLISH"), 405);
	assert_int_equal(ood(p, "MESSAGE"), 405);
	assert_int_equal(ood(p, "FOO"), 405);
	assert_int_equal(ood(p, "register"), 405); /* methods are case-sensitive */
	assert_int_equal(ood(p, "REGISTERX"), 405);
	assert_int_equal(ood(p, "REG"), 405);
	assert_int_equal(ood(p, ""), 405);
	/* the method is a view into a datagram: only len bytes count */
	assert_int_equal(policy_ood_status(p, "REGISTER sip:x SIP/2.0", 8), 403);
	policy_destroy(p);

	p = make("\"out_of_dialog\": {\"OPTIONS\": 503, \"NOTIFY\": 481, \"REGISTER\": 200, "
		 "\"default\": 501}");
	assert_int_equal(ood(p, "OPTIONS"), 503);
	assert_int_equal(ood(p, "NOTIFY"), 481);
	assert_int_equal(ood(p, "REGISTER"), 200);
	assert_int_equal(ood(p, "SUBSCRIBE"), 405); /* built-in, not overridden */
	assert_int_equal(ood(p, "FOO"), 501);
	policy_destroy(p);
}

/* A reload: the new policy takes over calls in progress and rate debts. */
static void test_inherit_on_reload(void **state)
{
	(void)state;
	struct policy *old =
	    make("\"limits\": {\"max_calls\": 10, \"calls_per_second_per_source\": "
		 "1, \"burst\": 5}");
	for (int i = 0; i < 4; i++)
		assert_int_equal(policy_call_admit(old), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(take(old, "10.0.0.1", 50 * S), 0);
	assert_int_equal(take(old, "10.0.0.2", 50 * S), 0);

	/* same limits: the drained source stays drained, the other keeps 4 */
	struct policy *p = make("\"limits\": {\"max_calls\": 5, \"calls_per_second_per_source\": "
				"1, \"burst\": 5}");
	policy_inherit(p, old, 50 * S);
	assert_int_equal(policy_calls(p), 4);
	assert_int_equal(policy_call_admit(p), 0);
	assert_int_equal(policy_call_admit(p), -EBUSY); /* 5 with the inherited 4 */
	assert_int_equal(take(p, "10.0.0.1", 50 * S), -EAGAIN);
	assert_int_equal(take(p, "10.0.0.1", 51 * S), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(take(p, "10.0.0.2", 50 * S), 0);
	assert_int_equal(take(p, "10.0.0.2", 50 * S), -EAGAIN);
	policy_destroy(p);

	/* a smaller burst: the debt is clamped, not kept at the old size */
	p = make("\"limits\": {\"calls_per_second_per_source\": 1, \"burst\": 2}");
	policy_inherit(p, old, 50 * S);
	assert_int_equal(take(p, "10.0.0.1", 50 * S), -EAGAIN);
	assert_int_equal(take(p, "10.0.0.1", 51 * S), 0); /* old debt would last 5 s */
	policy_destroy(p);

	/* rate limiting turned off: calls carry over, rates do not matter */
	p = make("\"limits\": {\"max_calls\": 100}");
	policy_inherit(p, old, 50 * S);
	assert_int_equal(policy_calls(p), 4);
	assert_int_equal(take(p, "10.0.0.1", 50 * S), 0);
	policy_destroy(p);
	policy_destroy(old);
	policy_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_acl_ipv4),
	    cmocka_unit_test(test_acl_ipv6),
	    cmocka_unit_test(test_routes_first_match),
	    cmocka_unit_test(test_route_domain_ipv6_by_address),
	    cmocka_unit_test(test_policy_owns_its_config),
	    cmocka_unit_test(test_rate_burst_then_refill),
	    cmocka_unit_test(test_rate_extremes),
	    cmocka_unit_test(test_rate_table_full_evicts_stalest),
	    cmocka_unit_test(test_rate_table_bounded_under_flood),
	    cmocka_unit_test(test_call_admit_release),
	    cmocka_unit_test(test_out_of_dialog),
	    cmocka_unit_test(test_inherit_on_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
