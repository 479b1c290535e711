/* llm.h - public API of llm.c, a single-file runtime for Llama-family language models.
 *
 * Build into your program: compile llm.c with -DLLM_NO_MAIN (it has no other globals) and
 * link with -lm -pthread. Typical use:
 *
 *     llm_status st;
 *     llm_model_params mp = llm_model_default_params();
 *     mp.path = "model.gguf";
 *     llm_model *m = llm_model_open(&mp, &st);            // NULL on error, st.msg says why
 *     llm_ctx *c = llm_ctx_new(m, 2048, &st);             // KV cache for 2048 positions
 *     int ids[512], n = llm_tokenize(m, "Hello", 5, 1, ids, 512);
 *     llm_eval(c, ids, n, 0, 0, &st);                      // n tokens at positions 0..n-1
 *     const float *logits = llm_logits(c);                // vocab floats of the last token
 *     llm_sampler *s = llm_sampler_new(&sp);
 *     int next = llm_sample(s, logits, llm_n_vocab(m));
 *     char piece[256]; llm_token_to_piece(m, ids[n-1], next, piece, sizeof piece);
 *     ...
 *     llm_sampler_free(s); llm_ctx_free(c); llm_model_free(m);
 *
 * Models: GGUF v2/v3 (architectures llama and qwen2; F32, F16, BF16, Q8_0, Q4_0 and the
 * K-quants Q2_K..Q6_K, so Q4_K_M files) and llama2.c checkpoints (legacy f32 .bin, with a
 * llama2.c tokenizer.bin). Tokenizers: SentencePiece BPE and byte-level BPE (Llama 3, Qwen2).
 * The logits are the same bits on every build of llm.c (x86, RVV 1.0 at any VLEN, XTheadVector,
 * plain C) and for any thread count (rvv_kernels.h, "the contract between ports"). Errors never abort the process:
 * every fallible call fills an llm_status with a code and a one-line message.
 * Model and tokenizer files must be regular files; they are memory-mapped and read in place
 * while loading (and GGUF metadata afterwards), so a file that shrinks under a loaded model
 * raises SIGBUS in the process. The library installs no signal handlers: the llm command turns
 * that SIGBUS into a message naming the file and exit status 1.
 */
#ifndef LLM_H
#define LLM_H

#define LLM_VERSION "0.1.0"        /* of llm.c and this API (`llm --version` prints it) */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum llm_error {
    LLM_OK = 0,
    LLM_ERR_IO,        /* cannot open / read / map a file */
    LLM_ERR_FORMAT,    /* malformed or inconsistent model / tokenizer file */
    LLM_ERR_UNSUPPORTED, /* valid file, feature not implemented (type, architecture) */
    LLM_ERR_NOMEM,     /* allocation failed */
    LLM_ERR_ARG,       /* bad argument (e.g. positions beyond the context) */
};

typedef struct { int code; char msg[512]; } llm_status;

typedef struct llm_model llm_model;
typedef struct llm_ctx llm_ctx;
typedef struct llm_sampler llm_sampler;

typedef struct {
    const char *path;           /* .gguf or llama2.c .bin; may be NULL with a tokenizer only */
    const char *tokenizer_path; /* llama2.c tokenizer.bin: required for .bin models, an error (LLM_ERR_ARG) with GGUF */
    int vocab_only;             /* load only the tokenizer (tensors are not checked) */
    int n_threads;              /* worker threads incl. the caller; 0 = online cores (or --cpus) */
    const char *cpus;           /* pin thread i to the i-th CPU of this list ("0-15,32-47"); NULL = auto */
    int numa;                   /* LLM_NUMA_* placement of the weights */
    int numa_report;            /* print where each thread's weight pages landed (move_pages) */
    int quiet;                  /* no progress output on stderr */
    int no_repack;              /* keep every matrix in the file's layout (see below) */
} llm_model_params;

/* Placement of the weights: every thread copies its own rows of every matrix into memory of its
 * own at load (decode reads each weight once per token; from anonymous memory in huge pages
 * that is faster than from the mapped file). DISTRIBUTE: threads pinned, each copy in memory the
 * thread touches first, so it sits on its NUMA node. INTERLEAVE: pages spread over all nodes.
 * OFF: no pinning, no memory policy. AUTO: DISTRIBUTE on machines with > 1 node, else OFF.
 * Repacking: where the build's kernels read a type faster in a layout of their own (x86 with
 * AVX-512 VNNI: Q8_0, Q4_0 and the K-quants, 16 rows interleaved; RVV 1.0: Q8_0 and Q4_0,
 * VLEN/8 rows interleaved), the copy uses that layout, with any NUMA
 * mode (same results, bitwise); no_repack = 1 keeps the file's layout. */
enum { LLM_NUMA_AUTO = 0, LLM_NUMA_OFF, LLM_NUMA_DISTRIBUTE, LLM_NUMA_INTERLEAVE };

llm_model_params llm_model_default_params(void);
llm_model *llm_model_open(const llm_model_params *p, llm_status *st);
void llm_model_free(llm_model *m);

int llm_n_vocab(const llm_model *m);
int llm_n_ctx_train(const llm_model *m);
int llm_token_bos(const llm_model *m);
int llm_token_eos(const llm_model *m);
int llm_is_eog(const llm_model *m, int token);   /* end of generation (EOS, BOS, EOT) */

/* Text -> token ids. add_special: put BOS in front and EOS at the end where the model file asks
 * for them (tokenizer.ggml.add_bos_token / add_eos_token; without the keys, as llama.cpp: BOS
 * for SentencePiece and Llama 3 vocabularies, not for Qwen2; no EOS); 0 adds neither.
 * Writes at most max ids; returns the number of ids the text needs (so a return value > max
 * means the buffer was too small). */
