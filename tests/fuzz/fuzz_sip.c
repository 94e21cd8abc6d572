/*
 * fuzz_sip.c - libFuzzer target for the SIP message library.
 *
 * Owns: the properties every datagram must keep. Parse it; if it is valid,
 * (1) sip_write with a zeroed spec must give back the message byte for byte (up
 * to the end of its body), (2) sip_write with a spec that rewrites the
 * Request-URI, replaces headers that carry no identity, removes some by id
 * and some by name, strips a Via, prepends
 * a Via, appends a line and replaces the body must give a message that parses
 * again with the same Call-ID, From/To tags and CSeq (number and method), and
 * the expected Via count and body. For every request that sip_can_respond()
 * accepts, sip_respond must form a response (or refuse one that does not fit:
 * -ENOSPC, or -EMSGSIZE when its top Via or To line, grown, may pass the
 * parser's line limit: line_may_grow_past_limit); for a valid request that response
 * must parse with the same Call-ID, From tag and CSeq, and (sip_respond_from,
 * from an IPv4 or an IPv6 source) keep every Via line byte for byte but the
 * top via-parm, which keeps all but its received and rport values
 * (check_top_via). For a valid message the
 * Call-ID steering scanner (kern/steer.bpf.c's code) finds the parser's
 * Call-ID or none. The parse packed and unpacked (sip_msg_pack, what a
 * worker hands the controller) is the parse. Each WWW-Authenticate and
 * Proxy-Authenticate line is read as a digest challenge; one that is taken
 * has its views inside the line, and its answer is one NUL-terminated line
 * with the challenge's realm and nonce, or -ENOSPC for a small buffer. An
 * option tag sip_has_option_tag finds is in a line of its header. A
 * Replaces or Join value read and rewritten naming another dialog reads
 * back as that dialog (check_dialog_refs). Every address taken (From, To,
 * Contact, Route, Record-Route, Refer-To) and the Request-URI read the same
 * alone (sip_parse_addr, sip_parse_uri: check_addrs), and every Contact
 * value reads the same one by one (sip_addr_list_next), each URI (and the
 * Request-URI, From's and To's) equal to itself written another way that
 * RFC 3261 19.1.4 calls the same, and not with its user in another case
 * (sip_uri_equal: check_uri_variants). The Reason lines a
 * CANCEL passes on make a CANCEL that parses with them (check_reasons); the
 * Timestamp a 100 copies is the request's line; delta-seconds read are the
 * value's digits; the steering bucket is the parsed Call-ID's. Any
 * violation abort()s.
 * Does not own: the library itself (user/sip/), unit tests (tests/unit/).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/same_parse.h"
#include "daemon/setup_msg.h"
#include "sipshard/hash.h"
#include "sipshard/sip.h"
#include "sip/lex.h"
#include "steer/steer.h"
#include "../common/steer_ref.h"

#include <arpa/inet.h>
#include <netinet/in.h>

/* Everything large lives here, not on the fuzzer's stack. */
struct fuzz_ctx {
	struct sip_msg in, out;
	char buf[SIP_MAX_DATAGRAM + 1024];
	char packed[sizeof(struct sip_msg)];
};
static struct fuzz_ctx ctx;

static void die(const char *what, const char *out, int n)
{
	fprintf(stderr, "fuzz_sip: %s\n", what);
	if (out && n > 0)
		fprintf(stderr, "--- output (%d bytes):\n%.*s\n---\n", n, n, out);
	abort();
}

static int view_same(const struct sip_msg *a, sip_view va, const struct sip_msg *b, sip_view vb)
{
	return va.len == vb.len && memcmp(a->buf + va.off, b->buf + vb.off, va.len) == 0;
}

/* The output carries the same dialog and transaction identity as the input. */
static void check_identity(const struct sip_msg *in, const struct sip_msg *o, const char *what,
			   const char *out, int n)
{
	if (!view_same(in, in->call_id, o, o->call_id))
		die(what, out, n);
	if (in->from.has_tag != o->from.has_tag || !view_same(in, in->from.tag, o, o->from.tag))
		die(what, out, n);
	if (in->to.has_tag != o->to.has_tag || !view_same(in, in->to.tag, o, o->to.tag))
		die(what, out, n);
	if (in->cseq.num != o->cseq.num || in->cseq.method_id != o->cseq.method_id ||
	    !view_same(in, in->cseq.method, o, o->cseq.method))
		die(what, out, n);
	if (in->is_request != o->is_request)
		die(what, out, n);
}

static void check_round_trip(const struct sip_msg *in)
{
	/* 1. Zeroed spec: byte-identical up to the end of the body when the input has a
	 * Content-Length. Without one, whether the writer adds it is the unit tests'
	 * business (test_sip_write.c test_round_trip); here the output must only parse
	 * with the same identity and body. */
	struct sip_wspec spec;
	memset(&spec, 0, sizeof(spec));
	int n = sip_write(in, &spec, ctx.buf, sizeof(ctx.buf));
	size_t end = (size_t)in->body.off + in->body.len;
	if (n == -ENOSPC && in->content_length < 0 && in->len + 32 > SIP_MAX_DATAGRAM)
		return;
	if (n < 0)
		die("sip_write with a zeroed spec failed", NULL, 0);
	/* CRLFs before the start line are not part of the message (RFC 3261 7.5): the
	 * parser skips them and the writer may drop them. */
	size_t start = 0;
	while (start < in->len && (in->buf[start] == '\r' || in->buf[start] == '\n'))
		start++;
	if (in->content_length >= 0) {
		int same = (size_t)n == end && memcmp(ctx.buf, in->buf, end) == 0;
		int same_skipped =
		    (size_t)n == end - start && memcmp(ctx.buf, in->buf + start, end - start) == 0;
		if (!same && !same_skipped)
			die("zeroed-spec round trip is not byte-identical", ctx.buf, n);
	} else if (n <= SIP_MAX_DATAGRAM) {
		if (sip_parse(&ctx.out, ctx.buf, (size_t)n, NULL) != 0)
			die("zeroed-spec output does not parse", ctx.buf, n);
		check_identity(in, &ctx.out, "zeroed-spec output changed identity", ctx.buf, n);
		if (!view_same(in, in->body, &ctx.out, ctx.out.body))
			die("zeroed-spec output changed the body", ctx.buf, n);
	}
}

