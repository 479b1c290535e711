# llm.c - build, test and benchmark targets.
#   make            native ./llm (also: make native)
#   make run        build and generate from the default model
#   make test       the test suite, built and run in parallel (skips what needs ../shared when it is absent)
#   make server     ./llm-server, the OpenAI-compatible HTTP server (tools/server.c, on llm.h alone)
#   make install    llm, llm-server, llm.h and libllm.a into $(DESTDIR)$(PREFIX) (default /usr/local)

CC      ?= cc
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT) -g -Wall -Wextra -Wno-unused-parameter -std=gnu11
# Every build computes the same bits (rvv_kernels.h, "the contract between ports"): no compiler
# may fuse a multiply and an add that the source does not fuse itself. Added to every rule.
FP      := -ffp-contract=off
LDLIBS  := -lm -pthread
SHARED  ?= ../shared
PYTHON  ?= /usr/bin/python3

SRC     := llm.c llm.h rvv_kernels.h unicode_data.h

.PHONY: all native run test clean test-numa bench bench-riscv unicode server install lib

all: llm

# the default build is already native (-O3 -march=native): `make native` is its other name
native: llm

llm: $(SRC)
	$(CC) $(CFLAGS) $(FP) -o $@ llm.c $(LDLIBS)

tools/mkmodel: tools/mkmodel.c $(SRC)
	$(CC) $(CFLAGS) $(FP) -o $@ tools/mkmodel.c $(LDLIBS)

# ---- the library, the server, installation -------------------------------------------------
# libllm.a: llm.c without its CLI (-DLLM_NO_MAIN). llm-server is built against it and llm.h only,
# so it can use nothing of llm.c but the public API.
SERVER_SRC := tools/server.c tools/http.c tools/http.h tools/json.c tools/json.h
build/llm.o: $(SRC)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(FP) -DLLM_NO_MAIN -c -o $@ llm.c
build/libllm.a: build/llm.o
	rm -f $@
	ar rcs $@ build/llm.o
lib: build/libllm.a

server: llm-server
llm-server: $(SERVER_SRC) llm.h build/libllm.a
	$(CC) $(CFLAGS) $(FP) -I. -o $@ tools/server.c tools/http.c tools/json.c build/libllm.a $(LDLIBS)

PREFIX  ?= /usr/local
DESTDIR ?=
install: llm llm-server build/libllm.a
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib
	install -m 755 llm llm-server $(DESTDIR)$(PREFIX)/bin/
	install -m 644 llm.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 build/libllm.a $(DESTDIR)$(PREFIX)/lib/

# ---- default model -------------------------------------------------------------------------
DEFAULT_MODEL  ?= models/kjv-q8_0.gguf
DEFAULT_PROMPT ?= In the beginning
run: llm
	@if [ -f $(DEFAULT_MODEL) ]; then ./llm run -m $(DEFAULT_MODEL) -p "$(DEFAULT_PROMPT)" -n 128; \
	else echo "no default model yet ($(DEFAULT_MODEL) missing)"; exit 1; fi

# ---- tests ---------------------------------------------------------------------------------
tests/test_kernels: tests/test_kernels.c tests/check.h rvv_kernels.h
	$(CC) $(CFLAGS) $(FP) -I. -o $@ tests/test_kernels.c $(LDLIBS)

# unicode_data.h is generated (and committed): regenerate with `make unicode`
unicode:
	$(PYTHON) tools/gen_unicode.py -o unicode_data.h

tests/test_kquants: tests/test_kquants.c tests/check.h rvv_kernels.h
	$(CC) $(CFLAGS) $(FP) -I. -o $@ tests/test_kquants.c $(LDLIBS)

# the unit tests of llm.c's internals: one program, llm.c compiled once (suites tests/unit_*.c)
UNIT_SRC := tests/test_unit.c tests/unit_share.c tests/unit_pool.c tests/unit_bpe.c tests/check.h
tests/test_unit: $(UNIT_SRC) $(SRC)
	$(CC) $(CFLAGS) $(FP) -o $@ tests/test_unit.c $(LDLIBS)

tests/test_api: tests/test_api.c tests/check.h llm.h build/libllm.a
	$(CC) $(CFLAGS) $(FP) -I. -o $@ tests/test_api.c build/libllm.a $(LDLIBS)

