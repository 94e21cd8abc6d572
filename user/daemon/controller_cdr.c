/*
 * controller_cdr.c - the controller's call detail records (their members:
 * controller.h).
 *
 * Owns: the text of each CDR. The members known when leg B's INVITE goes
 * are kept in the set-up record as JSON without its closing brace
 * (ctl_cdr_begin), the target and attempts rewritten when the call fails
 * over (ctl_cdr_retarget); a call that ends before any 2xx is written at its
 * final (ctl_cdr_unanswered), or when the daemon stops with no next process
 * to take it up (ctl_cdr_stopped_in_setup); an answered call's record waits by dialog slot
 * (struct cdr_open, ctl_cdr_answered) until the worker ends the dialog, and
 * is written then with the end reason (ctl_cdr_close_open); a call carried
 * over a restart gets one opened from what its dialog record holds
 * (ctl_cdr_carried). Times are UTC with milliseconds, each second formatted
 * once (iso_time); bytes from the network are cleaned to printable ASCII
 * (ctl_json_text) and escaped by jansson.
 *
 * Does not own: when a call ends and why, nor the calls' counters
 * (controller.c, and the worker through ctl_on_dialog_ended), nor the file
 * the records go to (cdr.c, behind ctl_hooks.cdr).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "core/clock.h"
#include "core/wbuf.h"
#include "daemon/controller_int.h"
#include "daemon/log.h"
#include "net/udp.h"

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "2026-12-01T23:59:59.123Z". The part up to the seconds is formatted again
 * only when the second changes: gmtime_r and strftime, three times a call,
 * took 1.4% of the controller's samples at 10000 calls/s. */
