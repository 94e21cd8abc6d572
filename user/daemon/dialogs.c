/*
 * dialogs.c - the management commands on calls in progress: "dialogs" (list
 * them, or find one by Call-ID), "bye" (end one: a BYE on each leg), "info"
 * and "message" (send one of those on a leg of one, with a body), "refer"
 * (transfer one side: a REFER to it, RFC 3515), each answered with the final
 * status of what was sent when it comes within "wait_ms".
 *
 * Owns: the command's arguments and errors, the query sent to every worker,
 * gathering the workers' replies into one answer (the dialog records as
 * JSON), and that answer's delivery through mgmt_answer. Runs on the
 * controller thread. Does not own: the scan of a table (worker.c, a step per
 * turn of the worker's loop) or the requests sent (orig.c).
 *
 * The workers hold the dialogs and are their only writers, so the controller
 * asks instead of reading their tables. The final status of what the
 * operator sent is kept on its dialog by the worker (last_sent; "lost" for
 * one a restart caught waiting, which the re-attach marks: shard/table.h),
 * which also tells the controller (DMSG_SENT_FINAL); once every dialog the
 * request went into has reported, or the wait is over, the dialogs are
 * listed once more for the answer, so that a wait costs the workers no
 * scans of their tables.
 * One command runs at a time; a second
 * one while the first waits is refused with "busy", unless the first is past
 * its deadline (the management client was told it timed out by then).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "net/udp.h"

#define DIALOGS_LIMIT_DEFAULT 20
#define DIALOGS_LIMIT_MAX     100 /* per worker: each is a ring message */
/* info, message and refer wait this long for the final status unless told
 * otherwise; at most WAIT_MAX_MS, so that the answer beats the client's
 * deadline (mgmt.h) */
#define DIALOGS_WAIT_DEFAULT_MS MGMT_WAIT_DEFAULT_MS
#define DIALOGS_WAIT_MAX_MS	MGMT_WAIT_MAX_MS

static json_t *error(const char *why)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", why);
}

/* An offer or answer of the session model: its Content-Type, size and text
 * (bytes other than printable ASCII, CR, LF and tab shown as '?': every byte
 * came from the network, and JSON needs valid UTF-8); null for none, and
 * {"dropped": true} for one larger than SESSION_BODY_MAX, not kept; b NULL
 * (session_answer_shown: an offer is open) is none too. */
static json_t *offer_json(const struct session_body *b)
{
	char text[SESSION_BODY_MAX];

	if (!b)
		return json_null();
	if (!b->len)
		return b->dropped ? json_pack("{s:b}", "dropped", 1) : json_null();
	for (size_t i = 0; i < b->len; i++) {
		unsigned char ch = (unsigned char)b->data[i];
		text[i] = (ch >= 0x20 && ch < 0x7f) || ch == '\r' || ch == '\n' || ch == '\t'
			      ? (char)ch
			      : '?';
	}
	return json_pack("{s:o, s:I, s:o}", "type", ctl_json_text(b->type, b->type_len), "bytes",
			 (json_int_t)b->len, "body", json_stringn(text, b->len));
}

static json_t *leg_json(const struct sip_session *s)
{
	char peer[UDP_ADDR_STRLEN];

	udp_format_addr((const struct sockaddr *)&s->peer, peer, sizeof(peer));
	/* keepalive_unanswered: OPTIONS of the keep-alive (timers.dialog_keepalive_s)
	 * unanswered in a row, the last of which may still be on its way */
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o}",
			 "call_id", ctl_json_text(s->call_id, s->call_id_len), "local_tag",
			 ctl_json_text(s->local_tag, s->local_tag_len), "remote_tag",
			 ctl_json_text(s->remote_tag, s->remote_tag_len), "local_uri",
			 ctl_json_text(s->local_uri, s->local_uri_len), "remote_uri",
			 ctl_json_text(s->remote_uri, s->remote_uri_len), "remote_target",
			 ctl_json_text(s->remote_target, s->remote_target_len), "peer", peer,
			 "session_state", session_state_name(s->session_state), "signaling_state",
			 signaling_state_name(s->signaling_state), "local_cseq",
			 (json_int_t)s->local_cseq, "remote_cseq", (json_int_t)s->remote_cseq,
			 "keepalive_unanswered", (json_int_t)shard_keepalive_behind(s), "offer",
			 offer_json(&s->offer), "answer", offer_json(session_answer_shown(s)));
}

