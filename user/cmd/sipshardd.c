/*
 * sipshardd - the SBC daemon: fast-path workers plus the controller.
 *
 * Owns: the command line, loading the configuration, signals. Everything else
 * is in user/daemon/.
 */
#include <errno.h>
#include <jansson.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/cli.h"
#include "ctl/config.h"
#include "ctl/policy.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "net/udp.h"

static const char usage_text[] =
    "usage: sipshardd [OPTIONS]\n"
    "SIP back-to-back user agent with a sharded in-dialog fast path.\n"
    "\n"
    "  -c, --config FILE      JSON configuration (default: the embedded one:\n"
    "                         listen 127.0.0.1:5060, route every call to 127.0.0.1:5080)\n"
    "      --check-config     print the effective configuration as JSON and exit;\n"
    "                         on an error print the key path and the problem, exit 1\n"
    "  -w, --workers N        fast-path workers, 1-64 (default: config, else one per CPU)\n"
    "      --no-bpf           do not load the BPF steering program (userspace handoff)\n"
    "      --no-uring         use recvmmsg/sendmmsg instead of io_uring\n"
    "  -s, --stats-file PATH  write statistics as JSON to PATH every second and at exit\n"
    "  -l, --log-level LEVEL  error, warn, info or debug (default: config, else info)\n"
    "      --discard-dialogs  start with no calls: remove the shard table files that\n"
    "                         a previous run left in run_dir (see below)\n"
    "  -h, --help             print this text\n"
    "\n"
    "The management socket (config key management_socket) answers sipshardctl:\n"
    "stats, targets, registrations, disable, enable, config, reload, drain, dialogs,\n"
    "bye, info, message and refer (sipshardctl --help).\n"
    "\n"
    "Signals: SIGTERM drains: new INVITEs and OPTIONS get 503 while the calls that are\n"
    "up go on, and the daemon stops when the last one ends or timers.drain_s (30 s)\n"
    "passes. SIGINT, or a second SIGTERM, stops at once. SIGHUP reloads the --config file:\n"
    "ACL, routes, limits, out-of-dialog answers and log level apply to new calls at\n"
    "once (calls in progress still count); a key that shapes the process (listen,\n"
    "workers, capacity, timers...) is logged and keeps its running value until the\n"
    "next start; a file that fails to load changes nothing and is logged.\n"
    "\n"
    "Restarts: with persist_dialogs (the default), each worker's dialogs live in a file\n"
    "in run_dir (shard-N.tbl, and shard-N.heads for the requests in flight whose\n"
    "response lines are too long for their record), so a daemon that is killed or\n"
    "stopped with SIGINT and\n"
    "started again with the same workers and capacity keeps relaying the calls that\n"
    "were up, and the calls still setting up go on (run_dir/setups.tbl; one written\n"
    "for another capacity.setups is dropped with a warning). A start that cannot take\n"
    "a file over (other capacities, fewer workers) stops with an error naming it.\n"
    "\n"
    "Exit status: 0 stopped; 1 the configuration was refused or the daemon could not\n"
    "start (the error is printed); 2 bad usage.\n";

struct cli {
	const char *config;
	bool check;
	long workers;
	bool no_bpf, no_uring;
	const char *stats_file;
	const char *log_level;
	bool discard_dialogs;
};

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 'C'},
	    {"workers", required_argument, NULL, 'w'},
	    {"no-bpf", no_argument, NULL, 'B'},
	    {"no-uring", no_argument, NULL, 'U'},
	    {"stats-file", required_argument, NULL, 's'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"discard-dialogs", no_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:w:s:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cli->config = optarg;
			break;
		case 'C':
			cli->check = true;
			break;
		case 'w':
			if (cli_long(optarg, 1, SHARD_MAX_WORKERS, &cli->workers)) {
				fprintf(stderr,
					"sipshardd: --workers: expected a number from 1 to %d, got "
					"'%s'\n",
					SHARD_MAX_WORKERS, optarg);
				return 2;
			}
			break;
		case 'B':
			cli->no_bpf = true;
			break;
		case 'U':
			cli->no_uring = true;
			break;
		case 's':
			cli->stats_file = optarg;
			break;
		case 'l':
			/* checked with the file's, before --check-config */
			cli->log_level = optarg;
			break;
		case 'D':
			cli->discard_dialogs = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sipshardd: unexpected argument '%s'\n%s", argv[optind],
			usage_text);
		return 2;
	}
	return 0;
}

