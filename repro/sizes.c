#include <stdio.h>
#include "shard/table.h"
int main(void){printf("dialog %zu txn %zu table(65536,65536) %zu\n", shard_dialog_bytes(), shard_txn_bytes(), shard_table_bytes(65536,65536));return 0;}