static void check_rewrites(const struct sip_msg *in)
{
	struct sip_wspec spec;
	int n;

	check_round_trip(in);

	/* 2. Every kind of edit at once. */
	static const char via[] = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKfuzz.1\r\n";
	static const char ruri[] = "sip:fuzz@127.0.0.1:5062;transport=udp";
	static const char body[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n";
	memset(&spec, 0, sizeof(spec));
	if (in->is_request) {
		spec.ruri = ruri;
		spec.ruri_len = sizeof(ruri) - 1;
	}
	/* Strip only when a Via stays; prepend only when it fits the Via array. */
	spec.strip_vias = in->nvias >= 2 ? 1 : 0;
	int prepend = in->is_request && in->nvias - spec.strip_vias < SIP_MAX_VIAS;
	if (prepend) {
		spec.prepend = via;
		spec.prepend_len = sizeof(via) - 1;
	}
	spec.append = "X-Fuzz: 1\r\n";
	spec.append_len = 11;
	spec.remove = SIP_HBIT(SIP_HDR_USER_AGENT) | SIP_HBIT(SIP_HDR_SERVER);
	static struct sip_names named;
	if (!named.n &&
	    (sip_names_add(&named, "X-Internal-Route", 16) != 0 ||
	     sip_names_add(&named, "P-Site", 6) != 0 || sip_names_add(&named, "a1", 2) != 0))
		die("sip_names_add failed", NULL, 0);
	spec.remove_named = &named;
	spec.nreplace = 3;
	spec.replace[0] = (struct sip_replace){SIP_HDR_SUBJECT, "fuzzed", 6};
	spec.replace[1] = (struct sip_replace){SIP_HDR_MAX_FORWARDS, "69", 2};
	spec.replace[2] = (struct sip_replace){SIP_HDR_CONTACT, "<sip:sbc@127.0.0.1>", 19};
	spec.replace_body = 1;
	spec.body = body;
	spec.body_len = sizeof(body) - 1;
	/* The edits add a few lines: skip inputs already at the header capacity. */
	if (in->nhdrs + 6 >= SIP_MAX_HEADERS)
		return;
	n = sip_write(in, &spec, ctx.buf, sizeof(ctx.buf));
	/* Growing past a datagram may be refused (-ENOSPC or -EINVAL) or written. */
	int near_limit = in->len + 512 > SIP_MAX_DATAGRAM;
	if (n < 0 && (n == -ENOSPC || near_limit))
		return;
	if (n < 0)
		die("sip_write with a full spec failed", NULL, 0);
	if (n > SIP_MAX_DATAGRAM)
		return;
	int rc = sip_parse(&ctx.out, ctx.buf, (size_t)n, NULL);
	if (rc != 0) {
		char why[200];
		sip_strerror(&ctx.out, why, sizeof(why));
		fprintf(stderr, "reparse: %s\n", why);
		die("rewritten message does not parse", ctx.buf, n);
	}
	check_identity(in, &ctx.out, "rewritten message changed identity", ctx.buf, n);
	if (ctx.out.nvias != in->nvias - spec.strip_vias + prepend)
		die("rewritten message has the wrong number of Vias", ctx.buf, n);
	if (!sip_view_eq(ctx.out.buf, ctx.out.body, body, sizeof(body) - 1))
		die("rewritten message has the wrong body", ctx.buf, n);
	if (in->is_request && !sip_view_eq(ctx.out.buf, ctx.out.ruri.whole, ruri, sizeof(ruri) - 1))
		die("rewritten request has the wrong Request-URI", ctx.buf, n);
	if (ctx.out.max_forwards != 69)
		die("rewritten message lost the replaced Max-Forwards", ctx.buf, n);

	/* 3. A bounded buffer: one byte short of what is needed is -ENOSPC. */
	rc = sip_write(in, &spec, ctx.buf, (size_t)n - 1);
	if (rc != -ENOSPC)
		die("sip_write one byte short did not return -ENOSPC", NULL, 0);
}

/* The via-parm [p, e) less its received parameters and rport's value, into
 * out (cap bytes): what a response's top via-parm keeps of the request's. Its
 * parameters start after its sent-by host, which ends host_end bytes in (an
 * IPv6 reference may hold a ';').
 * Returns the length, or -1 when it does not read as parameters. */
static int via_kept(const char *p, size_t host_end, const char *e, char *out, size_t cap)
{
	size_t n = 0;
	const char *semi = memchr(p + host_end, ';', (size_t)(e - p - (ptrdiff_t)host_end));
	const char *q = semi ? semi : e;
	struct lex_param prm;
	int rc;

#define KEEP(a, b)                                                                                 \
	do {                                                                                       \
		if (n + (size_t)((b) - (a)) > cap)                                                 \
			return -1;                                                                 \
		memcpy(out + n, (a), (size_t)((b) - (a)));                                         \
		n += (size_t)((b) - (a));                                                          \
	} while (0)
	KEEP(p, q);
	if (!semi)
		return (int)n;
	const char *at = q;
	while ((rc = lex_param_next(&q, e, &prm)) > 0) {
		if (lex_ieq(prm.name, prm.nlen, "rport", 5))
			KEEP(at, prm.name + prm.nlen);
		else if (!lex_ieq(prm.name, prm.nlen, "received", 8))
			KEEP(at, q);
		at = q;
	}
	if (rc < 0)
		return -1;
	KEEP(at, e);
#undef KEEP
	return (int)n;
}

static char kept_in[SIP_MAX_DATAGRAM], kept_out[SIP_MAX_DATAGRAM + 256];

/* The response's top Via line o to in (from src, text ip, port) is in's top
 * line with only its top via-parm's received and rport values changed; for a
 * response that parsed, that via-parm has received=ip when in's sent-by is
 * not the source or it asked rport, and rport=port for a valueless rport. */
static void check_top_via(const struct sip_msg *in, const struct sip_hdr_line *o, int n,
			  const char *ip, int family, uint16_t port)
{
	const struct sip_via *v = &in->vias[0];
	const struct sip_hdr_line *h = &in->hdrs[v->line];
	size_t pre = (size_t)(v->whole.off - h->start);
	size_t suf = (size_t)(h->end - (v->whole.off + v->whole.len));
	size_t olen = (size_t)(o->end - o->start);
	const char *ol = ctx.buf + o->start;

	if (olen < pre + suf || memcmp(ol, in->buf + h->start, pre) ||
	    memcmp(ol + olen - suf, in->buf + v->whole.off + v->whole.len, suf))
		die("the top Via line changed outside its top via-parm", ctx.buf, n);
	const char *ws = sip_ptr(in->buf, v->whole);
	size_t host_end = (size_t)(v->host.off + v->host.len - v->whole.off);
	if (olen < pre + suf + host_end)
		die("the top via-parm lost its sent-by", ctx.buf, n);
	int a = via_kept(ws, host_end, ws + v->whole.len, kept_in, sizeof(kept_in));
	int b = via_kept(ol + pre, host_end, ol + olen - suf, kept_out, sizeof(kept_out));
	if (a < 0 || b != a || memcmp(kept_in, kept_out, (size_t)a))
		die("the top via-parm changed other than in received and rport", ctx.buf, n);
	if (ctx.out.err != SIP_OK || !ctx.out.nvias)
		return;
	const struct sip_via *r = &ctx.out.vias[0];
	char host[64];
	unsigned char bin[16], src[16];
	size_t hl = v->host.len;
	const char *hp = sip_ptr(in->buf, v->host);
	if (hl >= 2 && hp[0] == '[') {
		hp++;
		hl -= 2;
	}
	bool same = false;
	if (hl < sizeof(host)) {
		memcpy(host, hp, hl);
		host[hl] = '\0';
		same = inet_pton(family, host, bin) == 1 && inet_pton(family, ip, src) == 1 &&
		       !memcmp(bin, src, family == AF_INET ? 4 : 16);
	}
	/* the address, not its text: a received that names the source already
	 * (2001:dB8::1 for 2001:db8::1) is kept as it came */
	char rtext[64];
	unsigned char rbin[16];
	bool received_src = r->received.len < sizeof(rtext);
	if (received_src) {
		memcpy(rtext, ctx.out.buf + r->received.off, r->received.len);
		rtext[r->received.len] = '\0';
		received_src = inet_pton(family, rtext, rbin) == 1 &&
			       inet_pton(family, ip, src) == 1 &&
			       !memcmp(rbin, src, family == AF_INET ? 4 : 16);
	}
	if ((v->has_rport || !same) && !received_src)
		die("the top Via lacks received=<source>", ctx.buf, n);
	if (!v->has_rport || v->rport.len)
		return;
	char ps[8];
	int pl = snprintf(ps, sizeof(ps), "%u", (unsigned)port);
	if (!sip_view_eq(ctx.out.buf, r->rport, ps, (size_t)pl))
		die("the top Via's valueless rport was not filled", ctx.buf, n);
}

/* The response in ctx.buf (n bytes, parsed into ctx.out) to request in, valid
 * or not, keeps its framing: it starts with in's Via lines, byte for byte and
 * in order but the top one from a source (check_top_via), and has one To line
 * (a tag taken from a quoted parameter value once left a response without
 * one). */
static void check_response_frame(const struct sip_msg *in, int n, const char *ip, int family,
				 uint16_t port)
{
	uint16_t k = 0;
	for (uint16_t i = 0; i < in->nhdrs; i++) {
		const struct sip_hdr_line *h = &in->hdrs[i];
		if (h->id != SIP_HDR_VIA)
			continue;
		if (k >= ctx.out.nhdrs)
			die("response lost a Via line", ctx.buf, n);
		const struct sip_hdr_line *o = &ctx.out.hdrs[k++];
		if (in->nvias && i == in->vias[0].line) {
			check_top_via(in, o, n, ip, family, port);
			continue;
		}
		if (o->end - o->start != h->end - h->start ||
		    memcmp(ctx.buf + o->start, in->buf + h->start, (size_t)(h->end - h->start)))
			die("a Via line changed or moved in the response", ctx.buf, n);
	}
	if (sip_hdr_lines(&ctx.out, SIP_HDR_TO) != 1)
		die("response has no To line or more than one", ctx.buf, n);
}

/* Whether a line the response grows (the top Via by received=<IPv6 source>
 * and an rport value, To by ";tag=fuzztag") may pass the parser's line limit,
 * or To its bound on an address (found by fuzz_sip):
 * the response is then refused (-EMSGSIZE), not formed unreadable. */
static bool line_may_grow_past_limit(const struct sip_msg *in)
{
	const struct sip_hdr_line *to = sip_find_hdr(in, SIP_HDR_TO);
	const struct sip_hdr_line *via = in->nvias ? &in->hdrs[in->vias[0].line] : NULL;
	size_t grow = 64, limit = sip_default_limits.max_line;
	return (via && via->end - via->start + grow > limit) ||
	       (to && (to->end - to->start + grow > limit ||
		       to->value.len + grow > sip_default_limits.max_uri + 1024u));
}

static void check_respond(const struct sip_msg *in, int valid)
{
	if (!sip_can_respond(in))
		return;
	if (in->method_id == SIP_METHOD_ACK)
		die("sip_can_respond accepted an ACK", NULL, 0);
	static const int statuses[] = {400, 481, 503};
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		/* from 192.0.2.1:5062, or [2001:db8::1]:5063 for the 481 */
		struct sockaddr_in s4 = {.sin_family = AF_INET,
					 .sin_port = htons(5062),
					 .sin_addr.s_addr = htonl(0xc0000201)};
		struct sockaddr_in6 s6 = {.sin6_family = AF_INET6,
					  .sin6_port = htons(5063),
					  .sin6_addr.s6_addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}};
		bool v6 = statuses[i] == 481;
		const struct sockaddr *src =
		    v6 ? (const struct sockaddr *)&s6 : (const struct sockaddr *)&s4;
		int n = sip_respond_from(in, statuses[i], NULL, "fuzztag",
					 statuses[i] == 503 ? "Retry-After: 5\r\n" : NULL, src,
					 v6 ? sizeof(s6) : sizeof(s4), ctx.buf, sizeof(ctx.buf));
		if (n == -ENOSPC || (n == -EMSGSIZE && line_may_grow_past_limit(in)))
			continue;
		if (n <= 0)
			die("sip_respond failed on a request sip_can_respond accepted", NULL, 0);
		int rc = sip_parse(&ctx.out, ctx.buf, (size_t)n, NULL);
		if (rc != 0)
			ctx.out.nvias = 0; /* check_top_via reads only a parsed response's */
		check_response_frame(in, n, v6 ? "2001:db8::1" : "192.0.2.1",
				     v6 ? AF_INET6 : AF_INET, v6 ? 5063 : 5062);
		if (!valid)
			continue; /* an invalid request may hand on an invalid line */
		if (rc != 0 && n <= SIP_MAX_DATAGRAM)
			die("response to a valid request does not parse", ctx.buf, n);
		if (rc != 0)
			continue;
		if (ctx.out.is_request || ctx.out.status != statuses[i])
			die("response has the wrong status", ctx.buf, n);
		if (!view_same(in, in->call_id, &ctx.out, ctx.out.call_id) ||
		    !view_same(in, in->from.tag, &ctx.out, ctx.out.from.tag) ||
		    in->cseq.num != ctx.out.cseq.num ||
		    !view_same(in, in->cseq.method, &ctx.out, ctx.out.cseq.method))
			die("response changed Call-ID, From tag or CSeq", ctx.buf, n);
		if (ctx.out.nvias != in->nvias)
			die("response lost Vias", ctx.buf, n);
		if (in->to.has_tag && !view_same(in, in->to.tag, &ctx.out, ctx.out.to.tag))
			die("response changed the To tag", ctx.buf, n);
		if (!in->to.has_tag && !sip_view_eq(ctx.out.buf, ctx.out.to.tag, "fuzztag", 7))
			die("response lacks the added To tag", ctx.buf, n);
		if (ctx.out.content_length != 0)
			die("response has a body", ctx.buf, n);
	}
}

