/*
 * sipshardctl - the operator's command line to a running sipshardd, over its
 * management socket (wire format: user/daemon/mgmt.h).
 *
 * Owns: the command line, finding the socket, one request and printing its
 * answer. Does not own: what the commands do (the daemon).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/cli.h"
#include "ctl/config.h"
#include "daemon/mgmt.h" /* MGMT_WAIT_DEFAULT_MS, MGMT_WAIT_MAX_MS, MGMT_REQUEST_MAX */
#include "daemon/orig.h" /* ORIG_BODY_MAX */

static const char usage_text[] =
    "usage: sipshardctl [OPTIONS] COMMAND\n"
    "Talks to a running sipshardd over its management socket.\n"
    "\n"
    "Commands:\n"
    "  stats     the statistics, as JSON (the document sipshardd --stats-file writes)\n"
    "  targets   each target of the routes in service, as JSON: its address, the\n"
    "            routes that name it (as each writes it: an address or a name,\n"
    "            with the max_calls, max_cps and weight each gives it; for an SRV\n"
    "            record of a name given without a port, the record's HOST:PORT,\n"
    "            the name as domain and its srv_priority), the calls\n"
    "            on it now, whether new calls skip it as down (retry_after_s: the\n"
    "            seconds left of a 503's Retry-After), the round trip of its last\n"
    "            OPTIONS answered in ms, and its INVITEs: sent, answered (2xx),\n"
    "            rejected, unanswered\n"
    "  registrations\n"
    "            each registration in service (registrations[]), as JSON: its\n"
    "            registrar as written and its address (for a registrar given as a\n"
    "            name without a port, the SRV record it is at as registrar_record),\n"
    "            the address of record,\n"
    "            whether it is registered and for how many seconds yet, the final\n"
    "            status of its last attempt (408: none came), whether a REGISTER is\n"
    "            in flight, and the seconds to its next attempt; then each one a\n"
    "            reload removed (or pointed elsewhere) whose binding is being\n"
    "            unregistered (Expires: 0), with unregistering true\n"
    "  disable TARGET, enable TARGET\n"
    "            take a route target out of service, or put it back: new calls skip\n"
    "            a disabled target as a full one (a route with none left answers\n"
    "            503); its calls go on. TARGET: IP:port (the address in any\n"
    "            spelling: [0::1]:5080 is [::1]:5080), or name:port of a route\n"
    "            (the name in any letter case). Kept across reloads, not across\n"
    "            restarts\n"
    "  config    the configuration in service (after any reload), as JSON\n"
    "  reload    reload the daemon's --config file, as SIGHUP does, and print what\n"
    "            happened: reloaded FILE, and a warning per key that waits for a restart\n"
    "  drain     stop the daemon gracefully, as SIGTERM does: new calls get 503, and it\n"
    "            stops when the calls that are up end or timers.drain_s passes\n"
    "  dialogs [CALL-ID]\n"
    "            the calls in progress: how many, and up to --limit of them per worker\n"
    "            (both legs: Call-IDs, tags, URIs, peers, states, CSeqs, offer/answer);\n"
    "            with CALL-ID, only the call one of whose legs has it\n"
    "  bye CALL-ID\n"
    "            end the call one of whose legs has this Call-ID: sipshard sends a BYE\n"
    "            to each side (Reason: Q.850;cause=16) and writes its CDR\n"
    "            (end_reason operator)\n"
    "  info CALL-ID --to caller|callee [--type TYPE --body TEXT]\n"
    "  message CALL-ID --to caller|callee --type TYPE --body TEXT\n"
    "            send an INFO (RFC 6086) or a MESSAGE (RFC 3428) in that call to one\n"
    "            side, with the body TEXT of Content-Type TYPE (at most 1024 bytes), and\n"
    "            print the final status of the request (200, 415, 481, 408 when it went\n"
    "            unanswered...), or that none came within --wait, or that the call\n"
    "            ended before one came\n"
    "  refer CALL-ID --to caller|callee --target URI\n"
    "            transfer that side of the call to URI: a REFER (RFC 3515) with\n"
    "            Refer-To: <URI>; prints its final status (202: accepted); the side's\n"
    "            NOTIFYs about it are answered by sipshard, and dialogs shows how far\n"
    "            the transfer got (the status of the side's call to URI)\n"
    "\n"
    "Options:\n"
    "  -s, --socket PATH   the management socket (default: management_socket of the\n"
    "                      embedded configuration for this user: RUN_DIR/sipshardd.sock)\n"
    "  -c, --config FILE   take management_socket from this configuration file\n"
    "  -t, --timeout SEC   give up after SEC seconds, 1-3600 (default 5; for reload\n"
    "                      35, as the daemon lets a reload that resolves names\n"
    "                      take 30); info, message and refer wait their --wait\n"
    "                      on top of it, as the daemon answers after that wait\n"
    "  -n, --limit N       dialogs: at most N per worker, 1-100 (default 20)\n"
    "      --to SIDE       info, message: caller or callee\n"
    "      --type TYPE     info, message: the body's Content-Type, such as text/plain\n"
    "      --body TEXT     info, message: the body\n"
    "      --target URI    refer: where the side is sent (a sip:, sips:, tel: or other\n"
    "                      URI, as RFC 3515 allows)\n"
    "      --wait MS       info, message, refer: wait up to MS milliseconds, 0-1500, for\n"
    "                      the final status (default 1000; 0: answer once it is sent)\n"
    "      --json          print the daemon's whole answer as JSON\n"
    "  -h, --help          print this text\n"
    "\n"
    "Exit status: 0 done; 1 the daemon refused (its reason is printed); 2 bad usage\n"
    "or configuration; 3 no daemon reached (no socket, refused, or no answer in time).\n";

