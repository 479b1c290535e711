#!/bin/sh
# NUMA placement checks: runs tests/numa_check (static builds) inside multi-node VMs.
#   NUMA_VM=../shared/tools/numa-vm.sh sh tests/numa.sh RISCV_BINARY X86_BINARY
# riscv64 (RVV 1.0): distribute on 2 nodes x 2 cpus and 4 nodes x 1 cpu, interleave on 4 x 1;
# x86_64: distribute 2 x 2, interleave 2 x 2. Each VM run takes 5-60 s under TCG.
rv=$1 x86=$2
: "${NUMA_VM:=../shared/tools/numa-vm.sh}"
if [ ! -x "$NUMA_VM" ] && [ ! -f "$NUMA_VM" ]; then
    echo "SKIP numa: $NUMA_VM not found (the NUMA VMs come with ../shared/tools/setup-riscv.sh)"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
passed=0 failed=0
run() {  # run LABEL NODES CPUS BINARY MODE
    label=$1; shift
    out=$(bash "$NUMA_VM" -n "$1" -c "$2" -m 256 "$3" "$4" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(PASS|FAIL|#)' | sed "s/^\(PASS\|FAIL\) /\1 $label./"
    p=$(printf '%s\n' "$out" | grep -c '^PASS'); f=$(printf '%s\n' "$out" | grep -c '^FAIL')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $label: VM or program failed with status $rc"; printf '%s\n' "$out" | tail -n 5; f=1
    fi
    passed=$((passed + p)); failed=$((failed + f))
}
run rv64-2x2 2 2 "$rv" distribute
run rv64-4x1 4 1 "$rv" distribute
run rv64-4x1 4 1 "$rv" interleave
run x86-2x2 2 2 "$x86" distribute
run x86-2x2 2 2 "$x86" interleave
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
