/*
 * test_worker_end.c - a worker ends a call while a request in it still
 * waits for its final (worker.c end_pending, relay_end_pending), and a
 * worker that comes late to a call's timers (a new process that took the
 * call over, a stalled thread) ends it, or not, as it would have on time
 * (on_dialog_timer), with real sockets on 127.0.0.1: the worker's (17133),
 * the caller's (17134) and the callee's (17135). The datagrams reach the
 * worker as handoffs from the other worker (worker_drain_handoffs), which
 * apply the controller's commands first, as its loop does; its answers leave
 * through its io. The timers run in the worker's own loop (worker_main) on a
 * thread of its own.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "../common/relay_dialog.h"
#include "core/clock.h"
#include "daemon/daemon.h"
#include "net/udp.h"

enum { SLOT = 7, GEN = 3, WORKER_PORT = 17133, CALLER_PORT = 17134, CALLEE_PORT = 17135 };
enum { T1 = 100, T2 = 400 }; /* the worker's timers.t1_ms and t2_ms */

struct fixture {
	struct daemon d;
	struct worker workers[2];
	struct config cfg;
	struct sockaddr_storage caller_addr, callee_addr;
	socklen_t caller_len, callee_len;
	int caller, callee;
	uint32_t gen; /* the call's, in SLOT */
	char a_tag[SHARD_TAG_MAX], b_tag[SHARD_TAG_MAX];
};

static int bound(uint16_t port, struct sockaddr_storage *a, socklen_t *alen)
{
	char spec[32], err[128];
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
	assert_int_equal(udp_parse_addr(spec, a, alen, err, sizeof(err)), 0);
	int fd = udp_socket_bind(a, *alen, false);
	assert_true(fd >= 0);
	return fd;
}

/* The confirmed call in SLOT/gen on worker 0 (our tags for it in f), whose
 * caller and callee are the two sockets. */
static void install_call(struct fixture *f, uint32_t gen)
{
	struct shard_dialog dl;

	f->gen = gen;
	shard_tag_encode(f->a_tag, sizeof(f->a_tag), 0, SLOT, gen, 0x1111);
	shard_tag_encode(f->b_tag, sizeof(f->b_tag), 0, SLOT, gen, 0x2222);
	relay_dialog_fill(&dl, SLOT, gen, f->a_tag, f->b_tag);
	relay_dialog_peer(&dl.legs[SHARD_LEG_A], "127.0.0.1", CALLER_PORT);
	relay_dialog_peer(&dl.legs[SHARD_LEG_B], "127.0.0.1", CALLEE_PORT);
	assert_int_equal(shard_dialog_install(&f->workers[0].table, &dl, 1000), 0);
}

/* Worker 0 of two, with its socket, io (8 send buffers), table and the
 * confirmed call in SLOT/GEN, whose caller and callee are the two sockets. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->cfg.tx_buffer_size = 1500;
	f->d.cfg = &f->cfg;
	f->d.nworkers = 2;
	f->d.workers = f->workers;
	for (unsigned i = 0; i < 2; i++) {
		f->workers[i].id = i;
		f->workers[i].d = &f->d;
	}
	assert_int_equal(daemon_open_handoffs(&f->d), 0);
	struct worker *w = &f->workers[0];
	assert_int_equal(ring_create(&w->cmd, 16, sizeof(struct dmsg_hdr)), 0);
	assert_int_equal(ring_create(&w->evt, 16, sizeof(struct dmsg_hdr)), 0);

	struct sockaddr_storage wa;
	socklen_t wlen;
	w->fd = bound(WORKER_PORT, &wa, &wlen);
	f->caller = bound(CALLER_PORT, &f->caller_addr, &f->caller_len);
	f->callee = bound(CALLEE_PORT, &f->callee_addr, &f->callee_len);
	struct net_io_config nc = {.fd = w->fd,
				   .nbufs = 8,
				   .buf_size = DMSG_DATA_MAX,
				   .ntx = 8,
				   .tx_size = f->cfg.tx_buffer_size,
				   .no_uring = true};
	assert_int_equal(net_io_open(&w->io, &nc), 0);

	assert_int_equal(shard_table_open_heads(&w->table, NULL, NULL, 64, 64, 4), 0);
	assert_int_equal(wheel_init(&w->wheel, 64, 10, clock_mono_ms()), 0);
	/* the loop wakes the controller after a call's end */
	f->d.ctl_wake_fd = eventfd(0, EFD_NONBLOCK);
	assert_true(f->d.ctl_wake_fd >= 0);
	w->relay.table = &w->table;
	w->relay.advertise = "127.0.0.1:17133";
	orig_init(&w->orig, 0, 1, 500, 4000);
	/* short timers: the tests that run Timer G drive the worker's clock */
	w->relay.t1_ms = T1;
	w->relay.t2_ms = T2;
	install_call(f, GEN);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct worker *w = &f->workers[0];
	net_io_close(w->io);
	close(w->fd);
	close(f->caller);
	close(f->callee);
	shard_table_close(&w->table);
	wheel_destroy(&w->wheel);
	close(f->d.ctl_wake_fd);
	ring_destroy(w->cmd);
	ring_destroy(w->evt);
	daemon_close_handoffs(&f->d);
	free(f);
	return 0;
}

