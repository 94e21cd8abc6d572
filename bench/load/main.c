/*
 * main.c - sipshard-load's command line, threads, progress line and results.
 *
 * Owns: parsing and checking every flag (load --help lists them), starting one
 * worker thread per --threads with its own stats, signals (SIGINT/SIGTERM: a
 * uac stops its mix and ends its calls, a second signal quits at once; a uas
 * or drop-proxy stops), the one-line progress display on stderr each second
 * and the per-second throughput series behind it, merging the workers' stats
 * after they finish, the human table on stdout, the --json document and the
 * exit status. Does not own: the roles (uac.c, uas.c, lossy_proxy.c) or the
 * counters' meaning (stats.c).
 *
 * Exit status: 0 when the errors (see stats.h) do not exceed --max-errors,
 * 1 when they do, 2 for a usage or setup error.
 */
#include <errno.h>
#include <netinet/in.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "load.h"
#include "core/cli.h"
#include "net/udp.h"

/* The one piece of process-wide state: what the signal handler sets. A
 * handler can reach nothing else; the workers get a pointer to it. */
static atomic_int g_stop;

static void on_signal(int sig)
{
	(void)sig;
	int v = atomic_load(&g_stop);
	atomic_store(&g_stop, v < 2 ? v + 1 : 2);
}

static const char usage[] =
    "usage: sipshard-load --role uac|uas|drop-proxy [options]\n"
    "\n"
    "SIP load generator and call emulator over UDP.\n"
    "\n"
    "Roles:\n"
    "  uac         sets up --calls calls at --rate, drives in-dialog requests from --mix\n"
    "              for --duration seconds, then ends every call with BYE\n"
    "  uas         answers INVITE with 100, 180, 200 + SDP (or 486/603), every in-dialog\n"
    "              request with 200 (REFER: 202 then a NOTIFY), BYE with 200; 481 for\n"
    "              unknown dialogs; a CANCEL, or a BYE in the early dialog, before the\n"
    "              200 (--answer-delay-ms): 200, then 487 to the INVITE; a 2xx not\n"
    "              ACKed within 64*T1: the call ended with a BYE of its own (JSON\n"
    "              own_byes). Runs until SIGINT/SIGTERM or --duration\n"
    "  drop-proxy  relays UDP between a client (--local) and --target, dropping every\n"
    "              --drop-every'th request (both directions)\n"
    "\n"
    "Addresses and threads:\n"
    "  --local IP:PORT        uac: first source port (0: ephemeral; default 127.0.0.1:0,\n"
    "                         [::1]:0 with an IPv6 --target); uas: where to listen\n"
    "                         (default 127.0.0.1:5080); drop-proxy:\n"
    "                         where clients send\n"
    "  --target IP:PORT       uac / drop-proxy: where to send (default 127.0.0.1:5060,\n"
    "                         [::1]:5060 with an IPv6 --local)\n"
    "  --threads N            uac / uas: worker threads, each with its own sockets and io\n"
    "                         (default 1; the drop-proxy runs one)\n"
    "  --sources K            uac: source sockets per thread on consecutive ports from\n"
    "                         --local (1 mimics a trunk: one IP:port) (default 4)\n"
    "  --no-uring             recvmmsg/sendmmsg instead of io_uring\n"
    "\n"
    "uac:\n"
    "  --calls N              calls to set up (default 100)\n"
    "  --rate CPS             calls set up per second (default 1000)\n"
    "  --duration S           seconds of in-dialog traffic once all calls are up\n"
    "                         (default 10; uas / drop-proxy: stop after S, 0 = never)\n"
    "  --mix M:W,...          in-dialog requests and weights (default INFO:100); methods:\n"
    "                         INFO MESSAGE REINVITE UPDATE NOTIFY OPTIONS PRACK REFER\n"
    "  --req-rate R           in-dialog requests per second (default 0: open loop at\n"
    "                         maximum, bounded by --window)\n"
    "  --window W             outstanding in-dialog and BYE transactions at most, in total\n"
    "                         over all threads (default 64): split among --threads, so it\n"
    "                         must be at least --threads; a peer silent for 64*T1 gets the\n"
    "                         BYEs left at once\n"
    "  --requests-per-call K  in the mix phase, end each call with BYE after K in-dialog\n"
    "                         requests and set up a new call in its place, so that --calls\n"
    "                         stay established; a call that fails (rejected, timed out,\n"
    "                         481 or 408) gets one 4*T1 later (default 0: calls last the\n"
    "                         whole run)\n"
    "  --echo                 the target echoes datagrams back (udp_echo): skip call setup\n"
    "                         and take each echoed request as its own 200\n"
    "  --to-user U            user part of the Request-URI and To (default service)\n"
    "  --from-user U          user part of From and Contact (default load)\n"
    "  --seed N               seed of the method choice, 0 to 2^63-1 (default 1)\n"
    "  --max-errors N         exit 1 when errors exceed N, 0 to 2^63-1 (default 0). uac\n"
    "                         errors: timeouts, requests abandoned at a second stop\n"
    "                         signal, unexpected datagrams, >= 300 to in-dialog\n"
    "                         requests, 3xx/5xx to INVITE; uas errors: malformed or\n"
    "                         truncated datagrams, 400 sent, responses to no\n"
    "                         transaction, 481 sent, out-of-order, table full, ACK/NOTIFY\n"
    "                         timeouts, send errors (an answer that could not be written\n"
    "                         or queued)\n"
    "\n"
    "uas:\n"
    "  --answer-delay-ms MS   delay between 180 and 200 (default 0)\n"
    "  --reject-share F       share 0.0-1.0 of INVITEs answered 486 or 603 (default 0)\n"
    "  --max-calls N          dialog table size over all threads (default 1048576)\n"
    "  --pending N            stored responses awaiting ACK per thread (default 65536)\n"
    "\n"
    "drop-proxy:\n"
    "  --drop-every N         drop every Nth request (default 3; 0: none)\n"
    "  --drop-responses-every M  drop every Mth response (default 0: none)\n"
    "\n"
    "Timers and output:\n"
    "  --t1-ms MS             RFC 3261 T1 (default 500); timeout is 64*T1 (an INVITE\n"
    "                         that got a provisional: 181 s, as a proxy's Timer C)\n"
    "  --t2-ms MS             RFC 3261 T2 (default 4000), not below T1: a --t1-ms\n"
    "                         above 4000 needs --t2-ms too\n"
    "  --json FILE            write every figure and the run's parameters as JSON\n"
    "  --quiet                no progress line on stderr\n"
    "  -h, --help             this text\n"
    "\n"
    "A progress line goes to stderr each second; a table to stdout at the end.\n"
    "Latency is from a request's first send to its final response (service time).\n"
    "Paced requests (set-up INVITEs at --rate, the mix at --req-rate) also have the\n"
    "time they were due: the table's pacing lines and the JSON's pacing object give\n"
    "the rate achieved against the one asked (SHORT, \"short\": true, when below it by\n"
    "more than 5%) and how late they went out, and latency_us_from_schedule the mix's\n"
    "latency from when each request was due, which keeps the wait of requests a\n"
    "stalled peer held back (a full --window, no idle call) that service time omits.\n"
    "With --sources 1 the uac waits in whole ms: paced sends go up to 1 ms late.\n"
    "SIGINT or SIGTERM: the uac ends its calls with BYE; a second one ends the run at\n"
    "once, the requests still waiting for a final counted abandoned (errors).\n"
    "Exit status: 0 ok, 1 errors > --max-errors, 2 usage or setup error.\n";