_Static_assert(MGMT_WAIT_DEFAULT_MS == 1000 && MGMT_WAIT_MAX_MS == 1500,
	       "the usage text says --wait 0-1500, default 1000");

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHED = 3 };

struct cli {
	const char *socket, *config, *command;
	const char *call_id;		/* dialogs, bye, info, message */
	const char *to, *ctype, *body;	/* info, message; to: refer too */
	const char *target;		/* refer */
	long timeout_s, limit, wait_ms; /* wait_ms: -1 when not given */
	bool json;
	bool sends; /* info, message, refer: the answer comes after the wait */
};

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},  {"config", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'J'},
	    {"limit", required_argument, NULL, 'n'},   {"help", no_argument, NULL, 'h'},
	    {"to", required_argument, NULL, 'T'},      {"type", required_argument, NULL, 'Y'},
	    {"body", required_argument, NULL, 'B'},    {"wait", required_argument, NULL, 'W'},
	    {"target", required_argument, NULL, 'R'},  {NULL, 0, NULL, 0},
	};
	int o;

	cli->timeout_s = 0; /* not given: 5 s, or a reload's own (below) */
	cli->wait_ms = -1;
	while ((o = getopt_long(argc, argv, "s:c:t:n:h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			cli->socket = optarg;
			break;
		case 'c':
			cli->config = optarg;
			break;
		case 't':
			if (cli_long(optarg, 1, 3600, &cli->timeout_s)) {
				fprintf(stderr,
					"sipshardctl: --timeout: expected whole seconds from 1 to "
					"3600, got '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			if (cli_long(optarg, 1, 100, &cli->limit)) {
				fprintf(
				    stderr,
				    "sipshardctl: --limit: expected a number from 1 to 100, got "
				    "'%s'\n",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'J':
			cli->json = true;
			break;
		case 'T':
			cli->to = optarg;
			break;
		case 'Y':
			cli->ctype = optarg;
			break;
		case 'B':
			cli->body = optarg;
			break;
		case 'R':
			cli->target = optarg;
			break;
		case 'W':
			if (cli_long(optarg, 0, MGMT_WAIT_MAX_MS, &cli->wait_ms)) {
				fprintf(stderr,
					"sipshardctl: --wait: expected milliseconds from 0 to %d, "
					"got '%s'\n",
					MGMT_WAIT_MAX_MS, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	if (cli->socket && cli->config) {
		fprintf(stderr, "sipshardctl: give --socket or --config, not both\n");
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		fprintf(stderr, "sipshardctl: expected a command\n%s", usage_text);
		return EXIT_USAGE;
	}
	cli->command = argv[optind++];
	if (!cli->timeout_s) /* a reload may wait on DNS: MGMT_RELOAD_TIMEOUT_MS */
		cli->timeout_s = strcmp(cli->command, "reload") ? 5 : 35;
	int nargs = argc - optind;
	bool refer = !strcmp(cli->command, "refer");
	bool sends = !strcmp(cli->command, "info") || !strcmp(cli->command, "message") || refer;
	cli->sends = sends;
	bool admin = !strcmp(cli->command, "disable") || !strcmp(cli->command, "enable");
	bool with_call_id =
	    sends || !strcmp(cli->command, "dialogs") || !strcmp(cli->command, "bye");
	if (!with_call_id && !admin && strcmp(cli->command, "stats") &&
	    strcmp(cli->command, "targets") && strcmp(cli->command, "registrations") &&
	    strcmp(cli->command, "config") && strcmp(cli->command, "reload") &&
	    strcmp(cli->command, "drain")) {
		fprintf(stderr,
			"sipshardctl: unknown command '%s': expected stats, targets, "
			"registrations, disable, enable, config, reload, drain, dialogs, bye, "
			"info, message or refer\n",
			cli->command);
		return EXIT_USAGE;
	}
	if ((sends || !strcmp(cli->command, "bye")) && nargs != 1) {
		fprintf(stderr, "sipshardctl: %s: expected one Call-ID\n", cli->command);
		return EXIT_USAGE;
	}
	if (admin) {
		if (nargs != 1 || cli->target) {
			fprintf(stderr,
				"sipshardctl: %s: expected one target: IP:port, or name:port as "
				"a route writes it\n",
				cli->command);
			return EXIT_USAGE;
		}
		cli->target = argv[optind++];
		nargs--;
	}
	if (sends && (!cli->to || (strcmp(cli->to, "caller") && strcmp(cli->to, "callee")))) {
		fprintf(stderr, "sipshardctl: %s: expected --to caller or --to callee\n",
			cli->command);
		return EXIT_USAGE;
	}
	/* what the daemon would refuse is bad usage, told here (exit 2, and
	 * without a daemon to ask) rather than sent and refused (exit 1) */
	if (sends && !refer && (cli->body || !strcmp(cli->command, "message")) &&
	    (!cli->body || !*cli->body || !cli->ctype)) {
		fprintf(stderr,
			"sipshardctl: %s: expected --type TYPE and --body TEXT together%s\n",
			cli->command,
			strcmp(cli->command, "message") ? "" : " (a MESSAGE carries a body)");
		return EXIT_USAGE;
	}
	if (cli->body && strlen(cli->body) > ORIG_BODY_MAX) {
		fprintf(stderr, "sipshardctl: --body: expected at most %d bytes, got %zu\n",
			ORIG_BODY_MAX, strlen(cli->body));
		return EXIT_USAGE;
	}
	if (!sends && (cli->to || cli->ctype || cli->body || cli->wait_ms >= 0)) {
		fprintf(stderr,
			"sipshardctl: --to, --type, --body and --wait are for info, message "
			"and refer\n");
		return EXIT_USAGE;
	}
	if ((refer || admin) != (cli->target != NULL) || (refer && (cli->ctype || cli->body))) {
		fprintf(stderr, refer ? "sipshardctl: refer: expected --target URI, and no --type "
					"or --body\n"
				      : "sipshardctl: --target is for refer only\n");
		return EXIT_USAGE;
	}
	if (nargs > (with_call_id ? 1 : 0)) {
		fprintf(stderr, "sipshardctl: %s: unexpected argument '%s'\n", cli->command,
			argv[optind + (with_call_id ? 1 : 0)]);
		return EXIT_USAGE;
	}
	if (cli->limit && strcmp(cli->command, "dialogs")) {
		fprintf(stderr, "sipshardctl: --limit is for dialogs only\n");
		return EXIT_USAGE;
	}
	cli->call_id = nargs ? argv[optind] : NULL;
	return 0;
}

/* The socket path: --socket, else management_socket of --config or of the
 * embedded default. */
static int socket_path(const struct cli *cli, char *out, size_t cap)
{
	char err[512];
	int rc;

	if (cli->socket) {
		snprintf(out, cap, "%s", cli->socket);
		return 0;
	}
	if (cli->config) {
		/* the socket only: a file being edited (the next reload's) or a name
		 * that does not resolve now must not keep us from the daemon */
		rc = config_management_socket(cli->config, out, cap, err, sizeof(err));
		if (rc)
			fprintf(stderr, "sipshardctl: %s\n", err);
		return rc ? EXIT_USAGE : 0;
	}
	struct config *cfg = malloc(sizeof(*cfg)); /* large: not on the stack */
	if (!cfg) {
		fprintf(stderr, "sipshardctl: out of memory\n");
		return EXIT_USAGE;
	}
	rc = config_load_default(cfg, err, sizeof(err));
	if (rc == 0)
		snprintf(out, cap, "%s", cfg->management_socket);
	else
		fprintf(stderr, "sipshardctl: %s\n", err);
	free(cfg);
	return rc ? EXIT_USAGE : 0;
}

/* The wait for the final status the operator asks the daemon for (--wait,
 * or the daemon's default): info, message and refer only. */
static long send_wait_ms(const struct cli *cli)
{
	return !cli->sends ? 0 : cli->wait_ms < 0 ? MGMT_WAIT_DEFAULT_MS : cli->wait_ms;
}

/* The ms left until deadline (CLOCK_MONOTONIC), rounded up; 0 once it is past. */
static long ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ns = (long long)(deadline->tv_sec - now.tv_sec) * 1000000000LL +
		       (deadline->tv_nsec - now.tv_nsec);
	return ns > 0 ? (long)((ns + 999999) / 1000000) : 0;
}

/* Waits until fd is ready for events or deadline passes: 1 when ready, 0
 * when the deadline passed, -1 (errno set) on an error. */
static int wait_fd(int fd, short events, const struct timespec *deadline)
{
	for (;;) {
		long left = ms_left(deadline);
		if (!left)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Says that timeout_ms passed and how far the exchange got (exit 3). */
static int timed_out(const char *path, long timeout_ms, const char *how_far)
{
	fprintf(stderr, "sipshardctl: %s: no answer within %ld ms (%s)\n", path, timeout_ms,
		how_far);
	return EXIT_UNREACHED;
}

/* Sends the request and reads the whole answer (the daemon closes after it),
 * giving up timeout_ms after it began: one deadline bounds the connect, the
 * send and every read. A timeout per read (SO_RCVTIMEO) starts again with
 * each byte, and a socket answering one byte every 0.5 s kept `-t 1 stats`
 * running for 36 s. */
static int exchange(const char *path, long timeout_ms, const json_t *request, json_t **answer)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000};
	struct timespec deadline;
	int w;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += timeout_ms % 1000 * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "sipshardctl: %s: longer than a Unix socket path may be\n", path);
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* connect waits while the daemon's backlog is full, and a non-blocking
	 * connect to a Unix socket fails then (EAGAIN) instead of completing
	 * later: SO_SNDTIMEO bounds that wait, set to the whole time, which is
	 * what is left of it now (it fails with EAGAIN too when it runs out) */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc = fd < 0 ? -1 : setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (rc == 0)
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc == 0)
		rc = fcntl(fd, F_SETFL, O_NONBLOCK);
	if (rc != 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		if (err == EAGAIN)
			return timed_out(path, timeout_ms,
					 "the daemon took no connection: nothing was sent");
		fprintf(stderr, "sipshardctl: %s: %s%s\n", path, strerror(err),
			err == ENOENT || err == ECONNREFUSED ? " (is sipshardd running?)" : "");
		return EXIT_UNREACHED;
	}
	char *req = json_dumps(request, JSON_COMPACT);
	size_t n = req ? strlen(req) : 0, off = 0;
	if (req)
		req[n++] = '\n'; /* over the NUL: the line ends the request */
	while (req && off < n) {
		w = wait_fd(fd, POLLOUT, &deadline);
		if (w == 0) {
			free(req);
			close(fd);
			return timed_out(
			    path, timeout_ms,
			    "the request was not all sent: the daemon did not act on it");
		}
		ssize_t r = w < 0 ? -1 : send(fd, req + off, n - off, MSG_NOSIGNAL);
		if (r >= 0)
			off += (size_t)r;
		else if (errno != EINTR && errno != EAGAIN)
			break; /* EPIPE and ECONNRESET included: see below */
	}
	/* a daemon with no room for us answers "busy" and closes before it
	 * reads: that answer, already here, is read below all the same */
	if (!req || (off < n && errno != EPIPE && errno != ECONNRESET)) {
		fprintf(stderr, "sipshardctl: %s: cannot send: %s\n", path,
			req ? strerror(errno) : "out of memory");
		free(req);
		close(fd);
		return EXIT_UNREACHED;
	}
	free(req);
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			fprintf(stderr, "sipshardctl: out of memory\n");
			close(fd);
			return EXIT_UNREACHED;
		}
		/* before each read, so that an answer still coming when the time
		 * is up is given up on too */
		w = wait_fd(fd, POLLIN, &deadline);
		if (w == 0) {
			free(buf);
			close(fd);
			return timed_out(path, timeout_ms,
					 "the request was sent: the daemon may have acted on it");
		}
		ssize_t r = w < 0 ? -1 : read(fd, buf + len, cap - len);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "sipshardctl: %s: %s\n", path, strerror(errno));
			free(buf);
			close(fd);
			return EXIT_UNREACHED;
		}
		len += (size_t)r;
		if (len == cap) {
			char *b = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!b)
				free(buf);
			buf = b;
			cap *= 2;
		}
	}
	close(fd);
	json_error_t jerr;
	*answer = json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (!*answer || !json_is_object(*answer)) {
		fprintf(stderr, "sipshardctl: %s: the answer is not a JSON object (%s)\n", path,
			*answer ? "another type" : jerr.text);
		json_decref(*answer);
		return EXIT_UNREACHED;
	}
	return 0;
}