/* On any bytes, a message or not, the steering scanner's shortcuts (lines
 * passed over eight bytes at a time, "Call-ID:" and its value taken whole)
 * reach what its rule reaches fed byte by byte: the verdict and the hash. */
static void check_steering_shortcuts(const char *buf, size_t size)
{
	uint32_t h = 0, ref_h = 0;
	int ref = steer_ref_callid_hash(buf, size, &ref_h);

	if (steer_callid_hash(buf, size, &h) != ref || (ref && h != ref_h))
		die("the steering scanner and its byte-by-byte rule disagree", buf, (int)size);
}

/* The steering scanner (the BPF program's code, run in userspace) never names
 * a Call-ID other than the parser's: when it finds one, its hash is the hash
 * of the parsed Call-ID, so every datagram of a call reaches the same worker. */
static void check_steering(const struct sip_msg *m, const char *buf, size_t size)
{
	uint32_t h;

	if (steer_callid_hash(buf, size, &h) &&
	    h != shard_hash_callid(buf + m->call_id.off, m->call_id.len))
		die("the steering scanner and the parser disagree on the Call-ID", buf, (int)size);
	int found = -1;
	unsigned b = steer_bucket_of_datagram(buf, size, &found);
	if (found != steer_callid_hash(buf, size, NULL) ||
	    (found &&
	     b != shard_bucket_of(shard_hash_callid(buf + m->call_id.off, m->call_id.len))))
		die("the steering bucket is not the parsed Call-ID's", buf, (int)size);
}