/* msg (n bytes), handed to worker 0 by worker 1 as from peer, and handled
 * (after the commands waiting on worker 0's ring). */
static void hand(struct fixture *f, const char *msg, int n, const struct sockaddr_storage *peer,
		 socklen_t peer_len)
{
	struct dmsg_hdr h = {.type = DMSG_DATAGRAM, .len = (uint32_t)n};
	dmsg_set_peer(&h, (const struct sockaddr *)peer, peer_len);
	assert_int_equal(ring_push(f->workers[0].handoff_in[1], &h, sizeof(h), msg, (size_t)n), 0);
	assert_int_equal(worker_drain_handoffs(&f->workers[0]), 1);
	net_io_flush(f->workers[0].io);
}

/* The caller's request as from addr, handed to worker 0 by worker 1, and
 * handled (after the commands waiting on worker 0's ring). */
static void from_caller_at(struct fixture *f, const char *method, unsigned cseq,
			   const struct sockaddr_storage *addr, socklen_t addr_len)
{
	char msg[1024];
	int n = snprintf(msg, sizeof(msg),
			 "%s sip:bob@127.0.0.1:17133 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKwe%u\r\n"
			 "From: <sip:alice@127.0.0.1>;tag=atag\r\n"
			 "To: <sip:bob@sbc>;tag=%s\r\n"
			 "Call-ID: callA@host\r\n"
			 "CSeq: %u %s\r\n"
			 "Max-Forwards: 70\r\n"
			 "Content-Length: 0\r\n\r\n",
			 method, CALLER_PORT, cseq, f->a_tag, cseq, method);
	hand(f, msg, n, addr, addr_len);
}

/* The same from the caller's address. */
static void from_caller(struct fixture *f, const char *method, unsigned cseq)
{
	from_caller_at(f, method, cseq, &f->caller_addr, f->caller_len);
}

/* The callee's response status_line to the request it got (req: its Via,
 * From, To, Call-ID and CSeq lines), with extra header lines, handed to
 * worker 0 as from the callee's address. */
static void response_from_callee_with(struct fixture *f, const char *req, const char *status_line,
				      const char *extra)
{
	static const char *const lines[] = {
	    "\r\nVia: ", "\r\nFrom: ", "\r\nTo: ", "\r\nCall-ID: ", "\r\nCSeq: "};
	char msg[2048];
	int n = snprintf(msg, sizeof(msg), "SIP/2.0 %s\r\n", status_line);

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		const char *b = strstr(req, lines[i]);
		assert_non_null(b);
		b += 2;
		const char *e = strstr(b, "\r\n");
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, "%.*s\r\n", (int)(e - b), b);
	}
	n += snprintf(msg + n, sizeof(msg) - (size_t)n, "%sContent-Length: 0\r\n\r\n", extra);
	assert_true(n > 0 && (size_t)n < sizeof(msg));
	hand(f, msg, n, &f->callee_addr, f->callee_len);
}

static void response_from_callee(struct fixture *f, const char *req, const char *status_line)
{
	response_from_callee_with(f, req, status_line, "");
}

/* The callee's 180 to the request it got. */
static void ringing_from_callee(struct fixture *f, const char *req)
{
	response_from_callee(f, req, "180 Ringing");
}

/* What fd gets within ms, into buf (cap bytes): its length, or 0. */
static size_t got(int fd, char *buf, size_t cap, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	if (poll(&pfd, 1, ms) != 1)
		return 0;
	ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	return (size_t)n;
}

/*
 * The controller releases the call (DMSG_RELEASE) while the caller's INFO
 * waits for the callee's final and every send buffer of the worker is
 * taken: the INFO's 487 cannot leave (tx_no_buffer), as a datagram lost on
 * the wire. relay_end_pending was not called for that leg, so no final was
 * kept and the INFO sent again got 481; it gets its 487 (RFC 3261 17.2.2),
 * kept without a buffer.
 */
