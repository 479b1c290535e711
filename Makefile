# llm.c - build, test and benchmark targets.
#   make            native ./llm
#   make run        build and generate from the default model
#   make test       the test suite (skips what needs ../shared when it is absent)

CC      ?= cc
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT) -g -Wall -Wextra -Wno-unused-parameter -std=gnu11
LDLIBS  := -lm -pthread
SHARED  ?= ../shared
PYTHON  ?= /usr/bin/python3

SRC     := llm.c llm.h rvv_kernels.h

.PHONY: all run test clean

all: llm

llm: $(SRC)
	$(CC) $(CFLAGS) -o $@ llm.c $(LDLIBS)

tools/mkmodel: tools/mkmodel.c $(SRC)
	$(CC) $(CFLAGS) -o $@ tools/mkmodel.c $(LDLIBS)

# ---- default model -------------------------------------------------------------------------
DEFAULT_MODEL  ?= models/kjv-q8_0.gguf
DEFAULT_PROMPT ?= In the beginning
run: llm
	@if [ -f $(DEFAULT_MODEL) ]; then ./llm run -m $(DEFAULT_MODEL) -p "$(DEFAULT_PROMPT)" -n 128; \
	else echo "no default model yet ($(DEFAULT_MODEL) missing)"; exit 1; fi

# ---- tests ---------------------------------------------------------------------------------
tests/test_kernels: tests/test_kernels.c rvv_kernels.h
	$(CC) $(CFLAGS) -I. -o $@ tests/test_kernels.c $(LDLIBS)

test: llm tests/test_kernels
	SHARED=$(SHARED) PYTHON=$(PYTHON) LLM=./llm sh tests/run.sh

# ---- RISC-V (cross builds, qemu tests) -----------------------------------------------------

clean:
	rm -f llm tests/test_kernels
	rm -rf build
