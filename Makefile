# sipshard build. `make` builds every program into build/; `make test` builds and
# runs every suite; `make demo` runs the main job. Both install missing Debian
# packages first (scripts/deps.sh).
#
# Layout the rules rely on, so that adding a file needs no edit here:
#   user/**/*.c (but user/cmd/)  -> build/libsipshard.a
#   user/cmd/NAME.c              -> build/NAME with '_' turned into '-'
#   kern/NAME.bpf.c              -> build/kern/NAME.bpf.o and build/gen/NAME.skel.h
#   bench/load/*.c               -> build/sipshard-load
#   bench/NAME.c                 -> build/NAME (links libosip2 for comparisons)
#   tests/unit/test_NAME.c       -> build/tests/test_NAME and build/asan/tests/test_NAME
#                                   (and build/tsan/tests/test_NAME when it starts threads)
#   tests/fuzz/fuzz_NAME.c       -> build/fuzz/fuzz_NAME (clang, libFuzzer + ASan; seeds in
#                                   tests/data/NAME_corpus, else tests/data/corpus)
#   tests/integration/NAME.c     -> build/tools/NAME (fixtures the integration scripts run)

BUILD   ?= build
CC      ?= gcc
CLANG   ?= clang
ARCH    := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
TRIPLET := $(shell $(CC) -dumpmachine 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -Iuser -I$(BUILD)/gen -MMD -MP -pthread
LDLIBS  := -Wl,--as-needed -luring -lbpf -lelf -lz -ljansson -lnettle -lresolv -lpthread -lm
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TSANFLAGS := -O1 -g -fsanitize=thread -fno-omit-frame-pointer

LIB_SRC  := $(shell find user -name '*.c' -not -path 'user/cmd/*' | sort)
CMD_SRC  := $(wildcard user/cmd/*.c)
BPF_SRC  := $(wildcard kern/*.bpf.c)
LOAD_SRC := $(wildcard bench/load/*.c)
BENCH_SRC := $(wildcard bench/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
TOOL_SRC := $(wildcard tests/integration/*.c)

LIB      := $(BUILD)/libsipshard.a
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
ASAN_LIB := $(BUILD)/asan/libsipshard.a
TSAN_LIB := $(BUILD)/tsan/libsipshard.a
SKELS    := $(BPF_SRC:kern/%.bpf.c=$(BUILD)/gen/%.skel.h)
BPF_OBJ  := $(BPF_SRC:kern/%.bpf.c=$(BUILD)/kern/%.bpf.o)
PROGS    := $(foreach s,$(CMD_SRC),$(BUILD)/$(subst _,-,$(basename $(notdir $(s)))))
LOAD     := $(if $(LOAD_SRC),$(BUILD)/sipshard-load)
BENCHES  := $(BENCH_SRC:bench/%.c=$(BUILD)/%)
UNITS    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
ASAN_UNITS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/asan/tests/%)
# the unit tests that start threads (rings, handoffs, the io layer, a worker's
# end) again under ThreadSanitizer: a missing acquire or release is a race there
TSAN_UNITS := $(patsubst tests/unit/%.c,$(BUILD)/tsan/tests/%,$(shell grep -l pthread_create $(UNIT_SRC)))
FUZZERS  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
TOOLS    := $(TOOL_SRC:tests/integration/%.c=$(BUILD)/tools/%)

# Builds run one job per CPU unless the command line says how many (-jN).
JOBS    ?= $(shell nproc 2>/dev/null || echo 1)
PAR     := $(if $(filter -j%,$(MAKEFLAGS)),,-j$(JOBS))

.PHONY: all deps test unit asan tsan fuzz fuzz-smoke demo bench compare format install clean
# Keep intermediate objects (test and BPF objects) so that rebuilds stay incremental.
.SECONDARY:

all: deps
	@$(MAKE) --no-print-directory $(PAR) build-all

.PHONY: build-all
build-all: $(PROGS) $(LOAD) $(BENCHES) $(UNITS) $(TOOLS)

deps:
	@scripts/deps.sh

# ---- BPF: object, then skeleton ------------------------------------------
$(BUILD)/kern/%.bpf.o: kern/%.bpf.c include/sipshard/hash.h include/sipshard/steer.h
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Iinclude \
		-I/usr/include/$(TRIPLET) -Wall -Werror -c $< -o $@

$(BUILD)/gen/%.skel.h: $(BUILD)/kern/%.bpf.o
	@mkdir -p $(@D)
	bpftool gen skeleton $< > $@.tmp && mv $@.tmp $@

# ---- library -------------------------------------------------------------
# The SIP message library is built with SIP_OPT after CFLAGS: at -O3 gcc
# inlines the parameter scanner into the Via parser, and parse_bench's
# in-dialog BYE and INFO parse about 10% faster than at -O2 (README,
# "Parser"). `make clean && make SIP_OPT=` builds it like the rest.
SIP_OPT ?= -O3
$(BUILD)/obj/user/sip/%.o: CFLAGS += $(SIP_OPT)

$(BUILD)/obj/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# A sanitizer build: san_build DIR FLAGS puts the library's objects and
# archive, and the unit tests on it, under $(BUILD)/DIR (asan: ASan + UBSan;
# tsan: ThreadSanitizer).
define san_build
$(BUILD)/$(1)/obj/%.o: %.c | $(SKELS)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $(2) -c $$< -o $$@

$(BUILD)/$(1)/libsipshard.a: $(LIB_SRC:%.c=$(BUILD)/$(1)/obj/%.o)
	@rm -f $$@
	ar rcs $$@ $$^

$(BUILD)/$(1)/tests/%: $(BUILD)/$(1)/obj/tests/unit/%.o $(BUILD)/$(1)/libsipshard.a
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $(2) $$^ -o $$@ $$(LDLIBS) -lcmocka
endef
$(eval $(call san_build,asan,$(SANFLAGS)))
$(eval $(call san_build,tsan,$(TSANFLAGS)))

# ---- programs ------------------------------------------------------------
define prog_rule
$(BUILD)/$(subst _,-,$(basename $(notdir $(1)))): $(BUILD)/obj/$(basename $(1)).o $(LIB)
	$$(CC) $$(CFLAGS) $$^ -o $$@ $$(LDLIBS)
endef
$(foreach s,$(CMD_SRC),$(eval $(call prog_rule,$(s))))

$(BUILD)/sipshard-load: $(LOAD_SRC:%.c=$(BUILD)/obj/%.o) $(LIB)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/%: $(BUILD)/obj/bench/%.o $(LIB)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -losipparser2

# ---- tests ---------------------------------------------------------------
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

$(BUILD)/tools/%: $(BUILD)/obj/tests/integration/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

FUZZ_FLAGS := -g -O1 $(WARN) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-std=c11 -D_GNU_SOURCE -Iinclude -Iuser -I$(BUILD)/gen
# What the fuzzers exercise: the SIP library, shard tables, relay, controller,
# policy and the steering scanner; everything but the sockets and threads.
FUZZ_LIB_SRC := $(filter user/sip/% user/shard/% user/ctl/% user/steer/% user/daemon/relay.c \
	user/daemon/orig.c user/core/rng.c \
	user/daemon/controller% user/daemon/credentials.c user/daemon/detached.c \
	user/daemon/register.c \
	user/daemon/setup_msg.c user/daemon/log.c user/net/udp.c \
	user/daemon/mgmt.c user/core/files.c user/core/mem.c,$(LIB_SRC))
# fuzz_mgmt also serves the management commands for a daemon that never
# started (commands.c, dialogs.c, daemon.c's statistics): the code that would
# start its threads and sockets comes along unused, and liburing with it.
FUZZ_DAEMON_SRC := $(filter user/daemon/daemon.c user/daemon/commands.c user/daemon/dialogs.c \
	user/daemon/worker.c user/daemon/cdr.c user/daemon/metrics.c user/core/ring.c user/net/io% \
	user/net/sendq.c,$(LIB_SRC))
$(BUILD)/fuzz/fuzz_mgmt: FUZZ_EXTRA_SRC := $(FUZZ_DAEMON_SRC)
$(BUILD)/fuzz/fuzz_mgmt: FUZZ_EXTRA_LIBS := -luring -lpthread
$(BUILD)/fuzz/fuzz_mgmt: $(FUZZ_DAEMON_SRC)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRC) $(wildcard include/sipshard/*.h user/*/*.h tests/common/*.h) | $(SKELS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) $< $(FUZZ_LIB_SRC) $(FUZZ_EXTRA_SRC) -o $@ -ljansson -lnettle -lresolv -lbpf -lelf -lz -lm $(FUZZ_EXTRA_LIBS)

# The daemon under ASan + UBSan, for the hostile-input integration test.
$(BUILD)/asan/sipshardd: $(BUILD)/asan/obj/user/cmd/sipshardd.o $(ASAN_LIB)
	$(CC) $(CFLAGS) $(SANFLAGS) $^ -o $@ $(LDLIBS)

# The daemon under ThreadSanitizer, for the integration tests whose daemon's
# workers and controller run side by side (TSAN_DAEMON=1 in the script).
$(BUILD)/tsan/sipshardd: $(BUILD)/tsan/obj/user/cmd/sipshardd.o $(TSAN_LIB)
	$(CC) $(CFLAGS) $(TSANFLAGS) $^ -o $@ $(LDLIBS)

unit: $(UNITS)
asan: $(ASAN_UNITS) $(BUILD)/asan/sipshardd
tsan: $(BUILD)/tsan/sipshardd $(TSAN_UNITS)

# Builds everything, then runs every suite; the last line sums them.
test: deps
	@$(MAKE) --no-print-directory $(PAR) build-all asan tsan $(FUZZERS)
	@tests/run.sh

# Runs each fuzzer for FUZZ_SECONDS (default 300) from its seed corpus
# (tests/data/NAME_corpus for fuzz_NAME, else tests/data/corpus), keeping what
# it learns in build/corpus/NAME.
FUZZ_SECONDS ?= 300
fuzz: deps $(FUZZERS)
	@FUZZ_SMOKE_SECONDS=$(FUZZ_SECONDS) FUZZ_CORPUS_DIR=$(BUILD)/corpus ONLY=fuzz tests/run.sh

demo: all
	@scripts/demo.sh

bench: all
	@$(BUILD)/parse_bench
	@$(BUILD)/steer_bench

# The programs an SBC runs, to $(DESTDIR)$(PREFIX)/bin (examples/sipshardd.service
# expects /usr/local/bin).
PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/sipshardd $(BUILD)/sipshardctl $(BUILD)/sipshard-parse \
		$(BUILD)/sipshard-load $(DESTDIR)$(PREFIX)/bin/

format:
	clang-format -i $$(find include user kern bench tests -name '*.[ch]')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
