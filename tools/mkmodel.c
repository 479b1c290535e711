/* mkmodel - write a random-weight Llama model as GGUF, of any shape and tensor type.
 * For tests and benchmarks: the weights are random, so the text is gibberish, but the shapes,
 * types and file layout are exactly those of a real model.
 *
 *   make tools/mkmodel
 *   tools/mkmodel OUT.gguf [--dim N] [--layers N] [--heads N] [--kv-heads N] [--ffn N] [--ctx N]
 *                 [--vocab N | --vocab-from VOCAB.gguf] [--type F32|F16|BF16|Q8_0|Q4_0|Q2_K..Q6_K] [--tied] [--seed S]
 *                 [--arch llama|qwen2] [--rope-theta F] [--rope-freqs] [--chat-template-file JINJA.txt]
 *   e.g. the TinyLlama-1.1B shape: --dim 2048 --layers 22 --heads 32 --kv-heads 4 --ffn 5632 --vocab 32000
 *
 * It is built from llm.c itself (write_random_model: GGUF writer, quantizers), so it writes
 * exactly what llm.c reads.
 */
#define LLM_NO_MAIN
#include "../llm.c"

static int parse_type(const char *s) {
    const int allowed[] = {T_F32, T_F16, T_BF16, T_Q8_0, T_Q4_0, T_Q2_K, T_Q3_K, T_Q4_K, T_Q5_K, T_Q6_K};
    for (int i = 0; i < 10; i++) if (!strcasecmp(s, ttraits[allowed[i]].name)) return allowed[i];
    return -1;
}

static void usage(FILE *f) {
    fprintf(f, "usage: mkmodel OUT.gguf [--dim N] [--layers N] [--heads N] [--kv-heads N] [--ffn N] [--ctx N] "
               "[--vocab N | --vocab-from VOCAB.gguf] [--type T] [--tied] [--seed S] [--arch llama|qwen2] [--rope-theta F] [--rope-freqs] [--chat-template-file JINJA.txt]\n"
               "A model with random weights of the given shape (see the top of tools/mkmodel.c).\n");
}

int main(int argc, char **argv) {
    random_model_spec sp = {.dim = 128, .layers = 2, .heads = 4, .kv_heads = 2, .ffn = 352, .ctx = 512, .vocab = 512,
                            .type = T_F32, .seed = 1};
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--tied")) { sp.tied = 1; continue; }
        if (!strcmp(a, "--rope-freqs")) { sp.rope_freqs = 1; continue; }
        if (a[0] != '-') { out = a; continue; }
        if (!v) { fprintf(stderr, "mkmodel: %s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "--dim")) sp.dim = atoi(v);
        else if (!strcmp(a, "--layers")) sp.layers = atoi(v);
        else if (!strcmp(a, "--heads")) sp.heads = atoi(v);
        else if (!strcmp(a, "--kv-heads")) sp.kv_heads = atoi(v);
        else if (!strcmp(a, "--ffn")) sp.ffn = atoi(v);
        else if (!strcmp(a, "--ctx")) sp.ctx = atoi(v);
        else if (!strcmp(a, "--vocab")) sp.vocab = atoi(v);
        else if (!strcmp(a, "--vocab-from")) sp.vocab_from = v;
        else if (!strcmp(a, "--seed")) sp.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--arch")) sp.arch = v;
        else if (!strcmp(a, "--chat-template-file")) {
            llm_status rs;
            size_t len;
            if (!(sp.chat_template = read_text(v, (size_t)1 << 20, "the most a chat template may have", &len, &rs))) { fprintf(stderr, "mkmodel: %s\n", rs.msg); return 1; }
        }
        else if (!strcmp(a, "--rope-theta")) sp.rope_theta = strtof(v, NULL);
        else if (!strcmp(a, "--type")) { if ((sp.type = parse_type(v)) < 0) { fprintf(stderr, "mkmodel: unknown type %s\n", v); return 2; } }
        else { fprintf(stderr, "mkmodel: unknown option %s (see the top of tools/mkmodel.c)\n", a); return 2; }
    }
    if (!out) {
        usage(stderr);
        return 2;
    }
    llm_status st;
    install_file_guards("mkmodel");       /* an interrupted run leaves no temporary file */
    if (write_random_model(out, sp, &st)) { fprintf(stderr, "mkmodel: %s\n", st.msg); return 1; }
    return 0;
}
