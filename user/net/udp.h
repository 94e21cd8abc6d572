/*
 * udp.h - UDP socket helpers: address parsing, binding, buffer sizing.
 *
 * Owns: turning "IP:PORT" / "[IPv6]:PORT" into a sockaddr with a message that
 * says what was wrong, and creating non-blocking UDP sockets (optionally in a
 * SO_REUSEPORT group) with large kernel buffers, and a whole such group bound
 * before any of its sockets takes a datagram. Does not own: I/O on them
 * (io.h), name resolution (addresses are numeric only).
 */
#ifndef SIPSHARD_NET_UDP_H
#define SIPSHARD_NET_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* Room for the longest text udp_format_addr writes. */
#define UDP_ADDR_STRLEN 72

/* Kernel buffer size udp_socket_bind asks for, each direction. */
#define UDP_SOCKET_BUFFER (8 << 20)

/* Parses a numeric "a.b.c.d:port" or "[v6addr]:port" (also "[fe80::1%eth0]:port").
 * Port 0 means "any free port". Returns 0, or -EINVAL with a one-line reason in
 * err (which may be NULL). */
int udp_parse_addr(const char *s, struct sockaddr_storage *out, socklen_t *len, char *err,
		   size_t errlen);
/* Formats an address as "IP:PORT" or "[IPv6]:PORT" ("?" for other families);
 * always NUL-terminates when cap > 0. */
void udp_format_addr(const struct sockaddr *sa, char *out, size_t cap);
/* When sa is an IPv4-mapped IPv6 address (::ffff:a.b.c.d: what a dual-stack
 * "[::]" socket reports for an IPv4 peer), the sockaddr_in it stands for,
 * into *v4, and true; otherwise false and *v4 untouched. */
bool udp_addr_unmap(const struct sockaddr *sa, socklen_t len, struct sockaddr_in *v4);
/* A bound, non-blocking, close-on-exec UDP socket with UDP_SOCKET_BUFFER-sized
 * receive and send buffers (SO_RCVBUFFORCE when privileged, else as much as
 * net.core.rmem_max allows), in a SO_REUSEPORT group when reuseport, whose
 * socket filter drops datagrams with no payload (counted by the kernel among
 * the socket's drops, SO_MEMINFO). Returns the fd or a negative errno. */
int udp_socket_bind(const struct sockaddr_storage *addr, socklen_t len, bool reuseport);
/* n sockets (1..UDP_GROUP_MAX) bound to one address in a SO_REUSEPORT group,
 * each as udp_socket_bind makes it, into fds[0..n-1]. The kernel picks a
 * group member per datagram by a hash of its addresses over the members
 * bound so far, so a sender's flow moves to another member when the group
 * grows: a program that keeps state per member (its dialogs, one table per
 * thread) would see a sender's next requests reach a member that never saw
 * its first. Each socket therefore
 * drops every datagram (a socket filter, attached before its bind) until all
 * n are bound; a sender's datagram in that window is lost as to a port not
 * yet open, and its retransmission finds the whole group. Returns 0, or a
 * negative errno with none left open. */
#define UDP_GROUP_MAX 64
int udp_socket_bind_group(const struct sockaddr_storage *addr, socklen_t len, int *fds, unsigned n);
/* udp_socket_bind_group's steps: a socket as udp_socket_bind(addr, len, true)
 * makes it that drops every datagram until udp_socket_release (0 or a
 * negative errno) lets them in (all but the empty ones). */
int udp_socket_bind_held(const struct sockaddr_storage *addr, socklen_t len);
int udp_socket_release(int fd);
/* The port a socket is bound to (host order), or a negative errno. */
int udp_bound_port(int fd);

#endif