# `make test` builds what the tests run in parallel (a sub-make with -j, unless make was given -j),
# the longest compile first; tests/run.sh then runs the tests JOBS at a time (default: all CPUs)
NPROC      := $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
TEST_BUILD := tests/test_kernels llm tools/mkmodel tests/test_unit llm-server tests/test_api tests/test_kquants
test:
	@$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC)) $(TEST_BUILD)
	SHARED=$(SHARED) PYTHON=$(PYTHON) LLM=./llm LLM_SERVER=./llm-server sh tests/run.sh

# ---- benchmarks ----------------------------------------------------------------------------
#   make bench   TinyLlama-1.1B-shaped random models (Q4_0, Q8_0, F16) and llm bench pp64/pp512/tg32
#                at 1 thread and all threads (BENCH_THREADS)
BENCH_DIR     ?= build/bench
BENCH_TYPES   ?= Q4_0 Q8_0 F16
BENCH_THREADS ?= 1,$(shell nproc)
BENCH_ARGS    ?= -p 64,512 -n 32 -r 3
TINYLLAMA     := --dim 2048 --layers 22 --heads 32 --kv-heads 4 --ffn 5632 --vocab 32000 --ctx 2048
$(BENCH_DIR)/tinyllama-%.gguf: | tools/mkmodel
	@mkdir -p $(@D)
	tools/mkmodel $@ $(TINYLLAMA) --type $*
bench: llm tools/mkmodel $(foreach t,$(BENCH_TYPES),$(BENCH_DIR)/tinyllama-$(t).gguf)
	@for t in $(BENCH_TYPES); do ./llm bench -m $(BENCH_DIR)/tinyllama-$$t.gguf -t $(BENCH_THREADS) $(BENCH_ARGS); done

#   make bench-riscv   guest instructions per prompt / generated token under qemu (rvcount plugin):
#                      RVV 1.0 at VLEN 128 and 256 vs the scalar build, dim-512 models (Q4_0, Q8_0, K-quants)
bench-riscv: llm-rv llm-rv-scalar tools/mkmodel
	$(RV_ENV) QEMU_RV=$(QEMU_RV) RVCOUNT=$(RISCV_TOOLS)/lib/librvcount.so sh tools/bench_riscv.sh

# ---- NUMA placement in multi-node VMs (needs ../shared/tools/setup-riscv.sh) ----------------
#   make test-numa   tests/numa_check (static) in 2x2 and 4x1 node x cpu VMs: riscv64 RVV and x86_64
NUMA_VM ?= $(SHARED)/tools/numa-vm.sh
build/numa_check-x86: tests/numa_check.c tests/check.h tools/mkmodel.c $(SRC)
	@mkdir -p $(@D)
	$(CC) -O2 $(FP) -static -o $@ tests/numa_check.c $(LDLIBS)
build/numa_check-rv: tests/numa_check.c tests/check.h tools/mkmodel.c $(SRC)
	@mkdir -p $(@D)
	$(RV_ENV) $(CC_RV) $(RV_CFLAGS) $(FP) -march=$(RV_MARCH) $(RV_LDFLAGS) -o $@ tests/numa_check.c $(LDLIBS)
test-numa: build/numa_check-x86 build/numa_check-rv
	NUMA_VM=$(NUMA_VM) sh tests/numa.sh build/numa_check-rv build/numa_check-x86

