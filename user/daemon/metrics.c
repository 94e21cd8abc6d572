/*
 * metrics.c - the statistics in the Prometheus text format (see metrics.h).
 *
 * The document is walked into one line per sample, the lines sorted by
 * family (keeping their order within one), and each family opened by its
 * HELP and TYPE lines from metrics_rows. Runs on the controller thread, for
 * each scrape: the table is looked up by bsearch, once per family.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/metrics.h"

#define C false /* a counter: counts up from the start */
#define G true	/* a gauge: goes down as well as up */

/* Sorted by name (strcmp), each once: test_metrics checks both. One short
 * sentence each: what is counted, where the configuration key or label
 * says more. */
const struct metrics_row metrics_rows[] = {
    {"cdr_file_lost", C, "CDR records that could not be written to cdr_file."},
    {"cdr_file_written", C, "CDR records written to cdr_file."},
    {"controller_acks_absorbed", C,
     "ACKs of a non-2xx final sent to a caller, each freeing its call's set-up record."},
    {"controller_answered_481", C,
     "Requests answered 481: a CANCEL matching no call in set-up, a request with a To tag "
     "for no dialog, a BYE without one."},
    {"controller_answers_deferred", C,
     "Callee 2xx answers put off: a worker's command ring full, or datagrams before them "
     "waiting for room (the callee's retransmission is taken)."},
    {"controller_answers_too_large", C,
     "Callee 2xx and reliable 18x whose Contact, Record-Route set or To tag would not fit the "
     "dialog's record: the call ended, the caller answered 502."},
    {"controller_auth_answered", C,
     "Challenges (401, 407) to leg B INVITEs answered with the route's auth."},
    {"controller_auth_refused", C,
     "Challenges to leg B INVITEs the route's auth could not answer, or that refused it; the "
     "caller got 403."},
    {"controller_calls_active", G,
     "Calls in progress, from the INVITE taken to the end of the call."},
    {"controller_calls_answered", C, "Calls the callee side answered 2xx."},
    {"controller_calls_cancelled", C, "Calls the caller cancelled before a 2xx."},
    {"controller_calls_failed", C,
     "Calls that ended with a final other than 2xx, not a timeout or a cancel."},
    {"controller_calls_timeout", C, "Calls that got no final in time (the caller got 408)."},
    {"controller_cancel_reasons_dropped", C,
     "Reason lines of callers' CANCELs not passed on to leg B (malformed, or too long)."},
    {"controller_cancel_responses", C,
     "Responses to leg B CANCELs (and copies of them): they end here."},
    {"controller_cdrs", C, "Call detail records made."},
    {"controller_completed_evicted", C,
     "Records of refused or failed calls waiting for the caller's ACK, freed early for a new "
     "INVITE."},
    {"controller_dialogs_ended", C, "Dialogs the workers freed and reported to the controller."},
    {"controller_dropped_unknown_response", C,
     "Responses that matched no call, probe, registration or request of the controller: "
     "dropped."},
    {"controller_dropped_unmatched", C, "ACKs that matched no call waiting for one: dropped."},
    {"controller_early_installs_retried", C,
     "Early dialogs pushed to their worker again (a full ring refused the install, or a "
     "restart lost it)."},
    {"controller_failovers", C, "Leg B INVITEs sent on to the route's next target."},
    {"controller_first_forks_ended", C,
     "Calls whose first fork's early dialog a BYE ended while another fork rang: the "
     "call's slot kept for that fork."},
    {"controller_fork_dialogs", C,
     "Forks of leg B other than the first given an early dialog of their own toward the "
     "caller."},
    {"controller_fork_dialogs_ended", C,
     "Early dialogs of forks other than the first ended by their worker."},
    {"controller_fork_provisionals_pracked", C,
     "Reliable provisionals of a fork refused an early dialog of its own: PRACKed here, not "
     "relayed."},
    {"controller_forks_refused", C,
     "Forks of leg B refused an early dialog of their own (per-call limit, no free slot, full "
     "ring): handled in the first fork's."},
    {"controller_given_up_forgotten", C,
     "INVITEs given up here forgotten before 64*T1, their place in the ring of 512 taken."},
    {"controller_invite_retrans", C, "Retransmitted INVITEs of calls setting up."},
    {"controller_invites", C,
     "INVITEs without a To tag taken by the controller, retransmissions and refused ones "
     "included."},
    {"controller_keepalives_answered", C,
     "OPTIONS sent to targets that are up (routes[].keepalive_s) and answered."},
    {"controller_keepalives_missed", C,
     "OPTIONS to targets that are up left unanswered for failover_ms: the target went down."},
    {"controller_keepalives_sent", C,
     "OPTIONS sent to targets that are up (routes[].keepalive_s)."},
    {"controller_late_provisionals", C,
     "Provisionals to leg B's INVITE after the call had its final: dropped."},
    {"controller_late_provisionals_cancelled", C,
     "Callees that rang after their INVITE was given up here, sent the CANCEL of it."},
    {"controller_linger_evicted", C, "Records of answered calls freed early for a new INVITE."},
    {"controller_ood_answered", C,
     "Requests outside a dialog other than INVITE, ACK, CANCEL and OPTIONS, answered as "
     "out_of_dialog says."},
    {"controller_options", C, "OPTIONS outside a dialog answered."},
    {"controller_pracked_forks_forgotten", C,
     "Forks whose reliable provisionals were PRACKed here that a call stopped remembering "
     "(more than 8): a copy of one is taken for a new provisional."},
    {"controller_probes_answered", C,
     "OPTIONS sent to targets that are down (routes[].probe_s) and answered."},
    {"controller_probes_sent", C, "OPTIONS sent to targets that are down (routes[].probe_s)."},
    {"controller_provisionals_100", C,
     "100 (Trying) responses to leg B INVITEs while they ring: hop by hop, not relayed."},
    {"controller_register_2xx_contact_unlisted", C,
     "2xx to REGISTERs that did not list our Contact among the bindings (taken for their "
     "Expires, or the expiry asked)."},
    {"controller_register_attempts_failed", C, "REGISTER attempts that ended without a binding."},
    {"controller_register_challenges_answered", C,
     "Registrar challenges answered with registrations[].auth."},
    {"controller_register_responses_dropped", C, "Responses to no REGISTER in flight: dropped."},
    {"controller_registers_answered_2xx", C, "REGISTERs answered 2xx."},
    {"controller_registers_retransmitted", C, "REGISTER retransmissions."},
    {"controller_registers_sent", C, "REGISTER transactions started."},
    {"controller_registration_contact_unlisted", G,
     "1 while the registration's last 2xx did not list its Contact among the bindings, else 0."},
    {"controller_registration_expires_in_s", G,
     "Seconds left of each registration's binding, 0 without one."},
    {"controller_registration_last_status", G,
     "Final status of each registration's last attempt (408: none came; 0: no attempt yet)."},
    {"controller_registration_registered", G,
     "1 while the registration holds a binding at its registrar, else 0."},
    {"controller_rejected_acl", C, "INVITEs refused 403 by the acl."},
    {"controller_rejected_capacity", C,
     "INVITEs answered 503 for want of a free set-up record or dialog slot (capacity)."},
    {"controller_rejected_draining", C, "INVITEs answered 503 while draining."},
    {"controller_rejected_limit", C, "INVITEs answered 503 at limits.max_calls."},
    {"controller_rejected_loop", C,
     "INVITEs refused as a loop or a merged request (483, 482), or as a second INVITE before "
     "the first's final (500)."},
    {"controller_rejected_no_route", C, "INVITEs no route matched, answered no_route_status."},
    {"controller_rejected_no_target", C,
     "INVITEs answered 503 because their route had no target in service (SRV records \".\")."},
    {"controller_rejected_rate", C,
     "INVITEs answered 503 because their source was over its rate (limits)."},
    {"controller_rejected_session_too_brief", C,
     "INVITEs refused 422: a session interval below timers.min_se_s."},
    {"controller_rejected_target_full", C,
     "INVITEs answered 503 because every target of their route was full or disabled."},
    {"controller_rejected_too_large", C,
     "INVITEs refused because they would not fit a record (513, or 400 for a Call-ID, From "
     "tag, From, To or Contact URI, or Record-Route set too long)."},
    {"controller_send_enobufs", C,
     "Sends of the controller the kernel failed for want of memory (ENOBUFS), tried again "
     "after a wait."},
    {"controller_send_queue_full", C,
     "Datagrams of the controller dropped, the oldest, while its queue was full and the socket "
     "took none."},
    {"controller_send_refused", C, "Datagrams of the controller the socket refused to send."},
    {"controller_send_waited", C,
     "Datagrams of the controller that waited for room in the socket's send buffer."},
    {"controller_session_interval_raised", C,
     "422s to leg B INVITEs answered with an INVITE asking for the callee's Min-SE."},
    {"controller_setups_malformed", C,
     "Set-up records left half written by the last process (or damaged: a slot another "
     "record holds), freed at start."},
    {"controller_setups_restored", C,
     "Calls setting up when the last process stopped, taken up at start."},
    {"controller_stale_answers_ended", C,
     "2xx from targets a call had failed over from: ACKed and ended with a BYE."},
    {"controller_stale_finals_acked", C,
     "Finals other than 2xx from targets a call had failed over from: ACKed."},
    {"controller_stale_provisionals_cancelled", C,
     "Provisionals from targets a call had failed over from: answered with a CANCEL."},
    {"controller_stale_requests_answered", C,
     "The controller's own CANCELs, BYEs and PRACKs outside a call's set-up (a target left, "
     "a fork's 2xx or 18x), answered."},
    {"controller_stale_requests_retransmitted", C,
     "Retransmissions of the controller's own CANCELs, BYEs and PRACKs outside a call's "
     "set-up."},
    {"controller_stale_requests_unanswered", C,
     "The controller's own CANCELs, BYEs and PRACKs outside a call's set-up, unanswered at "
     "Timer F."},
    {"controller_stale_requests_untracked", C,
     "The controller's own CANCELs, BYEs and PRACKs outside a call's set-up, sent once "
     "untracked (a full table)."},
    {"controller_stale_responses_absorbed", C,
     "Responses to the controller's own CANCELs, BYEs and PRACKs after their final, within "
     "Timer K (copies of the final): dropped."},
    {"controller_target_503_sent_as_500", C,
     "Targets' 503s that ended a call, sent to the caller as 500 (RFC 3261 16.7)."},
    {"controller_target_answered", C, "INVITEs the target answered 2xx."},
    {"controller_target_calls", G, "Calls on the target now."},
    {"controller_target_disabled", G,
     "1 while the operator has the target disabled (sipshardctl disable), else 0."},
    {"controller_target_down", G, "1 while new calls skip the target as down, else 0."},
    {"controller_target_invites", C, "INVITEs sent to the target."},
    {"controller_target_options_rtt_ms", G,
     "Round trip of the last OPTIONS the target answered, in milliseconds."},
    {"controller_target_rejected", C, "INVITEs the target answered with a final other than 2xx."},
    {"controller_target_unanswered", C,
     "INVITEs the target left without a final (failover_ms or Timer B)."},
    {"controller_targets_down", G,
     "Targets new calls skip now (found silent, or out for a Retry-After)."},
    {"controller_targets_marked_down", C, "Times a target was found silent and marked down."},
    {"controller_targets_retry_after", C,
     "503s with Retry-After from targets, each taking its target out of service that long."},
    {"controller_unregisters_answered_2xx", C, "Unregistrations (Expires: 0) answered 2xx."},
    {"controller_unregisters_failed", C, "Unregistrations that ended without a 2xx."},
    {"controller_unregisters_started", C,
     "Bindings of registrations a reload removed or changed that began unregistering."},
    {"controller_unregisters_superseded", C,
     "Unregistrations given up because a reload registers the binding again."},
    {"draining", G, "1 while the daemon drains (SIGTERM, sipshardctl drain), else 0."},
    {"io_info", G,
     "The workers' I/O backend, as the label io (mixed when some fell back to recvmmsg "
     "alone); always 1."},
    {"management_dropped", C,
     "Management and metrics clients dropped (idle, slow to read, or too many)."},
    {"management_errors", C, "Management and metrics requests answered with an error."},
    {"management_requests", C, "Requests on the management socket and the metrics endpoint."},
    {"reloads_applied", C, "Configuration reloads put in service."},
    {"reloads_failed", C, "Configuration reloads refused, the running configuration kept."},
    {"steering_attached", G, "1 while the BPF steering program is attached, else 0."},
    {"steering_empty", C,
     "Datagrams with no payload, left to the kernel's choice; the socket's filter drops them."},
    {"steering_load_failed", C,
     "Datagrams the steering program could not read, left to the kernel's choice."},
    {"steering_no_callid", C,
     "Datagrams without a Call-ID the steering program could use, left to the kernel's "
     "choice."},
    {"steering_not_udp", C, "Packets other than UDP, left to the kernel's choice."},
    {"steering_per_worker", C, "Datagrams the steering program sent to the worker."},
    {"steering_run_time_ns", C,
     "Time the steering program ran in the kernel, in ns, counted while BPF run-time "
     "statistics are on (sysctl kernel.bpf_stats_enabled=1)."},
    {"steering_runs", C, "Runs of the steering program counted in steering_run_time_ns."},
    {"steering_select_failed", C,
     "Datagrams the steering program could not place on their worker's socket, left to the "
     "kernel's choice."},
    {"steering_steered", C, "Datagrams the steering program placed on their worker's socket."},
    {"steering_too_short", C,
     "Datagrams too short for the steering program, left to the kernel's choice."},
    {"totals_relayed_requests", C, "In-dialog requests relayed by all the workers, by method."},
    {"worker_answered_2xx", C,
     "Requests the worker answered itself with a 2xx (a CANCEL, a NOTIFY about the operator's "
     "REFER, a BYE still open as its call ended)."},
    {"worker_answered_400", C, "Requests that did not parse, answered 400."},
    {"worker_answered_4xx", C, "Requests the worker answered itself with a 4xx (481, 491...)."},
    {"worker_answered_505", C, "Requests of another SIP version, answered 505."},
    {"worker_answered_5xx", C, "Requests the worker answered itself with a 5xx."},
    {"worker_bye_replayed", C, "Retransmitted BYEs of ended dialogs, answered again."},
    {"worker_dialog_queries", C, "Scans of the dialog table for management commands."},
    {"worker_dialogs_ended", C, "Dialogs the worker freed."},
    {"worker_dialogs_expired", C,
     "Dialogs ended by a timer (dialog_idle_s, dialog_max_s, the session timer)."},
    {"worker_dialogs_gone", C,
     "Calls ended because a side answered a request in them 408 or 481 (its dialog is gone)."},
    {"worker_dialogs_installed", C, "Dialogs the controller installed in the worker's table."},
    {"worker_dialogs_reattached", C, "Calls taken over from the dialog table file at start."},
    {"worker_dialogs_session_expired", C,
     "Dialogs ended because their session timer (RFC 4028) ran out."},
    {"worker_drops", C, "Datagrams dropped, by reason."},
    {"worker_handoff_drop", C,
     "Datagrams for another worker dropped because its handoff ring was full."},
    {"worker_handoff_in", C, "Datagrams handed over by other workers."},
    {"worker_installs_refused", C,
     "Dialog installs from the controller the worker's table refused (a slot of another "
     "generation, an early update into a slot kept for a call's other forks)."},
    {"worker_invites_given_up", C,
     "Re-INVITEs with no final within timers.transaction_timeout_ms, answered 504 here."},
    {"worker_io_backend_info", G,
     "The worker's I/O backend, as the label backend (recvmmsg when io_uring was refused: "
     "logged); always 1."},
    {"worker_io_receive_buffers_exhausted", C, "Times io_uring ran out of receive buffers."},
    {"worker_io_receive_errors", C, "Receive errors on the worker's socket."},
    {"worker_io_send_enobufs", C,
     "Sends the kernel gave back for want of memory (ENOBUFS), sent again after a wait."},
    {"worker_io_sends_reordered", C,
     "Sends that left ahead of an earlier one the full send buffer gave back (io_uring, the "
     "submit that found it full)."},
    {"worker_keepalive_answered", C, "In-dialog keep-alive OPTIONS answered."},
    {"worker_keepalive_calls_ended", C, "Calls the in-dialog keep-alive ended."},
    {"worker_keepalive_missed", C, "In-dialog keep-alive rounds a side left unanswered."},
    {"worker_keepalive_provisionals", C,
     "Provisional responses to in-dialog keep-alive OPTIONS: dropped."},
    {"worker_keepalive_retransmissions", C,
     "Finals to in-dialog keep-alive OPTIONS already answered (copies): dropped."},
    {"worker_keepalive_sent", C, "In-dialog keep-alive OPTIONS sent (timers.dialog_keepalive_s)."},
    {"worker_keepalive_stray_responses", C,
     "Answers to keep-alive OPTIONS that matched no dialog."},
    {"worker_late_finals_acked", C,
     "Finals to re-INVITEs whose dialog had ended, or 2xx to ones given up, ACKed here."},
    {"worker_long_head_full", C,
     "Requests whose response lines found the long-head pool full "
     "(capacity.long_heads_per_shard)."},
    {"worker_long_heads_evicted", C, "Long-head slots of answered requests given to new ones."},
    {"worker_originated_answered", C, "Requests sipshard sent itself in calls that got a final."},
    {"worker_originated_call_ended", C,
     "Requests sipshard sent itself (the operator's info, message, refer) no longer resent "
     "once their call ended."},
    {"worker_originated_challenges_answered", C,
     "Challenges to requests sipshard sent itself, answered with the route's auth."},
    {"worker_originated_challenges_no_credentials", C,
     "Challenges to requests sipshard sent itself, unanswered: no credentials for that leg."},
    {"worker_originated_challenges_refused", C,
     "Challenges to requests sipshard sent itself, unanswered: the credentials were refused."},
    {"worker_originated_challenges_unanswerable", C,
     "Challenges to requests sipshard sent itself that the credentials cannot answer."},
    {"worker_originated_overwritten", C,
     "Requests sipshard sent itself that gave their slot to a newer one while waiting."},
    {"worker_originated_provisionals", C,
     "Provisional responses to requests sipshard sent itself in calls: dropped."},
    {"worker_originated_retransmitted", C, "Retransmissions of requests sipshard sent itself."},
    {"worker_originated_sent", C,
     "Requests sipshard sent itself in calls (BYE, INFO, MESSAGE, REFER, OPTIONS)."},
    {"worker_originated_stray_responses", C,
     "Responses for requests sipshard sent itself that matched none waiting."},
    {"worker_originated_unanswered", C, "Requests sipshard sent itself, given up at Timer F."},
    {"worker_pending_487_overwritten", C,
     "487s to re-INVITEs given at a call's end that gave their place to newer ones before "
     "their ACK: no longer resent."},
    {"worker_pending_487_resent", C,
     "487s to re-INVITEs given at a call's end, sent again until their ACK (Timer G), or "
     "first sent so when no send buffer was free at the end."},
    {"worker_pending_487_unacknowledged", C,
     "487s to re-INVITEs given at a call's end whose ACK never came (given up at Timer H)."},
    {"worker_pending_ended", C,
     "Requests answered 487 (a BYE 200) because their dialog ended; a re-INVITE's 487 is "
     "resent until its ACK (worker_pending_487_resent)."},
    {"worker_pending_replayed", C,
     "Retransmitted requests answered 487 again, as when their dialog ended."},
    {"worker_refer_notifies_answered", C,
     "NOTIFYs about the operator's REFER, answered by sipshard."},
    {"worker_refer_to_kept", C,
     "REFERs relayed (and resent) with rewrite_refer_to whose Refer-To crossed as it came."},
    {"worker_refer_to_malformed", C,
     "REFERs (and their resends) answered 400 with rewrite_refer_to: no Refer-To, or two."},
    {"worker_refer_to_refused", C,
     "REFERs (and their resends) answered 403 with rewrite_refer_to: a sips: Refer-To."},
    {"worker_refer_to_rewritten", C,
     "REFERs relayed (and resent) whose Refer-To names sipshard's advertise (rewrite_refer_to)."},
    {"worker_referred_by_kept", C,
     "REFERs relayed (and resent) with rewrite_refer_to whose Referred-By crossed as it came."},
    {"worker_referred_by_rewritten", C,
     "REFERs relayed (and resent) whose Referred-By names sipshard's advertise "
     "(rewrite_refer_to)."},
    {"worker_relayed_requests", C, "In-dialog requests relayed, by method."},
    {"worker_relayed_responses", C, "Responses relayed."},
    {"worker_replaces_handed", C,
     "INVITEs with Replaces or Join handed to the worker that holds the dialog named."},
    {"worker_replaces_matched", C,
     "INVITEs with Replaces or Join passed to the controller with the dialog they name."},
    {"worker_replaces_refused", C, "INVITEs with Replaces or Join answered by the worker."},
    {"worker_replaces_unmatched", C,
     "INVITEs with Replaces or Join that name no dialog here, passed on as they are."},
    {"worker_responses_503_sent_as_500", C,
     "In-dialog 503s relayed to the other side as 500 (RFC 3261 16.7)."},
    {"worker_responses_too_large", C,
     "First finals too large for the send buffer once written for their request's sender, "
     "answered 500 here."},
    {"worker_rx", C, "Datagrams received."},
    {"worker_rx_bad", C, "Datagrams that did not parse as SIP."},
    {"worker_rx_foreign", C, "Datagrams of another worker's calls, passed to it."},
    {"worker_sent", C, "Datagrams the worker queued for sending."},
    {"worker_sent_for_controller", C,
     "Answers the controller queued after their dialog's install, sent."},
    {"worker_session_too_brief", C, "Re-INVITEs and UPDATEs refused 422 (timers.min_se_s)."},
    {"worker_setups_dropped_at_reattach", C,
     "Dialogs still setting up when the last process stopped, freed at start."},
    {"worker_target_refresh_too_long", C,
     "Target refreshes whose Contact is longer than a dialog's record keeps: a request answered "
     "400, a 2xx or reliable 1xx relayed with the old remote target kept."},
    {"worker_to_controller", C, "Datagrams passed to the controller."},
    {"worker_transactions_evicted", C, "Answered transaction records that gave way to new ones."},
    {"worker_transactions_expired", C,
     "Relayed transactions forgotten timers.transaction_timeout_ms after they began."},
    {"worker_transfers_timed_out", C,
     "Operator transfers failed at Timer N: no NOTIFY within 64*T1 of the REFER's 2xx."},
};
const size_t metrics_nrows = sizeof(metrics_rows) / sizeof(metrics_rows[0]);

