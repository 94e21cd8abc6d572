/*
 * udp.h - UDP socket helpers: address parsing, binding, buffer sizing.
 *
 * Owns: turning "IP:PORT" / "[IPv6]:PORT" into a sockaddr with a message that
 * says what was wrong, and creating non-blocking UDP sockets (optionally in a
 * SO_REUSEPORT group). Does not own: I/O on them (io.h).
 */
#ifndef SIPSHARD_NET_UDP_H
#define SIPSHARD_NET_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Parses a numeric address with port. Returns 0, or -EINVAL with why in err. */
int udp_parse_addr(const char *s, struct sockaddr_storage *out, socklen_t *len, char *err,
		   size_t errlen);
/* Formats an address as "IP:PORT" or "[IPv6]:PORT". */
void udp_format_addr(const struct sockaddr *sa, char *out, size_t cap);
/* A bound, non-blocking UDP socket with large buffers; in a SO_REUSEPORT group
 * when reuseport. Returns the fd or a negative errno. */
int udp_socket_bind(const struct sockaddr_storage *addr, socklen_t len, bool reuseport);
/* The port a socket is bound to (host order), or a negative errno. */
int udp_bound_port(int fd);

#endif