/* What the command line says wins over the file, at start and at every
 * reload, and is what --check-config and sipshardctl config show. */
static void apply_cli(struct config *cfg, const struct cli *cli)
{
	/* checked by main (log_set_level_name) before anything uses it */
	if (cli->log_level)
		snprintf(cfg->log_level, sizeof(cfg->log_level), "%s", cli->log_level);
	if (cli->workers)
		cfg->workers = (unsigned)cli->workers;
	if (cli->no_bpf)
		cfg->bpf = false;
	if (cli->no_uring)
		cfg->io_uring = false;
}

/* What the main thread needs for reloads (reload) and name refreshes
 * (refresh_names). */
struct reload_ctx {
	struct daemon *d;
	const struct cli *cli;
	const struct config *running;
	/* the configuration of the policy in force, with the addresses its
	 * target names resolved to; resolved again at next_refresh_ms */
	struct config *current;
	uint64_t next_refresh_ms;
};

/* What each route target written as a name without a port became at this
 * load (its SRV records, or its own address at port 5060), one log line
 * each: the configuration prints the name as written. */
static void log_srv_targets(const struct config *c)
{
	char addr[UDP_ADDR_STRLEN];
	for (unsigned i = 0; i < c->nroutes; i++)
		for (unsigned t = 0; t < c->routes[i].ntargets; t++) {
			const struct config_target *ct = &c->routes[i].targets[t];
			if (!ct->domain[0])
				continue;
			udp_format_addr((const struct sockaddr *)&ct->addr, addr, sizeof(addr));
			if (ct->no_service)
				log_info("route %s: %s: its SRV records say \".\" (no SIP over UDP "
					 "there): no target of it in service",
					 c->routes[i].name, ct->domain);
			else if (ct->srv)
				log_info("route %s: %s: SRV record %s (%s), priority %u, weight %u",
					 c->routes[i].name, ct->domain, ct->text, addr,
					 ct->srv_priority, ct->weight);
			else
				log_info("route %s: %s: no SRV records: its address, %s",
					 c->routes[i].name, ct->domain, addr);
		}
	for (unsigned i = 0; i < c->nregistrations; i++) {
		const struct config_registration *g = &c->registrations[i];
		for (unsigned t = 0; t < g->nregistrar_srv; t++) {
			const struct config_target *ct = &g->registrar_srv[t];
			if (ct->no_service) {
				log_info("registration %s: registrar %s: its SRV records say \".\" "
					 "(no SIP over UDP there): no REGISTER sent",
					 g->name, ct->domain);
				continue;
			}
			udp_format_addr((const struct sockaddr *)&ct->addr, addr, sizeof(addr));
			log_info("registration %s: registrar %s: %s%s (%s)%s", g->name, ct->domain,
				 ct->srv ? "SRV record " : "no SRV records: ", ct->text, addr,
				 t == 0 ? ", tried first" : "");
		}
	}
}

/* The next time target and registrar names are resolved again:
 * dns_refresh_s from now, when the configuration in force has any. */