#undef C
#undef G

static int row_cmp(const void *key, const void *row)
{
	return strcmp(key, ((const struct metrics_row *)row)->name);
}

const char *metrics_help(const char *name, size_t len, bool *gauge)
{
	char key[160];

	*gauge = len >= 5 && !memcmp(name + len - 5, "_info", 5);
	if (len >= sizeof(key))
		return NULL;
	memcpy(key, name, len);
	key[len] = '\0';
	const struct metrics_row *r =
	    bsearch(key, metrics_rows, metrics_nrows, sizeof(metrics_rows[0]), row_cmp);
	if (!r)
		return NULL;
	*gauge = r->gauge;
	return r->help;
}

const char *metrics_escape(const char *in, bool label, char *out, size_t cap)
{
	size_t n = 0;
	for (; *in && n + 3 < cap; in++) {
		if (*in == '\\' || *in == '\n' || (label && *in == '"')) {
			out[n++] = '\\';
			out[n++] = *in == '\n' ? 'n' : *in;
		} else {
			out[n++] = *in;
		}
	}
	out[n] = '\0';
	return out;
}

/* ---- the document as sample lines ----------------------------------------- */

/* Nested objects whose members are one metric with a label, by their key. */
static const char *metric_label(const char *key)
{
	if (!strcmp(key, "relayed_requests"))
		return "method";
	if (!strcmp(key, "drops"))
		return "reason";
	if (!strncmp(key, "target_", 7)) /* target_calls, target_down ... */
		return "target";
	if (!strncmp(key, "registration_", 13)) /* registration_registered ... */
		return "registration";
	return NULL;
}

