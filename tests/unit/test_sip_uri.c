/*
 * test_sip_uri.c - sip_parse_uri() and sip_parse_addr() (RFC 3261 19.1, 20.10,
 * 25.1; tel per RFC 3966 only as far as the header promises: the number).
 *
 * Covers: sip, sips and tel URIs, other schemes kept opaque, user, password,
 * host names, IPv4, IPv6 references with ports, the lr/transport/maddr/user
 * parameters, headers after '?', escaped characters (views are not decoded),
 * name-addr vs addr-spec with header parameters and tags, those parameters
 * one by one (sip_param_next), quoted display names
 * with escapes and unquoted token display names, and malformed input; two
 * URIs compared as RFC 3261 19.1.4 says (sip_uri_equal), and the addresses
 * of a comma-separated list one by one (sip_addr_list_next). Every
 * input is parsed from a heap buffer of exactly its size so that the ASan build
 * catches reads past the end, and every prefix of a few long inputs is parsed.
 * Does not cover: URIs inside whole messages (test_sip_parse.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sipshard/sip.h"

/* ---- helpers ------------------------------------------------------------ */

/* Heap copies of inputs, freed after each test (views point into them). */
#define MAX_COPIES 256
struct copies {
	char *p[MAX_COPIES];
	int n;
};
static struct copies copies;

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < copies.n; i++)
		free(copies.p[i]);
	copies.n = 0;
	return 0;
}

/* An exact-size heap copy of s, so that a read past its end is an ASan error. */
static const char *exact(const char *s, size_t n)
{
	assert_true(copies.n < MAX_COPIES);
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	copies.p[copies.n++] = p;
	return p;
}

struct in {
	const char *buf;
	size_t len;
};

static void check_view(struct in in, sip_view v, const char *want, const char *file, int line)
{
	size_t n = strlen(want);
	if ((size_t)v.off + v.len > in.len) {
		print_error("%s:%d: view off %u len %u runs past the input (%zu bytes); want "
			    "\"%s\"\n",
			    file, line, v.off, v.len, in.len, want);
		_fail(file, line);
	}
	if (v.len != n || memcmp(in.buf + v.off, want, n) != 0) {
		print_error("%s:%d: view is \"%.*s\" (off %u len %u), want \"%s\" in \"%.*s\"\n",
			    file, line, (int)v.len, in.buf + v.off, v.off, v.len, want, (int)in.len,
			    in.buf);
		_fail(file, line);
	}
}
#define assert_view(in, v, s) check_view((in), (v), (s), __FILE__, __LINE__)

static struct in uri_ok_at(struct sip_uri *u, const char *s, const char *file, int line)
{
	struct in in = {exact(s, strlen(s)), strlen(s)};
	memset(u, 0xA5, sizeof(*u)); /* the parser must set every field */
	int rc = sip_parse_uri(u, in.buf, 0, (uint16_t)in.len);
	if (rc != 0) {
		print_error("%s:%d: sip_parse_uri(\"%s\") returned %d\n", file, line, s, rc);
		_fail(file, line);
	}
	return in;
}
#define uri_ok(u, s) uri_ok_at((u), (s), __FILE__, __LINE__)

static void uri_bad_at(const char *s, const char *file, int line)
{
	struct sip_uri u;
	struct in in = {exact(s, strlen(s)), strlen(s)};
	int rc = sip_parse_uri(&u, in.buf, 0, (uint16_t)in.len);
	if (rc != -SIP_ERR_URI) {
		print_error("%s:%d: sip_parse_uri(\"%s\") returned %d, want -SIP_ERR_URI\n", file,
			    line, s, rc);
		_fail(file, line);
	}
}
#define uri_bad(s) uri_bad_at((s), __FILE__, __LINE__)

static struct in addr_ok_at(struct sip_addr *a, const char *s, const char *file, int line)
{
	struct in in = {exact(s, strlen(s)), strlen(s)};
	memset(a, 0xA5, sizeof(*a));
	int rc = sip_parse_addr(a, in.buf, 0, (uint16_t)in.len);
	if (rc != 0) {
		print_error("%s:%d: sip_parse_addr(\"%s\") returned %d\n", file, line, s, rc);
		_fail(file, line);
	}
	return in;
}
#define addr_ok(a, s) addr_ok_at((a), (s), __FILE__, __LINE__)

static void addr_bad_at(const char *s, const char *file, int line)
{
	struct sip_addr a;
	struct in in = {exact(s, strlen(s)), strlen(s)};
	int rc = sip_parse_addr(&a, in.buf, 0, (uint16_t)in.len);
	if (rc != -SIP_ERR_URI && rc != -SIP_ERR_BAD_VALUE) {
		print_error("%s:%d: sip_parse_addr(\"%s\") returned %d, want -SIP_ERR_URI or "
			    "-SIP_ERR_BAD_VALUE\n",
			    file, line, s, rc);
		_fail(file, line);
	}
}
#define addr_bad(s) addr_bad_at((s), __FILE__, __LINE__)

/* ---- sip and sips ------------------------------------------------------- */

static void test_sip_full(void **state)
{
	(void)state;
	struct sip_uri u;
	struct in in = uri_ok(&u, "sip:alice:secretword@atlanta.example.com:5061;transport=tcp;lr;"
				  "maddr=239.255.255.1;user=phone;ttl=15?subject=project%20x&"
				  "priority=urgent");
	assert_int_equal(u.scheme, SIP_SCHEME_SIP);
	assert_int_equal(u.whole.off, 0);
	assert_int_equal(u.whole.len, in.len);
	assert_view(in, u.user, "alice");
	assert_view(in, u.password, "secretword");
	assert_view(in, u.host, "atlanta.example.com");
	assert_int_equal(u.host_type, SIP_HOST_NAME);
	assert_int_equal(u.port, 5061);
	assert_view(in, u.params, "transport=tcp;lr;maddr=239.255.255.1;user=phone;ttl=15");
	assert_view(in, u.transport, "tcp");
	assert_view(in, u.maddr, "239.255.255.1");
	assert_view(in, u.user_param, "phone");
	assert_true(u.lr);
	assert_view(in, u.headers, "subject=project%20x&priority=urgent");
}

