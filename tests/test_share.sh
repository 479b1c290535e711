#!/bin/sh
# Matmul work sharing: tests/test_share, built by `make test` (includes llm.c): chunk_of cuts
# every row range exactly once on 16-row boundaries; one thread alone finishes an idle
# neighbour's rows on its node (bitwise the dots, also gate/up + swiglu) and leaves another
# node's rows alone.
if [ ! -x tests/test_share ]; then
    echo "SKIP share: tests/test_share is not built (make tests/test_share)"
    exit 0
fi
exec tests/test_share