# ---- RISC-V (cross builds, qemu tests) -----------------------------------------------------
#   make riscv          llm-rv          RVV 1.0, any VLEN >= 128 (clang, static)
#   make riscv-scalar   llm-rv-scalar   rv64gc: any RISC-V Linux, no vector unit needed
#   make riscv-xthead   llm-rv-xthead   XTheadVector = RVV 0.7.1 of the SG2042's C920 (gcc-14, static;
#                                       nothing here can run it)
#   make test-riscv     tests/test_kernels under qemu-user at VLEN 128..1024 (RVV 1.0, also with
#                       Zvfhmin) and rv64gc; th.v* code in the XTheadVector kernels; the vector-unit
#                       probe (no SIGILL on a CPU without V); tests/run.sh end to end with llm-rv at
#                       every VLEN and with llm-rv-scalar (RV_E2E_TESTS)
# Tools: bash ../shared/tools/setup-riscv.sh (see ../shared/tools/README.md). Its bin directory
# goes first on PATH for these rules only.
# -fno-vectorize -fno-slp-vectorize: the kernels are explicit intrinsics; left to itself clang
# turns float->int casts into vfcvt.rtz/vfncvt.rtz, which abort qemu 7.2 (decode_save_opc
# assertion), and the binary we test should be the binary we ship. Same idea for gcc-14:
# -fno-tree-vectorize keeps th.v* code to the kernels, the only part we can check here.
RISCV_TOOLS ?= /opt/riscv-tools
RV_ENV      := PATH="$(RISCV_TOOLS)/bin:$$PATH"
ifeq ($(origin CC_RV),undefined)
CC_RV := $(shell PATH="$(RISCV_TOOLS)/bin:$$PATH"; for c in clang-19 clang-22 clang; do \
           command -v $$c >/dev/null 2>&1 && { echo $$c; exit 0; }; done; echo clang)
endif
RV_MARCH    ?= rv64gcv
RV_CFLAGS   ?= --target=riscv64-linux-gnu -O3 -fno-vectorize -fno-slp-vectorize -Wall -Wextra \
               -Wno-unused-parameter -std=gnu11
RV_LDFLAGS  ?= -static -fuse-ld=lld
GCC_XTHEAD  ?= riscv64-linux-gnu-gcc-14
XT_MARCH    ?= rv64gc_xtheadvector
XT_CFLAGS   ?= -O3 -fno-tree-vectorize -Wall -Wextra -Wno-unused-parameter -std=gnu11
XT_OBJDUMP  ?= th-objdump
QEMU_RV     ?= qemu-riscv64
RV_VLENS    ?= 128 256 512 1024
RV_E2E_TESTS ?= stories quant kquant_models threads native_match
RVB         := build/rv
comma       := ,
qemu_v       = $(QEMU_RV) -cpu rv64,v=true,vlen=$(1),elen=64,vext_spec=v1.0

.PHONY: riscv riscv-scalar riscv-xthead test-riscv test-riscv-kernels test-riscv-xthead test-riscv-probe test-riscv-e2e test-riscv-ports

riscv: llm-rv
riscv-scalar: llm-rv-scalar
riscv-xthead: llm-rv-xthead

llm-rv: $(SRC)
	$(RV_ENV) $(CC_RV) $(RV_CFLAGS) $(FP) -march=$(RV_MARCH) $(RV_LDFLAGS) -o $@ llm.c $(LDLIBS)
llm-rv-scalar: $(SRC)
	$(RV_ENV) $(CC_RV) $(RV_CFLAGS) $(FP) -march=rv64gc $(RV_LDFLAGS) -o $@ llm.c $(LDLIBS)
llm-rv-xthead: $(SRC)
	$(RV_ENV) $(GCC_XTHEAD) $(XT_CFLAGS) $(FP) -march=$(XT_MARCH) -static -o $@ llm.c $(LDLIBS)

# the self-contained kernel tests (test_kernels, test_kquants) for each RISC-V build variant
$(RVB)/test_%-rvv: tests/test_%.c tests/check.h rvv_kernels.h
	@mkdir -p $(@D)
	$(RV_ENV) $(CC_RV) $(RV_CFLAGS) $(FP) -march=$(RV_MARCH) -I. $(RV_LDFLAGS) -o $@ $< $(LDLIBS)
$(RVB)/test_%-zvfhmin: tests/test_%.c tests/check.h rvv_kernels.h
	@mkdir -p $(@D)
	$(RV_ENV) $(CC_RV) $(RV_CFLAGS) $(FP) -march=$(RV_MARCH)_zvfhmin -I. $(RV_LDFLAGS) -o $@ $< $(LDLIBS)
$(RVB)/test_%-scalar: tests/test_%.c tests/check.h rvv_kernels.h
	@mkdir -p $(@D)
	$(RV_ENV) $(CC_RV) $(RV_CFLAGS) $(FP) -march=rv64gc -I. $(RV_LDFLAGS) -o $@ $< $(LDLIBS)
