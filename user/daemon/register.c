/*
 * register.c - sipshard registering itself with registrars (see register.h).
 *
 * Each registration is one REGISTER dialog-less "call" of its own (RFC 3261
 * 10.2): a Call-ID and From tag kept for as long as its address of record
 * and registrar are (a reload that changes its credentials, expiry or name
 * keeps them, and the CSeq: take_over), a CSeq that grows by one with each
 * REGISTER, a new branch for each transaction.
 * An attempt is one REGISTER, plus one more for each digest challenge (one
 * more when a challenger says its nonce was stale; an outbound proxy's 407
 * and then the registrar's 401 are both answered, each later REGISTER
 * carrying both lines) and one for a 423's Min-Expires, which carries the
 * credentials lines of the REGISTER refused again (the next nonce-count),
 * for two 423s at most (REG_RAISES_MAX: a third fails the attempt); it
 * ends registered (a 2xx) or failed (another final, or nothing by Timer F),
 * and the next one is due at half the granted expiry, or retry_s later. The
 * Min-Expires of a 423 is remembered: the refreshes ask for it at once,
 * instead of meeting the 423 (and, with a registrar that challenges, its
 * 401) each time.
 *
 * A binding whose registration a reload removed, or pointed at another
 * registrar or address of record, is unregistered (RFC 3261 10.2.2): its
 * state moves to a leaving slot, which sends one more REGISTER of its
 * Call-ID, asking for 0 s, to the registrar (the SRV record) that granted
 * the binding, answers challenges as an attempt does, and ends at the first
 * final or Timer F. It is not retried: the binding lapses at its expiry
 * anyway.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/wbuf.h"
#include "daemon/credentials.h"
#include "daemon/log.h"
#include "daemon/register.h"
#include "daemon/relay.h"

/* prefix, 'r', the entry's index (2 hex digits) and a 64-bit nonce */
#define REG_BRANCH_LEN (sizeof(RELAY_CTL_BRANCH_PREFIX) - 1 + 1 + 2 + 16)

static void reg_branch(const struct reg_entry *e, unsigned i, char out[REG_BRANCH_LEN + 1])
{
	snprintf(out, REG_BRANCH_LEN + 1, RELAY_CTL_BRANCH_PREFIX "r%02x%016" PRIx64, i & 0xffu,
		 e->nonce);
}

/* The address of record's domain: what the REGISTER's Request-URI names. */
static const char *aor_domain(const struct config_registration *g)
{
	return g->aor + 4 + g->aor_user_len + 1;
}

