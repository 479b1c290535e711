#!/bin/sh
# K-quant kernels (Q2_K..Q6_K, Q8_K): tests/test_kquants, built by `make test`: hand-built
# blocks with known values, golden blocks, round trips, dots against a double reference,
# GEMM tiles bitwise equal to the dots, NaN/inf inputs.
if [ ! -x tests/test_kquants ]; then
    echo "SKIP kquants: tests/test_kquants is not built (make tests/test_kquants)"
    exit 0
fi
exec tests/test_kquants
