/*
 * addr.h - an IPv4 socket address from text, for the tests and fuzzers that
 * stand in for peers (relay_dialog.h, test_controller.c, fuzz_controller.c).
 * Header-only.
 */
#ifndef SIPSHARD_TESTS_ADDR_H
#define SIPSHARD_TESTS_ADDR_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

static inline void test_addr_in(struct sockaddr_in *sin, const char *ip, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
}

#endif