enum {
	O_ROLE = 256,
	O_LOCAL,
	O_TARGET,
	O_THREADS,
	O_SOURCES,
	O_NO_URING,
	O_CALLS,
	O_RATE,
	O_DURATION,
	O_MIX,
	O_REQ_RATE,
	O_WINDOW,
	O_REQS_PER_CALL,
	O_ECHO,
	O_TO_USER,
	O_FROM_USER,
	O_SEED,
	O_MAX_ERRORS,
	O_ANSWER_DELAY,
	O_REJECT_SHARE,
	O_MAX_CALLS,
	O_PENDING,
	O_DROP_EVERY,
	O_DROP_RESP,
	O_T1,
	O_T2,
	O_JSON,
	O_QUIET,
};

static const struct option options[] = {
    {"role", required_argument, NULL, O_ROLE},
    {"local", required_argument, NULL, O_LOCAL},
    {"target", required_argument, NULL, O_TARGET},
    {"threads", required_argument, NULL, O_THREADS},
    {"sources", required_argument, NULL, O_SOURCES},
    {"no-uring", no_argument, NULL, O_NO_URING},
    {"calls", required_argument, NULL, O_CALLS},
    {"rate", required_argument, NULL, O_RATE},
    {"duration", required_argument, NULL, O_DURATION},
    {"mix", required_argument, NULL, O_MIX},
    {"req-rate", required_argument, NULL, O_REQ_RATE},
    {"window", required_argument, NULL, O_WINDOW},
    {"requests-per-call", required_argument, NULL, O_REQS_PER_CALL},
    {"echo", no_argument, NULL, O_ECHO},
    {"to-user", required_argument, NULL, O_TO_USER},
    {"from-user", required_argument, NULL, O_FROM_USER},
    {"seed", required_argument, NULL, O_SEED},
    {"max-errors", required_argument, NULL, O_MAX_ERRORS},
    {"answer-delay-ms", required_argument, NULL, O_ANSWER_DELAY},
    {"reject-share", required_argument, NULL, O_REJECT_SHARE},
    {"max-calls", required_argument, NULL, O_MAX_CALLS},
    {"pending", required_argument, NULL, O_PENDING},
    {"drop-every", required_argument, NULL, O_DROP_EVERY},
    {"drop-responses-every", required_argument, NULL, O_DROP_RESP},
    {"t1-ms", required_argument, NULL, O_T1},
    {"t2-ms", required_argument, NULL, O_T2},
    {"json", required_argument, NULL, O_JSON},
    {"quiet", no_argument, NULL, O_QUIET},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int bad(const char *flag, const char *val, const char *why)
{
	fprintf(stderr, "sipshard-load: --%s %s: %s (see --help)\n", flag, val, why);
	return -EINVAL;
}

static int parse_u64(const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (cli_u64(s, lo, hi, out)) {
		char why[80];
		snprintf(why, sizeof(why), "expected an integer from %llu to %llu",
			 (unsigned long long)lo, (unsigned long long)hi);
		return bad(flag, s, why);
	}
	return 0;
}

static int parse_uint(const char *flag, const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	uint64_t v;
	int rc = parse_u64(flag, s, lo, hi, &v);
	if (!rc)
		*out = (unsigned)v;
	return rc;
}

static int parse_double(const char *flag, const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(v) || v < lo || v > hi) {
		char why[80];
		snprintf(why, sizeof(why), "expected a number from %g to %g", lo, hi);
		return bad(flag, s, why);
	}
	*out = v;
	return 0;
}

/* The port of an IPv4 or IPv6 address, host order. */
static uint16_t sockaddr_port(const struct sockaddr_storage *a)
{
	return ntohs(a->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)a)->sin6_port
					      : ((const struct sockaddr_in *)a)->sin_port);
}

static int parse_addr(const char *flag, const char *s, struct sockaddr_storage *a, socklen_t *len,
		      char *str, size_t cap)
{
	char err[160];
	if (udp_parse_addr(s, a, len, err, sizeof(err)) != 0)
		return bad(flag, s, err);
	snprintf(str, cap, "%s", s);
	return 0;
}

static const uint8_t mix_allowed[] = {LM_INFO,	 LM_MESSAGE, LM_REINVITE, LM_UPDATE,
				      LM_NOTIFY, LM_OPTIONS, LM_PRACK,	  LM_REFER};