static void iso_time(struct iso_clock *t, uint64_t ms, char out[32])
{
	uint64_t sec = ms / 1000;
	if (sec != t->sec || !t->text[0]) {
		time_t s = (time_t)sec;
		struct tm tm;
		gmtime_r(&s, &tm);
		if (strftime(t->text, sizeof(t->text), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
			t->text[0] = '\0';
		t->sec = sec;
	}
	unsigned frac = (unsigned)(ms % 1000);
	size_t n = strlen(t->text);
	memcpy(out, t->text, n);
	out[n] = '.';
	out[n + 1] = (char)('0' + frac / 100);
	out[n + 2] = (char)('0' + frac / 10 % 10);
	out[n + 3] = (char)('0' + frac % 10);
	memcpy(out + n + 4, "Z", 2);
}

/* At most CTL_CDR_URI_MAX bytes of p into buf, printable ASCII kept, others
 * '?' (every byte comes from the network; JSON needs valid UTF-8); the count. */
static size_t json_text_clean(const char *p, size_t len, char buf[CTL_CDR_URI_MAX])
{
	if (len > CTL_CDR_URI_MAX)
		len = CTL_CDR_URI_MAX;
	for (size_t i = 0; i < len; i++)
		buf[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
	return len;
}

/* A JSON string of json_text_clean's bytes of p. */
json_t *ctl_json_text(const char *p, size_t len)
{
	char buf[CTL_CDR_URI_MAX];
	return json_stringn(buf, json_text_clean(p, len, buf));
}

/* Appends ,"name": (without the comma for the first member). */
static void cdr_put_key(struct wbuf *w, const char *name)
{
	if (w->len)
		wbuf_put(w, ",", 1);
	wbuf_put(w, "\"", 1);
	wbuf_puts(w, name);
	wbuf_put(w, "\":", 2);
}

/* Appends ,"name":"text" (without the comma for the first member) as
 * json_dumps writes that member: the text cleaned as ctl_json_text does,
 * then escaped by jansson, through one string value kept for it (no object
 * and no output buffer made per call). */
static void cdr_put_member(struct ctl *c, struct wbuf *w, const char *name, const char *p,
			   size_t len)
{
	char buf[CTL_CDR_URI_MAX];
	size_t n = json_text_clean(p, len, buf);

	cdr_put_key(w, name);
	if (w->overflow || json_string_setn_nocheck(c->cdr_text, buf, n) != 0) {
		w->overflow = true;
		return;
	}
	size_t room = w->cap - w->len;
	size_t need = json_dumpb(c->cdr_text, w->p + w->len, room, JSON_ENCODE_ANY);
	if (need == 0 || need > room)
		w->overflow = true;
	else
		w->len += need;
}

static void cdr_put_cstr(struct ctl *c, struct wbuf *w, const char *name, const char *s)
{
	cdr_put_member(c, w, name, s, strlen(s));
}

/* Appends ,"name":"text" for a text sipshard formats itself from digits,
 * letters and ".:[]-@" (an address, a time, leg B's Call-ID): nothing in it
 * needs escaping, so it skips the encoder. */
static void cdr_put_ours(struct wbuf *w, const char *name, const char *s)
{
	cdr_put_key(w, name);
	wbuf_put(w, "\"", 1);
	wbuf_puts(w, s);
	wbuf_put(w, "\"", 1);
}

static void cdr_put_view(struct ctl *c, struct wbuf *w, const char *name, const struct sip_msg *m,
			 sip_view v)
{
	cdr_put_member(c, w, name, m->buf + v.off, v.len);
}

/* The members that change when the call fails over, last in k->cdr:
 * ,"target":"IP:port","attempts":N,"start":"..." */
static void cdr_put_target(struct wbuf *w, const struct ctl_call *k, const char *target,
			   const char *start)
{
	cdr_put_ours(w, "target", target);
	cdr_put_key(w, "attempts");
	wbuf_put_uint(w, k->attempts);
	cdr_put_ours(w, "start", start);
}

/* The members known when the INVITE goes to leg B, kept in k->cdr: the
 * object without its closing brace. r: the route taken; NULL for a call that
 * replaces or joins a dialog: "route" null, "target" the address it went to. */
void ctl_cdr_begin(struct ctl *c, struct ctl_call *k, const struct sip_msg *m,
		   const struct config_route *r)
{
	char src[UDP_ADDR_STRLEN], dst[UDP_ADDR_STRLEN], start[32];

	k->cdr_len = 0;
	if (!c->hooks.cdr)
		return;
	k->start_wall_ms = wall_ms();
	iso_time(&c->clock, k->start_wall_ms, start);
	udp_format_addr((const struct sockaddr *)&k->a_peer, src, sizeof(src));
	struct wbuf w = {k->cdr + 1, 0, sizeof(k->cdr) - 1, false};
	cdr_put_cstr(c, &w, "call_id", k->a_call_id);
	cdr_put_ours(&w, "leg_b_call_id", k->b_call_id);
	cdr_put_view(c, &w, "from", m, m->from.uri.whole);
	cdr_put_view(c, &w, "to", m, m->to.uri.whole);
	cdr_put_view(c, &w, "request_uri", m, m->ruri.whole);
	cdr_put_ours(&w, "source", src);
	if (r) {
		cdr_put_cstr(c, &w, "route", r->name);
	} else {
		cdr_put_key(&w, "route");
		wbuf_puts(&w, "null");
		udp_format_addr((const struct sockaddr *)&k->b_peer, dst, sizeof(dst));
	}
	k->cdr_target_at = (uint16_t)(w.len + 1);
	cdr_put_target(&w, k, r ? r->targets[k->target].text : dst, start);
	if (w.overflow) {
		log_warn("CDR of call %s not kept: too long", k->a_call_id);
		return;
	}
	k->cdr[0] = '{';
	k->cdr_len = (uint16_t)(w.len + 1);
}

/* Leg B's INVITE went to the next target: the CDR's target and attempts
 * rewritten (the members before them stay). */
void ctl_cdr_retarget(struct ctl *c, struct ctl_call *k, const char *target)
{
	char start[32];

	if (!k->cdr_len)
		return;
	iso_time(&c->clock, k->start_wall_ms, start);
	struct wbuf w = {k->cdr + 1, (size_t)k->cdr_target_at - 1, sizeof(k->cdr) - 1, false};
	cdr_put_target(&w, k, target, start);
	if (w.overflow) {
		log_warn("CDR of call %s not kept: too long", k->a_call_id);
		k->cdr_len = 0;
		return;
	}
	k->cdr_len = (uint16_t)(w.len + 1);
}

/* Writes prefix, the members in fmt, a closing brace and a newline. */
static void cdr_write(struct ctl *c, const char *prefix, size_t plen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void cdr_write(struct ctl *c, const char *prefix, size_t plen, const char *fmt, ...)
{
	va_list ap;
	size_t cap = sizeof(c->cdr_line);

	if (plen > cap - 3)
		return;
	memcpy(c->cdr_line, prefix, plen);
	va_start(ap, fmt);
	int n = vsnprintf(c->cdr_line + plen, cap - plen - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - plen - 2)
		return;
	size_t len = plen + (size_t)n;
	memcpy(c->cdr_line + len, "}\n", 2);
	c->hooks.cdr(c->hooks.arg, c->cdr_line, len + 2);
	c->st.cdrs++;
}

/* The record of a call that ended before any 2xx: status is the final the
 * caller got, as JSON ("486", or "null" for none), tail what follows
 * setup_ms. */
static void cdr_before_answer(struct ctl *c, const struct ctl_call *k, const char *disposition,
			      const char *status, const char *tail)
{
	char end[32];
	if (!c->hooks.cdr || !k->cdr_len)
		return;
	/* 0 when the wall clock was stepped back meanwhile: a CDR's times never
	 * run backwards, and no duration wraps to 2^64 - x */
	uint64_t setup = clock_since(wall_ms(), k->start_wall_ms);
	iso_time(&c->clock, k->start_wall_ms + setup, end);
	cdr_write(c, k->cdr, k->cdr_len,
		  ",\"end\":\"%s\",\"disposition\":\"%s\",\"status\":%s,\"setup_ms\":%" PRIu64 "%s",
		  end, disposition, status, setup, tail);
}

/* A call that ended before any 2xx. */
void ctl_cdr_unanswered(struct ctl *c, const struct ctl_call *k, const char *disposition,
			int status)
{
	char text[16];
	snprintf(text, sizeof(text), "%d", status);
	cdr_before_answer(c, k, disposition, text, "");
}

/* A call still setting up as the daemon stops, which no next process takes
 * up (ctl_end_open_cdrs): written as one that ended before any 2xx, with
 * "status" null, as the caller was sent no final, and end_reason
 * daemon_stopped. */
void ctl_cdr_stopped_in_setup(struct ctl *c, const struct ctl_call *k, const char *disposition)
{
	cdr_before_answer(c, k, disposition, "null", ",\"end_reason\":\"daemon_stopped\"");
}

/* An answered call's record, from what is open and why it ended. */
void ctl_cdr_close_open(struct ctl *c, struct cdr_open *e, const char *why)
{
	char end[32];
	/* the end is the answer plus the duration, so that end - answer is
	 * duration_ms whatever the wall clock did meanwhile */
	uint64_t duration = clock_since(clock_mono_ms(), e->answer_mono_ms);
	iso_time(&c->clock, e->answer_wall_ms + duration, end);
	cdr_write(c, e->line, strlen(e->line),
		  ",\"end\":\"%s\",\"disposition\":\"answered\",\"status\":%d,\"setup_ms\":%" PRIu64
		  ",\"duration_ms\":%" PRIu64 ",\"end_reason\":\"%s\"",
		  end, e->status, e->answer_wall_ms - e->start_wall_ms, duration, why);
	free(e->line);
	e->line = NULL;
}

/* The first 2xx: the record waits by dialog slot until the worker ends the
 * dialog, or is written now when there is no dialog to wait for. */
void ctl_cdr_answered(struct ctl *c, const struct ctl_call *k, int status)
{
	char answer[32];
	if (!c->hooks.cdr || !k->cdr_len)
		return;
	/* an answer that reads before the start (the clock stepped back) is
	 * written at the start: setup_ms 0, never 2^64 - x */
	uint64_t answer_wall = k->start_wall_ms + clock_since(wall_ms(), k->start_wall_ms);
	struct cdr_open tmp = {NULL,	    k->slot_gen,     k->start_wall_ms,
			       answer_wall, clock_mono_ms(), status};
	iso_time(&c->clock, tmp.answer_wall_ms, answer);
	size_t cap = (size_t)k->cdr_len + 48;
	tmp.line = malloc(cap);
	if (!tmp.line) {
		log_warn("CDR of call %s lost: out of memory", k->a_call_id);
		return;
	}
	snprintf(tmp.line, cap, "%.*s,\"answer\":\"%s\"", (int)k->cdr_len, k->cdr, answer);
	struct cdr_open *e = &c->pools[k->shard].cdr[k->slot];
	if (k->slot_gone || !k->installed) {
		ctl_cdr_close_open(c, &tmp, "no_dialog");
		return;
	}
	if (e->line) /* cannot happen: a slot comes back only once its dialog ended */
		ctl_cdr_close_open(c, e, "released");
	*e = tmp;
}

/* The CDR of a call carried over a restart: what its dialog record holds
 * (the legs, and the members ctl_cdr_begin wrote that they do not hold),
 * opened now (the part of the call this process carries). */
void ctl_cdr_carried(struct slot_pool *p, const struct shard_dialog *d, uint64_t now_mono_ms)
{
	const struct sip_session *a = &d->legs[SHARD_LEG_A], *b = &d->legs[SHARD_LEG_B];
	char src[UDP_ADDR_STRLEN], dst[UDP_ADDR_STRLEN], begun[32], now_text[32];
	uint64_t now = wall_ms();
	uint64_t age = now_mono_ms > d->created_ms ? now_mono_ms - d->created_ms : 0;

	udp_format_addr((const struct sockaddr *)&a->peer, src, sizeof(src));
	udp_format_addr((const struct sockaddr *)&b->peer, dst, sizeof(dst));
	struct iso_clock clock = {0};
	iso_time(&clock, now - age, begun);
	iso_time(&clock, now, now_text);
	json_t *o = json_object();
	json_object_set_new(o, "call_id", ctl_json_text(a->call_id, a->call_id_len));
	json_object_set_new(o, "leg_b_call_id", ctl_json_text(b->call_id, b->call_id_len));
	json_object_set_new(o, "from", ctl_json_text(a->remote_uri, a->remote_uri_len));
	json_object_set_new(o, "to", ctl_json_text(a->local_uri, a->local_uri_len));
	json_object_set_new(o, "request_uri",
			    ctl_json_text(d->cdr.request_uri, d->cdr.request_uri_len));
	json_object_set_new(o, "source", json_string(src));
	json_object_set_new(o, "route",
			    d->cdr.route_len ? ctl_json_text(d->cdr.route, d->cdr.route_len)
					     : json_null());
	json_object_set_new(o, "target", json_string(dst));
	json_object_set_new(o, "attempts", json_integer(d->cdr.attempts));
	json_object_set_new(o, "carried_over", json_true());
	json_object_set_new(o, "call_start", json_string(begun));
	json_object_set_new(o, "start", json_string(now_text));
	json_object_set_new(o, "answer", json_string(now_text));
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	size_t len = s ? strlen(s) : 0;
	if (len < 2) {
		free(s);
		log_warn("CDR of carried-over call %.*s lost: out of memory", (int)a->call_id_len,
			 a->call_id);
		return;
	}
	s[len - 1] = '\0'; /* the closing brace comes when the call ends */
	p->cdr[d->slot] = (struct cdr_open){s, d->gen, now, now, now_mono_ms, 200};
}
