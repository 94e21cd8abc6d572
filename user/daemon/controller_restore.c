/*
 * controller_restore.c - the set-up records across a restart (ctl_restore,
 * ctl_keeps_dialog and ctl_adopt: controller.h).
 *
 * With persist_dialogs the records are a file in run_dir, like the workers'
 * dialog tables, and the next process takes up the calls they hold
 * (ctl_restore): a restart drops neither the calls up nor the ones ringing.
 *
 * Owns: the records' memory (ctl_map_records: anonymous, or RUN_DIR/
 * setups.tbl, where a file of another layout is dropped; ctl_records_bytes;
 * the free records' pages given back at close, ctl_release_free_records),
 * and what a new process makes of the records and the given-up ring the
 * last one left: each checked before it is trusted (a kill may have caught
 * it half written, a file may be damaged or hostile: restore_call,
 * record_texts_ok, forks_ok, given_up_check), a call still setting up taken
 * up where it was, by what the workers' re-attached tables hold
 * (restore_call, restore_forks), and the calls those tables carry taken
 * over with their slots and targets (ctl_adopt).
 * Does not own: the file's layout (controller_int.h), the workers' tables
 * and their re-attach (shard/table.c, worker_reattach), what a call taken
 * up does next (controller.c), the CDR of a call carried over
 * (controller_cdr.c).
 */
#include <errno.h>
#include <string.h>
#include <jansson.h>

#include "core/mem.h"
#include "core/rng.h"
#include "daemon/controller_int.h"
#include "daemon/log.h"

static bool text_ok(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static bool peer_ok(const struct sockaddr_storage *ss, socklen_t len)
{
	return (ss->ss_family == AF_INET && len == sizeof(struct sockaddr_in)) ||
	       (ss->ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6));
}

/*
 * Whether what record k will send and write is what this process would have
 * made of it: its saved response head gives a response that parses, leg B's
 * INVITE (or, once a final came, that final and its ACK) parses as what it
 * should be, and its CDR members close into a JSON object with the members a
 * billing system keys on (call_id, start). A record torn by a kill in the
 * middle of writing it could hold anything.
 */
/* Whether the Reason lines of k, in leg B's CANCEL built from the INVITE
 * parsed in c->scratch, are read back from it as they are, every one: the
 * callee gets what setup_cancel_reasons would have let through. */
static bool record_reason_ok(struct ctl *c, const struct ctl_call *k)
{
	char back[SETUP_REASON_MAX];
	unsigned dropped = 0;

	int n = setup_build_cancel(&c->scratch, k->reason, k->reason_len, c->out, sizeof(c->out));
	if (n <= 0 || sip_parse(&c->scratch, c->out, (size_t)n, NULL) != 0)
		return false;
	size_t b = setup_cancel_reasons(&c->scratch, back, sizeof(back), &dropped);
	return !dropped && b == k->reason_len && memcmp(back, k->reason, b) == 0;
}

static bool record_texts_ok(struct ctl *c, const struct ctl_call *k)
{
	int n = setup_local_response(100, k->head, k->head_len, NULL, c->out, sizeof(c->out));
	if (n <= 0 || sip_parse(&c->scratch, c->out, (size_t)n, NULL) != 0)
		return false;
	if (k->state != CALL_COMPLETED) {
		/* leg B's INVITE, and the identifiers a failover writes into the
		 * next one are the ones it carries (found by fuzz_controller: a
		 * record whose Call-ID field alone was cut) */
		const struct sip_msg *i = &c->scratch;
		if (sip_parse(&c->scratch, k->invite, k->invite_len, NULL) != 0 ||
		    i->method_id != SIP_METHOD_INVITE ||
		    !sip_view_eq(i->buf, i->call_id, k->b_call_id, strlen(k->b_call_id)) ||
		    !sip_view_eq(i->buf, i->from.tag, k->b_from_tag, strlen(k->b_from_tag)) ||
		    !sip_view_eq(i->buf, i->vias[0].branch, k->b_branch, strlen(k->b_branch)))
			return false;
		if (k->reason_len && !record_reason_ok(c, k))
			return false;
		if (k->tail_len &&
		    (sip_parse(&c->scratch, k->invite + k->invite_len, k->tail_len, NULL) != 0 ||
		     c->scratch.is_request || c->scratch.status >= 200))
			return false;
	} else {
		if (k->invite_len && (sip_parse(&c->scratch, k->invite, k->invite_len, NULL) != 0 ||
				      c->scratch.is_request))
			return false;
		if (k->tail_len &&
		    (sip_parse(&c->scratch, k->invite + k->invite_len, k->tail_len, NULL) != 0 ||
		     c->scratch.method_id != SIP_METHOD_ACK))
			return false;
	}
	if (k->cdr_len) {
		memcpy(c->cdr_line, k->cdr, k->cdr_len);
		c->cdr_line[k->cdr_len] = '}';
		json_t *o = json_loadb(c->cdr_line, (size_t)k->cdr_len + 1, 0, NULL);
		bool ok = json_is_string(json_object_get(o, "call_id")) &&
			  json_is_string(json_object_get(o, "start"));
		json_decref(o);
		if (!ok)
			return false;
	}
	return true;
}

