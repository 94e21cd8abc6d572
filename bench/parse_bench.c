/*
 * parse_bench - how long sip_parse takes on realistic messages, side by side
 * with libosip2 on the same bytes and with the floor of touching every byte once.
 *
 * Owns: the embedded corpus (INVITE+SDP, in-dialog INFO and BYE, 200 OK+SDP,
 * 180 Ringing) and its varied copies, the timing method (warm-up,
 * per-contender calibration, R interleaved repetitions, median), the table /
 * JSON output and the target check from the issue. Does not own: any parsing rule (user/sip/) and
 * is not a test: it never fails on a slow figure, only when a contender cannot parse.
 *
 * Contenders, per message:
 *   sipshard  sip_parse() into one reused struct sip_msg (what the fast path does);
 *   osip2     osip_message_init + osip_message_parse + osip_message_free per
 *             message (what a libosip2 user pays; parser_init() once);
 *   scan      memchr for '\n' across the message counting lines: the cost of
 *             reading the bytes once, the floor no parser can beat.
 *
 * Two rounds: "same bytes" parses one copy of each message over and over (the
 * issue's measure); "varied" cycles through NVARIANTS copies whose Call-ID,
 * tags, branches and CSeq number differ in value and length, as consecutive
 * datagrams of real traffic do. Branch predictors learn one repeated message
 * completely, so only the second round shows what a byte-at-a-time parser
 * pays for field lengths it cannot predict.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* sip.h before libosip2: osip_const.h defines SIP_OK as a macro (200), which
 * would break our enum sip_err; this file never names SIP_OK itself. */
#include "core/cli.h"
#include "sipshard/sip.h"

#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>

#include "corpus.h"
#include "cpu.h"

/* ---- contenders ----------------------------------------------------------- */

enum contender { C_SIPSHARD, C_OSIP2, C_SCAN, C_COUNT };

/* Copies of one message that the contenders go through in turn. */
#define NVARIANTS 1024 /* a power of two */
#define TEXT_(x)  #x
#define TEXT(x)	  TEXT_(x) /* a macro's value as a string literal */
struct msg_set {
	char **bufs;
	size_t *lens;
	size_t mask;	    /* n - 1: 0 for the one copy of "same bytes" */
	size_t mean_len;    /* bytes per copy, on average */
	double ns[C_COUNT]; /* median ns per message */
};

struct bench_msg {
	const struct corpus_def *def;
	char *buf; /* the message as defined */
	size_t len;
	struct msg_set same, varied;
};

struct bench {
	struct sip_msg *sm; /* reused by every sipshard iteration, as a worker would */
	struct bench_msg msgs[NMSG];
	int reps;
	uint64_t rep_ns; /* target duration of one repetition per contender */
	uint64_t warm_ns;
	bool json;
	int cpu;       /* requested CPU, -1 for "the current one" */
	uint64_t sink; /* results of every iteration end here, so none is dead code */
};

/* Hides a pointer's value from the optimiser so that work on it cannot be
 * hoisted out of the timing loop (memchr is a pure builtin to GCC). */
static inline const char *opaque(const char *p)
{
	__asm__ volatile("" : "+r"(p) : : "memory");
	return p;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t loop_sipshard(struct bench *b, const struct msg_set *s, uint64_t k)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < k; i++) {
		const char *p = opaque(s->bufs[i & s->mask]);
		sum +=
		    (uint64_t)sip_parse(b->sm, p, s->lens[i & s->mask], NULL) + b->sm->call_id.len;
	}
	return sum;
}

static uint64_t loop_osip2(const struct msg_set *s, uint64_t k)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < k; i++) {
		osip_message_t *om;
		const char *p = opaque(s->bufs[i & s->mask]);
		if (osip_message_init(&om) != 0)
			abort(); /* out of memory: no figure would mean anything */
		sum += (uint64_t)osip_message_parse(om, p, s->lens[i & s->mask]);
		if (om->call_id && om->call_id->number)
			sum += strlen(om->call_id->number);
		osip_message_free(om);
	}
	return sum;
}