static void print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
}

static const char *str_member(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "?";
}

static double seconds_member(const json_t *o, const char *key)
{
	return (double)json_integer_value(json_object_get(o, key)) / 1000.0;
}

/* o's "status" member as text: the number, a word ("lost": a restart came
 * before the final), or none when it is null. */
static void status_text(const json_t *o, const char *none, char *out, size_t cap)
{
	const json_t *st = json_object_get(o, "status");

	if (json_is_integer(st))
		snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(st));
	else if (json_is_string(st))
		snprintf(out, cap, "%s", json_string_value(st));
	else
		snprintf(out, cap, "%s", none);
}

/* info, message, refer: where it went and its final status. */
static void print_sent(const struct cli *cli, const json_t *answer)
{
	json_int_t sent = json_integer_value(json_object_get(answer, "sent"));
	json_int_t answered = json_integer_value(json_object_get(answer, "answered"));
	json_int_t untracked = json_integer_value(json_object_get(answer, "untracked"));
	char none[128], status[128];

	/* why there is no one final status to print, when there is none */
	if (cli->wait_ms == 0)
		snprintf(none, sizeof(none), "not waited for");
	else if (!answered && untracked)
		snprintf(none, sizeof(none),
			 "none within %ld ms (%" JSON_INTEGER_FORMAT
			 " call(s) not waited for: the daemon was out of memory)",
			 send_wait_ms(cli), untracked);
	else if (!answered)
		snprintf(none, sizeof(none), "none within %ld ms", send_wait_ms(cli));
	else if (answered < sent)
		snprintf(none, sizeof(none),
			 "from %" JSON_INTEGER_FORMAT " call(s) only (see --json)", answered);
	else
		snprintf(none, sizeof(none), "not the same for every call (see --json)");
	status_text(answer, none, status, sizeof(status));
	if (!strcmp(status, "call_ended"))
		snprintf(status, sizeof(status), "none, the call ended before a final status came");
	printf("sent %s to the %s of %" JSON_INTEGER_FORMAT " call(s) with Call-ID %s: %s\n",
	       str_member(answer, "method"), cli->to, sent, cli->call_id, status);
}