/* Holds k's slot for it, as reserve_slot did in the last run; false when
 * another record claims it too, as its own or as a fork's early dialog
 * (restore_forks): a pool hands a slot out once, so one of them is
 * malformed. */
static bool restore_slot(struct ctl *c, struct ctl_call *k)
{
	struct slot_pool *p = &c->pools[k->shard];
	if (p->holder[k->slot] || p->fork_of[k->slot])
		return false;
	p->holder[k->slot] = call_index(c, k) + 1;
	return true;
}

/* Whether tag is the one ctl_fork_add gives a fork of k in fork_slot: a
 * fork tag (shard_fork_tag_encode) that names k's shard, slot and
 * generation, and fork_slot as the fork's. */
static bool fork_tag_ok(const struct ctl_call *k, const char *tag, uint32_t fork_slot)
{
	uint8_t shard;
	uint32_t slot, gen, fork;

	return shard_fork_tag_decode(tag, strlen(tag), &shard, &slot, &gen, &fork) == 0 &&
	       shard == k->shard && slot == k->slot && gen == k->slot_gen && fork == fork_slot;
}

/*
 * Whether k's forks (struct ctl_fork) are as a run can have left them: a
 * count the record has room for, and each fork with a bool that is one,
 * tags that are text, a slot of the call's shard, and a tag toward the
 * caller that names the call's slot and generation and the fork's slot
 * (fork_tag_ok: ctl_fork_add makes it so; restore_forks takes up the early
 * dialog the table holds under the tag, so one of another call's forks
 * became this call's, and that call's record was freed as the one claiming
 * the slot twice); each not ended
 * (gone clear) in a slot that nothing else claims: not the call's own,
 * not another of the call's forks, and not one that a record taken up
 * before holds as its own or as a fork's (restore_slot, restore_forks),
 * since a pool hands a slot out once and takes a fork's back only at its
 * end. The call's own slot whatever slot_gone says: a fork is given an
 * early dialog only while the worker holds the call's (ctl_fork_add, from
 * invite_response's branch for other forks, which needs installed), and
 * the slot goes back to the pool only once the worker ended that one
 * (slot_gone, for good), so no fork has it. Anything else is a damaged or
 * hostile file: the record is freed as malformed before it claims a slot,
 * and no fork of it is followed. A fork whose early dialog the table does
 * not hold is no such thing (its install lost in the ring): restore_forks
 * forgets it.
 */
static bool forks_ok(const struct ctl *c, const struct ctl_call *k)
{
	const struct slot_pool *p = &c->pools[k->shard];

	if (k->nforks > CTL_FORKS_MAX - 1)
		return false;
	for (unsigned i = 0; i < k->nforks; i++) {
		const struct ctl_fork *f = &k->forks[i];
		if (!mem_bool_ok(&f->gone) || !text_ok(f->a_tag, sizeof(f->a_tag)) ||
		    !text_ok(f->b_tag, sizeof(f->b_tag)) || f->slot >= p->cap ||
		    !fork_tag_ok(k, f->a_tag, f->slot))
			return false;
		if (f->gone)
			continue;
		if (f->slot == k->slot || p->holder[f->slot] || p->fork_of[f->slot])
			return false;
		for (unsigned j = 0; j < i; j++)
			if (!k->forks[j].gone && k->forks[j].slot == f->slot)
				return false;
	}
	return true;
}