static void test_final_kept_without_a_send_buffer(void **state)
{
	struct fixture *f = *state;
	struct worker *w = &f->workers[0];
	char buf[2048];

	from_caller(f, "INFO", 2);
	assert_true(got(f->callee, buf, sizeof(buf), 1000) > 0);
	assert_non_null(strstr(buf, "INFO sip:bob@10.2.2.2:5080"));

	char *held[64];
	unsigned nheld = 0;
	while (nheld < 64 && (held[nheld] = net_tx_alloc(w->io)) != NULL)
		nheld++;
	assert_true(nheld > 0 && nheld < 64);
	struct dmsg_hdr rel = {.type = DMSG_RELEASE, .slot = SLOT, .gen = GEN};
	assert_int_equal(ring_push(w->cmd, &rel, sizeof(rel), NULL, 0), 0);
	uint64_t no_buffer = w->st.tx_no_buffer;
	/* a handoff has the worker apply its commands first: the release,
	 * then this INFO of no dialog, which finds no buffer either */
	from_caller(f, "INFO", 3);
	assert_null(shard_dialog_get(&w->table, SLOT, GEN));
	print_message("no send buffer: %llu times; answered at the end: %llu\n",
		      (unsigned long long)(w->st.tx_no_buffer - no_buffer),
		      (unsigned long long)w->relay.pending_ended);
	assert_true(w->st.tx_no_buffer >= no_buffer + 2);
	for (unsigned i = 0; i < nheld; i++)
		net_tx_release(w->io, held[i]);
	assert_int_equal(got(f->caller, buf, sizeof(buf), 100), 0);

	/* the INFO sent again, its 487 lost */
	from_caller(f, "INFO", 2);
	assert_true(got(f->caller, buf, sizeof(buf), 1000) > 0);
	print_message("the INFO sent again: %.20s\n", buf);
	assert_non_null(strstr(buf, "SIP/2.0 487 "));
	assert_non_null(strstr(buf, "CSeq: 2 INFO"));
	assert_int_equal(w->relay.pending_replayed, 1);
	assert_int_equal(w->relay.pending_ended, 1);
}

/* The caller's re-INVITE (CSeq 2) reaches the callee, whose 180 reaches the
 * caller: from then on the caller resends its INVITE no more (RFC 3261
 * 17.1.1.2), a final from sipshard being the only one it gets once the call
 * is gone. The callee's INVITE goes into req (cap bytes). Returns the
 * worker's clock as the controller's release will find it. */
static uint64_t reinvite_ringing(struct fixture *f, char *req, size_t cap)
{
	char buf[2048];

	from_caller(f, "INVITE", 2);
	assert_true(got(f->callee, req, cap, 1000) > 0);
	assert_non_null(strstr(req, "INVITE sip:"));
	ringing_from_callee(f, req);
	assert_true(got(f->caller, buf, sizeof(buf), 1000) > 0);
	assert_non_null(strstr(buf, "SIP/2.0 180 "));
	return f->workers[0].relay.now_ms;
}

/* The controller releases the call (as at the end of a call, sipshardctl
 * bye); worker 0 applies it before the callee's next datagram, its 180
 * again, which finds the call gone (dropped). */
static void release_call(struct fixture *f, const char *req)
{
	struct worker *w = &f->workers[0];
	struct dmsg_hdr rel = {.type = DMSG_RELEASE, .slot = SLOT, .gen = f->gen};

	const struct dmsg_hdr *h;
	const void *payload;

	assert_int_equal(ring_push(w->cmd, &rel, sizeof(rel), NULL, 0), 0);
	ringing_from_callee(f, req);
	assert_null(shard_dialog_get(&w->table, SLOT, f->gen));
	/* the controller takes the call's end notice */
	assert_int_equal(ring_peek(w->evt, (const void **)&h, sizeof(*h), &payload), 0);
	assert_int_equal(h->type, DMSG_DIALOG_ENDED);
	ring_pop(w->evt);
}

/* Asserts that buf (len bytes) is the caller's 487 to its re-INVITE, to the
 * call whose tag toward the caller was a_tag. */
static void assert_487(const char *buf, size_t len, const char *a_tag)
{
	assert_true(len > 0);
	assert_non_null(strstr(buf, "SIP/2.0 487 "));
	assert_non_null(strstr(buf, "CSeq: 2 INVITE\r\n"));
	assert_non_null(strstr(buf, a_tag));
}

/* Worker 0's timers at now (monotonic ms), wherever its last tick was, and
 * what they sent flushed. */
static void tick(struct fixture *f, uint64_t now)
{
	f->workers[0].next_expire_ms = 0;
	worker_expire(&f->workers[0], now);
	net_io_flush(f->workers[0].io);
}

/*
 * The 487 a re-INVITE got as its call ended is lost: sipshard, the
 * INVITE's UAS, sends it again after T1, and again 2*T1 after that (Timer
 * G, RFC 3261 17.2.1), until the caller's ACK; then no more. It was sent
 * once: a caller that had a provisional, resending its INVITE no more, never
 * had a final.
 */