/* The parse handed to another thread (sip_msg_pack/unpack, what a worker
 * gives the controller) is the parse: the same result, the same fields and the
 * used prefix of each array. */
static void check_taken_over(const struct sip_msg *in, const char *buf, size_t size, int rc)
{
	int n = sip_msg_pack(in, ctx.packed, sizeof(ctx.packed));
	if (n <= 0)
		die("sip_msg_pack failed with room for a whole struct", NULL, 0);
	if (sip_msg_unpack(&ctx.out, buf, size, ctx.packed, (size_t)n) != rc)
		die("the parse taken over gives another result", NULL, 0);
	if (!test_same_parse(&ctx.out, in))
		die("the parse taken over differs from the parse", NULL, 0);
}

/* Every digest challenge of m, read and answered. */
static void check_challenges(const struct sip_msg *m)
{
	static const struct sip_digest_creds cr = {
	    .username = "trunk7",
	    .password = "s3cret",
	    .method = "INVITE",
	    .uri = "sip:+15551234@127.0.0.1:5090",
	    .uri_len = 28,
	    .cnonce = "0a4f113b",
	    .nc = 1,
	};
	for (uint16_t i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr_line *h = &m->hdrs[i];
		struct sip_digest_challenge ch;
		/* an answer repeats realm, nonce and opaque, which may take most of
		 * a 65535-byte datagram: a buffer that holds any */
		static char answer[65536 + 1024];
		char small[64];
		if (h->id != SIP_HDR_WWW_AUTHENTICATE && h->id != SIP_HDR_PROXY_AUTHENTICATE)
			continue;
		int rc = sip_digest_challenge_parse(m->buf, h->value, &ch);
		if (rc != 0 && rc != -EINVAL && rc != -ENOTSUP)
			die("sip_digest_challenge_parse returned an unknown code", NULL, 0);
		if (rc)
			continue;
		const sip_view views[] = {ch.realm, ch.nonce, ch.opaque};
		for (size_t v = 0; v < 3; v++)
			if (views[v].off < h->value.off ||
			    views[v].off + views[v].len > h->value.off + h->value.len)
				if (v < 2 || ch.has_opaque)
					die("a challenge view lies outside its line", NULL, 0);
		int n = sip_digest_answer(m->buf, &ch, &cr, answer, sizeof(answer));
		if (n < 0 || (size_t)n != strlen(answer) || memchr(answer, '\n', (size_t)n) ||
		    memchr(answer, '\r', (size_t)n))
			die("a digest answer is not one line", answer, n < 0 ? 0 : n);
		if (sip_digest_answer(m->buf, &ch, &cr, small, sizeof(small)) != -ENOSPC)
			die("a digest answer fitted in 64 bytes", NULL, 0);
	}
}