/*
 * The forks of k, a call still setting up, as the last run left them: each
 * whose early dialog the worker's table still holds (early, in the fork's
 * generation, under the fork's tag) keeps its slot (fork_of: the worker
 * keeps that dialog, ctl_keeps_dialog, and the pool does not hand the slot
 * out, ctl_adopt), so that the caller's PRACK or UPDATE in it, the callee's
 * requests in it and the fork's 2xx go on as before the restart. One ended
 * (in the record, or free in its generation in the table: the worker's
 * notice lost with the process) stays, ended, so that its 2xx is ended, not
 * relayed. Any other (its install lost in the ring) is forgotten: that
 * fork's next provisional gives it an early dialog again, under a new tag,
 * and its 2xx answers the call under the call's own tag. A record whose
 * forks a run cannot have left (one in the call's own slot among them) is
 * not taken up (forks_ok).
 */
static void restore_forks(struct ctl *c, struct ctl_call *k, const struct shard_table *t)
{
	struct slot_pool *p = &c->pools[k->shard];
	unsigned n = 0;

	for (unsigned i = 0; i < k->nforks; i++) {
		struct ctl_fork *f = &k->forks[i];
		if (!f->gone) {
			const struct shard_dialog *d =
			    t && f->slot < t->hdr->dlg_hwm && f->slot < p->cap
				? &t->dialogs[f->slot]
				: NULL;
			const struct sip_session *a = d ? &d->legs[SHARD_LEG_A] : NULL;
			if (d && d->state == SHARD_DLG_EARLY && d->gen == f->gen &&
			    a->local_tag_len == strlen(f->a_tag) &&
			    memcmp(a->local_tag, f->a_tag, a->local_tag_len) == 0 &&
			    !p->holder[f->slot] && !p->fork_of[f->slot])
				p->fork_of[f->slot] = call_index(c, k) + 1;
			else if (d && d->state == SHARD_DLG_FREE && d->gen == f->gen &&
				 shard_dialog_committed(d, f->slot))
				f->gone = true;
			else
				continue;
		}
		if (n != i)
			k->forks[n] = *f;
		n++;
	}
	k->nforks = (uint8_t)n;
}

/*
 * Takes up record k as the last run left it, or returns false to free it as
 * malformed: the process may have been killed in the middle of writing it.
 * What the worker got is read from its table, not from k->installed: the
 * last install may have been in the command ring when the process stopped.
 * A record of an answered call lingers on to cover 2xx retransmissions (its
 * dialog is carried by ctl_adopt); one whose 2xx install never reached the
 * worker goes back to PROCEEDING, as the caller cannot have had the 2xx
 * either (it leaves through the worker, after the install): the callee's
 * retransmission of it completes the call. A slot that is free again in the
 * generation the record installed was ended by the worker (a BYE, expiry)
 * and its notice lost in the ring: the record goes on without it, as
 * ctl_on_dialog_ended would have left it, instead of holding the slot and
 * counting a call that is over.
 */
