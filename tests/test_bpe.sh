#!/bin/sh
# Byte-level BPE tokenizer (Llama 3, Qwen2, DeepSeek-R1-Qwen vocabularies): tests/bpe_harness,
# built by `make test`, checks the llama.cpp vectors, the JS vectors, special tokens and
# decode(encode(s)) == s on random UTF-8 and invalid byte strings.
if [ ! -x tests/bpe_harness ]; then
    echo "SKIP bpe: tests/bpe_harness is not built (make tests/bpe_harness)"
    exit 0
fi
exec tests/bpe_harness "${SHARED:-../shared}"
