#!/bin/sh
# The compiler flags of the native build on a RISC-V board (the Makefile runs this when uname -m
# is riscv64; -march=native means nothing to RISC-V compilers). Prints the flags on stdout and
# which build it chose, and why, on stderr.
#
#   sh tools/riscv_native.sh CPUINFO [BUILD]       BUILD: rvv, xthead or scalar (default: choose)
#
# The choice, from CPUINFO (/proc/cpuinfo) and the compiler CC:
#   - "xtheadvector" among the ISA extensions (Linux >= 6.10 on T-Head C9xx v1): XTheadVector;
#   - a "v" in the ISA letters: RVV 1.0, unless the CPU's vector unit is XTheadVector after all
#     (vendor kernels for the SG2042 and TH1520 print "v" for it): tools/cpu_probe.c, built
#     for RVV 1.0 and then for XTheadVector, is run and says which one the CPU runs (the same
#     probe every vector build runs at startup); if it cannot run, mvendorid 0x5b7 (T-Head)
#     with marchid 0 (the C906/C910/C920 of the first generation) means XTheadVector;
#   - else rv64gc.
# A vector build needs a compiler for it: RVV 1.0 intrinsics (GCC >= 14, clang >= 17) for
# rvv, GCC >= 14 for xthead (clang has no XTheadVector); without one the build is rv64gc.
# Zvfhmin (fp16 conversions) is added when the CPU lists zvfhmin or zvfh and CC takes it.
# Environment: CC (default cc), PROBE_RUN (a command prefix to run the probe, e.g. an
# emulator: for tests), PROBE_LDFLAGS, BUILD_DIR (default build). The result is cached in
# BUILD_DIR/riscv-native.cache for the same inputs.
set -u
CPUINFO=${1:-/proc/cpuinfo}
FORCE=${2:-}
CC=${CC:-cc}
PROBE_RUN=${PROBE_RUN:-}
PROBE_LDFLAGS=${PROBE_LDFLAGS:-}
BUILD_DIR=${BUILD_DIR:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$BUILD_DIR"
cache=$BUILD_DIR/riscv-native.cache

key=$(printf '%s|%s|%s|%s|%s|%s' "$CC" "$FORCE" "$PROBE_RUN" "$PROBE_LDFLAGS" \
      "$(cat "$CPUINFO" 2>/dev/null | cksum)" "$(cksum < "$TOP/rvv_kernels.h")")
if [ -f "$cache" ] && [ "$(sed -n 1p "$cache")" = "$key" ]; then
    sed -n 3p "$cache" >&2
    sed -n 2p "$cache"
    exit 0
fi

field() {  # field NAME: the value of the first "NAME : value" line of CPUINFO
    sed -n "s/^$1[[:space:]]*:[[:space:]]*//p" "$CPUINFO" 2>/dev/null | head -n 1 | tr 'A-Z' 'a-z'
}
isa=$(field isa)
letters=$(printf '%s' "$isa" | sed 's/_.*//; s/^rv64//; s/^rv32//')
exts="_$(printf '%s' "$isa" | cut -s -d_ -f2-)_"

is_clang=0
$CC --version 2>/dev/null | grep -qi clang && is_clang=1
if [ $is_clang = 1 ]; then novec="-fno-vectorize -fno-slp-vectorize"; else novec="-fno-tree-vectorize"; fi
xt_flags="-O3 -march=rv64gc_xtheadvector -fno-tree-vectorize -fno-schedule-insns"

compiles() {  # compiles MARCH: CC builds a file with vector intrinsics for MARCH
    printf '#include <riscv_vector.h>\nint f(void) { return (int)__riscv_vsetvlmax_e8m1(); }\n' |
        $CC -march="$1" -x c -c -o /dev/null - >/dev/null 2>&1
}
probe() {  # probe MARCH: the CPU runs the vector code of tools/cpu_probe.c built for MARCH
    $CC -O2 -march="$1" $PROBE_LDFLAGS -I"$TOP" -o "$BUILD_DIR/cpu_probe" "$TOP/tools/cpu_probe.c" >/dev/null 2>&1 || return 2
    $PROBE_RUN "$BUILD_DIR/cpu_probe" >/dev/null 2>&1
}

build= why=
if [ -n "$FORCE" ]; then
    build=$FORCE why="asked for (RISCV_BUILD=$FORCE)"
elif case $exts in *_xtheadvector_*) true ;; *) false ;; esac; then
    build=xthead why="the CPU lists xtheadvector"
elif case $letters in *v*) true ;; *) false ;; esac; then
    build=rvv why="the CPU lists v" rc=2
    compiles rv64gcv && { probe rv64gcv; rc=$?; }
    if [ $rc = 0 ]; then
        why="$why and runs RVV 1.0 code (tools/cpu_probe.c)"
    elif [ $rc = 1 ] && ! compiles rv64gc_xtheadvector; then
        build=scalar why="the CPU lists v but runs no RVV 1.0 code (tools/cpu_probe.c), and $CC cannot build XTheadVector code (GCC >= 14 can)"
    elif [ $rc = 1 ] && probe rv64gc_xtheadvector; then
        build=xthead why="the CPU lists v, and its vector unit runs XTheadVector, not RVV 1.0 (tools/cpu_probe.c)"
    elif [ $rc = 1 ]; then
        build=scalar why="the CPU lists v but runs neither RVV 1.0 nor XTheadVector code (tools/cpu_probe.c)"
    elif [ "$(field mvendorid)" = 0x5b7 ] && [ "$(field marchid)" = 0x0 ]; then   # no probe could run
        build=xthead why="the CPU lists v; mvendorid 0x5b7 and marchid 0: a T-Head C9xx of the first generation"
    fi
else
    build=scalar why="the CPU lists no vector extension (isa: ${isa:-none found in $CPUINFO})"
fi

case $build in
rvv)
    march=rv64gcv
    case $exts in *_zvfhmin_*|*_zvfh_*) compiles rv64gcv_zvfhmin && march=rv64gcv_zvfhmin ;; esac
    if compiles $march; then
        flags="-O3 -march=$march $novec" what="RVV 1.0 ($march)"
    else
        build=scalar why="$why, but $CC has no RVV 1.0 intrinsics (GCC >= 14 or clang >= 17 have them)"
    fi ;;
xthead)
    if [ $is_clang = 0 ] && compiles rv64gc_xtheadvector; then
        flags=$xt_flags what="XTheadVector (rv64gc_xtheadvector)"
    else
        build=scalar why="$why, but $CC cannot build XTheadVector code (GCC >= 14 can; clang cannot)"
    fi ;;
scalar) ;;
*)  echo "riscv_native.sh: unknown build '$build' (rvv, xthead or scalar)" >&2; exit 2 ;;
esac
[ $build = scalar ] && flags="-O3 -march=rv64gc" what="rv64gc, no vector unit"
msg="llm.c: riscv64 build for $what: $why"
printf '%s\n%s\n%s\n' "$key" "$flags" "$msg" > "$cache"
echo "$msg" >&2
echo "$flags"
