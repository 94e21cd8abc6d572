/*
 * steer_bench - what Call-ID steering costs per datagram: the BPF program in
 * the kernel, its userspace twin, and a loopback datagram's whole trip with
 * and without the program, side by side in one run on the corpus parse_bench
 * uses (bench/corpus.h).
 *
 * Owns: the timing method and its output. Does not own the scanner
 * (sipshard/steer.h), the program (kern/steer.bpf.c) or its loader
 * (user/steer/). Not a test: it fails only when it cannot measure.
 *
 * Per message, in each of R repetitions:
 *   bpf       the program's own run time per datagram, from the kernel's BPF
 *             statistics (bpf_enable_stats: run_time_ns / run_cnt), while N
 *             copies of the message go over loopback to a SO_REUSEPORT group
 *             of two sockets it is attached to;
 *   steered   wall time per datagram of that trip (sendmmsg in batches of 32,
 *             recvmmsg until each batch is in);
 *   plain     the same trip to a second group of two sockets on another port
 *             without the program (the kernel's own reuseport choice):
 *             steered - plain is what steering adds;
 *   scan      steer_callid_hash() in userspace (the no-BPF fallback's scan);
 *   parse     sip_parse() of the same bytes, for scale.
 * The table gives the median over the repetitions. Needs CAP_BPF and
 * CAP_PERFMON (root) for the kernel columns; without them it says why and
 * gives the userspace ones.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "core/cli.h"
#include "sipshard/sip.h"
#include "steer/steer.h"

#include "corpus.h"
#include "cpu.h"

#define BATCH	 32
#define MAX_REPS 101

enum column { COL_BPF, COL_STEERED, COL_PLAIN, COL_SCAN, COL_PARSE, COL_COUNT };

static const char *const column_keys[COL_COUNT] = {"bpf_ns", "steered_ns", "plain_ns", "scan_ns",
						   "parse_ns"};

struct msg_result {
	const struct corpus_def *def;
	char *buf;
	size_t len;
	size_t callid_at; /* offset of the Call-ID line: how far the scan goes */
	double samples[COL_COUNT][MAX_REPS];
	double median[COL_COUNT];
};

struct bench {
	struct msg_result msgs[NMSG];
	int reps;
	long count; /* datagrams per message per repetition */
	bool json;
	struct steer_ctx *steer; /* NULL: no kernel columns */
	char why_no_bpf[256];
	int group[2][2]; /* two SO_REUSEPORT groups: [0] steered, [1] plain */
	int sender;
	struct sockaddr_in to[2];
	struct sip_msg *sm;
	uint64_t sink;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_of(const double *v, int n)
{
	double tmp[MAX_REPS];

	memcpy(tmp, v, (size_t)n * sizeof(*v));
	qsort(tmp, (size_t)n, sizeof(*tmp), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* ---- sockets ---------------------------------------------------------------- */

static int udp_socket(bool reuseport)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1, size = 4 << 20;

	if (fd < 0)
		return -errno;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return fd;
}

/* Group g: two SO_REUSEPORT sockets on one ephemeral port of 127.0.0.1. */
static int open_group(struct bench *b, int g)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);

	for (int i = 0; i < 2; i++) {
		b->group[g][i] = udp_socket(true);
		if (b->group[g][i] < 0)
			return b->group[g][i];
		if (bind(b->group[g][i], (struct sockaddr *)&a, sizeof(a)) < 0)
			return -errno;
		if (i == 0 && getsockname(b->group[g][0], (struct sockaddr *)&a, &alen) < 0)
			return -errno;
	}
	b->to[g] = a;
	return 0;
}

/* Both groups and the sender. */
static int open_sockets(struct bench *b)
{
	int rc = open_group(b, 0);

	if (!rc)
		rc = open_group(b, 1);
	if (!rc)
		b->sender = udp_socket(false);
	return rc ? rc : b->sender < 0 ? b->sender : 0;
}

/* Takes every datagram waiting on group g; returns how many. */
static long drain(const struct bench *b, int g, char *scratch, size_t cap)
{
	struct mmsghdr mh[BATCH];
	struct iovec iov[BATCH];
	long got = 0;

	for (int s = 0; s < 2; s++) {
		for (;;) {
			for (int i = 0; i < BATCH; i++) {
				iov[i] = (struct iovec){scratch + (size_t)i * (cap / BATCH),
							cap / BATCH};
				mh[i] = (struct mmsghdr){
				    .msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
			}
			int n = recvmmsg(b->group[g][s], mh, BATCH, MSG_DONTWAIT, NULL);
			if (n <= 0)
				break;
			got += n;
		}
	}
	return got;
}

/* Sends count copies of m to group g in batches, each taken back before
 * the next; returns the wall time per datagram, or a negative value. */
static double trip(struct bench *b, int g, const struct msg_result *m, char *scratch, size_t cap)
{
	struct mmsghdr mh[BATCH];
	struct iovec iov = {m->buf, m->len};
	long sent = 0, got = 0;

	for (int i = 0; i < BATCH; i++)
		mh[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &b->to[g],
						     .msg_namelen = sizeof(b->to[g]),
						     .msg_iov = &iov,
						     .msg_iovlen = 1}};
	uint64_t t0 = now_ns();
	while (sent < b->count) {
		int n = sendmmsg(b->sender, mh, BATCH, 0);
		if (n <= 0)
			return -1;
		sent += n;
		long want = sent;
		for (int spins = 0; got < want; spins++) {
			got += drain(b, g, scratch, cap);
			if (got < want && spins > 1000) {
				struct pollfd p[2] = {{b->group[g][0], POLLIN, 0},
						      {b->group[g][1], POLLIN, 0}};
				if (poll(p, 2, 100) == 0)
					return -1; /* lost: the figure would be wrong */
			}
		}
	}
	return (double)(now_ns() - t0) / (double)sent;
}

