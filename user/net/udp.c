/*
 * udp.c - UDP socket helpers (see udp.h).
 *
 * Owns: the address syntax of the config and command lines, socket options.
 * Does not own: what is sent or received on the sockets.
 */
#include <arpa/inet.h>
#include <linux/filter.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/udp.h"

#define ERR(...)                                                                                   \
	do {                                                                                       \
		if (err && errlen)                                                                 \
			snprintf(err, errlen, __VA_ARGS__);                                        \
		return -EINVAL;                                                                    \
	} while (0)

/* Digits only, 0-65535: strtol would take signs, spaces and "0x". */
static int parse_port(const char *p)
{
	long v = 0;
	size_t n = 0;

	for (; p[n]; n++) {
		if (p[n] < '0' || p[n] > '9' || n >= 5)
			return -1;
		v = v * 10 + (p[n] - '0');
	}
	return n == 0 || v > 65535 ? -1 : (int)v;
}

/* Fills a sockaddr_in6 from "addr" or "addr%scope". */
static int parse_v6(const char *host, struct sockaddr_in6 *v6)
{
	char ip[INET6_ADDRSTRLEN];
	const char *pct = strchr(host, '%');
	size_t n = pct ? (size_t)(pct - host) : strlen(host);

	if (n >= sizeof(ip))
		return -1;
	memcpy(ip, host, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET6, ip, &v6->sin6_addr) != 1)
		return -1;
	if (pct) {
		int id = parse_port(pct + 1); /* a small decimal, same rules */
		if (id < 0)
			id = (int)if_nametoindex(pct + 1);
		if (id <= 0)
			return -1;
		v6->sin6_scope_id = (uint32_t)id;
	}
	v6->sin6_family = AF_INET6;
	return 0;
}

int udp_parse_addr(const char *s, struct sockaddr_storage *out, socklen_t *len, char *err,
		   size_t errlen)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	const char *port_s;
	size_t hlen;
	int port;
	bool v6;

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		ERR("empty address: expected IP:PORT or [IPv6]:PORT");
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			ERR("expected \"[IPv6]:PORT\", got \"%s\"", s);
		hlen = (size_t)(close - s - 1);
		port_s = close + 2;
		s++;
		v6 = true;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon)
			ERR("missing port: expected IP:PORT, got \"%s\"", s);
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen))
			ERR("IPv6 addresses need brackets: \"[%.*s]:%s\"", (int)hlen, s, colon + 1);
		port_s = colon + 1;
		v6 = false;
	}
	if (hlen == 0)
		ERR("missing IP address before the port in \"%s\"", s);
	if (hlen >= sizeof(host))
		ERR("address too long: \"%.*s...\"", 40, s);
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	port = parse_port(port_s);
	if (port < 0)
		ERR("port \"%s\" is not a number from 0 to 65535", port_s);

	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
		if (parse_v6(host, a) != 0)
			ERR("\"%s\" is not a numeric IPv6 address (with an optional %%interface)",
			    host);
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
		return 0;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)out;
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		ERR("\"%s\" is not a numeric IPv4 address (names are not resolved)", host);
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	*len = sizeof(*a);
	return 0;
}

void udp_format_addr(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (!cap)
		return;
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, ntohs(v4->sin_port));
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
		if (v6->sin6_scope_id)
			snprintf(out, cap, "[%s%%%u]:%u", ip, v6->sin6_scope_id,
				 ntohs(v6->sin6_port));
		else
			snprintf(out, cap, "[%s]:%u", ip, ntohs(v6->sin6_port));
	} else {
		snprintf(out, cap, "?");
	}
}

bool udp_addr_unmap(const struct sockaddr *sa, socklen_t len, struct sockaddr_in *v4)
{
	if (!sa || sa->sa_family != AF_INET6 || len < (socklen_t)sizeof(struct sockaddr_in6))
		return false;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
	if (!IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr))
		return false;
	memset(v4, 0, sizeof(*v4));
	v4->sin_family = AF_INET;
	v4->sin_port = v6->sin6_port;
	memcpy(&v4->sin_addr, v6->sin6_addr.s6_addr + 12, 4);
	return true;
}