static void test_487_resent_by_timer_g_until_its_ack(void **state)
{
	struct fixture *f = *state;
	struct worker *w = &f->workers[0];
	char req[2048], first[2048], buf[2048];

	uint64_t at = reinvite_ringing(f, req, sizeof(req));
	release_call(f, req);
	size_t first_len = got(f->caller, first, sizeof(first), 1000);
	assert_487(first, first_len, f->a_tag);
	assert_int_equal(w->relay.pending_ended, 1);

	tick(f, at + T1 - 1);
	assert_int_equal(got(f->caller, buf, sizeof(buf), 50), 0);
	tick(f, at + T1);
	size_t n = got(f->caller, buf, sizeof(buf), 1000);
	assert_int_equal(n, first_len);
	print_message("after T1: %.30s\n", buf);
	assert_memory_equal(buf, first, n);
	assert_int_equal(w->relay.pending_487_resent, 1);

	/* the next 2*T1 later */
	tick(f, at + 3 * T1 - 1);
	assert_int_equal(got(f->caller, buf, sizeof(buf), 50), 0);
	tick(f, at + 3 * T1);
	assert_int_equal(got(f->caller, buf, sizeof(buf), 1000), first_len);
	assert_memory_equal(buf, first, first_len);
	assert_int_equal(w->relay.pending_487_resent, 2);

	/* the ACK ends in the worker, and Timer G with it */
	from_caller(f, "ACK", 2);
	assert_int_equal(w->relay.drops[RELAY_DROP_ACK_LOCAL_ANSWER], 1);
	for (uint64_t t = at + 3 * T1 + 10; t <= at + 64 * T1 + 10; t += 10)
		tick(f, t);
	assert_int_equal(got(f->caller, buf, sizeof(buf), 50), 0);
	assert_int_equal(w->relay.pending_487_resent, 2);
	assert_int_equal(w->relay.pending_487_unacknowledged, 0);
	assert_int_equal(w->relay.resent_busy, 0);
}

/*
 * No ACK comes: the 487 goes at T1, 3*T1, 7*T1, then every T2 (T1 doubling
 * up to T2), until Timer H, 64*T1 after it was given, ends its transaction,
 * counted as unacknowledged; nothing is sent after that.
 */
static void test_487_given_up_at_timer_h(void **state)
{
	struct fixture *f = *state;
	struct worker *w = &f->workers[0];
	char req[2048], buf[2048];
	uint64_t sent_at[64] = {0};
	unsigned nsent = 0;

	uint64_t at = reinvite_ringing(f, req, sizeof(req));
	release_call(f, req);
	assert_487(buf, got(f->caller, buf, sizeof(buf), 1000), f->a_tag);
	for (uint64_t t = at; t < at + 64 * T1; t += 10) {
		tick(f, t);
		while (got(f->caller, buf, sizeof(buf), 0) > 0) {
			assert_487(buf, strlen(buf), f->a_tag);
			assert_true(nsent < 64);
			sent_at[nsent++] = t - at;
		}
	}
	print_message("resent %u times, the last at %llu ms\n", nsent,
		      (unsigned long long)(nsent ? sent_at[nsent - 1] : 0));
	/* T1 = 100, T2 = 400: 100, 300, 700, then every 400 up to 6300 */
	assert_int_equal(nsent, 17);
	assert_int_equal(sent_at[0], T1);
	assert_int_equal(sent_at[1], 3 * T1);
	assert_int_equal(sent_at[2], 7 * T1);
	for (unsigned i = 3; i < nsent; i++)
		assert_int_equal(sent_at[i] - sent_at[i - 1], T2);
	assert_int_equal(w->relay.pending_487_resent, nsent);
	assert_int_equal(w->relay.pending_487_unacknowledged, 0);

	tick(f, at + 64 * T1);
	assert_int_equal(w->relay.pending_487_unacknowledged, 1);
	assert_int_equal(w->relay.resent_busy, 0);
	tick(f, at + 70 * T1);
	assert_int_equal(got(f->caller, buf, sizeof(buf), 50), 0);
	assert_int_equal(w->relay.pending_487_resent, nsent);
}

/*
 * More calls end with a re-INVITE open than the worker keeps 487s for
 * (RELAY_RESENT_SLOTS): the newest takes the oldest's place, counted, and
 * Timer G sends every 487 kept but that oldest one's.
 */
