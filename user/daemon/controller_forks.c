/*
 * controller_forks.c - the forks of leg B (RFC 3261 13.2.2.4): a callee
 * side that answers leg B's INVITE under more than one To tag.
 *
 * A callee side that forks (another To tag in a provisional, RFC 3261
 * 13.2.2.4) gives the caller an early dialog per fork, each under a To tag
 * of ours (RFC 3261 12.1): the first fork's is the call's own, in its slot;
 * each other fork's (struct ctl_fork, up to CTL_FORKS_MAX per call) names
 * the call's slot too and, in its salt, a slot of its own where the worker
 * holds that fork's early dialog (shard_fork_tag_encode), so that the
 * caller's PRACKs (RFC 3262) and UPDATEs under it reach that fork, with its
 * SDP relayed, and that fork's own UPDATEs and INFOs reach the caller under
 * it (the worker finds the fork by its To tag among the call's forks:
 * shard_dialog_of_fork_callee). The 2xx of a fork takes that fork's early dialog into the
 * call's slot (the worker merges it, shard_dialog_install_packed) and goes
 * to the caller under that fork's tag; every fork's slot is then released.
 * The 2xx of a fork whose early dialog ended (the caller's BYE in it,
 * expiry) confirms nothing the caller holds: ACKed and ended with a BYE
 * (RFC 3261 13.2.2.4), not relayed; so is the first fork's once the call's
 * own early dialog ended (slot_gone). Either is leg B's final (a forking
 * proxy cancels its other branches, RFC 3261 16.7), so the caller's INVITE
 * then gets 487 (15.1.2: end_after_early_dialog).
 * A restart takes the forks' early dialogs up with their call's record
 * (restore_forks). A fork is given an early dialog only while the worker
 * holds the call's (installed), so none is in the call's own slot, even
 * once that one ended and the slot is the pool's again (slot_gone: no
 * fork gets one after that): a record that says otherwise is damaged
 * (forks_ok).
 * A fork refused one (the limit, no free slot, a full ring; counted), or
 * one that rings while the first fork's own early dialog waits to be pushed
 * again (installed clear: a full ring, a restart), is handled in the first
 * fork's early dialog, its reliable provisionals PRACKed here. The record remembers those forks and
 * the RSeq PRACKed (struct ctl_pracked, kept over a restart): a copy of such a provisional is never
 * relayed nor given a fork, even once there is room or the fork has an early dialog of its own, nor
 * taken for the first fork's while the worker does not hold the call's early dialog yet (a restart
 * that caught its install in the ring: retry_early_install) (RFC 3262 4: ctl_fork_pracked_copy);
 * while our PRACK's transaction lasts it is absorbed, and after (its Timer K, a restart, a PRACK
 * sent untracked) PRACKed again, as the fork resends it until a PRACK reaches it (RFC 3262 3).
 *
 * Owns: the forks a call's record holds (struct ctl_fork) and those whose
 * reliable provisionals sipshard PRACKed itself (struct ctl_pracked): a new
 * fork's slot, tag and early dialog (ctl_fork_add, ctl_fork_install), their
 * release (ctl_forks_end), the 2xx of a fork taking the call's dialog
 * (ctl_answer_from_fork), a fork's tag in the head of what the caller is
 * sent (ctl_head_with_tag), and the PRACKs' branches and copies
 * (ctl_fork_prack_branch, ctl_fork_pracked_copy, ctl_fork_pracked_note).
 * Does not own: which response goes where (invite_response in
 * controller.c decides, and sends the PRACKs), the end of a fork's early
 * dialog (ctl_on_dialog_ended, controller.c), a fork's early dialog
 * itself (the worker's, shard/table.c), or taking forks up after a restart
 * (restore_forks and forks_ok: controller_restore.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/keyhash.h"
#include "daemon/controller_int.h"
#include "daemon/log.h"
#include "daemon/relay.h"

/* The fork of k whose callee To tag r has (struct ctl_fork), or NULL. */
struct ctl_fork *ctl_fork_of_response(struct ctl_call *k, const struct sip_msg *r)
{
	for (unsigned i = 0; i < k->nforks; i++)
		if (r->to.has_tag &&
		    sip_view_eq(r->buf, r->to.tag, k->forks[i].b_tag, strlen(k->forks[i].b_tag)))
			return &k->forks[i];
	return NULL;
}

