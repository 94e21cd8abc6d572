/*
 * deny_uring - runs a program with io_uring_setup(2) failing with EPERM, as
 * kernel.io_uring_disabled=2 or a container's seccomp profile makes it:
 * `build/tools/deny_uring PROGRAM ARGS...`. For the integration tests of the
 * daemon's recvmmsg fallback when it asked for io_uring.
 */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../unit/deny.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: deny_uring PROGRAM [ARGS...]\n");
		return 2;
	}
	int rc = deny_syscall(SYS_io_uring_setup, EPERM);
	if (rc) {
		fprintf(stderr, "deny_uring: cannot install the filter: %s\n", strerror(-rc));
		return 1;
	}
	execvp(argv[1], argv + 1);
	perror("deny_uring: exec");
	return 127;
}