json_t *dialogs_dialog_json(unsigned worker, const struct shard_dialog *dl, uint64_t now_ms)
{
	json_t *requests = json_object();

	for (int i = 0; i < SIP_METHOD_COUNT_; i++)
		if (dl->requests[i])
			json_object_set_new(requests,
					    i ? sip_method_name((enum sip_method)i) : "other",
					    json_integer((json_int_t)dl->requests[i]));
	/* the last request the operator sent into it, and its answer (null: none
	 * yet; "lost": a restart came first, and none will be kept) */
	json_t *sent = json_null();
	if (dl->sent_method)
		sent = json_pack("{s:s, s:s, s:o}", "method",
				 sip_method_name((enum sip_method)dl->sent_method), "to",
				 dl->sent_leg == SHARD_LEG_A ? "caller" : "callee", "status",
				 dl->sent_status == SHARD_SENT_LOST ? json_string("lost")
				 : dl->sent_status		    ? json_integer(dl->sent_status)
								    : json_null());
	/* the operator's transfer: the status line of the last NOTIFY about it */
	json_t *transfer = json_null();
	if (dl->refer & SHARD_REFER_STATE)
		transfer = json_pack(
		    "{s:s, s:s, s:o}", "to", (dl->refer & SHARD_REFER_LEG_B) ? "callee" : "caller",
		    "state",
		    (dl->refer & SHARD_REFER_STATE) == SHARD_REFER_DONE ? "done" : "active",
		    "status",
		    shard_refer_status(dl) ? json_integer(shard_refer_status(dl)) : json_null());
	/* the session timer (RFC 4028) the last 2xx to an INVITE or UPDATE set */
	uint64_t session = shard_session_deadline(dl);
	json_t *session_left = json_null();
	if (session)
		session_left = json_integer((json_int_t)clock_since(session, now_ms));
	return json_pack(
	    "{s:I, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "worker", (json_int_t)worker,
	    "state", dl->state == SHARD_DLG_CONFIRMED ? "confirmed" : "early", "age_ms",
	    (json_int_t)clock_since(now_ms, dl->created_ms), "idle_ms",
	    (json_int_t)clock_since(now_ms, dl->last_activity_ms), "session_expires_in_ms",
	    session_left, "requests", requests, "last_sent", sent, "transfer", transfer, "caller",
	    leg_json(&dl->legs[SHARD_LEG_A]), "callee", leg_json(&dl->legs[SHARD_LEG_B]));
}

/* For refer: "target", the URI the side is sent to, into q; NULL or the
 * error. It goes into a header line between '<' and '>': a URI the parser
 * takes has no control byte, space, quote or angle bracket (an unknown
 * scheme's part after the colon is held to those bytes too). */
static json_t *read_refer_target(const json_t *request, struct dlg_query *q)
{
	json_t *t = json_object_get(request, "target");
	char why[200];
	struct sip_uri u;

	if (json_object_get(request, "body") || json_object_get(request, "content_type"))
		return error("refer: takes a \"target\", no body or content_type");
	size_t n = t && json_is_string(t) ? json_string_length(t) : 0;
	const char *s = n ? json_string_value(t) : "";
	if (n == 0 || n >= sizeof(q->refer_to) || sip_parse_uri(&u, s, 0, (uint16_t)n) != 0) {
		snprintf(why, sizeof(why),
			 "target: expected the URI to transfer to, such as sip:alice@example.com "
			 "(printable ASCII, at most %zu bytes)",
			 sizeof(q->refer_to) - 1);
		return error(why);
	}
	memcpy(q->refer_to, s, n + 1);
	return NULL;
}

