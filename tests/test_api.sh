#!/bin/sh
# The chat API of llm.h (tests/test_api.c, built against llm.h and build/libllm.a by `make test`):
# stop strings, conversation rendering, prefix reuse of the KV cache.
API=${API:-tests/test_api}
MKMODEL=${MKMODEL:-tools/mkmodel}
for f in "$API" "$MKMODEL"; do
    [ -x "$f" ] || { echo "SKIP api: $f is not built (make test builds it)"; exit 0; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmapi.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
"$MKMODEL" "$tmp/chat.gguf" --vocab 400 --seed 5 >/dev/null || { echo "FAIL api: mkmodel failed"; exit 1; }
$API "$tmp/chat.gguf" models/kjv-q8_0.gguf