/* An option tag found (sip_has_option_tag) is in a line of that header. */
static void check_option_tags(const struct sip_msg *m)
{
	static const uint8_t ids[] = {SIP_HDR_SUPPORTED, SIP_HDR_REQUIRE};
	for (size_t k = 0; k < sizeof(ids); k++) {
		if (!sip_has_option_tag(m, (enum sip_hdr)ids[k], "timer"))
			continue;
		bool seen = false;
		for (uint16_t i = 0; i < m->nhdrs && !seen; i++) {
			const struct sip_hdr_line *h = &m->hdrs[i];
			for (uint16_t j = 0; h->id == ids[k] && j + 5 <= h->value.len && !seen; j++)
				seen = strncasecmp(m->buf + h->value.off + j, "timer", 5) == 0;
		}
		if (!seen)
			die("an option tag found in no line of its header", NULL, 0);
	}
}

static bool view_inside(sip_view v, sip_view line)
{
	return v.off >= line.off && v.off + v.len <= line.off + line.len;
}

/* Each Replaces and Join line that sip_dialog_ref_parse takes has its views
 * inside the line, and sip_dialog_ref_write naming another dialog gives a
 * value that reads back as that dialog, early-only kept. */
static void check_dialog_refs(const struct sip_msg *m)
{
	static char out[SIP_MAX_DATAGRAM + 64];
	for (uint16_t i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr_line *h = &m->hdrs[i];
		struct sip_dialog_ref r, back;
		if ((h->id != SIP_HDR_REPLACES && h->id != SIP_HDR_JOIN) ||
		    sip_dialog_ref_parse(m->buf, h->value, &r) != 0)
			continue;
		if (!view_inside(r.call_id, h->value) || !view_inside(r.to_tag, h->value) ||
		    !view_inside(r.from_tag, h->value) || !view_inside(r.params, h->value))
			die("a Replaces or Join view outside its line", NULL, 0);
		int n = sip_dialog_ref_write(m->buf, &r, "c1@h", "tt", "ft", out, sizeof(out));
		if (n < 0 || out[n] != '\0')
			die("a Replaces or Join value not written", NULL, 0);
		if (sip_dialog_ref_parse(out, (sip_view){0, (uint16_t)n}, &back) != 0 ||
		    !sip_view_eq(out, back.call_id, "c1@h", 4) ||
		    !sip_view_eq(out, back.to_tag, "tt", 2) ||
		    !sip_view_eq(out, back.from_tag, "ft", 2) || back.early_only != r.early_only)
			die("a rewritten Replaces or Join does not read back", out, n);
	}
}

/* Two URI parses of the same bytes agree on every view. */
static bool same_uri(const struct sip_uri *a, const struct sip_uri *b)
{
	return !memcmp(&a->whole, &b->whole, sizeof(a->whole)) && a->scheme == b->scheme &&
	       a->host_type == b->host_type && a->port == b->port && a->lr == b->lr &&
	       a->has_port == b->has_port && a->has_password == b->has_password &&
	       !memcmp(&a->user, &b->user, sizeof(a->user)) &&
	       !memcmp(&a->password, &b->password, sizeof(a->password)) &&
	       !memcmp(&a->host, &b->host, sizeof(a->host)) &&
	       !memcmp(&a->params, &b->params, sizeof(a->params)) &&
	       !memcmp(&a->headers, &b->headers, sizeof(a->headers)) &&
	       !memcmp(&a->transport, &b->transport, sizeof(a->transport));
}

/* An address the parser took reads the same alone (sip_parse_addr on its
 * bytes), and its URI alone (sip_parse_uri: what a Contact, a Record-Route or
 * a To is written back as, a Request-URI or a Route) parses as within it. */