static void test_487s_beyond_the_set_overwrite_the_oldest(void **state)
{
	struct fixture *f = *state;
	struct worker *w = &f->workers[0];
	char req[2048], buf[2048], oldest_tag[SHARD_TAG_MAX];
	uint64_t last = 0;

	strcpy(oldest_tag, f->a_tag);
	for (unsigned i = 0; i <= RELAY_RESENT_SLOTS; i++) {
		if (i)
			install_call(f, GEN + i);
		last = reinvite_ringing(f, req, sizeof(req));
		release_call(f, req);
		assert_487(buf, got(f->caller, buf, sizeof(buf), 1000), f->a_tag);
		assert_int_equal(w->relay.pending_487_overwritten, i == RELAY_RESENT_SLOTS);
	}
	assert_int_equal(w->relay.resent_busy, RELAY_RESENT_SLOTS);
	assert_int_equal(w->relay.pending_ended, RELAY_RESENT_SLOTS + 1);

	/* every kept one is due by then, the oldest (the first call's) gone */
	tick(f, last + T1);
	unsigned n = 0;
	while (got(f->caller, buf, sizeof(buf), 50) > 0) {
		assert_487(buf, strlen(buf), "");
		assert_null(strstr(buf, oldest_tag));
		n++;
	}
	print_message("sent again: %u\n", n);
	assert_int_equal(n, RELAY_RESENT_SLOTS);
	assert_int_equal(w->relay.pending_487_resent, RELAY_RESENT_SLOTS);
}

/*
 * The call ends while every send buffer of the worker is taken: the
 * re-INVITE's 487 cannot leave (tx_no_buffer). Its caller, which had a
 * provisional, will not resend the INVITE: Timer G sends the 487 at the
 * next tick, and again from there.
 */
static void test_487_without_a_send_buffer_goes_at_the_next_tick(void **state)
{
	struct fixture *f = *state;
	struct worker *w = &f->workers[0];
	char req[2048], buf[2048];
	char *held[64];
	unsigned nheld = 0;

	uint64_t at = reinvite_ringing(f, req, sizeof(req));
	while (nheld < 64 && (held[nheld] = net_tx_alloc(w->io)) != NULL)
		nheld++;
	assert_true(nheld > 0 && nheld < 64);
	uint64_t no_buffer = w->st.tx_no_buffer;
	release_call(f, req);
	assert_true(w->st.tx_no_buffer > no_buffer);
	for (unsigned i = 0; i < nheld; i++)
		net_tx_release(w->io, held[i]);
	assert_int_equal(got(f->caller, buf, sizeof(buf), 100), 0);
	assert_int_equal(w->relay.pending_ended, 1);

	tick(f, at);
	assert_487(buf, got(f->caller, buf, sizeof(buf), 1000), f->a_tag);
	assert_int_equal(w->relay.pending_487_resent, 1);
	tick(f, at + T1);
	assert_487(buf, got(f->caller, buf, sizeof(buf), 1000), f->a_tag);
	assert_int_equal(w->relay.pending_487_resent, 2);
}

/* The loop of the worker given, as the daemon runs it, until d.stop. */
static void *worker_thread(void *arg)
{
	return worker_main(arg);
}

/* Worker 0 takes the call over as a new process does (worker_reattach, which
 * arms its timer) and runs its loop until the callee gets a datagram (into
 * buf, cap bytes: its length, 0 after 5 s) and for settle_ms more; then the
 * loop is stopped, so that the test reads the worker's state alone. */
static size_t take_over_late(struct fixture *f, char *buf, size_t cap, unsigned settle_ms)
{
	struct worker *w = &f->workers[0];
	pthread_t t;

	f->cfg.timers.dialog_keepalive_s = 1;
	f->cfg.timers.dialog_keepalive_misses = 2;
	f->cfg.timers.dialog_idle_s = 4;
	worker_reattach(w, clock_mono_ms());
	assert_int_equal(pthread_create(&t, NULL, worker_thread, w), 0);
	size_t n = got(f->callee, buf, cap, 5000);
	usleep(settle_ms * 1000);
	atomic_store(&f->d.stop, true);
	assert_int_equal(pthread_join(t, NULL), 0);
	return n;
}

/*
 * Keep-alive every 1 s, 2 rounds missed end the call, idle after 4 s. The
 * callee missed round 1 and owes round 2's answer; the worker comes to the
 * call 4.5 s after its last activity: round 3 was due 1.5 s before, the
 * idle deadline 0.5 s before. Round 3, due first, ends the call as on time
 * (the callee's second miss: keepalive_failed, its Reason). Both deadlines
 * were found passed, and the idle one was taken first: the call ended as
 * idle, "no requests in the dialog" (keepalive.sh, its restart case, when
 * the new process took more than 1 s to come up).
 */