/* "sip:DOMAIN": the Request-URI, into out. */
static size_t request_uri(const struct config_registration *g, char *out, size_t cap)
{
	int n = snprintf(out, cap, "sip:%s", aor_domain(g));
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* The entry whose branch has index i (reg_branch): rs->e[i], or
 * rs->leaving[i - REG_LEAVING_INDEX]; NULL for none. */
static struct reg_entry *entry_at(struct reg_set *rs, int64_t i)
{
	if (i >= 0 && (uint64_t)i < rs->n)
		return &rs->e[i];
	if (i >= REG_LEAVING_INDEX && (uint64_t)i < REG_LEAVING_INDEX + REG_LEAVING_MAX)
		return &rs->leaving[i - REG_LEAVING_INDEX];
	return NULL;
}

/* The REGISTER of e's next transaction (i: its index, entry_at), with
 * credentials (a header line) or none, into e->request: a CSeq one higher,
 * a new branch. */
static int build_register(struct reg_set *rs, struct reg_entry *e, unsigned i,
			  const char *credentials, const struct reg_ops *ops)
{
	const struct config_registration *g = &e->cfg;
	char branch[REG_BRANCH_LEN + 1], ruri[CONFIG_AOR_MAX + 8];
	struct wbuf w = {e->request, 0, sizeof(e->request), false};

	e->cseq++;
	e->nonce = ops->rand(ops->arg);
	reg_branch(e, i, branch);
	request_uri(g, ruri, sizeof(ruri));
	wbuf_puts(&w, "REGISTER ");
	wbuf_puts(&w, ruri);
	wbuf_puts(&w, " SIP/2.0\r\nVia: SIP/2.0/UDP ");
	wbuf_puts(&w, rs->advertise);
	wbuf_puts(&w, ";branch=");
	wbuf_puts(&w, branch);
	wbuf_puts(&w, ";rport\r\nMax-Forwards: 70\r\nFrom: <");
	wbuf_puts(&w, g->aor);
	wbuf_puts(&w, ">;tag=");
	wbuf_puts(&w, e->from_tag);
	wbuf_puts(&w, "\r\nTo: <");
	wbuf_puts(&w, g->aor);
	wbuf_puts(&w, ">\r\nCall-ID: ");
	wbuf_puts(&w, e->call_id);
	wbuf_puts(&w, "\r\nCSeq: ");
	wbuf_put_uint(&w, e->cseq);
	wbuf_puts(&w, " REGISTER\r\nContact: <sip:");
	wbuf_put(&w, g->aor + 4, g->aor_user_len);
	wbuf_puts(&w, "@");
	wbuf_puts(&w, rs->advertise);
	wbuf_puts(&w, ">;expires=");
	wbuf_put_uint(&w, e->asked_s);
	wbuf_puts(&w, "\r\nExpires: ");
	wbuf_put_uint(&w, e->asked_s);
	wbuf_puts(&w, "\r\n");
	if (credentials)
		wbuf_puts(&w, credentials);
	wbuf_puts(&w, "Content-Length: 0\r\n\r\n");
	int n = wbuf_result(&w);
	if (n < 0)
		return n;
	e->request_len = (uint16_t)n;
	return 0;
}

/* e's REGISTER to its registrar: the first time, or again (Timer E). */
static void send_request(const struct reg_entry *e, const struct reg_ops *ops)
{
	const struct config_target *to = reg_registrar(e);
	ops->send(ops->arg, e->request, e->request_len, (const struct sockaddr *)&to->addr,
		  to->addr_len);
}

/* Starts e's next transaction (i: its index; Timer E and F from now);
 * -ENOSPC when its REGISTER does not fit (the attempt fails). */
static int send_register(struct reg_set *rs, struct reg_entry *e, unsigned i,
			 const char *credentials, uint64_t now, const struct reg_ops *ops)
{
	int rc = build_register(rs, e, i, credentials, ops);
	if (rc)
		return rc;
	send_request(e, ops);
	e->in_flight = true;
	e->t_interval = rs->t1_ms;
	e->t_next = now + rs->t1_ms;
	e->t_deadline = now + 64ull * rs->t1_ms;
	rs->st.sent++;
	return 0;
}

/* A new attempt: the expiry configured, no challenge answered yet. */
static void start_attempt(struct reg_set *rs, unsigned i, uint64_t now, const struct reg_ops *ops)
{
	struct reg_entry *e = &rs->e[i];
	/* RFC 3261 10.2.8: what the registrar said it takes at least */
	e->asked_s = e->cfg.expires_s > e->min_expires_s ? e->cfg.expires_s : e->min_expires_s;
	e->creds = (struct cred_state){0};
	e->creds_repeated = false;
	e->raised = 0;
	const struct config_target *at = reg_registrar(e);
	if (at->no_service) {
		/* a dns_refresh_s found the registrar's SRV records all "."
		 * (RFC 2782: the service is decidedly not available there):
		 * there is nowhere to send to. Tried again retry_s later; the
		 * refresh that finds records again configures the registration
		 * anew, which then registers at once. */
		e->last_status = 0;
		e->next_send = now + e->cfg.retry_s * 1000ull;
		rs->st.failed++;
		log_warn("registration %s: no REGISTER sent: _sip._udp.%s says no SIP over UDP "
			 "(its SRV records are all \".\", RFC 2782); next attempt in %u s",
			 e->cfg.name, at->domain, e->cfg.retry_s);
		return;
	}
	if (send_register(rs, e, i, NULL, now, ops) != 0) {
		log_warn("registration %s: the REGISTER does not fit in %d bytes", e->cfg.name,
			 REG_REQUEST_MAX);
		e->next_send = now + e->cfg.retry_s * 1000ull;
	}
}

/* A leaving entry's REGISTER got its final (status; 408 for none by Timer
 * F), or why it could not go on (status 0: it was not sent, or its slot is
 * wanted): the slot is free again. Nothing is tried again: the binding
 * lapses at its expiry whatever happens. */
static void leave_ended(struct reg_set *rs, struct reg_entry *e, int status, const char *why,
			uint64_t now)
{
	const char *at = reg_registrar(e)->text;
	e->in_flight = false;
	if (status >= 200 && status < 300) {
		rs->st.unreg_done++;
		log_info("registration %s: unregistered from %s", e->cfg.name, at);
		return;
	}
	rs->st.unreg_failed++;
	if (status)
		log_warn("registration %s: not unregistered from %s: %d (%s); its binding lapses "
			 "in %" PRIu64 " s",
			 e->cfg.name, at, status, why, reg_expires_in_s(e, now));
	else
		log_warn("registration %s: not unregistered from %s: %s; its binding lapses in "
			 "%" PRIu64 " s",
			 e->cfg.name, at, why, reg_expires_in_s(e, now));
}

/* The longest Retry-After a failed attempt waits for: retry_s's own maximum,
 * so that a registrar that asks for days is still tried again within the
 * hour. */
#define REG_RETRY_AFTER_MAX_S 3600

/* The attempt ended without a binding (status, or 408 for none): the next
 * one is retry_s away, or retry_after_s (the response's Retry-After, 0 for
 * none) when that is longer: the registrar said when it can serve again
 * (RFC 3261 21.5.4, 20.33), and coming back every retry_s meanwhile only
 * adds to the load of one overloaded or in maintenance. A binding from an
 * earlier attempt lasts until it expires. A registrar by SRV whose record
 * gave no answer (Timer F) or a 503 is tried at its next record, in the
 * records' order, retry_s later (RFC 3263 4.3: the failures that say the
 * server, not the request, is at fault; the Retry-After was that server's). */
static void attempt_failed(struct reg_set *rs, struct reg_entry *e, int status, const char *why,
			   uint32_t retry_after_s, uint64_t now)
{
	const char *at = reg_registrar(e)->text;
	if (e->leaving) {
		leave_ended(rs, e, status, why, now);
		return;
	}
	const bool moves = e->cfg.nregistrar_srv > 1 && (status == 408 || status == 503);
	uint32_t wait_s = e->cfg.retry_s;
	if (!moves && retry_after_s > wait_s)
		wait_s =
		    retry_after_s < REG_RETRY_AFTER_MAX_S ? retry_after_s : REG_RETRY_AFTER_MAX_S;
	e->in_flight = false;
	e->last_status = status;
	e->next_send = now + wait_s * 1000ull;
	rs->st.failed++;
	if (moves) {
		e->srv_at = (uint8_t)((e->srv_at + 1u) % e->cfg.nregistrar_srv);
		log_warn("registration %s at %s: %d (%s); next attempt in %u s, at %s", e->cfg.name,
			 at, status, why, wait_s, reg_registrar(e)->text);
		return;
	}
	log_warn("registration %s at %s: %d (%s); next attempt in %u s%s", e->cfg.name, at, status,
		 why, wait_s, wait_s > e->cfg.retry_s ? " (its Retry-After)" : "");
}

/* Delta-seconds at p (digits, up to a year), moving *p past them; false
 * when there are none or too many. */
static bool read_seconds(const char **p, const char *end, uint32_t *out)
{
	uint64_t v = 0;
	const char *q = *p;
	while (q < end && *q >= '0' && *q <= '9' && v <= 86400ull * 365)
		v = v * 10 + (uint64_t)(*q++ - '0');
	if (q == *p || v > 86400ull * 365)
		return false;
	*out = (uint32_t)v;
	*p = q;
	return true;
}

/* The value of header line h as delta-seconds (Expires, Min-Expires). */
static bool header_seconds(const struct sip_msg *r, const struct sip_hdr_line *h, uint32_t *out)
{
	const char *p = r->buf + h->value.off, *end = p + h->value.len;
	return read_seconds(&p, end, out) && p == end;
}

/* Our Contact's URI, "sip:USER@ADVERTISE", into buf (cap bytes) and *u; false
 * when it does not fit or parse (it always does: the aor and advertise are
 * checked at load). */
static bool our_contact(const struct reg_set *rs, const struct reg_entry *e, char *buf, size_t cap,
			struct sip_uri *u)
{
	const struct config_registration *g = &e->cfg;
	int n = snprintf(buf, cap, "sip:%.*s@%s", (int)g->aor_user_len, g->aor + 4, rs->advertise);
	return n > 0 && (size_t)n < cap && n <= UINT16_MAX &&
	       sip_parse_uri(u, buf, 0, (uint16_t)n) == 0;
}

/* The expires parameter of Contact a (in buf), into *out; false without one. */
static bool contact_expires(const char *buf, const struct sip_addr *a, uint32_t *out)
{
	uint16_t pos = (uint16_t)(a->params.off - 1); /* its first ';' */
	struct sip_param prm;
	while (a->params.len && sip_param_next(buf, a->params, &pos, &prm) == 1) {
		const char *v = buf + prm.value.off, *end = v + prm.value.len;
		if (sip_unescaped_ieq(buf + prm.name.off, buf + prm.name.off + prm.name.len,
				      "expires") &&
		    read_seconds(&v, end, out) && v == end)
			return true;
	}
	return false;
}

/* What a 2xx says of the bindings: the expiry it grants ours, and whether
 * and among how many it lists it. */
struct granted {
	uint32_t expires_s;
	bool listed;	 /* our Contact is among the bindings listed */
	unsigned others; /* bindings listed that are not ours */
};

/* The expiry a 2xx granted our Contact: its expires parameter, else the
 * Expires header, else what was asked (RFC 3261 10.2.4). Ours is found
 * among every Contact of the 2xx (not only those the parser keeps) as RFC
 * 3261 19.1.4 compares URIs (sip_uri_equal), so that a registrar that
 * writes it another way (letter case, escapes, parameters added to it or to
 * the header) still lists it. One that does not list it is taken all the
 * same, for the Expires header or what was asked, and the operator told
 * (contact_listed). */
static struct granted granted_expiry(const struct reg_set *rs, const struct reg_entry *e,
				     const struct sip_msg *r)
{
	char ours[CONFIG_AOR_MAX + 64];
	struct sip_uri u;
	struct granted got = {e->asked_s, false, 0};
	bool have_ours = our_contact(rs, e, ours, sizeof(ours), &u), found = false;
	uint32_t v;

	for (uint16_t i = 0; i < r->nhdrs && !r->contact_star; i++) {
		const struct sip_hdr_line *h = &r->hdrs[i];
		struct sip_addr a;
		uint16_t pos = h->value.off;
		if (h->id != SIP_HDR_CONTACT)
			continue;
		while (sip_addr_list_next(r->buf, h->value, &pos, &a) == 1) {
			bool mine =
			    have_ours && !got.listed && sip_uri_equal(ours, &u, r->buf, &a.uri);
			if (!mine) {
				got.others++;
				continue;
			}
			got.listed = true;
			found = contact_expires(r->buf, &a, &v);
			if (found)
				got.expires_s = v;
		}
	}
	const struct sip_hdr_line *h = sip_find_hdr(r, SIP_HDR_EXPIRES);
	if (!found && h && header_seconds(r, h, &v))
		got.expires_s = v;
	return got;
}

/* A 423's Min-Expires (RFC 3261 10.3 step 7) into *out (0 written is 0); false
 * when it has none or one that is no delta-seconds. Digits worth more than a
 * year, more than read_seconds takes, are UINT32_MAX: above any that can be
 * met, and not the same as none in the log. */
static bool min_expires(const struct sip_msg *r, uint32_t *out)
{
	*out = 0;
	for (uint16_t i = 0; i < r->nhdrs; i++) {
		const struct sip_hdr_line *h = &r->hdrs[i];
		if (h->id != SIP_HDR_OTHER || !sip_view_ieq(r->buf, h->name, "Min-Expires", 11))
			continue;
		if (header_seconds(r, h, out))
			return true;
		const char *p = r->buf + h->value.off, *end = p + h->value.len;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (!h->value.len || p != end)
			return false;
		*out = UINT32_MAX;
		return true;
	}
	return false;
}

/* A 2xx that does not list our Contact (got), or the first that lists it
 * again: counted, and logged when that changes. Taken as a binding all the
 * same (the Expires header, or what was asked): a registrar that rewrites
 * the Contact past recognition (a NAT's address and port for ours) or lists
 * none still routes its calls to us, and refusing its 2xx would take a
 * working trunk down; the operator is told instead (the log, once; the
 * count, register_2xx_contact_unlisted; the flag, sipshardctl registrations
 * and registration_contact_unlisted). */
static void contact_listed(struct reg_set *rs, struct reg_entry *e, const struct granted *got)
{
	const char *at = reg_registrar(e)->text;
	char ours[CONFIG_AOR_MAX + 64];
	struct sip_uri u;

	if (!got->listed)
		rs->st.contact_unlisted++;
	if (got->listed == !e->contact_unlisted)
		return;
	e->contact_unlisted = !got->listed;
	if (got->listed) {
		log_info("registration %s: %s lists our Contact again", e->cfg.name, at);
		return;
	}
	if (!our_contact(rs, e, ours, sizeof(ours), &u))
		ours[0] = '\0';
	if (got->others)
		log_warn("registration %s: the 2xx of %s does not list our Contact <%s> (%u other "
			 "binding%s listed): taken as registered for %u s (its Expires, or what "
			 "was asked); logged again once it does",
			 e->cfg.name, at, ours, got->others, got->others == 1 ? "" : "s",
			 got->expires_s);
	else
		log_warn("registration %s: the 2xx of %s does not list our Contact <%s> (none "
			 "listed): taken as registered for %u s (its Expires, or what was asked); "
			 "logged again once it does",
			 e->cfg.name, at, ours, got->expires_s);
}

static void registered(struct reg_set *rs, struct reg_entry *e, const struct sip_msg *r,
		       uint64_t now)
{
	const struct granted got = granted_expiry(rs, e, r);
	const uint32_t granted = got.expires_s;
	if (granted != 0)
		contact_listed(rs, e, &got);
	if (granted == 0) {
		/* the registrar holds no binding of ours now (RFC 3261 10.2.4: the
		 * 2xx lists the bindings in force): one from an earlier attempt is
		 * gone too, and calls to the Contact with it */
		e->registered_until = 0;
		attempt_failed(rs, e, r->status, "the registrar granted no time", 0, now);
		return;
	}
	bool was = reg_is_registered(e, now);
	e->in_flight = false;
	e->last_status = r->status;
	e->granted_s = granted;
	e->registered_until = now + granted * 1000ull;
	e->bound_srv = e->srv_at;
	/* refreshed at half the time, so that a lost attempt and its retry
	 * still come before the binding lapses */
	e->next_send = now + (granted > 1 ? granted * 500ull : 1000ull);
	rs->st.registered++;
	if (was)
		log_debug("registration %s: refreshed at %s for %u s", e->cfg.name,
			  reg_registrar(e)->text, granted);
	else
		log_info("registration %s: registered at %s for %u s", e->cfg.name,
			 reg_registrar(e)->text, granted);
}

bool reg_on_response(struct reg_set *rs, const struct sip_msg *r, uint64_t now,
		     const struct reg_ops *ops)
{
	const size_t plen = sizeof(RELAY_CTL_BRANCH_PREFIX) - 1;
	char want[REG_BRANCH_LEN + 1], lines[CRED_LINES_MAX], ruri[CONFIG_AOR_MAX + 8];
	const char *why = NULL;

	if (r->is_request || r->cseq.method_id != SIP_METHOD_REGISTER || !r->nvias ||
	    r->vias[0].branch.len != REG_BRANCH_LEN)
		return false;
	const char *b = r->buf + r->vias[0].branch.off;
	if (memcmp(b, RELAY_CTL_BRANCH_PREFIX, plen) != 0 || b[plen] != 'r')
		return false;
	int64_t i = relay_hex_digits(b + plen + 1, 2);
	struct reg_entry *e = entry_at(rs, i);
	if (e)
		reg_branch(e, (unsigned)i, want);
	if (!e || !e->in_flight || memcmp(b, want, REG_BRANCH_LEN) != 0) {
		rs->st.dropped_stale++; /* a retransmitted final, or a forgery */
		return true;
	}
	uint32_t min = 0;
	const bool has_min = r->status == 423 && min_expires(r, &min);
	if (r->status < 200) {
		/* Proceeding: retransmissions at T2 (RFC 3261 17.1.2.2) */
		e->t_interval = rs->t2_ms;
		e->t_next = now + rs->t2_ms;
	} else if (r->status < 300 && e->leaving) {
		leave_ended(rs, e, r->status, "", now);
	} else if (r->status < 300) {
		registered(rs, e, r, now);
	} else if (r->status == 401 || r->status == 407) {
		size_t ul = request_uri(&e->cfg, ruri, sizeof(ruri));
		/* read from the REGISTER as sent, before the next is built over it */
		const struct cred_request rq = {"REGISTER", ruri, ul, e->request, e->request_len};
		struct cred_state creds = e->creds;
		int n = cred_answer(&e->cfg.auth, r, &rq, &creds, ops->rand(ops->arg), lines,
				    sizeof(lines), &why);
		if (n == -EACCES && e->creds_repeated) {
			/* a server that takes a nonce once refuses it sent again
			 * without saying stale=true: answered afresh, as a
			 * REGISTER without credentials would have been */
			creds = (struct cred_state){0};
			n = cred_answer(&e->cfg.auth, r, &rq, &creds, ops->rand(ops->arg), lines,
					sizeof(lines), &why);
		}
		if (n >= 0 && send_register(rs, e, (unsigned)i, lines, now, ops) != 0) {
			n = -ENOSPC;
			why = "the REGISTER with the answer does not fit";
		}
		if (n < 0) {
			attempt_failed(rs, e, r->status, why, 0, now);
		} else {
			e->creds = creds;
			e->creds_repeated = false;
			rs->st.auth_answered++;
		}
	} else if (r->status == 423 && !e->leaving && min > e->asked_s && min <= 86400 &&
		   e->raised >= REG_RAISES_MAX) {
		/* remembered: the next attempt, retry_s later, asks for it */
		e->min_expires_s = min;
		attempt_failed(rs, e, r->status, "a third 423 in the attempt", 0, now);
	} else if (r->status == 423 && !e->leaving && min > e->asked_s && min <= 86400) {
		e->raised++;
		e->asked_s = min;
		e->min_expires_s = min;
		log_info("registration %s: %s wants at least %u s", e->cfg.name,
			 reg_registrar(e)->text, e->asked_s);
		/* the credentials the refused REGISTER carried go again, each with
		 * the next nc (RFC 3261 22.3), so that the challenges it answered
		 * are not met again; none when they cannot be read back */
		size_t ul = request_uri(&e->cfg, ruri, sizeof(ruri));
		const struct cred_request rq = {"REGISTER", ruri, ul, e->request, e->request_len};
		struct cred_state creds = e->creds;
		int n = cred_repeat(&e->cfg.auth, &rq, &creds, ops->rand(ops->arg), lines,
				    sizeof(lines), &why);
		if (n < 0) {
			creds = (struct cred_state){0};
			n = 0;
		}
		if (send_register(rs, e, (unsigned)i, n > 0 ? lines : NULL, now, ops) != 0) {
			attempt_failed(rs, e, r->status, "the REGISTER does not fit", 0, now);
		} else {
			e->creds = creds;
			e->creds_repeated = n > 0;
		}
	} else {
		uint32_t retry_after = 0;
		char why423[160];
		if (!sip_hdr_delta_seconds(r, SIP_HDR_RETRY_AFTER, &retry_after))
			retry_after = 0;
		why = "refused";
		if (r->status == 423 && !e->leaving) {
			/* a 423 not asked again: the log says what the registrar
			 * wants, not "refused" as for a 403 */
			if (!has_min)
				snprintf(why423, sizeof(why423),
					 "without a Min-Expires that names seconds (RFC 3261 "
					 "20.23)");
			else if (min <= e->asked_s)
				snprintf(why423, sizeof(why423),
					 "its Min-Expires %u s is not above the %u s asked", min,
					 e->asked_s);
			else if (min == UINT32_MAX)
				snprintf(why423, sizeof(why423),
					 "its Min-Expires, more than a year, is above 86400 s, "
					 "the most registrations[].expires_s asks for");
			else
				snprintf(why423, sizeof(why423),
					 "its Min-Expires %u s is above 86400 s, the most "
					 "registrations[].expires_s asks for",
					 min);
			why = why423;
		}
		attempt_failed(rs, e, r->status, why, retry_after, now);
	}
	if (e->in_flight || !e->leaving)
		rs->due = clock_earlier(rs->due, e->in_flight ? e->t_next : e->next_send);
	return true;
}

/* e's transaction in flight at now: given up at Timer F, or sent again
 * when Timer E is due. */
static void transaction_tick(struct reg_set *rs, struct reg_entry *e, uint64_t now,
			     const struct reg_ops *ops)
{
	if (now >= e->t_deadline) {
		attempt_failed(rs, e, 408, "no final response by Timer F", 0, now);
	} else if (now >= e->t_next) {
		send_request(e, ops);
		rs->st.retransmitted++;
		e->t_interval = clock_earlier(e->t_interval * 2, rs->t2_ms);
		e->t_next = now + e->t_interval;
	}
}

uint64_t reg_tick(struct reg_set *rs, uint64_t now, const struct reg_ops *ops)
{
	uint64_t due = UINT64_MAX;

	for (unsigned k = 0; k < REG_LEAVING_MAX; k++) {
		struct reg_entry *e = &rs->leaving[k];
		if (e->in_flight)
			transaction_tick(rs, e, now, ops);
		if (e->in_flight)
			due = clock_earlier(due, clock_earlier(e->t_next, e->t_deadline));
	}
	for (unsigned i = 0; i < rs->n; i++) {
		struct reg_entry *e = &rs->e[i];
		if (e->in_flight)
			transaction_tick(rs, e, now, ops);
		if (!e->in_flight && now >= e->next_send)
			start_attempt(rs, i, now, ops);
		due = clock_earlier(due, e->in_flight ? clock_earlier(e->t_next, e->t_deadline)
						      : e->next_send);
	}
	rs->due = due;
	return due;
}

static bool same_addr(const struct config_target *a, const struct config_target *b)
{
	return a->addr_len == b->addr_len && !memcmp(&a->addr, &b->addr, b->addr_len);
}

/* The same registrar: the same address, or the same name with the same SRV
 * records' addresses. */
static bool same_registrar(const struct config_registration *a, const struct config_registration *g)
{
	if (a->nregistrar_srv != g->nregistrar_srv)
		return false;
	if (!g->nregistrar_srv)
		return same_addr(&a->registrar, &g->registrar);
	for (unsigned t = 0; t < g->nregistrar_srv; t++)
		if (!same_addr(&a->registrar_srv[t], &g->registrar_srv[t]))
			return false;
	return !strcmp(a->registrar.domain, g->registrar.domain);
}

/* Whether entry e registers what g says, so that its binding still holds. */
static bool same_registration(const struct config_registration *a,
			      const struct config_registration *g)
{
	return !strcmp(a->name, g->name) && same_registrar(a, g) && !strcmp(a->aor, g->aor) &&
	       config_auth_same(&a->auth, &g->auth) && a->expires_s == g->expires_s;
}

/* Where e's binding is: the registrar, or the SRV record whose 2xx gave it
 * (an attempt may have moved on to the next one since). */
static const struct config_target *bound_registrar(const struct reg_entry *e)
{
	const struct config_registration *g = &e->cfg;
	return g->nregistrar_srv ? &g->registrar_srv[e->bound_srv % g->nregistrar_srv]
				 : &g->registrar;
}

/* Whether a registration of g takes over the binding e holds, or held: the
 * same address of record (and so the same Contact: its user at advertise, a
 * restart key), at the same registrar as written (a name that resolves
 * elsewhere now is still that registrar), or at the address e's binding is
 * at. Its REGISTER updates that binding (RFC 3261 10.3 step 7): an
 * unregistering of e sent beside it would remove it instead. */
static bool same_binding(const struct reg_entry *e, const struct config_registration *g)
{
	if (strcmp(e->cfg.aor, g->aor) != 0)
		return false;
	if (!strcmp(e->cfg.registrar.text, g->registrar.text))
		return true;
	const struct config_target *at = bound_registrar(e);
	if (!g->nregistrar_srv)
		return same_addr(at, &g->registrar);
	for (unsigned t = 0; t < g->nregistrar_srv; t++)
		if (same_addr(at, &g->registrar_srv[t]))
			return true;
	return false;
}

/* Old entry e, which no registration of the new configuration keeps or takes
 * over, at now: its binding is unregistered in a leaving slot (the oldest
 * one given up when none is free), or there is none to. */
static void leave(struct reg_set *rs, const struct reg_entry *e, uint64_t now,
		  const struct reg_ops *ops)
{
	if (!reg_is_registered(e, now)) {
		log_info("registration %s: removed; it holds no binding at %s, nothing to "
			 "unregister",
			 e->cfg.name, reg_registrar(e)->text);
		return;
	}
	unsigned k = 0, oldest = 0;
	while (k < REG_LEAVING_MAX && rs->leaving[k].in_flight) {
		if (rs->leaving[k].t_deadline < rs->leaving[oldest].t_deadline)
			oldest = k;
		k++;
	}
	if (k == REG_LEAVING_MAX) {
		k = oldest;
		leave_ended(rs, &rs->leaving[k], 0, "too many unregistering at once", now);
	}
	struct reg_entry *l = &rs->leaving[k];
	*l = *e;
	l->leaving = true;
	l->in_flight = false;
	l->srv_at = l->bound_srv; /* where the binding is */
	l->asked_s = 0;
	l->creds = (struct cred_state){0};
	l->creds_repeated = false;
	rs->st.unreg_started++;
	if (send_register(rs, l, REG_LEAVING_INDEX + k, NULL, now, ops) != 0)
		leave_ended(rs, l, 0, "the REGISTER does not fit", now);
	else
		log_info("registration %s: removed; unregistering from %s", l->cfg.name,
			 reg_registrar(l)->text);
}

/* Old entry o's series of REGISTERs, and as much of its state as still
 * holds, into e, a registration g that takes over o's binding (same_binding)
 * with other settings: the same Call-ID and From tag, and the CSeq going on
 * from o's (RFC 3261 10.2: one Call-ID for a UA's registrations to a
 * registrar in a boot cycle, its CSeq one higher at each REGISTER; 10.3 step
 * 7: a registrar takes a REGISTER in the binding's Call-ID only with a
 * higher CSeq, so that one overtaken by a later one is not applied after
 * it). At the same registrar's addresses the binding is still there: its
 * expiry, the record it is at, the registrar's Min-Expires and whether its
 * 2xx lists our Contact are kept;
 * at another address (a name that resolves elsewhere now) none of it is
 * known, as for a new registration. Either way it registers at the next
 * tick, so that new credentials or expiry are at work at once; a REGISTER
 * of o's in flight is given up (its final, if it comes, is dropped as
 * stale: its branch is no longer waited for). */
static void take_over(struct reg_entry *e, const struct reg_entry *o,
		      const struct config_registration *g)
{
	memset(e, 0, sizeof(*e));
	e->cfg = *g;
	memcpy(e->call_id, o->call_id, sizeof(e->call_id));
	memcpy(e->from_tag, o->from_tag, sizeof(e->from_tag));
	e->cseq = o->cseq;
	if (!same_registrar(&o->cfg, g))
		return;
	e->registered_until = o->registered_until;
	e->granted_s = o->granted_s;
	e->last_status = o->last_status;
	e->srv_at = o->srv_at;
	e->bound_srv = o->bound_srv;
	e->min_expires_s = o->min_expires_s;
	e->contact_unlisted = o->contact_unlisted;
}

void reg_configure(struct reg_set *rs, const struct config *cfg, const char *advertise,
		   uint32_t t1_ms, uint32_t t2_ms, uint64_t now, const struct reg_ops *ops)
{
	struct reg_entry old[CONFIG_MAX_REGISTRATIONS]; /* 45 KiB, once per reload */
	bool kept[CONFIG_MAX_REGISTRATIONS] = {false};
	/* for each new registration, the old entry it keeps or takes over
	 * (took), or nold for none */
	unsigned from[CONFIG_MAX_REGISTRATIONS];
	bool took[CONFIG_MAX_REGISTRATIONS] = {false};
	unsigned nold = rs->n;

	memcpy(old, rs->e, sizeof(old[0]) * nold);
	rs->advertise = advertise;
	rs->t1_ms = t1_ms;
	rs->t2_ms = t2_ms;
	rs->n = cfg->nregistrations;
	/* those unchanged first, so that one changed cannot take the old entry
	 * of one written after it that is unchanged */
	for (unsigned i = 0; i < rs->n; i++) {
		const struct config_registration *g = &cfg->registrations[i];
		unsigned j = 0;
		while (j < nold && (kept[j] || !same_registration(&old[j].cfg, g)))
			j++;
		from[i] = j;
		if (j < nold)
			kept[j] = true;
	}
	/* then those whose binding an old entry holds (the same address of
	 * record at the same registrar): the one of the same name if any */
	for (unsigned i = 0; i < rs->n; i++) {
		const struct config_registration *g = &cfg->registrations[i];
		unsigned j, any = nold;
		if (from[i] < nold)
			continue;
		for (j = 0; j < nold; j++) {
			if (kept[j] || !same_binding(&old[j], g))
				continue;
			if (!strcmp(old[j].cfg.name, g->name))
				break;
			if (any == nold)
				any = j;
		}
		from[i] = j < nold ? j : any;
		if (from[i] < nold)
			kept[from[i]] = took[i] = true;
	}
	for (unsigned i = 0; i < rs->n; i++) {
		const struct config_registration *g = &cfg->registrations[i];
		struct reg_entry *e = &rs->e[i];
		unsigned j = from[i];
		if (j < nold && !took[i]) {
			*e = old[j];
			e->cfg = *g; /* retry_s may differ */
			if (j != i && e->in_flight) {
				/* its branch names its old place: start again */
				e->in_flight = false;
				e->next_send = 0;
			}
			continue;
		}
		if (j < nold) {
			const struct reg_entry *o = &old[j];
			take_over(e, o, g);
			if (strcmp(o->cfg.name, g->name) != 0)
				log_info("registration %s: settings changed (was registration %s); "
					 "registering again in its Call-ID",
					 g->name, o->cfg.name);
			else
				log_info(
				    "registration %s: settings changed; registering again in its "
				    "Call-ID",
				    g->name);
			continue;
		}
		memset(e, 0, sizeof(*e));
		e->cfg = *g;
		unsigned k = 0;
		while (k < REG_LEAVING_MAX &&
		       !(rs->leaving[k].in_flight && same_binding(&rs->leaving[k], g)))
			k++;
		if (k < REG_LEAVING_MAX) {
			/* registered again while it unregisters (a reload undone): the
			 * unregistering stops, and the REGISTERs go on in its Call-ID
			 * with higher CSeqs, so that the registrar takes them after it
			 * (RFC 3261 10.3 step 7) should it come late */
			struct reg_entry *l = &rs->leaving[k];
			l->in_flight = false;
			rs->st.unreg_superseded++;
			log_info("registration %s: unregistering from %s stopped: registration %s "
				 "registers it again",
				 l->cfg.name, reg_registrar(l)->text, g->name);
			memcpy(e->call_id, l->call_id, sizeof(e->call_id));
			memcpy(e->from_tag, l->from_tag, sizeof(e->from_tag));
			e->cseq = l->cseq;
			continue;
		}
		snprintf(e->call_id, sizeof(e->call_id), "%016" PRIx64 "@sipshard",
			 ops->rand(ops->arg));
		snprintf(e->from_tag, sizeof(e->from_tag), "%016" PRIx64, ops->rand(ops->arg));
	}
	for (unsigned j = 0; j < nold; j++) {
		unsigned i = 0;
		while (!kept[j] && i < rs->n && !same_binding(&old[j], &cfg->registrations[i]))
			i++;
		if (!kept[j] && i == rs->n)
			leave(rs, &old[j], now, ops);
	}
	rs->due = 0;
}