static void schedule_refresh(struct reload_ctx *x)
{
	bool names = false;
	const struct config *c = x->current;
	for (unsigned i = 0; i < c->nroutes; i++)
		for (unsigned t = 0; t < c->routes[i].ntargets; t++)
			/* a name whose records say "." has no address, and waits
			 * for records again */
			names |=
			    c->routes[i].targets[t].by_name || c->routes[i].targets[t].no_service;
	/* registrars too, when no route target has a name */
	for (unsigned i = 0; i < c->nregistrations; i++)
		names |= c->registrations[i].registrar.by_name ||
			 c->registrations[i].registrar.domain[0];
	x->next_refresh_ms =
	    names && c->dns_refresh_s ? clock_mono_ms() + 1000ull * c->dns_refresh_s : UINT64_MAX;
}

/* The targets a policy leaves out (config_in_service) of some route. */
struct left_out {
	struct config_left_out e[CONFIG_MAX_ROUTES * CONFIG_MAX_TARGETS];
	int n;
};

/* What of configuration c (x->current's, as loaded or refreshed) goes into
 * service (config_in_service), as a configuration of its own (NULL: out of
 * memory), and what it leaves out, in *left. */
static struct config *in_service(const struct config *c, struct left_out *left)
{
	struct config *svc = malloc(sizeof(*svc));
	left->n = 0;
	if (svc)
		left->n = config_in_service(c, svc, left->e, sizeof(left->e) / sizeof(left->e[0]));
	return svc;
}

/* Each target left out for being at the address of an earlier one of its
 * route, logged (prefixed with what found it); those of a name whose SRV
 * records say "." were said when they changed. */
static void say_left_out(const struct left_out *left, const char *what)
{
	char addr[UDP_ADDR_STRLEN];
	for (int i = 0; i < left->n && (size_t)i < sizeof(left->e) / sizeof(left->e[0]); i++) {
		const struct config_left_out *e = &left->e[i];
		if (!e->same)
			continue;
		udp_format_addr((const struct sockaddr *)&e->target->addr, addr, sizeof(addr));
		log_warn("%s: route %s: target %s is at %s, as target %s before it is: not used "
			 "while so (one target per address)",
			 what, e->route->name, e->target->text, addr, e->same->text);
	}
}

/* policy_create of what of c goes into service (in_service); what it left
 * out is logged. */
static int policy_in_service(struct policy **pol, const struct config *c, const char *what,
			     char *err, size_t errlen)
{
	struct left_out left;
	struct config *svc = in_service(c, &left);
	if (!svc) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = policy_create(pol, svc, err, errlen);
	if (rc == 0)
		say_left_out(&left, what);
	config_free(svc);
	free(svc);
	return rc;
}

/* dns_refresh_s: the target and registrar names of the configuration in
 * force resolved again; when one resolves to another address, a policy with
 * it is put in service (the calls of the old address go on there; new ones
 * go to the new; a registration registers again there). A name that no
 * longer resolves keeps its address, with a warning. Two targets of a route
 * at one address: the first in order is used, the other left out with a
 * warning at each refresh while so; a name whose SRV records say "." has
 * its targets out of service until they come back (policy_in_service). */