static void check_addr(const struct sip_msg *m, const struct sip_addr *a, const char *what)
{
	struct sip_addr b;
	struct sip_uri u;

	if (sip_parse_addr(&b, m->buf, a->whole.off, a->whole.len) != 0)
		die(what, m->buf, (int)m->len);
	if (!same_uri(&a->uri, &b.uri) || a->has_tag != b.has_tag ||
	    !view_same(m, a->tag, m, b.tag) || !view_same(m, a->display, m, b.display) ||
	    !view_same(m, a->params, m, b.params))
		die(what, m->buf, (int)m->len);
	if (sip_parse_uri(&u, m->buf, a->uri.whole.off, a->uri.whole.len) != 0 ||
	    !same_uri(&a->uri, &u))
		die(what, m->buf, (int)m->len);
}

/* ---- sip_uri_equal: the same URI written another way (RFC 3261 19.1.4) ---- */

/* A URI written into a buffer of its own; n counts past cap (then unused). */
struct vbuf {
	char p[3 * 8192 + 64];
	size_t n;
	unsigned k; /* which unreserved byte is next: every other one is escaped */
};
static struct vbuf var_a, var_b;

static void vput(struct vbuf *v, const char *s, size_t n)
{
	if (v->n + n <= sizeof(v->p))
		memcpy(v->p + v->n, s, n);
	v->n += n;
}

static char case_flip(char c)
{
	return lex_is((unsigned char)c, LEX_ALPHA) ? (char)(c ^ 0x20) : c;
}

/* [p, e) as 19.1.4 reads it the same: every other unreserved byte escaped
 * (in either hex case), each escape of an unreserved byte written as the
 * byte, the hex digits of any other escape in the other case; the letters
 * in the other case too when flip (a part compared without case). */
static void v_escapes(struct vbuf *v, const char *p, const char *e, bool flip)
{
	static const char hex[2][17] = {"0123456789ABCDEF", "0123456789abcdef"};
	while (p < e) {
		unsigned char c = (unsigned char)*p;
		if (c == '%' && e - p >= 3 && lex_is((unsigned char)p[1], LEX_HEX) &&
		    lex_is((unsigned char)p[2], LEX_HEX)) {
			char d = (char)(lex_hex_value(p[1]) << 4 | lex_hex_value(p[2]));
			if (lex_is((unsigned char)d, LEX_UNRESERVED)) {
				d = flip ? case_flip(d) : d;
				vput(v, &d, 1);
			} else {
				char t[3] = {'%', case_flip(p[1]), case_flip(p[2])};
				vput(v, t, 3);
			}
			p += 3;
			continue;
		}
		if (lex_is(c, LEX_UNRESERVED) && (v->k++ & 1)) {
			const char *h = hex[(v->k >> 1) & 1];
			char t[3] = {'%', h[c >> 4], h[c & 15]};
			vput(v, t, 3);
		} else {
			char d = flip ? case_flip((char)c) : (char)c;
			vput(v, &d, 1);
		}
		p++;
	}
}

/* The items of a ';' or '&' separated list [p, e), last first, each name
 * escaped otherwise and in the other case, its value escaped otherwise (and
 * in the other case for the parameters whose values 19.1.4 compares without
 * case: transport, user, maddr). */
static void v_list(struct vbuf *v, const char *p, const char *e, char sep, bool params)
{
	static const char *item[8192];
	unsigned n = 0;
	/* every item, empty ones too ("?&a" has two headers) */
	for (const char *s = p;; s++) {
		if (n < sizeof(item) / sizeof(item[0]))
			item[n++] = s;
		s = memchr(s, sep, (size_t)(e - s));
		if (!s)
			break;
	}
	while (n--) {
		const char *s = item[n], *end = memchr(s, sep, (size_t)(e - s));
		end = end ? end : e;
		const char *eq = memchr(s, '=', (size_t)(end - s)), *ne = eq ? eq : end;
		bool icase = params && (sip_unescaped_ieq(s, ne, "transport") ||
					sip_unescaped_ieq(s, ne, "user") ||
					sip_unescaped_ieq(s, ne, "maddr"));
		v_escapes(v, s, ne, true);
		if (eq) {
			vput(v, "=", 1);
			v_escapes(v, eq + 1, end, icase);
		}
		if (n)
			vput(v, &sep, 1);
	}
}

/* u (of buf) written another way that RFC 3261 19.1.4 calls the same URI
 * (v_escapes, v_list; the scheme and a host name in the other case) into
 * v; false when it is no sip or sips URI or does not fit. */
static bool uri_variant(struct vbuf *v, const char *buf, const struct sip_uri *u)
{
	const char *w = buf + u->whole.off, *we = w + u->whole.len;
	const char *h = buf + u->host.off, *he = h + u->host.len;
	v->n = 0;
	v->k = 0;
	if ((u->scheme != SIP_SCHEME_SIP && u->scheme != SIP_SCHEME_SIPS) || !u->host.len)
		return false;
	for (const char *p = w; p < buf + u->opaque.off; p++) {
		char c = case_flip(*p);
		vput(v, &c, 1);
	}
	const char *at = buf + u->opaque.off;
	if (u->user.len) {
		v_escapes(v, buf + u->user.off, buf + u->user.off + u->user.len, false);
		at = buf + u->user.off + u->user.len;
	}
	if (u->password.len) {
		vput(v, at, (size_t)(buf + u->password.off - at));
		v_escapes(v, buf + u->password.off, buf + u->password.off + u->password.len, false);
		at = buf + u->password.off + u->password.len;
	}
	vput(v, at, (size_t)(h - at));
	for (const char *p = h; p < he; p++) {
		char c = case_flip(*p);
		vput(v, &c, 1);
	}
	const char *rest = u->params.len    ? buf + u->params.off - 1
			   : u->headers.len ? buf + u->headers.off - 1
					    : we;
	vput(v, he, (size_t)(rest - he));
	if (u->params.len) {
		vput(v, ";", 1);
		v_list(v, buf + u->params.off, buf + u->params.off + u->params.len, ';', true);
	}
	if (u->headers.len) {
		vput(v, "?", 1);
		v_list(v, buf + u->headers.off, buf + u->headers.off + u->headers.len, '&', false);
	}
	return v->n <= sizeof(v->p) && v->n <= UINT16_MAX;
}

