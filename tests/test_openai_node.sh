#!/bin/sh
# llm-server with the official openai npm client (tests/node/openai_test.cjs): completions and
# chat, streamed and not, and a load of 200 requests (some malformed, some cut off mid-body).
# Needs node and the package installed from tests/node/package-lock.json into $NODE_DIR (default
# build/node; .ci/run does it:  mkdir -p build/node && cp tests/node/package*.json build/node/ &&
# npm ci --prefix build/node). Without them the test is skipped, except in CI (CI=true), where it
# must run.
NODE_DIR=${NODE_DIR:-build/node}
SERVER=${LLM_SERVER:-./llm-server}
missing() {
    if [ "${CI:-}" = true ]; then echo "FAIL node.openai: $1 (CI must run this test)"; exit 1; fi
    echo "SKIP node.openai: $1"
    exit 0
}
command -v node >/dev/null 2>&1 || missing "node not found (apt-get install nodejs npm)"
[ -f "$NODE_DIR/node_modules/openai/package.json" ] || missing "the openai package is not installed in $NODE_DIR (mkdir -p $NODE_DIR && cp tests/node/package*.json $NODE_DIR/ && npm ci --prefix $NODE_DIR)"
[ -x "${SERVER##* }" ] || missing "$SERVER not built (make server)"
[ -f models/kjv-q8_0.gguf ] || missing "models/kjv-q8_0.gguf missing"
echo "# node $(node --version), openai $(node -p "require('./$NODE_DIR/node_modules/openai/package.json').version")"
LLM_SERVER=$SERVER NODE_PATH=$NODE_DIR/node_modules exec node tests/node/openai_test.cjs