static uint64_t scan_lines(const char *p, size_t len)
{
	const char *end = p + len;
	uint64_t lines = 0;

	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		if (!lf)
			break;
		lines++;
		p = lf + 1;
	}
	return lines;
}

static uint64_t loop_scan(const struct msg_set *s, uint64_t k)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < k; i++)
		sum += scan_lines(opaque(s->bufs[i & s->mask]), s->lens[i & s->mask]);
	return sum;
}

/* Runs k iterations of one contender and returns the elapsed nanoseconds. */
static uint64_t timed_run(struct bench *b, enum contender c, const struct msg_set *m, uint64_t k)
{
	uint64_t t0 = now_ns(), sum = 0;

	switch (c) {
	case C_SIPSHARD:
		sum = loop_sipshard(b, m, k);
		break;
	case C_OSIP2:
		sum = loop_osip2(m, k);
		break;
	default:
		sum = loop_scan(m, k);
		break;
	}
	uint64_t t1 = now_ns();
	b->sink += sum;
	return t1 - t0 ? t1 - t0 : 1;
}

/* Iterations that make one repetition last about b->rep_ns. The first runs
 * double k until a run is long enough for the clock to measure it well. */
static uint64_t calibrate(struct bench *b, enum contender c, const struct msg_set *m)
{
	uint64_t k = 1, t;

	for (;;) {
		t = timed_run(b, c, m, k);
		if (t >= b->rep_ns / 10 || k >= (UINT64_C(1) << 32))
			break;
		k *= 2;
	}
	double per = (double)t / (double)k;
	uint64_t want = (uint64_t)((double)b->rep_ns / per);
	return want ? want : 1;
}

