/* Fills a shard table file in run_dir with dialogs, as a worker does under
 * load: on a tmpfs with less room than the (sparse) file, the write to a new
 * page raises SIGBUS and the process dies. Usage: tmpfs_fill RUN_DIR N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shard/table.h"

int main(int argc, char **argv)
{
	char path[512];
	struct shard_table t;
	uint32_t gen, n = (uint32_t)atoi(argv[2]);
	snprintf(path, sizeof(path), "%s/shard-0.tbl", argv[1]);
	int rc = shard_table_open(&t, path, n, 16);
	if (rc) {
		printf("shard_table_open: %s\n", strerror(-rc));
		return 2;
	}
	printf("opened %s: %zu bytes\n", path, t.map_len);
	fflush(stdout);
	for (uint32_t i = 0; i < n; i++) {
		int s = shard_dialog_alloc(&t, 1, &gen);
		if (s < 0)
			return 3;
		memset(t.dialogs[s].legs, 'x', sizeof(t.dialogs[s].legs)); /* a call's state */
	}
	printf("%u dialogs written\n", n);
	return 0;
}
