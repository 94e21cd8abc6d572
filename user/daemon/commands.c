/*
 * commands.c - the management socket's commands (mgmt.h's wire format): what
 * each command name does with its request, on the controller thread.
 *
 * Owns: dispatching a command by name, the answers of stats, targets,
 * registrations, config, disable and enable, starting a reload or a drain
 * (each by the signal the main thread already handles, SIGHUP or SIGTERM: one
 * path for the operator's signal and the command), refusing an unknown
 * command with the list of known ones, and the arguments and errors of all
 * of them but the commands on dialogs (dialogs.c). Does not own: the
 * socket, request framing and JSON parsing (mgmt.c), the statistics snapshot
 * (daemon.c) or the reload itself (the main thread, sipshardd.c).
 *
 * Kept apart from daemon.c, which starts threads and sockets, so that the
 * command path links into a fuzzer (tests/fuzz/fuzz_mgmt.c) with a daemon
 * that never started.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/register.h"
#include "net/udp.h"

/* sipshardctl targets: each target of the policy in force once, with the
 * routes that name it (as each writes it, and the max_calls, max_cps and
 * weight each gives it), the
 * calls on it now, whether new calls skip it as down (and the seconds left
 * of a 503's Retry-After, retry_after_s), the round trip of its
 * last OPTIONS answered (null before any), and how its INVITEs ended. */
static json_t *targets_command(struct daemon *d)
{
	struct ctl_target_info t[CONFIG_MAX_ROUTES * CONFIG_MAX_TARGETS];
	const struct config *pc = policy_config(d->pol);
	char addr[UDP_ADDR_STRLEN];
	json_t *all = json_array();

	size_t n = ctl_get_targets(d->ctl, t, sizeof(t) / sizeof(t[0]));
	for (size_t i = 0; all && i < n && i < sizeof(t) / sizeof(t[0]); i++) {
		json_t *routes = json_array();
		for (unsigned r = 0; routes && r < pc->nroutes; r++)
			for (unsigned k = 0; k < pc->routes[r].ntargets; k++) {
				const struct config_target *ct = &pc->routes[r].targets[k];
				if (ct->addr_len != t[i].len ||
				    memcmp(&ct->addr, &t[i].addr, t[i].len))
					continue;
				json_t *ref = json_pack("{s:s, s:s, s:I, s:I, s:I}", "route",
							pc->routes[r].name, "target", ct->text,
							"max_calls", (json_int_t)ct->max_calls,
							"max_cps", (json_int_t)ct->max_cps,
							"weight", (json_int_t)ct->weight);
				/* made from a name without a port: the name, and its SRV
				 * record's priority (null for the name's own address) */
				if (ref && ct->domain[0]) {
					json_object_set_new(ref, "domain", json_string(ct->domain));
					json_object_set_new(ref, "srv_priority",
							    ct->srv ? json_integer(ct->srv_priority)
								    : json_null());
				}
				json_array_append_new(routes, ref);
			}
		udp_format_addr((const struct sockaddr *)&t[i].addr, addr, sizeof(addr));
		json_array_append_new(
		    all,
		    json_pack("{s:s, s:o*, s:I, s:b, s:I, s:b, s:o*, s:I, s:I, s:I, s:I}",
			      "address", addr, "routes", routes, "calls", (json_int_t)t[i].calls,
			      "down", t[i].down, "retry_after_s", (json_int_t)t[i].retry_after_s,
			      "disabled", t[i].disabled, "options_rtt_ms",
			      t[i].rtt_ms >= 0 ? json_integer(t[i].rtt_ms) : json_null(), "invites",
			      (json_int_t)t[i].invites, "answered", (json_int_t)t[i].answered,
			      "rejected", (json_int_t)t[i].rejected, "unanswered",
			      (json_int_t)t[i].unanswered));
	}
	return all ? json_pack("{s:o}", "targets", all) : NULL;
}

/* sipshardctl disable|enable TARGET: TARGET as a route writes it (a name
 * in any letter case, its port in any spelling: config_target_named) or
 * the target's address in any spelling, as sipshardctl targets shows it or
 * not ("[0::1]:5080" is "[::1]:5080"). */
static json_t *target_admin_command(struct daemon *d, const json_t *request, bool disable)
{
	const char *want = json_string_value(json_object_get(request, "target"));
	const struct config *pc = policy_config(d->pol);
	char addr[UDP_ADDR_STRLEN];
	uint32_t calls = 0;

	if (!want)
		return json_pack("{s:b, s:s}", "ok", 0, "error",
				 "expected a target: IP:port, or name:port as a route writes it");
	for (unsigned r = 0; r < pc->nroutes; r++)
		for (unsigned t = 0; t < pc->routes[r].ntargets; t++) {
			const struct config_target *ct = &pc->routes[r].targets[t];
			if (!config_target_named(ct, want))
				continue;
			udp_format_addr((const struct sockaddr *)&ct->addr, addr, sizeof(addr));
			if (ctl_set_target_disabled(d->ctl, (const struct sockaddr *)&ct->addr,
						    ct->addr_len, disable, &calls) != 0)
				continue;
			log_info("target %s %s by the operator: %s (%u call(s) on it)", addr,
				 disable ? "disabled" : "enabled",
				 disable ? "new calls skip it" : "new calls may take it again",
				 calls);
			return json_pack("{s:s, s:b, s:I}", "address", addr, "disabled", disable,
					 "calls", (json_int_t)calls);
		}
	return json_pack("{s:b, s:s}", "ok", 0, "error",
			 "no route of the configuration in service has that target");
}