static void warm_up(struct bench *b, enum contender c, const struct msg_set *m)
{
	uint64_t start = now_ns();

	while (now_ns() - start < b->warm_ns)
		timed_run(b, c, m, 64);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Warm-up and calibration per contender, then R repetitions in which the
 * contenders take turns, so that a slow phase of the machine (another process,
 * frequency change) hits all three alike rather than one. */
static void bench_set(struct bench *b, struct msg_set *m)
{
	uint64_t k[C_COUNT];
	double *per = calloc((size_t)b->reps * C_COUNT, sizeof(double));

	if (!per) {
		perror("calloc");
		exit(2);
	}
	for (int c = 0; c < C_COUNT; c++) {
		warm_up(b, (enum contender)c, m);
		k[c] = calibrate(b, (enum contender)c, m);
	}
	for (int r = 0; r < b->reps; r++)
		for (int c = 0; c < C_COUNT; c++)
			per[c * b->reps + r] =
			    (double)timed_run(b, (enum contender)c, m, k[c]) / (double)k[c];
	for (int c = 0; c < C_COUNT; c++)
		m->ns[c] = median(&per[c * b->reps], b->reps);
	free(per);
}

/* ---- corpus assembly and the one-off correctness check ---------------------- */

static int assemble(struct bench_msg *m, const struct corpus_def *d)
{
	m->def = d;
	m->buf = corpus_assemble(d, &m->len);
	return m->buf ? 0 : -ENOMEM;
}

/* xorshift64: the variants are the same on every run. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* n random characters from alphabet al into out. */
static size_t put_random(char *out, size_t n, const char *al, uint64_t *rng)
{
	size_t k = strlen(al);

	for (size_t i = 0; i < n; i++)
		out[i] = al[next_rand(rng) % k];
	return n;
}

/* Length of the token at p that ends at one of stops (or at end). */
static size_t token_len(const char *p, const char *end, const char *stops)
{
	const char *q = p;

	while (q < end && !strchr(stops, *q))
		q++;
	return (size_t)(q - p);
}

/* A field that differs between copies: what precedes it, whether that starts a
 * line, the bytes that end it, and what replaces it (min to min + span - 1
 * characters of alphabet). */
struct vary_rule {
	const char *prefix;
	bool line_start;
	const char *stops;
	const char *alphabet;
	unsigned min, span;
};

static const struct vary_rule vary_rules[] = {
    {"Call-ID: ", true, "@\r", "0123456789abcdef", 16, 25},
    {"CSeq: ", true, " ", "123456789", 1, 6},
    {"tag=", false, ";>,\r ", "abcdefghijklmnopqrstuvwxyz0123456789", 6, 15},
    {"branch=z9hG4bK", false, ";,\r ", "abcdefghijklmnopqrstuvwxyz0123456789", 8, 25},
};

/* The rule whose field starts at p (in the header section), or NULL. */
static const struct vary_rule *vary_rule_at(const char *src, const char *p)
{
	bool line_start = p == src || p[-1] == '\n';

	for (size_t i = 0; i < sizeof(vary_rules) / sizeof(vary_rules[0]); i++) {
		const struct vary_rule *r = &vary_rules[i];
		if ((line_start || !r->line_start) && strncmp(p, r->prefix, strlen(r->prefix)) == 0)
			return r;
	}
	return NULL;
}

/*
 * One variant of the message src into out: in the header section, the local
 * part of the Call-ID becomes 16 to 40 hex digits, the CSeq number 1 to 6
 * digits, every tag 6 to 20 and every branch (after z9hG4bK) 8 to 32 letters
 * and digits; everything else, the body included, stays byte for byte.
 * Returns the length, or 0 when out (cap bytes) is too small.
 */
static size_t make_variant(const char *src, size_t len, char *out, size_t cap, uint64_t *rng)
{
	const char *p = src, *end = src + len;
	const char *body = strstr(src, "\r\n\r\n");
	size_t n = 0;

	body = body ? body + 4 : end;
	while (p < end) {
		if (cap - n < 64)
			return 0;
		const struct vary_rule *r = p < body ? vary_rule_at(src, p) : NULL;
		if (!r) {
			out[n++] = *p++;
			continue;
		}
		size_t pl = strlen(r->prefix);
		memcpy(out + n, p, pl);
		n += pl;
		p += pl;
		p += token_len(p, body, r->stops);
		n += put_random(out + n, r->min + next_rand(rng) % r->span, r->alphabet, rng);
	}
	return n;
}

/* The "same bytes" set (the message itself) and the varied set. */
static int build_sets(struct bench_msg *m, size_t index)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)(index + 1);

	m->same.bufs = &m->buf; /* a set of one: the message itself */
	m->same.lens = &m->len;
	m->same.mask = 0;
	m->varied.bufs = calloc(NVARIANTS, sizeof(char *));
	m->varied.lens = calloc(NVARIANTS, sizeof(size_t));
	if (!m->varied.bufs || !m->varied.lens)
		return -ENOMEM;
	m->varied.mask = NVARIANTS - 1;
	m->same.mean_len = m->len;
	size_t total = 0;
	size_t cap = m->len + 512;
	for (size_t i = 0; i < NVARIANTS; i++) {
		m->varied.bufs[i] = malloc(cap);
		if (!m->varied.bufs[i])
			return -ENOMEM;
		m->varied.lens[i] = make_variant(m->buf, m->len, m->varied.bufs[i], cap, &rng);
		if (!m->varied.lens[i])
			return -EOVERFLOW;
		total += m->varied.lens[i];
	}
	m->varied.mean_len = total / NVARIANTS;
	return 0;
}

static void free_sets(struct bench_msg *m)
{
	for (size_t i = 0; m->varied.bufs && i < NVARIANTS; i++)
		free(m->varied.bufs[i]);
	free(m->varied.bufs);
	free(m->varied.lens);
	free(m->buf);
}

/* Each contender must really parse each message before its time means anything:
 * sip_parse returns 0 with the expected start line and Via count, libosip2
 * returns 0 with the same Call-ID and Via count, and both agree on the body. */