/* ---- the columns ----------------------------------------------------------- */

static void measure_kernel(struct bench *b, struct msg_result *m, int rep, char *scratch,
			   size_t cap)
{
	uint64_t ns0, runs0, ns1, runs1;

	if (steer_read_run_time(b->steer, &ns0, &runs0) != 0) {
		fprintf(stderr, "steer_bench: %s\n", steer_error(b->steer));
		exit(2);
	}
	double steered = trip(b, 0, m, scratch, cap);
	if (steer_read_run_time(b->steer, &ns1, &runs1) != 0) {
		fprintf(stderr, "steer_bench: %s\n", steer_error(b->steer));
		exit(2);
	}
	double plain = trip(b, 1, m, scratch, cap);
	if (steered < 0 || plain < 0 || runs1 - runs0 < (uint64_t)b->count) {
		fprintf(stderr, "steer_bench: %s: datagrams lost on loopback\n", m->def->key);
		exit(2);
	}
	m->samples[COL_BPF][rep] = (double)(ns1 - ns0) / (double)(runs1 - runs0);
	m->samples[COL_STEERED][rep] = steered;
	m->samples[COL_PLAIN][rep] = plain;
}

static void measure_user(struct bench *b, struct msg_result *m, int rep)
{
	const long iters = b->count * 10;
	uint32_t h = 0;

	uint64_t t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		const char *p = m->buf;
		__asm__ volatile("" : "+r"(p)); /* no hoisting out of the loop */
		b->sink += (uint64_t)steer_callid_hash(p, m->len, &h) + h;
	}
	m->samples[COL_SCAN][rep] = (double)(now_ns() - t0) / (double)iters;

	t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		const char *p = m->buf;
		__asm__ volatile("" : "+r"(p));
		b->sink += (uint64_t)sip_parse(b->sm, p, m->len, NULL) + b->sm->call_id.len;
	}
	m->samples[COL_PARSE][rep] = (double)(now_ns() - t0) / (double)iters;
}

/* ---- output ---------------------------------------------------------------- */

static void print_table(const struct bench *b)
{
	printf("%-12s %6s %9s %9s %11s %11s %8s %9s %9s\n", "message", "bytes", "callid_at",
	       "bpf ns", "steered ns", "plain ns", "ratio", "scan ns", "parse ns");
	for (size_t i = 0; i < NMSG; i++) {
		const struct msg_result *m = &b->msgs[i];
		if (b->steer)
			printf("%-12s %6zu %9zu %9.1f %11.1f %11.1f %8.3f %9.1f %9.1f\n",
			       m->def->key, m->len, m->callid_at, m->median[COL_BPF],
			       m->median[COL_STEERED], m->median[COL_PLAIN],
			       m->median[COL_STEERED] / m->median[COL_PLAIN], m->median[COL_SCAN],
			       m->median[COL_PARSE]);
		else
			printf("%-12s %6zu %9zu %9s %11s %11s %8s %9.1f %9.1f\n", m->def->key,
			       m->len, m->callid_at, "-", "-", "-", "-", m->median[COL_SCAN],
			       m->median[COL_PARSE]);
	}
	printf(
	    "ratio: steered / plain, a loopback datagram's trip (send, kernel, receive) with the "
	    "program over without it\n");
}

static int print_json(const struct bench *b)
{
	json_t *root = json_object();

	for (size_t i = 0; i < NMSG; i++) {
		const struct msg_result *m = &b->msgs[i];
		json_t *o = json_object();
		json_object_set_new(o, "bytes", json_integer((json_int_t)m->len));
		json_object_set_new(o, "callid_at", json_integer((json_int_t)m->callid_at));
		for (int c = 0; c < COL_COUNT; c++) {
			bool kernel = c == COL_BPF || c == COL_STEERED || c == COL_PLAIN;
			json_object_set_new(o, column_keys[c],
					    kernel && !b->steer ? json_null()
								: json_real(m->median[c]));
		}
		json_object_set_new(root, m->def->key, o);
	}
	if (!b->steer)
		json_object_set_new(root, "no_bpf", json_string(b->why_no_bpf));
	int rc = json_dumpf(root, stdout, JSON_INDENT(2)) == 0 && putchar('\n') != EOF ? 0 : -1;
	json_decref(root);
	return rc;
}

