/*
 * sip.h - the SIP message library: zero-copy parser, writer, stateless responses.
 *
 * Owns: the message model (views into a datagram), parsing one UDP datagram
 * (RFC 3261 sections 7, 18.3, 20, 25), writing a rewritten copy of a parsed
 * message into a caller buffer, and forming stateless responses (section 8.2.6).
 * Does not own: transactions, dialogs, sockets. Nothing here allocates; every
 * view is an (offset, length) pair into the caller's datagram, which must stay
 * alive and unchanged while the message is used.
 */
#ifndef SIPSHARD_SIP_H
#define SIPSHARD_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Compile-time capacities of struct sip_msg; runtime limits can only lower them. */
#ifndef SIP_MAX_HEADERS
#define SIP_MAX_HEADERS 1024
#endif
/* Every Via a request can gather: its sender's and one for each of the 70 hops
 * that the usual Max-Forwards allows (RFC 3261 8.1.1.6), rounded up to a
 * multiple of 8. RFC 4475 3.1.1.7 (longreq) has 34. */
#ifndef SIP_MAX_VIAS
#define SIP_MAX_VIAS 72
#endif
#ifndef SIP_MAX_ROUTES
#define SIP_MAX_ROUTES 16
#endif
#ifndef SIP_MAX_CONTACTS
#define SIP_MAX_CONTACTS 8
#endif
#define SIP_MAX_DATAGRAM 65535

/* A view: offset and length into the datagram. A datagram is at most 65535 bytes. */
typedef struct sip_view {
	uint16_t off;
	uint16_t len;
} sip_view;

static inline const char *sip_ptr(const char *buf, sip_view v)
{
	return buf + v.off;
}

/* Known headers. The parser maps long names and compact forms to these ids. */
enum sip_hdr {
	SIP_HDR_OTHER = 0,
	SIP_HDR_ACCEPT,
	SIP_HDR_ACCEPT_CONTACT, /* a */
	SIP_HDR_ALLOW,
	SIP_HDR_ALLOW_EVENTS, /* u */
	SIP_HDR_AUTHORIZATION,
	SIP_HDR_CALL_ID,	  /* i */
	SIP_HDR_CONTACT,	  /* m */
	SIP_HDR_CONTENT_ENCODING, /* e */
	SIP_HDR_CONTENT_LENGTH,	  /* l */
	SIP_HDR_CONTENT_TYPE,	  /* c */
	SIP_HDR_CSEQ,
	SIP_HDR_EVENT, /* o */
	SIP_HDR_EXPIRES,
	SIP_HDR_FROM,	  /* f */
	SIP_HDR_IDENTITY, /* y */
	SIP_HDR_MAX_FORWARDS,
	SIP_HDR_MIN_SE,
	SIP_HDR_PROXY_AUTHORIZATION,
	SIP_HDR_PROXY_REQUIRE,
	SIP_HDR_RACK,
	SIP_HDR_RECORD_ROUTE,
	SIP_HDR_REFER_TO,	     /* r */
	SIP_HDR_REFERRED_BY,	     /* b */
	SIP_HDR_REJECT_CONTACT,	     /* j */
	SIP_HDR_REQUEST_DISPOSITION, /* d */
	SIP_HDR_REQUIRE,
	SIP_HDR_RETRY_AFTER,
	SIP_HDR_ROUTE,
	SIP_HDR_RSEQ,
	SIP_HDR_SESSION_EXPIRES, /* x */
	SIP_HDR_SUBJECT,	 /* s */
	SIP_HDR_SUPPORTED,	 /* k */
	SIP_HDR_TO,		 /* t */
	SIP_HDR_UNSUPPORTED,
	SIP_HDR_USER_AGENT,
	SIP_HDR_VIA, /* v */
	SIP_HDR_WWW_AUTHENTICATE,
	SIP_HDR_PROXY_AUTHENTICATE,
	SIP_HDR_SERVER,
	SIP_HDR_WARNING,
	SIP_HDR_TIMESTAMP,   /* copied into a 100 (Trying), RFC 3261 8.2.6.1 */
	SIP_HDR_REPLACES,    /* RFC 3891 */
	SIP_HDR_JOIN,	     /* RFC 3911 */
	SIP_HDR_EVENT_COUNT_ /* number of ids; keep last */
};
#define SIP_HDR_COUNT SIP_HDR_EVENT_COUNT_
/* A bit for a header id in masks such as sip_wspec.remove. */
#define SIP_HBIT(id) (UINT64_C(1) << (id))