/* u (of buf) is equal to itself written another way (uri_variant), both
 * ways round, and not equal to itself with a letter of its user part in the
 * other case (19.1.4: the userinfo is compared with case). */
static void check_uri_variants(const char *buf, const struct sip_uri *u)
{
	struct sip_uri x;
	if (!sip_uri_equal(buf, u, buf, u))
		die("a URI is not equal to itself", buf + u->whole.off, u->whole.len);
	if (!uri_variant(&var_a, buf, u))
		return;
	if (sip_parse_uri(&x, var_a.p, 0, (uint16_t)var_a.n) != 0)
		die("a URI written another way does not parse", var_a.p, (int)var_a.n);
	if (!sip_uri_equal(buf, u, var_a.p, &x) || !sip_uri_equal(var_a.p, &x, buf, u))
		die("a URI written another way is not equal to it", var_a.p, (int)var_a.n);
	/* a letter of the user part (not an escape's) in the other case */
	const char *p = buf + u->user.off, *e = p + u->user.len;
	while (p < e && !lex_is((unsigned char)*p, LEX_ALPHA))
		p += *p == '%' ? 3 : 1;
	if (p >= e || u->whole.len > sizeof(var_b.p))
		return;
	memcpy(var_b.p, buf + u->whole.off, u->whole.len);
	var_b.p[p - (buf + u->whole.off)] ^= 0x20;
	if (sip_parse_uri(&x, var_b.p, 0, u->whole.len) != 0)
		die("a URI with a user letter's case changed does not parse", var_b.p,
		    (int)u->whole.len);
	if (sip_uri_equal(buf, u, var_b.p, &x) || sip_uri_equal(var_b.p, &x, buf, u))
		die("a URI is equal to one whose user differs in case", var_b.p, (int)u->whole.len);
}

/* Every Contact value read with sip_addr_list_next, line by line: the ones
 * the parser kept, in its order and the same, then the rest (a response's
 * past SIP_MAX_CONTACTS), each read without error; and each URI equal to
 * itself and to the Request-URI both ways round or neither
 * (sip_uri_equal). A "*" the parser took lists none: 0 at once. */
static void check_contact_list(const struct sip_msg *m)
{
	unsigned n = 0;
	struct sip_addr a;

	for (uint16_t i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr_line *h = &m->hdrs[i];
		uint16_t pos = h->value.off;
		int rc;
		if (h->id != SIP_HDR_CONTACT)
			continue;
		if (m->contact_star) {
			if (sip_addr_list_next(m->buf, h->value, &pos, &a) != 0)
				die("sip_addr_list_next reads an address in a Contact of *", m->buf,
				    (int)m->len);
			continue;
		}
		while ((rc = sip_addr_list_next(m->buf, h->value, &pos, &a)) == 1) {
			const struct sip_addr *k = n < m->ncontacts ? &m->contacts[n] : NULL;
			if (k &&
			    (!view_same(m, k->whole, m, a.whole) || !same_uri(&k->uri, &a.uri) ||
			     !view_same(m, k->params, m, a.params) || k->has_tag != a.has_tag))
				die("sip_addr_list_next reads a Contact otherwise", m->buf,
				    (int)m->len);
			n++;
			check_uri_variants(m->buf, &a.uri);
			if (m->is_request && sip_uri_equal(m->buf, &a.uri, m->buf, &m->ruri) !=
						 sip_uri_equal(m->buf, &m->ruri, m->buf, &a.uri))
				die("sip_uri_equal is not symmetric", m->buf, (int)m->len);
		}
		if (rc < 0)
			die("sip_addr_list_next refuses a Contact the parser took", m->buf,
			    (int)m->len);
	}
	if (n < m->ncontacts)
		die("sip_addr_list_next reads fewer Contacts than the parser", m->buf, (int)m->len);
}

static void check_addrs(const struct sip_msg *m)
{
	struct sip_uri u;

	if (m->is_request &&
	    (sip_parse_uri(&u, m->buf, m->ruri.whole.off, m->ruri.whole.len) != 0 ||
	     !same_uri(&m->ruri, &u)))
		die("the Request-URI reads otherwise alone", m->buf, (int)m->len);
	check_addr(m, &m->from, "the From address reads otherwise alone");
	check_addr(m, &m->to, "the To address reads otherwise alone");
	for (unsigned i = 0; i < m->ncontacts; i++)
		check_addr(m, &m->contacts[i], "a Contact address reads otherwise alone");
	for (unsigned i = 0; i < m->nroutes; i++)
		check_addr(m, &m->routes[i], "a Route address reads otherwise alone");
	for (unsigned i = 0; i < m->nrecord_routes; i++)
		check_addr(m, &m->record_routes[i], "a Record-Route address reads otherwise alone");
	if (m->refer_to.len)
		check_addr(m, &m->refer_to_addr, "the Refer-To address reads otherwise alone");
	check_contact_list(m);
	if (m->is_request)
		check_uri_variants(m->buf, &m->ruri);
	check_uri_variants(m->buf, &m->from.uri);
	check_uri_variants(m->buf, &m->to.uri);
}

/* The Reason lines a caller's CANCEL passes on (setup_cancel_reasons, each
 * value sip_reason_ok took, RFC 3326) are whole lines: leg B's CANCEL built
 * with them parses and holds each one's value byte for byte; every Reason
 * line is passed on or counted dropped. */