static void test_late_keepalive_round_ends_before_idle(void **state)
{
	struct fixture *f = *state;
	struct worker *w = &f->workers[0];
	char buf[2048];

	struct shard_dialog *d = shard_dialog_get(&w->table, SLOT, GEN);
	d->last_activity_ms = clock_mono_ms() - 4500;
	d->legs[SHARD_LEG_B].keepalive = SESSION_KEEPALIVE_PENDING | 1;
	assert_true(take_over_late(f, buf, sizeof(buf), 0) > 0);
	print_message("the callee got: %.60s\n", buf);
	assert_non_null(strstr(buf, "BYE sip:"));
	assert_non_null(strstr(buf, "Reason: Q.850;cause=102;text=\"keep-alive not answered\""));
	assert_true(got(f->caller, buf, sizeof(buf), 1000) > 0);
	assert_non_null(strstr(buf, "Reason: Q.850;cause=102;text=\"keep-alive not answered\""));
	assert_null(shard_dialog_get(&w->table, SLOT, GEN));
	assert_int_equal(w->st.dialogs_keepalive_failed, 1);
	assert_int_equal(w->st.keepalives_missed, 1);
	assert_int_equal(w->st.dialogs_expired, 0);
}

/*
 * The same lateness for a call whose sides answered every round: its sides
 * were not asked while no worker ran its timers, so the round due first
 * asks them (an OPTIONS to each) and the call lives on; that late round
 * moves the idle deadline on by as much, so no end follows in the next
 * ticks either. The call was ended as idle, a BYE to each side: a call
 * whose sides answer, cut by a restart longer than dialog_idle_s less
 * dialog_keepalive_s.
 */
static void test_late_keepalive_round_keeps_an_answering_call(void **state)
{
	struct fixture *f = *state;
	struct worker *w = &f->workers[0];
	char buf[2048];

	struct shard_dialog *d = shard_dialog_get(&w->table, SLOT, GEN);
	d->last_activity_ms = clock_mono_ms() - 4500;
	assert_true(take_over_late(f, buf, sizeof(buf), 100) > 0);
	print_message("the callee got: %.60s\n", buf);
	assert_non_null(strstr(buf, "OPTIONS sip:"));
	assert_true(got(f->caller, buf, sizeof(buf), 1000) > 0);
	assert_non_null(strstr(buf, "OPTIONS sip:"));
	/* 100 ms on, the call is there, ended by nothing (the next round is
	 * a second away: a test thread held that long sees its OPTIONS too) */
	assert_non_null(shard_dialog_get(&w->table, SLOT, GEN));
	assert_true(w->st.keepalives_sent >= 2);
	assert_int_equal(w->st.dialogs_expired, 0);
	assert_int_equal(w->st.dialogs_ended, 0);
	while (got(f->callee, buf, sizeof(buf), 0) > 0)
		assert_null(strstr(buf, "BYE sip:"));
}

/*
 * The callee answers a keep-alive OPTIONS 100, then 200, then sends that 200
 * again. The 100 moved no counter (nor did the copy of the 200 in any but
 * keepalive.answered, which counted it as another OPTIONS answered): a
 * provisional is counted as such, and the round is answered once, while it
 * waits (SESSION_KEEPALIVE_PENDING); a copy after that is a retransmission.
 */
static void test_keepalive_answer_counted_once(void **state)
{
	struct fixture *f = *state;
	struct worker *w = &f->workers[0];
	char req[2048];

	struct shard_dialog *d = shard_dialog_get(&w->table, SLOT, GEN);
	d->last_activity_ms = clock_mono_ms() - 4500;
	assert_true(take_over_late(f, req, sizeof(req), 0) > 0);
	assert_non_null(strstr(req, "OPTIONS sip:"));
	assert_true(d->legs[SHARD_LEG_B].keepalive & SESSION_KEEPALIVE_PENDING);
	response_from_callee(f, req, "100 Trying");
	assert_int_equal(w->st.keepalives_provisional, 1);
	assert_int_equal(w->st.keepalives_answered, 0);
	assert_true(d->legs[SHARD_LEG_B].keepalive & SESSION_KEEPALIVE_PENDING);
	response_from_callee(f, req, "200 OK");
	assert_int_equal(w->st.keepalives_answered, 1);
	assert_false(d->legs[SHARD_LEG_B].keepalive & SESSION_KEEPALIVE_PENDING);
	response_from_callee(f, req, "200 OK");
	assert_int_equal(w->st.keepalives_answered, 1);
	assert_int_equal(w->st.keepalives_retransmitted, 1);
	assert_int_equal(w->st.keepalives_stray, 0);
}

/*
 * The callee answers the caller's re-INVITE 481: its dialog is gone (RFC
 * 3261 12.2.1.2, 14.1: the UAC, sipshard on that leg, should end it). The
 * 481 was relayed and the call left up until dialog_idle_s (2 h by
 * default), whose BYEs then went into dialogs already gone and whose CDR
 * said idle_timeout and billed the idle time. The 481 reaches the caller,
 * then a BYE goes to each side, the slot is freed and the controller is
 * told dialog_gone.
 */