int llm_tokenize(const llm_model *m, const char *text, size_t len, int add_special, int *ids, int max);
/* A prompt as `llm run` reads it: llm_tokenize with add_special, unless LLM_PROMPT_NO_BOS (no
 * BOS, no EOS); LLM_PROMPT_SPECIAL: control tokens written in the text ("<|eot_id|>") become
 * those tokens (byte-level BPE vocabularies; SentencePiece text is always plain). Returns as
 * llm_tokenize. */
enum { LLM_PROMPT_NO_BOS = 1, LLM_PROMPT_SPECIAL = 2 };
int llm_tokenize_prompt(const llm_model *m, const char *text, size_t len, int flags, int *ids, int max);
/* One token -> its text (raw bytes for byte tokens; the leading space after BOS is dropped,
 * as llama2.c prints it). Returns the length written (NUL-terminated, truncated to cap-1). */
int llm_token_to_piece(const llm_model *m, int prev, int token, char *buf, size_t cap);

/* A context holds the KV cache and scratch for n_ctx positions (0 = the model's own). */
llm_ctx *llm_ctx_new(llm_model *m, int n_ctx, llm_status *st);
void llm_ctx_free(llm_ctx *c);
int llm_n_ctx(const llm_ctx *c);
/* Evaluate n tokens at positions pos..pos+n-1 (the cache must hold positions < pos).
 * all_logits: keep the logits of every token (n * vocab floats), else only the last. */
int llm_eval(llm_ctx *c, const int *tokens, int n, int pos, int all_logits, llm_status *st);
const float *llm_logits(const llm_ctx *c);
/* The context remembers the token at each position it holds: llm_eval records the tokens it
 * evaluates at pos..pos+n-1 and forgets those after (evaluating beyond the history, pos >
 * llm_n_past, leaves it as it was). llm_n_past: how many leading positions are known. */
int llm_n_past(const llm_ctx *c);
/* Evaluate a whole prompt (positions 0..n-1), reusing the cache: the longest common prefix of
 * tokens and the history is kept and only the rest evaluated (at least the last token, so
 * llm_logits are the prompt's). *reused (may be NULL) gets the number of positions kept. A chat
 * that resends its whole conversation each turn so evaluates only the new turn. */
int llm_eval_prompt(llm_ctx *c, const int *tokens, int n, int *reused, llm_status *st);

typedef struct {
    float temp;            /* 0 = greedy (argmax) */
    int top_k;             /* 0 = off */
    float top_p;           /* 1 = off */
    float min_p;           /* 0 = off */
    float repeat_penalty;  /* 1 = off */
    int repeat_last_n;     /* window of recent tokens the penalty looks at */
    uint64_t seed;
    float frequency_penalty; /* 0 = off: minus F x (times the token occurs in the window) */
    float presence_penalty;  /* 0 = off: minus P once if it occurs (OpenAI's penalties) */
} llm_sampler_params;

llm_sampler_params llm_sampler_default_params(void);
llm_sampler *llm_sampler_new(const llm_sampler_params *p);
void llm_sampler_free(llm_sampler *s);
void llm_sampler_accept(llm_sampler *s, int token);   /* feeds the repeat-penalty window */
int llm_sample(llm_sampler *s, const float *logits, int n_vocab);

/* Stop strings. text[0..len) is the text generated so far, text[0..from) the part already final
 * (shown). Returns the end of the final text now: where the earliest complete stop string begins
 * (*stopped = 1: the generation ends there, without it), else len less the longest tail that is
 * the beginning of a stop string (held back until the next pieces decide). Empty and NULL stop
 * strings are ignored. */
size_t llm_stop_scan(const char *text, size_t len, size_t from, const char *const *stop, int n_stop, int *stopped);

/* Chat templates, recognized as `llm chat` does (no Jinja): the family's markers in the GGUF's
 * tokenizer.chat_template, else the control tokens of its vocabulary, else llama2. */
enum { LLM_CHAT_NONE = -1, LLM_CHAT_LLAMA2, LLM_CHAT_LLAMA3, LLM_CHAT_DEEPSEEK_R1, LLM_CHAT_CHATML };
int llm_chat_template(const llm_model *m);
int llm_chat_template_by_name(const char *name);      /* "llama2" ... "chatml"; LLM_CHAT_NONE if unknown */
const char *llm_chat_template_name(int tpl);          /* NULL if not a family */
int llm_chat_end_token(const llm_model *m, int tpl);  /* the token that ends an answer (-1: none) */

typedef struct {
    const char *role;      /* "system", "user" or "assistant" */
    const char *content;   /* UTF-8 text (NULL = empty) */
    const int *tokens;     /* optional, for an answer: the tokens it was generated as (content is their
                            * text), used as they are; NULL: content goes through the tokenizer */
    int n_tokens;
} llm_chat_message;

/* A conversation -> token ids in family tpl, then (add_assistant) the start of the assistant's
 * answer: the prompt to generate from. Control tokens come from the vocabulary, never from the
 * text. Earlier answers are trimmed, and DeepSeek-R1's keep only the text after </think> (then
 * their tokens are not used).
 * Writes at most max ids and returns the number needed, or -1 with st filled (unknown role,
 * a control token the vocabulary lacks). */
int llm_chat_render(const llm_model *m, int tpl, const llm_chat_message *msgs, int n_msgs, int add_assistant,
                    int *ids, int max, llm_status *st);

#ifdef __cplusplus
}
#endif
#endif /* LLM_H */
