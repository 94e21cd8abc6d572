/*
 * relay_dialog.h - the confirmed dialog that the relay tests and the relay
 * fuzzer put in a shard table, as the controller would install it.
 *
 * Leg A (the caller) is 10.1.1.1:5061 with Call-ID "callA@host" and its tag
 * "atag"; leg B (the callee) is 10.2.2.2:5080 with Call-ID "callB@sipshard",
 * its tag "btag" and a one-entry route set; our tags on the two legs are
 * a_tag and b_tag. Header-only: each test program includes it once.
 */
#ifndef SIPSHARD_TESTS_RELAY_DIALOG_H
#define SIPSHARD_TESTS_RELAY_DIALOG_H

#include <string.h>

#include "addr.h"
#include "daemon/relay.h"
#include "shard/table.h"

static inline void relay_dialog_peer(struct sip_session *s, const char *ip, uint16_t port)
{
	memset(&s->peer, 0, sizeof(s->peer));
	test_addr_in((struct sockaddr_in *)&s->peer, ip, port);
	s->peer_len = sizeof(struct sockaddr_in);
}

/* Fills d with the dialog in slot/gen, confirmed. */
static inline void relay_dialog_fill(struct shard_dialog *d, uint32_t slot, uint32_t gen,
				     const char *a_tag, const char *b_tag)
{
	memset(d, 0, sizeof(*d));
	d->slot = slot;
	d->gen = gen;
	d->state = SHARD_DLG_CONFIRMED;
	struct sip_session *a = &d->legs[SHARD_LEG_A], *b = &d->legs[SHARD_LEG_B];
	SESSION_SET(a, call_id, "callA@host", 10);
	SESSION_SET(a, local_tag, a_tag, strlen(a_tag));
	SESSION_SET(a, remote_tag, "atag", 4);
	SESSION_SET(a, local_uri, "sip:bob@sbc", 11);
	SESSION_SET(a, remote_uri, "sip:alice@10.1.1.1", 18);
	SESSION_SET(a, remote_target, "sip:alice@10.1.1.1:5061", 23);
	a->remote_cseq = 1;
	a->remote_cseq_set = true;
	a->session_state = SESSION_STATE_CONFIRMED;
	relay_dialog_peer(a, "10.1.1.1", 5061);
	SESSION_SET(b, call_id, "callB@sipshard", 14);
	SESSION_SET(b, local_tag, b_tag, strlen(b_tag));
	SESSION_SET(b, remote_tag, "btag", 4);
	SESSION_SET(b, local_uri, "sip:alice@127.0.0.1:5060", 24);
	SESSION_SET(b, remote_uri, "sip:bob@10.2.2.2", 16);
	SESSION_SET(b, remote_target, "sip:bob@10.2.2.2:5080", 21);
	memcpy(b->route_set, "Route: <sip:10.2.2.9;lr>\r\n", 26);
	b->route_set_len = 26;
	b->local_cseq = 1;
	b->invite_cseq = 1;
	b->session_state = SESSION_STATE_CONFIRMED;
	relay_dialog_peer(b, "10.2.2.2", 5080);
}

/* Installs the dialog in slot/gen of t at now_ms; returns shard_dialog_install's code. */
static inline int relay_dialog_install(struct shard_table *t, uint32_t slot, uint32_t gen,
				       const char *a_tag, const char *b_tag, uint64_t now_ms)
{
	struct shard_dialog d;

	relay_dialog_fill(&d, slot, gen, a_tag, b_tag);
	return shard_dialog_install(t, &d, now_ms);
}

/* The dialog in slot/gen as the call's early dialog, the first fork's, as
 * the controller installs it while the call rings (controller.c): leg B's
 * remote tag is that fork's, b_remote. */
static inline int relay_dialog_install_early(struct shard_table *t, uint32_t slot, uint32_t gen,
					     const char *a_tag, const char *b_tag,
					     const char *b_remote, uint64_t now_ms)
{
	struct shard_dialog d;

	relay_dialog_fill(&d, slot, gen, a_tag, b_tag);
	d.state = SHARD_DLG_EARLY;
	d.legs[SHARD_LEG_A].session_state = SESSION_STATE_EARLY;
	d.legs[SHARD_LEG_B].session_state = SESSION_STATE_EARLY;
	SESSION_SET(&d.legs[SHARD_LEG_B], remote_tag, b_remote, strlen(b_remote));
	return shard_dialog_install(t, &d, now_ms);
}

/* The early dialog of another fork of leg B than the first, as the
 * controller installs it (controller_forks.c ctl_fork_install): the call's dialog
 * (slot/gen, our tag toward the callee b_tag) in fork_slot/fork_gen, under
 * a tag toward the caller of its own that names the call (written into
 * fork_a_tag, SHARD_TAG_MAX bytes; shard_fork_tag_encode with high, the
 * bits above the fork's slot: the controller's fork_tag_bits), with the
 * fork's To tag b_remote as leg B's remote tag. */
static inline int relay_dialog_install_fork(struct shard_table *t, uint32_t slot, uint32_t gen,
					    uint32_t fork_slot, uint32_t fork_gen, uint32_t high,
					    char *fork_a_tag, const char *b_tag,
					    const char *b_remote, uint64_t now_ms)
{
	int n = shard_fork_tag_encode(fork_a_tag, SHARD_TAG_MAX, 0, slot, gen, fork_slot, high);
	if (n < 0)
		return n;
	return relay_dialog_install_early(t, fork_slot, fork_gen, fork_a_tag, b_tag, b_remote,
					  now_ms);
}

/* Slots of the fixture's long-head pool. */
#define RELAY_DIALOG_HEADS 4

/* The unit tests' shard: a table of 64 dialogs and 64 transactions, with a
 * long-head pool of RELAY_DIALOG_HEADS slots, holding the
 * dialog at slot/gen (our tags written into a_tag and b_tag, SHARD_TAG_MAX
 * bytes each), and a relay context on it as shard 0's worker would have it,
 * advertising 127.0.0.1:5060, at 1000 ms. Returns 0 or the failing step's code. */
static inline int relay_dialog_fixture(struct shard_table *t, struct relay_ctx *rc, char *a_tag,
				       char *b_tag, uint32_t slot, uint32_t gen)
{
	int rc_open = shard_table_open_heads(t, NULL, NULL, 64, 64, RELAY_DIALOG_HEADS);
	if (rc_open)
		return rc_open;
	shard_tag_encode(a_tag, SHARD_TAG_MAX, 0, slot, gen, 0x1111);
	shard_tag_encode(b_tag, SHARD_TAG_MAX, 0, slot, gen, 0x2222);
	memset(rc, 0, sizeof(*rc));
	rc->table = t;
	rc->shard = 0;
	rc->advertise = "127.0.0.1:5060";
	rc->now_ms = 1000;
	return relay_dialog_install(t, slot, gen, a_tag, b_tag, 1000);
}

#endif