static void refresh_names(struct reload_ctx *x)
{
	const struct config_target *changed[8];
	char err[512], pol_err[512], was[UDP_ADDR_STRLEN], now[UDP_ADDR_STRLEN];
	struct config *next = malloc(sizeof(*next));

	schedule_refresh(x);
	if (!next)
		return;
	memcpy(next, x->current, sizeof(*next));
	struct config_srv_change srv_changed[CONFIG_MAX_ROUTES + CONFIG_MAX_REGISTRATIONS];
	const size_t srv_cap = sizeof(srv_changed) / sizeof(srv_changed[0]);
	int m = config_refresh_srv(next, srv_changed, srv_cap, err, sizeof(err));
	if (err[0])
		log_warn("dns_refresh_s: %s; keeping its last targets", err);
	int n = config_resolve_names(next, changed, 8, err, sizeof(err));
	if (err[0])
		log_warn("dns_refresh_s: %s; keeping its last address", err);
	/* what goes into service; what it leaves out is said below, at each
	 * refresh while so, whether or not anything changed now */
	struct left_out left;
	struct config *svc = in_service(next, &left);
	struct policy *pol = NULL;
	bool in_force = true; /* next is the configuration in service */
	if (n + m > 0 && (!svc || policy_create(&pol, svc, pol_err, sizeof(pol_err)) != 0)) {
		log_error("dns_refresh_s: new addresses not put in service: %s",
			  svc ? pol_err : "out of memory");
		n = m = 0;
		in_force = false;
	}
	if (svc) {
		config_free(svc);
		free(svc);
	}
	for (int i = 0; i < m && (size_t)i < srv_cap; i++) {
		bool reg = !strcmp(srv_changed[i].kind, "registration");
		if (srv_changed[i].no_service && reg)
			log_warn("dns_refresh_s: registration %s: _sip._udp.%s says no SIP over "
				 "UDP (its SRV records are all \".\", RFC 2782): no REGISTER is "
				 "sent until records come back",
				 srv_changed[i].name, srv_changed[i].no_service);
		else if (srv_changed[i].no_service)
			log_warn("dns_refresh_s: %s %s: _sip._udp.%s says no SIP over UDP (its "
				 "SRV records are all \".\", RFC 2782): its targets are out of "
				 "service; %u target(s) now",
				 srv_changed[i].kind, srv_changed[i].name,
				 srv_changed[i].no_service, srv_changed[i].ntargets);
		else
			log_info("dns_refresh_s: %s %s: the SRV records changed: %u target(s) now",
				 srv_changed[i].kind, srv_changed[i].name, srv_changed[i].ntargets);
	}
	if (m > 0)
		log_srv_targets(next);
	if (n + m > 0) {
		for (int i = 0; i < n && i < 8; i++) {
			/* the same target in the configuration it replaces */
			const struct config_target *old =
			    (const void *)((const char *)x->current +
					   ((const char *)changed[i] - (const char *)next));
			udp_format_addr((const struct sockaddr *)&old->addr, was, sizeof(was));
			udp_format_addr((const struct sockaddr *)&changed[i]->addr, now,
					sizeof(now));
			bool registrar =
			    (const void *)changed[i] >= (const void *)next->registrations &&
			    (const void *)changed[i] <
				(const void *)(next->registrations + CONFIG_MAX_REGISTRATIONS);
			log_info("dns_refresh_s: %s %s resolves to %s now (was %s)",
				 registrar ? "registrar" : "target", changed[i]->text, now, was);
		}
		daemon_set_policy(x->d, pol);
		memcpy(x->current, next, sizeof(*next));
	}
	if (in_force)
		say_left_out(&left, "dns_refresh_s");
	free(next);
}

/* A refused reload: logged, counted and reported; returns rc. */
static int reload_refused(struct reload_ctx *x, json_t *report, int rc, const char *why)
{
	log_error("reload refused, keeping the running configuration: %s", why);
	atomic_fetch_add(&x->d->reload_failures, 1);
	json_object_set_new(report, "error", json_string(why));
	return rc;
}

/* A reload (SIGHUP, and sipshardctl reload, which raises it), on the main
 * thread: loads the file again and hands the new policy to the controller.
 * running is the configuration the process started with; it is not changed
 * (the threads read it), so restart-only keys are always compared with the
 * values the process really runs with. */