static void test_sip_minimal(void **state)
{
	(void)state;
	struct sip_uri u;
	struct in in = uri_ok(&u, "sip:biloxi.example.com");
	assert_int_equal(u.scheme, SIP_SCHEME_SIP);
	assert_int_equal(u.user.len, 0);
	assert_int_equal(u.password.len, 0);
	assert_false(u.has_password);
	assert_view(in, u.host, "biloxi.example.com");
	assert_int_equal(u.host_type, SIP_HOST_NAME);
	assert_int_equal(u.port, 0);
	assert_false(u.has_port);
	assert_int_equal(u.params.len, 0);
	assert_int_equal(u.headers.len, 0);
	assert_int_equal(u.transport.len, 0);
	assert_int_equal(u.maddr.len, 0);
	assert_int_equal(u.user_param.len, 0);
	assert_false(u.lr);

	in = uri_ok(&u, "sips:bob@secure.example.com");
	assert_int_equal(u.scheme, SIP_SCHEME_SIPS);
	assert_view(in, u.user, "bob");
	assert_view(in, u.host, "secure.example.com");

	/* Schemes are case-insensitive (RFC 3261 19.1.4); the user part is not folded. */
	in = uri_ok(&u, "SIP:Bob@Biloxi.Example.COM");
	assert_int_equal(u.scheme, SIP_SCHEME_SIP);
	assert_view(in, u.user, "Bob");
	assert_view(in, u.host, "Biloxi.Example.COM");
	in = uri_ok(&u, "SiPs:bob@h");
	assert_int_equal(u.scheme, SIP_SCHEME_SIPS);

	/* A fully qualified host name may end in a dot; labels may hold digits and '-'. */
	in = uri_ok(&u, "sip:a@x-1.example.com.");
	assert_view(in, u.host, "x-1.example.com.");
	assert_int_equal(u.host_type, SIP_HOST_NAME);
	in = uri_ok(&u, "sip:localhost:5060");
	assert_view(in, u.host, "localhost");
	assert_int_equal(u.port, 5060);
}

static void test_hosts(void **state)
{
	(void)state;
	struct sip_uri u;
	struct in in = uri_ok(&u, "sip:192.0.2.4:5060");
	assert_int_equal(u.user.len, 0);
	assert_view(in, u.host, "192.0.2.4");
	assert_int_equal(u.host_type, SIP_HOST_IPV4);
	assert_int_equal(u.port, 5060);

	in = uri_ok(&u, "sip:alice@127.0.0.1");
	assert_view(in, u.host, "127.0.0.1");
	assert_int_equal(u.host_type, SIP_HOST_IPV4);
	assert_int_equal(u.port, 0);

	in = uri_ok(&u, "sip:[2001:db8::10]:5070");
	assert_view(in, u.host, "[2001:db8::10]");
	assert_int_equal(u.host_type, SIP_HOST_IPV6);
	assert_int_equal(u.port, 5070);

	in = uri_ok(&u, "sips:alice@[::1];transport=tls");
	assert_view(in, u.host, "[::1]");
	assert_int_equal(u.host_type, SIP_HOST_IPV6);
	assert_int_equal(u.port, 0);
	assert_view(in, u.transport, "tls");

	in = uri_ok(&u, "sip:[2001:db8:0:0:0:0:0:1]");
	assert_view(in, u.host, "[2001:db8:0:0:0:0:0:1]");
	in = uri_ok(&u, "sip:[::ffff:192.0.2.1]:65535");
	assert_view(in, u.host, "[::ffff:192.0.2.1]");
	assert_int_equal(u.host_type, SIP_HOST_IPV6);
	assert_int_equal(u.port, 65535);
	assert_true(u.has_port);

	/* port = 1*DIGIT (RFC 3261 25.1): 0 is one, told from none */
	in = uri_ok(&u, "sip:192.0.2.4:0;lr");
	assert_int_equal(u.port, 0);
	assert_true(u.has_port);
	assert_true(u.lr);
	in = uri_ok(&u, "sip:[::1]:00");
	assert_int_equal(u.port, 0);
	assert_true(u.has_port);

	/* Something that starts like an IPv4 address but ends in a label is a name. */
	in = uri_ok(&u, "sip:192.0.2.example.com");
	assert_int_equal(u.host_type, SIP_HOST_NAME);

	/* A '_' in a host name (25.1 has none; machines are named so, as a
	 * Contact or From of a PBX shows): taken anywhere in a name. */
	in = uri_ok(&u, "sip:asterisk@enlite_dev:5060;transport=udp");
	assert_view(in, u.user, "asterisk");
	assert_view(in, u.host, "enlite_dev");
	assert_int_equal(u.host_type, SIP_HOST_NAME);
	assert_int_equal(u.port, 5060);
	assert_view(in, u.transport, "udp");
	in = uri_ok(&u, "sip:+123456@long_duration.sample.com;timeout=60");
	assert_view(in, u.host, "long_duration.sample.com");
	in = uri_ok(&u, "sip:pbx_1.example.com;lr");
	assert_int_equal(u.user.len, 0);
	assert_view(in, u.host, "pbx_1.example.com");
	assert_true(u.lr);
	in = uri_ok(&u, "sip:a__b_.c_");
	assert_view(in, u.host, "a__b_.c_");
	in = uri_ok(&u, "sip:1_2.3.4");
	assert_int_equal(u.host_type, SIP_HOST_NAME);
	in = uri_ok(&u, "sip:alice@_pbx");
	assert_view(in, u.host, "_pbx");
	uri_bad("sip:alice@pbx_1.example.com:50_60");
	uri_bad("sip:alice@[::1]_x");

	/* IPv4: four parts of 1 to 3 digits, each at most 255, leading zeros
	 * allowed; anything else made of host bytes is a name. */
	static const struct {
		const char *uri;
		uint8_t type;
	} v4[] = {
	    {"sip:0.0.0.0", SIP_HOST_IPV4},
	    {"sip:255.255.255.255", SIP_HOST_IPV4},
	    {"sip:010.001.000.099", SIP_HOST_IPV4},
	    {"sip:256.1.1.1", SIP_HOST_NAME},
	    {"sip:1.2.3.256", SIP_HOST_NAME},
	    {"sip:1.2.3", SIP_HOST_NAME},
	    {"sip:1.2.3.4.5", SIP_HOST_NAME},
	    {"sip:1.2.3.4.", SIP_HOST_NAME},
	    {"sip:1..3.4", SIP_HOST_NAME},
	    {"sip:0001.2.3.4", SIP_HOST_NAME},
	    {"sip:1.2.3.4a", SIP_HOST_NAME},
	    {"sip:1.2.3.4:5060", SIP_HOST_IPV4},
	    {"sip:199.249.255.250", SIP_HOST_IPV4},
	    {"sip:1.2.3.260", SIP_HOST_NAME},
	    {"sip:1.2.3.1000", SIP_HOST_NAME},
	    {"sip:1.2.3.", SIP_HOST_NAME},
	    /* after a user part the host is read as an address first */
	    {"sip:u@1.2.3.4", SIP_HOST_IPV4},
	    {"sip:u@01.2.3.4:5060", SIP_HOST_IPV4},
	    {"sip:u@1.2.3.4;lr", SIP_HOST_IPV4},
	    {"sip:u@1.2.3.4a", SIP_HOST_NAME},
	    {"sip:u@1.2.3.4-x", SIP_HOST_NAME},
	    {"sip:u@1.2.3.4.5", SIP_HOST_NAME},
	    {"sip:u@256.1.1.1", SIP_HOST_NAME},
	    {"sip:u@1.2.3", SIP_HOST_NAME},
	    {"sip:u@1.2.3.4567", SIP_HOST_NAME},
	};
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		uri_ok(&u, v4[i].uri);
		if (u.host_type != v4[i].type)
			fail_msg("%s: host type %d, expected %d", v4[i].uri, u.host_type,
				 v4[i].type);
	}
}