$(RVB)/test_%-xthead: tests/test_%.c tests/check.h rvv_kernels.h
	@mkdir -p $(@D)
	$(RV_ENV) $(GCC_XTHEAD) $(XT_CFLAGS) $(FP) -march=$(XT_MARCH) -I. -static -o $@ $< $(LDLIBS)
$(RVB)/xthead_kernels.dis: tests/xthead_kernels.c rvv_kernels.h
	@mkdir -p $(@D)
	$(RV_ENV) $(GCC_XTHEAD) $(XT_CFLAGS) $(FP) -march=$(XT_MARCH) -I. -c -o $(RVB)/xthead_kernels.o tests/xthead_kernels.c
	$(RV_ENV) $(XT_OBJDUMP) -d $(RVB)/xthead_kernels.o > $@

test-riscv: test-riscv-kernels test-riscv-xthead test-riscv-probe test-riscv-e2e test-riscv-ports

# $(call rv_run,LABEL,COMMAND): run a test_kernels binary, keep its log, show failures and the total
rv_run = echo "== $(1)"; $(2) > $(RVB)/log.tmp 2>&1; rc=$$?; grep -vE '^(ok|PASS) ' $(RVB)/log.tmp; \
         [ $$rc -eq 0 ] || { echo "FAIL $(1): exit status $$rc"; exit 1; }

test-riscv-kernels: $(RVB)/test_kernels-rvv $(RVB)/test_kernels-zvfhmin $(RVB)/test_kernels-scalar \
                    $(RVB)/test_kquants-rvv $(RVB)/test_kquants-scalar
	@for v in $(RV_VLENS); do $(call rv_run,test_kernels RVV 1.0 VLEN=$$v,$(call qemu_v,$$v) $(RVB)/test_kernels-rvv); done
	@$(call rv_run,test_kernels RVV 1.0 + Zvfhmin VLEN=128,$(call qemu_v,128) $(RVB)/test_kernels-zvfhmin)
	@$(call rv_run,test_kernels rv64gc (scalar),$(QEMU_RV) $(RVB)/test_kernels-scalar)
	@for v in $(RV_VLENS); do $(call rv_run,test_kquants RVV 1.0 VLEN=$$v,$(call qemu_v,$$v) $(RVB)/test_kquants-rvv); done
	@$(call rv_run,test_kquants rv64gc (scalar),$(QEMU_RV) $(RVB)/test_kquants-scalar)

# every XTheadVector block kernel must be vector code, without what RVV 0.7.1 lacks or GCC 14
# gets wrong there: vsetivli, fractional LMUL, vmv.x.s
XT_KERNELS := dot_q8_0_q8_0 dot_q4_0_q8_0 gemm_q8_0_q8_0 gemm_q4_0_q8_0 quantize_row_q8_0 dot_q4_K_q8_K dot_q6_K_q8_K \
              tile2_q4_K_q8_K tile2_q6_K_q8_K
# llm-rv-xthead and test_kquants are only compiled (nothing here runs XTheadVector code): GCC 14
# has failed on some intrinsic sequences in one context and not in another
test-riscv-xthead: $(RVB)/xthead_kernels.dis $(RVB)/test_kernels-xthead $(RVB)/test_kquants-xthead llm-rv-xthead
	@echo "== XTheadVector kernels ($(XT_MARCH), $(GCC_XTHEAD))"
	@for f in $(XT_KERNELS); do \
	    awk -v f="<xk_$$f>:" '$$2 == f { p = 1; next } /^[0-9a-f]+ <[^.].*>:$$/ { p = 0 } p' $< > $(RVB)/fn.tmp; \
	    n=$$(grep -c 'th\.v' $(RVB)/fn.tmp); bad=$$(grep -cE 'vsetivli|,mf[248]|vmv\.x\.s' $(RVB)/fn.tmp); \
	    if [ $$n -gt 0 ] && [ $$bad -eq 0 ]; then echo "ok   $$f: $$n th.v* instructions"; \
	    else echo "FAIL $$f: $$n th.v* instructions, $$bad vsetivli/mf/vmv.x.s"; exit 1; fi; done