static void test_481_to_a_reinvite_ends_the_call(void **state)
{
	struct fixture *f = *state;
	struct worker *w = &f->workers[0];
	char buf[2048];
	const struct dmsg_hdr *h;
	const void *payload;

	from_caller(f, "INVITE", 2);
	assert_true(got(f->callee, buf, sizeof(buf), 1000) > 0);
	response_from_callee(f, buf, "481 Call/Transaction Does Not Exist");
	assert_true(got(f->caller, buf, sizeof(buf), 1000) > 0);
	assert_non_null(strstr(buf, "SIP/2.0 481 "));
	size_t n = got(f->caller, buf, sizeof(buf), 1000);
	print_message("then the caller got: %.60s\n", n ? buf : "nothing");
	assert_true(n > 0);
	assert_non_null(strstr(buf, "BYE sip:"));
	assert_non_null(strstr(buf, "Reason: Q.850;cause=41;text=\"callee answered 481\""));
	assert_true(got(f->callee, buf, sizeof(buf), 1000) > 0);
	assert_non_null(strstr(buf, "BYE sip:"));
	assert_null(shard_dialog_get(&w->table, SLOT, GEN));
	assert_int_equal(w->st.dialogs_gone, 1);
	assert_int_equal(ring_peek(w->evt, (const void **)&h, sizeof(*h), &payload), 0);
	assert_int_equal(h->type, DMSG_DIALOG_ENDED);
	assert_int_equal(h->reason, CTL_END_DIALOG_GONE);
	ring_pop(w->evt);
}

/* A 481 to a NOTIFY ends that subscription alone (RFC 5057 5.1), and one
 * to a PRACK says the provisional it acknowledged is no longer sent (RFC
 * 3262 3: a PRACK that crossed the 2xx): the call stays up. The PRACK's
 * ended the call as dialog_gone. */
static void test_481_to_a_notify_or_prack_keeps_the_call(void **state)
{
	struct fixture *f = *state;
	struct worker *w = &f->workers[0];
	char buf[2048];
	static const char *const methods[] = {"NOTIFY", "PRACK"};

	for (unsigned i = 0; i < 2; i++) {
		from_caller(f, methods[i], 2 + i);
		assert_true(got(f->callee, buf, sizeof(buf), 1000) > 0);
		response_from_callee(f, buf, "481 Does Not Exist");
		assert_true(got(f->caller, buf, sizeof(buf), 1000) > 0);
		assert_non_null(strstr(buf, "SIP/2.0 481 "));
		size_t n = got(f->caller, buf, sizeof(buf), 200);
		if (n)
			fail_msg("after the 481 to its %s the caller got %.40s", methods[i], buf);
		assert_non_null(shard_dialog_get(&w->table, SLOT, GEN));
		assert_int_equal(w->st.dialogs_gone, 0);
	}
}

/* reinvite_ringing with transaction_timeout_ms 1000, the worker's clock then
 * moved past it: the re-INVITE is given up (relay_expire), its 504 sent.
 * Returns the clock reinvite_ringing gave. */
static uint64_t reinvite_given_up(struct fixture *f, char *req, size_t cap)
{
	f->cfg.timers.transaction_timeout_ms = 1000;
	uint64_t at = reinvite_ringing(f, req, cap);
	tick(f, at + 1001);
	tick(f, at + 1011);
	return at;
}

/*
 * The callee rings for the caller's re-INVITE (a 180) and sends no final
 * within timers.transaction_timeout_ms. The caller, past its provisional,
 * resends its INVITE no more (RFC 3261 17.1.1.2): its transaction expired in
 * silence and the caller never had a final, and the callee's 200 after that
 * was dropped as stale, never ACKed, so the callee would end the call at
 * 64*T1. The caller gets 504, resent until its ACK, which ends here; the
 * late 200 gets an ACK from sipshard; the call stays up.
 */