static bool restore_call(struct ctl *c, struct ctl_call *k, const struct shard_table *const *tables,
			 uint64_t now)
{
	const uint64_t t1 = c->cfg->timers.t1_ms;
	/* the furthest ahead a record's times lie is Timer B or H (64*T1; the
	 * no-answer time is counted from Timer B's start), with room to spare */
	const uint64_t longest = 64 * t1 + 120000;

	if (k->state != CALL_CALLING && k->state != CALL_PROCEEDING && k->state != CALL_ANSWERED &&
	    k->state != CALL_COMPLETED)
		return false;
	if (k->shard >= c->nshards || k->slot >= c->pools[k->shard].cap ||
	    !mem_bool_ok(&k->installed) || !mem_bool_ok(&k->slot_gone) ||
	    !mem_bool_ok(&k->first_fork_ended) || !mem_bool_ok(&k->cancelled) ||
	    !mem_bool_ok(&k->timed_out) || !mem_bool_ok(&k->silence_noted) ||
	    !mem_bool_ok(&k->b_rang) || !mem_bool_ok(&k->all_down) || k->failover_ms > 600000 ||
	    !cred_state_ok(&k->creds) || k->cdr_target_at > k->cdr_len ||
	    !text_ok(k->a_call_id, sizeof(k->a_call_id)) ||
	    !text_ok(k->a_from_tag, sizeof(k->a_from_tag)) ||
	    !text_ok(k->a_tag, sizeof(k->a_tag)) || !text_ok(k->b_call_id, sizeof(k->b_call_id)) ||
	    !text_ok(k->b_from_tag, sizeof(k->b_from_tag)) ||
	    !text_ok(k->b_branch, sizeof(k->b_branch)) || k->head_len > sizeof(k->head) ||
	    (size_t)k->invite_len + k->tail_len > sizeof(k->invite) ||
	    k->cdr_len > sizeof(k->cdr) || k->reason_len > sizeof(k->reason) ||
	    !peer_ok(&k->a_peer, k->a_len) || !peer_ok(&k->b_peer, k->b_len) ||
	    k->dlg.slot != k->slot || k->dlg.gen != k->slot_gen || !shard_dialog_ok(&k->dlg) ||
	    !forks_ok(c, k) || !record_texts_ok(c, k))
		return false;

	const struct shard_table *t = tables ? tables[k->shard] : NULL;
	const struct shard_dialog *d = t && k->slot < t->hdr->dlg_hwm ? &t->dialogs[k->slot] : NULL;
	bool early = d && d->state == SHARD_DLG_EARLY && d->gen == k->slot_gen;
	bool up = d && d->state == SHARD_DLG_CONFIRMED && d->gen == k->slot_gen;
	/* pools hand out a slot's generation + 1, so only an install of this
	 * record can have left the slot free in this generation; freed by its
	 * worker, not half written at the kill or freed at the re-attach (the
	 * install of it is then tried again, as one lost in the ring) */
	bool ended = d && d->state == SHARD_DLG_FREE && d->gen == k->slot_gen &&
		     shard_dialog_committed(d, k->slot);
	/* an answered call whose dialog a kill tore in an update (an INFO, a
	 * BYE relayed in it), freed at the re-attach: it was installed, and the
	 * caller had its 2xx. The call is lost, as the torn record is; taken
	 * for one whose install was torn, it was set up again: a CANCEL to the
	 * callee and a 408 to the caller after their 2xx and ACK (RFC 3261
	 * 13.3.1.4, 17.2.1), a timeout CDR, its places held minutes */
	bool torn = d && d->gen == k->slot_gen && shard_dialog_torn_in_update(d) &&
		    k->state == CALL_ANSWERED;
	if (torn)
		log_warn("call %s: its dialog was torn by a kill inside an update: lost",
			 k->a_call_id);
	if (k->slot_gone || ended || torn) {
		k->installed = false;
		k->slot_gone = true;
	} else if (up) {
		/* answered (the record may not have moved on before the kill) */
		if (!restore_slot(c, k))
			return false;
		k->installed = true;
		if (k->state != CALL_ANSWERED) {
			k->state = CALL_ANSWERED;
			k->t_deadline = now + ctl_answer_linger_ms(c);
		}
	} else if (k->state == CALL_COMPLETED && k->installed) {
		/* its release may still have been in the ring: worker_reattach frees
		 * the early dialog, and the slot is the pool's again */
		k->installed = false;
		k->slot_gone = true;
	} else {
		if (!restore_slot(c, k))
			return false;
		if (k->state == CALL_ANSWERED)
			k->state = CALL_PROCEEDING;
		k->installed = early;
		/* the worker kept the slot for the other forks and its notice
		 * (DMSG_FIRST_FORK_ENDED) was lost with the process: the first
		 * fork's tag is gone from the record (keep_for_forks) */
		if (early && shard_dialog_first_fork_retired(d))
			k->first_fork_ended = true;
		c->st.calls_active++;
		policy_call_carry(c->pol);
		/* a call that replaces or joins a dialog went to that
		 * dialog's party, no route's target (on_invite): none */
		if (k->route != UINT8_MAX)
			ctl_target_take(c, k->shard, k->slot,
					ctl_target_find(c, &k->b_peer, k->b_len));
	}
	/* the forks' early dialogs go on while the call sets up; those of a
	 * call answered or over were released (a release lost in the ring:
	 * no record holds the slot, ctl_keeps_dialog, worker_reattach frees) */
	if (k->state == CALL_CALLING || k->state == CALL_PROCEEDING)
		restore_forks(c, k, t);
	else
		k->nforks = 0;
	/* CLOCK_MONOTONIC restarts at boot: times from a file kept across one */
	if (k->t_next > now + longest || k->t_deadline > now + longest) {
		k->t_next = now;
		k->t_deadline = now + 64 * t1; /* an answered one lingers as long */
	}
	k->a_key =
	    key_hash(c, k->a_call_id, strlen(k->a_call_id), k->a_from_tag, strlen(k->a_from_tag));
	ctl_by_a_link(c, k);
	/* the linger list in index order, not answer order: for the first
	 * ctl_answer_linger_ms a record may wait behind a later one, and the
	 * one a new INVITE evicts may not be the oldest */
	if (k->state == CALL_ANSWERED) {
		ctl_list_append(c, &c->linger, k);
		return true;
	}
	if (k->state == CALL_COMPLETED)
		ctl_list_append(c, &c->completed, k);
	ctl_call_schedule(c, k, now);
	return true;
}

