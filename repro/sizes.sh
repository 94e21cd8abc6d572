#!/bin/bash
# FIX-2 reproducer: the slot sizes and table size examples/CONFIG.md and the
# README state, against shard_dialog_bytes(), shard_txn_bytes() and
# shard_table_bytes() of the built library. Exit 1 when they differ.
cd "$(dirname "$0")/.."
gcc -std=c11 -D_GNU_SOURCE -Iinclude -Iuser -Ibuild/gen repro/sizes.c build/libsipshard.a \
	-o repro/sizes -luring -lbpf -lelf -lz -ljansson -lnettle -lresolv -lpthread -lm || exit 2
read -r _ d _ t _ tbl < <(repro/sizes)
echo "code: dialog $d, transaction $t, table of the default capacities $tbl bytes"
mb=$(( (tbl + 500000) / 1000000 ))
st=0
grep -q "($d bytes per dialog slot and $t per transaction slot: $mb MB" examples/CONFIG.md ||
	{ echo "FAIL: CONFIG.md run_dir: $(grep -o '([0-9]* bytes per dialog slot[^,]*' examples/CONFIG.md)"; st=1; }
grep -q "A sipshardd dialog (both legs) is $d bytes" README.md ||
	{ echo "FAIL: README: $(grep -o 'A sipshardd dialog (both legs) is [0-9]* bytes' README.md)"; st=1; }
exit $st
