# llm.c - build, test and benchmark targets.
#   make            native ./llm (also: make native; on riscv64 for this CPU's vector unit, see below)
#   make run        build and generate from the default model
#   make test       the test suite, built and run in parallel (skips what needs ../shared when it is absent)
#   make server     ./llm-server, the OpenAI-compatible HTTP server (tools/server.c, on llm.h alone)
#   make install    llm, llm-server, llm.h and libllm.a into $(DESTDIR)$(PREFIX) (default /usr/local)

CC      ?= cc
# On a RISC-V board -march=native means nothing to the compilers: tools/riscv_native.sh picks the
# build for the CPU (RVV 1.0, XTheadVector with GCC >= 14, else rv64gc; from CPUINFO and a probe
# run) and says which. RISCV_BUILD=rvv|xthead|scalar forces one. Elsewhere: -O3 -march=native.
ARCH    ?= $(shell uname -m)
ifeq ($(ARCH)$(origin OPT),riscv64undefined)
CPUINFO ?= /proc/cpuinfo
OPT     := $(shell CC="$(CC)" PROBE_RUN="$(PROBE_RUN)" PROBE_LDFLAGS="$(PROBE_LDFLAGS)" \
                   sh tools/riscv_native.sh "$(CPUINFO)" $(RISCV_BUILD))
endif
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT) -g -Wall -Wextra -Wno-unused-parameter -std=gnu11
# The C test programs and tools/mkmodel: -O2, no debug information. What they check (every kernel
# bitwise equal to its reference, the internals of llm.c) holds at every optimization level, and
# they compile several times faster than at -O3 -g. The binaries we ship keep CFLAGS and are what
# the end-to-end tests run; the RISC-V suites build their test programs as the runtime is built.
TEST_CFLAGS ?= $(subst -O3,-O2,$(OPT)) -Wall -Wextra -Wno-unused-parameter -std=gnu11
# Every build computes the same bits (rvv_kernels.h, "the contract between ports"): no compiler
# may fuse a multiply and an add that the source does not fuse itself. Added to every rule.
FP      := -ffp-contract=off
LDLIBS  := -lm -pthread
SHARED  ?= ../shared
PYTHON  ?= /usr/bin/python3

SRC     := llm.c llm.h rvv_kernels.h x86_kernels.h unicode_data.h

.PHONY: all native run test clean test-numa bench bench-riscv unicode server install lib

all: llm

# the default build is already native (-O3 -march=native): `make native` is its other name
native: llm

llm: $(SRC)
	$(CC) $(CFLAGS) $(FP) $(LDFLAGS) -o $@ llm.c $(LDLIBS)

tools/mkmodel: tools/mkmodel.c $(SRC)
	$(CC) $(TEST_CFLAGS) $(FP) -o $@ tools/mkmodel.c $(LDLIBS)

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
tests/test_kernels: tests/test_kernels.c tests/check.h rvv_kernels.h x86_kernels.h
	$(CC) $(TEST_CFLAGS) $(FP) -I. -o $@ tests/test_kernels.c $(LDLIBS)

# unicode_data.h is generated (and committed): regenerate with `make unicode`
unicode:
	$(PYTHON) tools/gen_unicode.py -o unicode_data.h

tests/test_kquants: tests/test_kquants.c tests/check.h rvv_kernels.h x86_kernels.h
	$(CC) $(TEST_CFLAGS) $(FP) -I. -o $@ tests/test_kquants.c $(LDLIBS)

# the unit tests of llm.c's internals: one program, llm.c compiled once (suites tests/unit_*.c)
UNIT_SRC := tests/test_unit.c tests/unit_share.c tests/unit_pool.c tests/unit_bpe.c tests/check.h
tests/test_unit: $(UNIT_SRC) $(SRC)
	$(CC) $(TEST_CFLAGS) $(FP) -o $@ tests/test_unit.c $(LDLIBS)

tests/test_api: tests/test_api.c tests/check.h llm.h build/libllm.a
	$(CC) $(TEST_CFLAGS) $(FP) -I. -o $@ tests/test_api.c build/libllm.a $(LDLIBS)

# `make test` builds what the tests run in parallel (a sub-make with -j, unless make was given -j),
# the longest compile first; tests/run.sh then runs the tests JOBS at a time (default: all CPUs)
NPROC      := $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
TEST_BUILD := llm llm-server tests/test_kernels tools/mkmodel tests/test_unit tests/test_kquants tests/test_api
test:
	@$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC)) $(TEST_BUILD)
	SHARED=$(SHARED) PYTHON=$(PYTHON) LLM=./llm LLM_SERVER=./llm-server sh tests/run.sh

