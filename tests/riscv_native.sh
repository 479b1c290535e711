#!/bin/sh
# `make` on a RISC-V board, tried here: the Makefile run with ARCH=riscv64, a cross compiler as
# CC and a cpuinfo file of a board (tests/fixtures/cpuinfo: the fields Linux prints, shortened)
# must pick the right build (tools/riscv_native.sh) and say so; the RVV 1.0 and XTheadVector
# binaries it builds must run on an emulated CPU of that board: stories260K's greedy text equal
# to the native build's.
# The probe that tells RVV 1.0 from XTheadVector runs under the emulator (PROBE_RUN).
# Run by make test-riscv (needs ../shared/tools/setup-riscv.sh). One line per check.
#   QEMU_RV, QEMU_XT, GCC_XTHEAD, CC_RV, SHARED as in the Makefile.
cd "$(dirname "$0")/.." || exit 2
QEMU_RV=${QEMU_RV:-qemu-riscv64} QEMU_XT=${QEMU_XT:-qemu-xthead}
GCC_XTHEAD=${GCC_XTHEAD:-riscv64-linux-gnu-gcc-14} CC_RV=${CC_RV:-clang-19} GCC_RV=${GCC_RV:-riscv64-linux-gnu-gcc}
CLANG="$CC_RV --target=riscv64-linux-gnu -fuse-ld=lld"
FIX=tests/fixtures/cpuinfo
STORIES=${SHARED:-../shared}/assets/gguf/stories260K.gguf
RVV256="$QEMU_RV -cpu rv64,v=true,vlen=256,elen=64,vext_spec=v1.0"
C920="$QEMU_XT -cpu c920"
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmnative.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
cp llm.c llm.h rvv_kernels.h x86_kernels.h unicode_data.h Makefile "$tmp/" && mkdir -p "$tmp/tools" && cp tools/riscv_native.sh tools/cpu_probe.c "$tmp/tools/"

result() {  # result OK NAME DETAIL
    if [ "$1" = 1 ]; then echo "PASS riscv_native.$2: $3"; else echo "FAIL riscv_native.$2: $3"; failed=$((failed + 1)); fi
}

# choose NAME CPUINFO CC PROBE_RUN EXPECT [RISCV_BUILD]: the build the Makefile picks (make -n, from
# scratch) must be EXPECT (rvv, xthead, scalar) and the Makefile must say so
choose() {
    rm -rf "$tmp/build"
    cpuinfo=$(pwd)/$2
    out=$(cd "$tmp" && make -n -B ARCH=riscv64 CC="$3" CPUINFO="$cpuinfo" PROBE_RUN="$4" PROBE_LDFLAGS=-static \
          RISCV_BUILD="${6:-}" llm 2>&1)
    msg=$(printf '%s\n' "$out" | grep 'riscv64 build for')
    cmd=$(printf '%s\n' "$out" | grep -- ' -o llm llm.c')
    case $cmd in
        *rv64gc_xtheadvector*) got=xthead ;;
        *-march=rv64gcv*) got=rvv ;;
        *-march=rv64gc\ *) got=scalar ;;
        *) got="none ($out)" ;;
    esac
    [ "$got" = "$5" ] && [ -n "$msg" ]; result $(( $? == 0 )) "$1" "$got: $msg"
}

# build NAME CPUINFO CC PROBE_RUN EXPECT RUN: make llm for that board, then run it on RUN: the
# stories260K greedy text must equal the native ./llm's
build() {
    choose "$1" "$2" "$3" "$4" "$5"
    rm -f "$tmp/llm"
    (cd "$tmp" && make ARCH=riscv64 CC="$3" CPUINFO="$cpuinfo" PROBE_RUN="$4" PROBE_LDFLAGS=-static LDFLAGS=-static \
         llm >/dev/null 2>"$tmp/err") || { result 0 "$1.build" "make failed: $(tail -n 3 "$tmp/err")"; return; }
    if [ ! -f "$STORIES" ] || [ ! -x ./llm ]; then echo "SKIP riscv_native.$1.run: $STORIES or ./llm missing"; return; fi
    want=$(./llm run -m "$STORIES" -n 40 --temp 0 -t 1 2>/dev/null)
    got=$($6 "$tmp/llm" run -m "$STORIES" -n 40 --temp 0 -t 2 2>"$tmp/err")
    [ -n "$want" ] && [ "$got" = "$want" ]; result $(( $? == 0 )) "$1.run" \
        "$6: $( [ "$got" = "$want" ] && echo "stories260K text equal to the native build's" || echo "got '$got' ($(tail -n 1 "$tmp/err"))")"
}

build spacemit-k1.clang $FIX/spacemit-k1 "$CLANG" "$RVV256" rvv "$RVV256"
build sg2042.gcc14 $FIX/sg2042-vendor-kernel "$GCC_XTHEAD" "$C920" xthead "$C920"
choose sg2042.no-probe $FIX/sg2042-vendor-kernel "$GCC_XTHEAD" /nonexistent xthead
choose sg2042.xtheadvector-listed $FIX/sg2042-xtheadvector "$GCC_XTHEAD" /nonexistent xthead
choose sg2042.clang $FIX/sg2042-vendor-kernel "$CLANG" "$C920" scalar
choose jh7110.gcc12 $FIX/jh7110 "$GCC_RV" "" scalar
choose sg2042.vectors-off $FIX/sg2042-vectors-off "$GCC_XTHEAD" "$C920" scalar
choose spacemit-k1.gcc12 $FIX/spacemit-k1 "$GCC_RV" "$RVV256" scalar
choose spacemit-k1.forced-scalar $FIX/spacemit-k1 "$CLANG" "$RVV256" scalar scalar
out=$(cd "$tmp" && make -n -B ARCH=x86_64 llm 2>&1 | grep -- ' -o llm llm.c')
case $out in *"-O3 -march=native"*) ok=1 ;; *) ok=0 ;; esac
result $ok x86_64 "other architectures keep -O3 -march=native: $out"
exit $(( failed > 0 ))
