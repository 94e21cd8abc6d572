/*
 * table.c - one shard's dialog and transaction tables, and its tokens (see table.h).
 *
 * Owns the mapping, the free lists and the token format. Does not own what
 * the records mean to SIP (user/daemon/relay.c) or timers (wheel.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/counter.h"
#include "core/mem.h"
#include "core/rng.h"
#include "shard/table.h"

/* Records never reach across a cache line they do not need to. */
static size_t align_up(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

size_t shard_dialog_bytes(void)
{
	return sizeof(struct shard_dialog);
}

size_t shard_txn_bytes(void)
{
	return sizeof(struct shard_txn);
}

static size_t layout(uint32_t ndialogs, uint32_t ntxns, size_t *dlg_off, size_t *txn_off)
{
	*dlg_off = align_up(sizeof(struct shard_table_hdr));
	*txn_off = *dlg_off + align_up((size_t)ndialogs * sizeof(struct shard_dialog));
	return *txn_off + align_up((size_t)ntxns * sizeof(struct shard_txn));
}

size_t shard_table_bytes(uint32_t ndialogs, uint32_t ntxns)
{
	size_t a, b;
	return layout(ndialogs, ntxns, &a, &b);
}

/* The long-head pool: header, the slots' owners, then the buffers, page
 * aligned so that a head of a few KiB takes only the pages it is written to. */
static size_t heads_layout(uint32_t nheads, size_t *meta_off, size_t *buf_off)
{
	*meta_off = align_up(sizeof(struct shard_heads_hdr));
	*buf_off =
	    (*meta_off + (size_t)nheads * sizeof(struct shard_head_meta) + 4095) & ~(size_t)4095;
	return *buf_off + (size_t)nheads * SHARD_HEAD_SLOT_MAX;
}

size_t shard_heads_bytes(uint32_t nheads)
{
	size_t a, b;
	return nheads ? heads_layout(nheads, &a, &b) : 0;
}

/* ---- free lists ------------------------------------------------------------ */

static void dlg_push_free(struct shard_table *t, uint32_t i)
{
	struct shard_table_hdr *h = t->hdr;
	struct shard_dialog *d = &t->dialogs[i];

	d->free_prev = 0;
	d->free_next = h->dlg_free;
	if (h->dlg_free)
		t->dialogs[h->dlg_free - 1].free_prev = i + 1;
	h->dlg_free = i + 1;
}

/* O(1) removal of any free slot: install may take a slot that is not the head. */
static void dlg_unlink_free(struct shard_table *t, uint32_t i)
{
	struct shard_table_hdr *h = t->hdr;
	struct shard_dialog *d = &t->dialogs[i];

	if (d->free_prev)
		t->dialogs[d->free_prev - 1].free_next = d->free_next;
	else if (h->dlg_free == i + 1)
		h->dlg_free = d->free_next;
	if (d->free_next)
		t->dialogs[d->free_next - 1].free_prev = d->free_prev;
	d->free_prev = d->free_next = 0;
}

/* Takes a FREE slot chosen by the caller out of the free structures: off the
 * free list below the high-water mark, or by raising the mark (the slots it
 * passes over join the free list, lowest at the head). */
static void take_free_slot(struct shard_table *t, uint32_t i)
{
	struct shard_table_hdr *h = t->hdr;

	if (i < h->dlg_hwm) {
		dlg_unlink_free(t, i);
		return;
	}
	for (uint32_t j = i; j-- > h->dlg_hwm;)
		dlg_push_free(t, j);
	h->dlg_hwm = i + 1;
}

static void dlg_count_used(struct shard_table_hdr *h)
{
	h->dialogs_used++;
	if (h->dialogs_used > h->dialogs_peak)
		h->dialogs_peak = h->dialogs_used;
}

/* Appends a used transaction to the creation-order list. */
/* ---- forks' early dialogs (struct shard_table's fork_prev, fork_next) ---- */

static bool fork_tag_names(const struct shard_dialog *d, uint32_t *call, uint32_t *gen);
static uint32_t fork_call_slot(const struct shard_table *t, const struct shard_dialog *d);

/* Slot i out of the list it is in, as a fork or as a call: a call's forks
 * left without it are a list of their own until each is freed. */
static void fork_unlink(struct shard_table *t, uint32_t i)
{
	if (!t->fork_next)
		return;
	uint32_t p = t->fork_prev[i], n = t->fork_next[i];
	if (p)
		t->fork_next[p - 1] = n;
	if (n)
		t->fork_prev[n - 1] = p;
	t->fork_prev[i] = t->fork_next[i] = 0;
}

/* The dialog in slot i, when it is the early dialog of a fork (its leg A
 * tag is a fork's, naming another slot as the call's and this one as the
 * fork's: shard_fork_tag_encode), joins the list of its call's slot, while
 * that slot holds the call: a dialog in the generation the tag names, not
 * itself a fork's. A slot freed since (the call's early dialog ended before
 * its forks, or a kill between their releases), or given to another call or
 * to another call's fork, is not followed: the fork is then in no list, as
 * one whose call's slot is freed after it joined is not found through it. */
static void fork_link(struct shard_table *t, uint32_t i)
{
	uint32_t call, gen;
	if (!t->fork_next || !fork_tag_names(&t->dialogs[i], &call, &gen) ||
	    call >= t->hdr->ndialogs)
		return;
	const struct shard_dialog *c = &t->dialogs[call];
	if (c->state == SHARD_DLG_FREE || c->gen != gen || fork_call_slot(t, c))
		return;
	fork_unlink(t, i);
	uint32_t n = t->fork_next[call];
	t->fork_next[i] = n;
	t->fork_prev[i] = call + 1;
	if (n)
		t->fork_prev[n - 1] = i + 1;
	t->fork_next[call] = i + 1;
}

static void txn_append(struct shard_table *t, uint32_t i)
{
	struct shard_table_hdr *h = t->hdr;
	struct shard_txn *x = &t->txns[i];

	x->prev = h->txn_newest;
	x->next = 0;
	if (h->txn_newest)
		t->txns[h->txn_newest - 1].next = i + 1;
	else
		h->txn_oldest = i + 1;
	h->txn_newest = i + 1;
}

/* Takes a waiting transaction off the creation-order list. */
static void txn_unlink_waiting(struct shard_table *t, uint32_t i)
{
	struct shard_table_hdr *h = t->hdr;
	struct shard_txn *x = &t->txns[i];

	if (x->prev)
		t->txns[x->prev - 1].next = x->next;
	else
		h->txn_oldest = x->next;
	if (x->next)
		t->txns[x->next - 1].prev = x->prev;
	else
		h->txn_newest = x->prev;
}

/* The answered list, in the order the finals came: circular, so that one
 * header field (txn_answered, its oldest) holds it; the oldest's prev is the
 * newest. */
static void txn_append_answered(struct shard_table *t, uint32_t i)
{
	struct shard_table_hdr *h = t->hdr;
	struct shard_txn *x = &t->txns[i];

	if (!h->txn_answered) {
		x->prev = x->next = i + 1;
		h->txn_answered = i + 1;
		return;
	}
	struct shard_txn *oldest = &t->txns[h->txn_answered - 1];
	x->prev = oldest->prev;
	x->next = h->txn_answered;
	t->txns[oldest->prev - 1].next = i + 1;
	oldest->prev = i + 1;
}

static void txn_unlink_answered(struct shard_table *t, uint32_t i)
{
	struct shard_table_hdr *h = t->hdr;
	struct shard_txn *x = &t->txns[i];

	if (x->next == i + 1) {
		h->txn_answered = 0;
		return;
	}
	t->txns[x->prev - 1].next = x->next;
	t->txns[x->next - 1].prev = x->prev;
	if (h->txn_answered == i + 1)
		h->txn_answered = x->next;
}

/* ---- open, re-attach, close ------------------------------------------------ */

static void init_fresh(struct shard_table *t, uint32_t ndialogs, uint32_t ntxns)
{
	struct shard_table_hdr *h = t->hdr;

	/* the mapping is zero-filled: only the header needs writing */
	h->magic = SHARD_TABLE_MAGIC;
	h->version = SHARD_TABLE_VERSION;
	h->ndialogs = ndialogs;
	h->ntxns = ntxns;
	h->hdr_size = sizeof(struct shard_table_hdr);
	h->dialog_size = sizeof(struct shard_dialog);
	h->txn_size = sizeof(struct shard_txn);
	h->map_len = t->map_len;
	/* no free list to build: records above the high-water marks are all
	 * zero and taken in order, so a fresh table touches no record page */
}

static bool str_ok(uint16_t len, size_t cap)
{
	return len < cap;
}

static bool body_ok(const struct session_body *b)
{
	return b->len <= SESSION_BODY_MAX && b->type_len <= SESSION_BODY_TYPE_MAX;
}

static bool session_ok(const struct sip_session *s)
{
	return str_ok(s->call_id_len, sizeof(s->call_id)) &&
	       str_ok(s->local_tag_len, sizeof(s->local_tag)) &&
	       str_ok(s->remote_tag_len, sizeof(s->remote_tag)) &&
	       str_ok(s->local_uri_len, sizeof(s->local_uri)) &&
	       str_ok(s->remote_uri_len, sizeof(s->remote_uri)) &&
	       str_ok(s->remote_target_len, sizeof(s->remote_target)) &&
	       str_ok(s->route_set_len, sizeof(s->route_set)) && s->peer_len <= sizeof(s->peer) &&
	       s->session_state <= SESSION_STATE_TERMINATED &&
	       s->signaling_state <= SIGNALING_STATE_CLOSED && mem_bool_ok(&s->remote_cseq_set) &&
	       body_ok(&s->offer) && body_ok(&s->answer);
}

bool shard_dialog_ok(const struct shard_dialog *d)
{
	return d->state < SHARD_DLG_STATE_COUNT_ && d->sent_leg <= 1 &&
	       d->sent_method < SIP_METHOD_COUNT_ && session_ok(&d->legs[0]) &&
	       session_ok(&d->legs[1]) && d->cdr.route_len < SHARD_CDR_ROUTE_MAX &&
	       d->cdr.request_uri_len <= SHARD_CDR_URI_MAX;
}

/* The long-head slot that transaction i's record names, when that slot names
 * the transaction back (index and generation); -1 otherwise: an inline head,
 * no pool, a slot lost with a pool file made anew, or half an update. */
static int64_t head_slot_of(const struct shard_table *t, uint32_t i)
{
	const struct shard_txn *x = &t->txns[i];
	uint32_t n;

	if (!t->heads || x->head_len <= SHARD_TXN_HEAD_MAX || x->head_len > SHARD_HEAD_SLOT_MAX)
		return -1;
	memcpy(&n, x->head, sizeof(n));
	if (n >= t->heads->hwm || n >= t->heads->nslots)
		return -1;
	const struct shard_head_meta *s = &t->head_meta[n];
	return s->txn == i + 1 && s->txn_gen == x->gen ? (int64_t)n : -1;
}

/* After the transactions are re-attached: a slot stays taken only while a
 * transaction in use names it and it names that transaction; every other
 * slot joins the free list. */
static void heads_reattach(struct shard_table *t)
{
	struct shard_heads_hdr *h = t->heads;

	if (!h)
		return;
	if (h->hwm > h->nslots)
		h->hwm = h->nslots;
	h->free = h->used = 0;
	for (uint32_t n = h->hwm; n-- > 0;) {
		struct shard_head_meta *s = &t->head_meta[n];
		uint32_t i = s->txn - 1;
		if (s->txn && i < t->hdr->txn_hwm && t->txns[i].used && head_slot_of(t, i) == n) {
			h->used++;
			continue;
		}
		s->txn = 0;
		s->next = h->free;
		h->free = n + 1;
	}
	if (h->used > h->peak)
		h->peak = h->used;
}

static int cmp_created(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : (x[1] > y[1]) - (x[1] < y[1]);
}

/* d's request of the operator that waited for its final when its process
 * stopped: its transaction (orig.c) went with that process, so no final will
 * be kept and Timer F will not give it up; it is lost, said so, rather than
 * shown waiting for ever. A transfer whose REFER had no final waits for a
 * NOTIFY no longer than after a 2xx (Timer N from now, RFC 6665 4.1.2.4): a
 * UA that accepted it sends one, one that refused it none. */
static void sent_lost(struct shard_dialog *d, uint64_t now_ms)
{
	/* the transfer's REFER had no final (a 2xx starts Timer N, a refusal
	 * ends it, a NOTIFY marks it), whatever the operator sent into the
	 * call after it (an INFO, a MESSAGE): else it stayed active for good */
	if ((d->refer & SHARD_REFER_STATE) == SHARD_REFER_ACTIVE &&
	    !(d->refer & (SHARD_REFER_NOTIFIED | SHARD_REFER_TIMER_N)))
		shard_refer_accepted(d, now_ms);
	if (!d->sent_method || d->sent_status)
		return;
	d->sent_status = SHARD_SENT_LOST;
}

/* The rest of shard_dialog_retire_first_fork, after leg A's tag length: leg
 * B's tag, and the strings' ends. Also re-attach's, for a record a kill
 * caught between the two. */
static void retire_rest(struct shard_dialog *d)
{
	d->legs[SHARD_LEG_A].local_tag[0] = '\0';
	d->legs[SHARD_LEG_B].remote_tag_len = 0;
	d->legs[SHARD_LEG_B].remote_tag[0] = '\0';
}

/* Whether transaction record x is a later request of its leg than y, a
 * record of the same dialog, leg and method: a leg's requests are relayed
 * in the order of their CSeqs (a lower one than the last is refused), while
 * the slots they take come from the free list in any order. */
static bool txn_later(const struct shard_txn *x, const struct shard_txn *y)
{
	return x->in_cseq != y->in_cseq ? x->in_cseq > y->in_cseq : x->created_ms > y->created_ms;
}

/* Transaction i, re-attached, into the index as shard_leg_take_request set
 * it: each leg's last INVITE and last BYE of the dialog its slot holds now,
 * answered or not (a later one answered hides an earlier one still open, as
 * in the running process), so that shard_txn_open_invite and _bye find
 * after a restart what they found before it, not a record of the slot's
 * call before, nor an earlier request that sits in a lower slot. Records
 * in any order; the dialogs must be re-attached already. */
static void open_txn_reattach(struct shard_table *t, uint32_t i)
{
	const struct shard_txn *x = &t->txns[i];
	bool bye = x->method_id == SIP_METHOD_BYE;

	if ((!bye && x->method_id != SIP_METHOD_INVITE) || x->dialog >= t->hdr->ndialogs)
		return;
	const struct shard_dialog *d = &t->dialogs[x->dialog];
	if (d->state == SHARD_DLG_FREE || x->dialog_gen != d->gen)
		return;
	uint32_t *at = &t->open_txn[shard_open_txn_at(x->dialog, shard_txn_from_leg(x), bye)];
	if (!*at || txn_later(x, &t->txns[*at - 1]))
		*at = i + 1;
}

/* Whether the dialog record in slot i is one a re-attach freed as torn, in
 * generation gen (reattach: its slot SHARD_SLOT_WRITING, its generation
 * kept, so that the controller's install of that call again is taken). */
static bool torn_at(const struct shard_table *t, uint32_t i, uint32_t gen)
{
	const struct shard_dialog *c = &t->dialogs[i];
	return i < t->hdr->ndialogs && c->state == SHARD_DLG_FREE &&
	       (c->slot == SHARD_SLOT_WRITING || c->slot == SHARD_SLOT_UPDATING) && c->gen == gen;
}

/* The slot of the torn call whose fork's early dialog d is, or UINT32_MAX. */
static uint32_t torn_call_of_fork(const struct shard_table *t, const struct shard_dialog *d)
{
	uint32_t call, gen;
	return fork_tag_names(d, &call, &gen) && call < t->hdr->ndialogs && torn_at(t, call, gen)
		   ? call
		   : UINT32_MAX;
}

/* The slot of the torn call whose open INVITE or BYE x is, or UINT32_MAX. */
static uint32_t torn_call_of_txn(const struct shard_table *t, const struct shard_txn *x)
{
	return (x->method_id == SIP_METHOD_INVITE || x->method_id == SIP_METHOD_BYE) &&
		       x->dialog < t->hdr->ndialogs && torn_at(t, x->dialog, x->dialog_gen)
		   ? x->dialog
		   : UINT32_MAX;
}

static int relink_add(struct shard_table *t, int64_t e)
{
	int64_t *r = realloc(t->relink, ((size_t)t->nrelink + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	r[t->nrelink++] = e;
	t->relink = r;
	return 0;
}

/* The call in slot `call` is installed again after a re-attach freed it as
 * torn: its forks' early dialogs join its list, its open transactions the
 * index, and they leave the relink list (struct shard_table). */
static void relink_call(struct shard_table *t, uint32_t call)
{
	for (uint32_t k = 0; k < t->nrelink;) {
		int64_t e = t->relink[k];
		uint32_t i = (uint32_t)(e > 0 ? e : -e) - 1;
		bool mine;
		if (e > 0) {
			const struct shard_dialog *f = &t->dialogs[i];
			uint32_t c, g;
			mine =
			    f->state == SHARD_DLG_EARLY && fork_tag_names(f, &c, &g) && c == call;
			if (mine && !t->fork_prev[i])
				fork_link(t, i);
		} else {
			const struct shard_txn *x = &t->txns[i];
			mine = x->used && x->dialog == call;
			if (mine)
				open_txn_reattach(t, i);
		}
		if (mine)
			t->relink[k] = t->relink[--t->nrelink];
		else
			k++;
	}
}

/*
 * The high-water mark of a region of n records of sz bytes at offset off of
 * the table's file, raised over every record that shares a page with data
 * past hwm. The mark moves before a record is written, so a kill leaves it
 * above every record; one below them (a damaged header) would leave those
 * records unchecked by the re-attach and yet reachable by slot, freed into
 * the free list and given out a second time by the mark. SEEK_DATA finds
 * such pages without reading the holes (a tmpfs file's pages never written
 * stay holes: reading them would fill the memory the mark saves); a file
 * system that cannot tell has the whole region walked.
 */
static uint32_t mark_over_data(int fd, uint32_t hwm, size_t off, size_t sz, uint32_t n)
{
	const off_t end = (off_t)(off + (size_t)n * sz);
	off_t pos = (off_t)(off + (size_t)hwm * sz);
	uint32_t mark = hwm;

	while (pos < end) {
		off_t data = lseek(fd, pos, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? mark : n; /* ENXIO: no data past pos */
		if (data >= end)
			break;
		off_t hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return n;
		if (hole > end)
			hole = end;
		mark = (uint32_t)(((size_t)hole - off + sz - 1) / sz);
		pos = hole;
	}
	return mark;
}

/* A re-attached file is trusted only as far as each record is well formed.
 * The old process may have been killed in the middle of an update, so the
 * lists and counters are derived again from the records' own state, and a
 * record that does not pass the checks is freed and counted. */
static int reattach(struct shard_table *t)
{
	struct shard_table_hdr *h = t->hdr;
	uint32_t n_used = 0;

	/* Records above a high-water mark were never written (the mark moves
	 * before a record is), so only the part below it is walked. */
	if (h->dlg_hwm > h->ndialogs)
		h->dlg_hwm = h->ndialogs;
	if (h->txn_hwm > h->ntxns)
		h->txn_hwm = h->ntxns;
	if (t->fd >= 0) {
		h->dlg_hwm =
		    mark_over_data(t->fd, h->dlg_hwm, (size_t)((char *)t->dialogs - (char *)h),
				   sizeof(struct shard_dialog), h->ndialogs);
		h->txn_hwm =
		    mark_over_data(t->fd, h->txn_hwm, (size_t)((char *)t->txns - (char *)h),
				   sizeof(struct shard_txn), h->ntxns);
	}
	h->dlg_free = 0;
	h->dialogs_used = 0;
	/* what this start frees, which the daemon logs as such: the count of an
	 * earlier start, kept in the file, would be logged again at every start
	 * after it, as if the tables were found torn each time */
	h->reattach_dropped = 0;
	const uint64_t now = clock_mono_ms();
	for (uint32_t i = h->dlg_hwm; i-- > 0;) {
		struct shard_dialog *d = &t->dialogs[i];
		uint32_t call, gen;
		/* a fork's early dialog whose tag names a call's slot past the
		 * table's (shard_fork_tag_encode: a table of another size is
		 * refused at open) is a damaged or hostile record */
		if (d->state != SHARD_DLG_FREE &&
		    (d->slot != i || !shard_dialog_ok(d) ||
		     (d->state == SHARD_DLG_EARLY && fork_tag_names(d, &call, &gen) &&
		      call >= h->ndialogs))) {
			d->state = SHARD_DLG_FREE;
			/* no worker ended this generation: an install of it
			 * again (the controller's, of a call it took up) is no
			 * stale one (shard_dialog_committed); one torn in an
			 * update keeps saying so (shard_dialog_torn_in_update) */
			if (d->slot != SHARD_SLOT_UPDATING)
				d->slot = SHARD_SLOT_WRITING;
			h->reattach_dropped++;
		}
		if (d->state == SHARD_DLG_FREE) {
			dlg_push_free(t, i);
		} else {
			d->timer = 0; /* it named a node of the old process's wheel */
			sent_lost(d, now);
			dlg_count_used(h);
			if (shard_dialog_first_fork_retired(d))
				retire_rest(d); /* a kill inside the retirement */
		}
	}
	/* the forks' lists, once every record is one that stays: a fork
	 * follows its call's slot only while the call is there (fork_link) */
	for (uint32_t i = h->dlg_hwm; i-- > 0;)
		if (t->dialogs[i].state == SHARD_DLG_EARLY) {
			fork_link(t, i);
			if (t->fork_prev && !t->fork_prev[i] &&
			    torn_call_of_fork(t, &t->dialogs[i]) != UINT32_MAX &&
			    relink_add(t, (int64_t)i + 1) != 0)
				return -ENOMEM;
		}

	/* transactions: free list, then the used ones again in creation order */
	h->txn_free = h->txn_oldest = h->txn_newest = h->txn_answered = 0;
	h->txns_used = 0;
	/* CLOCK_MONOTONIC restarts at boot: a file kept across one holds times
	 * from another clock. A transaction from the future would sit at the head
	 * of its list, and expiry, which looks at the head only, would free none
	 * behind it until this boot's clock caught up (days): its timeout runs
	 * from now instead (the worker does the same for dialogs). */
	for (uint32_t i = h->txn_hwm; i-- > 0;) {
		struct shard_txn *x = &t->txns[i];
		if (!mem_bool_ok(&x->used) ||
		    (x->used && ((x->head_len > sizeof(x->head) && head_slot_of(t, i) < 0) ||
				 (x->leg & ~SHARD_TXN_LEG_BITS) || x->final_class > 6))) {
			x->used = false;
			h->reattach_dropped++;
		}
		if (x->used) {
			if (x->created_ms > now)
				x->created_ms = now;
			n_used++;
			open_txn_reattach(t, i);
			if (torn_call_of_txn(t, x) != UINT32_MAX &&
			    relink_add(t, -((int64_t)i + 1)) != 0)
				return -ENOMEM;
		} else {
			x->prev = 0;
			x->next = h->txn_free;
			h->txn_free = i + 1;
		}
	}
	if (!n_used)
		return 0;
	uint64_t *order = malloc((size_t)n_used * 2 * sizeof(*order));
	if (!order)
		return -ENOMEM;
	uint32_t k = 0;
	for (uint32_t i = 0; i < h->txn_hwm; i++)
		if (t->txns[i].used) {
			order[2 * k] = t->txns[i].created_ms;
			order[2 * k + 1] = i;
			k++;
		}
	qsort(order, n_used, 2 * sizeof(*order), cmp_created);
	for (uint32_t j = 0; j < n_used; j++) {
		uint32_t i = (uint32_t)order[2 * j + 1];
		if (t->txns[i].final_class)
			txn_append_answered(t, i);
		else
			txn_append(t, i);
		h->txns_used++;
	}
	if (h->txns_used > h->txns_peak)
		h->txns_peak = h->txns_used;
	free(order);
	return 0;
}

static bool layout_matches(const struct shard_table *t, uint32_t ndialogs, uint32_t ntxns)
{
	const struct shard_table_hdr *h = t->hdr;
	return h->magic == SHARD_TABLE_MAGIC && h->version == SHARD_TABLE_VERSION &&
	       h->ndialogs == ndialogs && h->ntxns == ntxns &&
	       h->hdr_size == sizeof(struct shard_table_hdr) &&
	       h->dialog_size == sizeof(struct shard_dialog) &&
	       h->txn_size == sizeof(struct shard_txn) && h->map_len == t->map_len;
}

static bool heads_layout_matches(const struct shard_table *t, uint32_t nheads)
{
	const struct shard_heads_hdr *h = t->heads;
	return h->magic == SHARD_HEADS_MAGIC && h->version == SHARD_HEADS_VERSION &&
	       h->nslots == nheads && h->hdr_size == sizeof(struct shard_heads_hdr) &&
	       h->meta_size == sizeof(struct shard_head_meta) && h->map_len == t->heads_len;
}

/* Maps len bytes: the file at path (created, or re-attached: *fresh false),
 * or anonymous memory when path is NULL, whose pages are touched only as
 * records are used. */
static int map_region(const char *path, size_t len, void **mem, int *fd, bool *fresh)
{
	if (path)
		return mem_file_map(path, len, mem, fd, fresh);
	*fresh = true;
	*mem = mem_pool_alloc(len);
	return *mem ? 0 : -errno;
}

/* Maps the long-head pool. Its slots hold only heads of transactions in
 * flight (seconds), so a file of another layout (another capacity) is made
 * anew rather than stopping the start: the transactions whose heads it held
 * are freed at re-attach, their responses dropped, as a lost datagram. */
static int heads_open(struct shard_table *t, const char *path, uint32_t nheads)
{
	size_t meta_off, buf_off, len = heads_layout(nheads, &meta_off, &buf_off);
	bool fresh = true;
	void *mem;
	int rc;

	rc = map_region(path, len, &mem, &t->heads_fd, &fresh);
	if (rc == -EINVAL && path) { /* another size */
		t->heads_renewed = true;
		rc = mem_file_remove(path);
		if (!rc)
			rc = map_region(path, len, &mem, &t->heads_fd, &fresh);
	}
	if (rc)
		return rc;
	t->heads = mem;
	t->heads_len = len;
	t->head_meta = (struct shard_head_meta *)((char *)mem + meta_off);
	t->head_bufs = (char *)mem + buf_off;
	/* a header never written (mem_zero): a new pool, not another layout */
	if (!fresh && mem_zero(t->heads, sizeof(*t->heads)))
		fresh = true;
	if (!fresh && !heads_layout_matches(t, nheads)) {
		/* the buffers are read only up to what an owner wrote */
		memset(mem, 0, buf_off);
		t->heads_renewed = fresh = true;
	}
	if (fresh) {
		struct shard_heads_hdr *h = t->heads;
		h->magic = SHARD_HEADS_MAGIC;
		h->version = SHARD_HEADS_VERSION;
		h->nslots = nheads;
		h->hdr_size = sizeof(struct shard_heads_hdr);
		h->meta_size = sizeof(struct shard_head_meta);
		h->map_len = len;
	}
	return 0;
}

int shard_table_open(struct shard_table *t, const char *path, uint32_t ndialogs, uint32_t ntxns)
{
	return shard_table_open_heads(t, path, NULL, ndialogs, ntxns, 0);
}

int shard_table_open_heads(struct shard_table *t, const char *path, const char *heads_path,
			   uint32_t ndialogs, uint32_t ntxns, uint32_t nheads)
{
	size_t dlg_off, txn_off, len;
	bool fresh = true;
	void *mem;
	int rc;

	memset(t, 0, sizeof(*t));
	t->fd = t->heads_fd = -1;
	/* index + 1 must fit in 32 bits */
	if (ndialogs == 0 || ntxns == 0 || ndialogs == UINT32_MAX || ntxns == UINT32_MAX ||
	    nheads == UINT32_MAX)
		return -EINVAL;
	len = layout(ndialogs, ntxns, &dlg_off, &txn_off);
	t->fork_prev = calloc(ndialogs, sizeof(*t->fork_prev));
	t->fork_next = calloc(ndialogs, sizeof(*t->fork_next));
	t->open_txn = calloc((size_t)ndialogs * 4, sizeof(*t->open_txn));
	if (!t->fork_prev || !t->fork_next || !t->open_txn) {
		shard_table_close(t);
		return -ENOMEM;
	}
	rc = map_region(path, len, &mem, &t->fd, &fresh);
	if (rc) {
		free(t->fork_prev);
		free(t->fork_next);
		free(t->open_txn);
		t->fork_prev = t->fork_next = t->open_txn = NULL;
		return rc;
	}
	t->map_len = len;
	t->hdr = mem;
	t->dialogs = (struct shard_dialog *)((char *)mem + dlg_off);
	t->txns = (struct shard_txn *)((char *)mem + txn_off);
	/* a file made at its size whose header was never written (the start
	 * that made it failed to map it, or was killed, in between) never held
	 * a record: records are written only after the header */
	if (!fresh && mem_zero(t->hdr, sizeof(*t->hdr)))
		fresh = true;
	if (!fresh && !layout_matches(t, ndialogs, ntxns)) {
		shard_table_close(t);
		return -EINVAL;
	}
	/* a new file gets its header before anything else can fail: one left
	 * without it (the pool below could not be opened) would be refused at
	 * every later start as a file of other capacities */
	if (fresh)
		init_fresh(t, ndialogs, ntxns);
	rc = nheads ? heads_open(t, heads_path, nheads) : 0;
	bool heads_failed = rc != 0;
	if (!rc && !fresh)
		rc = reattach(t);
	if (rc) {
		shard_table_close(t);
		t->heads_failed = heads_failed; /* after the close, which clears t */
		return rc;
	}
	heads_reattach(t);
	return 0;
}

void shard_table_close(struct shard_table *t)
{
	free(t->relink);
	free(t->fork_prev);
	free(t->fork_next);
	free(t->open_txn);
	if (t->hdr)
		munmap(t->hdr, t->map_len);
	if (t->fd >= 0)
		close(t->fd); /* also drops the lock */
	if (t->heads)
		munmap(t->heads, t->heads_len);
	if (t->heads_fd >= 0)
		close(t->heads_fd);
	memset(t, 0, sizeof(*t));
	t->fd = t->heads_fd = -1;
}

void shard_table_usage(const struct shard_table *t, struct shard_table_usage *u)
{
	const struct shard_table_hdr *h = t->hdr;

	u->dialogs_cap = h->ndialogs;
	u->dialogs_used = h->dialogs_used;
	u->dialogs_peak = h->dialogs_peak;
	u->txns_cap = h->ntxns;
	u->txns_used = h->txns_used;
	u->txns_peak = h->txns_peak;
	u->dialogs_full = h->dialogs_full;
	u->txns_full = h->txns_full;
	u->txns_evicted = t->txns_evicted;
	u->reattach_dropped = h->reattach_dropped;
	u->heads_cap = t->heads ? t->heads->nslots : 0;
	u->heads_used = t->heads ? t->heads->used : 0;
	u->heads_peak = t->heads ? t->heads->peak : 0;
	u->heads_evicted = t->heads_evicted;
}

/* ---- dialogs -------------------------------------------------------------- */

int shard_dialog_alloc(struct shard_table *t, uint64_t now_ms, uint32_t *gen)
{
	struct shard_table_hdr *h = t->hdr;
	uint32_t i;

	/* freed slots first (their pages are warm), then never-used ones */
	if (h->dlg_free) {
		i = h->dlg_free - 1;
		dlg_unlink_free(t, i);
	} else if (h->dlg_hwm < h->ndialogs) {
		i = h->dlg_hwm++;
	} else {
		h->dialogs_full++;
		return -ENOSPC;
	}
	struct shard_dialog *d = &t->dialogs[i];
	uint32_t g = d->gen + 1;
	memset(d, 0, sizeof(*d));
	d->slot = i;
	d->gen = g;
	d->state = SHARD_DLG_NEW;
	d->created_ms = d->last_activity_ms = now_ms;
	dlg_count_used(h);
	*gen = g;
	return (int)i;
}

struct shard_dialog *shard_dialog_get(struct shard_table *t, uint32_t slot, uint32_t gen)
{
	if (slot >= t->hdr->ndialogs)
		return NULL;
	struct shard_dialog *d = &t->dialogs[slot];
	return (d->state != SHARD_DLG_FREE && d->gen == gen) ? d : NULL;
}

/* The fields of a dialog that are the worker's once it holds it (struct
 * shard_dialog says which): copied from `from` into `to`. */
static void copy_worker_fields(struct shard_dialog *to, const struct shard_dialog *from)
{
	to->created_ms = from->created_ms;
	to->timer = from->timer;
	memcpy(to->requests, from->requests, sizeof(to->requests));
	to->sent_method = from->sent_method;
	to->sent_leg = from->sent_leg;
	to->sent_status = from->sent_status;
	to->sent_seq = from->sent_seq;
	to->refer = from->refer;
	to->refer_status = from->refer_status;
	to->refer_cseq = from->refer_cseq;
	to->refer_fwd_out = from->refer_fwd_out;
	to->refer_fwd_in = from->refer_fwd_in;
}

#define DLG_FIXED offsetof(struct shard_dialog, legs)

/* after the legs: session_expires_at_s and auth_key as they are, then the
 * CDR's members (cdr) as their three lengths and the bytes each uses */
#define DLG_TAIL                                                                                   \
	(offsetof(struct shard_dialog, cdr) - offsetof(struct shard_dialog, session_expires_at_s))
#define DLG_CDR_HEAD offsetof(struct shard_dialog_cdr, route)
#define DLG_CDR_MAX  (DLG_CDR_HEAD + SHARD_CDR_ROUTE_MAX - 1 + SHARD_CDR_URI_MAX)

_Static_assert(offsetof(struct shard_dialog, session_expires_at_s) ==
		       DLG_FIXED + 2 * sizeof(struct sip_session) &&
		   sizeof(struct shard_dialog) - offsetof(struct shard_dialog, cdr) -
			   sizeof(struct shard_dialog_cdr) <
		       8,
	       "struct shard_dialog: fields after the legs that shard_dialog_pack does not know");
_Static_assert(DLG_FIXED + 2 * SESSION_PACKED_MAX + DLG_TAIL + DLG_CDR_MAX <=
		   SHARD_DIALOG_PACKED_MAX,
	       "a packed dialog must fit SHARD_DIALOG_PACKED_MAX");

/* Writes c packed at o: its lengths, then the bytes used. */
static size_t cdr_pack(const struct shard_dialog_cdr *c, char *o)
{
	memcpy(o, c, DLG_CDR_HEAD);
	memcpy(o + DLG_CDR_HEAD, c->route, c->route_len);
	memcpy(o + DLG_CDR_HEAD + c->route_len, c->request_uri, c->request_uri_len);
	return DLG_CDR_HEAD + c->route_len + c->request_uri_len;
}

/* Reads a packed cdr that ends at end into c (strings NUL-terminated), or
 * only checks it when c is NULL: 0, or -EINVAL for lengths beyond their
 * fields or other than end - p bytes. */
static int cdr_unpack(struct shard_dialog_cdr *c, const char *p, const char *end)
{
	struct shard_dialog_cdr h;

	if (end - p < (ptrdiff_t)DLG_CDR_HEAD)
		return -EINVAL;
	memcpy(&h, p, DLG_CDR_HEAD);
	if (h.route_len >= SHARD_CDR_ROUTE_MAX || h.request_uri_len > SHARD_CDR_URI_MAX ||
	    end - p != (ptrdiff_t)(DLG_CDR_HEAD + h.route_len + h.request_uri_len))
		return -EINVAL;
	if (!c)
		return 0;
	memcpy(c, &h, DLG_CDR_HEAD);
	p += DLG_CDR_HEAD;
	memcpy(c->route, p, h.route_len);
	c->route[h.route_len] = '\0';
	memcpy(c->request_uri, p + h.route_len, h.request_uri_len);
	c->request_uri[h.request_uri_len] = '\0';
	return 0;
}

void shard_dialog_clear(struct shard_dialog *d)
{
	memset(d, 0, DLG_FIXED);
	sip_session_clear(&d->legs[SHARD_LEG_A]);
	sip_session_clear(&d->legs[SHARD_LEG_B]);
	d->session_expires_at_s = 0;
	d->auth_key = 0;
	shard_cdr_set(&d->cdr, NULL, "", 0, 0);
}

int shard_dialog_pack(const struct shard_dialog *d, void *out, size_t cap)
{
	char *o = out;

	if (cap < SHARD_DIALOG_PACKED_MAX)
		return -ENOSPC;
	memcpy(o, d, DLG_FIXED);
	o += DLG_FIXED;
	o += sip_session_pack(&d->legs[SHARD_LEG_A], o);
	o += sip_session_pack(&d->legs[SHARD_LEG_B], o);
	memcpy(o, &d->session_expires_at_s, DLG_TAIL);
	o += DLG_TAIL;
	o += cdr_pack(&d->cdr, o);
	return (int)(o - (char *)out);
}

/* Checks a packed dialog of len bytes whole and finds where its legs and its
 * tail start (the tail's DLG_TAIL bytes, then its packed cdr up to the end);
 * 0 or -EINVAL. */
static int packed_legs(const void *msg, size_t len, const char **leg_a, const char **leg_b,
		       const char **tail)
{
	const char *end = (const char *)msg + len;

	if (len < DLG_FIXED + DLG_TAIL + DLG_CDR_HEAD)
		return -EINVAL;
	*leg_a = (const char *)msg + DLG_FIXED;
	*leg_b = sip_session_unpack(NULL, *leg_a, end);
	*tail = *leg_b ? sip_session_unpack(NULL, *leg_b, end) : NULL;
	return *tail && end - *tail >= (ptrdiff_t)DLG_TAIL &&
		       cdr_unpack(NULL, *tail + DLG_TAIL, end) == 0
		   ? 0
		   : -EINVAL;
}

int shard_dialog_unpack(struct shard_dialog *d, const void *msg, size_t len)
{
	const char *leg_a, *leg_b, *tail;

	if (packed_legs(msg, len, &leg_a, &leg_b, &tail) != 0)
		return -EINVAL;
	memcpy(d, msg, DLG_FIXED);
	sip_session_unpack(&d->legs[SHARD_LEG_A], leg_a, tail);
	sip_session_unpack(&d->legs[SHARD_LEG_B], leg_b, tail);
	memcpy(&d->session_expires_at_s, tail, DLG_TAIL);
	cdr_unpack(&d->cdr, tail + DLG_TAIL, (const char *)msg + len);
	return 0;
}

/* Leg B of a dialog the worker holds, updated from the controller's packed
 * copy (the 2xx that confirms an early dialog). Leg B's CSeq space is the
 * worker's too by then: a PRACK or UPDATE it relayed in the early dialog
 * took CSeqs above the INVITE's, which the controller's copy still has (RFC
 * 3261 12.2.1.1: the next request must go higher); so are the callee's own
 * requests it saw (remote_cseq, last_txn: when the 2xx comes from the same
 * callee, not from another fork with a CSeq space of its own), the
 * keep-alive, and with keep_offer_answer the offer/answer state, again only
 * from the same callee (another fork's early dialog and the offers its PRACKs
 * and UPDATEs made are not the dialog the 2xx confirms). Returns whether the
 * offer/answer state was kept. */
static bool update_leg_b(struct sip_session *b, const char *packed, const char *end,
			 bool keep_offer_answer)
{
	const struct sip_session was = *b;

	sip_session_unpack(b, packed, end);
	bool same_callee = was.remote_tag_len == b->remote_tag_len &&
			   memcmp(was.remote_tag, b->remote_tag, was.remote_tag_len) == 0;
	keep_offer_answer = keep_offer_answer && same_callee;
	if (keep_offer_answer) {
		b->signaling_state = was.signaling_state;
		b->offer = was.offer;
		b->answer = was.answer;
	}
	if (was.local_cseq > b->local_cseq)
		b->local_cseq = was.local_cseq;
	if (was.remote_cseq_set && same_callee) {
		b->remote_cseq = was.remote_cseq;
		b->remote_cseq_set = true;
		b->last_txn = was.last_txn;
		b->last_txn_gen = was.last_txn_gen;
		b->invite_cseq_tag = was.invite_cseq_tag;
	}
	b->keepalive = was.keepalive;
	return keep_offer_answer;
}

/* Transaction i, when it is one of the requests relayed in fork f's early
 * dialog, becomes one of the call in `to`, which takes f's dialog. */
static void txn_follow(struct shard_table *t, uint32_t i, const struct shard_dialog *f,
		       const struct shard_dialog *to)
{
	struct shard_txn *x = &t->txns[i];

	if (!x->used || x->dialog != (uint32_t)(f - t->dialogs) || x->dialog_gen != f->gen)
		return;
	x->dialog = (uint32_t)(to - t->dialogs);
	x->dialog_gen = to->gen;
	open_txn_reattach(t, i);
}

/* The transactions of fork f's early dialog that matter once the call in
 * `to` takes its dialog (take_fork_dialog) follow it there: those waiting
 * for their finals, which then cross in the call, and each leg's last
 * request, answered or not, whose retransmission then crosses again. They
 * stayed the fork's, whose slot the controller releases next: a PRACK or
 * UPDATE of the caller's still open there got 487 from sipshard, the fork's
 * real final was dropped (its dialog gone), and the request sent again
 * found no transaction. The waiting list and two records, not every one:
 * the answered records, most of a shard's, are not walked. */
static void txns_follow(struct shard_table *t, const struct shard_dialog *f,
			const struct shard_dialog *to)
{
	for (uint32_t i = t->hdr->txn_oldest; i; i = t->txns[i - 1].next)
		txn_follow(t, i - 1, f, to);
	for (int leg = SHARD_LEG_A; leg <= SHARD_LEG_B; leg++) {
		const struct sip_session *s = &f->legs[leg];
		if (shard_txn_get(t, s->last_txn, s->last_txn_gen))
			txn_follow(t, s->last_txn, f, to);
	}
}

/* An update whose leg A has another local tag than the slot's: the 2xx of
 * a fork other than the first answers the call (controller_forks.c), and the
 * dialog toward the caller is the one that fork's early dialog had, under
 * that tag. Both legs are taken from that early dialog, where the worker
 * relayed the fork's PRACKs and UPDATEs (the CSeqs of each side, the
 * offer/answer they made); the controller releases it after. A fork that
 * had no early dialog of its own leaves leg A the controller's copy: the
 * caller's CSeq space in that dialog starts from its INVITE's. */
static void take_fork_dialog(struct shard_table *t, struct shard_dialog *slot,
			     const struct sip_session *from)
{
	struct sip_session *a = &slot->legs[SHARD_LEG_A];

	if (from->local_tag_len == a->local_tag_len &&
	    memcmp(from->local_tag, a->local_tag, a->local_tag_len) == 0)
		return;
	struct shard_dialog *f = shard_dialog_of_fork_tag(t, from->local_tag, from->local_tag_len);
	if (f && f != slot) {
		slot->legs[SHARD_LEG_A] = f->legs[SHARD_LEG_A];
		slot->legs[SHARD_LEG_B] = f->legs[SHARD_LEG_B];
		txns_follow(t, f, slot);
	} else {
		*a = *from;
	}
}

int shard_dialog_install_packed(struct shard_table *t, const void *msg, size_t len, uint64_t now_ms,
				struct shard_dialog **out)
{
	/* only the fields before the legs are used: the record is not copied */
	struct shard_dialog head;
	const char *leg_a, *leg_b, *end;

	if (packed_legs(msg, len, &leg_a, &leg_b, &end) != 0)
		return -EINVAL;
	memcpy(&head, msg, DLG_FIXED);
	if (head.slot >= t->hdr->ndialogs || head.state == SHARD_DLG_FREE ||
	    head.state >= SHARD_DLG_STATE_COUNT_)
		return -EINVAL;
	struct shard_dialog *slot = &t->dialogs[head.slot];
	bool update = slot->state != SHARD_DLG_FREE;
	if (update && slot->gen != head.gen)
		return -EBUSY;
	/* the caller ended the first fork's early dialog, and the slot is
	 * kept for the other forks: an early update sent before the controller
	 * read of that end (the first fork's reliable provisional) would bring
	 * the ended dialog's tags back. A 2xx, another fork's or the first
	 * fork's own (which the caller then ends with a BYE), still takes it. */
	if (update && head.state == SHARD_DLG_EARLY && shard_dialog_first_fork_retired(slot))
		return -ESTALE;
	/* a free slot whose dialog of this generation ended: an install that
	 * crossed that end (a confirming 2xx's with the caller's BYE of the
	 * early dialog) would hold a slot the controller gives out again.
	 * Generations handed out after an end are one higher. */
	if (!update && slot->gen == head.gen && head.gen != 0 &&
	    shard_dialog_committed(slot, head.slot))
		return -ESTALE;
	/* an update keeps what the worker learnt since the install (CSeqs,
	 * transactions, counters, its timer); the controller brings the callee's
	 * side, and leg A's states, which a final response moves (a 2xx:
	 * ACK_WAIT, offer/answer Stable; see keep_offer_answer) and the worker
	 * does not. A new dialog
	 * starts them afresh. The session timer is the worker's too (the packed
	 * one is not read): an update leaves it, a new dialog has none. */
	if (update) {
		copy_worker_fields(&head, slot);
	} else {
		static const struct shard_dialog fresh = {.refer = SHARD_REFER_NONE};
		copy_worker_fields(&head, &fresh);
		head.created_ms = now_ms;
		take_free_slot(t, head.slot);
		dlg_count_used(t->hdr);
		/* the call's forks, and a fork's call: none from the slot's last */
		fork_unlink(t, head.slot);
	}
	/* the free links are not: a used slot holds the worker's
	 * refer_fwd_* there, which copy_worker_fields set */
	head.last_activity_ms = now_ms;
	/* The record is written in place, in a file a SIGKILL may leave half
	 * written: its state and generation, then legs that are still those of
	 * the call the slot held before (or of the early dialog), would be
	 * re-attached as this call. So the slot field, which re-attach requires
	 * to name the record's index, is made not to while the record is
	 * written and set last: a record caught half way is freed there as
	 * malformed (and its generation stays unused, dialog_committed). */
	slot->slot = SHARD_SLOT_WRITING;
	atomic_signal_fence(memory_order_seq_cst);
	head.slot = SHARD_SLOT_WRITING;
	memcpy(slot, &head, DLG_FIXED);
	/* The controller's offer/answer is news only while the worker's copy
	 * waits for the INVITE's own exchange (no answer yet): the controller
	 * sees the call's INVITE and its responses, the worker the PRACKs and
	 * UPDATEs of the early dialog, which may offer and answer only once
	 * that exchange is done (RFC 3262 5, RFC 3311 5.1). After it, the
	 * controller's copy has nothing newer, and taking it would undo them.
	 * Both legs' or neither: while an offer is open, the have-local-offer
	 * leg's answer slot holds the offer to go back to and the other's the
	 * answer (session.h), which only the pair of one copy has. */
	if (update) {
		/* the controller's leg A, unpacked once (3.8 KiB: not on the stack) */
		static _Thread_local struct sip_session from;
		sip_session_unpack(&from, leg_a, end);
		take_fork_dialog(t, slot, &from);
		/* leg B first: whether the 2xx comes from the callee of the
		 * early dialog decides whether leg A keeps its offer/answer too */
		bool keep_offer_answer = update_leg_b(&slot->legs[SHARD_LEG_B], leg_b, end,
						      session_answered(&slot->legs[SHARD_LEG_B]));
		/* leg A's states and its offer and answer (the 2xx's answer is
		 * the controller's news); the rest of leg A is the worker's */
		struct sip_session *a = &slot->legs[SHARD_LEG_A];
		a->session_state = from.session_state;
		if (!keep_offer_answer) {
			a->signaling_state = from.signaling_state;
			a->offer = from.offer;
			a->answer = from.answer;
		}
	} else {
		sip_session_unpack(&slot->legs[SHARD_LEG_A], leg_a, end);
		sip_session_unpack(&slot->legs[SHARD_LEG_B], leg_b, end);
		slot->session_expires_at_s = 0;
	}
	/* the controller's, on an install and an update alike */
	memcpy(&slot->auth_key, end + sizeof(uint32_t), sizeof(slot->auth_key));
	cdr_unpack(&slot->cdr, end + DLG_TAIL, (const char *)msg + len);
	atomic_signal_fence(memory_order_seq_cst);
	slot->slot = (uint32_t)(slot - t->dialogs); /* committed */
	if (!update && slot->state == SHARD_DLG_EARLY)
		fork_link(t, slot->slot);
	if (!update && t->nrelink)
		relink_call(t, slot->slot);
	if (out)
		*out = slot;
	return 0;
}

struct shard_dialog *shard_dialog_packed_takes_fork(struct shard_table *t, const void *msg,
						    size_t len)
{
	struct shard_dialog head;
	const char *leg_a, *leg_b, *end;

	if (packed_legs(msg, len, &leg_a, &leg_b, &end) != 0)
		return NULL;
	memcpy(&head, msg, DLG_FIXED);
	if (head.slot >= t->hdr->ndialogs || head.state != SHARD_DLG_CONFIRMED)
		return NULL;
	struct shard_dialog *slot = &t->dialogs[head.slot];
	const struct sip_session *a = &slot->legs[SHARD_LEG_A];
	if (slot->gen != head.gen || slot->state != SHARD_DLG_EARLY ||
	    shard_dialog_first_fork_retired(slot))
		return NULL;
	/* leg A unpacked once (3.8 KiB: not on the stack), as at the install */
	static _Thread_local struct sip_session from;
	sip_session_unpack(&from, leg_a, end);
	return from.local_tag_len != a->local_tag_len ||
		       memcmp(from.local_tag, a->local_tag, a->local_tag_len) != 0
		   ? slot
		   : NULL;
}

int shard_dialog_install(struct shard_table *t, const struct shard_dialog *d, uint64_t now_ms)
{
	char msg[SHARD_DIALOG_PACKED_MAX];
	int n = shard_dialog_pack(d, msg, sizeof(msg));
	return n < 0 ? n : shard_dialog_install_packed(t, msg, (size_t)n, now_ms, NULL);
}

void shard_session_timer_start(struct shard_dialog *d, uint64_t now_ms, uint32_t interval_s)
{
	if (!interval_s) {
		d->session_expires_at_s = 0;
		return;
	}
	uint32_t early = interval_s / 3 < 32 ? interval_s / 3 : 32;
	/* whole seconds after the record's creation, rounded up: never early */
	uint64_t since = (clock_since(now_ms, d->created_ms) + 999) / 1000;
	uint64_t at = since + (interval_s - early);
	d->session_expires_at_s = at > UINT32_MAX ? UINT32_MAX : (uint32_t)at;
}

uint64_t shard_keepalive_deadline(const struct shard_dialog *d, uint64_t every_ms)
{
	if (!every_ms || d->state != SHARD_DLG_CONFIRMED)
		return 0;
	unsigned a = shard_keepalive_behind(&d->legs[SHARD_LEG_A]);
	unsigned b = shard_keepalive_behind(&d->legs[SHARD_LEG_B]);
	return d->last_activity_ms + ((a > b ? a : b) + 1ull) * every_ms;
}

bool shard_keepalive_round(struct shard_dialog *d, unsigned misses_max, uint64_t now_ms,
			   uint64_t every_ms, uint64_t *missed)
{
	bool over = false;
	for (int leg = SHARD_LEG_A; leg <= SHARD_LEG_B; leg++) {
		uint8_t *ka = &d->legs[leg].keepalive;
		unsigned n = *ka & SESSION_KEEPALIVE_MISSED;
		if (*ka & SESSION_KEEPALIVE_PENDING) {
			counter_inc(missed);
			if (n < SESSION_KEEPALIVE_MISSED)
				n++;
		}
		*ka = (uint8_t)n;
		if (n >= misses_max)
			over = true;
	}
	if (over)
		return true;
	shard_keepalive_sent(d, SHARD_LEG_A);
	shard_keepalive_sent(d, SHARD_LEG_B);
	/* the schedule is derived from the last activity: moving that on is
	 * what keeps the next round a period away (it also moves the idle
	 * deadline on by as much, never more than this round was late) */
	uint64_t next = shard_keepalive_deadline(d, every_ms);
	if (next < now_ms + every_ms)
		d->last_activity_ms += now_ms + every_ms - next;
	return false;
}

struct shard_dialog *shard_keepalive_match(struct shard_table *t, uint8_t shard,
					   const struct sip_msg *m, int *leg)
{
	uint8_t tok_shard;
	uint32_t slot, gen, cseq;

	if (m->is_request || !m->nvias)
		return NULL;
	const sip_view b = m->vias[0].branch;
	if (shard_keepalive_decode(m->buf + b.off, b.len, &tok_shard, &slot, &gen, leg, &cseq) !=
		0 ||
	    tok_shard != shard)
		return NULL;
	struct shard_dialog *d = shard_dialog_get(t, slot, gen);
	if (!d || d->state != SHARD_DLG_CONFIRMED)
		return NULL;
	const struct sip_session *s = &d->legs[*leg];
	if (m->cseq.method_id != SIP_METHOD_OPTIONS || m->cseq.num != cseq ||
	    !sip_view_eq(m->buf, m->call_id, s->call_id, s->call_id_len))
		return NULL;
	return d;
}

void shard_keepalive_answered(struct shard_dialog *d, int leg, uint64_t now_ms)
{
	d->legs[leg].keepalive = 0;
	if (!d->legs[!leg].keepalive)
		d->last_activity_ms = now_ms;
}

void shard_dialog_free(struct shard_table *t, uint32_t slot)
{
	if (slot >= t->hdr->ndialogs || t->dialogs[slot].state == SHARD_DLG_FREE)
		return;
	t->dialogs[slot].state = SHARD_DLG_FREE;
	dlg_push_free(t, slot);
	t->hdr->dialogs_used--;
	fork_unlink(t, slot);
}

/* ---- transactions --------------------------------------------------------- */

int shard_txn_alloc(struct shard_table *t, uint64_t now_ms, uint32_t *gen)
{
	struct shard_table_hdr *h = t->hdr;
	uint32_t i;

	if (!h->txn_free && h->txn_hwm >= h->ntxns && h->txn_answered) {
		/* Full: the record answered longest ago gives way. Answered
		 * records are kept only for the retransmissions that may still
		 * come (relay.c), so under load they are kept as long as room
		 * allows rather than refusing new requests 503; one still waiting
		 * for its answer (a peer that is gone) never gives way. */
		shard_txn_free(t, h->txn_answered - 1);
		counter_inc(&t->txns_evicted);
	}
	if (h->txn_free) {
		i = h->txn_free - 1;
		h->txn_free = t->txns[i].next;
	} else if (h->txn_hwm < h->ntxns) {
		i = h->txn_hwm++;
	} else {
		h->txns_full++;
		return -ENOSPC;
	}
	struct shard_txn *x = &t->txns[i];
	uint32_t g = x->gen + 1;
	/* only the header is cleared: head is written up to head_len */
	memset(x, 0, offsetof(struct shard_txn, head));
	x->gen = g;
	x->used = true;
	/* must not follow from the salts a peer sees in the branches relayed
	 * to it: rng_secure (h->rng, the xorshift state they came from, stays
	 * in the header for the file's layout) */
	x->salt = (uint32_t)rng_secure();
	x->created_ms = now_ms;
	txn_append(t, i);
	h->txns_used++;
	if (h->txns_used > h->txns_peak)
		h->txns_peak = h->txns_used;
	*gen = g;
	return (int)i;
}

struct shard_txn *shard_txn_get(struct shard_table *t, uint32_t slot, uint32_t gen)
{
	if (slot >= t->hdr->ntxns)
		return NULL;
	struct shard_txn *x = &t->txns[slot];
	return (x->used && x->gen == gen) ? x : NULL;
}

/* The transaction of the last request of method (INVITE or BYE) leg `leg`
 * of d sent on while it waits for its final, or NULL (open_txn). */
static struct shard_txn *open_txn(struct shard_table *t, const struct shard_dialog *d, int leg,
				  uint8_t method)
{
	uint32_t slot = (uint32_t)(d - t->dialogs);
	uint32_t i =
	    t->open_txn ? t->open_txn[shard_open_txn_at(slot, leg, method == SIP_METHOD_BYE)] : 0;
	if (!i || i > t->hdr->ntxns)
		return NULL;
	/* the index is not cleared as records go: a record given to another
	 * request since names another dialog, leg or method */
	struct shard_txn *x = &t->txns[i - 1];
	return x->used && x->dialog == slot && x->dialog_gen == d->gen &&
		       shard_txn_from_leg(x) == leg && x->method_id == method && !x->final_class
		   ? x
		   : NULL;
}

struct shard_txn *shard_txn_open_invite(struct shard_table *t, const struct shard_dialog *d,
					int leg)
{
	return open_txn(t, d, leg, SIP_METHOD_INVITE);
}

struct shard_txn *shard_txn_open_bye(struct shard_table *t, const struct shard_dialog *d, int leg)
{
	return open_txn(t, d, leg, SIP_METHOD_BYE);
}

/* Transaction slot's long-head slot goes back to the pool's free list. */
static void head_give_back(struct shard_table *t, uint32_t slot)
{
	struct shard_heads_hdr *h = t->heads;
	uint32_t n;

	memcpy(&n, t->txns[slot].head, sizeof(n));
	if (!h || n >= h->hwm || t->head_meta[n].txn != slot + 1)
		return;
	t->head_meta[n].txn = 0;
	t->head_meta[n].next = h->free;
	h->free = n + 1;
	h->used--;
}

/* With every long-head slot taken: the transaction answered longest ago
 * that holds one gives it way, as a full table's answered records do
 * (shard_txn_alloc): it is kept only for retransmissions, and a peer whose
 * every request has long lines (a chain of proxies) would otherwise get 513
 * for as long as the answered ones wait to expire. The walk is bounded:
 * among that many answered records with inline heads, none gives way. */
#define SHARD_HEAD_EVICT_SCAN 64
static bool long_head_evict(struct shard_table *t)
{
	uint32_t first = t->hdr->txn_answered, i = first;

	for (int k = 0; i && k < SHARD_HEAD_EVICT_SCAN; k++) {
		if (t->txns[i - 1].head_len > SHARD_TXN_HEAD_MAX) {
			shard_txn_free(t, i - 1);
			counter_inc(&t->heads_evicted);
			return true;
		}
		i = t->txns[i - 1].next;
		if (i == first)
			break;
	}
	return false;
}

char *shard_txn_long_head(struct shard_table *t, uint32_t slot)
{
	struct shard_heads_hdr *h = t->heads;
	uint32_t n;

	if (!h || slot >= t->hdr->ntxns || !t->txns[slot].used)
		return NULL;
	struct shard_txn *x = &t->txns[slot];
	if (x->head_len > SHARD_TXN_HEAD_MAX)
		return (char *)shard_txn_head(t, x); /* it has one */
	if (!h->free && h->hwm >= h->nslots)
		long_head_evict(t);
	if (h->free) {
		n = h->free - 1;
		h->free = t->head_meta[n].next;
	} else if (h->hwm < h->nslots) {
		n = h->hwm++;
	} else {
		return NULL;
	}
	/* the slot names its owner before the owner names it: a process
	 * killed between the two leaves a slot that re-attach frees */
	t->head_meta[n] = (struct shard_head_meta){slot + 1, x->gen, 0, 0};
	memcpy(x->head, &n, sizeof(n));
	x->head_len = SHARD_HEAD_SLOT_MAX;
	if (++h->used > h->peak)
		h->peak = h->used;
	return t->head_bufs + (size_t)n * SHARD_HEAD_SLOT_MAX;
}

void shard_txn_free(struct shard_table *t, uint32_t slot)
{
	struct shard_table_hdr *h = t->hdr;

	if (slot >= h->ntxns || !t->txns[slot].used)
		return;
	struct shard_txn *x = &t->txns[slot];
	if (x->final_class)
		txn_unlink_answered(t, slot);
	else
		txn_unlink_waiting(t, slot);
	/* head_len stays: shard_txn_alloc clears it, and re-attach reads only
	 * the records in use */
	if (x->head_len > SHARD_TXN_HEAD_MAX)
		head_give_back(t, slot);
	x->used = false;
	x->prev = 0;
	x->next = h->txn_free;
	h->txn_free = slot + 1;
	h->txns_used--;
}

void shard_txn_answered(struct shard_table *t, uint32_t slot, uint8_t final_class)
{
	if (slot >= t->hdr->ntxns || !t->txns[slot].used || t->txns[slot].final_class ||
	    !final_class)
		return;
	txn_unlink_waiting(t, slot);
	t->txns[slot].final_class = final_class;
	txn_append_answered(t, slot);
}

int shard_txn_expired(const struct shard_table *t, uint64_t now_ms, uint64_t timeout_ms)
{
	const uint32_t heads[2] = {t->hdr->txn_oldest, t->hdr->txn_answered};

	for (int k = 0; k < 2; k++)
		if (heads[k] && now_ms > t->txns[heads[k] - 1].created_ms + timeout_ms)
			return (int)(heads[k] - 1);
	return -EAGAIN;
}

int shard_txn_expire(struct shard_table *t, uint64_t now_ms, uint64_t timeout_ms)
{
	int slot = shard_txn_expired(t, now_ms, timeout_ms);
	if (slot < 0)
		return slot;
	shard_txn_free(t, (uint32_t)slot);
	return 0;
}

/* ---- tokens ----------------------------------------------------------------- */

/* Wire digits: shard 2, slot 8, gen 8 (these three masked), salt 8, then the
 * check 8. Decoding reads them as three words: hi = digits 0..15, lo = digits
 * 16..25, ck = digits 26..33.
 *
 * The check is (hi * A + lo * B + seed) mod P with P the prime 2^32 - 5.
 * Changing one digit changes hi or lo by d * 16^k with 0 < |d| < 16, and as
 * P is a prime that divides none of d, 16^k, A or B, the check always
 * changes: every one-digit error is caught, and random digits pass with
 * probability 2^-32. Unlike a CRC it needs no serial walk over the digits. */
#define TOK_P		   4294967291ULL
#define TOK_A		   2654435761ULL
#define TOK_B		   2246822519ULL
#define TOK_SEED_TAG	   1013904223ULL
#define TOK_SEED_BRANCH	   3266489917ULL /* a tag's digits never pass as a branch's */
#define TOK_SEED_ORIG	   2860486313ULL
#define TOK_SEED_KEEPALIVE 1597334677ULL

/* hex digit value + 1, 0 for anything else: lower case only, as we write */
static const uint8_t hexval[256] = {
    ['0'] = 1, ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

static uint64_t tok_check(uint64_t hi, uint64_t lo, uint64_t seed)
{
	return ((hi % TOK_P) * TOK_A % TOK_P + (lo % TOK_P) * TOK_B % TOK_P + seed) % TOK_P;
}

/* Masks make neighbouring slots and generations look unrelated on the wire;
 * they protect nothing (the salt they come from is in the clear). */
static uint64_t tok_mask(uint32_t salt)
{
	uint64_t z = (uint64_t)salt * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
	z ^= z >> 31;
	z *= 0xd6e8feb86659fd93ULL;
	z ^= z >> 29;
	return z;
}

struct tok_fields {
	uint32_t shard, slot, gen, salt;
};

static void put_hex(char *out, uint64_t v, int digits)
{
	static const char hexdig[] = "0123456789abcdef";
	for (int i = digits - 1; i >= 0; i--) {
		out[i] = hexdig[v & 15];
		v >>= 4;
	}
}

static int encode(char *out, size_t cap, const char *prefix, size_t plen, uint64_t seed,
		  const struct tok_fields *f)
{
	size_t len = plen + SHARD_TOKEN_DIGITS;

	if (!out || cap < len + 1)
		return -ENOSPC;
	uint64_t m = tok_mask(f->salt);
	uint32_t shard = (f->shard ^ (uint32_t)(m >> 56)) & 0xff;
	uint32_t slot = f->slot ^ (uint32_t)m;
	uint32_t gen = f->gen ^ (uint32_t)(m >> 32);
	uint64_t hi = (uint64_t)shard << 56 | (uint64_t)slot << 24 | gen >> 8;
	uint64_t lo = (uint64_t)(gen & 0xff) << 32 | f->salt;
	memcpy(out, prefix, plen);
	put_hex(out + plen, hi, 16);
	put_hex(out + plen + 16, lo, 10);
	put_hex(out + plen + 26, tok_check(hi, lo, seed), 8);
	out[len] = '\0';
	return (int)len;
}

/* Reads n hex digits into *v; false if any byte is not one. */
static bool get_hex(const char *s, int n, uint64_t *v)
{
	uint64_t x = 0;
	unsigned bad = 0;
	for (int i = 0; i < n; i++) {
		unsigned d = hexval[(unsigned char)s[i]];
		bad |= d == 0;
		x = x << 4 | ((d - 1) & 15);
	}
	*v = x;
	return !bad;
}

/* Strict: exact length, exact prefix, lower-case hex only, check must match. */
static int decode(const char *s, size_t len, const char *prefix, size_t plen, uint64_t seed,
		  struct tok_fields *f)
{
	uint64_t hi, lo, ck;

	if (!s || len != plen + SHARD_TOKEN_DIGITS || memcmp(s, prefix, plen) != 0)
		return -EINVAL;
	s += plen;
	if (!get_hex(s, 16, &hi) || !get_hex(s + 16, 10, &lo) || !get_hex(s + 26, 8, &ck) ||
	    ck != tok_check(hi, lo, seed))
		return -EINVAL;
	f->salt = (uint32_t)lo;
	uint64_t m = tok_mask(f->salt);
	f->shard = ((uint32_t)(hi >> 56) ^ (uint32_t)(m >> 56)) & 0xff;
	f->slot = (uint32_t)(hi >> 24) ^ (uint32_t)m;
	f->gen = ((uint32_t)(hi & 0xffffff) << 8 | (uint32_t)(lo >> 32)) ^ (uint32_t)(m >> 32);
	return 0;
}

int shard_tag_encode(char *out, size_t cap, uint8_t shard, uint32_t slot, uint32_t gen,
		     uint32_t salt)
{
	struct tok_fields f = {shard, slot, gen, salt};
	return encode(out, cap, SHARD_TAG_PREFIX, sizeof(SHARD_TAG_PREFIX) - 1, TOK_SEED_TAG, &f);
}

int shard_tag_decode(const char *s, size_t len, uint8_t *shard, uint32_t *slot, uint32_t *gen)
{
	struct tok_fields f;
	int rc = decode(s, len, SHARD_TAG_PREFIX, sizeof(SHARD_TAG_PREFIX) - 1, TOK_SEED_TAG, &f);
	if (rc)
		return rc;
	*shard = (uint8_t)f.shard;
	*slot = f.slot;
	*gen = f.gen;
	return 0;
}

int shard_fork_tag_encode(char *out, size_t cap, uint8_t shard, uint32_t slot, uint32_t gen,
			  uint32_t fork_slot, uint32_t high)
{
	const uint32_t mask = (1u << SHARD_FORK_SLOT_BITS) - 1;
	if (fork_slot >= mask)
		return -EINVAL;
	struct tok_fields f = {shard, slot, gen, (high & ~mask) | (fork_slot + 1)};
	return encode(out, cap, SHARD_TAG_PREFIX, sizeof(SHARD_TAG_PREFIX) - 1, TOK_SEED_TAG, &f);
}

/* The fields of fork tag s (len bytes), the fork's slot in f->salt: 0, or
 * -EINVAL for any other bytes, a call's own tag whose salt names no slot
 * included (a fork's names a slot, and not the call's). */
static int fork_tag_decode(const char *s, size_t len, struct tok_fields *f)
{
	if (decode(s, len, SHARD_TAG_PREFIX, sizeof(SHARD_TAG_PREFIX) - 1, TOK_SEED_TAG, f) != 0)
		return -EINVAL;
	uint32_t fork = f->salt & ((1u << SHARD_FORK_SLOT_BITS) - 1);
	if (!fork || fork - 1 == f->slot)
		return -EINVAL;
	f->salt = fork - 1;
	return 0;
}

int shard_fork_tag_decode(const char *s, size_t len, uint8_t *shard, uint32_t *slot, uint32_t *gen,
			  uint32_t *fork_slot)
{
	struct tok_fields f;
	if (fork_tag_decode(s, len, &f) != 0)
		return -EINVAL;
	*shard = (uint8_t)f.shard;
	*slot = f.slot;
	*gen = f.gen;
	*fork_slot = f.salt;
	return 0;
}

struct shard_dialog *shard_dialog_of_fork_tag(struct shard_table *t, const char *s, size_t len)
{
	struct tok_fields f;
	if (fork_tag_decode(s, len, &f) != 0 || f.salt >= t->hdr->ndialogs)
		return NULL;
	struct shard_dialog *d = &t->dialogs[f.salt];
	const struct sip_session *a = &d->legs[SHARD_LEG_A];
	return d->state == SHARD_DLG_EARLY && a->local_tag_len == len &&
		       memcmp(a->local_tag, s, len) == 0
		   ? d
		   : NULL;
}

/* Whether d, in its own slot, has the leg A tag of a fork's early dialog
 * (shard_fork_tag_encode: its salt names d's slot as the fork's, and another
 * slot as the call's), with the call's slot and generation the tag names in
 * *call (not checked against the table's size) and *gen. A call's own tag
 * names its own slot: one whose random salt names it too is no fork's. */
static bool fork_tag_names(const struct shard_dialog *d, uint32_t *call, uint32_t *gen)
{
	const struct sip_session *a = &d->legs[SHARD_LEG_A];
	struct tok_fields f;
	if (fork_tag_decode(a->local_tag, a->local_tag_len, &f) != 0 || f.salt != d->slot)
		return false;
	*call = f.slot;
	*gen = f.gen;
	return true;
}

/* index + 1 of the call's slot when d, in its own slot, is the early dialog
 * of one of its forks (shard_fork_tag_encode); 0 for any other dialog */
static uint32_t fork_call_slot(const struct shard_table *t, const struct shard_dialog *d)
{
	uint32_t call, gen;
	return fork_tag_names(d, &call, &gen) && call < t->hdr->ndialogs ? call + 1 : 0;
}

bool shard_dialog_has_forks(const struct shard_table *t, uint32_t slot)
{
	/* a fork heads a list of its own once its call's slot is freed */
	return t->fork_next && slot < t->hdr->ndialogs && t->fork_next[slot] != 0 &&
	       !fork_call_slot(t, &t->dialogs[slot]);
}

void shard_dialog_retire_first_fork(struct shard_dialog *d)
{
	d->legs[SHARD_LEG_A].local_tag_len = 0;
	/* the store above first: a killed process loses none its CPU made */
	atomic_signal_fence(memory_order_seq_cst);
	retire_rest(d);
}

struct shard_dialog *shard_dialog_of_fork_callee(struct shard_table *t,
						 const struct shard_dialog *call, const char *tag,
						 size_t len)
{
	if (!t->fork_next || call->slot >= t->hdr->ndialogs)
		return NULL;
	/* a few forks a call (the controller's CTL_FORKS_MAX); the bound only
	 * keeps a walk finite whatever the lists hold */
	uint32_t i = t->fork_next[call->slot];
	for (unsigned n = 0; i && n < 64; n++, i = t->fork_next[i - 1]) {
		struct shard_dialog *f = &t->dialogs[i - 1];
		const struct sip_session *b = &f->legs[SHARD_LEG_B];
		if (f->state == SHARD_DLG_EARLY && b->remote_tag_len == len &&
		    memcmp(b->remote_tag, tag, len) == 0)
			return f;
	}
	return NULL;
}

/* The branch-like tokens: fields out of a decoded one (extra may be NULL). */
static int decode_branch_like(const char *s, size_t len, const char *prefix, size_t plen,
			      uint64_t seed, uint8_t *shard, uint32_t *slot, uint32_t *gen,
			      uint32_t *extra)
{
	struct tok_fields f;
	int rc = decode(s, len, prefix, plen, seed, &f);
	if (rc)
		return rc;
	*shard = (uint8_t)f.shard;
	*slot = f.slot;
	*gen = f.gen;
	if (extra)
		*extra = f.salt;
	return 0;
}

int shard_branch_encode(char *out, size_t cap, uint8_t shard, uint32_t slot, uint32_t gen,
			uint32_t extra)
{
	struct tok_fields f = {shard, slot, gen, extra};
	return encode(out, cap, SHARD_BRANCH_PREFIX, sizeof(SHARD_BRANCH_PREFIX) - 1,
		      TOK_SEED_BRANCH, &f);
}

int shard_branch_decode(const char *s, size_t len, uint8_t *shard, uint32_t *slot, uint32_t *gen,
			uint32_t *extra)
{
	return decode_branch_like(s, len, SHARD_BRANCH_PREFIX, sizeof(SHARD_BRANCH_PREFIX) - 1,
				  TOK_SEED_BRANCH, shard, slot, gen, extra);
}

int shard_orig_encode(char *out, size_t cap, uint8_t shard, uint32_t slot, uint32_t gen,
		      uint32_t extra)
{
	struct tok_fields f = {shard, slot, gen, extra};
	return encode(out, cap, SHARD_ORIG_PREFIX, sizeof(SHARD_ORIG_PREFIX) - 1, TOK_SEED_ORIG,
		      &f);
}

int shard_orig_decode(const char *s, size_t len, uint8_t *shard, uint32_t *slot, uint32_t *gen,
		      uint32_t *extra)
{
	return decode_branch_like(s, len, SHARD_ORIG_PREFIX, sizeof(SHARD_ORIG_PREFIX) - 1,
				  TOK_SEED_ORIG, shard, slot, gen, extra);
}

/* The leg rides in the slot's top bit: slots stay below 2^24. */
int shard_keepalive_encode(char *out, size_t cap, uint8_t shard, uint32_t slot, uint32_t gen,
			   int leg, uint32_t cseq)
{
	struct tok_fields f = {shard, slot | (leg == SHARD_LEG_B ? 1u << 31 : 0), gen, cseq};
	return encode(out, cap, SHARD_KEEPALIVE_PREFIX, sizeof(SHARD_KEEPALIVE_PREFIX) - 1,
		      TOK_SEED_KEEPALIVE, &f);
}

int shard_keepalive_decode(const char *s, size_t len, uint8_t *shard, uint32_t *slot, uint32_t *gen,
			   int *leg, uint32_t *cseq)
{
	uint32_t both;
	int rc =
	    decode_branch_like(s, len, SHARD_KEEPALIVE_PREFIX, sizeof(SHARD_KEEPALIVE_PREFIX) - 1,
			       TOK_SEED_KEEPALIVE, shard, &both, gen, cseq);
	if (rc)
		return rc;
	*slot = both & ~(1u << 31);
	*leg = both >> 31 ? SHARD_LEG_B : SHARD_LEG_A;
	return 0;
}