# ---- benchmarks ----------------------------------------------------------------------------
#   make bench   TinyLlama-1.1B-shaped random models (Q4_0, Q8_0, F16 and a Q4_K_M mix) and llm bench
#                pp64/pp512/tg32 at 1 thread and all threads (BENCH_THREADS); BENCH_TYPES takes any
#                type of tools/mkmodel --type (e.g. BENCH_TYPES="Q4_0 Q4_K Q6_K")
BENCH_DIR     ?= build/bench
BENCH_TYPES   ?= Q4_0 Q8_0 F16 Q4_K_M
BENCH_THREADS ?= 1,$(shell nproc)
BENCH_ARGS    ?= -p 64,512 -n 32 -r 3
TINYLLAMA     := --dim 2048 --layers 22 --heads 32 --kv-heads 4 --ffn 5632 --vocab 32000 --ctx 2048
$(BENCH_DIR)/tinyllama-%.gguf: | tools/mkmodel
	@mkdir -p $(@D)
	tools/mkmodel $@ $(TINYLLAMA) --type $*
bench: llm tools/mkmodel $(foreach t,$(BENCH_TYPES),$(BENCH_DIR)/tinyllama-$(t).gguf)
	@for t in $(BENCH_TYPES); do ./llm bench -m $(BENCH_DIR)/tinyllama-$$t.gguf -t $(BENCH_THREADS) $(BENCH_ARGS); done

#   make bench-riscv   guest instructions per prompt / generated token under qemu (rvcount plugin):
#                      RVV 1.0 at VLEN 128 and 256, the scalar build and XTheadVector on a C920,
#                      dim-512 models (Q4_0, Q8_0, K-quants, F16)
bench-riscv: llm-rv llm-rv-scalar llm-rv-xthead tools/mkmodel
	QEMU_RV=$(QEMU_RV) RVCOUNT=$(RISCV_TOOLS)/lib/librvcount.so \
	    QEMU_XT=$(QEMU_XT_COUNT) RVCOUNT_XT=$(RISCV_TOOLS)/lib/librvcount-xthead.so sh tools/bench_riscv.sh

# ---- NUMA placement in multi-node VMs (needs ../shared/tools/setup-riscv.sh) ----------------
#   make test-numa   tests/numa_check (static) in 2x2 and 4x1 node x cpu VMs: riscv64 RVV and x86_64
NUMA_VM ?= $(SHARED)/tools/numa-vm.sh
build/numa_check-x86: tests/numa_check.c tests/check.h tools/mkmodel.c $(SRC)
	@mkdir -p $(@D)
	$(CC) -O2 $(FP) -static -o $@ tests/numa_check.c $(LDLIBS)
build/numa_check-rv: tests/numa_check.c tests/check.h tools/mkmodel.c $(SRC)
	@mkdir -p $(@D)
	$(CC_RV) $(RV_CFLAGS) $(FP) -march=$(RV_MARCH) $(RV_LDFLAGS) -o $@ tests/numa_check.c $(LDLIBS)
test-numa: build/numa_check-x86 build/numa_check-rv
	NUMA_VM=$(NUMA_VM) sh tests/numa.sh build/numa_check-rv build/numa_check-x86

