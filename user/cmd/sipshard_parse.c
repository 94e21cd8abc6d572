/*
 * sipshard-parse - reads SIP datagrams and prints them as JSON, says why one is
 * malformed, or prints the stateless response the library would send.
 *
 * Owns: the command line, reading input, turning a parsed message into JSON
 * (jansson). Does not own: parsing rules (user/sip/).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "sipshard/sip.h"

static const char usage_text[] =
    "usage: sipshard-parse [OPTIONS] [FILE]\n"
    "Reads one SIP message from FILE (or standard input) and prints it as JSON\n"
    "(a byte that is not part of valid UTF-8 is shown as U+FFFD).\n"
    "\n"
    "  -c, --check     print only 'valid' or 'invalid: REASON'\n"
    "  -r, --respond   print the stateless response the library would send:\n"
    "                  400 for an invalid request (505 for a SIP version other\n"
    "                  than 2.0) when one can be formed, nothing (exit 1) when\n"
    "                  none can; for a valid request, 200\n"
    "  -s, --stream    the input is a series of datagrams, each written as its\n"
    "                  length (0 to 65535, in decimal) on a line of its own, then\n"
    "                  exactly that many bytes; blank lines between records are\n"
    "                  skipped. One output per datagram: a line of JSON or check,\n"
    "                  or with --respond a record of the same form (the\n"
    "                  response's length, then the response; 0 when none can be\n"
    "                  formed), so that the output reads back with --stream\n"
    "  -p, --pretty    indent the JSON output (a datagram's JSON then spans lines)\n"
    "  -h, --help      print this text\n"
    "\n"
    "Exit status: 0 when every message is valid, 1 when one is invalid, 2 on a\n"
    "usage or input error.\n";

enum mode { MODE_JSON, MODE_CHECK, MODE_RESPOND };

struct parse_opts {
	enum mode mode;
	bool stream;
	bool pretty;
};

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong form,
 * no surrogate, nothing above U+10FFFF), or 0 when s does not start one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* A JSON string holds UTF-8 only, and jansson refuses anything else (NULL,
 * and json_object_set_new then leaves the key out without a word). SIP
 * peers send Latin-1 display names and header values, which the parser
 * takes: each byte that starts no well-formed UTF-8 sequence becomes U+FFFD,
 * so that the field is there and the rest of it readable. */