/* The given-up ring the last run left: an entry that is not one
 * given_up_commit wrote whole (a file damaged otherwise: the write marker
 * leaves none half written), or kept beyond 64*T1 from now, is dropped; the
 * latest time kept is that of the entries left. */
static void given_up_check(struct ctl *c, uint64_t now)
{
	struct given_up_ring *gu = c->gu;
	uint32_t dropped = 0;

	gu->until = 0;
	gu->next %= CTL_GIVEN_UP_MAX;
	for (uint32_t i = 0; i < CTL_GIVEN_UP_MAX; i++) {
		struct given_up *g = &gu->e[i];
		if (!g->until)
			continue;
		if (g->until > now + 64ull * c->cfg->timers.t1_ms || g->shard >= c->nshards ||
		    !mem_bool_ok(&g->cancel_sent) || !mem_bool_ok(&g->bye_sent) ||
		    g->branch_len > sizeof(g->branch) || g->peer_len > sizeof(g->peer) ||
		    g->cancel_len > sizeof(g->cancel) || g->ruri_len > sizeof(g->cancel)) {
			memset(g, 0, sizeof(*g));
			dropped++;
			continue;
		}
		if (g->until > gu->until)
			gu->until = g->until;
	}
	if (dropped)
		log_warn("%u malformed entries of given-up INVITEs in the set-up records dropped",
			 dropped);
}

uint32_t ctl_restore(struct ctl *c, const struct shard_table *const *tables, uint64_t now_mono_ms)
{
	uint32_t setting_up = 0;

	if (!c->restore_pending)
		return 0;
	c->restore_pending = false;
	given_up_check(c, now_mono_ms);
	c->free_head = 0;
	/* from the top, so that the free list hands out low records first */
	for (uint32_t i = c->ncalls; i-- > 0;) {
		struct ctl_call *k = &c->calls[i];
		if (k->state != CALL_FREE) {
			if (restore_call(c, k, tables, now_mono_ms)) {
				setting_up += k->state != CALL_ANSWERED;
				continue;
			}
			k->state = CALL_FREE;
			c->st.setups_malformed++;
		}
		k->next_by_a = c->free_head;
		c->free_head = i + 1;
	}
	c->st.setups_restored += setting_up;
	return setting_up;
}

bool ctl_keeps_dialog(const struct ctl *c, unsigned shard, const struct shard_dialog *d)
{
	if (d->state == SHARD_DLG_CONFIRMED)
		return true;
	if (d->state != SHARD_DLG_EARLY || shard >= c->nshards || d->slot >= c->pools[shard].cap)
		return false;
	const struct slot_pool *p = &c->pools[shard];
	if (p->fork_of[d->slot]) {
		/* a fork's early dialog, taken up with its call (restore_forks) */
		const struct ctl_call *k = &c->calls[p->fork_of[d->slot] - 1];
		for (unsigned i = 0; i < k->nforks; i++)
			if (k->forks[i].slot == d->slot && k->forks[i].gen == d->gen &&
			    !k->forks[i].gone)
				return true;
		return false;
	}
	if (!p->holder[d->slot])
		return false;
	const struct ctl_call *k = &c->calls[p->holder[d->slot] - 1];
	return k->installed && k->slot_gen == d->gen;
}