static int verify_one(struct bench *b, const struct corpus_def *d, const char *buf, size_t len)
{
	struct sip_msg *s = b->sm;
	char why[256];

	int rc = sip_parse(s, buf, len, NULL);
	if (rc != 0) {
		sip_strerror(s, why, sizeof(why));
		fprintf(stderr, "%s: sip_parse failed: %s (%s)\n", d->key, sip_err_name(-rc), why);
		return -1;
	}
	if (s->is_request != d->is_request ||
	    (d->is_request ? s->method_id : s->status) != d->method_or_status ||
	    s->nvias != d->nvias || s->body.len != strlen(d->body)) {
		fprintf(stderr, "%s: sip_parse result differs from the corpus definition\n",
			d->key);
		return -1;
	}

	osip_message_t *om;
	if (osip_message_init(&om) != 0)
		return -1;
	rc = osip_message_parse(om, buf, len);
	if (rc != 0) {
		fprintf(stderr, "%s: osip_message_parse failed: %d\n", d->key, rc);
		osip_message_free(om);
		return -1;
	}
	/* libosip2 splits a Call-ID at '@' into number and host */
	const osip_call_id_t *ci = om->call_id;
	size_t olen = 0;
	if (ci && ci->number)
		olen = strlen(ci->number) + (ci->host ? 1 + strlen(ci->host) : 0);
	bool same =
	    olen == s->call_id.len && osip_list_size(&om->vias) == s->nvias &&
	    (d->is_request ? om->sip_method &&
				 strcmp(om->sip_method,
					sip_method_name((enum sip_method)d->method_or_status)) == 0
			   : om->status_code == d->method_or_status);
	osip_message_free(om);
	if (!same) {
		fprintf(stderr,
			"%s: libosip2 and sip_parse disagree on Call-ID, Vias or start line\n",
			d->key);
		return -1;
	}
	if (scan_lines(buf, len) == 0)
		return -1;
	return 0;
}

/* The message and every variant of it, by every contender. */
static int verify(struct bench *b, const struct bench_msg *m)
{
	if (verify_one(b, m->def, m->buf, m->len) != 0)
		return -1;
	for (size_t i = 0; i < NVARIANTS; i++)
		if (verify_one(b, m->def, m->varied.bufs[i], m->varied.lens[i]) != 0) {
			fprintf(stderr, "%s: in variant %zu:\n%.*s\n", m->def->key, i,
				(int)m->varied.lens[i], m->varied.bufs[i]);
			return -1;
		}
	return 0;
}

/* ---- CPU pinning ----------------------------------------------------------- */

/* Pins the process to one CPU so that a migration cannot land in a repetition.
 * Writes what happened into note. */
static void pin_cpu(int want, char *note, size_t cap)
{
	int cpu = want >= 0 ? want : sched_getcpu();
	cpu_set_t set;

	if (cpu < 0) {
		snprintf(note, cap, "not pinned (sched_getcpu: %s)", strerror(errno));
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0) {
		snprintf(note, cap, "not pinned (sched_setaffinity to CPU %d: %s)", cpu,
			 strerror(errno));
		return;
	}
	snprintf(note, cap, "pinned to CPU %d", cpu);
}

/* ---- output ------------------------------------------------------------------ */

/* The targets for a ~450-byte in-dialog request. */
#define TARGET_OSIP_RATIO 15.0 /* sipshard under 1/15 of libosip2's time */
#define TARGET_SCAN_RATIO 5.0  /* sipshard within 5x of the line scan */

/* The set of message m a round measures. */
static const struct msg_set *set_of(const struct bench_msg *m, bool varied)
{
	return varied ? &m->varied : &m->same;
}

static void print_table(const struct bench *b, bool varied, FILE *out)
{
	fprintf(out, "%s\n",
		varied
		    ? "varied: " TEXT(NVARIANTS) " copies with other Call-ID, tags, branches and "
						 "CSeq (values and lengths), in turn"
		    : "same bytes: one copy of each message, parsed over and over");
	fprintf(out, "%-12s %6s %12s %12s %10s %15s %14s\n", "message", "bytes", "sipshard ns",
		"osip2 ns", "scan ns", "osip2/sipshard", "sipshard/scan");
	for (size_t i = 0; i < NMSG; i++) {
		const struct bench_msg *m = &b->msgs[i];
		const double *ns = set_of(m, varied)->ns;
		fprintf(out, "%-12s %6zu %12.1f %12.1f %10.1f %15.1f %14.2f\n", m->def->key,
			set_of(m, varied)->mean_len, ns[C_SIPSHARD], ns[C_OSIP2], ns[C_SCAN],
			ns[C_OSIP2] / ns[C_SIPSHARD], ns[C_SIPSHARD] / ns[C_SCAN]);
	}
}