/*
 * An IPv6reference is "[" IPv6address "]" with RFC 3986's IPv6address (RFC
 * 5954 section 4 replaces the RFC 3261 25.1 rule with it): up to eight groups
 * of 1 to 4 hex digits, the last two of which may be an IPv4address, and one
 * "::" for one or more groups. Hex, colons and dots in any other order are
 * no address.
 */
static void test_ipv6_references(void **state)
{
	(void)state;
	struct sip_uri u;
	static const char *const good[] = {
	    "sip:[1:2:3:4:5:6:7::]",	    /* "::" for the last group: eight colons */
	    "sip:u@[::2:3:4:5:6:7:8]:5060", /* and for the first */
	    "sip:[1:2:3:4:5:6:7:8]",	    /* no "::" */
	    "sip:[::]",
	    "sip:[2001:db8::192.0.2.1]", /* IPv4 in the last 32 bits */
	    "sip:[1:2:3:4:5:6:192.0.2.1]",
	    "sip:[2001:db8:::192.0.2.1]", /* RFC 5118 4.10: RFC 3261's own rule */
	    "sip:[2001:db8::10:5070]",	  /* RFC 5118 4.3: no port, a group */
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uri_ok(&u, good[i]);
		assert_int_equal(u.host_type, SIP_HOST_IPV6);
	}
	struct in in = uri_ok(&u, "sip:[2001:db8::10:5070]");
	assert_view(in, u.host, "[2001:db8::10:5070]");
	assert_false(u.has_port);
	in = uri_ok(&u, "sip:[::2:3:4:5:6:7:8]:5060");
	assert_view(in, u.host, "[::2:3:4:5:6:7:8]");
	assert_int_equal(u.port, 5060);

	static const char *const bad[] = {
	    "sip:[1::2::3]",	       /* two "::" */
	    "sip:[...:..:]",	       /* no groups */
	    "sip:[20017db8::1]",       /* a group of eight digits */
	    "sip:[1:2:3:4:5:6:7:8:9]", /* nine groups */
	    "sip:[1::2:3:4:5:6:7:8]",  /* eight groups and a "::" */
	    "sip:[1:2:3:4:5:6:7]",     /* seven groups, no "::" */
	    "sip:[:1::2]",	       /* a lone leading ':' */
	    "sip:[1:]",		       /* a lone trailing ':' */
	    "sip:[::256.1.1.1]",       /* no IPv4address */
	    "sip:[1.2.3.4]",	       /* an IPv4address alone */
	    "sip:[fe80::1%25eth0]",    /* a zone (RFC 6874), not in SIP */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		uri_bad(bad[i]);
}

static void test_user_and_password(void **state)
{
	(void)state;
	struct sip_uri u;
	/* RFC 3261 19.1.3 example: a telephone-subscriber user with a password. */
	struct in in = uri_ok(&u, "sip:+1-212-555-1212:1234@gateway.com;user=phone");
	assert_view(in, u.user, "+1-212-555-1212");
	assert_view(in, u.password, "1234");
	assert_view(in, u.host, "gateway.com");
	assert_view(in, u.user_param, "phone");

	/* Escapes stay escaped in views. */
	in = uri_ok(&u, "sip:alice%40home@example.com");
	assert_view(in, u.user, "alice%40home");
	assert_view(in, u.host, "example.com");
	in = uri_ok(&u, "sip:%61lice:p%40ss@example.com");
	assert_view(in, u.user, "%61lice");
	assert_view(in, u.password, "p%40ss");

	/* user-unreserved holds ';' '&' '=' '+' '$' ',' '/': ';' before '@' is not a param. */
	in = uri_ok(&u, "sip:user;par=u%40example.net@example.com");
	assert_view(in, u.user, "user;par=u%40example.net");
	assert_view(in, u.host, "example.com");
	assert_int_equal(u.params.len, 0);
	in = uri_ok(&u, "sip:a&b=c+d$e,f/g@example.com;lr");
	assert_view(in, u.user, "a&b=c+d$e,f/g");
	assert_true(u.lr);

	/* The password ends at the '@'; a ':' in it, or a bad escape on either
	 * side of the first ':', is no URI. */
	uri_bad("sip:a:b:c@example.com");
	uri_bad("sip:a:b%4@example.com");
	uri_bad("sip:a%4:b@example.com");
	in = uri_ok(&u, "sip:example.com:5060;transport=udp");
	assert_int_equal(u.user.len, 0);
	assert_view(in, u.host, "example.com");
	assert_int_equal(u.port, 5060);

	/* An empty password after ':' is allowed (password = *(...)). */
	in = uri_ok(&u, "sip:alice:@example.com");
	assert_view(in, u.user, "alice");
	assert_int_equal(u.password.len, 0);
	assert_true(u.has_password);
	in = uri_ok(&u, "sip:alice@example.com");
	assert_false(u.has_password);
}

/* A bare '#' in a user part, which RFC 3261 25.1 writes %23, as feature codes
 * and Microsoft Teams Direct Routing send it: taken in the user part only. */
static void test_user_hash(void **state)
{
	(void)state;
	struct sip_uri u;
	struct in in = uri_ok(&u, "sip:#123@teams.example.com:5081;user=phone;transport=tls");
	assert_view(in, u.user, "#123");
	assert_view(in, u.host, "teams.example.com");
	assert_int_equal(u.port, 5081);
	assert_view(in, u.user_param, "phone");
	in = uri_ok(&u, "sip:*97#@pbx.example.com");
	assert_view(in, u.user, "*97#");
	in = uri_ok(&u, "sips:#31#5551234:pw@h");
	assert_view(in, u.user, "#31#5551234");
	assert_view(in, u.password, "pw");

	/* nowhere else: host, port, password, parameter, header */
	uri_bad("sip:alice@exa#mple.com");
	uri_bad("sip:example.com#");
	uri_bad("sip:alice@example.com:50#60");
	uri_bad("sip:alice:p#w@example.com");
	uri_bad("sip:alice@example.com;x=#");
	uri_bad("sip:alice@example.com;#");
	uri_bad("sip:alice@example.com?subject=#");
}

static void test_params(void **state)
{
	(void)state;
	struct sip_uri u;
	struct in in = uri_ok(&u, "sip:proxy.example.com;lr");
	assert_true(u.lr);
	assert_view(in, u.params, "lr");

	/* Parameter names are case-insensitive; values are kept as written. */
	in = uri_ok(&u, "sip:proxy.example.com;LR;Transport=UDP;MADDR=192.0.2.9;User=ip");
	assert_true(u.lr);
	assert_view(in, u.transport, "UDP");
	assert_view(in, u.maddr, "192.0.2.9");
	assert_view(in, u.user_param, "ip");

	/* lr with a value (RFC 3261 allows lr=on from older implementations). */
	in = uri_ok(&u, "sip:proxy.example.com;lr=on");
	assert_true(u.lr);

	/* Names that only start like known ones are other parameters. */
	in = uri_ok(&u, "sip:proxy.example.com;lrx;transports=tcp;x-maddr=1;users=2");
	assert_false(u.lr);
	assert_int_equal(u.transport.len, 0);
	assert_int_equal(u.maddr.len, 0);
	assert_int_equal(u.user_param.len, 0);
	assert_view(in, u.params, "lrx;transports=tcp;x-maddr=1;users=2");

	/* A name written with escapes is the name they stand for (RFC 3261
	 * 19.1.4); the values stay as written. */
	in = uri_ok(&u, "sip:h;%6Cr;m%61ddr=192.0.2.9;TR%41NSPORT=t%63p;%75%73%65%72=phone");
	assert_true(u.lr);
	assert_view(in, u.maddr, "192.0.2.9");
	assert_view(in, u.transport, "t%63p");
	assert_view(in, u.user_param, "phone");
	in = uri_ok(&u, "sip:h;%6C%72x;%6Cr=on;x%2Dmaddr=1;%6D");
	assert_true(u.lr);
	assert_int_equal(u.maddr.len, 0);
	in = uri_ok(&u, "sip:h;%6C%7A;m%61dd=1");
	assert_false(u.lr);
	assert_int_equal(u.maddr.len, 0);
	struct sip_addr ea;
	in = addr_ok(&ea, "<sip:198.51.100.17;%6cr>");
	assert_true(ea.uri.lr);
	assert_true(sip_unescaped_ieq("M%41ddr", "M%41ddr" + 7, "maddr"));
	assert_false(sip_unescaped_ieq("maddr", "maddr" + 4, "maddr"));
	assert_false(sip_unescaped_ieq("maddrs", "maddrs" + 6, "maddr"));
	assert_false(sip_unescaped_ieq("m%00addr", "m%00addr" + 8, "maddr"));
	/* '%' without two hex digits after it is itself: "%5g" is no 'p' */
	assert_false(sip_unescaped_ieq("trans%5gort", "trans%5gort" + 11, "transport"));
	assert_true(sip_unescaped_ieq("trans%50ort", "trans%50ort" + 11, "transport"));

	/* Unknown params, escapes and param-unreserved characters. */
	in = uri_ok(&u, "sip:h;x-a=%20b;x-c=[d]/e:f&g+h$i;x-flag;transport=ws");
	assert_view(in, u.transport, "ws");
	assert_view(in, u.params, "x-a=%20b;x-c=[d]/e:f&g+h$i;x-flag;transport=ws");

	/* The IPv6 maddr keeps its brackets. */
	in = uri_ok(&u, "sip:h;maddr=[2001:db8::1]");
	assert_view(in, u.maddr, "[2001:db8::1]");

	/* ";lr>" in a name-addr is read in one load; the spellings it must leave
	 * to the parameter reader give the same views (the '>' is not the URI's). */
	static const struct {
		const char *addr, *params;
		bool lr;
	} route[] = {
	    {"<sip:198.51.100.17;lr>", "lr", true},
	    {"<sip:198.51.100.17;LR>", "LR", true},
	    {"<sip:proxy.example.com;lR>", "lR", true},
	    {"<sip:198.51.100.17;lr;ftag=x>", "lr;ftag=x", true},
	    {"<sip:198.51.100.17;lr=on>", "lr=on", true},
	    {"<sip:198.51.100.17;lrx>", "lrx", false},
	    {"<sip:198.51.100.17;l>", "l", false},
	    {"<sip:p:5060;lr>", "lr", true},
	};
	for (size_t i = 0; i < sizeof(route) / sizeof(route[0]); i++) {
		struct sip_addr a;
		in = addr_ok(&a, route[i].addr);
		assert_int_equal(a.uri.lr, route[i].lr);
		assert_view(in, a.uri.params, route[i].params);
		assert_int_equal(in.buf[a.uri.whole.off + a.uri.whole.len], '>');
	}
}

static void test_headers(void **state)
{
	(void)state;
	struct sip_uri u;
	struct in in = uri_ok(&u, "sip:bob@example.com?Subject=hi&Call-ID=x%40y");
	assert_view(in, u.host, "example.com");
	assert_int_equal(u.params.len, 0);
	assert_view(in, u.headers, "Subject=hi&Call-ID=x%40y");

	in = uri_ok(&u, "sip:carol@chicago.example.com;method=INVITE?Replaces=12345%40192.0.2.7%"
			"3Bto-tag%3D1%3Bfrom-tag%3D2");
	assert_view(in, u.params, "method=INVITE");
	assert_view(in, u.headers, "Replaces=12345%40192.0.2.7%3Bto-tag%3D1%3Bfrom-tag%3D2");

	/* An empty header value. */
	in = uri_ok(&u, "sip:bob@example.com?body=");
	assert_view(in, u.headers, "body=");
}

/* ---- tel and other schemes --------------------------------------------- */

static void test_tel(void **state)
{
	(void)state;
	struct sip_uri u;
	struct in in = uri_ok(&u, "tel:+1-201-555-0123");
	assert_int_equal(u.scheme, SIP_SCHEME_TEL);
	assert_view(in, u.user, "+1-201-555-0123");
	assert_int_equal(u.port, 0);

	in = uri_ok(&u, "tel:7042;phone-context=example.com");
	assert_int_equal(u.scheme, SIP_SCHEME_TEL);
	assert_view(in, u.user, "7042");

	in = uri_ok(&u, "TEL:+15551234567");
	assert_int_equal(u.scheme, SIP_SCHEME_TEL);
	assert_view(in, u.user, "+15551234567");

	/* RFC 3966's phonedigit-hex has '*' and '#': in the number only */
	in = uri_ok(&u, "tel:*97#;phone-context=example.com");
	assert_int_equal(u.scheme, SIP_SCHEME_TEL);
	assert_view(in, u.user, "*97#");
	assert_view(in, u.params, "phone-context=example.com");
	in = uri_ok(&u, "tel:#31#5551234");
	assert_view(in, u.user, "#31#5551234");
	uri_bad("tel:5551234;phone-context=#");
	uri_bad("tel:5551234;#");
}

static void test_opaque_schemes(void **state)
{
	(void)state;
	struct sip_uri u;
	struct in in = uri_ok(&u, "urn:service:sos");
	assert_int_equal(u.scheme, SIP_SCHEME_OTHER);
	assert_view(in, u.whole, "urn:service:sos");
	assert_view(in, u.opaque, "service:sos");
	assert_int_equal(u.port, 0);
	assert_int_equal(u.host_type, SIP_HOST_NONE);

	in = uri_ok(&u, "http://www.example.com/a/b?c=d;e");
	assert_int_equal(u.scheme, SIP_SCHEME_OTHER);
	assert_view(in, u.opaque, "//www.example.com/a/b?c=d;e");

	in = uri_ok(&u, "mailto:alice@example.com");
	assert_int_equal(u.scheme, SIP_SCHEME_OTHER);
	assert_view(in, u.opaque, "alice@example.com");

	/* Scheme characters: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
	in = uri_ok(&u, "x-my.scheme+2:whatever");
	assert_int_equal(u.scheme, SIP_SCHEME_OTHER);
	assert_view(in, u.opaque, "whatever");

	/* "sipx" and "tels" are other schemes, not sip/tel. */
	in = uri_ok(&u, "sipx:foo");
	assert_int_equal(u.scheme, SIP_SCHEME_OTHER);
	in = uri_ok(&u, "tels:foo");
	assert_int_equal(u.scheme, SIP_SCHEME_OTHER);
}

/* ---- bounds ------------------------------------------------------------- */

static void test_offset_and_length_bound(void **state)
{
	(void)state;
	struct sip_uri u;
	/* The URI sits inside a larger buffer: views are offsets into that buffer. */
	const char *s = "To: <sip:alice@example.com:5060;lr>;tag=1";
	struct in in = {exact(s, strlen(s)), strlen(s)};
	assert_int_equal(sip_parse_uri(&u, in.buf, 5, 29), 0);
	assert_view(in, u.whole, "sip:alice@example.com:5060;lr");
	assert_int_equal(u.whole.off, 5);
	assert_view(in, u.user, "alice");
	assert_int_equal(u.user.off, 9);
	assert_int_equal(u.port, 5060);
	assert_true(u.lr);

	/* The length bounds the URI: bytes after it are not part of it. */
	assert_int_equal(sip_parse_uri(&u, in.buf, 5, 21), 0);
	assert_view(in, u.host, "example.com");
	assert_int_equal(u.port, 0);
	assert_false(u.lr);
	assert_int_equal(u.params.len, 0);
	assert_int_equal(sip_parse_uri(&u, in.buf, 5, 28), 0);
	assert_int_equal(u.port, 5060);
	assert_false(u.lr);
	/* ... and a cut in the middle of a port leaves a shorter port. */
	assert_int_equal(sip_parse_uri(&u, in.buf, 5, 24), 0);
	assert_int_equal(u.port, 50);

	/* Every prefix of long URIs parses without reading past its end. */
	static const char *longs[] = {
	    "sips:alice:secret@[2001:db8::10]:5061;transport=tls;lr;maddr=[2001:db8::1];"
	    "user=phone?subject=x%20y&priority=urgent",
	    "sip:user;par=u%40example.net@192.0.2.4:5060;lr=on;x",
	    "tel:+1-201-555-0123;phone-context=example.com",
	    "urn:service:sos.fire",
	};
	for (size_t k = 0; k < sizeof(longs) / sizeof(longs[0]); k++) {
		size_t n = strlen(longs[k]);
		for (size_t i = 0; i <= n; i++) {
			char *p = malloc(i ? i : 1);
			assert_non_null(p);
			memcpy(p, longs[k], i);
			int rc = sip_parse_uri(&u, p, 0, (uint16_t)i);
			assert_true(rc == 0 || rc == -SIP_ERR_URI);
			if (rc == 0) {
				assert_true((size_t)u.whole.off + u.whole.len <= i);
				assert_true((size_t)u.host.off + u.host.len <= i);
				assert_true((size_t)u.params.off + u.params.len <= i);
				assert_true((size_t)u.headers.off + u.headers.len <= i);
			}
			free(p);
		}
	}
}

/* ---- malformed URIs ----------------------------------------------------- */

static void test_malformed_uris(void **state)
{
	(void)state;
	static const char *bad[] = {
	    "",
	    "sip",
	    "sip:",
	    ":foo",
	    "1sip:foo",			    /* scheme starts with a letter */
	    "s p:foo",			    /* space in scheme */
	    "sip:@example.com",		    /* empty user */
	    "sip:alice@",		    /* empty host */
	    "sip:alice@exa mple.com",	    /* space */
	    "sip:alice@exa<mple.com",	    /* '<' */
	    "sip:alice@example.com>",	    /* '>' */
	    "sip:[2001:db8::1",		    /* unclosed IPv6 reference */
	    "sip:2001:db8::1",		    /* IPv6 without brackets */
	    "sip:[2001:db8::1]x",	    /* junk after reference */
	    "sip:[]",			    /* empty reference */
	    "sip:[example.com]",	    /* not an IPv6 address */
	    "sip:example.com:",		    /* empty port */
	    "sip:example.com:5x",	    /* port not digits */
	    "sip:example.com:65536",	    /* port out of range */
	    "sip:example.com:99999999999",  /* port wraps */
	    "sip:example.com:-1",	    /* negative port */
	    "sip:al%zzice@example.com",	    /* bad escape */
	    "sip:alice%4@example.com",	    /* short escape */
	    "sip:alice%@example.com",	    /* bare '%' */
	    "sip:alice@-example.com",	    /* label starts with '-' */
	    "sip:a\"b@example.com",	    /* quote */
	    "sip:alice@example.com;lr\r\n", /* CRLF */
	    "sip:alice@ex\tample.com",	    /* tab */
	    "tel:",			    /* empty number */
	    "sips:",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		uri_bad(bad[i]);

	/* A NUL byte inside is not a URI character. */
	struct sip_uri u;
	static const char nul[] = "sip:ali\0ce@example.com";
	const char *p = exact(nul, sizeof(nul) - 1);
	assert_int_equal(sip_parse_uri(&u, p, 0, sizeof(nul) - 1), -SIP_ERR_URI);
	static const char nul2[] = "sip:alice@example.com\0";
	p = exact(nul2, sizeof(nul2) - 1);
	assert_int_equal(sip_parse_uri(&u, p, 0, sizeof(nul2) - 1), -SIP_ERR_URI);
}

/* ---- name-addr and addr-spec ------------------------------------------- */

static void test_name_addr_quoted(void **state)
{
	(void)state;
	struct sip_addr a;
	struct in in =
	    addr_ok(&a, "\"Alice \\\"A\\\" Smith\" <sip:alice@atlanta.example.com>;tag=123");
	assert_int_equal(a.whole.off, 0);
	assert_int_equal(a.whole.len, in.len);
	assert_view(in, a.display, "Alice \\\"A\\\" Smith");
	assert_view(in, a.uri.whole, "sip:alice@atlanta.example.com");
	assert_view(in, a.uri.user, "alice");
	assert_int_equal(a.uri.scheme, SIP_SCHEME_SIP);
	assert_view(in, a.params, "tag=123");
	assert_true(a.has_tag);
	assert_view(in, a.tag, "123");

	/* An escaped backslash right before the closing quote ends the string. */
	in = addr_ok(&a, "\"Bob \\\\\" <sip:bob@biloxi.example.com>");
	assert_view(in, a.display, "Bob \\\\");
	assert_view(in, a.uri.host, "biloxi.example.com");
	assert_false(a.has_tag);
	assert_int_equal(a.tag.len, 0);
	assert_int_equal(a.params.len, 0);

	/* Quoted display names may hold the characters that delimit everything else. */
	in = addr_ok(&a, "\"<sip:x@y>;tag=evil, \\\\ @\" <sip:bob@b.example.com>;tag=good");
	assert_view(in, a.display, "<sip:x@y>;tag=evil, \\\\ @");
	assert_view(in, a.uri.host, "b.example.com");
	assert_view(in, a.tag, "good");

	/* Empty, UTF-8 and no space before '<'. */
	in = addr_ok(&a, "\"\" <sip:bob@b.example.com>");
	assert_int_equal(a.display.len, 0);
	assert_view(in, a.uri.user, "bob");
	in = addr_ok(&a, "\"Bj\xc3\xb8rn\"<sip:bjorn@b.example.com>");
	assert_view(in, a.display, "Bj\xc3\xb8rn");
	assert_view(in, a.uri.user, "bjorn");
}

static void test_name_addr_token(void **state)
{
	(void)state;
	struct sip_addr a;
	struct in in = addr_ok(&a, "Bob Smith <sip:bob@biloxi.example.com>");
	assert_view(in, a.display, "Bob Smith");
	assert_view(in, a.uri.whole, "sip:bob@biloxi.example.com");
	assert_false(a.has_tag);

	in = addr_ok(&a, "Mr.Bob-Smith_1!%*+`'~ <sip:bob@biloxi.example.com>;tag=x");
	assert_view(in, a.display, "Mr.Bob-Smith_1!%*+`'~");
	assert_view(in, a.tag, "x");

	/* A name in UTF-8 not in quotes (25.1 has tokens, ASCII), as equipment
	 * writes it: its bytes have no role before the '<', so it is taken as
	 * it would be quoted. */
	in = addr_ok(&a, "J\xc3\xbcrgen M\xc3\xbcller <sip:jm@b.example.com>;tag=u");
	assert_view(in, a.display, "J\xc3\xbcrgen M\xc3\xbcller");
	assert_view(in, a.uri.user, "jm");
	assert_view(in, a.tag, "u");
	in = addr_ok(&a, "\xe5\xbc\xa0\xe4\xb8\x89<sip:2102@192.168.11.23>");
	assert_view(in, a.display, "\xe5\xbc\xa0\xe4\xb8\x89");
	/* but not in the URI, nor as a URI without '<' */
	addr_bad("J\xc3\xbcrgen <sip:j\xc3\xbc@b.example.com>");
	addr_bad("sip:j\xc3\xbc@b.example.com");

	/* No display name at all. */
	in = addr_ok(&a, "<sip:bob@biloxi.example.com;transport=udp>;tag=1;expires=60");
	assert_int_equal(a.display.len, 0);
	assert_view(in, a.uri.transport, "udp");
	assert_view(in, a.uri.params, "transport=udp");
	assert_view(in, a.params, "tag=1;expires=60");
	assert_view(in, a.tag, "1");

	/* Header params with LWS around ';' and '=' and case-insensitive names. */
	in = addr_ok(&a, "<sip:bob@b.example.com> ; TAG = a6c85cf.-!%*_+`'~ ; x=\"q;tag=no\"");
	assert_true(a.has_tag);
	assert_view(in, a.tag, "a6c85cf.-!%*_+`'~");

	/* A tag parameter only after another param, and a param named like tag. */
	in = addr_ok(&a, "<sip:bob@b.example.com>;tagx=1;x-tag=2;tag=3");
	assert_view(in, a.tag, "3");
	in = addr_ok(&a, "<sip:bob@b.example.com>;tagx=1;x-tag=2");
	assert_false(a.has_tag);
}

static void test_addr_spec(void **state)
{
	(void)state;
	struct sip_addr a;
	/* RFC 3261 20.10: without <>, the parameters after the URI are header parameters. */
	struct in in = addr_ok(&a, "sip:bob@biloxi.example.com;tag=abc;transport=tcp");
	assert_int_equal(a.display.len, 0);
	assert_view(in, a.uri.whole, "sip:bob@biloxi.example.com");
	assert_int_equal(a.uri.params.len, 0);
	assert_int_equal(a.uri.transport.len, 0);
	assert_view(in, a.params, "tag=abc;transport=tcp");
	assert_true(a.has_tag);
	assert_view(in, a.tag, "abc");

	in = addr_ok(&a, "sip:bob@biloxi.example.com");
	assert_view(in, a.uri.host, "biloxi.example.com");
	assert_false(a.has_tag);
	assert_int_equal(a.params.len, 0);

	in = addr_ok(&a, "tel:+1-201-555-0123;tag=t1");
	assert_int_equal(a.uri.scheme, SIP_SCHEME_TEL);
	assert_view(in, a.uri.user, "+1-201-555-0123");
	assert_view(in, a.tag, "t1");
}

static void test_addr_other_schemes(void **state)
{
	(void)state;
	struct sip_addr a;
	struct in in = addr_ok(&a, "<urn:service:sos>");
	assert_int_equal(a.uri.scheme, SIP_SCHEME_OTHER);
	assert_view(in, a.uri.opaque, "service:sos");
	in = addr_ok(&a, "\"Web\" <http://www.example.com/x?a=b;c>;purpose=info");
	assert_view(in, a.display, "Web");
	assert_view(in, a.uri.opaque, "//www.example.com/x?a=b;c");
	assert_view(in, a.params, "purpose=info");
	in = addr_ok(&a, "<sips:[2001:db8::1]:5061;lr>");
	assert_int_equal(a.uri.scheme, SIP_SCHEME_SIPS);
	assert_view(in, a.uri.host, "[2001:db8::1]");
	assert_int_equal(a.uri.port, 5061);
	assert_true(a.uri.lr);
}

/* sip_param_next: an address's header parameters one by one, as the parser
 * read them (LWS around ';' and '=', a quoted value holding ';', an IPv6
 * reference, no value), each with the bytes it takes from the LWS before its
 * ';', so that leaving one out keeps the others byte for byte; none for an
 * address without parameters. */
static void test_param_next(void **state)
{
	(void)state;
	struct sip_addr a;
	struct sip_param p;
	static const struct {
		const char *name, *value, *bytes;
	} want[] = {
	    {"a", "\"x;b=c\"", ";a=\"x;b=c\""},
	    {"M%61DDR", "10.0.0.1", " ; M%61DDR = 10.0.0.1"},
	    {"lr", "", ";lr"},
	    {"h", "[::1]", ";h=[::1]"},
	};
	struct in in = addr_ok(&a, "sip:x@y ;a=\"x;b=c\" ; M%61DDR = 10.0.0.1;lr;h=[::1]");
	uint16_t pos = (uint16_t)(a.params.off - 1);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(sip_param_next(in.buf, a.params, &pos, &p), 1);
		assert_view(in, p.name, want[i].name);
		assert_view(in, p.value, want[i].value);
		assert_view(in, ((sip_view){p.start, (uint16_t)(p.end - p.start)}), want[i].bytes);
		assert_int_equal(pos, p.end);
	}
	assert_int_equal(sip_param_next(in.buf, a.params, &pos, &p), 0);
	assert_int_equal(pos, in.len);

	/* from the end of the URI: the LWS before the first ';' is its */
	pos = (uint16_t)(a.uri.whole.off + a.uri.whole.len);
	assert_int_equal(sip_param_next(in.buf, a.params, &pos, &p), 1);
	assert_view(in, ((sip_view){p.start, (uint16_t)(p.end - p.start)}), " ;a=\"x;b=c\"");

	in = addr_ok(&a, "<sip:x@y;maddr=z>");
	pos = (uint16_t)(a.params.off - 1);
	assert_int_equal(sip_param_next(in.buf, a.params, &pos, &p), 0);
}

static void test_malformed_addrs(void **state)
{
	(void)state;
	static const char *bad[] = {
	    "",
	    "\"unterminated <sip:x@y.example.com>",
	    "\"ends in escape\\\" <sip:x@y.example.com>",
	    "<sip:x@y.example.com",
	    "sip:x@y.example.com>",
	    "Bob <>",
	    "<>",
	    "<sip:x@y.example.com> extra",
	    "Bob sip:x@y.example.com",
	    "<sip:x y@z.example.com>",
	    "\"a\" \"b\" <sip:x@y.example.com>",
	    "<<sip:x@y.example.com>>",
	    "<sip:x@y.example.com>;",
	    "<sip:x@y.example.com>;tag=a b",
	    "<sip:x@y.example.com>;=1",
	    "Bob <sip:x@y.example.com",
	    "<sip:@y.example.com>",
	    "<sip:x@[::1>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		addr_bad(bad[i]);

	/* Every prefix of a long address parses without reading past the end. */
	const char *s = "\"A \\\"q\\\" \\\\ b\" <sips:alice:pw@[2001:db8::10]:5061;lr;transport="
			"tls?x=y>;tag=9fxced76sl;expires=60;+sip.instance=\"<urn:uuid:1>\"";
	size_t n = strlen(s);
	struct sip_addr a;
	for (size_t i = 0; i <= n; i++) {
		char *p = malloc(i ? i : 1);
		assert_non_null(p);
		memcpy(p, s, i);
		int rc = sip_parse_addr(&a, p, 0, (uint16_t)i);
		assert_true(rc == 0 || rc == -SIP_ERR_URI || rc == -SIP_ERR_BAD_VALUE);
		if (i == n)
			assert_int_equal(rc, 0);
		if (rc == 0) {
			assert_true((size_t)a.whole.off + a.whole.len <= i);
			assert_true((size_t)a.display.off + a.display.len <= i);
			assert_true((size_t)a.params.off + a.params.len <= i);
			assert_true((size_t)a.tag.off + a.tag.len <= i);
		}
		free(p);
	}
}

/* Whether the URIs a and b are equal (sip_uri_equal), both ways round. */
static bool uris_equal(const char *a, const char *b)
{
	struct sip_uri x, y;
	struct in ia = uri_ok(&x, a), ib = uri_ok(&y, b);
	bool ab = sip_uri_equal(ia.buf, &x, ib.buf, &y), ba = sip_uri_equal(ib.buf, &y, ia.buf, &x);
	if (ab != ba)
		fail_msg("sip_uri_equal(%s, %s) is %d one way, %d the other", a, b, ab, ba);
	return ab;
}

/* RFC 3261 19.1.4, its example sets and its rules: equal URIs, and URIs
 * that are not, each both ways round. */
static void test_uri_equal(void **state)
{
	(void)state;
	static const char *const same[][2] = {
	    /* the RFC's equivalent sets */
	    {"sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"},
	    {"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"},
	    {"sip:carol@chicago.com", "sip:carol@chicago.com;security=on"},
	    {"sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"},
	    {"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
	     "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"},
	    {"sip:alice@atlanta.com?subject=project%20x&priority=urgent",
	     "sip:alice@atlanta.com?priority=urgent&subject=project%20x"},
	    /* the scheme and the host without case; an IPv6 address in any spelling */
	    {"SIP:alice@ATLANTA.com", "sip:alice@atlanta.COM"},
	    {"sip:alice@[::1]:5060", "sip:alice@[0:0:0:0:0:0:0:1]:5060"},
	    {"sip:alice@[2001:DB8::A]", "sip:alice@[2001:db8:0::a]"},
	    /* a parameter in one only, but user, ttl, method and maddr */
	    {"sip:alice@atlanta.com", "sip:alice@atlanta.com;lr;ob;transport=udp"},
	    {"sip:alice@atlanta.com;maddr=10.0.0.1", "sip:alice@atlanta.com;MADDR=10.0.0.1"},
	    {"tel:+15551234567", "TEL:+15551234567"},
	    {"sip:a@PBX_1.example.com", "sip:a@pbx_1.EXAMPLE.com"},
	    /* '#' is no reserved character: the same as %23 (19.1.4) */
	    {"sip:#31#123@h", "sip:%2331%23123@h"},
	    /* a parameter twice (19.1.4 does not say): either value matches */
	    {"sip:a@b;x=1;x=2", "sip:a@b;x=2;x=1"},
	    /* an empty header (the parser takes one, which 19.1.4 cannot
	     * compare) is none, first or last */
	    {"sip:a@b?&x=1", "sip:a@b?x=1&"},
	    {"sip:a@b?&x=1", "sip:a@b?x=1"},
	    {"sip:a@b?x=1&&y=2", "sip:a@b?y=2&x=1"},
	    /* an empty password, a port of 0: each as written, the port a number */
	    {"sip:a:@h", "sip:a:@H"},
	    {"sip:h:0", "sip:h:00"},
	};
	static const char *const other[][2] = {
	    /* the RFC's sets that are not equivalent */
	    {"SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"},
	    {"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"},
	    {"sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"},
	    {"sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"},
	    {"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"},
	    /* the rules: user, ttl, method, maddr in one only; values that differ */
	    {"sip:alice@atlanta.com", "sip:alice@atlanta.com;user=phone"},
	    {"sip:alice@atlanta.com", "sip:alice@atlanta.com;ttl=1"},
	    {"sip:alice@atlanta.com", "sip:alice@atlanta.com;method=INVITE"},
	    {"sip:alice@atlanta.com", "sip:alice@atlanta.com;maddr=10.0.0.1"},
	    {"sip:alice@atlanta.com", "sip:alice@atlanta.com;m%61ddr=10.0.0.1"},
	    {"sip:alice@atlanta.com;transport=udp", "sip:alice@atlanta.com;transport=tcp"},
	    {"sip:a@b;x=1;x=2", "sip:a@b;x=1"},
	    /* scheme, password, user present in one only, an escaped reserved
	     * character, another address, headers in one only */
	    {"sip:alice@atlanta.com", "sips:alice@atlanta.com"},
	    {"sip:alice@atlanta.com", "sip:alice:pw@atlanta.com"},
	    {"sip:atlanta.com", "sip:alice@atlanta.com"},
	    {"sip:a%3Bb@atlanta.com", "sip:a;b@atlanta.com"},
	    {"sip:alice@[::1]", "sip:alice@[::2]"},
	    {"sip:alice@[::1]", "sip:alice@[::ffff:0.0.0.1]"},
	    {"sip:alice@atlanta.com?a=b", "sip:alice@atlanta.com?a=b&c=d"},
	    {"sip:alice@127.0.0.1", "sip:alice@127.0.0.1.example"},
	    {"tel:+15551234567", "sip:+15551234567@atlanta.com"},
	    /* an empty password is a password (userinfo "a:" is not "a"); a
	     * port of 0 is a port (absent is no port, not 0) */
	    {"sip:a:@h", "sip:a@h"},
	    {"sip:a:@h", "sip:a:x@h"},
	    {"sip:h:0", "sip:h"},
	    {"sip:a@h:0", "sip:a@h:5060"},
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		if (!uris_equal(same[i][0], same[i][1]))
			fail_msg("%s and %s: not equal", same[i][0], same[i][1]);
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (uris_equal(other[i][0], other[i][1]))
			fail_msg("%s and %s: equal", other[i][0], other[i][1]);
}

/* sip_addr_list_next: every address of a comma-separated value, a comma in a
 * quoted display name or inside <> being no separator, LWS around them
 * passed over; 0 at the end. */
static void test_addr_list_next(void **state)
{
	(void)state;
	const char *s = "\"a, b\" <sip:x,1@y;p=1>;expires=5 ,  sip:z@w ;q=0.5,<sip:v@u>";
	struct in in = {exact(s, strlen(s)), strlen(s)};
	sip_view v = {0, (uint16_t)in.len};
	uint16_t pos = 0;
	struct sip_addr a;
	static const char *const uris[] = {"sip:x,1@y;p=1", "sip:z@w", "sip:v@u"};
	static const char *const params[] = {"expires=5", "q=0.5", ""};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(sip_addr_list_next(in.buf, v, &pos, &a), 1);
		assert_view(in, a.uri.whole, uris[i]);
		assert_view(in, a.params, params[i]);
	}
	assert_int_equal(sip_addr_list_next(in.buf, v, &pos, &a), 0);
	assert_int_equal(pos, in.len);
	const char *bad = "<sip:x@y>, ,<sip:z@w>";
	in = (struct in){exact(bad, strlen(bad)), strlen(bad)};
	v = (sip_view){0, (uint16_t)in.len};
	pos = 0;
	assert_int_equal(sip_addr_list_next(in.buf, v, &pos, &a), 1);
	assert_int_equal(sip_addr_list_next(in.buf, v, &pos, &a), -SIP_ERR_BAD_VALUE);

	/* a Contact of "*" alone (RFC 3261 10.2.2) lists no address: 0, as at
	 * the end, where it was an error, as for a value that is none; a "*"
	 * among addresses is none (20.10), as the parser says */
	static const char *const star[] = {"*", " *\t"};
	for (size_t i = 0; i < sizeof(star) / sizeof(star[0]); i++) {
		in = (struct in){exact(star[i], strlen(star[i])), strlen(star[i])};
		v = (sip_view){0, (uint16_t)in.len};
		pos = 0;
		assert_int_equal(sip_addr_list_next(in.buf, v, &pos, &a), 0);
		assert_int_equal(pos, in.len);
		assert_int_equal(sip_addr_list_next(in.buf, v, &pos, &a), 0);
	}
	static const char *const star_among[] = {"*, <sip:z@w>", "<sip:z@w>, *", "*,*"};
	for (size_t i = 0; i < sizeof(star_among) / sizeof(star_among[0]); i++) {
		in =
		    (struct in){exact(star_among[i], strlen(star_among[i])), strlen(star_among[i])};
		v = (sip_view){0, (uint16_t)in.len};
		pos = 0;
		int rc = sip_addr_list_next(in.buf, v, &pos, &a);
		if (rc == 1)
			rc = sip_addr_list_next(in.buf, v, &pos, &a);
		assert_true(rc == -SIP_ERR_URI || rc == -SIP_ERR_BAD_VALUE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_sip_full, teardown),
	    cmocka_unit_test_teardown(test_sip_minimal, teardown),
	    cmocka_unit_test_teardown(test_hosts, teardown),
	    cmocka_unit_test_teardown(test_ipv6_references, teardown),
	    cmocka_unit_test_teardown(test_user_and_password, teardown),
	    cmocka_unit_test_teardown(test_user_hash, teardown),
	    cmocka_unit_test_teardown(test_params, teardown),
	    cmocka_unit_test_teardown(test_headers, teardown),
	    cmocka_unit_test_teardown(test_tel, teardown),
	    cmocka_unit_test_teardown(test_opaque_schemes, teardown),
	    cmocka_unit_test_teardown(test_offset_and_length_bound, teardown),
	    cmocka_unit_test_teardown(test_malformed_uris, teardown),
	    cmocka_unit_test_teardown(test_name_addr_quoted, teardown),
	    cmocka_unit_test_teardown(test_name_addr_token, teardown),
	    cmocka_unit_test_teardown(test_addr_spec, teardown),
	    cmocka_unit_test_teardown(test_addr_other_schemes, teardown),
	    cmocka_unit_test_teardown(test_param_next, teardown),
	    cmocka_unit_test_teardown(test_malformed_addrs, teardown),
	    cmocka_unit_test_teardown(test_uri_equal, teardown),
	    cmocka_unit_test_teardown(test_addr_list_next, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
