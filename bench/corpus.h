/*
 * corpus.h - the benchmark corpus: five messages written the way real equipment
 * sends them (INVITE+SDP, in-dialog INFO and BYE, 200 OK+SDP, 180 Ringing),
 * shared by parse_bench (the parser) and steer_bench (Call-ID steering), so
 * that both measure the same bytes. Owns the messages and what a parser must
 * find in each; does not own any timing.
 */
#ifndef SIPSHARD_BENCH_CORPUS_H
#define SIPSHARD_BENCH_CORPUS_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sipshard/sip.h"

/* ---- corpus -------------------------------------------------------------
 * Each message is its header block (every line ending in CRLF, without
 * Content-Length) and its body; corpus_assemble() writes head + "Content-Length: N"
 * + CRLF + body so the length is right by construction. Addresses are from
 * the documentation ranges (RFC 5737) and example domains. */

#define SDP_OFFER                                                                                  \
	"v=0\r\n"                                                                                  \
	"o=ExampleGW 1732443600 1732443600 IN IP4 10.20.30.40\r\n"                                 \
	"s=ExampleGW\r\n"                                                                          \
	"c=IN IP4 10.20.30.40\r\n"                                                                 \
	"t=0 0\r\n"                                                                                \
	"m=audio 16384 RTP/AVP 0 8 18 101\r\n"                                                     \
	"a=rtpmap:0 PCMU/8000\r\n"                                                                 \
	"a=rtpmap:8 PCMA/8000\r\n"                                                                 \
	"a=rtpmap:18 G729/8000\r\n"                                                                \
	"a=fmtp:18 annexb=no\r\n"                                                                  \
	"a=rtpmap:101 telephone-event/8000\r\n"                                                    \
	"a=fmtp:101 0-16\r\n"                                                                      \
	"a=ptime:20\r\n"                                                                           \
	"a=sendrecv\r\n"

#define SDP_ANSWER                                                                                 \
	"v=0\r\n"                                                                                  \
	"o=callee 2890844527 2890844527 IN IP4 192.0.2.77\r\n"                                     \
	"s=-\r\n"                                                                                  \
	"c=IN IP4 192.0.2.77\r\n"                                                                  \
	"t=0 0\r\n"                                                                                \
	"m=audio 40376 RTP/AVP 0 101\r\n"                                                          \
	"a=rtpmap:0 PCMU/8000\r\n"                                                                 \
	"a=rtpmap:101 telephone-event/8000\r\n"                                                    \
	"a=fmtp:101 0-15\r\n"                                                                      \
	"a=ptime:20\r\n"                                                                           \
	"a=sendrecv\r\n"

struct corpus_def {
	const char *key; /* JSON member and table row */
	const char *head;
	const char *body;
	bool is_request;
	int method_or_status; /* enum sip_method for requests, status for responses */
	int nvias;
};

