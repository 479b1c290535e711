#!/bin/sh
# Test runner for llm.c.
#
#   SHARED=../shared PYTHON=/usr/bin/python3 LLM=./llm sh tests/run.sh      (what `make test` runs)
#   TESTS="stories tokenizer" sh tests/run.sh                              (a subset)
#   LLM="qemu-riscv64 -cpu rv64,v=true,vlen=256,elen=64,vext_spec=v1.0 ./llm-rv" TESTS=stories sh tests/run.sh
#
# Runs every tests/test_*.py (with $PYTHON) and tests/test_*.sh (with sh) from the repository
# top (relative paths in LLM, SHARED, KERNELS are taken from there), and tests/test_kernels if it
# has been built. Each check prints one line "PASS name", "FAIL name: reason" or
# "SKIP name: reason"; the last line is "N passed, N failed, N skipped" and the exit status is
# non-zero iff something failed.
#
# Environment:
#   LLM      command running the binary, word-split (default ./llm)
#   SHARED   team assets (default ../shared); what needs them is skipped when absent
#   PYTHON   Python 3, standard library only (default /usr/bin/python3, else python3)
#   TESTS    filter: space- or comma-separated substrings of test file names (default: all);
#            "kernels" selects tests/test_kernels
#   KERNELS  command running the kernel unit tests (default tests/test_kernels when built;
#            e.g. "qemu-riscv64 -cpu ... build/test_kernels-rv" for a cross build)
#   TEST_TIMEOUT  seconds per command (default 120)

cd "$(dirname "$0")/.." || exit 2

: "${LLM:=./llm}"
: "${SHARED:=../shared}"
if [ -z "${PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
PYTHONDONTWRITEBYTECODE=1
export LLM SHARED PYTHON TEST_TIMEOUT PYTHONDONTWRITEBYTECODE

selected() {  # selected NAME: true if TESTS is empty or one of its items is a substring of NAME
    [ -z "${TESTS:-}" ] && return 0
    for item in $(printf '%s' "$TESTS" | tr ',' ' '); do
        case "$1" in *"$item"*) return 0 ;; esac
    done
    return 1
}

tmp=$(mktemp "${TMPDIR:-/tmp}/llmtest-run.XXXXXX") || exit 2
trap 'rm -f "$tmp"' EXIT INT TERM
passed=0 failed=0 skipped=0

count() {  # count OUTPUTFILE: add its PASS/FAIL/SKIP lines to the totals
    p=$(grep -c '^PASS ' "$1"); f=$(grep -c '^FAIL ' "$1"); s=$(grep -c '^SKIP ' "$1")
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

if [ ! -d "$SHARED/assets" ]; then
    echo "# SHARED=$SHARED not found: tests that need the team assets will be skipped"
fi

for t in tests/test_*.py tests/test_*.sh; do
    [ -f "$t" ] || continue
    selected "$(basename "$t")" || continue
    echo "# $t"
    start=$(date +%s)
    case "$t" in
        *.py) $PYTHON "$t" >"$tmp" 2>&1 ;;
        *)    sh "$t" >"$tmp" 2>&1 ;;
    esac
    rc=$?
    cat "$tmp"
    count "$tmp"
    # a test file that died (traceback, killed) is one failure even if it printed no FAIL line
    if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$tmp"; then
        echo "FAIL $t: exited with status $rc"
        failed=$((failed + 1))
    fi
    echo "# $t: $(($(date +%s) - start))s"
done

# C unit tests of the kernels: fold their "N passed, N failed" into the totals
if [ -z "${KERNELS:-}" ] && [ -x tests/test_kernels ]; then KERNELS=tests/test_kernels; fi
if [ -n "${KERNELS:-}" ] && selected test_kernels; then
    echo "# $KERNELS"
    $KERNELS >"$tmp" 2>&1
    rc=$?
    cat "$tmp"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$tmp" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
        f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
        passed=$((passed + p)); failed=$((failed + f))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            echo "FAIL test_kernels: exited with status $rc"
            failed=$((failed + 1))
        fi
    else
        echo "FAIL test_kernels: exit status $rc and no 'N passed, N failed' line"
        failed=$((failed + 1))
    fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
