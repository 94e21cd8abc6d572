/*
 * ring.h - bounded single-producer/single-consumer message ring between threads.
 *
 * Owns: fixed-size slots each holding one message (a header and an optional
 * payload, copied in), C11 acquire/release indices on separate cache lines.
 * Does not own: message meaning (daemon.h). One thread pushes, one thread
 * pops; no locks; memory is allocated once at ring_create.
 */
#ifndef SIPSHARD_RING_H
#define SIPSHARD_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct ring {
	_Alignas(64) _Atomic uint64_t head; /* next slot to write (producer) */
	_Alignas(64) _Atomic uint64_t tail; /* next slot to read (consumer) */
	_Alignas(64) uint32_t nslots;	    /* power of two */
	uint32_t slot_size;
	unsigned char *mem;
};

/* nslots is rounded up to a power of two; slot_size bounds header + payload. */
int ring_create(struct ring **out, uint32_t nslots, uint32_t slot_size);
void ring_destroy(struct ring *r);

/* Copies hdr then payload into the next slot. -ENOBUFS when full, -EMSGSIZE
 * when they do not fit a slot. Producer only. */
int ring_push(struct ring *r, const void *hdr, size_t hlen, const void *payload, size_t plen);

/* The next slot to write in place (slot_size bytes, 8-byte aligned), or NULL
 * when the ring is full; the consumer sees nothing of it until ring_commit.
 * For a producer that builds a message from several pieces without first
 * copying them together. Producer only. */
void *ring_reserve(struct ring *r);
/* Publishes the slot ring_reserve gave. */
void ring_commit(struct ring *r);

/* Points *hdr at the oldest message's header and *payload just after hlen
 * bytes of it; -EAGAIN when empty. The message stays until ring_pop.
 * Consumer only. */
int ring_peek(struct ring *r, const void **hdr, size_t hlen, const void **payload);
void ring_pop(struct ring *r);

/*
 * The consumer of several rings: handles their messages in turns of at most
 * turn messages a ring, until every ring is empty or max messages have been
 * handled, and returns how many were. A producer that keeps its ring busy
 * cannot starve the others (whose producers shed work when their rings are
 * full), and max bounds the pass so that the consumer's other work follows.
 * fn gets the ring's index, the header and the payload (hlen bytes into the
 * slot); the message is popped after fn returns. NULL rings are skipped.
 */
typedef void (*ring_msg_fn)(void *arg, unsigned ring, const void *hdr, const void *payload);
uint32_t ring_drain_fair(struct ring *const *rings, unsigned n, size_t hlen, uint32_t turn,
			 uint32_t max, ring_msg_fn fn, void *arg);

/* Messages waiting (approximate from any thread). */
uint32_t ring_count(struct ring *r);

#endif