# ---- RISC-V (cross builds, qemu tests) -----------------------------------------------------
#   make riscv          llm-rv          RVV 1.0, any VLEN >= 128 (clang, static)
#   make riscv-scalar   llm-rv-scalar   rv64gc: any RISC-V Linux, no vector unit needed
#   make riscv-xthead   llm-rv-xthead   XTheadVector = RVV 0.7.1 of the SG2042's C920 (gcc-14, static)
#   make test-riscv     tests/test_kernels and test_kquants under qemu-user at VLEN 128..1024 (RVV 1.0,
#                       also with Zvfhmin) and rv64gc, and under T-Head's qemu as a C920 (XTheadVector);
#                       the XTheadVector disassembly check (tests/xthead_check.py); the vector-unit probe
#                       (a message and exit 1 on a CPU without the build's vector unit, never SIGILL);
#                       tests/run.sh end to end with llm-rv at every VLEN, llm-rv-scalar (RV_E2E_TESTS)
#                       and llm-rv-xthead on a C920 (XT_E2E_TESTS); tests/test_ports.py (every build's
#                       logits and tokens byte-identical to the native build's); make's choice of
#                       build on riscv64 (tests/riscv_native.sh). 16 to 18 minutes on 2 shared cores.
# Tools: bash ../shared/tools/setup-riscv.sh (see ../shared/tools/README.md). Its bin directory
# goes first on PATH for these rules only.
# -fno-vectorize -fno-slp-vectorize: the kernels are explicit intrinsics; left to itself clang
# turns float->int casts into vfcvt.rtz/vfncvt.rtz, which abort qemu 7.2 (decode_save_opc
# assertion), and the binary we test should be the binary we ship. Same idea for gcc-14:
# -fno-tree-vectorize keeps th.v* code to the kernels. -fno-schedule-insns: GCC 14's first
# scheduling pass moves the loads of the larger XTheadVector kernels ahead, runs out of vector
# registers and spills, and its XTheadVector spill code is wrong (rvv_kernels.h, tests/xthead_check.py).
RISCV_TOOLS ?= /opt/riscv-tools
# every recipe finds the tools setup-riscv.sh installs there (qemu-xthead, gcc-14, th-objdump)
export PATH := $(RISCV_TOOLS)/bin:$(PATH)
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
XT_CFLAGS   ?= -O3 -fno-tree-vectorize -fno-schedule-insns -Wall -Wextra -Wno-unused-parameter -std=gnu11
XT_OBJDUMP  ?= th-objdump
QEMU_RV     ?= qemu-riscv64
RV_VLENS    ?= 128 256 512 1024
# the tests/run.sh tests of the RISC-V builds (parts of test names; `test_quant.` leaves out the
# native test_kquants, whose RISC-V builds test-riscv-kernels runs)
RV_E2E_TESTS ?= stories test_quant. kquant_models threads native_match
XT_E2E_TESTS ?= $(RV_E2E_TESTS)
QEMU_XT     ?= qemu-xthead
QEMU_XT_COUNT ?= qemu-xthead-plugins
XT_CPU      ?= c920
RVB         := build/rv
comma       := ,
qemu_v       = $(QEMU_RV) -cpu rv64,v=true,vlen=$(1),elen=64,vext_spec=v1.0
qemu_xt      = $(QEMU_XT) -cpu $(XT_CPU)

.PHONY: riscv riscv-scalar riscv-xthead test-riscv test-riscv-kernels test-riscv-xthead test-riscv-probe test-riscv-e2e \
        test-riscv-ports test-riscv-native

riscv: llm-rv
riscv-scalar: llm-rv-scalar
riscv-xthead: llm-rv-xthead

llm-rv: $(SRC)
	$(CC_RV) $(RV_CFLAGS) $(FP) -march=$(RV_MARCH) $(RV_LDFLAGS) -o $@ llm.c $(LDLIBS)
llm-rv-scalar: $(SRC)
	$(CC_RV) $(RV_CFLAGS) $(FP) -march=rv64gc $(RV_LDFLAGS) -o $@ llm.c $(LDLIBS)
llm-rv-xthead: $(SRC)
	$(GCC_XTHEAD) $(XT_CFLAGS) $(FP) -march=$(XT_MARCH) -static -o $@ llm.c $(LDLIBS)

# the self-contained kernel tests (test_kernels, test_kquants) for each RISC-V build variant
$(RVB)/test_%-rvv: tests/test_%.c tests/check.h rvv_kernels.h x86_kernels.h
	@mkdir -p $(@D)
	$(CC_RV) $(RV_CFLAGS) $(FP) -march=$(RV_MARCH) -I. $(RV_LDFLAGS) -o $@ $< $(LDLIBS)
$(RVB)/test_%-zvfhmin: tests/test_%.c tests/check.h rvv_kernels.h x86_kernels.h
	@mkdir -p $(@D)
	$(CC_RV) $(RV_CFLAGS) $(FP) -march=$(RV_MARCH)_zvfhmin -I. $(RV_LDFLAGS) -o $@ $< $(LDLIBS)
$(RVB)/test_%-scalar: tests/test_%.c tests/check.h rvv_kernels.h x86_kernels.h
	@mkdir -p $(@D)
	$(CC_RV) $(RV_CFLAGS) $(FP) -march=rv64gc -I. $(RV_LDFLAGS) -o $@ $< $(LDLIBS)
$(RVB)/test_%-xthead: tests/test_%.c tests/check.h rvv_kernels.h x86_kernels.h
	@mkdir -p $(@D)
	$(GCC_XTHEAD) $(XT_CFLAGS) $(FP) -march=$(XT_MARCH) -I. -static -o $@ $< $(LDLIBS)
