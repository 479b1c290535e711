#!/bin/sh
# llm.c compiles unoptimized (-O0; make builds at -O3), with the kernels of this CPU
# (-march=native) and without vector extensions: intrinsics that need an immediate argument
# must get a constant even where nothing is inlined or unrolled, and the plain C build must
# stand alone.
# Only compiles (-c to /dev/null), with each C compiler found (cc, clang).
cd "$(dirname "$0")/.." || exit 2
for cc in cc clang; do
    command -v $cc >/dev/null 2>&1 || { echo "SKIP build.$cc: $cc not found"; continue; }
    for flags in "-O0 -march=native" "-O0"; do
        name="build.$cc$(echo " $flags" | tr ' =' '_-')"
        if out=$($cc $flags -std=gnu11 -ffp-contract=off -Wall -c -o /dev/null llm.c 2>&1); then
            echo "PASS $name"
        else
            echo "FAIL $name: $(printf '%s\n' "$out" | grep -m 2 error | tr '\n' ' ')"
        fi
    done
done
exit 0
