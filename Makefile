# ein — build, test, benchmark.
#
#   make            build ./einrun (float32)
#   make check      install missing Debian packages, build, run every Check suite
#                   in float32 and float64 (gradient checks need the double build)
#   make asan       the same suites under AddressSanitizer + UBSan
#   make demo       install, build, run examples/quickstart.ein
#   make bench      benchmarks (speed/memory targets live here, not in unit tests)
#   make bench-torch   the same steps in PyTorch beside ein's (installs python3-torch;
#                   not part of make check)
#   make REAL=double   build everything with double-precision tensors
#   make check-slurm  boot a one-node Slurm cluster (tools/slurm-up.sh, as root) and run
#                   the cluster suite (tests/cluster_slurm.c) against it; .ci/run runs it
#   make fuzz       fuzz each target in tests/fuzz/ for FUZZ_SECONDS (default 60) with
#                   libFuzzer (FUZZ_ENGINE=afl: AFL++'s afl-fuzz); tests/fuzz/README.md
#
# Generated files (bison/flex output, objects) go to build/<variant>/ and never into git.

REAL    ?= float
SAN     ?=
CC      ?= cc
BISON   ?= bison
FLEX    ?= flex

# FUZZ=libfuzzer|afl: the instrumented build of the fuzz targets (make fuzz),
# with the sanitizers FUZZ_SAN (FUZZ_SAN= for a faster run without them).
FUZZ    ?=
FUZZ_SAN ?= address,undefined
FUZZ_SANFLAGS := $(if $(FUZZ_SAN),-fsanitize=$(FUZZ_SAN) -fno-sanitize-recover=undefined)
ifeq ($(FUZZ),libfuzzer)
CC      := clang
FUZZ_CFLAGS := -fsanitize=fuzzer-no-link $(FUZZ_SANFLAGS)
FUZZ_LINK := -fsanitize=fuzzer $(FUZZ_SANFLAGS)
else ifeq ($(FUZZ),afl)
CC      := afl-clang-fast
FUZZ_CFLAGS := $(FUZZ_SANFLAGS)
FUZZ_LINK := -fsanitize=fuzzer $(FUZZ_SANFLAGS)
endif

VARIANT := $(REAL)$(if $(SAN),-san)$(if $(FUZZ),-fuzz-$(FUZZ)$(if $(FUZZ_SAN),,-nosan))
BUILD   := build/$(VARIANT)
GEN     := $(BUILD)/gen

BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null || echo -I/usr/include/x86_64-linux-gnu/openblas-pthread)
BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm -pthread)

WARN    := -Wall -Wextra -Werror
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     ?= -O3
CFLAGS_ALL = -std=c11 $(WARN) $(OPT) -g -D_DEFAULT_SOURCE -Iinclude -I$(GEN) $(BLAS_CFLAGS) \
             $(if $(filter double,$(REAL)),-DEIN_REAL_DOUBLE=1) \
             $(if $(SAN),$(SANFLAGS)) $(FUZZ_CFLAGS) \
             $(EXTRA_CFLAGS)
LDFLAGS_ALL = $(if $(SAN),$(SANFLAGS)) $(EXTRA_LDFLAGS)
LIBS    := $(BLAS_LIBS) -lz -lreadline -lm -pthread

# Generated scanner/parser: same warnings, minus the ones flex/bison skeletons trip.
GEN_CFLAGS = $(CFLAGS_ALL) -Wno-unused-function -Wno-sign-compare -Wno-unused-parameter

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o) $(GEN)/ein.tab.o $(GEN)/ein.yy.o
LIB      := $(BUILD)/libein.a
EINRUN   := $(BUILD)/einrun