/* Methods the fast path switches on; any other token is SIP_METHOD_OTHER. */
enum sip_method {
	SIP_METHOD_OTHER = 0,
	SIP_METHOD_INVITE,
	SIP_METHOD_ACK,
	SIP_METHOD_BYE,
	SIP_METHOD_CANCEL,
	SIP_METHOD_OPTIONS,
	SIP_METHOD_REGISTER,
	SIP_METHOD_INFO,
	SIP_METHOD_MESSAGE,
	SIP_METHOD_NOTIFY,
	SIP_METHOD_PRACK,
	SIP_METHOD_REFER,
	SIP_METHOD_SUBSCRIBE,
	SIP_METHOD_UPDATE,
	SIP_METHOD_PUBLISH,
	SIP_METHOD_COUNT_
};

enum sip_scheme { SIP_SCHEME_OTHER = 0, SIP_SCHEME_SIP, SIP_SCHEME_SIPS, SIP_SCHEME_TEL };
enum sip_host_type { SIP_HOST_NONE = 0, SIP_HOST_NAME, SIP_HOST_IPV4, SIP_HOST_IPV6 };

/* A URI. For sip/sips every part is split; tel keeps the number in user;
 * any other scheme keeps everything after the colon in `opaque`. */
struct sip_uri {
	sip_view whole;
	sip_view opaque; /* after "scheme:" */
	sip_view user, password;
	sip_view host;			       /* an IPv6 reference keeps its brackets */
	sip_view params;		       /* ";a=b;c" without the first ';' */
	sip_view headers;		       /* after '?' */
	sip_view transport, maddr, user_param; /* values of those parameters */
	uint16_t port;			       /* 0 when absent (or written 0: has_port) */
	uint8_t scheme;			       /* enum sip_scheme */
	uint8_t host_type;		       /* enum sip_host_type */
	bool lr;
	/* what a view or port of 0 cannot tell (RFC 3261 19.1.4 compares
	 * them): a ':' and a port, 0 included; a ':' after the user, an empty
	 * password being a password. Bits in the byte the struct pads with. */
	bool has_port : 1;
	bool has_password : 1;
};

/* name-addr or addr-spec with header parameters (From, To, Contact, Route ...). */
struct sip_addr {
	sip_view whole;
	sip_view display; /* without quotes when quoted; may hold escapes */
	struct sip_uri uri;
	sip_view params; /* header params after the URI, without the first ';' */
	sip_view tag;	 /* value of the tag parameter; len 0 when absent */
	bool has_tag;
};

struct sip_via {
	sip_view whole;	    /* the whole via-parm, for relaying unchanged */
	sip_view protocol;  /* "SIP/2.0/UDP" */
	sip_view transport; /* "UDP" */
	sip_view host;	    /* IPv6 with brackets */
	uint16_t port;	    /* 0 when absent */
	sip_view branch, received, rport, maddr, ttl;
	bool has_rport; /* the rport parameter is present (with or without value) */
	uint16_t line;	/* index into sip_msg.hdrs of the header line holding it */
};

/* One header line as it appeared (a line may hold several comma-separated values). */
struct sip_hdr_line {
	uint8_t id; /* enum sip_hdr */
	sip_view name;
	sip_view value;	     /* trimmed; folded lines keep their CRLF WS inside */
	uint16_t start, end; /* bytes of the whole line, end includes its CRLF */
};