/* Says, for INFO and BYE, whether each target holds. Returns how many missed. */
static int print_targets(const struct bench *b, FILE *out)
{
	int missed = 0;

	fprintf(out,
		"targets for in-dialog requests (same bytes): osip2/sipshard > %.0f, "
		"sipshard/scan <= %.0f\n",
		TARGET_OSIP_RATIO, TARGET_SCAN_RATIO);
	for (size_t i = 0; i < NMSG; i++) {
		const struct bench_msg *m = &b->msgs[i];
		if (strcmp(m->def->key, "info") != 0 && strcmp(m->def->key, "bye") != 0)
			continue;
		const double *ns = m->same.ns;
		double vs_osip = ns[C_OSIP2] / ns[C_SIPSHARD];
		double vs_scan = ns[C_SIPSHARD] / ns[C_SCAN];
		bool ok_osip = vs_osip > TARGET_OSIP_RATIO, ok_scan = vs_scan <= TARGET_SCAN_RATIO;
		missed += !ok_osip + !ok_scan;
		fprintf(out, "  %-5s %zu B: osip2/sipshard %.1f -> %s; sipshard/scan %.2f -> %s\n",
			m->def->key, m->len, vs_osip, ok_osip ? "met" : "MISSED", vs_scan,
			ok_scan ? "met" : "MISSED");
	}
	return missed;
}

/* Adds a member per message, {"bytes", "sipshard_ns", "osip2_ns", "scan_ns"}, to obj. */
static int json_round(const struct bench *b, bool varied, json_t *obj)
{
	for (size_t i = 0; i < NMSG; i++) {
		const struct bench_msg *m = &b->msgs[i];
		const double *ns = set_of(m, varied)->ns;
		json_t *o = json_pack(
		    "{s:I, s:f, s:f, s:f}", "bytes", (json_int_t)set_of(m, varied)->mean_len,
		    "sipshard_ns", ns[C_SIPSHARD], "osip2_ns", ns[C_OSIP2], "scan_ns", ns[C_SCAN]);
		if (!o || json_object_set_new(obj, m->def->key, o) != 0)
			return -1;
	}
	return 0;
}

static int print_json(const struct bench *b)
{
	json_t *root = json_object(), *varied = json_object();

	if (!root || !varied || json_round(b, false, root) != 0 ||
	    json_round(b, true, varied) != 0 || json_object_set_new(root, "varied", varied) != 0) {
		json_decref(root);
		return -1;
	}
	int rc =
	    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(root);
	if (rc == 0)
		fputc('\n', stdout);
	return rc;
}

/* ---- command line ------------------------------------------------------------ */

static const char usage_text[] =
    "usage: parse_bench [OPTIONS]\n"
    "Times sip_parse against libosip2 and a bare line scan on an embedded corpus\n"
    "(INVITE with SDP, in-dialog INFO and BYE, 200 OK with SDP, 180 Ringing) and\n"
    "prints the median ns per message of each, with the ratios.\n"
    "\n"
    "  --json        print one JSON object, a member per message:\n"
    "                {\"bytes\", \"sipshard_ns\", \"osip2_ns\", \"scan_ns\"} (same bytes),\n"
    "                and \"varied\": the same members for the varied round\n"
    "                (the human notes go to standard error)\n"
    "  --reps N      repetitions per contender and message (default 7)\n"
    "  --quick       3 short repetitions (10 ms): a smoke test, not a figure\n"
    "  --cpu N       pin to CPU N (default: the CPU the program starts on)\n"
    "  -h, --help    print this text\n"
    "\n"
    "Two rounds: \"same bytes\" parses one copy of each message over and over;\n"
    "\"varied\" goes through " TEXT(
	NVARIANTS) " copies whose Call-ID, tags, branches and CSeq\n"
		   "number differ in value and length, as real traffic does (no branch predictor\n"
		   "can learn them). The targets are checked on the first round.\n"
		   "Each repetition runs about 100 ms per contender; the median is reported.\n"
		   "Exit status: 0 after measuring (missed targets included), 1 when a contender\n"
		   "cannot parse a corpus message, 2 on a usage error.\n";