TEST_SRC := $(wildcard tests/check_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# Every tests/*.c that is not a suite or a benchmark is support code linked into
# all suites (testmain.c holds main(); benchmarks get the rest).
SUPPORT_SRC := $(filter-out tests/check_% tests/bench_% tests/cluster_%,$(wildcard tests/*.c))
TEST_SUPPORT := $(SUPPORT_SRC:tests/%.c=$(BUILD)/tests/%.o)
BENCH_SUPPORT := $(filter-out %/testmain.o,$(TEST_SUPPORT))
BENCH_SRC := $(wildcard tests/bench_*.c)
BENCH_BIN := $(BENCH_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all deps check check-one asan demo bench bench-one bench-torch clean tests fuzz fuzz-bins fuzz-deps check-slurm
.SUFFIXES:
.DELETE_ON_ERROR:
# Objects made by pattern rules are not intermediates to throw away: keep them
# (concurrent or incremental builds would otherwise lose test support objects).
.SECONDARY:

all: einrun

einrun: $(EINRUN)
	@if [ "$(REAL)$(SAN)" = "float" ]; then cp $(EINRUN) einrun; fi

deps:
	@sh tools/install-deps.sh

# --- library -----------------------------------------------------------------
$(GEN)/ein.tab.c $(GEN)/ein.tab.h: grammar/ein.y | $(GEN)
	$(BISON) -Wall -Werror --defines=$(GEN)/ein.tab.h -o $(GEN)/ein.tab.c $<

$(GEN)/ein.yy.c $(GEN)/ein.yy.h: grammar/ein.l $(GEN)/ein.tab.h | $(GEN)
	$(FLEX) --header-file=$(GEN)/ein.yy.h -o $(GEN)/ein.yy.c $<

$(GEN)/ein.tab.o: $(GEN)/ein.tab.c $(GEN)/ein.yy.h
	$(CC) $(GEN_CFLAGS) -c -o $@ $<

$(GEN)/ein.yy.o: $(GEN)/ein.yy.c $(GEN)/ein.tab.h
	$(CC) $(GEN_CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: src/%.c $(GEN)/ein.tab.h $(GEN)/ein.yy.h | $(BUILD)/obj
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(EINRUN): $(BUILD)/obj/main.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

# --- tests -------------------------------------------------------------------
$(BUILD)/tests/%.o: tests/%.c $(GEN)/ein.tab.h | $(BUILD)/tests
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/check_%: $(BUILD)/tests/check_%.o $(TEST_SUPPORT) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CHECK_LIBS) $(LIBS)

$(BUILD)/tests/bench_%: $(BUILD)/tests/bench_%.o $(BENCH_SUPPORT) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

# check_fuzz replays tests/fuzz/corpus/ through the fuzz targets themselves.
$(BUILD)/tests/fuzz/%.o: tests/fuzz/%.c $(GEN)/ein.tab.h | $(BUILD)/tests
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/tests/check_fuzz: $(BUILD)/tests/check_fuzz.o $(TEST_SUPPORT) $(BUILD)/tests/fuzz/targets.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CHECK_LIBS) $(LIBS)

tests: $(TEST_BIN) $(EINRUN)

# Runs every suite of one build variant; a failing suite fails the target
# after all suites have run, so one red suite does not hide another.
check-one: tests
	@fail=0; for t in $(TEST_BIN); do \
	  echo "== $$t ($(VARIANT))"; \
	  EIN_EINRUN=$(EINRUN) EIN_VARIANT=$(VARIANT) ./$$t || fail=1; \
	done; exit $$fail

check: deps
	@$(MAKE) --no-print-directory einrun
	@$(MAKE) --no-print-directory REAL=float check-one
	@$(MAKE) --no-print-directory REAL=double check-one

asan: deps
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 $(MAKE) --no-print-directory REAL=float SAN=1 OPT=-O1 check-one

# The real scheduler: its packages (tools/install-deps.sh --slurm) only here,
# so plain `make check` stays lean.
CLUSTER_BIN := $(BUILD)/tests/cluster_slurm
$(CLUSTER_BIN): $(BUILD)/tests/cluster_slurm.o $(TEST_SUPPORT) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CHECK_LIBS) $(LIBS)

check-slurm: deps
	@sh tools/install-deps.sh --slurm
	@$(MAKE) --no-print-directory $(EINRUN) $(CLUSTER_BIN)
	@sh tools/check-slurm.sh $(CLUSTER_BIN) $(EINRUN)

bench-one: $(BENCH_BIN) $(EINRUN)
	@for b in $(BENCH_BIN); do echo "== $$b"; EIN_EINRUN=$(EINRUN) ./$$b || exit 1; done

bench: deps
	@$(MAKE) --no-print-directory REAL=float bench-one

# --- fuzzing (tests/fuzz/README.md) -------------------------------------------
FUZZ_TARGETS := check idx fmt
FUZZ_SECONDS ?= 60
FUZZ_ENGINE  ?= libfuzzer
FUZZ_JOBS    ?= 1
FUZZ_MAX_LEN ?= 4096
export FUZZ_MAX_LEN
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/targets.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_LINK) -o $@ $^ $(LIBS)

fuzz-bins: $(FUZZ_BIN)

fuzz-deps:
	@sh tools/install-deps.sh --fuzz

fuzz: deps fuzz-deps
	@$(MAKE) --no-print-directory FUZZ=$(FUZZ_ENGINE) OPT=-O2 fuzz-bins
	@sh tests/fuzz/run.sh $(FUZZ_ENGINE) build/$(REAL)-fuzz-$(FUZZ_ENGINE)$(if $(FUZZ_SAN),,-nosan)/fuzz \
	   $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

# Debian's PyTorch runs under Debian's python3 (not whatever python3 is first on PATH).
bench-torch: deps
	@sh tools/install-deps.sh --torch
	@$(MAKE) --no-print-directory REAL=float build/float/tests/bench_step
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 tests/bench_torch.py build/float/tests/bench_step

demo: deps
	@$(MAKE) --no-print-directory einrun
	./einrun examples/quickstart.ein

$(GEN) $(BUILD)/obj $(BUILD)/tests:
	@mkdir -p $@

clean:
	rm -rf build einrun

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/tests/*.d $(BUILD)/tests/fuzz/*.d)