# $(call rv_refuses,CPU,PROGRAM,PATTERN): on qemu -cpu CPU the program must print a message
# matching PATTERN and exit with a status 1..127: never die by SIGILL (status 132)
rv_refuses = out=$$($(QEMU_RV) -cpu $(1) $(2) 2>&1 >/dev/null); rc=$$?; \
    if [ $$rc -ge 1 ] && [ $$rc -lt 128 ] && printf '%s' "$$out" | grep -q '$(3)'; then \
        echo "ok   $(2) on -cpu $(1): exit $$rc: $$out"; \
    else echo "FAIL $(2) on -cpu $(1): exit $$rc: $$out"; exit 1; fi

test-riscv-probe: $(RVB)/test_kernels-rvv $(RVB)/test_kernels-xthead
	@echo "== vector-unit probe"
	@$(call rv_refuses,rv64$(comma)v=false,$(RVB)/test_kernels-rvv,RVV 1.0.*does not offer)
	@$(call rv_refuses,rv64$(comma)v=false,$(RVB)/test_kernels-xthead,XTheadVector.*does not offer)
	@$(call rv_refuses,rv64$(comma)v=true$(comma)vlen=128$(comma)elen=64$(comma)vext_spec=v1.0,$(RVB)/test_kernels-xthead,vector unit is RVV 1.0)

# end to end: tests/run.sh (RV_E2E_TESTS) with llm-rv at every VLEN and with llm-rv-scalar; the
# tests compare with the reference outputs the native build must match, and llm-rv must refuse
# cleanly on a CPU without V
test-riscv-e2e: llm llm-rv llm-rv-scalar tools/mkmodel
	@mkdir -p $(RVB)
	@$(call rv_refuses,rv64$(comma)v=false,./llm-rv info,RVV 1.0)
	@for v in $(RV_VLENS); do echo "== tests/run.sh with llm-rv, VLEN=$$v"; \
	    LLM="$(call qemu_v,$$v) ./llm-rv" NATIVE_LLM=./llm SHARED=$(SHARED) PYTHON=$(PYTHON) TESTS="$(RV_E2E_TESTS)" KERNELS= \
	        sh tests/run.sh > $(RVB)/e2e.tmp 2>&1; rc=$$?; grep -E '^(FAIL|SKIP)' $(RVB)/e2e.tmp; tail -n 1 $(RVB)/e2e.tmp; \
	    [ $$rc -eq 0 ] || exit 1; done
	@echo "== tests/run.sh with llm-rv-scalar"; \
	    LLM="$(QEMU_RV) ./llm-rv-scalar" NATIVE_LLM=./llm SHARED=$(SHARED) PYTHON=$(PYTHON) TESTS="$(RV_E2E_TESTS)" KERNELS= \
	        sh tests/run.sh > $(RVB)/e2e.tmp 2>&1; rc=$$?; grep -E '^(FAIL|SKIP)' $(RVB)/e2e.tmp; tail -n 1 $(RVB)/e2e.tmp; \
	    [ $$rc -eq 0 ]

# one answer on every build: tests/test_ports.py with the native build as the reference and the
# RISC-V builds under qemu as PORTS (byte-identical --dump-logits / --dump-tokens, every tensor type)
RV_PORTS = scalar=$(QEMU_RV) ./llm-rv-scalar;$(foreach v,$(RV_VLENS),rvv$(v)=$(call qemu_v,$(v)) ./llm-rv;)
test-riscv-ports: llm llm-rv llm-rv-scalar tools/mkmodel
	@mkdir -p $(RVB)
	@echo "== tests/test_ports.py: native, rv64gc, RVV 1.0 at VLEN $(RV_VLENS)"
	@$(RV_ENV) LLM=./llm PORTS="$(RV_PORTS)" SHARED=$(SHARED) PYTHON=$(PYTHON) TESTS=ports KERNELS= \
	    sh tests/run.sh > $(RVB)/ports.tmp 2>&1; rc=$$?; grep -E '^(FAIL|SKIP)' $(RVB)/ports.tmp; tail -n 1 $(RVB)/ports.tmp; \
	    [ $$rc -eq 0 ]