/* sipshardctl registrations: each registration of the policy in force, its
 * registrar (as written and as resolved), address of record, whether it
 * holds a binding and for how long yet, the last attempt's final status (0
 * before any, 408 for none), whether a REGISTER is in flight, when the
 * next attempt is due, and whether the last 2xx did not list our Contact
 * (contact_unlisted); then each one a reload removed (or pointed
 * elsewhere) whose binding is being unregistered, "unregistering" true. */
static json_t *registrations_command(struct daemon *d, uint64_t now)
{
	const struct reg_set *rs = ctl_registrations(d->ctl);
	char addr[UDP_ADDR_STRLEN];
	json_t *all = json_array();

	for (unsigned i = 0; all && i < rs->n + REG_LEAVING_MAX; i++) {
		const struct reg_entry *e = i < rs->n ? &rs->e[i] : &rs->leaving[i - rs->n];
		if (i >= rs->n && !e->in_flight)
			continue; /* a free slot */
		bool on = reg_is_registered(e, now);
		const struct config_target *to = reg_registrar(e);
		udp_format_addr((const struct sockaddr *)&to->addr, addr, sizeof(addr));
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:b, s:I}", "name",
				      e->cfg.name, "registrar", e->cfg.registrar.text, "address",
				      addr, "aor", e->cfg.aor, "registered", on, "expires_in_s",
				      (json_int_t)reg_expires_in_s(e, now), "last_status",
				      (json_int_t)e->last_status, "registering", e->in_flight,
				      "next_attempt_in_s",
				      (json_int_t)(e->in_flight || e->next_send <= now
						       ? 0
						       : (e->next_send - now + 999) / 1000));
		if (o)
			json_object_set_new(o, "unregistering", json_boolean(e->leaving));
		/* the last 2xx did not list our Contact (taken all the same) */
		if (o)
			json_object_set_new(o, "contact_unlisted",
					    json_boolean(e->contact_unlisted));
		/* a registrar by SRV: the record the REGISTERs go to now; none
		 * (null, and "no_service") while its records all say "." */
		if (o && e->cfg.nregistrar_srv)
			json_object_set_new(o, "registrar_record",
					    to->no_service ? json_null() : json_string(to->text));
		if (o && to->no_service) {
			json_object_set_new(o, "address", json_null());
			json_object_set_new(o, "no_service", json_true());
		}
		json_array_append_new(all, o);
	}
	return all ? json_pack("{s:o}", "registrations", all) : NULL;
}

json_t *commands_handle(void *arg, const char *command, const json_t *request)
{
	struct daemon *d = arg;

	if (strcmp(command, "stats") == 0)
		return json_pack("{s:o}", "stats", daemon_stats_json(d));
	if (strcmp(command, "targets") == 0)
		return targets_command(d);
	if (strcmp(command, "registrations") == 0)
		return registrations_command(d, clock_mono_ms());
	if (strcmp(command, "config") == 0) {
		/* the policy's copy: what a reload put in service */
		json_t *c = config_to_object(policy_config(d->pol));
		return c ? json_pack("{s:o}", "config", c) : NULL;
	}
	if (strcmp(command, "reload") == 0) {
		if (!d->reloadable)
			return json_pack("{s:b, s:s}", "ok", 0, "error",
					 "this daemon cannot reload its configuration");
		if (d->reload_waiting)
			return json_pack("{s:b, s:s}", "ok", 0, "error",
					 "another sipshardctl reload is in progress");
		/* the main thread reloads on SIGHUP: one path for both */
		d->reload_ticket = mgmt_defer(d->mgmt, MGMT_RELOAD_TIMEOUT_MS,
					      "the reload did not finish (it goes on: its outcome "
					      "will be in the log)");
		d->reload_waiting = true;
		atomic_store(&d->reload_requested, true);
		if (kill(getpid(), SIGHUP) != 0) {
			atomic_store(&d->reload_requested, false);
			d->reload_waiting = false;
			return json_pack("{s:b, s:s}", "ok", 0, "error", strerror(errno));
		}
		return MGMT_LATER;
	}
	if (!strcmp(command, "disable") || !strcmp(command, "enable"))
		return target_admin_command(d, request, !strcmp(command, "disable"));
	if (strcmp(command, "drain") == 0) {
		/* the main thread drains on SIGTERM: one path for both. A second
		 * SIGTERM stops at once, so a drain already under way is only
		 * reported, never signalled again */
		bool already = atomic_exchange(&d->draining, true);
		if (!already && kill(getpid(), SIGTERM) != 0) {
			atomic_store(&d->draining, false);
			return json_pack("{s:b, s:s}", "ok", 0, "error", strerror(errno));
		}
		return json_pack("{s:I, s:I, s:b}", "calls_up",
				 (json_int_t)atomic_load(&d->calls_up), "drain_s",
				 (json_int_t)d->cfg->timers.drain_s, "already_draining", already);
	}
	if (!strcmp(command, "dialogs") || !strcmp(command, "bye") || !strcmp(command, "info") ||
	    !strcmp(command, "message") || !strcmp(command, "refer"))
		return dialogs_command(d, command, request, clock_mono_ms());
	/* the name as printable text: cut at 40 bytes, a name could end inside
	 * a UTF-8 character (a response jansson refuses to build), and a control
	 * byte would reach the operator's terminal as it came */
	json_t *name = ctl_json_text(command, strnlen(command, 40));
	char why[200];
	snprintf(why, sizeof(why),
		 "unknown command \"%s\"; expected stats, targets, registrations, disable, "
		 "enable, config, reload, drain, dialogs, bye, info, message or refer",
		 name ? json_string_value(name) : "");
	json_decref(name);
	return json_pack("{s:b, s:s}", "ok", 0, "error", why);
}