static int parse_args(struct bench *b, int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_REPS, OPT_QUICK, OPT_CPU };
	static const struct option opts[] = {
	    {"json", no_argument, NULL, OPT_JSON},   {"reps", required_argument, NULL, OPT_REPS},
	    {"quick", no_argument, NULL, OPT_QUICK}, {"cpu", required_argument, NULL, OPT_CPU},
	    {"help", no_argument, NULL, 'h'},	     {NULL, 0, NULL, 0},
	};
	int reps = -1, c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			b->json = true;
			break;
		case OPT_REPS: {
			long v;
			if (cli_long(optarg, 1, 1000, &v)) {
				fprintf(stderr, "parse_bench: --reps wants 1 to 1000\n");
				return 2;
			}
			reps = (int)v;
			break;
		}
		case OPT_QUICK:
			b->reps = 3;
			b->rep_ns = 10 * 1000 * 1000;
			b->warm_ns = 2 * 1000 * 1000;
			break;
		case OPT_CPU: {
			long v;
			if (cli_long(optarg, 0, CPU_SETSIZE - 1, &v)) {
				fprintf(stderr, "parse_bench: --cpu wants a CPU number\n");
				return 2;
			}
			b->cpu = (int)v;
			break;
		}
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "parse_bench: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (reps > 0)
		b->reps = reps; /* --reps wins over --quick's count, in any order */
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = {
	    .reps = 7,
	    .rep_ns = 100 * 1000 * 1000,
	    .warm_ns = 30 * 1000 * 1000,
	    .cpu = -1,
	};
	char pin_note[128];
	int rc = parse_args(&b, argc, argv);

	if (rc)
		return rc;
	b.sm = malloc(sizeof(*b.sm));
	if (!b.sm) {
		perror("malloc");
		return 2;
	}
	if (parser_init() != 0) {
		fprintf(stderr, "parse_bench: libosip2 parser_init failed\n");
		return 2;
	}
	for (size_t i = 0; i < NMSG; i++) {
		if (assemble(&b.msgs[i], &corpus_defs[i]) != 0 || build_sets(&b.msgs[i], i) != 0) {
			fprintf(stderr, "parse_bench: cannot assemble %s\n", corpus_defs[i].key);
			return 2;
		}
		if (verify(&b, &b.msgs[i]) != 0)
			return 1;
	}
	pin_cpu(b.cpu, pin_note, sizeof(pin_note));

	char cpu[192];
	bench_cpu_name(cpu, sizeof(cpu));
	FILE *human = b.json ? stderr : stdout;
	fprintf(human,
		"parse_bench: %s, %s; %d reps of ~%llu ms per contender, median ns/message\n", cpu,
		pin_note, b.reps, (unsigned long long)(b.rep_ns / 1000000));
	for (size_t i = 0; i < NMSG; i++) {
		bench_set(&b, &b.msgs[i].same);
		bench_set(&b, &b.msgs[i].varied);
	}

	if (b.json) {
		if (print_json(&b) != 0) {
			fprintf(stderr, "parse_bench: cannot write JSON\n");
			return 2;
		}
	} else {
		print_table(&b, false, stdout);
		print_table(&b, true, stdout);
	}
	print_targets(&b, human);
	/* The sink is printed so that no iteration's result is unused. */
	fprintf(human, "(checksum %llu)\n", (unsigned long long)b.sink);

	for (size_t i = 0; i < NMSG; i++)
		free_sets(&b.msgs[i]);
	free(b.sm);
	return 0;
}