struct sip_cseq {
	uint32_t num;
	sip_view method;
	uint8_t method_id;
};

struct sip_rack {
	uint32_t rseq, cseq;
	sip_view method;
	uint8_t method_id;
};

/* Parse error codes (returned negated by sip_parse). */
enum sip_err {
	SIP_OK = 0,
	SIP_ERR_TOO_SHORT = 1,
	SIP_ERR_TOO_LONG,
	SIP_ERR_START_LINE,
	SIP_ERR_VERSION,
	SIP_ERR_HEADER_SYNTAX,
	SIP_ERR_TOO_MANY_HEADERS,
	SIP_ERR_LINE_TOO_LONG,
	SIP_ERR_URI,
	SIP_ERR_MISSING_HEADER,
	SIP_ERR_DUPLICATE_HEADER,
	SIP_ERR_BAD_VALUE,
	SIP_ERR_BODY_TRUNCATED,
	SIP_ERR_TOO_MANY_VALUES,
	SIP_ERR_COUNT_
};

struct sip_limits {
	uint16_t max_headers;  /* <= SIP_MAX_HEADERS */
	uint16_t max_line;     /* bytes of one header line, folds included */
	uint16_t max_uri;      /* bytes of one URI */
	uint32_t max_datagram; /* <= SIP_MAX_DATAGRAM */
};
/* 1024 headers, 8192-byte lines, 2048-byte URIs, 65535-byte datagrams. */
extern const struct sip_limits sip_default_limits;

struct sip_msg {
	const char *buf; /* the datagram; views point into it */
	uint32_t len;

	bool is_request;
	/* request line */
	sip_view method;
	uint8_t method_id; /* enum sip_method */
	struct sip_uri ruri;
	/* status line */
	uint16_t status;
	sip_view reason;    /* may be empty */
	uint16_t start_end; /* bytes of the start line including CRLF */

	sip_view call_id;
	struct sip_addr from, to;
	struct sip_cseq cseq;
	int32_t max_forwards;	/* -1 when absent */
	int32_t content_length; /* -1 when absent */
	sip_view content_type;
	bool contact_star; /* "Contact: *" */
	uint32_t rseq;	   /* 0 when absent */
	bool has_rack;
	struct sip_rack rack;
	sip_view require, supported, event, refer_to, session_expires;
	struct sip_addr refer_to_addr;
	uint32_t session_expires_secs; /* 0 when absent */

	sip_view body;
	uint16_t headers_end; /* offset of the empty line's CRLF that ends the headers */

	/* why the message is invalid (err == SIP_OK when valid) */
	uint8_t err;		/* enum sip_err */
	const char *err_reason; /* static text: what is wrong */
	sip_view err_name;	/* the header's name as written, when a header is at fault */
	uint8_t err_hdr;	/* enum sip_hdr at fault, or SIP_HDR_OTHER */

	/* index + 1 of the first line with each id; 0 when absent */
	uint16_t first[SIP_HDR_COUNT];
	uint16_t nhdrs;
	uint8_t nvias, nroutes, nrecord_routes, ncontacts;

	/* Arrays last: the parser initialises only the fields above and the used
	 * prefix of each array, so a parse never clears ~20 KiB it does not use. */
	struct sip_hdr_line hdrs[SIP_MAX_HEADERS];
	struct sip_via vias[SIP_MAX_VIAS];
	struct sip_addr routes[SIP_MAX_ROUTES];
	struct sip_addr record_routes[SIP_MAX_ROUTES];
	/* the first SIP_MAX_CONTACTS: a request with more is refused, a
	 * response's past them are checked and not kept (a REGISTER's 2xx lists
	 * every binding of the address of record) */
	struct sip_addr contacts[SIP_MAX_CONTACTS];
};

/* Parses one datagram. Returns 0 when valid, -(enum sip_err) otherwise; on error
 * m->err_reason says what is wrong and the headers found so far stay indexed, so
 * that sip_can_respond() and sip_respond() can answer 400. limits may be NULL. */