static const struct corpus_def corpus_defs[] = {
    {"invite",
     "INVITE sip:+14155550123@sbc.example.net:5060;transport=udp SIP/2.0\r\n"
     "Via: SIP/2.0/UDP 198.51.100.17:5060;branch=z9hG4bK-524287-1---a3f8c9d2e1b4;rport\r\n"
     "Via: SIP/2.0/UDP 203.0.113.40:5060;received=203.0.113.40;branch=z9hG4bKf1a2b3c4d5e6\r\n"
     "Via: SIP/2.0/UDP 10.20.30.40:5080;rport=5080;branch=z9hG4bK776asdhds\r\n"
     "Record-Route: <sip:198.51.100.17;lr;ftag=8ab3d7c2>\r\n"
     "Record-Route: <sip:203.0.113.40;lr>\r\n"
     "Max-Forwards: 68\r\n"
     "From: \"Alice Smith\" <sip:+14085550199@carrier.example.com>;tag=8ab3d7c2\r\n"
     "To: <sip:+14155550123@sbc.example.net>\r\n"
     "Call-ID: 3c26700e8a1f4b2d9e5c@10.20.30.40\r\n"
     "CSeq: 314159 INVITE\r\n"
     "Contact: <sip:+14085550199@10.20.30.40:5080;transport=udp>\r\n"
     "Supported: replaces, timer, 100rel\r\n"
     "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, PRACK, UPDATE, REFER, NOTIFY\r\n"
     "Session-Expires: 1800;refresher=uac\r\n"
     "Min-SE: 90\r\n"
     "User-Agent: ExampleGW/4.2.1\r\n"
     "Content-Type: application/sdp\r\n",
     SDP_OFFER, true, SIP_METHOD_INVITE, 3},
    {"info",
     "INFO sip:+14085550199@10.20.30.40:5080 SIP/2.0\r\n"
     "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK3f9a2c71e0;rport\r\n"
     "Via: SIP/2.0/UDP 10.1.1.5;branch=z9hG4bKa81c0e6f\r\n"
     "Route: <sip:198.51.100.17;lr>\r\n"
     "Max-Forwards: 70\r\n"
     "From: <sip:+14155550123@sbc.example.net>;tag=s1-0001a2b3\r\n"
     "To: <sip:+14085550199@carrier.example.com>;tag=8ab3d7c2\r\n"
     "Call-ID: 3c26700e8a1f4b2d9e5c@10.20.30.40\r\n"
     "CSeq: 2 INFO\r\n"
     "Contact: <sip:192.0.2.10:5060>\r\n"
     "Content-Type: application/dtmf-relay\r\n",
     "Signal=5\r\nDuration=160\r\n", true, SIP_METHOD_INFO, 2},
    {"bye",
     "BYE sip:+14085550199@10.20.30.40:5080 SIP/2.0\r\n"
     "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK5e1d07a93c;rport\r\n"
     "Via: SIP/2.0/UDP 10.1.1.5;branch=z9hG4bKc42b9d10\r\n"
     "Route: <sip:198.51.100.17;lr>\r\n"
     "Max-Forwards: 70\r\n"
     "From: <sip:+14155550123@sbc.example.net>;tag=s1-0001a2b3\r\n"
     "To: <sip:+14085550199@carrier.example.com>;tag=8ab3d7c2\r\n"
     "Call-ID: 3c26700e8a1f4b2d9e5c@10.20.30.40\r\n"
     "CSeq: 3 BYE\r\n"
     "Reason: Q.850;cause=16;text=\"Normal call clearing\"\r\n",
     "", true, SIP_METHOD_BYE, 2},
    {"200-ok",
     "SIP/2.0 200 OK\r\n"
     "Via: SIP/2.0/UDP 198.51.100.17:5060;branch=z9hG4bK-524287-1---a3f8c9d2e1b4;rport=5060\r\n"
     "Via: SIP/2.0/UDP 203.0.113.40:5060;received=203.0.113.40;branch=z9hG4bKf1a2b3c4d5e6\r\n"
     "Via: SIP/2.0/UDP 10.20.30.40:5080;rport=5080;branch=z9hG4bK776asdhds\r\n"
     "Record-Route: <sip:198.51.100.17;lr;ftag=8ab3d7c2>\r\n"
     "Record-Route: <sip:203.0.113.40;lr>\r\n"
     "From: \"Alice Smith\" <sip:+14085550199@carrier.example.com>;tag=8ab3d7c2\r\n"
     "To: <sip:+14155550123@sbc.example.net>;tag=as5f1c9e02\r\n"
     "Call-ID: 3c26700e8a1f4b2d9e5c@10.20.30.40\r\n"
     "CSeq: 314159 INVITE\r\n"
     "Contact: <sip:+14155550123@192.0.2.77:5060;transport=udp>\r\n"
     "Require: timer\r\n"
     "Supported: replaces, timer\r\n"
     "Session-Expires: 1800;refresher=uac\r\n"
     "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY\r\n"
     "Server: ExampleUAS/7.1\r\n"
     "Content-Type: application/sdp\r\n",
     SDP_ANSWER, false, 200, 3},
    {"180-ringing",
     "SIP/2.0 180 Ringing\r\n"
     "Via: SIP/2.0/UDP 198.51.100.17:5060;branch=z9hG4bK-524287-1---a3f8c9d2e1b4;rport=5060\r\n"
     "Via: SIP/2.0/UDP 203.0.113.40:5060;received=203.0.113.40;branch=z9hG4bKf1a2b3c4d5e6\r\n"
     "Via: SIP/2.0/UDP 10.20.30.40:5080;rport=5080;branch=z9hG4bK776asdhds\r\n"
     "Record-Route: <sip:198.51.100.17;lr;ftag=8ab3d7c2>\r\n"
     "Record-Route: <sip:203.0.113.40;lr>\r\n"
     "From: \"Alice Smith\" <sip:+14085550199@carrier.example.com>;tag=8ab3d7c2\r\n"
     "To: <sip:+14155550123@sbc.example.net>;tag=as5f1c9e02\r\n"
     "Call-ID: 3c26700e8a1f4b2d9e5c@10.20.30.40\r\n"
     "CSeq: 314159 INVITE\r\n"
     "Contact: <sip:+14155550123@192.0.2.77:5060;transport=udp>\r\n",
     "", false, 180, 3},
};

#define NMSG (sizeof(corpus_defs) / sizeof(corpus_defs[0]))

/* The whole message of d: its head, "Content-Length: N" and the blank line, then
 * its body, so that the length is right by construction. Returns a malloc'd
 * buffer (the caller frees it) and sets *len, or NULL. */
static inline char *corpus_assemble(const struct corpus_def *d, size_t *len)
{
	size_t hl = strlen(d->head), bl = strlen(d->body);
	size_t cap = hl + bl + 64;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	int n = snprintf(buf, cap, "%sContent-Length: %zu\r\n\r\n%s", d->head, bl, d->body);
	if (n < 0 || (size_t)n >= cap) {
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

#endif
