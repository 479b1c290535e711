#!/bin/sh
# make install into a temporary DESTDIR, then a ten-line program built against the installed
# llm.h and libllm.a only, run on the default model.
cd "$(dirname "$0")/.." || exit 2
CC=${CC:-cc}
[ -f models/kjv-q8_0.gguf ] || { echo "SKIP install: models/kjv-q8_0.gguf missing"; exit 0; }
command -v make >/dev/null 2>&1 || { echo "SKIP install: make not found"; exit 0; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llminstall.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
if ! make -s install DESTDIR="$tmp" PREFIX=/opt/llm >"$tmp/make.log" 2>&1; then
    echo "FAIL install.make: $(tail -n 3 "$tmp/make.log" | tr '\n' ' ')"; exit 1
fi
root=$tmp/opt/llm
for f in bin/llm bin/llm-server include/llm.h lib/libllm.a; do
    if [ -f "$root/$f" ]; then echo "PASS install.file.$f"; else echo "FAIL install.file.$f: not installed under DESTDIR/PREFIX"; fi
done
cat > "$tmp/hello.c" <<'C'
#include <llm.h>
#include <stdio.h>
int main(int argc, char **argv) {
    llm_status st; llm_model_params mp = llm_model_default_params(); mp.path = argv[1]; mp.n_threads = 1; mp.quiet = 1;
    llm_model *m = llm_model_open(&mp, &st); if (!m) { fprintf(stderr, "%s\n", st.msg); return 1; }
    llm_ctx *c = llm_ctx_new(m, 64, &st); int ids[64], n = llm_tokenize_prompt(m, "In the beginning", 16, 0, ids, 64);
    if (!c || llm_eval_prompt(c, ids, n, NULL, &st)) { fprintf(stderr, "%s\n", st.msg); return 1; }
    llm_sampler_params sp = llm_sampler_default_params(); sp.temp = 0; llm_sampler *s = llm_sampler_new(&sp);
    char piece[64]; for (int i = 0, prev = ids[n - 1], t; i < 8; i++, prev = t) { t = llm_sample(s, llm_logits(c), llm_n_vocab(m));
        llm_token_to_piece(m, prev, t, piece, sizeof piece); fputs(piece, stdout); llm_eval(c, &t, 1, n + i, 0, &st); }
    llm_sampler_free(s); llm_ctx_free(c); llm_model_free(m); return 0; }
C
if ! $CC -std=c11 -Wall -Werror -I"$root/include" -o "$tmp/hello" "$tmp/hello.c" "$root/lib/libllm.a" -lm -pthread 2>"$tmp/cc.log"; then
    echo "FAIL install.build: $(head -c 300 "$tmp/cc.log" | tr '\n' ' ')"; exit 1
fi
echo "PASS install.build (a ten-line program against the installed llm.h and libllm.a)"
got=$("$tmp/hello" models/kjv-q8_0.gguf 2>&1)
want=$("$root/bin/llm" run -m models/kjv-q8_0.gguf --temp 0 -n 8 -p "In the beginning" -t 1 2>/dev/null)
if [ "In the beginning$got" = "$want" ]; then echo "PASS install.run: $got"
else echo "FAIL install.run: the program printed '$got', llm run --temp 0 '$want'"; fi