/* One line per dialog: where it is, how old, and each leg's Call-ID and peer. */
static void print_dialogs(const struct cli *cli, const json_t *answer)
{
	const json_t *list = json_object_get(answer, "dialogs");
	size_t i;
	json_t *dl;

	if (!strcmp(cli->command, "bye"))
		printf("ended %" JSON_INTEGER_FORMAT " call(s) with Call-ID %s\n",
		       json_integer_value(json_object_get(answer, "ended")), cli->call_id);
	else
		printf("%" JSON_INTEGER_FORMAT " dialog(s) up, %" JSON_INTEGER_FORMAT
		       " matched, %zu shown\n",
		       json_integer_value(json_object_get(answer, "dialogs_up")),
		       json_integer_value(json_object_get(answer, "matched")),
		       json_array_size(list));
	json_array_foreach(list, i, dl)
	{
		const json_t *a = json_object_get(dl, "caller"), *b = json_object_get(dl, "callee");
		const json_t *sent = json_object_get(dl, "last_sent");
		char last[64] = "";
		char status[16];
		if (json_is_object(sent)) {
			status_text(sent, "no answer yet", status, sizeof(status));
			snprintf(last, sizeof(last), "  sent %s to %s: %s",
				 str_member(sent, "method"), str_member(sent, "to"), status);
		}
		/* the transfer's progress: the status of the side's call to the target */
		const json_t *xfer = json_object_get(dl, "transfer");
		char transfer[64] = "";
		if (json_is_object(xfer)) {
			status_text(xfer, "no NOTIFY yet", status, sizeof(status));
			snprintf(transfer, sizeof(transfer), "  transfer of %s: %s (%s)",
				 str_member(xfer, "to"), status, str_member(xfer, "state"));
		}
		/* the session timer (RFC 4028): when it runs out unless refreshed */
		char session[48] = "";
		if (json_is_integer(json_object_get(dl, "session_expires_in_ms")))
			snprintf(session, sizeof(session), " session timer %.1f s",
				 seconds_member(dl, "session_expires_in_ms"));
		/* the in-dialog keep-alive: rounds a side left unanswered in a row */
		char keepalive[64] = "";
		json_int_t ka_a = json_integer_value(json_object_get(a, "keepalive_unanswered"));
		json_int_t ka_b = json_integer_value(json_object_get(b, "keepalive_unanswered"));
		if (ka_a || ka_b)
			snprintf(keepalive, sizeof(keepalive),
				 "  keep-alive unanswered: caller %" JSON_INTEGER_FORMAT
				 ", callee %" JSON_INTEGER_FORMAT,
				 ka_a, ka_b);
		printf("worker %" JSON_INTEGER_FORMAT " %-9s age %.1f s idle %.1f s%s  caller %s "
		       "(%s)  callee %s (%s)%s%s%s\n",
		       json_integer_value(json_object_get(dl, "worker")), str_member(dl, "state"),
		       seconds_member(dl, "age_ms"), seconds_member(dl, "idle_ms"), session,
		       str_member(a, "call_id"), str_member(a, "peer"), str_member(b, "call_id"),
		       str_member(b, "peer"), last, transfer, keepalive);
	}
}