int sip_parse(struct sip_msg *m, const char *buf, size_t len, const struct sip_limits *limits);

/*
 * A parsed message handed to another thread of the same process, so that it
 * need not parse the datagram again: the fields before the arrays as they are,
 * then the used part of each array (headers, Vias, Routes, Record-Routes,
 * Contacts). Every view is an offset into the datagram, which travels beside
 * it. Native layout, for one build's threads only.
 *
 * sip_msg_pack writes m's parse into out and returns its length, or -ENOSPC
 * when cap is too small (the receiver then parses the datagram itself).
 * sip_msg_unpack fills m from such a parse of the len bytes at buf and
 * returns what sip_parse returned for them; -EINVAL, with m unusable, when the
 * parse is cut short, names another length or counts more than an array holds.
 */
int sip_msg_pack(const struct sip_msg *m, void *out, size_t cap);
int sip_msg_unpack(struct sip_msg *m, const char *buf, size_t len, const void *in, size_t in_len);

/* Writes "Header: reason" describing the parse error into out (always NUL-terminated).
 * Returns the length written. */
size_t sip_strerror(const struct sip_msg *m, char *out, size_t cap);

/* Name of a parse error code. */
const char *sip_err_name(int err);

/* The canonical long name of a header id ("Call-ID"); NULL for SIP_HDR_OTHER. */
const char *sip_hdr_name(enum sip_hdr id);
/* Header id for a name as written (case-insensitive, compact forms included). */
enum sip_hdr sip_hdr_lookup(const char *name, size_t len);
/* Method id for a method token (case-sensitive per RFC 3261). */
enum sip_method sip_method_lookup(const char *s, size_t len);
/* Whether the len bytes at s are a token (RFC 3261 25.1: one or more of
 * alphanum and -.!%*_+`'~), as a method or a header name must be. */
bool sip_is_token(const char *s, size_t len);
const char *sip_method_name(enum sip_method id); /* NULL for OTHER */

/* Parses a URI (used by the message parser, exposed for tests and routing).
 * Returns 0 or -SIP_ERR_URI. */
int sip_parse_uri(struct sip_uri *u, const char *buf, uint16_t off, uint16_t len);
/* Parses name-addr / addr-spec with params; 0 or -SIP_ERR_URI / -SIP_ERR_BAD_VALUE. */
int sip_parse_addr(struct sip_addr *a, const char *buf, uint16_t off, uint16_t len);
/* Whether the text p..end, each %HH escape read as the byte it stands for
 * (RFC 3261 19.1.4: an escaped unreserved character is the character), is the
 * word s in any letter case (s: lower-case letters only). A '%' not followed
 * by two hex digits (a header parameter's name is a token, which may hold one,
 * 25.1) is itself, which no letter of s is. */
bool sip_unescaped_ieq(const char *p, const char *end, const char *s);

/* One header parameter (RFC 3261 25.1 generic-param) of an address as
 * sip_addr_scan read it: its name, its value (len 0 without '='; a quoted
 * value with its quotes), and the bytes [start, end) it takes, from any LWS
 * before its ';' to the end of its value, for a copy that leaves it out. */
struct sip_param {
	sip_view name, value;
	uint16_t start, end;
};
/* The next of an address's header parameters, params (a sip_addr's params
 * view, whose first ';' is the byte before it), from *pos: to begin with,
 * that ';' (params.off - 1) or the end of the URI before it (the LWS
 * between is then the first parameter's). 1, *out filled and *pos moved
 * past it; 0 when none is left; -SIP_ERR_BAD_VALUE when what is there is no
 * parameter (never for a view the parser made). */
int sip_param_next(const char *buf, sip_view params, uint16_t *pos, struct sip_param *out);

