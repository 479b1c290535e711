#!/bin/sh
# Regression inputs found by fuzzing (tests/regress/, one line each in its README).
#
#   bad-*  malformed files: `info`, `run` and (GGUF) `quantize` must exit 1 or 2 with a message
#   ok-*   valid but hostile models (NaN weights): the same commands must succeed (exit 0;
#          quantize to Q8_0 and Q4_0)
# and never crash: no signal, no status >= 128, no timeout, no sanitizer report.
# Also: a GGUF with 100000 tensors must be read in well under REGRESS_TIMEOUT (the duplicate-name
# check must not be quadratic); it is written at run time by tests/fuzz/make_seeds.py.
#
# Environment (as in tests/run.sh): LLM (word-split), PYTHON; REGRESS_TIMEOUT seconds per
# command (default 30; needs timeout(1), without it commands run unbounded).
cd "$(dirname "$0")/.." || exit 2

: "${LLM:=./llm}"
: "${REGRESS_TIMEOUT:=30}"
if [ -z "${PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmregress.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=0

have_timeout=0
command -v timeout >/dev/null 2>&1 && have_timeout=1

bounded() {  # bounded CMD...: run with the per-command time limit when timeout(1) exists
    if [ "$have_timeout" -eq 1 ]; then timeout "$REGRESS_TIMEOUT" "$@"; else "$@"; fi
}

oneline() { tr '\n' ' ' <"$1" | cut -c1-300; }

# check NAME EXPECT CMD...   EXPECT: ok (exit 0) or err (exit 1 or 2 with a message on stderr)
check() {
    c_name=$1 c_expect=$2
    shift 2
    bounded "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    why=""
    if [ "$have_timeout" -eq 1 ] && [ "$rc" -eq 124 ]; then
        why="timed out after ${REGRESS_TIMEOUT}s"
    elif [ "$rc" -ge 128 ]; then
        why="crashed (status $rc)"
    elif grep -q -e 'runtime error:' -e 'Sanitizer' "$tmp/err"; then
        why="sanitizer report (status $rc)"
    elif [ "$c_expect" = ok ] && [ "$rc" -ne 0 ]; then
        why="exit $rc, expected 0"
    elif [ "$c_expect" = err ] && [ "$rc" -ne 1 ] && [ "$rc" -ne 2 ]; then
        why="exit $rc, expected 1 or 2"
    elif [ "$c_expect" = err ] && [ ! -s "$tmp/err" ]; then
        why="exit $rc without a message"
    fi
    if [ -z "$why" ]; then
        echo "PASS $c_name"
    else
        echo "FAIL $c_name: $why: $* -> $(oneline "$tmp/err")"
        failed=$((failed + 1))
    fi
}

n=0
for f in tests/regress/*; do
    [ -f "$f" ] || continue
    base=$(basename "$f")
    case "$base" in
        ok-*) expect=ok ;;
        bad-*) expect=err ;;
        *) continue ;;
    esac
    n=$((n + 1))
    name="regress.${base%.*}"
    # shellcheck disable=SC2086
    check "$name.info" "$expect" $LLM info -m "$f"
    # shellcheck disable=SC2086
    check "$name.run" "$expect" $LLM run -m "$f" -n 1 -t 2
    if [ "$expect" = ok ]; then      # sampling (temperature, top-k, top-p) over several tokens
        # shellcheck disable=SC2086
        check "$name.sample" ok $LLM run -m "$f" -n 8 -s 1 -p "ab c" -t 1
    fi
    case "$base" in
        *.gguf)
            for type in Q8_0 Q4_0; do
                # shellcheck disable=SC2086
                check "$name.quantize_$type" "$expect" $LLM quantize "$f" "$tmp/q.gguf" $type
                rm -f "$tmp/q.gguf" "$tmp/q.gguf.tmp"
                [ "$expect" = ok ] || break        # a bad file: one type is enough
            done ;;
    esac
done
[ "$n" -gt 0 ] || { echo "FAIL regress: no files in tests/regress"; failed=$((failed + 1)); }

# quadratic time: 100000 tensors (4 MB) take ~20 s per read with an O(n^2) duplicate check
if [ "$have_timeout" -eq 0 ]; then
    echo "SKIP regress.many_tensors: needs timeout(1)"
elif ! $PYTHON tests/fuzz/make_seeds.py --many-tensors 100000 "$tmp/many.gguf" >/dev/null 2>&1; then
    echo "SKIP regress.many_tensors: $PYTHON could not write the file"
else
    # shellcheck disable=SC2086
    check "regress.many_tensors.info" err $LLM info -m "$tmp/many.gguf"
fi

[ "$failed" -eq 0 ]