/* Counters are integers; a boolean is 0 or 1. */
static void metric_line(FILE *f, const char *name, const char *labels, const json_t *v)
{
	json_int_t x = json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);
	fprintf(f, "sipshard_%s%s%s%s %" JSON_INTEGER_FORMAT "\n", name, *labels ? "{" : "", labels,
		*labels ? "}" : "", x);
}

/* One line per number in o: names are the member path joined by '_', an
 * array of workers becomes the label worker (their "id" member is that label,
 * not a metric), and the members of a few nested objects become a label
 * (metric_label). Strings become NAME_info{NAME="..."} 1. */
static void metrics_walk(FILE *f, const char *prefix, const char *labels, const json_t *o)
{
	const char *key;
	json_t *v;
	char name[160], lab[256], esc[160];

	json_object_foreach((json_t *)o, key, v)
	{
		if (*labels && !strcmp(key, "id"))
			continue;
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "_" : "", key);
		const char *label = metric_label(key);
		if (json_is_integer(v) || json_is_boolean(v)) {
			metric_line(f, name, labels, v);
		} else if (json_is_string(v)) {
			snprintf(lab, sizeof(lab), "%s%s%s=\"%s\"", labels, *labels ? "," : "", key,
				 metrics_escape(json_string_value(v), true, esc, sizeof(esc)));
			fprintf(f, "sipshard_%s_info{%s} 1\n", name, lab);
		} else if (json_is_object(v) && label) {
			const char *k2;
			json_t *v2;
			json_object_foreach(v, k2, v2)
			{
				snprintf(lab, sizeof(lab), "%s%s%s=\"%s\"", labels,
					 *labels ? "," : "", label,
					 metrics_escape(k2, true, esc, sizeof(esc)));
				metric_line(f, name, lab, v2);
			}
		} else if (json_is_object(v)) {
			metrics_walk(f, name, labels, v);
		} else if (json_is_array(v)) {
			/* "workers" and "per_worker": one element per worker */
			size_t i;
			json_t *e;
			const char *item = !strcmp(key, "workers") ? "worker" : name;
			json_array_foreach(v, i, e)
			{
				snprintf(lab, sizeof(lab), "%s%sworker=\"%zu\"", labels,
					 *labels ? "," : "", i);
				if (json_is_object(e))
					metrics_walk(f, item, lab, e);
				else if (json_is_integer(e))
					metric_line(f, name, lab, e);
			}
		}
	}
}