/* The next of the comma-separated addresses of a header line's value (a
 * Contact's, a Route's: every one of them, where the parser keeps the first
 * SIP_MAX_CONTACTS Contacts of a response), from *pos (value.off to begin),
 * into *out: 1 and *pos moved past it (and its comma); 0 when none is left;
 * -SIP_ERR_URI or -SIP_ERR_BAD_VALUE when what is there is no address (never
 * for a line the parser took). A value that is "*" alone (a Contact's
 * wildcard, RFC 3261 10.2.2: sip_msg.contact_star) lists no address: 0 at
 * once, *pos at its end, *out untouched; a "*" among addresses is none
 * (-SIP_ERR_URI or -SIP_ERR_BAD_VALUE, as the parser refuses it). */
int sip_addr_list_next(const char *buf, sip_view value, uint16_t *pos, struct sip_addr *out);

/* Whether URI x (its views into a) and URI y (into b) are the same as RFC
 * 3261 19.1.4 compares them: the scheme; for sip and sips the user and
 * password with case (an empty password, "sip:a:@h", is one: not "sip:a@h"),
 * the host without (an IPv6 reference as the address it names, RFC 5954
 * 4.1), the port (absent is neither 5060 nor a written 0), each escape of a
 * character outside the reserved set the character itself; a uri-parameter
 * in both with the same value (without case), one in only one passed over
 * but for user, ttl, method and maddr, which never match then; every header
 * in both with the same value (as escaped text, not by each header field's
 * rules). tel and other schemes: the whole URI without case. (19.1.4's
 * examples also list "sip:bob@biloxi.com;transport=udp" as another URI than
 * "sip:bob@biloxi.com", against its own rule that a transport in one only is
 * passed over: the rule is followed.) */
bool sip_uri_equal(const char *a, const struct sip_uri *x, const char *b, const struct sip_uri *y);

/* A header value made of a token and parameters, such as an Event's
 * "refer;id=5" or a Subscription-State's "terminated;reason=timeout": the
 * token into *token, and the value of the parameter name (compared without
 * case; name may be NULL) into *param, len 0 when the parameter is absent
 * or has no value.
 * Returns 0, or -SIP_ERR_BAD_VALUE when the value is not a token followed by
 * parameters. */
int sip_token_params(const char *buf, sip_view value, const char *name, sip_view *token,
		     sip_view *param);

/* Whether a Reason value (RFC 3326 2) is well formed: one or more
 * protocol *(;param) separated by commas, each cause parameter 1*DIGIT and
 * each text parameter a quoted-string, and no control byte (a folded value
 * is refused too). For a value taken from one message into another. */
bool sip_reason_ok(const char *buf, sip_view value);

/* A Replaces (RFC 3891 6.1) or Join (RFC 3911 7.1) value: the Call-ID, the
 * to-tag and from-tag parameters (each exactly once), whether early-only is
 * given, and `params`, everything after the Call-ID (its first ';' included),
 * for a rewrite that keeps the other parameters. */
struct sip_dialog_ref {
	sip_view call_id, to_tag, from_tag, params;
	bool early_only;
};
/* Reads such a value (a view into buf): 0, or -SIP_ERR_BAD_VALUE when it is
 * not a Call-ID followed by parameters, or a tag is missing, given twice or
 * given without a value. */
int sip_dialog_ref_parse(const char *buf, sip_view value, struct sip_dialog_ref *r);
/* The value r was read from (in buf) naming another dialog: call_id, then
 * ";to-tag=" to_tag and ";from-tag=" from_tag (NUL-terminated strings), then
 * r's other parameters as written (early-only, extensions), in order.
 * Returns the length written into out (NUL-terminated), or -ENOSPC. */
int sip_dialog_ref_write(const char *buf, const struct sip_dialog_ref *r, const char *call_id,
			 const char *to_tag, const char *from_tag, char *out, size_t cap);

/* Whether any header line of this id (Supported, Require, ...: comma-separated
 * option tags, RFC 3261 section 20) lists tag, compared without case. */