uint32_t ctl_adopt(struct ctl *c, unsigned shard, const struct shard_table *t, uint64_t now_mono_ms)
{
	uint32_t carried = 0, last_target = CTL_NO_TARGET;

	if (shard >= c->nshards)
		return 0;
	struct slot_pool *p = &c->pools[shard];
	/* slots at and above the high-water mark were never used: their records
	 * are not read, so that their pages are never brought in */
	uint32_t n = t->hdr->dlg_hwm < p->cap ? t->hdr->dlg_hwm : p->cap;
	p->count = 0;
	/* highest slot first, so that the lowest is handed out first */
	for (uint32_t i = p->cap; i-- > 0;) {
		const struct shard_dialog *d = i < n ? &t->dialogs[i] : NULL;
		if (p->holder[i] && !(d && d->state == SHARD_DLG_CONFIRMED))
			continue; /* a call still setting up (ctl_restore) */
		if (p->fork_of[i])
			continue; /* a fork's early dialog, with its call (restore_forks) */
		if (!d || d->state == SHARD_DLG_FREE) {
			/* a generation never used in this slot before */
			p->items[p->count++] = (uint64_t)i << 32 | ((d ? d->gen : 0) + 1);
			continue;
		}
		carried++;
		c->st.calls_active++;
		policy_call_carry(c->pol);
		/* by the callee's address: the target it answered from (most
		 * calls share a few: the last one found is tried first) */
		const struct sip_session *lb = &d->legs[SHARD_LEG_B];
		if (!ctl_target_is(c, last_target, &lb->peer, lb->peer_len))
			last_target = ctl_target_find(c, &lb->peer, lb->peer_len);
		ctl_target_take(c, shard, i, last_target);
		if (p->cdr)
			ctl_cdr_carried(p, d, now_mono_ms);
	}
	return carried;
}

size_t ctl_records_bytes(uint32_t setups)
{
	return CTL_RECORDS_AT + (size_t)setups * sizeof(struct ctl_call);
}

/* Maps the records: anonymous, or the file at path with what the last run
 * left in it (c->restore_pending). A file of another layout is dropped. */
int ctl_map_records(struct ctl *c, const char *path)
{
	size_t len = ctl_records_bytes(c->ncalls);
	bool fresh = true;
	int rc;

	_Static_assert(sizeof(struct ctl_file_hdr) <= CTL_FILE_HDR, "header fits its page");
	if (!path) {
		c->map = mem_pool_alloc(len);
		if (!c->map)
			return -ENOMEM;
	} else {
		rc = mem_file_map(path, len, &c->map, &c->fd, &fresh);
		if (rc == -EINVAL) {
			/* the length alone cannot tell which changed: the count, or
			 * the record's layout in another build */
			log_warn("%s was written for another capacity.setups or by another build "
				 "of sipshardd: the calls it held in set-up are dropped",
				 path);
			rc = mem_file_remove(path);
			if (!rc)
				rc = mem_file_map(path, len, &c->map, &c->fd, &fresh);
		}
		if (rc) {
			log_error("cannot map the set-up records %s: %s", path,
				  rc == -EBUSY ? "in use by another sipshardd" : strerror(-rc));
			return rc;
		}
	}
	c->map_len = len;
	c->gu = (struct given_up_ring *)(void *)((char *)c->map + CTL_FILE_HDR);
	c->calls = (struct ctl_call *)(void *)((char *)c->map + CTL_RECORDS_AT);
	/* in memory before the first INVITE: a fresh daemon that faulted its
	 * records in during a burst of new calls lost some of them to 503s */
	mem_pool_populate(c->map, len);
	struct ctl_file_hdr *h = c->map;
	const struct ctl_file_hdr want = {CTL_FILE_MAGIC, CTL_FILE_VERSION,	   c->ncalls,
					  sizeof(*h),	  sizeof(struct ctl_call), len};
	/* a header never written (mem_zero): a new file, which held no call */
	if (!fresh && mem_zero(h, sizeof(*h)))
		fresh = true;
	if (!fresh && memcmp(h, &want, sizeof(want)) != 0) {
		log_warn("%s was written by another build of sipshardd: the calls it held in "
			 "set-up are dropped",
			 path);
		memset(c->map, 0, len);
		fresh = true;
	}
	*h = want;
	c->restore_pending = !fresh;
	c->gu->until = 0; /* none looked at before ctl_restore checked them */
	if (!c->gu->seed)
		c->gu->seed = rng_secure() | 1;
	return 0;
}

/* The free records' memory back to the system: the file stays in run_dir
 * after the process, and a daemon stopped for good would otherwise keep the
 * whole pool (318 MiB by default) in tmpfs until the next boot. The records
 * in use stay for the next run. */
void ctl_release_free_records(struct ctl *c)
{
	for (uint32_t i = 0, j; i < c->ncalls; i = j) {
		for (j = i; j < c->ncalls && c->calls[j].state == CALL_FREE; j++)
			;
		if (j == i) {
			j++;
			continue;
		}
		mem_file_release(c->fd, CTL_RECORDS_AT + (size_t)i * sizeof(*c->calls),
				 (size_t)(j - i) * sizeof(*c->calls));
	}
}