static int parse_mix(struct load_cfg *cfg, const char *s)
{
	const char *p = s;
	cfg->nmix = 0;
	snprintf(cfg->mix_s, sizeof(cfg->mix_s), "%s", s);
	while (*p) {
		const char *colon = strchr(p, ':');
		const char *comma = strchr(p, ',');
		if (!comma)
			comma = p + strlen(p);
		if (!colon || colon > comma)
			return bad("mix", s, "expected METHOD:WEIGHT[,METHOD:WEIGHT...]");
		int m = load_method_lookup(p, (size_t)(colon - p));
		bool ok = false;
		for (size_t i = 0; m >= 0 && i < sizeof(mix_allowed); i++)
			ok |= mix_allowed[i] == m;
		if (!ok)
			return bad("mix", s,
				   "methods are INFO MESSAGE REINVITE UPDATE NOTIFY OPTIONS PRACK "
				   "REFER");
		char num[16];
		size_t nl = (size_t)(comma - colon - 1);
		if (!nl || nl >= sizeof(num))
			return bad("mix", s, "each weight is an integer from 0 to 1000000");
		memcpy(num, colon + 1, nl);
		num[nl] = '\0';
		uint64_t wgt;
		/* named by the whole --mix, as every other error of it is: the
		 * weight alone ("--mix -1") did not say which one was wrong */
		if (cli_u64(num, 0, 1000000, &wgt))
			return bad("mix", s, "each weight is an integer from 0 to 1000000");
		for (unsigned i = 0; i < cfg->nmix; i++)
			if (cfg->mix[i].method == m)
				return bad("mix", s, "a method appears twice");
		if (wgt) {
			cfg->mix[cfg->nmix].method = (uint8_t)m;
			cfg->mix[cfg->nmix].weight = (uint32_t)wgt;
			cfg->nmix++;
		}
		p = *comma ? comma + 1 : comma;
	}
	if (!cfg->nmix)
		return bad("mix", s, "no method has a weight above 0");
	return 0;
}