bool sip_has_option_tag(const struct sip_msg *m, enum sip_hdr id, const char *tag);
/* Whether response m is a provisional sent reliably (RFC 3262 3): a status of
 * 101 to 199 with an RSeq and Require: 100rel. */
bool sip_is_reliable_provisional(const struct sip_msg *m);
/* The delta-seconds (up to 2^31-1) that the first header line of this id
 * starts with, parameters after it allowed (Min-SE: 1800;x=y), and for
 * Retry-After a comment too (Retry-After: 120 (in a meeting);duration=60):
 * true and *out, or false when there is no such line or it starts otherwise. */
bool sip_hdr_delta_seconds(const struct sip_msg *m, enum sip_hdr id, uint32_t *out);

/* Views are compared with these helpers. */
bool sip_view_eq(const char *buf, sip_view v, const char *s, size_t len);
bool sip_view_ieq(const char *buf, sip_view v, const char *s, size_t len);
/* How many header lines of m have this id (a header that must come once,
 * such as Replaces, RFC 3891 3, is checked with it). */
unsigned sip_hdr_lines(const struct sip_msg *m, enum sip_hdr id);
/* The 1-based index of the first header line with this id, or 0. */
static inline const struct sip_hdr_line *sip_find_hdr(const struct sip_msg *m, enum sip_hdr id)
{
	return m->first[id] ? &m->hdrs[m->first[id] - 1] : NULL;
}

/* ---- writer ---------------------------------------------------------------
 * Builds an outgoing datagram from a parsed message in one pass. The output is
 * the input with these edits, in this order:
 *   start line: Request-URI replaced when ruri is set (requests), or the whole
 *               start line replaced when start_line is set;
 *   prepend:    raw header lines (each ending in CRLF) right after the start line;
 *   headers:    every original line in order, except lines whose id is in
 *               `remove`, except extension header lines (SIP_HDR_OTHER) whose
 *               name is in `remove_named`, except the first strip_vias Via
 *               values (a line that loses only some of its values is
 *               rewritten with the rest), and
 *               with lines of a `replace` id written as "Name: value" once at
 *               the place of the first such line (appended when absent);
 *   append:     raw header lines before Content-Length;
 *   Content-Length recomputed (kept byte-identical when unchanged);
 *   body:       the original body, or `body` when replace_body.
 * With a zeroed spec the output is byte-identical to a well-formed input. */
struct sip_replace {
	uint8_t id; /* enum sip_hdr, not SIP_HDR_OTHER */
	const char *value;
	uint16_t len;
};

/* Header names to leave out that have no id of their own (extension
 * headers, SIP_HDR_OTHER; a known header is left out by its bit in
 * sip_wspec.remove, which covers its compact form too): each compared with
 * a line's name without case. Bounded, so that the writer's check of an
 * extension line stays a short loop over fixed arrays. */
#define SIP_NAMES_MAX 32
#define SIP_NAME_MAX  64 /* bytes of one name, its NUL included */
struct sip_names {
	uint8_t n;
	uint8_t len[SIP_NAMES_MAX];
	/* bit L set: some name is L bytes long, so that a line whose name has
	 * another length is passed over with one test */
	uint64_t lens;
	char name[SIP_NAMES_MAX][SIP_NAME_MAX];
};
/* Adds a name of len bytes, a token (RFC 3261 25.1, as every header name
 * the parser takes), to s (a zeroed struct is an empty list): 0, or -ENOSPC
 * when s holds SIP_NAMES_MAX names, -EINVAL for a name of 0 or SIP_NAME_MAX
 * bytes or more. */
int sip_names_add(struct sip_names *s, const char *name, size_t len);
/* Whether the name of len bytes at name (a token) is one of s's, ASCII case
 * ignored. */
bool sip_names_has(const struct sip_names *s, const char *name, size_t len);