static int reload(struct reload_ctx *x, json_t *report)
{
	const char *file = x->cli->config;
	char err[512];

	if (!file)
		return reload_refused(x, report, -ENOENT,
				      "running on the embedded configuration (no --config): "
				      "there is no file to reload");
	json_object_set_new(report, "file", json_string(file));
	struct config *next = malloc(sizeof(*next));
	if (!next)
		return reload_refused(x, report, -ENOMEM, "out of memory");
	int rc = config_load_file(next, file, err, sizeof(err));
	if (rc) {
		free(next);
		return reload_refused(x, report, rc, err);
	}
	apply_cli(next, x->cli);
	const char *changed[32];
	json_t *warnings = json_array();
	size_t n = config_restart_changes(x->running, next, changed, 32);
	for (size_t i = 0; i < n && i < 32; i++) {
		char w[160];
		snprintf(w, sizeof(w), "%s changed in %s; it takes effect at the next start",
			 changed[i], file);
		log_warn("reload: %s", w);
		json_array_append_new(warnings, json_string(w));
	}
	json_object_set_new(report, "warnings", warnings);
	sa_family_t file_family = next->listen_addr.ss_family;
	config_keep_restart_keys(next, x->running);
	/* The targets were resolved and checked for the file's listen, which
	 * waits for the next start: names are resolved again for the family of
	 * the one in service (a name with both A and AAAA records then takes
	 * the one it can reach), and every target must be reachable from it. */
	if (next->listen_addr.ss_family != file_family) {
		char why[256];
		config_resolve_names(next, NULL, 0, why, sizeof(why));
		config_refresh_srv(next, NULL, 0, why, sizeof(why));
	}
	int k = snprintf(err, sizeof(err), "%s: ", file);
	if (k < 0 || (size_t)k >= sizeof(err))
		k = 0;
	if (config_check_reachable(next, err + k, sizeof(err) - (size_t)k) != 0) {
		size_t e = strlen(err);
		snprintf(err + e, sizeof(err) - e, "; listen takes effect at the next start");
		config_free(next);
		free(next);
		return reload_refused(x, report, -EINVAL, err);
	}

	struct policy *pol = NULL;
	rc = policy_in_service(&pol, next, "reload", err, sizeof(err));
	if (rc) {
		config_free(next);
		free(next);
		return reload_refused(x, report, rc, err);
	}
	/* validated by the loader, or --log-level's (apply_cli) */
	log_set_level_name(next->log_level);
	log_info("reloaded %s", file);
	log_srv_targets(next);
	daemon_set_policy(x->d, pol);
	memcpy(x->current, next, sizeof(*next));
	schedule_refresh(x);
	atomic_fetch_add(&x->d->reloads, 1);
	config_free(next); /* the policy keeps its own copy */
	free(next);
	return 0;
}

/* The report goes to the sipshardctl reload that raised the signal, if one
 * did. */
static void reload_on_signal(struct reload_ctx *x)
{
	bool requested = daemon_reload_request(x->d);
	json_t *report = json_object();
	if (report) {
		int rc = reload(x, report);
		json_object_set_new(report, "ok", json_boolean(rc == 0));
		/* a file refused changes nothing, but log rotation's SIGHUP still
		 * moves the records to the new file (a policy taken does too) */
		if (rc != 0)
			daemon_reopen_cdr(x->d);
	} else {
		report = json_pack("{s:b, s:s}", "ok", 0, "error", "out of memory");
	}
	daemon_reload_answer(x->d, requested, report);
}

/* SIGTERM: new calls are refused (503) while the calls that are up go on,
 * until the last one ends or drain_s passes; SIGINT or another SIGTERM stops
 * at once. Reloads still work meanwhile. */
static void drain(struct reload_ctx *x, const sigset_t *set)
{
	struct daemon *d = x->d;
	const uint32_t drain_s = x->running->timers.drain_s;
	const uint64_t deadline = clock_mono_ms() + drain_s * 1000ull;
	const struct timespec tick = {0, 100 * 1000 * 1000};

	if (!drain_s)
		return;
	atomic_store(&d->draining, true);
	log_info("draining: new calls get 503; %llu call(s) up; stopping when they end or in "
		 "%u s (SIGINT or SIGTERM again: now)",
		 (unsigned long long)atomic_load(&d->calls_up), drain_s);
	for (;;) {
		int sig = sigtimedwait(set, NULL, &tick);
		if (sig == SIGHUP) {
			reload_on_signal(x);
		} else if (sig == SIGTERM || sig == SIGINT) {
			log_info("draining cut short by a second signal: %llu call(s) up",
				 (unsigned long long)atomic_load(&d->calls_up));
			return;
		}
		/* the controller publishes its count every loop (10 ms at most) */
		uint64_t up = atomic_load(&d->calls_up);
		if (up == 0) {
			log_info("drained: every call ended");
			return;
		}
		if (clock_mono_ms() >= deadline) {
			log_warn("drain_s (%u s) passed with %llu call(s) up: stopping", drain_s,
				 (unsigned long long)up);
			return;
		}
	}
}