$(RVB)/xthead_kernels.dis: tests/xthead_kernels.c rvv_kernels.h
	@mkdir -p $(@D)
	$(GCC_XTHEAD) $(XT_CFLAGS) $(FP) -march=$(XT_MARCH) -I. -c -o $(RVB)/xthead_kernels.o tests/xthead_kernels.c
	$(XT_OBJDUMP) -d $(RVB)/xthead_kernels.o > $@

test-riscv: test-riscv-kernels test-riscv-xthead test-riscv-probe test-riscv-e2e test-riscv-ports test-riscv-native

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

# the XTheadVector build, run on an emulated C920 (T-Head's qemu): its disassembly checked
# (tests/xthead_check.py: register groups against the vtype in force, XTheadVector only; no spill
# code in llm-rv-xthead), every kernel in XT_KERNELS vector code (tests/xthead_kernels.c), then
# test_kernels and test_kquants
XT_KERNELS := dot_q8_0_q8_0 dot_q4_0_q8_0 gemm_q8_0_q8_0 gemm_q4_0_q8_0 gemm_q8_0_packed gemm_q4_0_packed gemm_q4_K_packed gemm_q5_K_packed gemm_q6_K_packed \
              quantize_row_q8_0 quantize_row_q8_K \
              dot_q4_K_q8_K dot_q5_K_q8_K dot_q6_K_q8_K tile4_q4_K_q8_K tile4_q5_K_q8_K tile4_q6_K_q8_K \
              dot_f32_f32 dot_f16_f32 dot_bf16_f32 gemm_f32_f32 gemm_f16_f32 gemm_bf16_f32 \
              gemm_f32_packed gemm_f16_packed gemm_bf16_packed \
              rmsnorm softmax swiglu rope_adjacent axpy scale wsum argmax
$(RVB)/%-xthead.dis: $(RVB)/%-xthead
	$(XT_OBJDUMP) -d $< > $@
$(RVB)/llm-rv-xthead.dis: llm-rv-xthead
	@mkdir -p $(@D)
	$(XT_OBJDUMP) -d llm-rv-xthead > $@
test-riscv-xthead: $(RVB)/xthead_kernels.dis $(RVB)/llm-rv-xthead.dis $(RVB)/test_kernels-xthead.dis \
                   $(RVB)/test_kquants-xthead.dis
	@echo "== XTheadVector disassembly ($(XT_MARCH), $(GCC_XTHEAD)): tests/xthead_check.py"
	@$(PYTHON) tests/xthead_check.py --selftest > $(RVB)/log.tmp; rc=$$?; grep -v '^PASS ' $(RVB)/log.tmp; \
	    [ $$rc -eq 0 ] && echo "ok   checker self-test: $$(grep -c '^PASS ' $(RVB)/log.tmp) examples flagged or passed as they must"
	@$(PYTHON) tests/xthead_check.py --no-spills $(RVB)/llm-rv-xthead.dis
	@$(PYTHON) tests/xthead_check.py $(RVB)/test_kernels-xthead.dis $(RVB)/test_kquants-xthead.dis
	@for f in $(XT_KERNELS); do \
	    awk -v f="<xt_$$f>:" -v g="<rvv_$$f>:" '$$2 == f || $$2 == g { p = 1; next } /^[0-9a-f]+ <[^.].*>:$$/ { p = 0 } p' \
	        $(RVB)/xthead_kernels.dis > $(RVB)/fn.tmp; \
	    n=$$(grep -c 'th\.v' $(RVB)/fn.tmp); \
	    if [ $$n -gt 0 ]; then echo "ok   $$f: $$n th.v* instructions"; else echo "FAIL $$f: no vector code"; exit 1; fi; done
	@$(call rv_run,test_kernels XTheadVector ($(QEMU_XT) -cpu $(XT_CPU)),$(qemu_xt) $(RVB)/test_kernels-xthead)
	@$(call rv_run,test_kquants XTheadVector ($(QEMU_XT) -cpu $(XT_CPU)),$(qemu_xt) $(RVB)/test_kquants-xthead)

# $(call rv_refuses,CPU,PROGRAM,PATTERN[,QEMU]): on qemu (QEMU_RV, or QEMU) -cpu CPU the program must
# print a message matching PATTERN and exit with a status 1..127: never die by SIGILL (status 132)
rv_refuses = out=$$($(or $(4),$(QEMU_RV)) -cpu $(1) $(2) 2>&1 >/dev/null); rc=$$?; \
    if [ $$rc -ge 1 ] && [ $$rc -lt 128 ] && printf '%s' "$$out" | grep -q '$(3)'; then \
        echo "ok   $(2) on $(or $(4),$(QEMU_RV)) -cpu $(1): exit $$rc: $$out"; \
    else echo "FAIL $(2) on $(or $(4),$(QEMU_RV)) -cpu $(1): exit $$rc: $$out"; exit 1; fi