/* What a B2BUA leaves out of every message it relays from one leg to the
 * other (sipshard's strip_headers): known headers as SIP_HBIT bits, and
 * extension headers by name (NULL when there are none, so that a rewrite
 * without them looks no name up). */
struct sip_strip {
	uint64_t ids;
	const struct sip_names *named;
};

#define SIP_WSPEC_MAX_REPLACE 12
struct sip_wspec {
	const char *ruri;
	size_t ruri_len;
	const char *start_line; /* without CRLF */
	size_t start_line_len;
	const char *prepend;
	size_t prepend_len;
	const char *append;
	size_t append_len;
	uint64_t remove; /* SIP_HBIT(id) mask */
	/* NULL, or extension headers to leave out by name: only lines of
	 * SIP_HDR_OTHER are looked up, and only when this is set */
	const struct sip_names *remove_named;
	uint16_t strip_vias;
	uint8_t nreplace;
	struct sip_replace replace[SIP_WSPEC_MAX_REPLACE];
	bool replace_body;
	const char *body;
	size_t body_len;
};

/* Adds what s leaves out (NULL: nothing) to the lines spec removes. */
static inline void sip_wspec_strip(struct sip_wspec *spec, const struct sip_strip *s)
{
	if (s) {
		spec->remove |= s->ids;
		spec->remove_named = s->named;
	}
}

/* Returns the length written, or -ENOSPC when out is too small (nothing useful is
 * left in out then), or -EINVAL for a bad spec. Never writes past cap. */
int sip_write(const struct sip_msg *m, const struct sip_wspec *spec, char *out, size_t cap);

/* ---- stateless responses (RFC 3261 8.2.6) ----------------------------------
 * Copies every Via line, From, To (adding ";tag=<to_tag>" when it has none and
 * status > 100), Call-ID and CSeq from the request, and for a 100 its
 * Timestamp (RFC 3261 8.2.6.1, sip_timestamp_line); adds `extra` raw header
 * lines (e.g. "Retry-After: 5\r\n") and Content-Length: 0. reason NULL picks
 * the standard phrase. Works on a request that failed to parse as long as
 * sip_can_respond() says so. Returns length or -ENOSPC / -EINVAL, or
 * -EMSGSIZE when a line it would write is longer than the parser takes
 * (sip_default_limits.max_line: a To line near it given its tag, a top Via
 * near it its received and rport): a response sipshard's own parser, or
 * any with that limit, would refuse is not formed (the caller drops the
 * request, as for -ENOSPC). */
int sip_respond(const struct sip_msg *req, int status, const char *reason, const char *to_tag,
		const char *extra, char *out, size_t cap);
/* sip_respond for a request that came from src (srclen bytes; NULL: as
 * sip_respond): the top via-parm goes back as RFC 3261 18.2.1 and RFC 3581
 * section 4 say, with ";received=<src IP>" (IPv6 without brackets) added
 * when its sent-by host is not src's address or it has rport (a received
 * with another value gets src's), and a valueless rport given src's port
 * ("rport=5062"). The rest of that Via line and every other Via line go
 * as they came. */
int sip_respond_from(const struct sip_msg *req, int status, const char *reason, const char *to_tag,
		     const char *extra, const struct sockaddr *src, socklen_t srclen, char *out,
		     size_t cap);
/* The Timestamp line of req as it came, CRLF included, NUL-terminated in out:
 * what a 100 (Trying) to req carries (RFC 3261 8.2.6.1), for a 100 made from
 * a saved head (sip_response_head) as extra. Returns its length, or 0 (out
 * "") when req has none or it does not fit cap with its NUL. */
int sip_timestamp_line(const struct sip_msg *req, char *out, size_t cap);
/* The header lines sip_respond copies from req (every Via line, From, To with
 * ";tag=<to_tag>" added when it has none and to_tag is not NULL, Call-ID,
 * CSeq), alone: for a response made later, when req is gone (the controller
 * keeps them while a call sets up). Returns length or -ENOSPC / -EINVAL /
 * -EMSGSIZE, as sip_respond. */