/* ---- grouped by family, each opened by HELP and TYPE ----------------------- */

struct metric_row {
	const char *line;
	size_t name_len, order;
};

static int metric_row_cmp(const void *a, const void *b)
{
	const struct metric_row *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->line, y->line, n);
	if (c == 0 && x->name_len != y->name_len)
		c = x->name_len < y->name_len ? -1 : 1;
	if (c == 0)
		c = x->order < y->order ? -1 : 1;
	return c;
}

/* The HELP and TYPE lines of the family name (len bytes, "sipshard_" and
 * the rest). */
static void family_head(FILE *f, const char *name, size_t len)
{
	const size_t skip = strlen("sipshard_");
	char fallback[256], esc[512];
	bool gauge = false;
	const char *help = len > skip ? metrics_help(name + skip, len - skip, &gauge) : NULL;

	if (!help) {
		snprintf(fallback, sizeof(fallback), METRICS_HELP_FALLBACK,
			 len > skip ? (int)(len - skip) : 0, name + (len > skip ? skip : 0));
		help = fallback;
	}
	fprintf(f, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)len, name,
		metrics_escape(help, false, esc, sizeof(esc)), (int)len, name,
		gauge ? "gauge" : "counter");
}

/* The text format wants every sample of a family in one group, after its
 * HELP and TYPE lines (a family without a TYPE is untyped: a gauge could not
 * be told from a counter): sorts the lines of text (len bytes, each ending
 * in '\n'; cut into strings here) by family, keeping their order within one,
 * and writes them to f, each family after its two lines. */
