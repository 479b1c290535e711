#!/bin/sh
# Executed guest instructions per prompt token and per generated token, counted by qemu with
# the rvcount plugin, for the RVV 1.0 build at VLEN 128 and 256 and for the scalar build,
# on random Q4_0, Q8_0, Q4_K, Q5_K and Q6_K models of dim 512 (tools/mkmodel; FFN 1408, and 1536 for
# the K-quants, whose rows must be a multiple of 256). Single-threaded, so the counts repeat
# exactly. Run by `make bench-riscv`; prints a markdown table.
#   per prompt token    = (I(96-token prompt) - I(32-token prompt)) / 64     (batched prefill)
#   per generated token = (I(32-token prompt, 32 generated) - I(32-token prompt)) / 32
set -eu
OUT=${OUT:-build/rvbench}
PLUGIN=${RVCOUNT:-/opt/riscv-tools/lib/librvcount.so}
QEMU=${QEMU_RV:-qemu-riscv64}
mkdir -p "$OUT"
[ -f "$PLUGIN" ] || { echo "bench-riscv: $PLUGIN not found (run ../shared/tools/setup-riscv.sh)" >&2; exit 1; }

letters() {  # letters N: "a b c ..." = N tokens of the synthetic vocabulary
    i=0 s=""
    while [ $i -lt "$1" ]; do s="$s $(printf "\\$(printf '%03o' $((97 + i % 26)))")"; i=$((i + 1)); done
    printf '%s' "${s# }"
}
P1=$(letters 31) P2=$(letters 95)     # + BOS = 32 and 96 tokens

count() {  # count CPU BINARY MODEL PROMPT N: total guest instructions
    $QEMU -cpu "$1" -plugin "$PLUGIN,out=$OUT/rc.txt" -d plugin "$2" run -m "$3" -p "$4" -n "$5" -t 1 --temp 0 \
        >/dev/null 2>&1
    sed -n 's/^rvcount: total *\([0-9]*\).*/\1/p' "$OUT/rc.txt"
}

echo "| model | build | instructions / prompt token | instructions / generated token |"
echo "| --- | --- | ---: | ---: |"
for type in Q4_0 Q8_0 Q4_K Q5_K Q6_K; do
    model=$OUT/dim512-$type.gguf
    case $type in *_K) ffn=1536 ;; *) ffn=1408 ;; esac
    [ -f "$model" ] || tools/mkmodel "$model" --type $type --dim 512 --layers 4 --heads 8 --kv-heads 4 --ffn $ffn \
        --vocab 1000 --ctx 256
    for build in "rvv VLEN=128:rv64,v=true,vlen=128,elen=64,vext_spec=v1.0:./llm-rv" \
                 "rvv VLEN=256:rv64,v=true,vlen=256,elen=64,vext_spec=v1.0:./llm-rv" \
                 "scalar rv64gc:rv64:./llm-rv-scalar"; do
        name=${build%%:*} rest=${build#*:}
        cpu=${rest%%:*} bin=${rest#*:}
        i0=$(count "$cpu" "$bin" "$model" "$P1" 0)
        i1=$(count "$cpu" "$bin" "$model" "$P2" 0)
        i2=$(count "$cpu" "$bin" "$model" "$P1" 32)
        echo "| dim512 $type | $name | $(( (i1 - i0) / 64 )) | $(( (i2 - i0) / 32 )) |"
    done
done