/* Installs (or updates) fork f's early dialog from its provisional r: the
 * call's dialog as leg B's INVITE left it, under f's tag toward the caller,
 * with r's callee side. 0, or negative when the worker's ring is full. */
int ctl_fork_install(struct ctl *c, struct ctl_call *k, const struct ctl_fork *f,
		     const struct sip_msg *r, const struct sockaddr *src, socklen_t srclen)
{
	struct shard_dialog *d = &c->fork_dlg;

	if (ctl_callee_unfit(r))
		return -E2BIG; /* nothing changed: as ctl_install */
	memcpy(d, &k->dlg, sizeof(*d));
	d->slot = f->slot;
	d->gen = f->gen;
	d->state = SHARD_DLG_EARLY;
	SESSION_SET(&d->legs[SHARD_LEG_A], local_tag, f->a_tag, strlen(f->a_tag));
	d->legs[SHARD_LEG_B].remote_tag_len = 0;
	ctl_session_from_invite(c, k, d);
	ctl_dialog_set_callee(d, r, src, srclen, false);
	return c->hooks.install(c->hooks.arg, k->shard, d, 0);
}

/* The branch (CTL_TAG_MAX bytes) of the PRACK sipshard sends for a reliable
 * provisional r of a fork of k refused an early dialog of its own
 * (invite_response): one per fork and RSeq, so that r's retransmissions
 * find that transaction. Its length. */
int ctl_fork_prack_branch(struct ctl *c, const struct ctl_call *k, const struct sip_msg *r,
			  char *branch)
{
	uint32_t h =
	    key_hash(c, r->buf + r->to.tag.off, r->to.tag.len, k->b_branch, strlen(k->b_branch));
	return snprintf(branch, CTL_TAG_MAX, RELAY_CTL_BRANCH_PREFIX "p%08" PRIx32 "%08" PRIx32, h,
			r->rseq);
}

/* The key of the To tag of response r in k->pracked, never 0 (no entry):
 * the same in the next process (no seed of the process's, nor the ring's,
 * which a restart may draw again). Not keyed: no table to aim at, and a
 * fork whose tag has the key of another of its call's only has its own
 * reliable provisionals PRACKed here. */
static uint64_t fork_tag_key(const struct sip_msg *r)
{
	return keyhash_bytes(CTL_FILE_MAGIC, r->buf + r->to.tag.off, r->to.tag.len) | 1;
}

/* k's entry for the fork with r's To tag (struct ctl_pracked), or NULL. */
static struct ctl_pracked *fork_pracked_find(struct ctl_call *k, const struct sip_msg *r)
{
	uint64_t key = fork_tag_key(r);
	for (unsigned i = 0; i < CTL_PRACKED_MAX; i++)
		if (k->pracked[i].tag_key == key)
			return &k->pracked[i];
	return NULL;
}

/*
 * Whether r is a copy of a reliable provisional of a fork of k that sipshard
 * PRACKed itself (the fork had no early dialog of its own then): from that
 * fork, with an RSeq not after the one PRACKed last. The fork resends it
 * until a PRACK reaches it (RFC 3262 3), and the network may hold one back;
 * either way it is no new provisional (RFC 3262 4): not for the caller,
 * who never had it, in an early dialog it may have since (relayed there
 * it had the caller PRACK an RSeq the fork had had its PRACK for: 481,
 * RFC 3262 3, which ends that early dialog for the caller, RFC 3261
 * 12.2.1.2), nor a reason to give one. Known by the record, not by the
 * PRACK's transaction (detached_pending), so also after that transaction's
 * Timer K, after a restart (detached.h keeps none) and when the full table
 * sent it untracked. A new RSeq of that fork is a new provisional: it may
 * have an early dialog of its own by then (ctl_fork_add), the first RSeq the
 * caller sees there.
 */
bool ctl_fork_pracked_copy(struct ctl_call *k, const struct sip_msg *r)
{
	if (!r->to.has_tag || !sip_is_reliable_provisional(r))
		return false;
	const struct ctl_pracked *p = fork_pracked_find(k, r);
	/* RSeqs go up by one from below 2^31 (RFC 3262 3): serial order */
	return p && (int32_t)(r->rseq - p->rseq) <= 0;
}