static json_t *jview(const char *buf, sip_view v)
{
	const unsigned char *s = (const unsigned char *)buf + v.off;
	json_t *j = json_stringn((const char *)s, v.len);

	if (j)
		return j;
	char *out = malloc((size_t)v.len * 3 + 1), *o = out;
	if (!out)
		return json_string("");
	for (size_t i = 0; i < v.len;) {
		size_t n = utf8_seq(s + i, v.len - i);
		if (n) {
			memcpy(o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			i++;
		}
	}
	j = json_stringn(out, (size_t)(o - out));
	free(out);
	return j ? j : json_string("");
}

/* Adds key: view when the view is not empty. */
static void jset_view(json_t *o, const char *key, const char *buf, sip_view v)
{
	if (v.len)
		json_object_set_new(o, key, jview(buf, v));
}

/* Adds key: the values of every header line of this id, in order, joined
 * with ", " as one line would list them; left out when every line is empty.
 * A comma-separated list such as Supported or Require may span lines (RFC
 * 3261 7.3.1), and the library reads every line (sip_has_option_tag), where
 * m->supported and m->require hold the first line's value only. */
static void jset_lines(json_t *o, const char *key, const struct sip_msg *m, enum sip_hdr id)
{
	char *out = malloc(m->len + 1), *p = out; /* the lines' values and ", " fit */

	if (!out)
		return;
	for (unsigned i = m->first[id] ? m->first[id] - 1u : m->nhdrs; i < m->nhdrs; i++) {
		const struct sip_hdr_line *h = &m->hdrs[i];
		if (h->id != id || !h->value.len)
			continue;
		if (p > out) {
			memcpy(p, ", ", 2);
			p += 2;
		}
		memcpy(p, m->buf + h->value.off, h->value.len);
		p += h->value.len;
	}
	if (p > out)
		json_object_set_new(o, key, jview(out, (sip_view){0, (uint16_t)(p - out)}));
	free(out);
}

static const char *scheme_name(uint8_t s)
{
	static const char *const names[] = {"other", "sip", "sips", "tel"};
	return s < 4 ? names[s] : "other";
}

static json_t *uri_json(const char *buf, const struct sip_uri *u)
{
	json_t *o = json_object();

	json_object_set_new(o, "uri", jview(buf, u->whole));
	json_object_set_new(o, "scheme", json_string(scheme_name(u->scheme)));
	if (u->scheme == SIP_SCHEME_OTHER) {
		jset_view(o, "opaque", buf, u->opaque);
		return o;
	}
	jset_view(o, "user", buf, u->user);
	if (u->has_password) /* "" for an empty one, as written */
		json_object_set_new(o, "password", jview(buf, u->password));
	jset_view(o, "host", buf, u->host);
	if (u->has_port)
		json_object_set_new(o, "port", json_integer(u->port));
	jset_view(o, "params", buf, u->params);
	jset_view(o, "headers", buf, u->headers);
	jset_view(o, "transport", buf, u->transport);
	jset_view(o, "maddr", buf, u->maddr);
	if (u->lr)
		json_object_set_new(o, "lr", json_true());
	return o;
}

static json_t *addr_json(const char *buf, const struct sip_addr *a)
{
	json_t *o = json_object();

	jset_view(o, "display", buf, a->display);
	json_object_set_new(o, "uri", uri_json(buf, &a->uri));
	jset_view(o, "params", buf, a->params);
	if (a->has_tag)
		json_object_set_new(o, "tag", jview(buf, a->tag));
	return o;
}

static json_t *addr_list_json(const char *buf, const struct sip_addr *a, unsigned n)
{
	json_t *arr = json_array();

	for (unsigned i = 0; i < n; i++)
		json_array_append_new(arr, addr_json(buf, &a[i]));
	return arr;
}

static json_t *via_json(const char *buf, const struct sip_via *v)
{
	json_t *o = json_object();

	json_object_set_new(o, "transport", jview(buf, v->transport));
	json_object_set_new(o, "host", jview(buf, v->host));
	if (v->port)
		json_object_set_new(o, "port", json_integer(v->port));
	jset_view(o, "branch", buf, v->branch);
	jset_view(o, "received", buf, v->received);
	if (v->has_rport)
		json_object_set_new(o, "rport", v->rport.len ? jview(buf, v->rport) : json_true());
	jset_view(o, "maddr", buf, v->maddr);
	jset_view(o, "ttl", buf, v->ttl);
	return o;
}

static json_t *msg_json(const struct sip_msg *m)
{
	const char *b = m->buf;
	json_t *o = json_object(), *hdrs = json_array(), *vias = json_array();

	if (m->is_request) {
		json_object_set_new(o, "type", json_string("request"));
		json_object_set_new(o, "method", jview(b, m->method));
		json_object_set_new(o, "request_uri", uri_json(b, &m->ruri));
	} else {
		json_object_set_new(o, "type", json_string("response"));
		json_object_set_new(o, "status", json_integer(m->status));
		json_object_set_new(o, "reason", jview(b, m->reason));
	}
	for (uint16_t i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr_line *h = &m->hdrs[i];
		const char *canon = sip_hdr_name((enum sip_hdr)h->id);
		json_t *hj = json_object();
		json_object_set_new(hj, "name", canon ? json_string(canon) : jview(b, h->name));
		json_object_set_new(hj, "value", jview(b, h->value));
		json_array_append_new(hdrs, hj);
	}
	json_object_set_new(o, "headers", hdrs);
	json_object_set_new(o, "call_id", jview(b, m->call_id));
	json_object_set_new(o, "from", addr_json(b, &m->from));
	json_object_set_new(o, "to", addr_json(b, &m->to));
	json_t *cseq = json_object();
	json_object_set_new(cseq, "number", json_integer(m->cseq.num));
	json_object_set_new(cseq, "method", jview(b, m->cseq.method));
	json_object_set_new(o, "cseq", cseq);
	for (uint8_t i = 0; i < m->nvias; i++)
		json_array_append_new(vias, via_json(b, &m->vias[i]));
	json_object_set_new(o, "via", vias);
	if (m->max_forwards >= 0)
		json_object_set_new(o, "max_forwards", json_integer(m->max_forwards));
	if (m->content_length >= 0)
		json_object_set_new(o, "content_length", json_integer(m->content_length));
	jset_view(o, "content_type", b, m->content_type);
	if (m->nroutes)
		json_object_set_new(o, "route", addr_list_json(b, m->routes, m->nroutes));
	if (m->nrecord_routes)
		json_object_set_new(o, "record_route",
				    addr_list_json(b, m->record_routes, m->nrecord_routes));
	if (m->contact_star)
		json_object_set_new(o, "contact", json_string("*"));
	else if (m->ncontacts)
		json_object_set_new(o, "contact", addr_list_json(b, m->contacts, m->ncontacts));
	if (m->rseq)
		json_object_set_new(o, "rseq", json_integer(m->rseq));
	if (m->has_rack) {
		json_t *r = json_object();
		json_object_set_new(r, "rseq", json_integer(m->rack.rseq));
		json_object_set_new(r, "cseq", json_integer(m->rack.cseq));
		json_object_set_new(r, "method", jview(b, m->rack.method));
		json_object_set_new(o, "rack", r);
	}
	jset_lines(o, "require", m, SIP_HDR_REQUIRE);
	jset_lines(o, "supported", m, SIP_HDR_SUPPORTED);
	jset_view(o, "event", b, m->event);
	if (m->refer_to.len)
		json_object_set_new(o, "refer_to", addr_json(b, &m->refer_to_addr));
	if (m->session_expires.len)
		json_object_set_new(o, "session_expires", json_integer(m->session_expires_secs));
	json_object_set_new(o, "body_length", json_integer(m->body.len));
	return o;
}

static void print_json(json_t *o, const struct parse_opts *opt)
{
	char *s = json_dumps(o, opt->pretty ? JSON_INDENT(2) : JSON_COMPACT);
	if (s) {
		puts(s);
		free(s);
	}
	json_decref(o);
}

/* Handles one datagram; returns 0 when valid, 1 when not. */
static int handle(const char *buf, size_t len, const struct parse_opts *opt)
{
	static struct sip_msg m; /* ~20 KiB: kept off the stack */
	char reason[256], out[SIP_MAX_DATAGRAM];
	int rc = sip_parse(&m, buf, len, NULL);

	sip_strerror(&m, reason, sizeof(reason));
	switch (opt->mode) {
	case MODE_CHECK:
		if (rc)
			printf("invalid: %s\n", reason);
		else
			printf("valid\n");
		break;
	case MODE_RESPOND: {
		int n = -EINVAL;
		if (m.is_request && sip_can_respond(&m))
			n = rc ? sip_respond(&m, sip_error_status(&m), reason, "sipshard400", NULL,
					     out, sizeof(out))
			       : sip_respond(&m, 200, NULL, "sipshard200", NULL, out, sizeof(out));
		if (n < 0) {
			fprintf(stderr, "sipshard-parse: no response can be formed (%s)\n",
				rc ? reason : "not a request, or an ACK");
			if (opt->stream)
				printf("0\n\n"); /* an empty record keeps outputs in step */
			return 1;
		}
		/* in a stream, each response is a record of the input's form, so
		 * that the output can be read back with --stream */
		if (opt->stream)
			printf("%d\n", n);
		fwrite(out, 1, (size_t)n, stdout);
		if (opt->stream)
			putchar('\n');
		break;
	}
	case MODE_JSON:
		if (rc) {
			json_t *e = json_object();
			json_object_set_new(e, "error", json_string(sip_err_name(rc)));
			json_object_set_new(e, "reason", json_string(reason));
			print_json(e, opt);
		} else {
			print_json(msg_json(&m), opt);
		}
		break;
	}
	return rc ? 1 : 0;
}

static int read_all(FILE *f, char *buf, size_t cap, size_t *len)
{
	*len = fread(buf, 1, cap, f);
	if (ferror(f))
		return -EIO;
	if (*len == cap && fgetc(f) != EOF)
		return -EMSGSIZE;
	return 0;
}

/* A record's length line, whose first byte c is read already: a whole
 * decimal number from 0 to 65535 (no minus sign, no space: scanf would take
 * "-1" as a huge length), then LF or CRLF. Returns the length, or -1 after saying what
 * is wrong. */
static long stream_length(FILE *f, int c)
{
	char line[32];
	long n;

	line[0] = (char)c;
	line[1] = '\0';
	if (!fgets(line + 1, sizeof(line) - 1, f) || !strchr(line, '\n')) {
		if (feof(f))
			fprintf(stderr, "sipshard-parse: --stream: input ends inside a length "
					"line\n");
		else
			fprintf(stderr,
				"sipshard-parse: --stream: expected a length then a newline, "
				"found a line longer than %zu bytes\n",
				sizeof(line) - 2);
		return -1;
	}
	char *eol = strchr(line, '\n');
	if (eol > line && eol[-1] == '\r')
		eol--; /* a CRLF ends the line as well */
	*eol = '\0';
	if (cli_long(line, 0, SIP_MAX_DATAGRAM, &n) < 0) {
		fprintf(stderr,
			"sipshard-parse: --stream: expected a length from 0 to %d in decimal "
			"digits, found \"%s\"\n",
			SIP_MAX_DATAGRAM, line);
		return -1;
	}
	return n;
}

static int run_stream(FILE *f, const struct parse_opts *opt)
{
	static char buf[SIP_MAX_DATAGRAM];
	size_t n;
	int status = 0, c;

	while ((c = fgetc(f)) != EOF) {
		if (c == '\n' || c == '\r')
			continue; /* blank lines between records are allowed */
		long len = stream_length(f, c);
		if (len < 0)
			return 2;
		n = (size_t)len;
		if (fread(buf, 1, n, f) != n) {
			fprintf(stderr, "sipshard-parse: --stream: input ends inside a datagram\n");
			return 2;
		}
		if (handle(buf, n, opt))
			status = 1;
	}
	return status;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"check", no_argument, NULL, 'c'},	{"respond", no_argument, NULL, 'r'},
	    {"stream", no_argument, NULL, 's'}, {"pretty", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},	{NULL, 0, NULL, 0},
	};
	struct parse_opts opt = {MODE_JSON, false, false};
	static char buf[SIP_MAX_DATAGRAM];
	FILE *f = stdin;
	size_t len;
	int c, rc;

	while ((c = getopt_long(argc, argv, "crsph", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
		case 'r': {
			enum mode want = c == 'c' ? MODE_CHECK : MODE_RESPOND;
			if (opt.mode != MODE_JSON && opt.mode != want) {
				fprintf(stderr, "sipshard-parse: --check and --respond exclude "
						"each other: give one\n");
				return 2;
			}
			opt.mode = want;
			break;
		}
		case 's':
			opt.stream = true;
			break;
		case 'p':
			opt.pretty = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "sipshard-parse: expected at most one FILE, got %d\n%s",
			argc - optind, usage_text);
		return 2;
	}
	if (optind < argc && strcmp(argv[optind], "-") != 0) {
		f = fopen(argv[optind], "rb");
		if (!f) {
			fprintf(stderr, "sipshard-parse: cannot open %s: %s\n", argv[optind],
				strerror(errno));
			return 2;
		}
	}
	if (opt.stream) {
		rc = run_stream(f, &opt);
	} else {
		int r = read_all(f, buf, sizeof(buf), &len);
		if (r) {
			fprintf(stderr, "sipshard-parse: %s\n",
				r == -EMSGSIZE ? "input larger than 65535 bytes (one datagram)"
					       : "read error");
			rc = 2;
		} else {
			rc = handle(buf, len, &opt);
		}
	}
	if (f != stdin)
		fclose(f);
	return rc;
}