/* For info, message and refer: "to", then "content_type" and "body" (refer:
 * "target") into q; NULL or the error. The type goes into a header line:
 * printable ASCII with a '/' only. */
static json_t *read_send_args(const char *command, const json_t *request, struct dlg_query *q)
{
	const char *to = json_string_value(json_object_get(request, "to"));
	json_t *ct = json_object_get(request, "content_type");
	json_t *body = json_object_get(request, "body");
	json_t *wait = json_object_get(request, "wait_ms");
	char why[160];

	q->method = !strcmp(command, "info")	  ? SIP_METHOD_INFO
		    : !strcmp(command, "message") ? SIP_METHOD_MESSAGE
						  : SIP_METHOD_REFER;
	if (!to || (strcmp(to, "caller") && strcmp(to, "callee")))
		return error("to: expected \"caller\" or \"callee\": the side the request goes to");
	q->leg = strcmp(to, "caller") == 0 ? SHARD_LEG_A : SHARD_LEG_B;
	json_t *bad = q->method == SIP_METHOD_REFER ? read_refer_target(request, q) : NULL;
	if (bad)
		return bad;
	if ((ct && !json_is_string(ct)) || (body && !json_is_string(body)))
		return error("content_type and body: expected strings");
	if (body && json_string_length(body) > sizeof(q->body)) {
		snprintf(why, sizeof(why), "body: expected at most %zu bytes", sizeof(q->body));
		return error(why);
	}
	size_t blen = body ? json_string_length(body) : 0;
	if (q->method == SIP_METHOD_MESSAGE && !blen)
		return error("message: expected a \"body\" (RFC 3428: a MESSAGE carries one)");
	if (blen && !ct)
		return error("content_type: expected one for the body, such as text/plain");
	if (ct) {
		const char *t = json_string_value(ct);
		size_t n = json_string_length(ct);
		bool ok = n > 2 && n < sizeof(q->ctype) && strchr(t, '/') && t[0] != ' ';
		for (size_t i = 0; ok && i < n; i++)
			ok = t[i] >= 0x20 && t[i] < 0x7f;
		if (!ok) {
			snprintf(why, sizeof(why),
				 "content_type: expected type/subtype in printable ASCII, at most "
				 "%zu bytes",
				 sizeof(q->ctype) - 1);
			return error(why);
		}
		memcpy(q->ctype, t, n + 1);
	}
	if (wait && (!json_is_integer(wait) || json_integer_value(wait) < 0 ||
		     json_integer_value(wait) > DIALOGS_WAIT_MAX_MS)) {
		snprintf(why, sizeof(why),
			 "wait_ms: expected 0 to %d, the milliseconds the answer waits for the "
			 "final status",
			 DIALOGS_WAIT_MAX_MS);
		return error(why);
	}
	q->wait_ms = wait ? (uint32_t)json_integer_value(wait) : DIALOGS_WAIT_DEFAULT_MS;
	q->body_len = (uint16_t)blen;
	if (blen)
		memcpy(q->body, json_string_value(body), blen);
	return NULL;
}

/* Reads "call_id" (required but for dialogs) and "limit" into q; NULL or the
 * error. */