static void check_reasons(const struct sip_msg *m)
{
	static const char invite[] = "INVITE sip:b@127.0.0.1:5090 SIP/2.0\r\n"
				     "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKr1\r\n"
				     "Max-Forwards: 70\r\nFrom: <sip:a@h>;tag=1\r\n"
				     "To: <sip:b@h>\r\nCall-ID: r1@h\r\nCSeq: 1 INVITE\r\n"
				     "Content-Length: 0\r\n\r\n";
	static struct sip_msg inv;
	char reasons[SETUP_REASON_MAX], cancel[1024];
	unsigned dropped = 0, lines = 0, kept = 0;

	for (uint16_t i = 0; i < m->nhdrs; i++)
		lines += m->hdrs[i].id == SIP_HDR_OTHER &&
			 sip_view_ieq(m->buf, m->hdrs[i].name, "Reason", 6);
	if (!lines)
		return;
	if (!inv.len && sip_parse(&inv, invite, sizeof(invite) - 1, NULL) != 0)
		die("the fixed INVITE does not parse", NULL, 0);
	size_t n = setup_cancel_reasons(m, reasons, sizeof(reasons), &dropped);
	int c = setup_build_cancel(&inv, reasons, n, cancel, sizeof(cancel));
	if (c <= 0 || sip_parse(&ctx.out, cancel, (size_t)c, NULL) != 0)
		die("a CANCEL with the Reason lines passed on does not parse", cancel, c);
	for (uint16_t i = 0, j = 0; i < ctx.out.nhdrs; i++) {
		const struct sip_hdr_line *o = &ctx.out.hdrs[i];
		if (o->id != SIP_HDR_OTHER || !sip_view_ieq(cancel, o->name, "Reason", 6))
			continue;
		kept++;
		/* a later Reason line of m than the last one passed on, taken
		 * (sip_reason_ok) and as it came; those between were dropped */
		for (; j < m->nhdrs; j++) {
			const struct sip_hdr_line *h = &m->hdrs[j];
			if (h->id == SIP_HDR_OTHER && sip_view_ieq(m->buf, h->name, "Reason", 6) &&
			    view_same(m, h->value, &ctx.out, o->value))
				break;
		}
		if (j == m->nhdrs || !sip_reason_ok(m->buf, m->hdrs[j].value))
			die("a Reason value passed on reads otherwise", cancel, c);
		j++;
	}
	if (kept + dropped != lines)
		die("Reason lines neither passed on nor counted dropped", cancel, c);
}

/* The Timestamp line a 100 copies (RFC 3261 8.2.6.1) is the request's, whole. */
static void check_timestamp(const struct sip_msg *m)
{
	char line[256];
	const struct sip_hdr_line *ts = sip_find_hdr(m, SIP_HDR_TIMESTAMP);
	int n = sip_timestamp_line(m, line, sizeof(line));
	if (n < 0 || line[n] != '\0' || (!ts && n) ||
	    (n && ((size_t)n != (size_t)(ts->end - ts->start) ||
		   memcmp(line, m->buf + ts->start, (size_t)n))))
		die("the Timestamp line to copy is not the request's", line, n);
}

/* The numbers sip_hdr_delta_seconds reads (Session-Expires, Min-SE,
 * Retry-After) are the value's leading digits; for Session-Expires, the
 * parser's own reading. */
static void check_delta_seconds(const struct sip_msg *m)
{
	static const uint8_t ids[] = {SIP_HDR_SESSION_EXPIRES, SIP_HDR_MIN_SE, SIP_HDR_RETRY_AFTER};
	for (size_t k = 0; k < sizeof(ids); k++) {
		uint32_t v = 0;
		const struct sip_hdr_line *h = sip_find_hdr(m, (enum sip_hdr)ids[k]);
		bool ok = sip_hdr_delta_seconds(m, (enum sip_hdr)ids[k], &v);
		if (ids[k] == SIP_HDR_SESSION_EXPIRES && h && (!ok || v != m->session_expires_secs))
			die("Session-Expires read two ways disagrees", NULL, 0);
		if (!ok)
			continue;
		uint64_t x = 0;
		const char *p = m->buf + h->value.off, *e = p + h->value.len;
		while (p < e && *p >= '0' && *p <= '9')
			x = x * 10 + (uint64_t)(*p++ - '0');
		if (x != v || v > INT32_MAX)
			die("delta-seconds read is not the value's digits", NULL, 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	int rc = sip_parse(&ctx.in, buf, size, NULL);
	char why[256];
	size_t w = sip_strerror(&ctx.in, why, sizeof(why));
	if (w >= sizeof(why) || why[w] != '\0')
		die("sip_strerror overran or did not terminate", NULL, 0);
	if (rc > 0 || (rc < 0 && ctx.in.err != -rc) || (rc == 0 && ctx.in.err != SIP_OK))
		die("sip_parse return and m->err disagree", NULL, 0);
	if (size > SIP_MAX_DATAGRAM) {
		if (rc != -SIP_ERR_TOO_LONG)
			die("an oversized datagram was not TOO_LONG", NULL, 0);
		return 0;
	}
	check_taken_over(&ctx.in, buf, size, rc);
	check_steering_shortcuts(buf, size);
	if (rc == 0) {
		if ((size_t)ctx.in.body.off + ctx.in.body.len > size)
			die("body view runs past the datagram", NULL, 0);
		check_steering(&ctx.in, buf, size);
		check_rewrites(&ctx.in);
		check_challenges(&ctx.in);
		check_option_tags(&ctx.in);
		check_dialog_refs(&ctx.in);
		check_addrs(&ctx.in);
		check_reasons(&ctx.in);
		check_timestamp(&ctx.in);
		check_delta_seconds(&ctx.in);
	}
	/* check_rewrites reused ctx.out; the input message is untouched. */
	if (ctx.in.is_request || rc != 0)
		check_respond(&ctx.in, rc == 0);
	return 0;
}
