/*
 * pack.c - a parsed message in a form another thread takes over without
 * parsing the datagram again (sip_msg_pack, sip_msg_unpack; see sip.h).
 *
 * Owns: which parts of struct sip_msg make up a parse (the fields before the
 * arrays, the used prefix of each array) and the checks on taking one over.
 * Does not own: parsing (parse.c) or how the bytes travel (the daemon's rings).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "sipshard/sip.h"

#define MSG_FIXED offsetof(struct sip_msg, hdrs)

/* Every field after MSG_FIXED is one of the arrays below: a field added to
 * struct sip_msg after them must be added here too. */
_Static_assert(offsetof(struct sip_msg, contacts) + sizeof(((struct sip_msg *)0)->contacts) +
		       _Alignof(struct sip_msg) >
		   sizeof(struct sip_msg),
	       "struct sip_msg: fields after the arrays that sip_msg_pack does not know");

/* The arrays of a parse, their used counts and their element sizes. */
struct msg_array {
	size_t off, elem, count, max;
};

static void msg_arrays(const struct sip_msg *m, struct msg_array a[5])
{
	a[0] = (struct msg_array){offsetof(struct sip_msg, hdrs), sizeof(m->hdrs[0]), m->nhdrs,
				  SIP_MAX_HEADERS};
	a[1] = (struct msg_array){offsetof(struct sip_msg, vias), sizeof(m->vias[0]), m->nvias,
				  SIP_MAX_VIAS};
	a[2] = (struct msg_array){offsetof(struct sip_msg, routes), sizeof(m->routes[0]),
				  m->nroutes, SIP_MAX_ROUTES};
	a[3] = (struct msg_array){offsetof(struct sip_msg, record_routes),
				  sizeof(m->record_routes[0]), m->nrecord_routes, SIP_MAX_ROUTES};
	a[4] = (struct msg_array){offsetof(struct sip_msg, contacts), sizeof(m->contacts[0]),
				  m->ncontacts, SIP_MAX_CONTACTS};
}

/* The bytes of a parse whose arrays are a, or 0 when a count exceeds its
 * array (not something sip_parse made). */
static size_t packed_size(const struct msg_array a[5])
{
	size_t n = MSG_FIXED;

	for (int i = 0; i < 5; i++) {
		if (a[i].count > a[i].max)
			return 0;
		n += a[i].count * a[i].elem;
	}
	return n;
}

int sip_msg_pack(const struct sip_msg *m, void *out, size_t cap)
{
	struct msg_array a[5];

	msg_arrays(m, a);
	size_t n = packed_size(a);
	if (n == 0)
		return -EINVAL;
	if (n > cap)
		return -ENOSPC;
	char *o = out;
	memcpy(o, m, MSG_FIXED);
	o += MSG_FIXED;
	for (int i = 0; i < 5; i++) {
		memcpy(o, (const char *)m + a[i].off, a[i].count * a[i].elem);
		o += a[i].count * a[i].elem;
	}
	return (int)n;
}

int sip_msg_unpack(struct sip_msg *m, const char *buf, size_t len, const void *in, size_t in_len)
{
	struct msg_array a[5];
	const char *p = in;

	if (in_len < MSG_FIXED)
		return -EINVAL;
	memcpy(m, p, MSG_FIXED);
	p += MSG_FIXED;
	if (m->len != (len > SIP_MAX_DATAGRAM ? SIP_MAX_DATAGRAM : len)) /* another datagram's */
		return -EINVAL;
	msg_arrays(m, a);
	if (packed_size(a) != in_len) /* 0 for a count beyond its array */
		return -EINVAL;
	for (int i = 0; i < 5; i++) {
		memcpy((char *)m + a[i].off, p, a[i].count * a[i].elem);
		p += a[i].count * a[i].elem;
	}
	m->buf = buf;
	return -(int)m->err;
}
