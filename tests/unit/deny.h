/*
 * deny.h - makes one system call fail with an errno for the rest of the
 * calling process (a seccomp filter), as a kernel or sandbox that refuses it
 * does: io_uring_setup with EPERM is what kernel.io_uring_disabled=2 and a
 * container's default seccomp profile give. For the tests of a component's
 * fallback; the filter cannot be removed, so a test forks before it.
 */
#ifndef SIPSHARD_TESTS_DENY_H
#define SIPSHARD_TESTS_DENY_H

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>

/* Returns 0, or -errno when the filter cannot be installed. */
static inline int deny_syscall(int nr, int err)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return -errno;
	return 0;
}

#endif