static json_t *read_args(const char *command, const json_t *request, struct dlg_query *q)
{
	json_t *cid = json_object_get(request, "call_id");
	json_t *lim = json_object_get(request, "limit");
	char why[160];

	if (cid && !json_is_string(cid))
		return error("call_id: expected a string");
	/* a SIP Call-ID holds no control byte: one with it names no call, and
	 * the answer that none has it would quote it to the operator's terminal */
	bool printable = true;
	for (size_t i = 0; cid && i < json_string_length(cid); i++)
		printable &= (unsigned char)json_string_value(cid)[i] >= 0x20 &&
			     json_string_value(cid)[i] != 0x7f;
	if (cid && (json_string_length(cid) == 0 || json_string_length(cid) >= sizeof(q->call_id) ||
		    !printable)) {
		snprintf(why, sizeof(why), "call_id: expected 1 to %zu bytes without control bytes",
			 sizeof(q->call_id) - 1);
		return error(why);
	}
	if (!cid && q->kind != DLG_QUERY_LIST) {
		snprintf(why, sizeof(why),
			 "%s: expected \"call_id\": the Call-ID of either leg of the call",
			 command);
		return error(why);
	}
	if (lim && (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
		    json_integer_value(lim) > DIALOGS_LIMIT_MAX)) {
		snprintf(why, sizeof(why), "limit: expected a number 1 to %d", DIALOGS_LIMIT_MAX);
		return error(why);
	}
	q->limit = lim ? (uint32_t)json_integer_value(lim) : DIALOGS_LIMIT_DEFAULT;
	if (cid) {
		q->call_id_len = (uint32_t)json_string_length(cid);
		memcpy(q->call_id, json_string_value(cid), q->call_id_len);
	}
	return q->kind == DLG_QUERY_SEND ? read_send_args(command, request, q) : NULL;
}

/* Sends q to every worker under a new id; false, with no worker given it,
 * when a ring is full. Checked first: a bye or a send that reached some
 * workers would end or send into their calls while the operator is told
 * "busy", and done twice when the operator tries again. Only this thread
 * fills the rings, so one with room now still has it at the push. */
static bool push_query(struct daemon *d, const struct dlg_query *q)
{
	struct dlg_pending *p = &d->query;
	struct dmsg_hdr h = {.type = DMSG_QUERY, .len = sizeof(*q), .slot = ++p->id};

	for (unsigned i = 0; i < d->nworkers; i++)
		if (ring_count(d->workers[i].cmd) >= d->workers[i].cmd->nslots)
			return false;
	for (unsigned i = 0; i < d->nworkers; i++)
		if (daemon_push_cmd(d, i, &h, q, sizeof(*q)) != 0) {
			p->id++;
			return false;
		}
	p->workers_left = d->nworkers;
	p->used = p->matched = p->early = p->ack_wait = p->ending = 0;
	return true;
}

json_t *dialogs_command(struct daemon *d, const char *command, const json_t *request,
			uint64_t now_ms)
{
	struct dlg_pending *p = &d->query;
	struct dlg_query q;

	memset(&q, 0, sizeof(q));
	q.kind = !strcmp(command, "bye")       ? DLG_QUERY_BYE
		 : !strcmp(command, "dialogs") ? DLG_QUERY_LIST
					       : DLG_QUERY_SEND;
	json_t *bad = read_args(command, request, &q);
	if (bad)
		return bad;
	if (p->active && now_ms < p->deadline_ms)
		return error("busy: another command on dialogs is running; try again");
	if (p->active)
		json_decref(p->dialogs); /* timed out: its late replies are ignored */

	uint32_t id = p->id; /* replies to an earlier query carry an older id */
	struct dlg_target *targets = p->targets;
	uint64_t targets_cap = p->targets_cap;
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->targets = targets;
	p->targets_cap = targets_cap;
	p->dialogs = json_array();
	if (!p->dialogs)
		return NULL;
	if (!push_query(d, &q)) {
		json_decref(p->dialogs);
		p->dialogs = NULL;
		return error("busy: a worker's command ring is full; try again");
	}
	p->active = true;
	p->q = q; /* its call_id is NUL-terminated: read_args copied fewer bytes */
	p->ticket = mgmt_defer(d->mgmt, MGMT_CLIENT_TIMEOUT_MS, "the workers did not answer");
	p->deadline_ms = now_ms + MGMT_CLIENT_TIMEOUT_MS;
	return MGMT_LATER; /* the workers look at their rings every turn */
}

/* The answer to info, message or refer: how many dialogs it went into,
 * how many had their final status ("answered") and how many calls ended
 * before theirs came (the workers said so: DLG_SENT_CALL_ENDED; "ended"),
 * how many it could not wait for (no memory to note them, target_add:
 * "untracked", so that an answer that waited out its time with none says
 * why), and the status: the one final status of those answered once every
 * dialog is answered or ended, "call_ended" when every call ended, else null
 * (one still waiting, or finals that differ). */