# ---- sanitizers and fuzzing ----------------------------------------------------------------
#   make fuzz [FUZZ_SECONDS=60]  libFuzzer targets (tests/fuzz/fuzz_*.c, clang, ASan + UBSan), each run
#                                FUZZ_SECONDS from its corpus in build/fuzz/corpus (see tests/fuzz/README.md)
#   make test-asan               the whole suite with build/llm-asan (ASan + UBSan, leak checks)
#   make test-tsan               the multi-thread checks (TSAN_TESTS: -t 1/2/3/7 runs, the pool suite) with build/llm-tsan
CLANG        ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= gguf llama2c tokenizer chat http json
FUZZ_CFLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
SAN_CFLAGS   := -g -O1 -Wall -Wextra -Wno-unused-parameter -std=gnu11
SAN_ENV      := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:abort_on_error=1
TSAN_TESTS   ?= stories threads pool

.PHONY: fuzz fuzz-build test-asan test-tsan

build/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h tests/fuzz/fuzz_vocab.h $(SRC)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) $(FP) -o $@ $< $(LDLIBS)

# the server's parsers, each compiled on its own
build/fuzz_http: tests/fuzz/fuzz_http.c tools/http.c tools/http.h
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) $(FP) -o $@ $< $(LDLIBS)
build/fuzz_json: tests/fuzz/fuzz_json.c tools/json.c tools/json.h
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) $(FP) -o $@ $< $(LDLIBS)

fuzz-build: $(FUZZ_TARGETS:%=build/fuzz_%)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) SHARED=$(SHARED) PYTHON=$(PYTHON) sh tests/fuzz/fuzz.sh $(FUZZ_TARGETS)

build/llm-asan: $(SRC)
	@mkdir -p $(@D)
	$(CLANG) $(SAN_CFLAGS) $(FP) -fsanitize=address,undefined -fno-sanitize-recover=all -o $@ llm.c $(LDLIBS)
build/test_kernels-asan: tests/test_kernels.c tests/check.h $(SRC)
	@mkdir -p $(@D)
	$(CLANG) $(SAN_CFLAGS) $(FP) -fsanitize=address,undefined -fno-sanitize-recover=all -I. -o $@ tests/test_kernels.c $(LDLIBS)
build/llm-server-asan: $(SERVER_SRC) $(SRC)
	@mkdir -p $(@D)
	$(CLANG) $(SAN_CFLAGS) $(FP) -fsanitize=address,undefined -fno-sanitize-recover=all -DLLM_NO_MAIN -c -o build/llm-asan.o llm.c
	$(CLANG) $(SAN_CFLAGS) $(FP) -fsanitize=address,undefined -fno-sanitize-recover=all -I. -o $@ tools/server.c tools/http.c \
	    tools/json.c build/llm-asan.o $(LDLIBS)
test-asan: build/llm-asan build/llm-server-asan build/test_kernels-asan tests/test_kquants tests/test_unit tools/mkmodel
	$(SAN_ENV) SHARED=$(SHARED) PYTHON=$(PYTHON) LLM=build/llm-asan LLM_SERVER=build/llm-server-asan KERNELS=build/test_kernels-asan \
	    sh tests/run.sh

build/llm-tsan: $(SRC)
	@mkdir -p $(@D)
	$(CLANG) $(SAN_CFLAGS) $(FP) -fsanitize=thread -o $@ llm.c $(LDLIBS)
build/test_unit-tsan: $(UNIT_SRC) $(SRC)
	@mkdir -p $(@D)
	$(CLANG) $(SAN_CFLAGS) $(FP) -fsanitize=thread -o $@ tests/test_unit.c $(LDLIBS)
test-tsan: build/llm-tsan build/test_unit-tsan tools/mkmodel
	TSAN_OPTIONS=halt_on_error=1:abort_on_error=1 SHARED=$(SHARED) PYTHON=$(PYTHON) LLM=build/llm-tsan UNIT=build/test_unit-tsan \
	    TESTS="$(TSAN_TESTS)" sh tests/run.sh

clean:
	rm -f llm llm-server tests/test_api tests/test_kernels tests/test_kquants tests/test_unit tools/mkmodel
	rm -rf build
	rm -f llm-rv llm-rv-scalar llm-rv-xthead