static int metrics_group(FILE *f, char *text, size_t len)
{
	size_t n = 0, cap = 64;
	struct metric_row *rows = malloc(cap * sizeof(*rows));

	for (char *p = text; rows && p < text + len;) {
		char *nl = memchr(p, '\n', (size_t)(text + len - p));
		if (!nl)
			break;
		*nl = '\0';
		if (n == cap) {
			struct metric_row *r = realloc(rows, 2 * cap * sizeof(*rows));
			if (!r) {
				free(rows);
				rows = NULL;
				break;
			}
			rows = r;
			cap *= 2;
		}
		rows[n] = (struct metric_row){p, strcspn(p, "{ "), n};
		n++;
		p = nl + 1;
	}
	if (!rows)
		return -1;
	qsort(rows, n, sizeof(*rows), metric_row_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct metric_row *r = &rows[i];
		if (i == 0 || r->name_len != rows[i - 1].name_len ||
		    memcmp(r->line, rows[i - 1].line, r->name_len) != 0)
			family_head(f, r->line, r->name_len);
		fputs(r->line, f);
		fputc('\n', f);
	}
	free(rows);
	return 0;
}

char *metrics_format(const json_t *stats)
{
	char *lines = NULL, *out = NULL;
	size_t len = 0, olen = 0;
	FILE *f = open_memstream(&lines, &len);

	if (!f)
		return NULL;
	metrics_walk(f, "", "", stats);
	if (fclose(f) != 0) {
		free(lines);
		return NULL;
	}
	f = open_memstream(&out, &olen);
	int rc = f ? metrics_group(f, lines, len) : -1;
	free(lines);
	if (!f)
		return NULL;
	if (fclose(f) != 0 || rc != 0) {
		free(out);
		return NULL;
	}
	return out;
}