/* Waits for signals (blocked in every thread) until one asks to stop, and
 * resolves target names again when their time comes. */
static void serve_signals(struct reload_ctx *x, const sigset_t *set)
{
	const struct timespec second = {1, 0};

	for (;;) {
		int sig = sigtimedwait(set, NULL, &second);
		if (clock_mono_ms() >= x->next_refresh_ms)
			refresh_names(x);
		if (sig == SIGHUP) {
			reload_on_signal(x);
		} else if (sig == SIGTERM) {
			drain(x, set);
			return;
		} else if (sig == SIGINT) {
			return;
		}
	}
}

int main(int argc, char **argv)
{
	struct cli cli = {0};
	struct config cfg;
	char err[512];
	int rc;

	rc = parse_cli(argc, argv, &cli);
	if (rc)
		return rc;
	rc = cli.config ? config_load_file(&cfg, cli.config, err, sizeof(err))
			: config_load_default(&cfg, err, sizeof(err));
	if (rc) {
		/* file errors already start with the file name */
		fprintf(stderr, "sipshardd: %s%s\n", cli.config ? "" : "embedded config: ", err);
		return 1;
	}
	if (cli.log_level && log_set_level_name(cli.log_level) != 0) {
		/* the file's was checked by the loader: this is the flag's */
		fprintf(stderr,
			"sipshardd: --log-level: expected error, warn, info or debug, got '%s'\n",
			cli.log_level);
		config_free(&cfg);
		return 2;
	}
	apply_cli(&cfg, &cli);
	log_set_level_name(cfg.log_level);
	if (cli.check) {
		char *s = config_to_json(&cfg);
		if (s)
			puts(s);
		free(s);
		config_free(&cfg);
		return 0;
	}
	if (cfg.log_to_syslog) {
		log_use_syslog();
		log_start_errors(true);
	}

	struct policy *pol = NULL;
	rc = policy_create(&pol, &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "sipshardd: policy: %s\n", err);
		return 1;
	}
	static struct daemon d;
	d.cfg = &cfg;
	d.pol = pol;
	d.nworkers = cfg.workers ? cfg.workers : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (d.nworkers > SHARD_MAX_WORKERS)
		d.nworkers = SHARD_MAX_WORKERS;
	d.stats_file = cli.stats_file;
	d.discard_dialogs = cli.discard_dialogs;
	struct reload_ctx rctx = {&d, &cli, &cfg, malloc(sizeof(cfg)), 0};
	if (!rctx.current) {
		fprintf(stderr, "sipshardd: out of memory\n");
		return 1;
	}
	memcpy(rctx.current, &cfg, sizeof(cfg));
	schedule_refresh(&rctx);
	d.reloadable = true;

	/* blocked before any thread starts, so that every thread inherits the mask
	 * and only serve_signals receives them */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = daemon_start(&d);
	if (rc) {
		log_error("cannot start: %s", strerror(-rc));
		daemon_stop(&d);
		free(rctx.current);
		return 1;
	}
	log_start_errors(false); /* it runs: syslog alone from here */
	log_info("listening on %s, advertising %s, %u workers", cfg.listen, cfg.advertise,
		 d.nworkers);
	log_srv_targets(&cfg);
	serve_signals(&rctx, &set);
	log_info("stopping");
	daemon_stop(&d);
	policy_destroy(d.pol); /* the one in service: a reload replaced pol */
	free(rctx.current);
	config_free(&cfg);
	return 0;
}