json_t *dialogs_send_answer(const struct dlg_pending *p)
{
	const char *method = sip_method_name((enum sip_method)p->q.method);
	bool all = p->answered && p->answered + p->ended >= p->sent && p->status > 0;
	bool ended = !p->answered && p->ended && p->ended >= p->sent;

	log_info("management: sent %s to the %s of %llu call(s) with Call-ID \"%s\"; final "
		 "status %d%s%s",
		 method, p->q.leg == SHARD_LEG_A ? "caller" : "callee", (unsigned long long)p->sent,
		 p->q.call_id, all ? p->status : 0,
		 ended ? " (the call ended before a final status came)" : "",
		 p->untracked ? " (some finals not waited for: out of memory)" : "");
	return json_pack("{s:I, s:s, s:s, s:o, s:I, s:I, s:I, s:o}", "sent", (json_int_t)p->sent,
			 "method", method, "to", p->q.leg == SHARD_LEG_A ? "caller" : "callee",
			 "status",
			 all	 ? json_integer(p->status)
			 : ended ? json_string("call_ended")
				 : json_null(),
			 "answered", (json_int_t)p->answered, "ended", (json_int_t)p->ended,
			 "untracked", (json_int_t)p->untracked, "dialogs", p->dialogs);
}

/* Every worker has answered: the response goes to the management client, or,
 * for info, message and refer, the wait for the final status begins or goes
 * on (p->sent is set once the request went into a dialog). */
static void finish(struct daemon *d, uint64_t now_ms)
{
	struct dlg_pending *p = &d->query;
	json_t *resp;

	if (p->q.kind == DLG_QUERY_SEND && p->matched && !p->awaiting) {
		p->sent = p->matched;
		if (p->q.wait_ms) {
			/* dialogs_tick lists them once the finals are in */
			json_decref(p->dialogs);
			p->dialogs = NULL;
			p->awaiting = true;
			p->wait_until_ms = now_ms + p->q.wait_ms;
			return;
		}
	}

	if (p->q.kind == DLG_QUERY_SEND && p->sent) {
		resp = dialogs_send_answer(p);
	} else if (p->q.kind != DLG_QUERY_LIST && !p->matched) {
		char why[SESSION_CALL_ID_MAX + 200];
		const char *what = p->q.kind == DLG_QUERY_BYE ? "bye" : "a request sent";
		if (p->ending)
			snprintf(why, sizeof(why),
				 "the call with Call-ID \"%s\" is ending: a BYE in it waits for "
				 "its final",
				 p->q.call_id);
		else if (p->ack_wait)
			snprintf(why, sizeof(why),
				 "the call with Call-ID \"%s\" is answered but its 2xx waits for "
				 "its ACK (RFC 3261 15): %s waits for that; try again",
				 p->q.call_id, what);
		else if (p->early)
			snprintf(
			    why, sizeof(why),
			    "the call with Call-ID \"%s\" is still being set up (dialogs lists "
			    "it early): %s acts on answered calls only",
			    p->q.call_id, what);
		else
			snprintf(why, sizeof(why), "no call in progress has Call-ID \"%s\"",
				 p->q.call_id);
		json_decref(p->dialogs);
		resp = error(why);
	} else if (p->q.kind == DLG_QUERY_BYE) {
		resp =
		    json_pack("{s:I, s:o}", "ended", (json_int_t)p->matched, "dialogs", p->dialogs);
		log_info("management: ended %llu call(s) with Call-ID \"%s\"",
			 (unsigned long long)p->matched, p->q.call_id);
	} else {
		resp = json_pack("{s:I, s:I, s:o}", "dialogs_up", (json_int_t)p->used, "matched",
				 (json_int_t)p->matched, "dialogs", p->dialogs);
	}
	p->dialogs = NULL;
	p->active = false;
	p->awaiting = p->listing = false;
	if (mgmt_answer(d->mgmt, p->ticket, resp) != 0)
		log_debug("management: the client of a dialogs command left before its answer");
}

