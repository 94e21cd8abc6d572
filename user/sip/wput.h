/*
 * wput.h - appending parts of a parsed message to a bounded buffer (core/wbuf.h).
 *
 * Shared by the writer and the stateless responses (sip/write.c), the relay and
 * the controller's set-up messages, which all copy views and whole header lines
 * of a message they parsed into the datagram they build.
 */
#ifndef SIPSHARD_SIP_WPUT_H
#define SIPSHARD_SIP_WPUT_H

#include "core/wbuf.h"
#include "sipshard/sip.h"

/* The bytes of view v of buf. */
static inline void wput_view(struct wbuf *w, const char *buf, sip_view v)
{
	wbuf_put(w, buf + v.off, v.len);
}

/* Header line h of m as it came, its CRLF included. */
static inline void wput_line(struct wbuf *w, const struct sip_msg *m, const struct sip_hdr_line *h)
{
	wbuf_put(w, m->buf + h->start, (size_t)(h->end - h->start));
}

#endif
