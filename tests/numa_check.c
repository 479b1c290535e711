/* numa_check - where do the weights land? Run inside a multi-node machine or VM
 * (../shared/tools/numa-vm.sh copies only this static binary in, so it writes its own model).
 *
 *   numa_check [distribute|interleave] [THREADS]
 *
 * Writes a random Q8_0 model, loads it with --numa off and with the given mode, and checks:
 *  - distribute: >= 99% of each thread's weight pages are on that thread's node (move_pages);
 *  - interleave: each node holds its share of all pages within 10%;
 *  - the logits of an 8-token prompt are bitwise identical to the unplaced run.
 * Prints PASS/FAIL lines and "N passed, N failed".
 */
#define MKMODEL_NO_MAIN
#include "../tools/mkmodel.c"      /* llm.c and write_random_model */

#define CHECK_SUITE "numa."
#include "check.h"

static float *logits_of(const char *path, int numa, int threads, llm_model **keep) {
    llm_status st;
    llm_model_params mp = llm_model_default_params();
    mp.path = path; mp.numa = numa; mp.n_threads = threads; mp.numa_report = numa != LLM_NUMA_OFF;
    llm_model *m = llm_model_open(&mp, &st);
    if (!m) { printf("FAIL numa.load: %s\n", st.msg); failed++; return NULL; }
    llm_ctx *c = llm_ctx_new(m, 64, &st);
    int toks[8] = {1, 300, 301, 302, 400, 500, 600, 700};
    float *out = NULL;
    if (c && llm_eval(c, toks, 8, 0, 0, &st) == LLM_OK) {
        out = malloc((size_t)llm_n_vocab(m) * sizeof(float));
        memcpy(out, llm_logits(c), (size_t)llm_n_vocab(m) * sizeof(float));
    } else printf("FAIL numa.eval: %s\n", st.msg), failed++;
    llm_ctx_free(c);
    *keep = m;
    return out;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "distribute";
    int threads = argc > 2 ? atoi(argv[2]) : 0;
    int numa = !strcmp(mode, "interleave") ? LLM_NUMA_INTERLEAVE : LLM_NUMA_DISTRIBUTE;
    const char *path = "numa_check.gguf";
    random_model_spec sp = {.dim = 512, .layers = 2, .heads = 8, .kv_heads = 4, .ffn = 1536, .ctx = 64, .vocab = 2000,
                            .type = T_Q8_0, .seed = 7};
    llm_status st;
    if (write_random_model(path, sp, &st)) { printf("FAIL numa.model: %s\n0 passed, 1 failed\n", st.msg); return 1; }
    llm_model *m0, *m1;
    float *ref = logits_of(path, LLM_NUMA_OFF, threads, &m0);
    float *got = logits_of(path, numa, threads, &m1);
    if (m1 && ref && got) {
        printf("# %s: %d threads, %d nodes\n", mode, m1->n_threads, m1->n_nodes);
        check(!memcmp(ref, got, (size_t)llm_n_vocab(m1) * sizeof(float)), "%s.logits_identical", mode);
        long (*count)[64] = numa_page_counts(m1);
        long node_total[64] = {0}, all = 0;
        for (int i = 0; i < m1->n_threads; i++) {
            long total = 0;
            for (int k = 0; k < 64; k++) { total += count[i][k]; node_total[k] += count[i][k]; }
            all += total;
            double local = total ? (double)count[i][m1->thread_node[i]] / total : 0;
            if (numa == LLM_NUMA_DISTRIBUTE)
                check(total > 0 && local >= 0.99, "distribute.thread%d: cpu %d node %d, %ld of %ld pages local (%.2f%%)", i,
                      m1->thread_cpu[i], m1->thread_node[i], count[i][m1->thread_node[i]], total, 100 * local);
        }
        if (numa == LLM_NUMA_INTERLEAVE)
            for (int k = 0; k < m1->n_nodes; k++) {
                double share = all ? (double)node_total[k] / all : 0, want = 1.0 / m1->n_nodes;
                check(fabs(share - want) <= 0.1 * want, "interleave.node%d: %ld of %ld pages (%.1f%%, even share %.1f%%)", k,
                      node_total[k], all, 100 * share, 100 * want);
            }
        free(count);
    }
    free(ref); free(got);
    llm_model_free(m0); llm_model_free(m1);
    remove(path);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