static int parse_args(int argc, char **argv, struct load_cfg *cfg)
{
	const char *local = NULL, *target = NULL, *mix = "INFO:100", *threads_s = NULL;
	bool dur_set = false, sources_set = false, t2_set = false;
	int o;

	memset(cfg, 0, sizeof(*cfg));
	cfg->threads = 1;
	cfg->sources = 4;
	cfg->calls = 100;
	cfg->rate = 1000;
	cfg->duration = 10;
	cfg->window = 64;
	cfg->t1_ms = 500;
	cfg->t2_ms = 4000;
	cfg->max_calls = 1048576;
	cfg->pending = 65536;
	cfg->drop_every = 3;
	cfg->seed = 1;
	snprintf(cfg->to_user, sizeof(cfg->to_user), "service");
	snprintf(cfg->from_user, sizeof(cfg->from_user), "load");

	opterr = 0;
	while ((o = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		int rc = 0;
		switch (o) {
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case O_ROLE:
			if (!strcmp(optarg, "uac"))
				cfg->role = LOAD_ROLE_UAC;
			else if (!strcmp(optarg, "uas"))
				cfg->role = LOAD_ROLE_UAS;
			else if (!strcmp(optarg, "drop-proxy"))
				cfg->role = LOAD_ROLE_PROXY;
			else
				rc = bad("role", optarg, "expected uac, uas or drop-proxy");
			break;
		case O_LOCAL:
			local = optarg;
			break;
		case O_TARGET:
			target = optarg;
			break;
		case O_THREADS:
			rc = parse_uint("threads", optarg, 1, LOAD_MAX_THREADS, &cfg->threads);
			threads_s = optarg;
			break;
		case O_SOURCES:
			rc = parse_uint("sources", optarg, 1, LOAD_MAX_SOURCES, &cfg->sources);
			sources_set = true;
			break;
		case O_NO_URING:
			cfg->no_uring = true;
			break;
		case O_CALLS:
			rc = parse_u64("calls", optarg, 1, 100000000, &cfg->calls);
			break;
		case O_RATE:
			rc = parse_double("rate", optarg, 0.001, 1e9, &cfg->rate);
			break;
		case O_DURATION:
			rc = parse_double("duration", optarg, 0, 1e7, &cfg->duration);
			dur_set = true;
			break;
		case O_MIX:
			mix = optarg;
			break;
		case O_REQ_RATE:
			rc = parse_double("req-rate", optarg, 0, 1e9, &cfg->req_rate);
			break;
		case O_WINDOW:
			rc = parse_uint("window", optarg, 1, 10000000, &cfg->window);
			break;
		case O_REQS_PER_CALL:
			rc = parse_uint("requests-per-call", optarg, 0, 1000000000,
					&cfg->requests_per_call);
			break;
		case O_ECHO:
			cfg->echo = true;
			break;
		case O_TO_USER:
		case O_FROM_USER: {
			char *dst = o == O_TO_USER ? cfg->to_user : cfg->from_user;
			size_t n = strlen(optarg);
			bool okc = n > 0 && n < 64;
			for (size_t i = 0; okc && i < n; i++)
				okc = (optarg[i] >= 'a' && optarg[i] <= 'z') ||
				      (optarg[i] >= 'A' && optarg[i] <= 'Z') ||
				      (optarg[i] >= '0' && optarg[i] <= '9') ||
				      strchr("-_.!~*'()+", optarg[i]);
			if (!okc)
				rc = bad(o == O_TO_USER ? "to-user" : "from-user", optarg,
					 "expected 1-63 letters, digits or -_.!~*'()+");
			else
				snprintf(dst, 64, "%s", optarg);
			break;
		}
		/* --json writes both as its integers, which are signed 64-bit
		 * (json_int_t): one above INT64_MAX came out negative */
		case O_SEED:
			rc = parse_u64("seed", optarg, 0, INT64_MAX, &cfg->seed);
			break;
		case O_MAX_ERRORS:
			rc = parse_u64("max-errors", optarg, 0, INT64_MAX, &cfg->max_errors);
			break;
		case O_ANSWER_DELAY:
			rc =
			    parse_uint("answer-delay-ms", optarg, 0, 600000, &cfg->answer_delay_ms);
			break;
		case O_REJECT_SHARE:
			rc = parse_double("reject-share", optarg, 0, 1, &cfg->reject_share);
			break;
		case O_MAX_CALLS:
			rc = parse_u64("max-calls", optarg, 16, 1ull << 31, &cfg->max_calls);
			break;
		case O_PENDING:
			rc = parse_uint("pending", optarg, 16, 16u << 20, &cfg->pending);
			break;
		case O_DROP_EVERY:
			rc = parse_uint("drop-every", optarg, 0, 1000000000, &cfg->drop_every);
			break;
		case O_DROP_RESP:
			rc = parse_uint("drop-responses-every", optarg, 0, 1000000000,
					&cfg->drop_responses_every);
			break;
		case O_T1:
			rc = parse_uint("t1-ms", optarg, 1, 60000, &cfg->t1_ms);
			break;
		case O_T2:
			rc = parse_uint("t2-ms", optarg, 1, 600000, &cfg->t2_ms);
			t2_set = true;
			break;
		case O_JSON:
			cfg->json_path = optarg;
			break;
		case O_QUIET:
			cfg->quiet = true;
			break;
		default:
			/* a short option (optopt its letter) may sit in a group
			 * ("-qv") that getopt is still inside of: argv[optind - 1]
			 * is then the argument before it. A long one's optopt is 0
			 * (unknown) or its value (no argument), above any letter */
			if (optopt > 0 && optopt < 256)
				fprintf(stderr,
					"sipshard-load: unknown or incomplete option '-%c' (see "
					"--help)\n",
					optopt);
			else
				fprintf(stderr,
					"sipshard-load: unknown or incomplete option '%s' (see "
					"--help)\n",
					argv[optind - 1]);
			return -EINVAL;
		}
		if (rc)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "sipshard-load: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return -EINVAL;
	}
	if (!cfg->role) {
		fprintf(stderr,
			"sipshard-load: --role uac|uas|drop-proxy is required (see --help)\n");
		return -EINVAL;
	}
	if (cfg->echo && cfg->requests_per_call) {
		fprintf(stderr, "sipshard-load: --requests-per-call needs calls, not --echo\n");
		return -EINVAL;
	}
	if (cfg->t2_ms < cfg->t1_ms) {
		/* with --t1-ms alone the T2 in the way is the default one: name it,
		 * or the message blames a flag that was never given */
		fprintf(stderr, "sipshard-load: --t1-ms %u is above --t2-ms (%u%s): %s\n",
			cfg->t1_ms, cfg->t2_ms, t2_set ? "" : " by default",
			t2_set ? "T2 must not be below T1" : "give --t2-ms too");
		return -EINVAL;
	}
	if (!dur_set && cfg->role != LOAD_ROLE_UAC)
		cfg->duration = 0;
	/* the drop-proxy is one thread (lossy_proxy.c): more were taken and
	 * silently made 1 */
	if (cfg->role == LOAD_ROLE_PROXY && cfg->threads > 1)
		return bad("threads", threads_s,
			   "the drop-proxy runs one thread (--threads applies to the uac and the "
			   "uas)");
	if (cfg->role != LOAD_ROLE_UAC && sources_set && cfg->sources != 1) {
		fprintf(stderr, "sipshard-load: --sources applies to --role uac only\n");
		return -EINVAL;
	}
	/* an address left out defaults to loopback in the family of the one
	 * given: "--role uas --local [::1]:5080" alone, or "--target [::1]:5060"
	 * alone, was refused, the IPv4 default of the other differing */
	bool v6 = (local && local[0] == '[') || (!local && target && target[0] == '[');
	if (!local)
		local = cfg->role == LOAD_ROLE_UAS ? (v6 ? "[::1]:5080" : "127.0.0.1:5080")
						   : (v6 ? "[::1]:0" : "127.0.0.1:0");
	if (!target)
		target = v6 ? "[::1]:5060" : "127.0.0.1:5060";
	if (parse_addr("local", local, &cfg->local, &cfg->local_len, cfg->local_s,
		       sizeof(cfg->local_s)) ||
	    parse_addr("target", target, &cfg->target, &cfg->target_len, cfg->target_s,
		       sizeof(cfg->target_s)))
		return -EINVAL;
	/* the uas sends only to the addresses requests come from */
	if (cfg->role != LOAD_ROLE_UAS && cfg->local.ss_family != cfg->target.ss_family)
		return bad("local", local, "must be of the same address family as --target");
	/* a port 0 sends nowhere (every send refused: the run said so only in
	 * io.tx_errors) and listens on a port nobody is told; it is read, not
	 * compared as text ("127.0.0.2:0" and ":00" passed) */
	if (cfg->role != LOAD_ROLE_UAS && sockaddr_port(&cfg->target) == 0)
		return bad("target", target, "expected a port from 1 to 65535");
	if (cfg->role != LOAD_ROLE_UAC && sockaddr_port(&cfg->local) == 0)
		return bad("local", local,
			   cfg->role == LOAD_ROLE_PROXY
			       ? "the drop-proxy needs a port to listen on (1 to 65535)"
			       : "the uas needs a port to listen on (1 to 65535)");
	/* our Via, From and Contact carry the local address: it must be one */
	static const unsigned char zero6[16];
	if ((cfg->local.ss_family == AF_INET &&
	     ((struct sockaddr_in *)&cfg->local)->sin_addr.s_addr == 0) ||
	    (cfg->local.ss_family == AF_INET6 &&
	     !memcmp(&((struct sockaddr_in6 *)&cfg->local)->sin6_addr, zero6, 16)))
		return bad("local", local,
			   "needs a specific address (it goes into Via and Contact)");
	if (parse_mix(cfg, mix))
		return -EINVAL;
	/* the file is written at the end: a path that cannot be written is said
	 * now, not after a run whose figures it would lose. Opened for append so
	 * that an existing file is left as it is until then. */
	if (cfg->json_path) {
		FILE *f = fopen(cfg->json_path, "a");
		if (!f)
			return bad("json", cfg->json_path, strerror(errno));
		fclose(f);
	}
	if (cfg->role == LOAD_ROLE_UAC && cfg->calls < cfg->threads)
		cfg->threads = (unsigned)cfg->calls;
	/* --window is the run's total, split over the threads (uac.c): each
	 * needs one at least, or a thread given none took one of its own and
	 * --window 1 --threads 2 let 2 requests be outstanding */
	if (cfg->role == LOAD_ROLE_UAC && cfg->window < cfg->threads) {
		fprintf(stderr,
			"sipshard-load: --window %u is below --threads %u: the window is the "
			"total over all threads, split among them, and each needs 1 at least "
			"(give --window %u or more, or fewer --threads)\n",
			cfg->window, cfg->threads, cfg->threads);
		return -EINVAL;
	}
	return 0;
}

/* ---- output ---------------------------------------------------------------------- */

static const char *role_name(enum load_role r)
{
	return r == LOAD_ROLE_UAC ? "uac" : r == LOAD_ROLE_UAS ? "uas" : "drop-proxy";
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

/* "asked 1000/s, achieved 998.0/s, late p50 .. p99 .. max .. ms": a paced
 * phase, flagged when it fell short of the rate asked. */
static void print_pace(const char *what, double asked, double got, const char *note, bool is_short,
		       const struct load_hist *lag)
{
	printf("pacing   %s asked %.1f/s  %s %.1f/s%s%s  sent late by p50 %.3f  p99 %.3f  max %.3f "
	       "ms\n",
	       what, asked, !strcmp(what, "setup") ? "offered" : "issued", got, note,
	       is_short ? "  SHORT of the asked rate" : "",
	       (double)load_hist_percentile(lag, 50) / 1e6,
	       (double)load_hist_percentile(lag, 99) / 1e6, (double)lag->max_ns / 1e6);
}

static void print_uac(const struct load_cfg *cfg, const struct load_stats *s, const char *backend,
		      double mix_s, const struct load_setup_pace *sp, uint64_t errors)
{
	const struct load_counters *c = &s->c;
	printf("sipshard-load uac  %s -> %s  threads %u  sources %u  %s\n", cfg->local_s,
	       cfg->target_s, cfg->threads, cfg->sources, backend);
	printf("calls    attempted %llu  established %llu  rejected %llu  failed %llu  ended %llu"
	       "  lost %llu  ended-by-peer %llu  late-answers %llu\n",
	       (unsigned long long)c->calls_attempted, (unsigned long long)c->calls_established,
	       (unsigned long long)c->calls_rejected, (unsigned long long)c->calls_failed,
	       (unsigned long long)c->calls_ended, (unsigned long long)c->calls_lost,
	       (unsigned long long)c->peer_byes, (unsigned long long)c->calls_late_answers);
	printf("mix      %.2f s  %llu in-dialog transactions completed  %.1f/s  (%s)\n", mix_s,
	       (unsigned long long)c->mix_completed,
	       mix_s > 0 ? (double)c->mix_completed / mix_s : 0.0, cfg->mix_s);
	if (cfg->requests_per_call)
		printf("cycle    %u requests per call: %llu calls ended  %.1f calls/s  %.1f "
		       "transactions/s with INVITEs\n",
		       cfg->requests_per_call, (unsigned long long)c->mix_calls_completed,
		       mix_s > 0 ? (double)c->mix_calls_completed / mix_s : 0.0,
		       mix_s > 0 ? (double)(c->mix_completed + c->mix_setups_completed) / mix_s
				 : 0.0);
	printf("%-9s %10s %10s %8s %8s %8s %9s %7s %7s %7s %7s %9s %9s %9s %9s %9s\n", "method",
	       "sent", "completed", "timeout", "abandon", "retrans", "2xx", "3xx", "4xx", "5xx",
	       "6xx", "p50us", "p90us", "p99us", "p99.9us", "maxus");
	for (int m = 0; m < LM_COUNT; m++) {
		const struct load_mstat *ms = &c->m[m];
		const struct load_hist *h = &s->lat[m];
		if (!ms->sent)
			continue;
		printf("%-9s %10llu %10llu %8llu %8llu %8llu %9llu %7llu %7llu %7llu %7llu %9.1f "
		       "%9.1f %9.1f %9.1f %9.1f\n",
		       load_method_name((enum load_method)m), (unsigned long long)ms->sent,
		       (unsigned long long)ms->completed, (unsigned long long)ms->timeouts,
		       (unsigned long long)ms->abandoned, (unsigned long long)ms->retrans,
		       (unsigned long long)ms->cls[2], (unsigned long long)ms->cls[3],
		       (unsigned long long)ms->cls[4], (unsigned long long)ms->cls[5],
		       (unsigned long long)ms->cls[6], us(load_hist_percentile(h, 50)),
		       us(load_hist_percentile(h, 90)), us(load_hist_percentile(h, 99)),
		       us(load_hist_percentile(h, 99.9)), us(h->max_ns));
	}
	const struct load_hist *h = &s->lat_mix;
	printf("latency  mix (us): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (n=%llu)\n",
	       us(load_hist_percentile(h, 50)), us(load_hist_percentile(h, 90)),
	       us(load_hist_percentile(h, 99)), us(load_hist_percentile(h, 99.9)), us(h->max_ns),
	       (unsigned long long)h->count);
	if (c->setup_invites) {
		/* threads that sent fewer than 2 INVITEs give no rate: the
		 * figure is the sum over those that did, of their shares */
		char note[96] = "";
		if (sp->judged && sp->judged < cfg->threads)
			snprintf(note, sizeof(note), " (%u of %u threads, asked %.1f/s of them)",
				 sp->judged, cfg->threads, sp->asked);
		print_pace("setup", cfg->rate, sp->offered, note, sp->is_short, &s->lag_setup);
	}
	if (cfg->req_rate > 0 && mix_s > 0) {
		h = &s->lat_mix_sched;
		double issued = (double)c->mix_issued / mix_s;
		print_pace("mix", cfg->req_rate, issued, "", load_pace_short(cfg->req_rate, issued),
			   &s->lag_mix);
		printf("latency  mix from when due (us): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  "
		       "max "
		       "%.1f\n",
		       us(load_hist_percentile(h, 50)), us(load_hist_percentile(h, 90)),
		       us(load_hist_percentile(h, 99)), us(load_hist_percentile(h, 99.9)),
		       us(h->max_ns));
	}
	printf(
	    "unexpected  unknown-transaction %llu  malformed %llu  mismatched %llu  truncated %llu"
	    "  requests %llu\n",
	    (unsigned long long)c->unknown_transaction, (unsigned long long)c->malformed,
	    (unsigned long long)c->mismatched, (unsigned long long)c->truncated,
	    (unsigned long long)c->unexpected_requests);
	printf("repeats     duplicate-responses %llu  late-responses %llu  acks %llu  re-acks %llu"
	       "  peer-requests %llu (retransmitted %llu)\n",
	       (unsigned long long)c->duplicate_responses, (unsigned long long)c->late_responses,
	       (unsigned long long)c->acks_sent, (unsigned long long)c->reacks_sent,
	       (unsigned long long)c->peer_requests, (unsigned long long)c->peer_retrans);
	if (c->taken_forgotten)
		printf("repeats     dialogs forgotten before their 2xx could no longer come: %llu "
		       "(a repeat of one's 2xx is taken for another fork's)\n",
		       (unsigned long long)c->taken_forgotten);
	if (c->late_byes_no_buffer || c->late_byes_no_slot)
		printf("late-byes   unsent: no send buffer %llu  no fork record %llu\n",
		       (unsigned long long)c->late_byes_no_buffer,
		       (unsigned long long)c->late_byes_no_slot);
	printf("errors      %llu (max %llu): %s\n", (unsigned long long)errors,
	       (unsigned long long)cfg->max_errors, errors > cfg->max_errors ? "FAIL" : "ok");
}

static void print_uas(const struct load_cfg *cfg, const struct load_stats *s, const char *backend,
		      double secs, uint64_t errors)
{
	const struct load_counters *c = &s->c;
	printf("sipshard-load uas  %s  threads %u  %s  ran %.2f s\n", cfg->local_s, cfg->threads,
	       backend, secs);
	printf("calls    created %llu  rejected %llu  delayed-answers %llu  table-full %llu\n",
	       (unsigned long long)c->legs_created, (unsigned long long)c->rejects,
	       (unsigned long long)c->answers_delayed, (unsigned long long)c->legs_table_full);
	printf("%-9s %10s %10s %10s %9s %9s %7s %7s %7s\n", "method", "received", "answered",
	       "retrans-in", "1xx", "2xx", "4xx", "5xx", "6xx");
	for (int m = 0; m < LM_COUNT; m++) {
		const struct load_mstat *ms = &c->m[m];
		if (!ms->sent && !ms->retrans)
			continue;
		printf("%-9s %10llu %10llu %10llu %9llu %9llu %7llu %7llu %7llu\n",
		       load_method_name((enum load_method)m), (unsigned long long)ms->sent,
		       (unsigned long long)ms->completed, (unsigned long long)ms->retrans,
		       (unsigned long long)ms->cls[1], (unsigned long long)ms->cls[2],
		       (unsigned long long)ms->cls[4], (unsigned long long)ms->cls[5],
		       (unsigned long long)ms->cls[6]);
	}
	printf("acks     received %llu  unmatched %llu  timeouts %llu\n",
	       (unsigned long long)c->acks_received, (unsigned long long)c->acks_unmatched,
	       (unsigned long long)c->ack_timeouts);
	printf("notify   sent %llu  completed %llu  retransmissions %llu  timeouts %llu  abandoned "
	       "%llu\n",
	       (unsigned long long)c->notify_sent, (unsigned long long)c->notify_completed,
	       (unsigned long long)c->notify_retrans, (unsigned long long)c->notify_timeouts,
	       (unsigned long long)c->notify_abandoned);
	printf("own BYE  sent %llu  answered %llu (>= 300: %llu)  retransmissions %llu  timeouts "
	       "%llu\n",
	       (unsigned long long)c->byes_sent, (unsigned long long)c->byes_answered,
	       (unsigned long long)c->byes_failed, (unsigned long long)c->byes_retrans,
	       (unsigned long long)c->byes_timeouts);
	printf("errors   %llu (max %llu): %s  [malformed %llu, unknown dialog %llu, out of order "
	       "%llu]\n",
	       (unsigned long long)errors, (unsigned long long)cfg->max_errors,
	       errors > cfg->max_errors ? "FAIL" : "ok", (unsigned long long)c->malformed,
	       (unsigned long long)c->unknown_dialog, (unsigned long long)c->out_of_order);
}

static void print_proxy(const struct load_cfg *cfg, const struct load_stats *s)
{
	const struct load_counters *c = &s->c;
	printf("sipshard-load drop-proxy  %s -> %s  drop every %u request(s), %u response(s)\n",
	       cfg->local_s, cfg->target_s, cfg->drop_every, cfg->drop_responses_every);
	static const char *const dir[2] = {"to server", "to client"};
	for (int d = 0; d < 2; d++)
		printf(
		    "%-10s requests forwarded %llu dropped %llu  responses forwarded %llu dropped "
		    "%llu\n",
		    dir[d], (unsigned long long)c->fwd_requests[d],
		    (unsigned long long)c->dropped_requests[d],
		    (unsigned long long)c->fwd_responses[d],
		    (unsigned long long)c->dropped_responses[d]);
}

static json_t *params_json(const struct load_cfg *cfg)
{
	json_t *mix = json_object();
	for (unsigned i = 0; i < cfg->nmix; i++)
		json_object_set_new(mix, load_method_name((enum load_method)cfg->mix[i].method),
				    json_integer(cfg->mix[i].weight));
	return json_pack(
	    "{s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:f, s:I, s:I, s:o, s:I, s:f, s:I, s:b, s:b, "
	    "s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:I, s:s?}",
	    "role", role_name(cfg->role), "local", cfg->local_s, "target", cfg->target_s, "threads",
	    (json_int_t)cfg->threads, "sources", (json_int_t)cfg->sources, "calls",
	    (json_int_t)cfg->calls, "rate", cfg->rate, "duration", cfg->duration, "req_rate",
	    cfg->req_rate, "window", (json_int_t)cfg->window, "requests_per_call",
	    (json_int_t)cfg->requests_per_call, "mix", mix, "answer_delay_ms",
	    (json_int_t)cfg->answer_delay_ms, "reject_share", cfg->reject_share, "max_errors",
	    (json_int_t)cfg->max_errors, "no_uring", cfg->no_uring, "echo", cfg->echo, "t1_ms",
	    (json_int_t)cfg->t1_ms, "t2_ms", (json_int_t)cfg->t2_ms, "max_calls",
	    (json_int_t)cfg->max_calls, "pending", (json_int_t)cfg->pending, "drop_every",
	    (json_int_t)cfg->drop_every, "drop_responses_every",
	    (json_int_t)cfg->drop_responses_every, "to_user", cfg->to_user, "from_user",
	    cfg->from_user, "seed", (json_int_t)cfg->seed, "json", cfg->json_path);
}

struct series {
	uint64_t *v;
	size_t n, cap;
};

static void series_add(struct series *s, uint64_t v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint64_t *nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
}

/* io totals over the workers: rx, tx, tx_errors, tx_enobufs, tx_reordered, rx_truncated,
 * rx_enobufs, tx_pool_empty */
struct io_totals {
	uint64_t rx, tx, txe, txenob, txreord, tr, enob, pe;
};

static int write_json(const struct load_cfg *cfg, const struct load_stats *s,
		      const struct io_totals *io, const char *backend, double mix_s,
		      const struct load_setup_pace *sp, double elapsed, const struct series *tp,
		      uint64_t errors)
{
	json_t *root = load_stats_json(s, role_name(cfg->role), mix_s);
	if (cfg->role == LOAD_ROLE_UAC)
		json_object_set_new(root, "pacing",
				    load_pacing_json(s, cfg->rate, sp, cfg->req_rate, mix_s));
	json_object_set_new(root, "tool", json_string("sipshard-load"));
	json_object_set_new(root, "role", json_string(role_name(cfg->role)));
	json_object_set_new(root, "backend", json_string(backend));
	json_object_set_new(root, "params", params_json(cfg));
	json_object_set_new(root, "elapsed_s", json_real(elapsed));

	json_t *arr = json_array();
	uint64_t peak = 0, sum = 0;
	for (size_t i = 0; i < tp->n; i++) {
		json_array_append_new(arr, json_integer((json_int_t)tp->v[i]));
		peak = tp->v[i] > peak ? tp->v[i] : peak;
		sum += tp->v[i];
	}
	json_object_set_new(root, "throughput",
			    json_pack("{s:s, s:o, s:I, s:f}", "unit",
				      cfg->role == LOAD_ROLE_PROXY
					  ? "datagrams forwarded per second"
					  : "final responses per second (uac: received, uas: sent)",
				      "per_second", arr, "peak", (json_int_t)peak, "mean",
				      tp->n ? (double)sum / (double)tp->n : 0.0));
	json_object_set_new(root, "io",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx",
				      (json_int_t)io->rx, "tx", (json_int_t)io->tx, "tx_errors",
				      (json_int_t)io->txe, "tx_enobufs", (json_int_t)io->txenob,
				      "tx_reordered", (json_int_t)io->txreord, "rx_truncated",
				      (json_int_t)io->tr, "rx_enobufs", (json_int_t)io->enob,
				      "tx_pool_empty", (json_int_t)io->pe));
	json_object_set_new(root, "exit",
			    json_pack("{s:I, s:I, s:i}", "errors", (json_int_t)errors, "max_errors",
				      (json_int_t)cfg->max_errors, "status",
				      errors > cfg->max_errors ? 1 : 0));
	int rc = json_dump_file(root, cfg->json_path, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(root);
	if (rc) {
		fprintf(stderr, "sipshard-load: cannot write %s: %s\n", cfg->json_path,
			strerror(errno));
		return -EIO;
	}
	return 0;
}

/* ---- the run ------------------------------------------------------------------------ */

struct runner {
	struct load_worker w;
	pthread_t tid;
	atomic_int done;
};

static void *run_worker(void *arg)
{
	struct runner *r = arg;
	switch (r->w.cfg->role) {
	case LOAD_ROLE_UAC:
		load_uac_main(&r->w);
		break;
	case LOAD_ROLE_UAS:
		load_uas_main(&r->w);
		break;
	default:
		load_proxy_main(&r->w);
		break;
	}
	atomic_store(&r->done, 1);
	return NULL;
}

static void progress(const struct load_cfg *cfg, struct runner *rs, double t, uint64_t rate,
		     bool tty)
{
	uint64_t up = 0, out = 0, err = 0, re = 0, phase = 0;
	for (unsigned i = 0; i < cfg->threads; i++) {
		struct load_live *l = &rs[i].w.stats->live;
		up += load_live_get(&l->calls_up);
		out += load_live_get(&l->outstanding);
		err += load_live_get(&l->errors);
		re += load_live_get(&l->retrans);
		uint64_t p = load_live_get(&l->phase);
		phase = p > phase ? p : phase;
	}
	char line[256];
	if (cfg->role == LOAD_ROLE_UAC) {
		static const char *const names[] = {"start", "setup", "mix", "bye", "done"};
		snprintf(
		    line, sizeof(line),
		    "[%6.1fs] %-5s calls up %llu/%llu  req/s %llu  outstanding %llu  errors %llu"
		    "  retrans %llu",
		    t, names[phase < 5 ? phase : 0], (unsigned long long)up,
		    (unsigned long long)cfg->calls, (unsigned long long)rate,
		    (unsigned long long)out, (unsigned long long)err, (unsigned long long)re);
	} else if (cfg->role == LOAD_ROLE_UAS) {
		snprintf(line, sizeof(line),
			 "[%6.1fs] calls up %llu  legs %llu  answered/s %llu  errors %llu  "
			 "retrans-in %llu",
			 t, (unsigned long long)up, (unsigned long long)out,
			 (unsigned long long)rate, (unsigned long long)err, (unsigned long long)re);
	} else {
		snprintf(line, sizeof(line), "[%6.1fs] drop-proxy forwarded/s %llu", t,
			 (unsigned long long)rate);
	}
	if (tty)
		fprintf(stderr, "\r%s\033[K", line);
	else
		fprintf(stderr, "%s\n", line);
}

int main(int argc, char **argv)
{
	struct load_cfg cfg;
	if (parse_args(argc, argv, &cfg))
		return 2;
	cfg.nonce = (uint32_t)(load_now_ns() ^ ((uint64_t)getpid() << 16));

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* The uas's threads share no calls, so each must get every datagram of
	 * the calls its socket took first: the group is bound here, whole, before
	 * any thread runs (udp_socket_bind_group). Bound thread by thread, a
	 * sender that started while the first was alone had its flow moved to
	 * another thread when the next one bound: its ACKs and in-dialog
	 * requests went to a thread without the call (481, lost calls). */
	int group[LOAD_MAX_THREADS];
	bool grouped = cfg.role == LOAD_ROLE_UAS && cfg.threads > 1;
	if (grouped) {
		int rc = udp_socket_bind_group(&cfg.local, cfg.local_len, group, cfg.threads);
		if (rc) {
			fprintf(stderr, "sipshard-load: cannot bind %s: %s\n", cfg.local_s,
				strerror(-rc));
			return 2;
		}
	}

	struct runner *rs = calloc(cfg.threads, sizeof(*rs));
	struct load_stats *stats = calloc(cfg.threads + 1, sizeof(*stats));
	if (!rs || !stats) {
		fprintf(stderr, "sipshard-load: out of memory\n");
		return 2;
	}
	struct load_stats *total = &stats[cfg.threads];
	load_stats_init(total);
	uint64_t t0 = load_now_ns();
	for (unsigned i = 0; i < cfg.threads; i++) {
		load_stats_init(&stats[i]);
		rs[i].w.index = i;
		rs[i].w.cfg = &cfg;
		rs[i].w.stop = &g_stop;
		rs[i].w.stats = &stats[i];
		rs[i].w.backend = "none";
		rs[i].w.fd = grouped ? group[i] : -1;
		atomic_init(&rs[i].w.ready, 0);
		atomic_init(&rs[i].done, 0);
		if (pthread_create(&rs[i].tid, NULL, run_worker, &rs[i]) != 0) {
			fprintf(stderr, "sipshard-load: cannot start thread %u\n", i);
			atomic_store(&g_stop, 2);
			for (unsigned j = i; grouped && j < cfg.threads; j++)
				close(group[j]);
			cfg.threads = i;
			break;
		}
	}

	bool tty = isatty(STDERR_FILENO);
	struct series tp = {0};
	uint64_t last_done = 0, next_tick = t0 + 1000000000ull;
	bool setup_failed = false;
	for (;;) {
		unsigned finished = 0;
		for (unsigned i = 0; i < cfg.threads; i++) {
			finished += (unsigned)atomic_load(&rs[i].done);
			if (atomic_load(&rs[i].w.ready) < 0 && !setup_failed) {
				setup_failed = true;
				atomic_store(&g_stop, 2);
			}
		}
		if (finished == cfg.threads)
			break;
		uint64_t now = load_now_ns();
		if (now >= next_tick) {
			uint64_t done = 0;
			for (unsigned i = 0; i < cfg.threads; i++)
				done += load_live_get(&rs[i].w.stats->live.completed);
			series_add(&tp, done - last_done);
			if (!cfg.quiet)
				progress(&cfg, rs, (double)(now - t0) / 1e9, done - last_done, tty);
			last_done = done;
			next_tick += 1000000000ull;
		}
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	if (!cfg.quiet && tty)
		fputc('\n', stderr);
	double elapsed = (double)(load_now_ns() - t0) / 1e9;

	int status = 0;
	double mix_s = 0;
	const char *backend = "none";
	struct load_setup_pace sp = {0};
	uint64_t s_first = UINT64_MAX, s_last = 0;
	for (unsigned i = 0; i < cfg.threads; i++) {
		pthread_join(rs[i].tid, NULL);
		/* each thread paces its share of the calls at --rate / threads
		 * from its own start, and is judged on its own: n INVITEs of a
		 * thread are n - 1 intervals */
		if (stats[i].c.setup_invites) {
			load_setup_pace_add(&sp, cfg.rate / cfg.threads, stats[i].c.setup_invites,
					    rs[i].w.setup_first_ns, rs[i].w.setup_last_ns);
			if (rs[i].w.setup_first_ns < s_first)
				s_first = rs[i].w.setup_first_ns;
			if (rs[i].w.setup_last_ns > s_last)
				s_last = rs[i].w.setup_last_ns;
		}
		if (rs[i].w.rc) {
			fprintf(stderr, "sipshard-load: thread %u: %s\n", i,
				rs[i].w.err[0] ? rs[i].w.err : strerror(-rs[i].w.rc));
			status = 2;
		}
		load_stats_merge(total, &stats[i]);
		if (rs[i].w.mix_seconds > mix_s)
			mix_s = rs[i].w.mix_seconds;
		if (strcmp(rs[i].w.backend, "none"))
			backend = rs[i].w.backend;
	}
	if (status) {
		free(tp.v);
		free(rs);
		free(stats);
		return status;
	}
	if (s_last > s_first) {
		sp.seconds = (double)(s_last - s_first) / 1e9;
	}
	uint64_t errors = 0;
	if (cfg.role == LOAD_ROLE_UAC) {
		errors = load_uac_errors(&total->c);
		print_uac(&cfg, total, backend, mix_s, &sp, errors);
	} else if (cfg.role == LOAD_ROLE_UAS) {
		errors = load_uas_errors(&total->c);
		print_uas(&cfg, total, backend, mix_s, errors);
	} else {
		errors = total->c.send_errors + total->c.truncated;
		print_proxy(&cfg, total);
	}
	fflush(stdout);
	struct io_totals io = {0};
	for (unsigned i = 0; i < cfg.threads; i++) {
		io.rx += rs[i].w.io_rx;
		io.tx += rs[i].w.io_tx;
		io.txe += rs[i].w.io_tx_errors;
		io.txenob += rs[i].w.io_tx_enobufs;
		io.txreord += rs[i].w.io_tx_reordered;
		io.tr += rs[i].w.io_truncated;
		io.enob += rs[i].w.io_enobufs;
		io.pe += rs[i].w.io_pool_empty;
	}
	if (cfg.json_path &&
	    write_json(&cfg, total, &io, backend, mix_s, &sp, elapsed, &tp, errors) != 0)
		status = 2;
	free(tp.v);
	free(rs);
	free(stats);
	if (status)
		return status;
	return errors > cfg.max_errors ? 1 : 0;
}
