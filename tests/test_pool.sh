#!/bin/sh
# Thread pool: tests/test_pool (built by `make test`, includes llm.c; POOL names another build,
# e.g. the ThreadSanitizer one of `make test-tsan`) runs tasks after gaps around the spin limit,
# where workers and the caller fall asleep and must be woken: every thread runs every task once.
POOL=${POOL:-tests/test_pool}
if [ ! -x "$POOL" ]; then
    echo "SKIP pool: $POOL is not built (make tests/test_pool)"
    exit 0
fi
exec $POOL