static void test_reinvite_given_up_gets_504_and_its_late_2xx_an_ack(void **state)
{
	struct fixture *f = *state;
	struct worker *w = &f->workers[0];
	char req[2048], buf[2048];

	uint64_t at = reinvite_given_up(f, req, sizeof(req));
	size_t n = got(f->caller, buf, sizeof(buf), 1000);
	print_message("the caller got: %.30s\n", n ? buf : "nothing");
	assert_true(n > 0);
	assert_non_null(strstr(buf, "SIP/2.0 504 "));
	assert_non_null(strstr(buf, "CSeq: 2 INVITE\r\n"));
	assert_int_equal(w->relay.invites_given_up, 1);
	/* resent after T1 until the ACK, which ends here */
	tick(f, at + 1011 + T1);
	assert_true(got(f->caller, buf, sizeof(buf), 1000) > 0);
	assert_non_null(strstr(buf, "SIP/2.0 504 "));
	from_caller(f, "ACK", 2);
	assert_int_equal(w->relay.drops[RELAY_DROP_ACK_LOCAL_ANSWER], 1);
	assert_int_equal(w->relay.resent_busy, 0);
	assert_int_equal(got(f->callee, buf, sizeof(buf), 50), 0);

	response_from_callee_with(f, req, "200 OK", "Contact: <sip:bob@127.0.0.1:17135>\r\n");
	n = got(f->callee, buf, sizeof(buf), 1000);
	print_message("the callee's late 200 got: %.30s\n", n ? buf : "nothing");
	assert_true(n > 0);
	assert_non_null(strstr(buf, "ACK sip:bob@127.0.0.1:17135 SIP/2.0\r\n"));
	assert_int_equal(w->relay.late_finals_acked, 1);
	assert_int_equal(got(f->caller, buf, sizeof(buf), 50), 0);
	assert_non_null(shard_dialog_get(&w->table, SLOT, GEN));
}

/*
 * The same re-INVITE from another address of the caller's side than the one
 * the call was set up from (a carrier's other signalling node), given up:
 * its 504 goes there, as its 180 did (RFC 3261 18.2.2). It went to the
 * leg's peer, which never sent that INVITE and got the 504 until Timer H.
 */
static void test_reinvite_given_up_from_another_node_gets_its_504_there(void **state)
{
	struct fixture *f = *state;
	char spec[32] = "127.0.0.2:17134", err[128], req[2048], buf[2048];
	struct sockaddr_storage node;
	socklen_t node_len;

	assert_int_equal(udp_parse_addr(spec, &node, &node_len, err, sizeof(err)), 0);
	int fd = udp_socket_bind(&node, node_len, false);
	assert_true(fd >= 0);
	f->cfg.timers.transaction_timeout_ms = 1000;
	from_caller_at(f, "INVITE", 2, &node, node_len);
	assert_true(got(f->callee, req, sizeof(req), 1000) > 0);
	ringing_from_callee(f, req);
	assert_true(got(fd, buf, sizeof(buf), 1000) > 0);
	assert_non_null(strstr(buf, "SIP/2.0 180 "));
	uint64_t at = f->workers[0].relay.now_ms;
	tick(f, at + 1001);
	tick(f, at + 1011);
	size_t n = got(fd, buf, sizeof(buf), 1000);
	print_message("the other node got: %.30s\n", n ? buf : "nothing");
	assert_true(n > 0);
	assert_non_null(strstr(buf, "SIP/2.0 504 "));
	assert_int_equal(got(f->caller, buf, sizeof(buf), 100), 0);
	close(fd);
}

/* The same re-INVITE given up, then the callee's 486: ACKed here, hop by
 * hop with the INVITE's branch (RFC 3261 17.1.1.3). It was dropped as
 * stale, and the callee resent it until Timer H. */
static void test_reinvite_given_up_gets_its_late_486_acked(void **state)
{
	struct fixture *f = *state;
	struct worker *w = &f->workers[0];
	char req[2048], buf[2048];

	(void)reinvite_given_up(f, req, sizeof(req));
	assert_true(got(f->caller, buf, sizeof(buf), 1000) > 0);
	from_caller(f, "ACK", 2);
	response_from_callee(f, req, "486 Busy Here");
	size_t n = got(f->callee, buf, sizeof(buf), 1000);
	print_message("the callee's late 486 got: %.30s\n", n ? buf : "nothing");
	assert_true(n > 0);
	assert_non_null(strstr(buf, "ACK sip:"));
	const char *b = strstr(req, ";branch="), *e = b ? strpbrk(b + 1, ";\r") : NULL;
	assert_non_null(e);
	char branch[128];
	snprintf(branch, sizeof(branch), "%.*s", (int)(e - b), b);
	assert_non_null(strstr(buf, branch));
	assert_int_equal(w->relay.late_finals_acked, 1);
	assert_int_equal(got(f->caller, buf, sizeof(buf), 50), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reinvite_given_up_gets_its_late_486_acked, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_reinvite_given_up_from_another_node_gets_its_504_there, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reinvite_given_up_gets_504_and_its_late_2xx_an_ack,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_481_to_a_reinvite_ends_the_call, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_481_to_a_notify_or_prack_keeps_the_call, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_final_kept_without_a_send_buffer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_487_resent_by_timer_g_until_its_ack, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_487_given_up_at_timer_h, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_487s_beyond_the_set_overwrite_the_oldest, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_487_without_a_send_buffer_goes_at_the_next_tick,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_late_keepalive_round_ends_before_idle, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_keepalive_answer_counted_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_late_keepalive_round_keeps_an_answering_call,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