/* The bytes request takes on the management socket: compact JSON and its
 * newline, as exchange sends it (0 when out of memory). */
static size_t request_line_len(const json_t *request)
{
	char *line = json_dumps(request, JSON_COMPACT);
	size_t len = line ? strlen(line) + 1 : 0;
	free(line);
	return len;
}

int main(int argc, char **argv)
{
	struct cli cli = {0};
	char path[512];
	json_t *answer = NULL;
	int rc;

	rc = parse_cli(argc, argv, &cli);
	if (rc)
		return rc;
	rc = socket_path(&cli, path, sizeof(path));
	if (rc)
		return rc;
	json_t *request = json_pack("{s:s}", "command", cli.command);
	if (request && cli.call_id)
		json_object_set_new(request, "call_id", json_string(cli.call_id));
	if (request && cli.limit)
		json_object_set_new(request, "limit", json_integer(cli.limit));
	if (request && cli.to)
		json_object_set_new(request, "to", json_string(cli.to));
	if (request && cli.ctype)
		json_object_set_new(request, "content_type", json_string(cli.ctype));
	if (request && cli.target)
		json_object_set_new(request, "target", json_string(cli.target));
	if (request && cli.wait_ms >= 0)
		json_object_set_new(request, "wait_ms", json_integer(cli.wait_ms));
	if (request && cli.body)
		json_object_set_new(request, "body", json_string(cli.body));
	if (!request || (cli.call_id && !json_object_get(request, "call_id")) ||
	    (cli.ctype && !json_object_get(request, "content_type")) ||
	    (cli.body && !json_object_get(request, "body"))) {
		fprintf(stderr, "sipshardctl: %s\n",
			request ? "the Call-ID, type or body is not valid UTF-8" : "out of memory");
		json_decref(request);
		return EXIT_USAGE;
	}
	/* the daemon reads a request of MGMT_REQUEST_MAX bytes at most, and
	 * refuses a longer one with a limit that names no argument: a body of
	 * 1024 control bytes, each written \u00XX, makes one of 6 KiB */
	size_t line_len = request_line_len(request);
	if (line_len > MGMT_REQUEST_MAX) {
		/* --body when the rest fits without it; else the Call-ID, --type
		 * or --target is what is long, and the command is named */
		const char *what = cli.command;
		if (cli.body) {
			json_t *rest = json_copy(request);
			if (rest && !json_object_del(rest, "body") &&
			    request_line_len(rest) <= MGMT_REQUEST_MAX)
				what = "--body";
			json_decref(rest);
		}
		fprintf(
		    stderr,
		    "sipshardctl: %s: expected a request of at most %d bytes, got %zu once written "
		    "as JSON (each control byte takes 6)\n",
		    what, MGMT_REQUEST_MAX, line_len);
		json_decref(request);
		return EXIT_USAGE;
	}
	/* -t is what the daemon may take on top of the wait asked of it: with
	 * -t 1 --wait 1500 the answer, due after 1.5 s, came after sipshardctl
	 * had given up and said no daemon was reached (exit 3), the INFO sent */
	rc = exchange(path, cli.timeout_s * 1000 + send_wait_ms(&cli), request, &answer);
	json_decref(request);
	if (rc)
		return rc;
	if (cli.json)
		print_json(answer);
	if (!json_is_true(json_object_get(answer, "ok"))) {
		const char *why = json_string_value(json_object_get(answer, "error"));
		fprintf(stderr, "sipshardctl: %s: %s\n", cli.command, why ? why : "refused");
		json_decref(answer);
		return EXIT_REFUSED;
	}
	if (!cli.json) {
		if (!strcmp(cli.command, "reload")) {
			size_t i;
			json_t *w;
			printf("reloaded %s\n",
			       json_string_value(json_object_get(answer, "file")) ?: "?");
			json_array_foreach(json_object_get(answer, "warnings"), i, w)
			    printf("warning: %s\n", json_string_value(w));
		} else if (!strcmp(cli.command, "disable") || !strcmp(cli.command, "enable")) {
			printf("%s %s: %s; %" JSON_INTEGER_FORMAT " call(s) on it\n",
			       cli.command[0] == 'd' ? "disabled" : "enabled",
			       str_member(answer, "address"),
			       cli.command[0] == 'd' ? "new calls skip it"
						     : "new calls may take it",
			       json_integer_value(json_object_get(answer, "calls")));
		} else if (!strcmp(cli.command, "drain")) {
			printf("%s: %" JSON_INTEGER_FORMAT " call(s) up; sipshardd stops when "
			       "they end, or in %" JSON_INTEGER_FORMAT " s\n",
			       json_is_true(json_object_get(answer, "already_draining"))
				   ? "already draining"
				   : "draining",
			       json_integer_value(json_object_get(answer, "calls_up")),
			       json_integer_value(json_object_get(answer, "drain_s")));
		} else if (!strcmp(cli.command, "dialogs") || !strcmp(cli.command, "bye")) {
			print_dialogs(&cli, answer);
		} else if (!strcmp(cli.command, "info") || !strcmp(cli.command, "message") ||
			   !strcmp(cli.command, "refer")) {
			print_sent(&cli, answer);
		} else {
			print_json(json_object_get(answer, cli.command));
		}
	}
	json_decref(answer);
	return 0;
}