/* sipshard PRACKs the reliable provisional r of a fork of k: noted for its
 * copies (ctl_fork_pracked_copy); a fork not noted yet takes the oldest entry's
 * place, whose copies then go as new provisionals (counted). */
void ctl_fork_pracked_note(struct ctl *c, struct ctl_call *k, const struct sip_msg *r)
{
	struct ctl_pracked *p = fork_pracked_find(k, r);
	if (!p) {
		p = &k->pracked[k->pracked_next % CTL_PRACKED_MAX];
		k->pracked_next = (uint8_t)((k->pracked_next + 1u) % CTL_PRACKED_MAX);
		if (p->tag_key)
			c->st.pracked_forks_forgotten++;
		*p = (struct ctl_pracked){.tag_key = fork_tag_key(r), .rseq = r->rseq};
	} else if ((int32_t)(r->rseq - p->rseq) > 0) {
		p->rseq = r->rseq;
	}
}

/* The bits above the fork's slot in the salt of the tag of k's next fork
 * (shard_fork_tag_encode: 8 of them): a keyed hash of the call's own tag
 * plus the fork's place among the call's forks. Random bits there gave a
 * new fork the tag of one of the call's forks whose early dialog had ended
 * once in 256, when it took the slot that one had freed (the pools hand
 * the slot freed last out first): the caller's BYE sent again in the ended
 * one then reached the new one. With its place added, no two forks of a
 * call in one run share them; a restart draws another key, and ctl_fork_add
 * then passes over bits that give a fork carried over its tag. */
static uint32_t fork_tag_bits(const struct ctl *c, const struct ctl_call *k)
{
	uint32_t base = key_hash(c, k->a_tag, strlen(k->a_tag), "", 0);
	return (base + k->nforks) << SHARD_FORK_SLOT_BITS;
}

/* Whether a fork k holds already has tag (one carried over a restart, whose
 * bits another key made: fork_tag_bits). */
static bool fork_tag_taken(const struct ctl_call *k, const char *tag)
{
	for (unsigned i = 0; i < k->nforks; i++)
		if (!strcmp(k->forks[i].a_tag, tag))
			return true;
	return false;
}

/* A new fork of leg B (r's To tag is none the call knows): an early dialog
 * of its own toward the caller, in a slot of the call's shard. NULL when
 * refused (counted and logged): the call has CTL_FORKS_MAX already, the
 * shard has no free slot, a tag does not fit, or the worker's ring is full. */
struct ctl_fork *ctl_fork_add(struct ctl *c, struct ctl_call *k, const struct sip_msg *r,
			      const struct sockaddr *src, socklen_t srclen)
{
	struct slot_pool *p = &c->pools[k->shard];
	const char *why = NULL;

	if (k->nforks >= CTL_FORKS_MAX - 1)
		why = "the call has its most forks";
	else if (!r->to.has_tag || r->to.tag.len >= CTL_TAG_MAX)
		why = "its To tag is too long";
	else if (!p->count)
		why = "no free dialog slot";
	if (!why) {
		struct ctl_fork *f = &k->forks[k->nforks];
		uint64_t it = p->items[p->count - 1];
		*f = (struct ctl_fork){.slot = (uint32_t)(it >> 32), .gen = (uint32_t)it};
		memcpy(f->b_tag, r->buf + r->to.tag.off, r->to.tag.len);
		f->b_tag[r->to.tag.len] = '\0';
		uint32_t high = fork_tag_bits(c, k);
		int n;
		/* at most one step for each fork held: the tag differs */
		while ((n = shard_fork_tag_encode(f->a_tag, sizeof(f->a_tag), k->shard, k->slot,
						  k->slot_gen, f->slot, high)) >= 0 &&
		       fork_tag_taken(k, f->a_tag))
			high += 1u << SHARD_FORK_SLOT_BITS;
		int irc = n < 0 ? 0 : ctl_fork_install(c, k, f, r, src, srclen);
		if (n < 0)
			why = "its slot cannot be named in a tag";
		else if (irc == -E2BIG)
			why = "its Contact or Record-Route is longer than a record keeps";
		else if (irc != 0)
			why = "the worker's ring is full";
		if (!why) {
			p->count--;
			p->fork_of[f->slot] = call_index(c, k) + 1;
			k->nforks++;
			c->st.fork_dialogs++;
			return f;
		}
	}
	c->st.forks_refused++;
	log_info("call %s: a fork of leg B (To tag %.*s) has no early dialog of its own toward "
		 "the caller (%s): its provisionals go as the first fork's",
		 k->a_call_id, (int)(r->to.tag.len < 64 ? r->to.tag.len : 64),
		 r->buf + r->to.tag.off, why);
	return NULL;
}