int sip_response_head(const struct sip_msg *req, const char *to_tag, char *out, size_t cap);
/* sip_response_head with the top Via as sip_respond_from writes it for a
 * request from src. */
int sip_response_head_from(const struct sip_msg *req, const char *to_tag,
			   const struct sockaddr *src, socklen_t srclen, char *out, size_t cap);
/* True when m is a request (even an invalid one) with Via, From, To, Call-ID and
 * CSeq lines present, so that a response can be formed; never for ACK, nor for
 * a request whose header lines were not all indexed (a line without name and
 * colon, too long, past max_headers, holding a NUL ...), which may hold a Via
 * the response would lack (RFC 3261 8.2.6.2). */
bool sip_can_respond(const struct sip_msg *m);
/* The status a request that failed to parse is answered with: 505 (Version Not
 * Supported) for a SIP version other than 2.0, 400 for anything else (RFC
 * 3261 21.5.6, 21.4.1; RFC 4475 3.1.2.16). */
int sip_error_status(const struct sip_msg *m);
/* Standard reason phrase for a status code ("Not Found"); "Unknown" otherwise. */
const char *sip_reason_phrase(int status);

/* ---- digest authentication (RFC 3261 22.4, RFC 7616) ------------------------
 * What sipshard needs to authenticate itself to a callee that challenges its
 * INVITE (a carrier trunk's 401 or 407): read the challenge, answer it. Not a
 * server side: sipshard never challenges. */
enum sip_digest_alg { SIP_DIGEST_MD5 = 1, SIP_DIGEST_SHA256 };

struct sip_digest_challenge {
	sip_view realm, nonce; /* the bytes inside the quotes */
	sip_view opaque;       /* inside the quotes; has_opaque when given */
	bool has_opaque;
	uint8_t alg;   /* enum sip_digest_alg: MD5 when algorithm is absent */
	bool qop_auth; /* qop offered, "auth" among its values */
	bool stale;    /* stale=true: the nonce, not the credentials, was refused */
	/* with -ENOTSUP: the scheme, algorithm and qop would do, but realm,
	 * nonce or opaque holds a byte that cannot be sent back as it came (a
	 * backslash escape, a control byte), so that a caller can say which of
	 * the two it refused */
	bool unsendable;
};

/* Reads a WWW-Authenticate or Proxy-Authenticate value (a view into buf).
 * Returns 0; -EINVAL when it is not a well-formed Digest challenge (syntax, no
 * realm or nonce, a parameter twice); -ENOTSUP for one this library does not
 * answer: another scheme, an algorithm but MD5 and SHA-256 (the -sess forms
 * too), a qop list without "auth", a backslash escape or a control byte (a
 * folded line's CRLF) in realm, nonce or opaque (the last two alone set
 * ch->unsendable). */
int sip_digest_challenge_parse(const char *buf, sip_view value, struct sip_digest_challenge *ch);

/* The credentials that answer a challenge. username must hold no '"', '\' or
 * control byte (it is sent quoted as it is); cnonce is a token. */
struct sip_digest_creds {
	const char *username, *password;
	const char *method; /* "INVITE" */
	const char *uri;    /* the request's Request-URI, as sent */
	size_t uri_len;
	const char *cnonce; /* with qop only */
	uint32_t nc;	    /* with qop only: 1 for the first use of a nonce */
};

/* Writes the Authorization (or Proxy-Authorization) value answering ch (read
 * from buf): `Digest username="..", realm="..", nonce="..", uri="..",
 * response="..", algorithm=.., [qop=auth, nc=.., cnonce=".."], [opaque=".."]`,
 * NUL-terminated. Returns its length, or -ENOSPC when cap is too small, or
 * -EINVAL for a username it cannot send. */
int sip_digest_answer(const char *buf, const struct sip_digest_challenge *ch,
		      const struct sip_digest_creds *cr, char *out, size_t cap);

#endif
