/*
 * sipshardctl - the operator's command line to a running sipshardd, over its
 * management socket (wire format: user/daemon/mgmt.h).
 *
 * Owns: the command line, finding the socket, one request and printing its
 * answer. Does not own: what the commands do (the daemon).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/cli.h"
#include "ctl/config.h"

static const char usage_text[] =
    "usage: sipshardctl [OPTIONS] COMMAND\n"
    "Talks to a running sipshardd over its management socket.\n"
    "\n"
    "Commands:\n"
    "  stats     the statistics, as JSON (the document sipshardd --stats-file writes)\n"
    "  config    the configuration in service (after any reload), as JSON\n"
    "  reload    reload the daemon's --config file, as SIGHUP does, and print what\n"
    "            happened: reloaded FILE, and a warning per key that waits for a restart\n"
    "  drain     stop the daemon gracefully, as SIGTERM does: new calls get 503, and it\n"
    "            stops when the calls that are up end or timers.drain_s passes\n"
    "\n"
    "Options:\n"
    "  -s, --socket PATH   the management socket (default: management_socket of the\n"
    "                      embedded configuration for this user: RUN_DIR/sipshardd.sock)\n"
    "  -c, --config FILE   take management_socket from this configuration file\n"
    "  -t, --timeout SEC   give up after SEC seconds, 1-3600 (default 5)\n"
    "      --json          print the daemon's whole answer as JSON\n"
    "  -h, --help          print this text\n"
    "\n"
    "Exit status: 0 done; 1 the daemon refused (its reason is printed); 2 bad usage\n"
    "or configuration; 3 no daemon reached (no socket, refused, or no answer in time).\n";

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHED = 3 };

struct cli {
	const char *socket, *config, *command;
	long timeout_s;
	bool json;
};

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},  {"config", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'J'},
	    {"help", no_argument, NULL, 'h'},	       {NULL, 0, NULL, 0},
	};
	int o;

	cli->timeout_s = 5;
	while ((o = getopt_long(argc, argv, "s:c:t:h", opts, NULL)) != -1) {
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
		case 'J':
			cli->json = true;
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
	if (optind != argc - 1) {
		fprintf(stderr,
			"sipshardctl: expected one command (stats, config, reload or drain)\n%s",
			usage_text);
		return EXIT_USAGE;
	}
	cli->command = argv[optind];
	if (strcmp(cli->command, "stats") && strcmp(cli->command, "config") &&
	    strcmp(cli->command, "reload") && strcmp(cli->command, "drain")) {
		fprintf(stderr,
			"sipshardctl: unknown command '%s': expected stats, config, reload or "
			"drain\n",
			cli->command);
		return EXIT_USAGE;
	}
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
	struct config *cfg = malloc(sizeof(*cfg)); /* large: not on the stack */
	if (!cfg) {
		fprintf(stderr, "sipshardctl: out of memory\n");
		return EXIT_USAGE;
	}
	rc = cli->config ? config_load_file(cfg, cli->config, err, sizeof(err))
			 : config_load_default(cfg, err, sizeof(err));
	if (rc == 0 && !cfg->management_socket[0]) {
		snprintf(err, sizeof(err), "%s: management_socket is null: the daemon has none",
			 cli->config);
		rc = -ENOENT;
	}
	if (rc == 0)
		snprintf(out, cap, "%s", cfg->management_socket);
	else
		fprintf(stderr, "sipshardctl: %s\n", err);
	free(cfg);
	return rc ? EXIT_USAGE : 0;
}

/* Sends the request and reads the whole answer (the daemon closes after it). */
static int exchange(const char *path, long timeout_s, const char *command, json_t **answer)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = timeout_s};

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "sipshardctl: %s: longer than a Unix socket path may be\n", path);
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "sipshardctl: %s: %s%s\n", path, strerror(errno),
			errno == ENOENT || errno == ECONNREFUSED ? " (is sipshardd running?)" : "");
		if (fd >= 0)
			close(fd);
		return EXIT_UNREACHED;
	}
	char req[128];
	int n = snprintf(req, sizeof(req), "{\"command\": \"%s\"}\n", command);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		fprintf(stderr, "sipshardctl: %s: cannot send: %s\n", path, strerror(errno));
		close(fd);
		return EXIT_UNREACHED;
	}
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			fprintf(stderr, "sipshardctl: out of memory\n");
			close(fd);
			return EXIT_UNREACHED;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "sipshardctl: %s: %s\n", path,
				errno == EAGAIN ? "no answer in time" : strerror(errno));
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
	rc = exchange(path, cli.timeout_s, cli.command, &answer);
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
		} else if (!strcmp(cli.command, "drain")) {
			printf("draining: %" JSON_INTEGER_FORMAT
			       " call(s) up; sipshardd stops when "
			       "they end, or in %" JSON_INTEGER_FORMAT " s\n",
			       json_integer_value(json_object_get(answer, "calls_up")),
			       json_integer_value(json_object_get(answer, "drain_s")));
		} else {
			print_json(json_object_get(answer, cli.command));
		}
	}
	json_decref(answer);
	return 0;
}
