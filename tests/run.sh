#!/bin/sh
# Test runner for llm.c.
#
#   SHARED=../shared PYTHON=/usr/bin/python3 LLM=./llm sh tests/run.sh      (what `make test` runs)
#   TESTS="stories tokenizer" sh tests/run.sh                              (a subset)
#   LLM="qemu-riscv64 -cpu rv64,v=true,vlen=256,elen=64,vext_spec=v1.0 ./llm-rv" TESTS=stories sh tests/run.sh
#
# The tests, run from the repository top (relative paths in LLM, SHARED, ... are taken from there):
#   every tests/test_*.py (with $PYTHON) and tests/test_*.sh (with sh);
#   the C test programs of the list in c_tests below (make test builds them; one not built is
#   skipped with a SKIP line).
# JOBS of them run at a time; each test's output is printed whole when it ends, between the
# lines "# NAME" and "# NAME: N s". Each check prints one line "PASS name", "FAIL name: reason" or
# "SKIP name: reason"; a test that exits non-zero without a FAIL line counts as one failure. The
# last line is "N passed, N failed, N skipped"; the exit status is non-zero iff something failed.
#
# Environment:
#   LLM      command running the binary, word-split (default ./llm)
#   SHARED   team assets (default ../shared); what needs them is skipped when absent
#   PYTHON   Python 3 (default /usr/bin/python3, else python3); tests that need numpy skip without it
#   TESTS    filter: space- or comma-separated substrings of the test names (default: all); the
#            names are the file names (test_stories.py) and those of c_tests (kernels, unit.pool)
#   JOBS     tests run at the same time (default: the number of online CPUs)
#   KERNELS, KQUANTS, UNIT, API   commands running the C test programs, word-split (defaults: the
#            builds of `make test`), e.g. a sanitizer build or "qemu-riscv64 -cpu ... build/rv/test_kernels-rvv"
#   MKMODEL  tools/mkmodel (writes the models that tests/test_api.c reads)
#   TEST_TIMEOUT  seconds per command of a Python test (default 120)

cd "$(dirname "$0")/.." || exit 2

: "${LLM:=./llm}"
: "${SHARED:=../shared}"
: "${MKMODEL:=tools/mkmodel}"
if [ -z "${PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
PYTHONDONTWRITEBYTECODE=1
export LLM SHARED PYTHON MKMODEL TEST_TIMEOUT PYTHONDONTWRITEBYTECODE

# The C test programs: NAME, the variable naming another build of the program, the default build,
# the arguments ($work: this run's scratch directory).
c_tests() {
    cat <<EOF
kernels     KERNELS  tests/test_kernels
kquants     KQUANTS  tests/test_kquants
unit.share  UNIT     tests/test_unit     share
unit.pool   UNIT     tests/test_unit     pool
unit.bpe    UNIT     tests/test_unit     bpe
api         API      tests/test_api      $work/chat.gguf models/kjv-q8_0.gguf
EOF
}

# ---- one test: sh tests/run.sh --one WORKDIR NAME (run by xargs, JOBS at a time) ----------------
if [ "${1:-}" = "--one" ]; then
    work=$2 name=$3
    start=$(date +%s)
    sh "$work/$name.cmd" >"$work/$name.out" 2>&1
    rc=$?
    {
        if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$work/$name.out"; then
            echo "FAIL $name: exited with status $rc"
        fi
    } >>"$work/$name.out"
    # print the whole output at once: one test at a time holds the lock (a directory)
    until mkdir "$work/lock" 2>/dev/null; do sleep 0.05; done
    echo "# $name"
    cat "$work/$name.out"
    echo "# $name: $(($(date +%s) - start)) s"
    rmdir "$work/lock"
    exit 0
fi

selected() {  # selected NAME: true if TESTS is empty or one of its items is a substring of NAME
    [ -z "${TESTS:-}" ] && return 0
    for item in $(printf '%s' "$TESTS" | tr ',' ' '); do
        case "$1" in *"$item"*) return 0 ;; esac
    done
    return 1
}

if [ -z "${JOBS:-}" ]; then
    JOBS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null || echo 1)
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/llmtest-run.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

if [ ! -d "$SHARED/assets" ]; then
    echo "# SHARED=$SHARED not found: tests that need the team assets will be skipped"
fi

# The jobs: NAME.cmd in $work for each selected test
for t in tests/test_*.py tests/test_*.sh; do
    [ -f "$t" ] || continue
    selected "$(basename "$t")" || continue
    case "$t" in *.py) echo "\$PYTHON $t" ;; *) echo "sh $t" ;; esac >"$work/$(basename "$t").cmd"
done
c_tests | while read -r name var default args; do
    selected "$name" || continue
    eval "cmd=\${$var:-}"
    if [ -n "$cmd" ]; then echo "$cmd $args"
    elif [ -x "$default" ]; then echo "$default $args"
    else echo "echo 'SKIP $name: $default is not built (make test builds it)'"
    fi >"$work/$name.cmd"
done
if [ -f "$work/api.cmd" ] && ! grep -q '^echo' "$work/api.cmd"; then    # test_api reads a chat model
    if [ ! -x "$MKMODEL" ]; then echo "echo 'SKIP api: $MKMODEL is not built (make test builds it)'" >"$work/api.cmd"
    elif ! "$MKMODEL" "$work/chat.gguf" --vocab 400 --seed 5 >"$work/mkmodel.log" 2>&1; then
        echo "echo 'FAIL api: $MKMODEL could not write the chat model'; cat '$work/mkmodel.log'; exit 1" >"$work/api.cmd"
    fi
fi
# longest first (SLOW, measured), so that the last ones to start are short
SLOW="test_ports.py test_kjv.py test_bench.py test_server.py unit.pool test_memory.py unit.bpe test_files.py test_arch.py"
names=""
for n in $SLOW; do [ -f "$work/$n.cmd" ] && names="$names $n"; done
for f in "$work"/*.cmd; do
    [ -f "$f" ] || continue
    n=$(basename "$f" .cmd)
    case " $SLOW " in *" $n "*) ;; *) names="$names $n" ;; esac
done
[ -n "$names" ] || { echo "no test matches TESTS=$TESTS"; exit 2; }

printf '%s\n' $names | xargs -P "$JOBS" -n 1 sh tests/run.sh --one "$work"

passed=0 failed=0 skipped=0
for n in $names; do
    p=$(grep -c '^PASS ' "$work/$n.out"); f=$(grep -c '^FAIL ' "$work/$n.out"); s=$(grep -c '^SKIP ' "$work/$n.out")
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
