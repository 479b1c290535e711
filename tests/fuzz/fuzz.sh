#!/bin/sh
# Run libFuzzer targets one after another (what `make fuzz` runs after building them).
#
#   sh tests/fuzz/fuzz.sh [TARGET...]          (default: gguf llama2c tokenizer chat http json)
#
# Environment:
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_BUILD    directory holding the fuzz_TARGET binaries (default build)
#   FUZZ_WORK     scratch directory: corpus/TARGET, artifacts/TARGET, TARGET.log (default build/fuzz)
#   FUZZ_FLAGS    extra libFuzzer flags, e.g. "-jobs=1 -seed=1"
#   SHARED        team assets (default ../shared): extra seeds when present
#   PYTHON        Python 3 for tests/fuzz/make_seeds.py (default /usr/bin/python3, else python3)
#
# Each target starts from its corpus in FUZZ_WORK (kept between runs, so coverage accumulates),
# topped up with tests/fuzz/seeds/TARGET, K-quant models made by make_seeds.py --kquants and,
# when SHARED has them, seeds made from the team assets. One line per target: executions, coverage, corpus size, and the crash file if any.
# Exit status: non-zero if a target crashed (its input is under FUZZ_WORK/artifacts/TARGET/).
cd "$(dirname "$0")/../.." || exit 2

: "${FUZZ_SECONDS:=60}"
: "${FUZZ_BUILD:=build}"
: "${FUZZ_WORK:=build/fuzz}"
: "${SHARED:=../shared}"
if [ -z "${PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
export SHARED

[ $# -gt 0 ] || set -- gguf llama2c tokenizer chat http json

mkdir -p "$FUZZ_WORK" || exit 2
if [ -d "$SHARED/assets" ]; then
    rm -rf "$FUZZ_WORK/shared-seeds"
    $PYTHON tests/fuzz/make_seeds.py --shared "$SHARED" "$FUZZ_WORK/shared-seeds" >/dev/null || exit 2
else
    echo "# SHARED=$SHARED not found: fuzzing from tests/fuzz/seeds only (the tokenizer target uses its built-in vocabularies)"
fi

# K-quant models (dim 256: 30-60 KB each, not committed)
$PYTHON tests/fuzz/make_seeds.py --kquants "$FUZZ_WORK/kquant-seeds" >/dev/null || exit 2

status=0
for t in "$@"; do
    bin="$FUZZ_BUILD/fuzz_$t"
    if [ ! -x "$bin" ]; then echo "FAIL fuzz_$t: $bin not built"; status=1; continue; fi
    case "$t" in
        tokenizer) max_len=4096 ;;
        chat)      max_len=16384 ;;
        http)      max_len=20000 ;;
        *)         max_len=65536 ;;
    esac
    corpus="$FUZZ_WORK/corpus/$t"
    art="$FUZZ_WORK/artifacts/$t"
    log="$FUZZ_WORK/$t.log"
    mkdir -p "$corpus" "$art" || exit 2
    cp tests/fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null
    [ -d "$FUZZ_WORK/shared-seeds/$t" ] && cp "$FUZZ_WORK/shared-seeds/$t"/* "$corpus"/ 2>/dev/null
    [ -d "$FUZZ_WORK/kquant-seeds/$t" ] && cp "$FUZZ_WORK/kquant-seeds/$t"/* "$corpus"/ 2>/dev/null
    before=$(ls "$art" | wc -l)
    echo "# fuzz_$t: ${FUZZ_SECONDS}s, corpus $corpus, log $log"
    # shellcheck disable=SC2086
    "$bin" -max_len="$max_len" -timeout=30 -rss_limit_mb=2560 -max_total_time="$FUZZ_SECONDS" \
        -print_final_stats=1 -artifact_prefix="$art/" $FUZZ_FLAGS "$corpus" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1/p' "$log" | tail -n 1)   # died early
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | sed 's/ft: //')
    files=$(ls "$corpus" | wc -l)
    crash=$(ls -t "$art" | head -n 1)
    if [ "$rc" -eq 0 ] && [ "$(ls "$art" | wc -l)" -eq "$before" ]; then
        echo "PASS fuzz_$t: ${execs:-?} executions, cov ${cov:-?}, ft ${ft:-?}, corpus $files files"
    else
        status=1
        echo "FAIL fuzz_$t: exit $rc after ${execs:-?} executions; crash input $art/$crash; report:"
        grep -E 'ERROR:|runtime error:|fuzz check failed|SUMMARY:|^    #[0-9] ' "$log" | head -n 20 | sed 's/^/#   /'
    fi
done
exit $status