/* The early dialogs of k's forks are over (a fork answered the call, or the
 * call ended): each one still up is released; its slot comes back through
 * ctl_on_dialog_ended (fork_of). */
void ctl_forks_end(struct ctl *c, struct ctl_call *k)
{
	struct slot_pool *p = &c->pools[k->shard];
	for (unsigned i = 0; i < k->nforks; i++) {
		const struct ctl_fork *f = &k->forks[i];
		if (f->gone)
			continue;
		if (c->hooks.release(c->hooks.arg, k->shard, f->slot, f->gen) != 0 &&
		    p->nreleases < p->cap)
			p->releases[p->nreleases++] = (uint64_t)f->slot << 32 | f->gen;
	}
	k->nforks = 0;
}

/* The 2xx r answers the call (install, confirmed). From a fork with an
 * early dialog of its own, the call's dialog toward the caller is that
 * one: k's tag toward the caller becomes the fork's, in its saved head too
 * (the 2xx and its retransmissions go under it), and the call's slot takes
 * that fork's early dialog (the worker merges it, with the CSeqs and
 * offer/answer of the PRACKs and UPDATEs it relayed there); the session
 * starts again from the INVITE's offer, for r's body or that early dialog's
 * answer. Every fork's early dialog is then released. 0, or negative when
 * the worker's ring is full: nothing changed then. */
/* Where k's tag toward the caller stands in its saved head, when tag (as
 * long as k->a_tag, as every tag of ours is) can take its place; NULL when
 * it cannot. */
static char *head_tag_at(struct ctl_call *k, const char *tag)
{
	size_t n = strlen(k->a_tag);
	return strlen(tag) == n ? memmem(k->head, k->head_len, k->a_tag, n) : NULL;
}

int ctl_answer_from_fork(struct ctl *c, struct ctl_call *k, const struct sip_msg *r,
			 const struct sockaddr *src, socklen_t srclen)
{
	const struct ctl_fork *f = same_callee(k, r) ? NULL : ctl_fork_of_response(k, r);
	char tag[CTL_TAG_MAX];
	size_t n = strlen(k->a_tag);
	char *at = f ? head_tag_at(k, f->a_tag) : NULL;

	if (at) {
		memcpy(&c->fork_dlg, &k->dlg, sizeof(k->dlg)); /* back, if the ring is full */
		memcpy(tag, k->a_tag, n + 1);
		memcpy(at, f->a_tag, n);
		memcpy(k->a_tag, f->a_tag, n + 1);
		SESSION_SET(&k->dlg.legs[SHARD_LEG_A], local_tag, f->a_tag, n);
		ctl_session_from_invite(c, k, &k->dlg);
	}
	int rc = ctl_install(c, k, r, src, srclen, true);
	if (rc != 0 && at) {
		memcpy(at, tag, n);
		memcpy(k->a_tag, tag, n + 1);
		memcpy(&k->dlg, &c->fork_dlg, sizeof(k->dlg));
	}
	if (rc == 0)
		ctl_forks_end(c, k);
	return rc;
}

/* k's saved head toward the caller under tag, into c->fork_head; k->head
 * when it cannot be (head_tag_at). */
const char *ctl_head_with_tag(struct ctl *c, struct ctl_call *k, const char *tag)
{
	const char *at = head_tag_at(k, tag);
	if (!at)
		return k->head;
	memcpy(c->fork_head, k->head, k->head_len);
	memcpy(c->fork_head + (at - k->head), tag, strlen(tag));
	return c->fork_head;
}