# T-Head's qemu: c906fd and c910 are XuanTie cores without a vector unit, c908v has RVV 1.0,
# c920 (the SG2042's core) XTheadVector
test-riscv-probe: $(RVB)/test_kernels-rvv $(RVB)/test_kernels-xthead llm-rv llm-rv-xthead
	@echo "== vector-unit probe"
	@$(call rv_refuses,rv64$(comma)v=false,$(RVB)/test_kernels-rvv,RVV 1.0.*does not offer)
	@$(call rv_refuses,rv64$(comma)v=false,$(RVB)/test_kernels-xthead,XTheadVector.*does not offer)
	@$(call rv_refuses,rv64$(comma)v=true$(comma)vlen=128$(comma)elen=64$(comma)vext_spec=v1.0,$(RVB)/test_kernels-xthead,vector unit is RVV 1.0)
	@$(call rv_refuses,c906fd,$(RVB)/test_kernels-xthead,XTheadVector.*does not offer,$(QEMU_XT))
	@$(call rv_refuses,c910,$(RVB)/test_kernels-xthead,XTheadVector.*does not offer,$(QEMU_XT))
	@$(call rv_refuses,c906fd,./llm-rv-xthead info,XTheadVector.*does not offer,$(QEMU_XT))
	@$(call rv_refuses,c910,./llm-rv-xthead info,XTheadVector.*does not offer,$(QEMU_XT))
	@$(call rv_refuses,c908v,./llm-rv-xthead info,vector unit is RVV 1.0,$(QEMU_XT))
	@$(call rv_refuses,c920,./llm-rv info,not RVV 1.0,$(QEMU_XT))

# end to end: tests/run.sh (RV_E2E_TESTS) with llm-rv at every VLEN and with llm-rv-scalar, and
# (XT_E2E_TESTS) with llm-rv-xthead on a C920; the tests compare with the reference outputs the
# native build must match (NATIVE_LLM), and llm-rv must refuse cleanly on a CPU without V
test-riscv-e2e: llm llm-rv llm-rv-scalar llm-rv-xthead tools/mkmodel
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
	@echo "== tests/run.sh with llm-rv-xthead on $(QEMU_XT) -cpu $(XT_CPU)"; \
	    LLM="$(qemu_xt) ./llm-rv-xthead" NATIVE_LLM=./llm SHARED=$(SHARED) PYTHON=$(PYTHON) TESTS="$(XT_E2E_TESTS)" KERNELS= \
	        sh tests/run.sh > $(RVB)/e2e.tmp 2>&1; rc=$$?; grep -E '^(FAIL|SKIP)' $(RVB)/e2e.tmp; tail -n 1 $(RVB)/e2e.tmp; \
	    [ $$rc -eq 0 ]

# `make` on a RISC-V board (tools/riscv_native.sh), tried with the cross compilers standing in for
# the board's and cpuinfo files of boards (tests/fixtures/cpuinfo)
test-riscv-native: llm
	@echo "== the native build on riscv64: tests/riscv_native.sh"
	@QEMU_RV=$(QEMU_RV) QEMU_XT=$(QEMU_XT) GCC_XTHEAD=$(GCC_XTHEAD) CC_RV=$(CC_RV) SHARED=$(SHARED) \
	    sh tests/riscv_native.sh

# one answer on every build: tests/test_ports.py with the native build as the reference and the
# RISC-V builds under qemu as PORTS (byte-identical --dump-logits / --dump-tokens, every tensor type)
RV_PORTS = scalar=$(QEMU_RV) ./llm-rv-scalar;$(foreach v,$(RV_VLENS),rvv$(v)=$(call qemu_v,$(v)) ./llm-rv;)xthead=$(qemu_xt) ./llm-rv-xthead
test-riscv-ports: llm llm-rv llm-rv-scalar llm-rv-xthead tools/mkmodel
	@mkdir -p $(RVB)
	@echo "== tests/test_ports.py: native, rv64gc, RVV 1.0 at VLEN $(RV_VLENS), XTheadVector on $(QEMU_XT) -cpu $(XT_CPU)"
	@LLM=./llm PORTS="$(RV_PORTS)" SHARED=$(SHARED) PYTHON=$(PYTHON) TESTS=ports KERNELS= \
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