/* Big buffers absorb bursts while a worker is busy with a batch. FORCE
 * passes net.core.[rw]mem_max but needs CAP_NET_ADMIN; without it the plain
 * option gives as much as the limit allows. Neither failing is fatal. */
static void size_buffers(int fd)
{
	int size = UDP_SOCKET_BUFFER;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

/*
 * Socket filters (classic BPF: no privilege needed). A filter returns how many
 * bytes of the datagram to keep, 0 dropping it; for UDP it runs with the UDP
 * header at the start, so the datagram's length is 8 + its payload.
 *
 * drop_empty: drops datagrams with no payload. Such a datagram carries
 * nothing to answer, and io_uring's multishot recvmsg takes its 0 bytes for
 * the end of the stream and stops (a re-arm each: a flood of empty datagrams,
 * the cheapest to send, would cut every poll's batch to one datagram). The
 * kernel counts them as the socket's drops (SO_MEMINFO), with those of a full
 * receive queue.
 * drop_all: a held socket takes nothing until udp_socket_release.
 */
static struct sock_filter drop_empty_insns[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
    BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 8, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
};
static const struct sock_fprog drop_empty = {4, drop_empty_insns};
static struct sock_filter drop_all_insns[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
static const struct sock_fprog drop_all = {1, drop_all_insns};

/* held: drop_all is attached before the bind, so that the socket takes no
 * datagram until udp_socket_release swaps it for drop_empty; otherwise
 * drop_empty from before the bind. */
static int bind_socket(const struct sockaddr_storage *addr, socklen_t len, bool reuseport,
		       bool held)
{
	const struct sock_fprog *filter = held ? &drop_all : &drop_empty;
	int one = 1, e;

	if (!addr || (addr->ss_family != AF_INET && addr->ss_family != AF_INET6))
		return -EAFNOSUPPORT;
	int fd = socket(addr->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, filter, sizeof(*filter)) != 0)
		goto fail;
	/* "[::]" is dual-stack (IPv4 peers as ::ffff:a.b.c.d) whatever the
	 * host's net.ipv6.bindv6only says: with it 1 (some distributions and
	 * hardened hosts), IPv4 peers got nothing and IPv4 targets were never
	 * reached (ENETUNREACH), though the configuration took them */
	int zero = 0;
	if (addr->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0)
		goto fail;
	size_buffers(fd);
	if (bind(fd, (const struct sockaddr *)addr, len) != 0)
		goto fail;
	return fd;
fail:
	e = -errno;
	close(fd);
	return e;
}

int udp_socket_bind(const struct sockaddr_storage *addr, socklen_t len, bool reuseport)
{
	return bind_socket(addr, len, reuseport, false);
}

int udp_socket_bind_held(const struct sockaddr_storage *addr, socklen_t len)
{
	return bind_socket(addr, len, true, true);
}

int udp_socket_release(int fd)
{
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &drop_empty, sizeof(drop_empty))
		   ? -errno
		   : 0;
}

int udp_socket_bind_group(const struct sockaddr_storage *addr, socklen_t len, int *fds, unsigned n)
{
	struct sockaddr_storage a;
	socklen_t alen = len;
	unsigned i;
	int rc = 0;

	if (!n || n > UDP_GROUP_MAX || !addr || len > sizeof(a))
		return -EINVAL;
	memcpy(&a, addr, len);
	for (i = 0; i < n; i++) {
		fds[i] = udp_socket_bind_held(&a, len);
		if (fds[i] < 0) {
			rc = fds[i];
			goto fail;
		}
		/* port 0: the others join the port the first was given */
		if (i == 0 && getsockname(fds[0], (struct sockaddr *)&a, &alen) != 0) {
			rc = -errno;
			i++;
			goto fail;
		}
	}
	for (i = 0; i < n; i++) {
		rc = udp_socket_release(fds[i]);
		if (rc) {
			i = n;
			goto fail;
		}
	}
	return 0;
fail:
	while (i--)
		close(fds[i]);
	return rc;
}

int udp_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -EAFNOSUPPORT;
}
