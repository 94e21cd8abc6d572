/* LD_PRELOAD shim: CLOCK_REALTIME goes back 5 s while the file
 * $CLOCKSTEP_FILE exists (an NTP step backwards during a call). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	if (!real)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	int rc = real(id, ts);
	const char *f = getenv("CLOCKSTEP_FILE");
	if (rc == 0 && id == CLOCK_REALTIME && f && access(f, F_OK) == 0)
		ts->tv_sec -= 5;
	return rc;
}