/* ---- main ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: steer_bench [--reps R] [--count N] [--json]\n"
		"  --reps R    repetitions, the median is reported (1-%d, default 5)\n"
		"  --count N   datagrams per message per repetition (1000-10000000, default "
		"100000)\n"
		"  --json      one JSON object: a member per message with bytes, callid_at,\n"
		"              bpf_ns, steered_ns, plain_ns, scan_ns, parse_ns (null without\n"
		"              the kernel columns, and no_bpf saying why)\n"
		"  --help      this text\n"
		"Needs CAP_BPF and CAP_PERFMON (root) for the kernel columns.\n",
		MAX_REPS);
}

static int parse_args(struct bench *b, int argc, char **argv)
{
	static const struct option opts[] = {{"reps", required_argument, NULL, 'r'},
					     {"count", required_argument, NULL, 'n'},
					     {"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (cli_long(optarg, 1, MAX_REPS, &v) != 0) {
				fprintf(stderr, "steer_bench: --reps expects 1 to %d, not '%s'\n",
					MAX_REPS, optarg);
				return 2;
			}
			b->reps = (int)v;
			break;
		case 'n':
			if (cli_long(optarg, 1000, 10000000, &b->count) != 0) {
				fprintf(stderr,
					"steer_bench: --count expects 1000 to 10000000, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'j':
			b->json = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "steer_bench: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b = {.reps = 5, .count = 100000};
	const size_t cap = (size_t)BATCH * 2048;
	int stats_fd = -1, rc = parse_args(&b, argc, argv);

	if (rc)
		return rc;
	b.sm = malloc(sizeof(*b.sm));
	char *scratch = malloc(cap);
	if (!b.sm || !scratch) {
		perror("steer_bench: malloc");
		return 2;
	}
	for (size_t i = 0; i < NMSG; i++) {
		struct msg_result *m = &b.msgs[i];
		m->def = &corpus_defs[i];
		m->buf = corpus_assemble(m->def, &m->len);
		const char *line = m->buf ? strstr(m->buf, "\r\nCall-ID:") : NULL;
		if (!line || !steer_callid_hash(m->buf, m->len, NULL)) {
			fprintf(stderr, "steer_bench: %s: no Call-ID the scanner finds\n",
				m->def->key);
			return 2;
		}
		m->callid_at = (size_t)(line + 2 - m->buf);
	}
	if (open_sockets(&b) != 0) {
		perror("steer_bench: sockets on 127.0.0.1");
		return 2;
	}
	rc = steer_open(&b.steer, b.why_no_bpf, sizeof(b.why_no_bpf));
	if (rc == 0 && steer_attach(b.steer, b.group[0], 2) != 0)
		snprintf(b.why_no_bpf, sizeof(b.why_no_bpf), "%s", steer_error(b.steer));
	else if (rc == 0 && (stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME)) < 0)
		snprintf(b.why_no_bpf, sizeof(b.why_no_bpf), "BPF run-time statistics refused: %s",
			 strerror(errno));
	if (stats_fd < 0) {
		steer_close(b.steer);
		b.steer = NULL;
	}
	FILE *human = b.json ? stderr : stdout;
	if (!b.steer)
		fprintf(human, "steer_bench: no kernel columns (%s)\n", b.why_no_bpf);
	char cpu[192];
	bench_cpu_name(cpu, sizeof(cpu));
	fprintf(human,
		"steer_bench: %s; %d reps of %ld datagrams per message, median ns per datagram\n",
		cpu, b.reps, b.count);

	for (int r = 0; r < b.reps; r++)
		for (size_t i = 0; i < NMSG; i++) {
			if (b.steer)
				measure_kernel(&b, &b.msgs[i], r, scratch, cap);
			measure_user(&b, &b.msgs[i], r);
		}
	for (size_t i = 0; i < NMSG; i++)
		for (int c = 0; c < COL_COUNT; c++)
			b.msgs[i].median[c] = median_of(b.msgs[i].samples[c], b.reps);

	if (b.json ? print_json(&b) != 0 : (print_table(&b), false)) {
		fprintf(stderr, "steer_bench: cannot write JSON\n");
		return 2;
	}
	fprintf(human, "(checksum %llu)\n", (unsigned long long)b.sink);
	if (stats_fd >= 0)
		close(stats_fd);
	steer_close(b.steer);
	for (int g = 0; g < 2; g++)
		for (int i = 0; i < 2; i++)
			close(b.group[g][i]);
	close(b.sender);
	for (size_t i = 0; i < NMSG; i++)
		free(b.msgs[i].buf);
	free(scratch);
	free(b.sm);
	return 0;
}