/* Dialog slot, gen of worker, one the request went into, is waited for:
 * false when there is no room to keep it (counted as untracked: its final
 * is not waited for, the wait runs to its end). */
static bool target_add(struct dlg_pending *p, unsigned worker, uint32_t slot, uint32_t gen)
{
	if (p->ntargets == p->targets_cap) {
		uint64_t cap = p->targets_cap ? 2 * p->targets_cap : DLG_TARGETS_FIRST;
		struct dlg_target *t = realloc(p->targets, cap * sizeof(*t));
		if (!t) {
			p->untracked++;
			return false;
		}
		p->targets = t;
		p->targets_cap = cap;
	}
	p->targets[p->ntargets++] = (struct dlg_target){worker, slot, gen};
	return true;
}

/* The final status (or DLG_SENT_CALL_ENDED) of target slot, gen of worker,
 * counted once: answered (its status merged into p->status) or ended. False
 * when it is no target waited for (counted before, or none). */
static bool target_final(struct dlg_pending *p, unsigned worker, uint32_t slot, uint32_t gen,
			 int status)
{
	for (uint64_t i = 0; i < p->ntargets; i++)
		if (p->targets[i].worker == worker && p->targets[i].slot == slot &&
		    p->targets[i].gen == gen) {
			p->targets[i] = p->targets[--p->ntargets]; /* one final each */
			p->finals++;
			if (status == DLG_SENT_CALL_ENDED) {
				p->ended++;
			} else {
				p->answered++;
				p->status = (!p->status || p->status == status) ? status : -1;
			}
			return true;
		}
	return false;
}

void dialogs_on_reply(struct daemon *d, unsigned worker, const struct dmsg_hdr *h,
		      const void *payload, uint64_t now_ms)
{
	struct dlg_pending *p = &d->query;

	if (!p->active || h->slot != p->id)
		return; /* a query given up on */
	if (h->type == DMSG_QUERY_DIALOG) {
		struct shard_dialog *dl = &p->dialog;
		if (shard_dialog_unpack(dl, payload, h->len) != 0)
			return; /* cannot happen: the worker packed it */
		/* the send's own report, made before the request left: whose final
		 * status to wait for */
		if (p->q.kind == DLG_QUERY_SEND && !p->awaiting)
			target_add(p, worker, dl->slot, dl->gen);
		/* a status whose report was lost (a full ring) */
		if (p->listing && dl->sent_method == p->q.method && dl->sent_leg == p->q.leg &&
		    dl->sent_status)
			target_final(p, worker, dl->slot, dl->gen, dl->sent_status);
		json_t *o = dialogs_dialog_json(worker, dl, now_ms);
		if (o)
			json_array_append_new(p->dialogs, o);
		return;
	}
	if (h->type != DMSG_QUERY_DONE)
		return;
	p->used += h->gen;
	p->matched += h->reason;
	p->early += h->home;
	p->ack_wait += h->parsed_len;
	p->ending += h->replaced_len;
	if (--p->workers_left == 0)
		finish(d, now_ms);
}

void dialogs_on_final(struct daemon *d, unsigned worker, const struct dmsg_hdr *h)
{
	struct dlg_pending *p = &d->query;

	if (!p->active || p->q.kind != DLG_QUERY_SEND)
		return;
	target_final(p, worker, h->slot, h->gen, (int)h->reason);
}

void dialogs_tick(struct daemon *d, uint64_t now_ms)
{
	struct dlg_pending *p = &d->query;

	if (!p->active || !p->awaiting || p->listing || p->workers_left ||
	    (p->finals < p->sent && now_ms < p->wait_until_ms))
		return;
	struct dlg_query q = p->q;
	q.kind = DLG_QUERY_LIST;
	p->dialogs = json_array();
	if (p->dialogs && push_query(d, &q)) {
		p->listing = true;
		return;
	}
	json_decref(p->dialogs); /* a ring full: again at the next turn */
	p->dialogs = NULL;
}
