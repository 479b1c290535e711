#!/bin/sh
# Executed guest instructions per prompt token and per generated token, counted by qemu with
# the rvcount plugin, for the RVV 1.0 build at VLEN 128, 256, 512 and 1024, the scalar build and the
# XTheadVector build on a C920 (T-Head's qemu), on random Q4_0, Q8_0, Q4_K, Q5_K, Q6_K and
# F16 models of dim 512 (tools/mkmodel; FFN 1408, and 1536 for the K-quants, whose rows must
# be a multiple of 256). Single-threaded, so the counts repeat exactly. Run by
# `make bench-riscv`; prints a markdown table, then the XTheadVector build against the others.
#   per prompt token    = (I(96-token prompt) - I(32-token prompt)) / 64     (batched prefill)
#   per generated token = (I(32-token prompt, 32 generated) - I(32-token prompt)) / 32
#   scalar share        = the scalar instructions' part of a generated token's (rvcount's class)
#   / VLEN 128          = an RVV 1.0 count over the same count at VLEN 128 (prompt, generated)
# Environment: QEMU_RV, RVCOUNT (plugin for qemu-riscv64), QEMU_XT (a qemu-xthead built with
# plugin support), RVCOUNT_XT (its plugin; QEMU 6 takes no plugin arguments and writes the
# report to the -D log), BENCH_TYPES, OUT, BENCH_BUILDS (the builds to count, separated by ';', each
# NAME:QEMU_CPU:BINARY, e.g. "clang-22 VLEN=128:rv64,v=true,vlen=128,elen=64,vext_spec=v1.0:./llm-rv-c22";
# the comparison with XTheadVector is printed only for the default builds).
set -eu
OUT=${OUT:-build/rvbench}
PLUGIN=${RVCOUNT:-/opt/riscv-tools/lib/librvcount.so}
PLUGIN_XT=${RVCOUNT_XT:-/opt/riscv-tools/lib/librvcount-xthead.so}
QEMU=${QEMU_RV:-qemu-riscv64}
QEMU_XT=${QEMU_XT:-qemu-xthead-plugins}
TYPES=${BENCH_TYPES:-Q4_0 Q8_0 Q4_K Q5_K Q6_K F16}
mkdir -p "$OUT"
for p in "$PLUGIN" "$PLUGIN_XT"; do
    [ -f "$p" ] || { echo "bench-riscv: $p not found (run ../shared/tools/setup-riscv.sh)" >&2; exit 1; }
done

letters() {  # letters N: "a b c ..." = N tokens of the synthetic vocabulary
    i=0 s=""
    while [ $i -lt "$1" ]; do s="$s $(printf "\\$(printf '%03o' $((97 + i % 26)))")"; i=$((i + 1)); done
    printf '%s' "${s# }"
}
P1=$(letters 31) P2=$(letters 95)     # + BOS = 32 and 96 tokens
DEFAULT_BUILDS="rvv VLEN=128:rv64,v=true,vlen=128,elen=64,vext_spec=v1.0:./llm-rv;\
rvv VLEN=256:rv64,v=true,vlen=256,elen=64,vext_spec=v1.0:./llm-rv;\
rvv VLEN=512:rv64,v=true,vlen=512,elen=64,vext_spec=v1.0:./llm-rv;\
rvv VLEN=1024:rv64,v=true,vlen=1024,elen=64,vext_spec=v1.0:./llm-rv;scalar rv64gc:rv64:./llm-rv-scalar;\
xtheadvector C920:c920:./llm-rv-xthead"

count() {  # count CPU BINARY MODEL PROMPT N: "TOTAL SCALAR" guest instructions (CPU c920: T-Head's qemu)
    rm -f "$OUT/rc.txt"
    if [ "$1" = c920 ]; then
        $QEMU_XT -cpu c920 -plugin "$PLUGIN_XT" -d plugin -D "$OUT/rc.txt" "$2" run -m "$3" -p "$4" -n "$5" -t 1 \
            --temp 0 >/dev/null 2>&1
    else
        $QEMU -cpu "$1" -plugin "$PLUGIN,out=$OUT/rc.txt" -d plugin "$2" run -m "$3" -p "$4" -n "$5" -t 1 --temp 0 \
            >/dev/null 2>&1
    fi
    n=$(sed -n 's/^rvcount: total *\([0-9]*\).*/\1/p' "$OUT/rc.txt")
    s=$(sed -n 's/^rvcount: scalar *\([0-9]*\).*/\1/p' "$OUT/rc.txt")
    [ -n "$n" ] && [ -n "$s" ] || { echo "bench-riscv: no count from $2 on $1 ($3)" >&2; exit 1; }
    echo "$n $s"
}

echo "| model | build | instructions / prompt token | instructions / generated token | scalar share | / VLEN 128 |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
: > "$OUT/table.txt"
for type in $TYPES; do
    model=$OUT/dim512-$type.gguf
    case $type in *_K) ffn=1536 ;; *) ffn=1408 ;; esac
    [ -f "$model" ] || tools/mkmodel "$model" --type $type --dim 512 --layers 4 --heads 8 --kv-heads 4 --ffn $ffn \
        --vocab 1000 --ctx 256
    IFS=';'
    for build in ${BENCH_BUILDS:-$DEFAULT_BUILDS}; do
        unset IFS
        name=${build%%:*} rest=${build#*:}
        cpu=${rest%%:*} bin=${rest#*:}
        set -- $(count "$cpu" "$bin" "$model" "$P1" 0) $(count "$cpu" "$bin" "$model" "$P2" 0) \
               $(count "$cpu" "$bin" "$model" "$P1" 32)
        [ $# -eq 6 ] || exit 1
        pp=$(( ($3 - $1) / 64 )) tg=$(( ($5 - $1) / 32 )) share=$(( 100 * ($6 - $2) / ($5 - $1) ))
        case $name in "rvv VLEN=128") pp128=$pp tg128=$tg ;; esac
        rel=
        case $name in "rvv VLEN="*) [ -n "${pp128:-}" ] && rel=$(awk -v a=$pp -v b=$pp128 -v c=$tg -v d=$tg128 \
                                           'BEGIN { printf "%.3f, %.3f", a / b, c / d }') ;; esac
        echo "| dim512 $type | $name | $pp | $tg | $share % | $rel |"
        echo "$type $cpu $pp $tg" >> "$OUT/table.txt"
    done
    unset IFS
done
[ -z "${BENCH_BUILDS:-}" ] || exit 0
echo
echo "| model | XTheadVector / RVV 1.0 VLEN 128 (prompt, generated) | scalar / XTheadVector (prompt, generated) |"
echo "| --- | ---: | ---: |"
awk '{ pp[$1 " " $2] = $3; tg[$1 " " $2] = $4; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
     END { for (i = 1; i <= n; i++) { t = order[i]; x = t " c920"; r = t " rv64,v=true,vlen=128,elen=64,vext_spec=v1.0"; s = t " rv64"
           printf "| dim512 %s | %.2fx, %.2fx | %.1fx, %.1fx |\n", t, pp[x] / pp[r], tg[x] / tg[r], pp[s] / pp[x], tg[s] / tg[x] } }' \
    "$OUT/table.txt"
