/* llm.c - run Llama-family language models on CPUs, fast on many-core RISC-V.
 *
 * One file, read top to bottom in the order data flows:
 *   1. utilities        errors that carry a message, allocation, time; input files (regular,
 *                       bounded), output files (whole or not at all), the CLI's signal guards
 *   2. model files      GGUF reader (bounds-checked cursor over the mapped file), llama2.c reader
 *   3. the model        hyper-parameters, per-layer tensors {type, rows, cols, row_bytes, data}
 *   4. threads          topology, pinning, a persistent pool; every thread owns fixed row ranges
 *   5. placement        NUMA: each thread's rows copied into memory on its own node
 *   6. matmul           Y[b][r] = W[r] . X[b] for a batch, quantizing X once
 *   7. forward pass     embeddings -> layers (attention, SwiGLU FFN) -> logits
 *   8. tokenizer        SentencePiece BPE (Llama 2 style)
 *   9. sampler          greedy, temperature, top-k, top-p, min-p, penalties; stop strings
 *  10. GGUF writer      used by `quantize` and by tools/mkmodel
 *  11. chat templates   llama2, llama3, deepseek-r1, chatml: a conversation as tokens
 *  12. CLI              run, chat, tokenize, info, perplexity, bench, quantize (absent with -DLLM_NO_MAIN)
 * The hot kernels live in rvv_kernels.h (portable C, RVV 1.0 and XTheadVector bodies).
 */
#define _GNU_SOURCE
#include "llm.h"
#include "rvv_kernels.h"
#include "unicode_data.h"     /* Unicode classes for the BPE pre-tokenizer (tools/gen_unicode.py) */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ============================================================================================
 * 1. Utilities
 * ========================================================================================== */

static int fail(llm_status *st, int code, const char *fmt, ...) {
    if (st) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->msg, sizeof st->msg, fmt, ap);
        va_end(ap);
        st->code = code;
    }
    return code;
}

#define MAYBE_UNUSED __attribute__((unused))   /* helpers used by tools/ that include llm.c */

static void *xcalloc(size_t n, size_t size) { return n && size ? calloc(n, size) : calloc(1, 1); }

/* 64-byte aligned, zeroed allocation (scratch rows are read by vector loads) */
static void *aligned_zalloc(size_t size) {
    void *p = NULL;
    if (posix_memalign(&p, 64, size ? size : 64) != 0) return NULL;
    memset(p, 0, size);
    return p;
}

static MAYBE_UNUSED double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* FNV-1a: the hash of vocabulary pieces and tensor names */
static uint32_t hash_bytes(const char *s, int n) {
    uint32_t h = 2166136261u;                                   /* FNV-1a */
    for (int i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* overflow-checked size arithmetic: returns 0 on overflow */
static int mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
    if (a && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* Models and tokenizers must be regular files. They are opened with O_NONBLOCK, so a FIFO (whose
 * open would wait for a writer) or a device is refused at once, by name; regular files ignore
 * the flag. Returns the descriptor, or -1 with st filled. */
static int open_regular(const char *path, struct stat *sb, llm_status *st) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) { fail(st, LLM_ERR_IO, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    if (fstat(fd, sb) != 0) {
        fail(st, LLM_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(sb->st_mode)) {
        fail(st, LLM_ERR_IO, S_ISDIR(sb->st_mode) ? "%s: is a directory, not a file" : "%s: is a %s, not a regular file", path,
             S_ISFIFO(sb->st_mode) ? "FIFO (named pipe)" : S_ISCHR(sb->st_mode) ? "character device"
             : S_ISBLK(sb->st_mode) ? "block device" : S_ISSOCK(sb->st_mode) ? "socket" : "special file");
        close(fd);
        return -1;
    }
    return fd;
}

/* A read-only memory map of a whole file. */
typedef struct { const uint8_t *data; size_t size; } mapped_file;

static int map_file(mapped_file *mf, const char *path, llm_status *st) {
    memset(mf, 0, sizeof *mf);
    struct stat sb;
    int fd = open_regular(path, &sb, st);
    if (fd < 0) return LLM_ERR_IO;
    if (sb.st_size == 0) { close(fd); return fail(st, LLM_ERR_FORMAT, "%s: file is empty", path); }
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (p == MAP_FAILED) return fail(st, LLM_ERR_IO, "%s: cannot map: %s", path, strerror(err));
    mf->data = p;
    mf->size = (size_t)sb.st_size;
    return LLM_OK;
}

static void unmap_file(mapped_file *mf) {
    if (mf->data) munmap((void *)mf->data, mf->size);
    memset(mf, 0, sizeof *mf);
}

/* Read a whole (possibly empty) text file of at most max bytes. A longer one is refused as soon
 * as that is known, before it is read whole: by its size for a regular file, else (a pipe,
 * /dev/zero) after max + 1 bytes, so memory stays bounded whatever the file is. The message is
 * "PATH: longer than MAX bytes, <why>". */
static MAYBE_UNUSED char *read_text(const char *path, size_t max, const char *why, size_t *len, llm_status *st) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) { fail(st, LLM_ERR_IO, "%s: is a directory, not a file", path); return NULL; }
    FILE *f = fopen(path, "rb");
    if (!f) { fail(st, LLM_ERR_IO, "%s: cannot open: %s", path, strerror(errno)); return NULL; }
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > max) {
        fclose(f);
        fail(st, LLM_ERR_IO, "%s: longer than %zu bytes, %s", path, max, why);
        return NULL;
    }
    size_t cap = max < 4096 ? max + 1 : 4096, n = 0;
    char *buf = malloc(cap + 1);
    for (size_t r; buf && n <= max && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap && n <= max) {
            size_t grown = cap > max / 2 ? max + 1 : 2 * cap;
            char *b = realloc(buf, grown + 1);
            if (!b) { free(buf); buf = NULL; break; }
            buf = b; cap = grown;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!buf) { fail(st, LLM_ERR_NOMEM, "%s: out of memory", path); return NULL; }
    if (n > max) { free(buf); fail(st, LLM_ERR_IO, "%s: longer than %zu bytes, %s", path, max, why); return NULL; }
    if (err) { free(buf); fail(st, LLM_ERR_IO, "%s: read error", path); return NULL; }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Output files. Every file the runtime writes (quantize, --dump-logits, --dump-tokens,
 * tools/mkmodel) appears whole or not at all: it is written to a temporary created exclusively
 * next to OUT ("OUT.<random>.tmp" with O_CREAT|O_EXCL|O_NOFOLLOW, so a file or symlink planted
 * under that name makes the open fail instead of being written through), flushed to the disk
 * and renamed over OUT. An OUT that exists and is not a regular file (a device such as
 * /dev/full, a FIFO, a directory) is refused and left alone; a symbolic link at OUT is replaced
 * by the new file, what it pointed to is not written. Two writers to one OUT each rename a
 * complete file: the last one stays.
 * The temporary being written is named in out_pending, so that a program's signal handler can
 * remove it (install_file_guards below); the library installs no handler itself. One output
 * file is written at a time. */
typedef struct { FILE *f; char *path, *tmp; int err; } out_file;

static char out_pending[PATH_MAX + 32];     /* the temporary being written ... */
static volatile sig_atomic_t out_pending_set; /* ... when set */

static int out_refuse(const char *path, llm_status *st) {
    struct stat sb;
    if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode)) return LLM_OK;
    return fail(st, LLM_ERR_IO, "%s: exists and is not a regular file (%s): not replaced", path,
                S_ISDIR(sb.st_mode) ? "a directory" : S_ISFIFO(sb.st_mode) ? "a FIFO" : S_ISCHR(sb.st_mode) ? "a character device"
                : S_ISBLK(sb.st_mode) ? "a block device" : "a special file");
}

static void out_forget(out_file *o) {
    out_pending_set = 0;
    free(o->path); free(o->tmp);
    memset(o, 0, sizeof *o);
}

static int out_open(out_file *o, const char *path, llm_status *st) {
    memset(o, 0, sizeof *o);
    if (out_refuse(path, st)) return LLM_ERR_IO;
    size_t n = strlen(path) + 16;
    o->path = strdup(path);
    o->tmp = malloc(n);
    if (!o->path || !o->tmp) { out_forget(o); return fail(st, LLM_ERR_NOMEM, "out of memory"); }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t r = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec * 0x9e3779b97f4a7c15ull;
    int fd = -1;
    for (int i = 0; i < 100 && fd < 0; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;     /* a new name if one exists */
        snprintf(o->tmp, n, "%s.%08x.tmp", path, (unsigned)(r >> 32));
        fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int e = errno;
        out_forget(o);
        return fail(st, LLM_ERR_IO, "%s: cannot create a temporary file next to it: %s", path, strerror(e));
    }
    if (strlen(o->tmp) < sizeof out_pending) { memcpy(out_pending, o->tmp, strlen(o->tmp) + 1); out_pending_set = 1; }
    o->f = fdopen(fd, "wb");
    if (!o->f) { close(fd); unlink(o->tmp); out_forget(o); return fail(st, LLM_ERR_NOMEM, "out of memory"); }
    return LLM_OK;
}

static void out_write(out_file *o, const void *p, size_t n) {
    if (!o->err && n && fwrite(p, 1, n, o->f) != n) o->err = errno ? errno : EIO;
}

/* ok: flush, sync and rename into place; !ok (or any error so far): remove the temporary */
static int out_close(out_file *o, int ok, llm_status *st) {
    int rc = LLM_OK;
    if (!o->f) { out_forget(o); return rc; }
    if (ok && !o->err && fflush(o->f) != 0) o->err = errno ? errno : EIO;
    if (ok && !o->err && fsync(fileno(o->f)) != 0) o->err = errno;
    if (fclose(o->f) != 0 && ok && !o->err) o->err = errno ? errno : EIO;
    if (ok && o->err) rc = fail(st, LLM_ERR_IO, "%s: write failed: %s", o->path, strerror(o->err));
    if (ok && !rc && !(rc = out_refuse(o->path, st)) && rename(o->tmp, o->path) != 0)
        rc = fail(st, LLM_ERR_IO, "%s: cannot rename the temporary file over it: %s", o->path, strerror(errno));
    if (!ok || rc) unlink(o->tmp);
    else {                                   /* the rename itself reaches the disk with the directory */
        char *slash = strrchr(o->tmp, '/');
        if (slash) *slash = 0;
        int dfd = open(slash ? (slash == o->tmp ? "/" : o->tmp) : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) { fsync(dfd); close(dfd); }
    }
    out_forget(o);
    return rc;
}

/* For programs (the CLI, tools/mkmodel), never called by the library: SIGINT, SIGTERM and SIGHUP
 * remove the temporary being written, then end the process by the same signal. SIGBUS is what
 * reading a mapped file past its end raises: a model file that shrank while being read (load,
 * placement, quantize). It becomes a message naming the file (found in /proc/self/maps, with
 * async-signal-safe calls only), the temporary is removed and the process exits with status 1;
 * a SIGBUS outside a file mapping keeps its default action. */
static const char *guard_prog = "llm";

static void on_exit_signal(int sig) {
    if (out_pending_set) unlink(out_pending);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int hex_digit(char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; }

/* the path of the file mapped at addr, from /proc/self/maps ("lo-hi perms offset dev inode path") */
static int mapped_path(uintptr_t addr, char *out, size_t cap) {
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), found = 0;
    if (fd < 0) return 0;
    char buf[4096];
    size_t have = 0;
    for (ssize_t r; !found && (r = read(fd, buf + have, sizeof buf - have)) > 0;) {
        have += (size_t)r;
        char *line = buf, *end = buf + have, *nl;
        while (!found && (nl = memchr(line, '\n', (size_t)(end - line)))) {
            uintptr_t lo = 0, hi = 0;
            char *p = line;
            for (; p < nl && hex_digit(*p) >= 0; p++) lo = lo * 16 + (uintptr_t)hex_digit(*p);
            for (p += p < nl; p < nl && hex_digit(*p) >= 0; p++) hi = hi * 16 + (uintptr_t)hex_digit(*p);
            for (int field = 0; field < 4; field++) {            /* skip perms, offset, dev, inode */
                while (p < nl && *p == ' ') p++;
                while (p < nl && *p != ' ') p++;
            }
            while (p < nl && *p == ' ') p++;
            if (addr >= lo && addr < hi && p < nl && *p == '/') {
                size_t n = (size_t)(nl - p) < cap - 1 ? (size_t)(nl - p) : cap - 1;
                memcpy(out, p, n);
                out[n] = 0;
                found = 1;
            }
            line = nl + 1;
        }
        have = (size_t)(end - line);
        memmove(buf, line, have);
        if (have == sizeof buf) have = 0;                        /* a line longer than the buffer */
    }
    close(fd);
    return found;
}

static void on_sigbus(int sig, siginfo_t *si, void *ctx) {
    static char path[PATH_MAX + 64];
    (void)ctx;
    if (!mapped_path((uintptr_t)si->si_addr, path, sizeof path)) { signal(sig, SIG_DFL); return; }  /* faults again */
    if (out_pending_set) unlink(out_pending);
    const char *parts[] = {guard_prog, ": ", path, ": changed or truncated while being read\n"};
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(parts[i]);
        if (write(2, parts[i], n) != (ssize_t)n) break;
    }
    _exit(1);
}

static MAYBE_UNUSED void install_file_guards(const char *prog) {
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa, old;
    guard_prog = prog;
    for (int i = 0; i < 3; i++) {
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_exit_signal;
        sigemptyset(&sa.sa_mask);
        /* a signal ignored by whoever started us (nohup: SIGHUP) stays ignored */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN) sigaction(sigs[i], &sa, NULL);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

/* ============================================================================================
 * 2. Model files
 * ============================================================================================
 * 2a. GGUF. Layout (little-endian):
 *   "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv x  { string key | u32 type | value }            string = u64 length + bytes
 *   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
 *   padding to general.alignment (default 32) | tensor data (offsets relative to here)
 * Everything read goes through a cursor that checks the bytes exist before reading them.
 */

enum gguf_vtype {
    GGUF_U8, GGUF_I8, GGUF_U16, GGUF_I16, GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL,
    GGUF_STR, GGUF_ARR, GGUF_U64, GGUF_I64, GGUF_F64, GGUF_NTYPES
};
static const int gguf_vsize[GGUF_NTYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

typedef struct { const uint8_t *p; size_t len; } strview;

/* An index of the names of an array of records whose first member is their name (gguf_kv.key,
 * gguf_tensor.name): open addressing, FNV-1a, linear probing; a slot holds the record's index
 * + 1 (0 = empty), with at least twice as many slots as names. */
typedef struct { uint64_t *slot, size; } name_index;

static const strview *name_at(const void *base, size_t stride, uint64_t i) {
    return (const strview *)(const void *)((const char *)base + i * stride);
}

/* Returns 0, the index + 1 of a record whose name repeats an earlier record's, or -1 (no memory). */
static int64_t index_names(name_index *ix, const void *base, size_t stride, uint64_t n) {
    ix->size = 16;
    while (ix->size < 2 * n) ix->size *= 2;
    ix->slot = xcalloc(ix->size, sizeof *ix->slot);
    if (!ix->slot) return -1;
    for (uint64_t i = 0; i < n; i++) {
        const strview *s = name_at(base, stride, i);
        for (uint64_t j = hash_bytes((const char *)s->p, (int)s->len) & (ix->size - 1);; j = (j + 1) & (ix->size - 1)) {
            if (!ix->slot[j]) { ix->slot[j] = i + 1; break; }
            const strview *o = name_at(base, stride, ix->slot[j] - 1);
            if (o->len == s->len && !memcmp(o->p, s->p, s->len)) return (int64_t)i + 1;
        }
    }
    return 0;
}

static const void *index_find(const name_index *ix, const void *base, size_t stride, const char *name) {
    size_t n = strlen(name);
    if (!ix->slot) return NULL;
    for (uint64_t j = hash_bytes(name, (int)n) & (ix->size - 1); ix->slot[j]; j = (j + 1) & (ix->size - 1)) {
        const strview *s = name_at(base, stride, ix->slot[j] - 1);
        if (s->len == n && !memcmp(s->p, name, n)) return s;
    }
    return NULL;
}

typedef struct {
    strview key;              /* first: name_index */
    int type;                 /* enum gguf_vtype */
    const uint8_t *val;       /* scalar value, or for strings the u64 length, for arrays the elements */
    int arr_type;             /* arrays: element type */
    uint64_t arr_n;           /* arrays: element count */
} gguf_kv;

typedef struct {
    strview name;             /* first: name_index */
    int n_dims;
    uint64_t ne[4];
    int type;                 /* ggml type */
    uint64_t offset;          /* relative to the data section */
    const uint8_t *data;
    uint64_t size;
} gguf_tensor;

typedef struct {
    mapped_file mf;
    const char *path;
    uint32_t version;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;
    gguf_tensor *tensors;
    size_t kv_begin, kv_end;  /* byte range of the key/value section (copied by quantize) */
    uint64_t alignment;
    size_t data_offset;
    name_index keys, names;   /* metadata keys and tensor names (duplicates are refused) */
} gguf_file;

typedef struct { const uint8_t *p, *end; const char *path; llm_status *st; int err; } cursor;

static int cur_need(cursor *c, uint64_t n, const char *what) {
    if (c->err) return 0;
    if (n > (uint64_t)(c->end - c->p)) {
        fail(c->st, LLM_ERR_FORMAT, "%s: truncated file: %s needs %llu bytes, %llu left", c->path,
             what, (unsigned long long)n, (unsigned long long)(c->end - c->p));
        c->err = 1;
        return 0;
    }
    return 1;
}
static uint64_t cur_uint(cursor *c, int bytes, const char *what) {
    if (!cur_need(c, bytes, what)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)c->p[i] << (8 * i);
    c->p += bytes;
    return v;
}
static strview cur_str(cursor *c, const char *what, uint64_t max_len) {
    strview s = {0, 0};
    uint64_t n = cur_uint(c, 8, what);
    if (c->err) return s;
    if (n > max_len) {
        fail(c->st, LLM_ERR_FORMAT, "%s: %s has length %llu, over the limit %llu", c->path, what,
             (unsigned long long)n, (unsigned long long)max_len);
        c->err = 1;
        return s;
    }
    if (!cur_need(c, n, what)) return s;
    s.p = c->p; s.len = (size_t)n;
    c->p += n;
    return s;
}

/* Skip one value of type t (arrays recurse, with a depth limit for nested arrays). */
static void cur_skip_value(cursor *c, int t, int depth) {
    if (c->err) return;
    if (t == GGUF_STR) { cur_str(c, "string value", UINT64_MAX); return; }
    if (t == GGUF_ARR) {
        if (depth > 4) { fail(c->st, LLM_ERR_FORMAT, "%s: arrays nested too deeply", c->path); c->err = 1; return; }
        int et = (int)cur_uint(c, 4, "array type");
        uint64_t n = cur_uint(c, 8, "array length");
        if (c->err) return;
        if (et < 0 || et >= GGUF_NTYPES) { fail(c->st, LLM_ERR_FORMAT, "%s: unknown array element type %d", c->path, et); c->err = 1; return; }
        if (et != GGUF_STR && et != GGUF_ARR) {
            uint64_t bytes;
            if (!mul_ok(n, gguf_vsize[et], &bytes)) { fail(c->st, LLM_ERR_FORMAT, "%s: array too large", c->path); c->err = 1; return; }
            if (cur_need(c, bytes, "array data")) c->p += bytes;
            return;
        }
        /* every string or array element takes at least 8 bytes: bound n before looping */
        if (n > (uint64_t)(c->end - c->p) / 8) { cur_need(c, UINT64_MAX, "array data"); return; }
        for (uint64_t i = 0; i < n && !c->err; i++) cur_skip_value(c, et, depth + 1);
        return;
    }
    if (t < 0 || t >= GGUF_NTYPES) { fail(c->st, LLM_ERR_FORMAT, "%s: unknown value type %d", c->path, t); c->err = 1; return; }
    if (cur_need(c, gguf_vsize[t], "value")) c->p += gguf_vsize[t];
}

/* ggml tensor types (ids T_* in rvv_kernels.h) this runtime knows: block size (elements), bytes
 * per block, and for the types it computes with, the format a matmul's activation rows take
 * (act: float rows for float weights, Q8_0 for Q8_0/Q4_0, Q8_K for the K-quants) */
typedef struct {
    const char *name;
    int blck, bytes;      /* 0 bytes = type unknown to ggml here */
    int supported;        /* has kernels in this runtime */
    int act;
} type_traits;
static const type_traits ttraits[T_COUNT] = {
    [T_F32] = {"F32", 1, 4, 1, T_F32},          [T_F16] = {"F16", 1, 2, 1, T_F32},
    [T_Q4_0] = {"Q4_0", 32, 18, 1, T_Q8_0},     [3] = {"Q4_1", 32, 20, 0, 0},
    [6] = {"Q5_0", 32, 22, 0, 0},               [7] = {"Q5_1", 32, 24, 0, 0},
    [T_Q8_0] = {"Q8_0", 32, 34, 1, T_Q8_0},     [9] = {"Q8_1", 32, 36, 0, 0},
    [T_Q2_K] = {"Q2_K", 256, 84, 1, T_Q8_K},    [T_Q3_K] = {"Q3_K", 256, 110, 1, T_Q8_K},
    [T_Q4_K] = {"Q4_K", 256, 144, 1, T_Q8_K},   [T_Q5_K] = {"Q5_K", 256, 176, 1, T_Q8_K},
    [T_Q6_K] = {"Q6_K", 256, 210, 1, T_Q8_K},   [T_Q8_K] = {"Q8_K", 256, 292, 0, 0},
    [24] = {"I8", 1, 1, 0, 0},                  [25] = {"I16", 1, 2, 0, 0},
    [26] = {"I32", 1, 4, 0, 0},                 [27] = {"I64", 1, 8, 0, 0},
    [28] = {"F64", 1, 8, 0, 0},                 [T_BF16] = {"BF16", 1, 2, 1, T_F32},
};
static const char *type_name(int t) {
    return t >= 0 && t < T_COUNT && ttraits[t].name ? ttraits[t].name : "unknown";
}

static void gguf_close(gguf_file *g) {
    free(g->keys.slot);
    free(g->names.slot);
    free(g->kv);
    free(g->tensors);
    unmap_file(&g->mf);
    memset(g, 0, sizeof *g);
}

static int sv_eq(strview s, const char *z) { size_t n = strlen(z); return s.len == n && memcmp(s.p, z, n) == 0; }

static const gguf_kv *gguf_find(const gguf_file *g, const char *key) {
    return index_find(&g->keys, g->kv, sizeof *g->kv, key);
}

static uint64_t le_uint(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Typed getters: *out = the value, or def when the key is absent. They return 0 when the key is
 * present with a type that cannot hold such a value: wrong_type() then names it. */
static int gguf_get_int(const gguf_file *g, const char *key, int64_t def, int64_t *out) {   /* any integer type */
    const gguf_kv *kv = gguf_find(g, key);
    *out = def;
    if (!kv) return 1;
    switch (kv->type) {
    case GGUF_U8: case GGUF_U16: case GGUF_U32: case GGUF_U64: {
        uint64_t u = le_uint(kv->val, gguf_vsize[kv->type]);
        *out = u > INT64_MAX ? INT64_MAX : (int64_t)u;           /* callers check the range */
        return 1;
    }
    case GGUF_I8: *out = (int8_t)kv->val[0]; return 1;
    case GGUF_I16: *out = (int16_t)le_uint(kv->val, 2); return 1;
    case GGUF_I32: *out = (int32_t)le_uint(kv->val, 4); return 1;
    case GGUF_I64: *out = (int64_t)le_uint(kv->val, 8); return 1;
    default: return 0;
    }
}

static int gguf_get_float(const gguf_file *g, const char *key, double def, double *out) {  /* float or integer */
    const gguf_kv *kv = gguf_find(g, key);
    *out = def;
    if (!kv) return 1;
    if (kv->type == GGUF_F32) { *out = f32_from_bits((uint32_t)le_uint(kv->val, 4)); return 1; }
    if (kv->type == GGUF_F64) { uint64_t u = le_uint(kv->val, 8); double d; memcpy(&d, &u, 8); *out = d; return 1; }
    int64_t i;
    if (gguf_get_int(g, key, 0, &i)) { *out = (double)i; return 1; }
    return 0;
}

static int gguf_get_bool(const gguf_file *g, const char *key, int def, int *out) {
    const gguf_kv *kv = gguf_find(g, key);
    *out = def;
    if (!kv) return 1;
    if (kv->type != GGUF_BOOL) return 0;
    *out = kv->val[0] != 0;
    return 1;
}

/* a string value; {NULL, 0} when absent or not a string (wrong_type tells these apart) */
static strview gguf_get_str(const gguf_file *g, const char *key) {
    const gguf_kv *kv = gguf_find(g, key);
    strview s = {0, 0};
    if (kv && kv->type == GGUF_STR) { s.len = (size_t)le_uint(kv->val, 8); s.p = kv->val + 8; }
    return s;
}

static int wrong_type(const gguf_file *g, const char *key, const char *want, llm_status *st) {
    static const char *names[GGUF_NTYPES] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array",
                                             "u64", "i64", "f64"};
    const gguf_kv *kv = gguf_find(g, key);
    return fail(st, LLM_ERR_FORMAT, "%s: %s must be %s, not %s", g->path, key, want, kv ? names[kv->type] : "absent");
}

/* Parse the mapped file into g; on error the caller closes g (names in messages point into the map). */
static int gguf_parse(gguf_file *g, const char *path, llm_status *st) {
    cursor c = {g->mf.data, g->mf.data + g->mf.size, path, st, 0};
    if (g->mf.size < 4 || memcmp(g->mf.data, "GGUF", 4) != 0) {
        return fail(st, LLM_ERR_FORMAT, "%s: not a GGUF file (bad magic)", path);
    }
    c.p += 4;
    g->version = (uint32_t)cur_uint(&c, 4, "header version");
    g->n_tensors = cur_uint(&c, 8, "header tensor count");
    g->n_kv = cur_uint(&c, 8, "header key count");
    if (c.err) { return LLM_ERR_FORMAT; }
    if (g->version == 1 || g->version > 3 || g->version == 0) {
        return fail(st, LLM_ERR_UNSUPPORTED, "%s: GGUF version %u is not supported (only 2 and 3)", path, g->version);
    }
    /* each key needs >= 12 bytes and each tensor info >= 28: bound the counts by the file size */
    if (g->n_kv > g->mf.size / 12 || g->n_tensors > g->mf.size / 28 || g->n_tensors > 1000000) {
        return fail(st, LLM_ERR_FORMAT, "%s: header counts (%llu keys, %llu tensors) do not fit the file", path,
                    (unsigned long long)g->n_kv, (unsigned long long)g->n_tensors);
    }
    g->kv = xcalloc(g->n_kv, sizeof *g->kv);
    g->tensors = xcalloc(g->n_tensors, sizeof *g->tensors);
    if (!g->kv || !g->tensors) { return fail(st, LLM_ERR_NOMEM, "%s: out of memory", path); }

    g->kv_begin = (size_t)(c.p - g->mf.data);
    for (uint64_t i = 0; i < g->n_kv && !c.err; i++) {
        gguf_kv *kv = &g->kv[i];
        kv->key = cur_str(&c, "metadata key", 65536);
        kv->type = (int)cur_uint(&c, 4, "metadata type");
        if (c.err) break;
        if (kv->type < 0 || kv->type >= GGUF_NTYPES) {
            fail(st, LLM_ERR_FORMAT, "%s: metadata key '%.*s' has unknown type %d", path, (int)kv->key.len,
                 (const char *)kv->key.p, kv->type);
            c.err = 1;
            break;
        }
        kv->val = c.p;
        if (kv->type == GGUF_ARR) {
            cursor peek = c;
            kv->arr_type = (int)cur_uint(&peek, 4, "array type");
            kv->arr_n = cur_uint(&peek, 8, "array length");
            if (peek.err) { c.err = 1; break; }
            kv->val = peek.p;
        }
        cur_skip_value(&c, kv->type, 0);
    }
    g->kv_end = (size_t)(c.p - g->mf.data);
    if (c.err) { return LLM_ERR_FORMAT; }
    int64_t dup = index_names(&g->keys, g->kv, sizeof *g->kv, g->n_kv);
    if (dup < 0) return fail(st, LLM_ERR_NOMEM, "%s: out of memory", path);
    if (dup) return fail(st, LLM_ERR_FORMAT, "%s: duplicate metadata key '%.*s'", path, (int)g->kv[dup - 1].key.len,
                         (const char *)g->kv[dup - 1].key.p);

    int64_t align;
    if (!gguf_get_int(g, "general.alignment", 32, &align) || align < 8 || (align & (align - 1)) || align > 65536) {
        return fail(st, LLM_ERR_FORMAT, "%s: general.alignment must be a power of two, at least 8", path);
    }
    g->alignment = (uint64_t)align;

    for (uint64_t i = 0; i < g->n_tensors && !c.err; i++) {
        gguf_tensor *t = &g->tensors[i];
        t->name = cur_str(&c, "tensor name", 256);
        t->n_dims = (int)cur_uint(&c, 4, "tensor dims");
        if (c.err) break;
        if (t->n_dims < 1 || t->n_dims > 4) {
            fail(st, LLM_ERR_FORMAT, "%s: tensor '%.*s' has %d dimensions", path, (int)t->name.len, (const char *)t->name.p, t->n_dims);
            c.err = 1;
            break;
        }
        for (int d = 0; d < 4; d++) t->ne[d] = d < t->n_dims ? cur_uint(&c, 8, "tensor shape") : 1;
        for (int d = 0; d < t->n_dims && !c.err; d++)
            if (t->ne[d] == 0) {
                fail(st, LLM_ERR_FORMAT, "%s: tensor '%.*s' has an empty dimension", path, (int)t->name.len, (const char *)t->name.p);
                c.err = 1;
            }
        t->type = (int)cur_uint(&c, 4, "tensor type");
        t->offset = cur_uint(&c, 8, "tensor offset");
    }
    if (c.err) { return LLM_ERR_FORMAT; }
    size_t pos = (size_t)(c.p - g->mf.data);
    g->data_offset = (pos + g->alignment - 1) / g->alignment * g->alignment;
    if (g->data_offset > g->mf.size) g->data_offset = g->mf.size;
    uint64_t avail = g->mf.size - g->data_offset;

    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        const char *nm = (const char *)t->name.p;
        int nl = (int)t->name.len;
        if (t->type < 0 || t->type >= T_COUNT || !ttraits[t->type].bytes) {
            fail(st, LLM_ERR_FORMAT, "%s: tensor '%.*s' has unknown type %d", path, nl, nm, t->type);
            return LLM_ERR_FORMAT;
        }
        const type_traits *tt = &ttraits[t->type];
        uint64_t n = 1;
        for (int d = 0; d < 4; d++)
            if (!mul_ok(n, t->ne[d], &n) || n > ((uint64_t)1 << 50)) {
                fail(st, LLM_ERR_FORMAT, "%s: tensor '%.*s' has an impossible shape", path, nl, nm);
                return LLM_ERR_FORMAT;
            }
        if (t->ne[0] % tt->blck) {
            fail(st, LLM_ERR_FORMAT, "%s: tensor '%.*s': row length %llu is not a multiple of the %s block (%d)", path, nl,
                 nm, (unsigned long long)t->ne[0], tt->name, tt->blck);
            return LLM_ERR_FORMAT;
        }
        t->size = n / tt->blck * tt->bytes;
        if (t->offset % g->alignment) {
            fail(st, LLM_ERR_FORMAT, "%s: tensor '%.*s' offset %llu is not aligned", path, nl, nm, (unsigned long long)t->offset);
            return LLM_ERR_FORMAT;
        }
        if (t->offset > avail || t->size > avail - t->offset) {
            fail(st, LLM_ERR_FORMAT, "%s: tensor '%.*s' (offset %llu, %llu bytes) lies out of the file (%llu data bytes): "
                 "truncated or corrupt", path, nl, nm, (unsigned long long)t->offset, (unsigned long long)t->size,
                 (unsigned long long)avail);
            return LLM_ERR_FORMAT;
        }
        t->data = g->mf.data + g->data_offset + t->offset;
    }
    dup = index_names(&g->names, g->tensors, sizeof *g->tensors, g->n_tensors);
    if (dup < 0) return fail(st, LLM_ERR_NOMEM, "%s: out of memory", path);
    if (dup) return fail(st, LLM_ERR_FORMAT, "%s: duplicate tensor '%.*s'", path, (int)g->tensors[dup - 1].name.len,
                         (const char *)g->tensors[dup - 1].name.p);
    return LLM_OK;
}

static int gguf_open(gguf_file *g, const char *path, llm_status *st) {
    memset(g, 0, sizeof *g);
    g->path = path;
    int rc = map_file(&g->mf, path, st);
    if (!rc) rc = gguf_parse(g, path, st);
    if (rc) gguf_close(g);
    return rc;
}

static const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name) {
    return index_find(&g->names, g->tensors, sizeof *g->tensors, name);
}

/* "[ne0, ne1, ...]": the shape as the file has it */
static void gguf_shape(const gguf_tensor *t, char *buf, size_t cap) {
    int k = snprintf(buf, cap, "[%llu", (unsigned long long)t->ne[0]);
    for (int d = 1; d < t->n_dims && k > 0 && (size_t)k < cap; d++) k += snprintf(buf + k, cap - (size_t)k, ", %llu", (unsigned long long)t->ne[d]);
    if (k > 0 && (size_t)k < cap) snprintf(buf + k, cap - (size_t)k, "]");
}

/* 2b. llama2.c checkpoints ("legacy" v0 export): seven int32
 *   dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (< 0: separate classifier), seq_len
 * then float32 arrays in this order: token_embedding (vocab, dim), rms_att (L, dim), wq (L, dim, dim),
 * wk (L, kv_dim, dim), wv (L, kv_dim, dim), wo (L, dim, dim), rms_ffn (L, dim), w1 (L, hidden, dim),
 * w2 (L, dim, hidden), w3 (L, hidden, dim), rms_final (dim), freq_cis (seq_len, head_size) - unused,
 * and wcls (vocab, dim) when the classifier is separate. All matrices are (rows = out, cols = in). */
typedef struct { int32_t dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len; } l2c_header;

/* ============================================================================================
 * 3. The model
 * ========================================================================================== */

/* A weight matrix: rows of `cols` elements of one ggml type, each row_bytes long, rows contiguous.
 * After placement (section 5) thread i's rows live in its own memory at slice[i]; if packed
 * (the port's layout for the type, rvv_kernels.h: weight_layout), its first rows (a multiple of
 * packed->rows) are in groups, the rest after them: as one more group holding the range's last
 * packed->rows rows (a tail group, section 5), or in the file's layout. */
typedef struct {
    int type;
    int64_t rows, cols;
    size_t row_bytes;
    const uint8_t *data;
    uint8_t **slice;          /* per thread, its rows in its arena (place_weights); NULL: rows at data */
    const weight_layout *packed;  /* NULL: the file's layout */
} tensor;

typedef struct {
    tensor attn_norm, wq, wk, wv, wo, ffn_norm, w1, w2, w3;   /* w1 = gate, w3 = up, w2 = down */
    tensor bq, bk, bv;                                         /* qwen2: biases of q, k, v */
} layer_weights;

typedef struct {
    char arch[16];            /* "llama", "qwen2" (the prefix of its GGUF keys) */
    int dim, hidden, n_layers, n_heads, n_kv_heads, head_size, kv_dim, vocab, ctx_train, n_rot;
    int rope_neox, qkv_bias;  /* qwen2 */
    float eps, rope_theta, rope_pos_scale;
} hparams;

/* One merge rule "left right" of rank `rank` (lower merges first) producing token `result`.
 * Open-addressing slots keyed by the (left, right) token-id pair; left = -1 marks an empty slot. */
typedef struct { int32_t left, right, rank, result; } bpe_merge;
/* A control or user-defined token, matched as a whole in the text. */
typedef struct { const char *text; int len, id, control; } bpe_special;

enum { BPE_PRE_LLAMA3 = 1, BPE_PRE_QWEN2 = 2 };

typedef struct bpe_model {
    int pre;                  /* BPE_PRE_*: which split pattern */
    const char *pre_name;     /* the tokenizer.ggml.pre value (static string) */
    int max_digits;           /* \p{N}{1,max_digits}: 3 for Llama 3, 1 for Qwen2 */
    int ignore_merges;        /* a pre-token that is itself a vocabulary token is emitted as is (Llama 3) */
    bpe_merge *merges;        /* hash of merge rules, merge_mask + 1 slots (a power of two) */
    uint32_t merge_mask;
    int n_merges;
    int byte_tok[256];        /* token of each byte's mapped character, -1 if the vocabulary lacks it */
    uint8_t byte_utf8[256][2];/* GPT-2 byte -> printable code point (< 0x144), as UTF-8 */
    uint8_t byte_utf8_len[256];
    int16_t cp_byte[0x144];   /* code point -> byte, -1 if none */
    bpe_special *special;     /* the CONTROL and USER_DEFINED tokens sorted by text (memcmp order) */
    int n_special;
    uint8_t special_first[256]; /* 1 if some special token's text starts with this byte */
} bpe_model;

/* Tokenizer: pieces as UTF-8 (SentencePiece: U+2581 for space; BPE: GPT-2's byte map), an open-addressing
 * hash from piece to id, and the id of each byte token <0xXX>. */
enum { TOK_NORMAL = 1, TOK_UNKNOWN = 2, TOK_CONTROL = 3, TOK_USER = 4, TOK_UNUSED = 5, TOK_BYTE = 6 };
typedef struct {
    int n_vocab;
    char **piece;           /* NUL-terminated copies, in one arena */
    int *piece_len;
    float *score;
    uint8_t *type;
    int *hash; int hash_size; /* id + 1, 0 = empty; size a power of two */
    int byte_id[256];
    int bos, eos, unk, eot;
    int add_bos, add_eos, add_space_prefix; /* tokenizer.ggml.add_bos_token / add_eos_token */
    struct bpe_model *bpe;    /* byte-level BPE state (tokenizer.ggml.model "gpt2"); NULL: SentencePiece */
    char *arena;
} tokenizer;

struct llm_model {
    hparams hp;
    int from_llama2c;
    tensor tok_embd, out_norm, output, rope_freqs;
    layer_weights *layers;
    tokenizer tok;
    gguf_file gguf;
    mapped_file bin;
    int n_threads;
    struct pool *pool;
    uint8_t *small;           /* owned copies of the norm, bias and rope_freqs vectors */
    int numa;                 /* LLM_NUMA_* in effect */
    int n_nodes;
    int *thread_cpu, *thread_node; /* per thread: pinned cpu (-1: not pinned) and its node */
    uint8_t **arena;          /* per thread: the memory holding its rows of every matrix */
    size_t *arena_bytes, *arena_used;
    uint8_t **slices;         /* storage for all tensors' slice arrays */
    kernel_port k;            /* the kernels of this build, NULL entries resolved (rvv_kernels.h) */
};

static const char *layer_tensor_names[] = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                                  "ffn_gate", "ffn_down", "ffn_up"};

/* Check a tensor's shape (cols = ne0 = input dimension, rows = ne1) and fill a tensor struct. */
static int bind_tensor(tensor *t, const gguf_file *g, const char *name, int64_t cols, int64_t rows, int optional,
                       llm_status *st) {
    const gguf_tensor *gt = gguf_find_tensor(g, name);
    memset(t, 0, sizeof *t);
    if (!gt) return optional ? LLM_OK : fail(st, LLM_ERR_FORMAT, "%s: tensor '%s' is missing", g->path, name);
    /* trailing dimensions of size 1 do not count, as in ggml: [64, 64, 1] is [64, 64] */
    if (gt->ne[2] != 1 || gt->ne[3] != 1 || (int64_t)gt->ne[0] != cols || (int64_t)gt->ne[1] != rows) {
        char shape[96];
        gguf_shape(gt, shape, sizeof shape);
        return fail(st, LLM_ERR_FORMAT, rows == 1 ? "%s: tensor '%s' has shape %s, expected [%lld] from the hyper-parameters"
                                                  : "%s: tensor '%s' has shape %s, expected [%lld, %lld] from the hyper-parameters",
                    g->path, name, shape, (long long)cols, (long long)rows);
    }
    if (!ttraits[gt->type].supported)
        return fail(st, LLM_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, which this runtime does not support yet",
                    g->path, name, type_name(gt->type));
    t->type = gt->type;
    t->rows = rows;
    t->cols = cols;
    t->row_bytes = (size_t)(cols / ttraits[gt->type].blck * ttraits[gt->type].bytes);
    t->data = gt->data;
    return LLM_OK;
}

/* Norm weights are used as float vectors: only F32 is accepted for 1-D tensors. */
static int bind_norm(tensor *t, const gguf_file *g, const char *name, int64_t n, llm_status *st) {
    int rc = bind_tensor(t, g, name, n, 1, 0, st);
    if (rc) return rc;
    if (t->type != T_F32) return fail(st, LLM_ERR_UNSUPPORTED, "%s: norm tensor '%s' must be F32, not %s", g->path, name, type_name(t->type));
    return LLM_OK;
}

static int check_hparams(const hparams *hp, const char *path, llm_status *st) {
    if (hp->dim <= 0 || hp->n_layers <= 0 || hp->hidden <= 0 || hp->vocab <= 0)
        return fail(st, LLM_ERR_FORMAT, "%s: invalid hyper-parameters (dim %d, layers %d, ffn %d, vocab %d)", path, hp->dim,
                    hp->n_layers, hp->hidden, hp->vocab);
    if (hp->n_heads <= 0 || hp->n_kv_heads <= 0)
        return fail(st, LLM_ERR_FORMAT, "%s: invalid head count (%d heads, %d kv heads)", path, hp->n_heads, hp->n_kv_heads);
    if (hp->dim % hp->n_heads)
        return fail(st, LLM_ERR_FORMAT, "%s: dim %d is not a multiple of the head count %d", path, hp->dim, hp->n_heads);
    if (hp->n_heads % hp->n_kv_heads)
        return fail(st, LLM_ERR_FORMAT, "%s: kv head count %d does not divide head count %d", path, hp->n_kv_heads, hp->n_heads);
    if (hp->n_rot <= 0 || hp->n_rot > hp->head_size || hp->n_rot % 2)
        return fail(st, LLM_ERR_FORMAT, "%s: rope dimension %d does not fit head size %d", path, hp->n_rot, hp->head_size);
    if (hp->dim > (1 << 20) || hp->hidden > (1 << 22) || hp->n_layers > 4096 || hp->vocab > (1 << 24))
        return fail(st, LLM_ERR_FORMAT, "%s: hyper-parameters out of range", path);
    if (!(hp->eps > 0 && hp->eps < 1) || !(hp->rope_theta > 0))
        return fail(st, LLM_ERR_FORMAT, "%s: invalid rms epsilon or rope base", path);
    return LLM_OK;
}

static int tokenizer_from_gguf(tokenizer *tk, const gguf_file *g, llm_status *st);
static int tokenizer_from_llama2c(tokenizer *tk, const char *path, int expect_vocab, llm_status *st);
static void tokenizer_free(tokenizer *tk);

/* A key of the model's architecture: "<arch>.<suffix>" */
static const char *arch_key(const llm_model *m, const char *suffix) {
    static _Thread_local char key[128];
    snprintf(key, sizeof key, "%s.%s", m->hp.arch, suffix);
    return key;
}

static int load_gguf_model(llm_model *m, const char *path, int vocab_only, llm_status *st) {
    gguf_file *g = &m->gguf;
    int rc = gguf_open(g, path, st);
    if (rc) return rc;
    if ((rc = tokenizer_from_gguf(&m->tok, g, st))) return rc;
    if (vocab_only) return LLM_OK;

    /* llama: adjacent-pair RoPE. qwen2: the same transformer with biases on q, k, v and
     * NEOX-style RoPE (element i pairs with i + n_rot/2). */
    hparams *hp = &m->hp;
    strview arch = gguf_get_str(g, "general.architecture");
    if (!arch.p && gguf_find(g, "general.architecture")) return wrong_type(g, "general.architecture", "a string", st);
    if (!arch.p) return fail(st, LLM_ERR_FORMAT, "%s: general.architecture is missing", path);
    if (sv_eq(arch, "llama")) snprintf(hp->arch, sizeof hp->arch, "llama");
    else if (sv_eq(arch, "qwen2")) { snprintf(hp->arch, sizeof hp->arch, "qwen2"); hp->rope_neox = 1; hp->qkv_bias = 1; }
    else return fail(st, LLM_ERR_UNSUPPORTED, "%s: architecture '%.*s' is not supported (llama, qwen2)", path, (int)arch.len, (const char *)arch.p);
    if (g->n_tensors == 0) return fail(st, LLM_ERR_FORMAT, "%s: has no tensors (a vocab-only file?)", path);

    /* integer hyper-parameters (a missing one is 0 and fails check_hparams); errors name the key */
    struct { const char *suffix; int64_t def; int *to; } ik[] = {
        {"embedding_length", 0, &hp->dim}, {"block_count", 0, &hp->n_layers}, {"attention.head_count", 0, &hp->n_heads},
        {"feed_forward_length", 0, &hp->hidden}, {"context_length", 2048, &hp->ctx_train},
        {"attention.head_count_kv", -1, &hp->n_kv_heads},                /* default: the head count */
        {"rope.dimension_count", -2, &hp->n_rot},                        /* default: the head size */
    };
    for (int i = 0; i < (int)(sizeof ik / sizeof *ik); i++) {
        const char *key = arch_key(m, ik[i].suffix);
        int64_t v, def = ik[i].def == -1 ? hp->n_heads : ik[i].def == -2 ? (hp->n_heads > 0 ? hp->dim / hp->n_heads : 0) : ik[i].def;
        if (!gguf_get_int(g, key, def, &v)) return wrong_type(g, key, "an integer", st);
        if (v < 0 || v > INT_MAX) return fail(st, LLM_ERR_FORMAT, "%s: %s = %lld is out of range", path, key, (long long)v);
        *ik[i].to = (int)v;
    }
    /* float hyper-parameters: positive and below hi (no inf, NaN, or 1e300, which as a float32
     * would be inf); a rope.scaling.factor of 0 means no scaling, as in llama.cpp */
    double eps, theta, scale;
    struct { const char *suffix; double def, hi; int zero_ok; double *to; } fk[] = {
        {"attention.layer_norm_rms_epsilon", 1e-5, 1, 0, &eps}, {"rope.freq_base", 10000.0, 1e12, 0, &theta},
        {"rope.scaling.factor", 1.0, 1e6, 1, &scale},
    };
    for (int i = 0; i < (int)(sizeof fk / sizeof *fk); i++) {
        const char *key = arch_key(m, fk[i].suffix);
        double v;
        if (!gguf_get_float(g, key, fk[i].def, &v)) return wrong_type(g, key, "a number", st);
        if (!((fk[i].zero_ok ? v >= 0 : v > 0) && v < fk[i].hi))
            return fail(st, LLM_ERR_FORMAT, "%s: %s = %g is not usable: it must be %sa positive number below %g", path, key, v,
                        fk[i].zero_ok ? "0 or " : "", fk[i].hi);
        *fk[i].to = v;
    }
    hp->eps = (float)eps; hp->rope_theta = (float)theta;
    /* linear RoPE scaling divides positions by the factor; other types are not implemented */
    const char *key = arch_key(m, "rope.scaling.type");
    strview stype = gguf_get_str(g, key);
    if (!stype.p && gguf_find(g, key)) return wrong_type(g, key, "a string", st);
    if (stype.p && !sv_eq(stype, "none") && !sv_eq(stype, "linear") && !sv_eq(stype, "llama3"))
        return fail(st, LLM_ERR_UNSUPPORTED, "%s: rope scaling '%.*s' is not supported", path, (int)stype.len, (const char *)stype.p);
    hp->rope_pos_scale = stype.p && sv_eq(stype, "linear") && scale > 0 ? (float)(1.0 / scale) : 1.0f;
    hp->vocab = m->tok.n_vocab;
    hp->head_size = hp->n_heads > 0 ? hp->dim / hp->n_heads : 0;
    int64_t nv;
    key = arch_key(m, "vocab_size");
    if (!gguf_get_int(g, key, hp->vocab, &nv)) return wrong_type(g, key, "an integer", st);
    if (nv != hp->vocab)
        return fail(st, LLM_ERR_FORMAT, "%s: vocab size mismatch: %s = %lld, the tokenizer has %d tokens", path, key, (long long)nv,
                    hp->vocab);
    if ((rc = check_hparams(hp, path, st))) return rc;
    hp->kv_dim = hp->head_size * hp->n_kv_heads;
    if (hp->ctx_train <= 0) hp->ctx_train = 2048;

    if ((rc = bind_tensor(&m->tok_embd, g, "token_embd.weight", hp->dim, hp->vocab, 0, st))) return rc;
    if ((rc = bind_norm(&m->out_norm, g, "output_norm.weight", hp->dim, st))) return rc;
    if ((rc = bind_tensor(&m->output, g, "output.weight", hp->dim, hp->vocab, 1, st))) return rc;
    if (!m->output.data) m->output = m->tok_embd;                     /* tied classifier */
    /* Llama 3.1: per-frequency divisors of the RoPE angles (n_rot/2 floats) */
    if (gguf_find_tensor(g, "rope_freqs.weight") && (rc = bind_norm(&m->rope_freqs, g, "rope_freqs.weight", hp->n_rot / 2, st))) return rc;
    m->layers = xcalloc(hp->n_layers, sizeof *m->layers);
    if (!m->layers) return fail(st, LLM_ERR_NOMEM, "out of memory");
    for (int l = 0; l < hp->n_layers; l++) {
        layer_weights *L = &m->layers[l];
        tensor *ts[9] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->wo, &L->ffn_norm, &L->w1, &L->w2, &L->w3};
        int64_t shape[9][2] = {{hp->dim, 1}, {hp->dim, hp->dim}, {hp->dim, hp->kv_dim}, {hp->dim, hp->kv_dim},
                               {hp->dim, hp->dim}, {hp->dim, 1}, {hp->dim, hp->hidden}, {hp->hidden, hp->dim},
                               {hp->dim, hp->hidden}};
        char name[64];
        for (int i = 0; i < 9; i++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, layer_tensor_names[i]);
            rc = shape[i][1] == 1 ? bind_norm(ts[i], g, name, shape[i][0], st)
                                  : bind_tensor(ts[i], g, name, shape[i][0], shape[i][1], 0, st);
            if (rc) return rc;
        }
        if (hp->qkv_bias) {
            tensor *bs[3] = {&L->bq, &L->bk, &L->bv};
            int64_t n[3] = {hp->dim, hp->kv_dim, hp->kv_dim};
            for (int i = 0; i < 3; i++) {
                snprintf(name, sizeof name, "blk.%d.%s.bias", l, layer_tensor_names[1 + i]);
                if ((rc = bind_norm(bs[i], g, name, n[i], st))) return rc;
            }
        }
    }
    return LLM_OK;
}

static tensor f32_tensor(const float **p, int64_t rows, int64_t cols) {
    tensor t = {T_F32, rows, cols, (size_t)cols * 4, (const uint8_t *)*p, NULL, 0};
    *p += rows * cols;
    return t;
}

static int load_llama2c_model(llm_model *m, const char *path, const char *tok_path, llm_status *st) {
    int rc = map_file(&m->bin, path, st);
    if (rc) return rc;
    if (m->bin.size < sizeof(l2c_header)) return fail(st, LLM_ERR_FORMAT, "%s: truncated llama2.c header", path);
    l2c_header h;
    memcpy(&h, m->bin.data, sizeof h);
    if (!memcmp(m->bin.data, "ak42", 4) || h.dim == 0x616b3432)
        return fail(st, LLM_ERR_UNSUPPORTED, "%s: llama2.c version 1/2 export; only the legacy (version 0) f32 export is supported", path);
    hparams *hp = &m->hp;
    int shared = h.vocab > 0;
    hp->dim = h.dim; hp->hidden = h.hidden; hp->n_layers = h.n_layers; hp->n_heads = h.n_heads;
    hp->n_kv_heads = h.n_kv_heads; hp->vocab = h.vocab == INT_MIN ? 0 : abs(h.vocab); hp->ctx_train = h.seq_len;
    hp->eps = 1e-5f; hp->rope_theta = 10000.0f; hp->rope_pos_scale = 1.0f;
    snprintf(hp->arch, sizeof hp->arch, "llama");
    hp->head_size = hp->n_heads > 0 ? hp->dim / hp->n_heads : 0;
    hp->n_rot = hp->head_size;
    if ((rc = check_hparams(hp, path, st))) return rc;
    if (hp->ctx_train <= 0 || hp->ctx_train > (1 << 24)) return fail(st, LLM_ERR_FORMAT, "%s: invalid seq_len %d", path, hp->ctx_train);
    hp->kv_dim = hp->head_size * hp->n_kv_heads;

    /* expected size in floats, computed in 64 bits (all factors < 2^24 and few terms: no overflow) */
    uint64_t D = hp->dim, H = hp->hidden, L = hp->n_layers, V = hp->vocab, KV = hp->kv_dim;
    uint64_t need = V * D + L * (2 * D + 2 * D * D + 2 * KV * D + 3 * H * D) + D +
                    (uint64_t)hp->ctx_train * hp->head_size + (shared ? 0 : V * D);
    uint64_t have = (m->bin.size - sizeof h) / 4;
    if (have < need)
        return fail(st, LLM_ERR_FORMAT, "%s: truncated llama2.c checkpoint: %llu floats needed, %llu present", path,
                    (unsigned long long)need, (unsigned long long)have);

    const float *p = (const float *)(m->bin.data + sizeof h);
    m->tok_embd = f32_tensor(&p, V, D);
    m->layers = xcalloc(hp->n_layers, sizeof *m->layers);
    if (!m->layers) return fail(st, LLM_ERR_NOMEM, "out of memory");
    for (int l = 0; l < hp->n_layers; l++) m->layers[l].attn_norm = f32_tensor(&p, 1, D);
    for (int l = 0; l < hp->n_layers; l++) m->layers[l].wq = f32_tensor(&p, D, D);
    for (int l = 0; l < hp->n_layers; l++) m->layers[l].wk = f32_tensor(&p, KV, D);
    for (int l = 0; l < hp->n_layers; l++) m->layers[l].wv = f32_tensor(&p, KV, D);
    for (int l = 0; l < hp->n_layers; l++) m->layers[l].wo = f32_tensor(&p, D, D);
    for (int l = 0; l < hp->n_layers; l++) m->layers[l].ffn_norm = f32_tensor(&p, 1, D);
    for (int l = 0; l < hp->n_layers; l++) m->layers[l].w1 = f32_tensor(&p, H, D);
    for (int l = 0; l < hp->n_layers; l++) m->layers[l].w2 = f32_tensor(&p, D, H);
    for (int l = 0; l < hp->n_layers; l++) m->layers[l].w3 = f32_tensor(&p, H, D);
    m->out_norm = f32_tensor(&p, 1, D);
    p += (size_t)hp->ctx_train * hp->head_size;             /* freq_cis_real + imag: recomputed */
    m->output = shared ? m->tok_embd : f32_tensor(&p, V, D);
    m->from_llama2c = 1;
    return tokenizer_from_llama2c(&m->tok, tok_path, hp->vocab, st);
}

static int plan_threads(llm_model *m, const llm_model_params *p, llm_status *st);
static int pool_create(llm_model *m);
static int place_weights(llm_model *m, const llm_model_params *p, llm_status *st);
static void pool_destroy(struct pool *p);

llm_model_params llm_model_default_params(void) {
    llm_model_params p = {0};
    return p;
}

static int has_suffix(const char *s, const char *suf) {
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

/* GGUF by magic; anything else with a .bin name (or any non-GGUF file) as a llama2.c checkpoint.
 * A path that is not a regular file is not GGUF here: the loader then names the problem. */
static int is_gguf_file(const char *path) {
    struct stat sb;
    char magic[4] = {0};
    int fd = open_regular(path, &sb, NULL);
    if (fd < 0) return 0;
    ssize_t n = read(fd, magic, 4);
    close(fd);
    return n == 4 && memcmp(magic, "GGUF", 4) == 0;
}

/* What the paths of p name: a GGUF model, a llama2.c checkpoint with its tokenizer.bin or, for a
 * vocabulary alone, a tokenizer.bin. A combination that cannot work is an argument error
 * (LLM_ERR_ARG in st, -1 returned), found before any file is read but for the GGUF magic, so a
 * program can report it before it starts its work. */
enum { MODEL_GGUF, MODEL_LLAMA2C, MODEL_TOKENIZER };
static int model_source(const llm_model_params *p, llm_status *st) {
    if (!p->path) {
        if (!p->tokenizer_path) return fail(st, LLM_ERR_ARG, "no model or tokenizer given"), -1;
        return p->vocab_only ? MODEL_TOKENIZER : (fail(st, LLM_ERR_ARG, "no model given (-m)"), -1);
    }
    int gguf = is_gguf_file(p->path);
    if (gguf && p->tokenizer_path)
        return fail(st, LLM_ERR_ARG, "%s: a GGUF model has its own tokenizer; -z tokenizer.bin goes with llama2.c checkpoints only",
                    p->path), -1;
    if (gguf || !has_suffix(p->path, ".bin")) return MODEL_GGUF;
    if (!p->tokenizer_path) return fail(st, LLM_ERR_ARG, "%s: a llama2.c checkpoint needs its tokenizer: pass -z tokenizer.bin", p->path), -1;
    return MODEL_LLAMA2C;
}

llm_model *llm_model_open(const llm_model_params *p, llm_status *st) {
    llm_status dummy;
    if (!st) st = &dummy;
    st->code = LLM_OK; st->msg[0] = 0;
    llm_model *m = xcalloc(1, sizeof *m);
    if (!m) { fail(st, LLM_ERR_NOMEM, "out of memory"); return NULL; }
    m->k = kernels_resolve();
    int src = model_source(p, st), rc = src < 0 ? st->code : LLM_OK;
    if (src == MODEL_GGUF) rc = load_gguf_model(m, p->path, p->vocab_only, st);
    else if (src == MODEL_TOKENIZER || (src == MODEL_LLAMA2C && p->vocab_only))
        rc = tokenizer_from_llama2c(&m->tok, p->tokenizer_path, 0, st);
    else if (src == MODEL_LLAMA2C) rc = load_llama2c_model(m, p->path, p->tokenizer_path, st);
    if (!rc && !p->vocab_only) rc = plan_threads(m, p, st);
    if (!rc && !p->vocab_only && pool_create(m)) rc = fail(st, LLM_ERR_NOMEM, "out of memory for threads");
    if (!rc && !p->vocab_only) rc = place_weights(m, p, st);
    if (rc) {
        if (st->code == LLM_OK) fail(st, rc, "failed to load model");
        llm_model_free(m);
        return NULL;
    }
    return m;
}

void llm_model_free(llm_model *m) {
    if (!m) return;
    if (m->pool) pool_destroy(m->pool);
    for (int i = 0; m->arena && i < m->n_threads; i++)
        if (m->arena[i]) munmap(m->arena[i], m->arena_bytes[i]);
    free(m->arena); free(m->arena_bytes); free(m->arena_used); free(m->slices); free(m->thread_cpu); free(m->thread_node);
    free(m->small);
    tokenizer_free(&m->tok);
    free(m->layers);
    gguf_close(&m->gguf);
    unmap_file(&m->bin);
    free(m);
}

int llm_n_vocab(const llm_model *m) { return m->tok.n_vocab; }
int llm_n_ctx_train(const llm_model *m) { return m->hp.ctx_train; }
int llm_token_bos(const llm_model *m) { return m->tok.bos; }
int llm_token_eos(const llm_model *m) { return m->tok.eos; }
int llm_is_eog(const llm_model *m, int t) { return t == m->tok.eos || t == m->tok.bos || (m->tok.eot >= 0 && t == m->tok.eot); }

/* ============================================================================================
 * 4. Threads
 * ============================================================================================
 * A pool of persistent workers created once per model. pool_run(fn) runs fn(arg, ith, nth) on
 * every thread (the caller is thread 0) and returns when all are done. Between tasks workers
 * spin briefly (SPIN_SECONDS) on a generation counter, then sleep on a condition variable, so
 * an idle model burns no CPU. Every thread owns fixed row ranges (rows_of) of every matrix,
 * placed in its memory; a matmul lets a thread that is done help with the rows another has not
 * started (section 6), but each output element is always computed whole, in one summation order.
 */
typedef void (*task_fn)(void *arg, int ith, int nth);

/* CPU lists as in sysfs and taskset: "0-3,8,10-11". Returns the count, or -1 if malformed. */
static int parse_cpulist(const char *s, int *out, int max) {
    int n = 0;
    while (*s && *s != '\n') {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s || a < 0 || a >= CPU_SETSIZE) return -1;
        s = end;
        if (*s == '-') {
            b = strtol(s + 1, &end, 10);
            if (end == s + 1 || b < a || b >= CPU_SETSIZE) return -1;
            s = end;
        }
        for (long c = a; c <= b; c++) { if (n >= max) return -1; out[n++] = (int)c; }
        if (*s == ',') s++;
        else if (*s && *s != '\n') return -1;
    }
    return n;
}

static int read_line_file(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    return n > 0;
}

/* node_of[cpu] for every cpu (-1 unknown) from /sys/devices/system/node/nodeN/cpulist; returns
 * the number of nodes (1 when sysfs has no NUMA information). */
static int read_numa_nodes(int *node_of) {
    static int list[CPU_SETSIZE];
    char path[96], buf[4096];
    int nodes = 0;
    for (int c = 0; c < CPU_SETSIZE; c++) node_of[c] = -1;
    for (int node = 0; node < 1024; node++) {
        snprintf(path, sizeof path, "/sys/devices/system/node/node%d/cpulist", node);
        if (!read_line_file(path, buf, sizeof buf)) { if (node > 64) break; continue; }
        int n = parse_cpulist(buf, list, CPU_SETSIZE);
        for (int i = 0; i < n; i++) node_of[list[i]] = node;
        nodes = node + 1;
    }
    return nodes ? nodes : 1;
}

/* Decide threads, their CPUs and the NUMA mode. With --cpus thread i runs on the i-th listed
 * CPU. Otherwise, when placement needs pinning, CPUs are taken round-robin over the nodes
 * (node0's first, node1's first, ..., node0's second, ...) so any thread count spreads over all
 * memory controllers; CPU numbers are never assumed to follow node order. */
static int plan_threads(llm_model *m, const llm_model_params *p, llm_status *st) {
    static int node_of[CPU_SETSIZE], online[CPU_SETSIZE], order[CPU_SETSIZE];
    char buf[4096];
    int n_online = read_line_file("/sys/devices/system/cpu/online", buf, sizeof buf) ? parse_cpulist(buf, online, CPU_SETSIZE) : -1;
    if (n_online <= 0) {                                    /* no sysfs: 0..nprocs-1 */
        long np = sysconf(_SC_NPROCESSORS_ONLN);
        n_online = np > 0 && np < CPU_SETSIZE ? (int)np : 1;
        for (int i = 0; i < n_online; i++) online[i] = i;
    }
    m->n_nodes = read_numa_nodes(node_of);
    int n_order = 0;
    if (p->cpus) {
        n_order = parse_cpulist(p->cpus, order, CPU_SETSIZE);
        if (n_order <= 0) return fail(st, LLM_ERR_ARG, "--cpus '%s' is not a CPU list like 0-15,32-47", p->cpus);
    } else {
        for (int k = 0; n_order < n_online; k++)
            for (int node = -1; node < m->n_nodes; node++) {
                int seen = 0;                               /* the k-th online cpu of this node */
                for (int i = 0; i < n_online; i++)
                    if (node_of[online[i]] == node && seen++ == k) { order[n_order++] = online[i]; break; }
            }
    }
    int n = p->n_threads > 0 ? p->n_threads : p->cpus ? n_order : n_online;
    if (n > 1024) n = 1024;
    m->numa = p->numa == LLM_NUMA_AUTO ? (m->n_nodes > 1 ? LLM_NUMA_DISTRIBUTE : LLM_NUMA_OFF) : p->numa;
    int pin = p->cpus != NULL || m->numa == LLM_NUMA_DISTRIBUTE;
    m->thread_cpu = xcalloc(n, sizeof(int));
    m->thread_node = xcalloc(n, sizeof(int));
    if (!m->thread_cpu || !m->thread_node) return fail(st, LLM_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        m->thread_cpu[i] = pin ? order[i % n_order] : -1;
        m->thread_node[i] = pin && node_of[m->thread_cpu[i]] >= 0 ? node_of[m->thread_cpu[i]] : 0;
    }
    m->n_threads = n;
    return LLM_OK;
}

static int pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

struct pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t start_cv, done_cv;
    atomic_uint gen;          /* bumped for every task */
    atomic_int pending;       /* workers that have not finished the current task */
    atomic_int quit;
    task_fn fn;
    void *arg;
};

typedef struct { struct pool *p; int ith, cpu; } worker_arg;
static worker_arg *worker_args_of(struct pool *p) { return (worker_arg *)(p->threads + p->n); }

/* how long a waiting thread spins before it sleeps: long enough to bridge the gap between two
 * matmuls of a decode step, short enough not to steal a core from a thread that needs it */
#define SPIN_SECONDS 50e-6

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *a) {
    worker_arg *wa = a;
    struct pool *p = wa->p;
    unsigned seen = 0;
    if (wa->cpu >= 0) pin_to_cpu(wa->cpu);
    for (;;) {
        unsigned g;
        double t0 = 0;
        for (int i = 1; (g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen; i++) {
            cpu_relax();
            if (i % 64 == 0 && (t0 == 0 ? (t0 = now_sec(), 0) : now_sec() - t0 > SPIN_SECONDS)) break;
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen) pthread_cond_wait(&p->start_cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        seen = g;
        if (atomic_load(&p->quit)) return NULL;
        p->fn(p->arg, wa->ith, p->n);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void pool_run(struct pool *p, task_fn fn, void *arg) {
    if (p->n == 1) { fn(arg, 0, 1); return; }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->n);
    double t0 = 0;
    for (int i = 1; atomic_load_explicit(&p->pending, memory_order_acquire) != 0; i++) {
        cpu_relax();
        if (i % 64 == 0 && (t0 == 0 ? (t0 = now_sec(), 0) : now_sec() - t0 > SPIN_SECONDS)) break;
    }
    if (atomic_load_explicit(&p->pending, memory_order_acquire) != 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0) pthread_cond_wait(&p->done_cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

static void pool_destroy(struct pool *p) {
    if (!p) return;
    if (p->n > 1) {
        atomic_store(&p->quit, 1);
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
        pthread_cond_broadcast(&p->start_cv);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->start_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->threads);
    free(p);
}

static int pool_create(llm_model *m) {
    int n_threads = m->n_threads;
    struct pool *p = xcalloc(1, sizeof *p);
    if (!p) return LLM_ERR_NOMEM;
    p->n = n_threads;
    p->threads = xcalloc(n_threads, sizeof(pthread_t) + sizeof(worker_arg));
    if (!p->threads) { free(p); return LLM_ERR_NOMEM; }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (m->thread_cpu[0] >= 0 && pin_to_cpu(m->thread_cpu[0]) != 0)
        fprintf(stderr, "llm: warning: cannot pin to cpu %d: %s\n", m->thread_cpu[0], strerror(errno));
    worker_arg *wa = worker_args_of(p);
    for (int i = 1; i < n_threads; i++) {
        wa[i].p = p;
        wa[i].ith = i;
        wa[i].cpu = m->thread_cpu[i];
        if (pthread_create(&p->threads[i], NULL, worker_main, &wa[i]) != 0) {
            p->n = i;                                   /* run with the threads we got */
            break;
        }
    }
    m->pool = p;
    m->n_threads = p->n;
    return LLM_OK;
}

/* Thread ith's fixed share [*r0, *r1) of n rows; boundaries are multiples of 4 rows. */
static void rows_of(int64_t n, int ith, int nth, int64_t *r0, int64_t *r1) {
    *r0 = ith == 0 ? 0 : (n * ith / nth) & ~(int64_t)3;
    *r1 = ith == nth - 1 ? n : (n * (ith + 1) / nth) & ~(int64_t)3;
}

/* ============================================================================================
 * 5. Placement
 * ============================================================================================
 * With --numa distribute every thread gets one arena (its own anonymous mapping) and copies
 * into it, itself, its rows of every weight matrix: the kernel places a page on the node of the
 * thread that touches it first, and a thread's rows never share a page (nor a transparent huge
 * page) with another thread's, so huge pages stay on (fewer TLB misses). With --numa
 * interleave the arenas are bound round-robin over all nodes, page by page, before the copy.
 * The file's pages are dropped from the process once copied.
 * With --numa off the same copy happens, into unbound arenas, by unpinned threads: decode reads
 * all weights per token, and anonymous memory in transparent huge pages serves that better
 * than the mapped file's page-cache pages (tools/BENCHMARKS.md has the measurement).
 * Packing: where the port has a layout of its own for a type (kernel_port.packed: x86 with
 * AVX-512 VNNI packs Q8_0/Q4_0 and the K-quants 16 rows at a time, RVV 1.0 packs Q8_0/Q4_0
 * VLEN/8 rows at a time), the copy also regroups each thread's rows
 * into that layout. A range's last rows (fewer than a group) go into a tail group: one more
 * group of the range's last G rows, so it repeats G - rest rows of the group before it (they are
 * computed twice and their second results dropped, see mm_rows) and every row runs in the layout's
 * GEMM. Where that would repeat more than a 16th of the range (tail_group), the last rows stay
 * in the file's layout.
 * Norm, bias and rope_freqs vectors are copied into one owned block (own_small_tensors).
 */
#define MPOL_INTERLEAVE_MODE 3
#define ARENA_ALIGN ((size_t)2 << 20)

/* Anonymous memory starting on an ARENA_ALIGN (2 MiB) boundary, so that all of it can be
 * backed by transparent huge pages: decode walks ~all weights per token, and with 4 KiB pages
 * that is one TLB miss per 4 KiB read. */
static void *map_aligned(size_t bytes) {
    size_t len = bytes + ARENA_ALIGN;
    uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    uint8_t *a = (uint8_t *)(((uintptr_t)p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1));
    if (a > p) munmap(p, (size_t)(a - p));
    if (p + len > a + bytes) munmap(a + bytes, (size_t)(p + len - (a + bytes)));
    return a;
}

static int model_matrices(llm_model *m, tensor **out) {
    int n = 0;
    out[n++] = &m->tok_embd;
    if (m->output.data != m->tok_embd.data) out[n++] = &m->output;
    for (int l = 0; l < m->hp.n_layers; l++) {
        layer_weights *L = &m->layers[l];
        tensor *ts[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w1, &L->w2, &L->w3};
        for (int i = 0; i < 7; i++) out[n++] = ts[i];
    }
    return n;
}

/* rows per group of t's layout (1: the file's); of a thread's rows r0..r1 how many lead in
 * groups; whether the rest (fewer than a group) is stored as a tail group of rows r1-G..r1-1
 * after them (else in the file's layout); and the bytes the range takes in the thread's slice.
 * A tail group repeats G - rest rows, which every matmul reads again: it is used only where
 * that is at most 1/TAIL_SHARE of the range (e.g. not for Llama 2 7B's FFN ranges of 172 rows,
 * 64 threads, in groups of 128: that would read 84 rows more for 44). */
#define TAIL_SHARE 16
static int group_rows(const tensor *t) { return t->packed ? t->packed->rows : 1; }
static int64_t packed_rows(const tensor *t, int64_t r0, int64_t r1) { return t->packed ? (r1 - r0) / group_rows(t) * group_rows(t) : 0; }
static int tail_group(const tensor *t, int64_t r0, int64_t r1) {
    const int64_t g = group_rows(t), n = r1 - r0;
    return t->packed && g <= LAYOUT_MAX_ROWS && n > g && n % g != 0 && (g - n % g) * TAIL_SHARE <= n;
}
static size_t slice_bytes(const tensor *t, int64_t r0, int64_t r1) {
    const int64_t rows = tail_group(t, r0, r1) ? packed_rows(t, r0, r1) + group_rows(t) : r1 - r0;
    return (size_t)rows * t->row_bytes;
}

typedef struct { const tensor *t; } copy_task;
/* drop the whole pages inside [b, e) of the mapped file from the process (the data stays in
 * the page cache); pages that straddle b or e may still be read by a neighbour */
static void drop_file_pages(const uint8_t *b, const uint8_t *e) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t pb = ((uintptr_t)b + page - 1) & ~(uintptr_t)(page - 1), pe = (uintptr_t)e & ~(uintptr_t)(page - 1);
    if (pe > pb) madvise((void *)pb, pe - pb, MADV_DONTNEED);
}

/* Each thread copies (and packs) its rows in slabs of about COPY_SLAB bytes and drops each slab's
 * file pages behind it, so the process holds at most a slab per thread of the file besides the
 * arenas (peak RSS ~ weights, not weights + the largest matrix). */
#define COPY_SLAB ((size_t)8 << 20)
static void copy_worker(void *arg, int ith, int nth) {
    const tensor *t = ((copy_task *)arg)->t;
    int64_t r0, r1;
    rows_of(t->rows, ith, nth, &r0, &r1);
    const int64_t np = packed_rows(t, r0, r1), gr = group_rows(t);
    const int tail = tail_group(t, r0, r1);
    int64_t slab = (int64_t)(COPY_SLAB / t->row_bytes) / gr * gr;
    if (slab < gr) slab = gr;
    for (int64_t a = 0; a < r1 - r0; a += slab) {
        const int64_t b = r1 - r0 - a < slab ? r1 - r0 : a + slab, pb = b < np ? b : np;
        for (int64_t g = a; g < pb; g += gr)   /* a and slab are multiples of gr */
            t->packed->pack((int)t->cols, t->slice[ith] + (size_t)g * t->row_bytes, t->data + (size_t)(r0 + g) * t->row_bytes,
                            t->row_bytes);
        const int64_t c = a > np ? a : np;   /* the rest [np, r1 - r0) lies in one slab */
        if (b > c && tail)
            t->packed->pack((int)t->cols, t->slice[ith] + (size_t)np * t->row_bytes, t->data + (size_t)(r1 - gr) * t->row_bytes,
                            t->row_bytes);
        else if (b > c)
            memcpy(t->slice[ith] + (size_t)c * t->row_bytes, t->data + (size_t)(r0 + c) * t->row_bytes,
                   (size_t)(b - c) * t->row_bytes);
        drop_file_pages(t->data + (size_t)(r0 + a) * t->row_bytes, t->data + (size_t)(r0 + b) * t->row_bytes);
    }
}

/* --numa-report: move_pages(2) with no target nodes reports the node of each page */
typedef struct { llm_model *m; long (*count)[64]; } report_task;
static void report_worker(void *arg, int ith, int nth) {
    report_task *rt = arg;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    enum { BATCH = 512 };
    void *pages[BATCH];
    int status[BATCH];
    uint8_t *a = rt->m->arena[ith];
    size_t n = (rt->m->arena_used[ith] + page - 1) / page;
    for (size_t i = 0; i < n; i += BATCH) {
        int k = (int)(n - i < BATCH ? n - i : BATCH);
        for (int j = 0; j < k; j++) {
            pages[j] = a + (i + j) * page;
            /* read it first: a page the kernel's NUMA balancing has just unmapped for sampling
             * reports "not present"; the owner's read maps it back (and keeps it local) */
            (void)*(volatile uint8_t *)pages[j];
        }
        if (syscall(SYS_move_pages, 0, (unsigned long)k, pages, NULL, status, 0) != 0) { rt->count[ith][63] += k; continue; }
        for (int j = 0; j < k; j++) rt->count[ith][status[j] >= 0 && status[j] < 63 ? status[j] : 63]++;
    }
}

/* pages of each thread's arena per node: count[thread][node], node 63 = unknown */
static MAYBE_UNUSED long (*numa_page_counts(llm_model *m))[64] {
    long (*count)[64] = xcalloc(m->n_threads, sizeof *count);
    if (!count) return NULL;
    report_task rt = {m, count};
    pool_run(m->pool, report_worker, &rt);
    return count;
}

static void numa_report(llm_model *m) {
    long (*count)[64] = numa_page_counts(m);
    if (!count) return;
    long node_total[64] = {0};
    for (int i = 0; i < m->n_threads; i++) {
        long total = 0;
        for (int k = 0; k < 64; k++) { total += count[i][k]; node_total[k] += count[i][k]; }
        fprintf(stderr, "numa-report: thread %d cpu %d node %d pages %ld local %ld (%.2f%%) |", i, m->thread_cpu[i],
                m->thread_node[i], total, count[i][m->thread_node[i]], total ? 100.0 * count[i][m->thread_node[i]] / total : 0.0);
        for (int k = 0; k < m->n_nodes && k < 63; k++) fprintf(stderr, " node%d=%ld", k, count[i][k]);
        fprintf(stderr, " unknown=%ld\n", count[i][63]);
    }
    fprintf(stderr, "numa-report: all threads |");
    for (int k = 0; k < m->n_nodes && k < 63; k++) fprintf(stderr, " node%d=%ld", k, node_total[k]);
    fprintf(stderr, " unknown=%ld\n", node_total[63]);
    free(count);
}

static const weight_layout *layout_of(const llm_model *m, const llm_model_params *p, const tensor *t) {
    return m->k.packed[t->type].pack && !p->no_repack ? &m->k.packed[t->type] : NULL;
}

/* The vectors (norms, biases, rope_freqs) are copied into one owned block: read from the
 * mapped file, each would keep a page (with large folios up to 2 MiB) of the file resident
 * for a few KiB. Afterwards nothing reads the weights through the mapping; [*lo, *hi) is widened
 * to cover the vectors' bytes in the file. The file pages a vector's read maps are dropped
 * right after it, a 2 MiB window around it within the matrices' range [*lo, *hi) (all placed
 * by now): dropped only at the end, the windows of 45 norms of the F16 TinyLlama shape raised
 * the peak RSS by 60 MiB, over its budget of file + KV cache + 64 MiB. */
#define FOLIO_WINDOW ((size_t)2 << 20)   /* the largest file folio (page-cache page) we expect */
static int own_small_tensors(llm_model *m, const uint8_t **lo, const uint8_t **hi) {
    tensor **v = xcalloc(2 + 5 * (size_t)m->hp.n_layers, sizeof *v);
    int n = 0;
    if (!v) return LLM_ERR_NOMEM;
    v[n++] = &m->out_norm;
    v[n++] = &m->rope_freqs;
    for (int l = 0; l < m->hp.n_layers; l++) {
        layer_weights *L = &m->layers[l];
        v[n++] = &L->attn_norm; v[n++] = &L->ffn_norm; v[n++] = &L->bq; v[n++] = &L->bk; v[n++] = &L->bv;
    }
    size_t total = 0;
    for (int i = 0; i < n; i++)
        if (v[i]->data) total += ((size_t)v[i]->rows * v[i]->row_bytes + 63) & ~(size_t)63;
    if (total) m->small = aligned_zalloc(total);
    if (total && !m->small) { free(v); return LLM_ERR_NOMEM; }
    size_t off = 0;
    const uint8_t *mlo = *lo, *mhi = *hi;
    for (int i = 0; i < n; i++) {
        if (!v[i]->data) continue;
        size_t bytes = (size_t)v[i]->rows * v[i]->row_bytes;
        memcpy(m->small + off, v[i]->data, bytes);
        const uint8_t *wb = (const uint8_t *)((uintptr_t)v[i]->data & ~(uintptr_t)(FOLIO_WINDOW - 1));
        const uint8_t *we = wb + ((size_t)(v[i]->data + bytes - wb) + FOLIO_WINDOW - 1) / FOLIO_WINDOW * FOLIO_WINDOW;
        drop_file_pages(wb > mlo ? wb : mlo, we < mhi ? we : mhi);
        if (v[i]->data < *lo) *lo = v[i]->data;
        if (v[i]->data + bytes > *hi) *hi = v[i]->data + bytes;
        v[i]->data = m->small + off;
        off += (bytes + 63) & ~(size_t)63;
    }
    free(v);
    return LLM_OK;
}

static int place_weights(llm_model *m, const llm_model_params *p, llm_status *st) {
    int nth = m->n_threads, nt = 2 + 7 * m->hp.n_layers, npacked = 0;
    tensor **ts = xcalloc(nt, sizeof *ts);
    if (!ts) return fail(st, LLM_ERR_NOMEM, "out of memory");
    nt = model_matrices(m, ts);
    for (int j = 0; j < nt; j++) npacked += (ts[j]->packed = layout_of(m, p, ts[j])) != NULL;
    m->slices = xcalloc((size_t)nt * nth, sizeof(uint8_t *));
    m->arena = xcalloc(nth, sizeof(uint8_t *));
    m->arena_bytes = xcalloc(nth, sizeof(size_t));
    m->arena_used = xcalloc(nth, sizeof(size_t));
    if (!m->slices || !m->arena || !m->arena_bytes || !m->arena_used) { free(ts); return fail(st, LLM_ERR_NOMEM, "out of memory"); }
    for (int i = 0; i < nth; i++) {                       /* arena size: this thread's rows, 64-byte aligned */
        size_t bytes = 0;
        for (int j = 0; j < nt; j++) {
            int64_t r0, r1;
            rows_of(ts[j]->rows, i, nth, &r0, &r1);
            bytes += (slice_bytes(ts[j], r0, r1) + 63) & ~(size_t)63;
        }
        bytes = (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
        void *a = map_aligned(bytes);
        if (!a) { free(ts); return fail(st, LLM_ERR_NOMEM, "out of memory placing the weights (%zu bytes for thread %d)", bytes, i); }
        m->arena[i] = a;
        m->arena_bytes[i] = bytes;
        if (m->numa != LLM_NUMA_INTERLEAVE || m->n_nodes == 1) {
#ifdef MADV_HUGEPAGE
            madvise(a, bytes, MADV_HUGEPAGE);   /* a hint: no error if the kernel has no THP */
#endif
        } else {
            /* interleaving works per page: a transparent huge page would put 2 MiB on one node */
            madvise(a, bytes, MADV_NOHUGEPAGE);
            unsigned long mask[16] = {0};
            for (int k = 0; k < m->n_nodes && k < 1024; k++) mask[k / 64] |= 1ul << (k % 64);
            if (syscall(SYS_mbind, a, bytes, MPOL_INTERLEAVE_MODE, mask, (unsigned long)m->n_nodes + 1, 0) != 0 && i == 0)
                fprintf(stderr, "llm: warning: mbind(interleave) failed: %s\n", strerror(errno));
        }
        size_t off = 0;
        for (int j = 0; j < nt; j++) {
            int64_t r0, r1;
            rows_of(ts[j]->rows, i, nth, &r0, &r1);
            m->slices[(size_t)j * nth + i] = m->arena[i] + off;
            off += (slice_bytes(ts[j], r0, r1) + 63) & ~(size_t)63;
        }
        m->arena_used[i] = off;
    }
    size_t total = 0, done = 0;
    for (int j = 0; j < nt; j++) total += (size_t)ts[j]->rows * ts[j]->row_bytes;
    double t0 = now_sec(), last = t0;
    for (int j = 0; j < nt; j++) {
        tensor *t = ts[j];
        t->slice = m->slices + (size_t)j * nth;
        copy_task ct = {t};
        pool_run(m->pool, copy_worker, &ct);
        drop_file_pages(t->data, t->data + (size_t)t->rows * t->row_bytes);   /* incl. pages threads shared */
        done += (size_t)t->rows * t->row_bytes;
        if (!p->quiet && now_sec() - last > 0.5) {
            fprintf(stderr, "\rllm: placing weights %3.0f%% (%.2f of %.2f GiB)", 100.0 * done / total, done / 1073741824.0, total / 1073741824.0);
            last = now_sec();
        }
    }
    if (m->output.data == m->tok_embd.data) m->output = m->tok_embd;   /* tied: same placed rows */
    /* all weights now live in the arenas and m->small: drop every file page they came from */
    const uint8_t *lo = ts[0]->data, *hi = ts[0]->data;
    for (int j = 0; j < nt; j++) {
        const uint8_t *d = ts[j]->data, *e = d + (size_t)ts[j]->rows * ts[j]->row_bytes;
        if (d < lo) lo = d;
        if (e > hi) hi = e;
    }
    if (own_small_tensors(m, &lo, &hi) != LLM_OK) { free(ts); return fail(st, LLM_ERR_NOMEM, "out of memory"); }
    drop_file_pages(lo, hi);
    size_t resident = 0;
    for (int i = 0; i < nth; i++) resident += m->arena_used[i];
    if (!p->quiet)
        fprintf(stderr, "%sllm: weights placed (%s, %d threads, %d node%s%s): %.1f MiB resident in per-thread arenas, %.2f s\n",
                last > t0 ? "\r" : "", m->numa == LLM_NUMA_DISTRIBUTE ? "distribute" : m->numa == LLM_NUMA_INTERLEAVE ? "interleave" : "numa off",
                nth, m->n_nodes, m->n_nodes > 1 ? "s" : "", npacked ? ", packed in the kernels' layout" : "",
                resident / 1048576.0, now_sec() - t0);
    free(ts);
    if (p->numa_report) numa_report(m);
    return LLM_OK;
}

/* ============================================================================================
 * 6. Matmul
 * ============================================================================================
 * Y[b][r] = W[r] . X[b] for b < nb activation rows and all rows r of W (Y is nb x W.rows).
 * Quantized weights take quantized activations (Q8_0 and Q4_0 weights: Q8_0; K-quants: Q8_K):
 * X is quantized once per call, before the threads start, and the integer kernels do the dot
 * products. Float weights take X as is.
 * Several matrices reading the same X (Q, K and V; gate and up) go in one call, one pool pass.
 * Each thread walks its own rows in tiles of MM_ROWS rows x all nb activation rows, so a tile
 * of weight rows is read from memory once per batch, not once per token. Packed rows (section 5)
 * go to the packed layout's GEMM in one call, which tiles them itself the same way.
 * The kernels are the port's (m->k, resolved at load: rvv_kernels.h, "The port table").
 */
#define MM_ROWS 16
#define MM_MIN_CHUNK 256       /* rows: the smallest piece of work handed out (a multiple of 16).
                                  Each piece is one kernel call, which restarts its memory
                                  streams: pieces much smaller than this decoded slower */
#define CLAIM_STRIDE 16       /* ints between two threads' claim counters: one cache line each */

typedef struct {
    int n_mats, nb;
    const tensor *w[3];
    float *y[3];
    const void *x;            /* float rows, or Q8_0 rows when the weights want them */
    size_t ldx;               /* bytes between activation rows */
    int glu;                  /* then y[0] = swiglu(y[0], y[1]), chunk by chunk */
    atomic_int *claim;        /* claim[v * CLAIM_STRIDE]: chunks of thread v's rows taken so far */
    const int *node;          /* NUMA node of each thread */
    const kernel_port *k;
} mm_task;

/* Work sharing. Thread v's rows of each matrix (rows_of; placed in its memory) are cut into
 * chunks; every thread first takes chunks of its own rows, in order, then helps the threads of
 * its own NUMA node by taking chunks they have not started (never another node's: weights are
 * read from local memory only). A faster thread so absorbs a slower one's tail instead of
 * waiting for it at the end of the matmul (the cores of a machine do not always read memory
 * equally fast). Each row is still computed whole, by one thread, with the same kernel and
 * summation order: results do not depend on who took it.
 * Chunks halve: the first is half the range, the next a quarter, ... down to MM_MIN_CHUNK rows,
 * so the owner streams through most of its rows in a few long runs (a kernel call restarts its
 * memory streams) and only the tail is finely cut. Boundaries are multiples of `align` rows from
 * the range start (16, or the rows of a packed layout's group if more): the groups and GEMM
 * tiles are those of one piece. With glu a chunk covers
 * the same rows of gate and up, then swiglu. */
/* chunk *c of n rows: [a, b) and 1; or, when there are fewer chunks, 0 with their count
 * subtracted from *c (so *c counts on into the next matrix) */
static int chunk_of(int64_t n, int align, int nth, int *c, int64_t *a, int64_t *b) {
    int64_t at = 0;
    for (int i = 0;; i++) {
        if (at >= n) { *c -= i; return 0; }
        int64_t len = nth == 1 ? n : (n - at) / 2 / align * align;   /* one thread: one piece */
        if (len < MM_MIN_CHUNK) len = MM_MIN_CHUNK;
        if (len > n - at) len = n - at;
        if (i == *c) { *a = at; *b = at + len; return 1; }
        at += len;
    }
}

/* rows [a, b) of matrix j, which lie in thread v's share */
#define MM_TAIL_NB 8          /* activation rows per pass over a tail group (its tile: 4 KiB at most) */
static void mm_rows(const mm_task *t, int j, int v, int nth, int64_t a, int64_t b) {
    const tensor *w = t->w[j];
    const kernel_port *k = t->k;
    int64_t r0, r1;
    rows_of(w->rows, v, nth, &r0, &r1);
    const uint8_t *base = w->slice ? w->slice[v] : w->data + (size_t)r0 * w->row_bytes;   /* row r0 */
    const int64_t pe = r0 + packed_rows(w, r0, r1);                                        /* packed: [r0, pe) */
    if (a < pe) {
        int64_t e = b < pe ? b : pe;
        w->packed->gemm((int)w->cols, (int)(e - a), t->nb, t->y[j] + a, (size_t)w->rows, base + (size_t)(a - r0) * w->row_bytes,
                        w->row_bytes, t->x, t->ldx);
        a = e;
    }
    if (a < b && tail_group(w, r0, r1)) {
        /* the tail group holds rows r1-G..r1-1: all G outputs go to a tile, rows [a, b) are kept
         * (the others are rows of the group before it, which another chunk may be writing) */
        const int g = group_rows(w);
        float tile[LAYOUT_MAX_ROWS * MM_TAIL_NB];
        for (int i = 0; i < t->nb; i += MM_TAIL_NB) {
            const int ni = t->nb - i < MM_TAIL_NB ? t->nb - i : MM_TAIL_NB;
            w->packed->gemm((int)w->cols, g, ni, tile, (size_t)g, base + (size_t)(pe - r0) * w->row_bytes, w->row_bytes,
                            (const uint8_t *)t->x + (size_t)i * t->ldx, t->ldx);
            for (int ib = 0; ib < ni; ib++)
                memcpy(t->y[j] + (size_t)(i + ib) * w->rows + a, tile + (size_t)ib * g + (a - (r1 - g)),
                       (size_t)(b - a) * sizeof(float));
        }
        return;
    }
    for (int64_t r = a; r < b; r += MM_ROWS) {
        int nr = (int)(b - r < MM_ROWS ? b - r : MM_ROWS);
        k->gemm[w->type]((int)w->cols, nr, t->nb, t->y[j] + r, (size_t)w->rows, base + (size_t)(r - r0) * w->row_bytes,
                         w->row_bytes, t->x, t->ldx);
    }
}

/* chunk c of thread v's rows (c counts over the matrices in order; with glu over gate's rows);
 * returns 0 when v has fewer chunks */
static int mm_chunk(const mm_task *t, int v, int nth, int c) {
    for (int j = 0; j < (t->glu ? 1 : t->n_mats); j++) {
        const tensor *w = t->w[j];
        int64_t r0, r1, a, b;
        rows_of(w->rows, v, nth, &r0, &r1);
        if (!chunk_of(r1 - r0, group_rows(w) > MM_ROWS ? group_rows(w) : MM_ROWS, nth, &c, &a, &b)) continue;
        a += r0;
        b += r0;
        if (!t->glu) { mm_rows(t, j, v, nth, a, b); return 1; }
        mm_rows(t, 0, v, nth, a, b);
        mm_rows(t, 1, v, nth, a, b);
        for (int i = 0; i < t->nb; i++)   /* element-wise, so any split of the rows gives the same values */
            t->k->swiglu((int)(b - a), t->y[0] + (size_t)i * w->rows + a, t->y[1] + (size_t)i * w->rows + a);
        return 1;
    }
    return 0;
}

static void mm_worker(void *arg, int ith, int nth) {
    const mm_task *t = arg;
    for (int i = 0; i < nth; i++) {               /* own rows first, then the same node's threads' */
        int v = (ith + i) % nth;
        if (t->node[v] != t->node[ith]) continue;
        while (mm_chunk(t, v, nth, atomic_fetch_add_explicit(&t->claim[v * CLAIM_STRIDE], 1, memory_order_relaxed)))
            ;
    }
}

/* ============================================================================================
 * 7. The forward pass
 * ============================================================================================
 * Run state for a batch of up to NB tokens (rows), each row one token:
 *   x (NB, dim)  residual stream        xb, xb2 (NB, dim)  normed input / attention output
 *   q (NB, dim)  k, v (NB, kv_dim)      hb, hb2 (NB, hidden)  FFN gate and up
 *   KV cache (layer, kv_head, n_ctx, head_size) for keys and for values, float32: one kv head's
 *   keys of all positions are contiguous, and the thread that attends with that head touched
 *   them first (so with --numa distribute they sit on its node).
 */
#define NB 32

struct llm_ctx {
    llm_model *m;
    int n_ctx;
    float *x, *xb, *xb2, *q, *k, *v, *hb, *hb2;
    float *att;               /* (n_threads, n_ctx) attention scores, one row per thread */
    atomic_int *claim;        /* matmul work sharing: one counter per thread, a cache line apart */
    uint8_t *xq;              /* Q8_0 copy of the current activation rows */
    uint8_t *erow;            /* with a packed embedding table: one row per thread (embed_worker) */
    float *rope;              /* (NB, n_rot) cos, sin pairs for the batch's positions */
    double *rope_freq;        /* (n_rot / 2) the turn of pair i per position (forward_chunk) */
    float *key_cache, *value_cache;
    size_t cache_floats;
    float *logits;            /* (rows, vocab) */
    size_t logits_rows;
    int *tokens, n_past;      /* the token at each position 0..n_past-1 the cache holds */
};

static float *falloc(size_t n) { return aligned_zalloc(n * sizeof(float)); }

/* The kv heads whose cache thread ith owns: a kv head belongs to the thread that holds the first
 * query head of its group when the H query heads are split evenly ([H*ith/nth, H*(ith+1)/nth)).
 * The owner first-touches its cache rows (so with --numa distribute they sit on its node), writes
 * every new key and value into them (qkv_worker) and, in decode, attends with them (attention_worker). */
static void kv_heads_of(const hparams *hp, int ith, int nth, int *k0, int *k1) {
    int group = hp->n_heads / hp->n_kv_heads;
    *k0 = (hp->n_heads * ith / nth + group - 1) / group;
    *k1 = ith == nth - 1 ? hp->n_kv_heads : (hp->n_heads * (ith + 1) / nth + group - 1) / group;
}

static void kv_touch_worker(void *arg, int ith, int nth) {
    llm_ctx *c = arg;
    const hparams *hp = &c->m->hp;
    int k0, k1;
    kv_heads_of(hp, ith, nth, &k0, &k1);
    size_t per_head = (size_t)c->n_ctx * hp->head_size;
    for (int l = 0; l < hp->n_layers; l++)
        for (int k = k0; k < k1; k++) {
            size_t at = ((size_t)l * hp->n_kv_heads + k) * per_head;
            memset(c->key_cache + at, 0, per_head * sizeof(float));
            memset(c->value_cache + at, 0, per_head * sizeof(float));
        }
}

llm_ctx *llm_ctx_new(llm_model *m, int n_ctx, llm_status *st) {
    const hparams *hp = &m->hp;
    if (!m->layers) { fail(st, LLM_ERR_ARG, "model has no weights (vocab only)"); return NULL; }
    if (n_ctx <= 0) n_ctx = hp->ctx_train;
    uint64_t kv_bytes;
    if (!mul_ok((uint64_t)hp->n_layers * hp->kv_dim * 4 * 2, (uint64_t)n_ctx, &kv_bytes) || kv_bytes > ((uint64_t)1 << 46)) {
        fail(st, LLM_ERR_NOMEM, "context of %d positions needs a KV cache too large to allocate", n_ctx);
        return NULL;
    }
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 && kv_bytes > (uint64_t)pages * (uint64_t)page) {
        fail(st, LLM_ERR_NOMEM, "a context of %d positions needs a %.1f GiB KV cache, more than this machine's memory (%.1f GiB)",
             n_ctx, kv_bytes / 1073741824.0, (double)pages * page / 1073741824.0);
        return NULL;
    }
    llm_ctx *c = xcalloc(1, sizeof *c);
    if (!c) { fail(st, LLM_ERR_NOMEM, "out of memory"); return NULL; }
    c->m = m;
    c->n_ctx = n_ctx;
    size_t cache = (size_t)hp->n_layers * n_ctx * hp->kv_dim;
    int wide = hp->dim > hp->hidden ? hp->dim : hp->hidden;
    c->x = falloc((size_t)NB * hp->dim);
    c->xb = falloc((size_t)NB * hp->dim);
    c->xb2 = falloc((size_t)NB * hp->dim);
    c->q = falloc((size_t)NB * hp->dim);
    c->k = falloc((size_t)NB * hp->kv_dim);
    c->v = falloc((size_t)NB * hp->kv_dim);
    c->hb = falloc((size_t)NB * hp->hidden);
    c->hb2 = falloc((size_t)NB * hp->hidden);
    c->att = falloc((size_t)m->n_threads * (m->hp.n_heads / m->hp.n_kv_heads) * n_ctx);
    c->claim = aligned_zalloc((size_t)m->n_threads * CLAIM_STRIDE * sizeof(atomic_int));
    c->xq = aligned_zalloc((size_t)NB * (wide / QK_K + 1) * sizeof(block_q8_K));   /* >= a Q8_0 row */
    if (m->tok_embd.packed) c->erow = aligned_zalloc((size_t)m->n_threads * m->tok_embd.row_bytes);
    c->rope = falloc((size_t)NB * hp->n_rot);
    c->rope_freq = xcalloc((size_t)hp->n_rot / 2 + 1, sizeof(double));
    if (c->rope_freq) {
        /* pair i turns by theta^(-2i/n_rot) per position (Llama 3.1: divided by rope_freqs[i]) */
        const float *ff = (const float *)m->rope_freqs.data;
        for (int i = 0; i < hp->n_rot / 2; i++) {
            c->rope_freq[i] = 1.0 / pow(hp->rope_theta, (double)(2 * i) / hp->n_rot);
            if (ff) c->rope_freq[i] /= ff[i];
        }
    }
    c->cache_floats = cache;
    c->key_cache = mmap(NULL, cache * sizeof(float), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    c->value_cache = mmap(NULL, cache * sizeof(float), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c->key_cache == MAP_FAILED) c->key_cache = NULL;
    if (c->value_cache == MAP_FAILED) c->value_cache = NULL;
    c->logits_rows = 1;
    c->logits = falloc((size_t)hp->vocab);
    c->tokens = xcalloc((size_t)n_ctx, sizeof(int));
    if (!c->tokens || !c->x || !c->xb || !c->xb2 || !c->q || !c->k || !c->v || !c->hb || !c->hb2 || !c->att || !c->claim || !c->xq || (m->tok_embd.packed && !c->erow) || !c->rope ||
        !c->rope_freq || !c->key_cache || !c->value_cache || !c->logits) {
        llm_ctx_free(c);
        fail(st, LLM_ERR_NOMEM, "out of memory for a context of %d positions (KV cache %.1f MiB)", n_ctx,
             kv_bytes / 1048576.0);
        return NULL;
    }
    pool_run(m->pool, kv_touch_worker, c);
    return c;
}

void llm_ctx_free(llm_ctx *c) {
    if (!c) return;
    if (c->key_cache) munmap(c->key_cache, c->cache_floats * sizeof(float));
    if (c->value_cache) munmap(c->value_cache, c->cache_floats * sizeof(float));
    float *bufs[] = {c->x, c->xb, c->xb2, c->q, c->k, c->v, c->hb, c->hb2, c->att, c->rope, c->logits};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    free(c->claim);
    free(c->xq);
    free(c->erow);
    free(c->rope_freq);
    free(c->tokens);
    free(c);
}

int llm_n_ctx(const llm_ctx *c) { return c->n_ctx; }
int llm_n_past(const llm_ctx *c) { return c->n_past; }
const float *llm_logits(const llm_ctx *c) { return c->logits; }

/* Y(nb, w.rows) = W . X(nb, w.cols) for up to three matrices sharing X (float rows, stride w.cols) */
/* glu (two matrices of as many rows: gate and up): y[0] = swiglu(y[0], y[1]) afterwards, each
 * thread on its own rows while they are in its cache */
static void matmul_glu(llm_ctx *c, int n_mats, const tensor *const *w, float *const *y, const float *x, int nb, int glu) {
    /* matrices in one call must agree on the activation format; split the call otherwise */
    for (int j = 1; j < n_mats; j++)
        if (ttraits[w[j]->type].act != ttraits[w[0]->type].act) {
            matmul_glu(c, j, w, y, x, nb, 0);
            matmul_glu(c, n_mats - j, w + j, y + j, x, nb, 0);
            for (int b = 0; glu && b < nb; b++) c->m->k.swiglu((int)w[0]->rows, y[0] + (size_t)b * w[0]->rows, y[1] + (size_t)b * w[0]->rows);
            return;
        }
    mm_task t = {.n_mats = n_mats, .nb = nb, .x = x, .ldx = (size_t)w[0]->cols * sizeof(float), .glu = glu,
                 .claim = c->claim, .node = c->m->thread_node, .k = &c->m->k};
    for (int i = 0; i < c->m->n_threads; i++) atomic_store_explicit(&c->claim[i * CLAIM_STRIDE], 0, memory_order_relaxed);
    for (int j = 0; j < n_mats; j++) { t.w[j] = w[j]; t.y[j] = y[j]; }
    int act = ttraits[w[0]->type].act;
    if (act != T_F32) {
        int n = (int)w[0]->cols;
        size_t row = (size_t)(n / ttraits[act].blck * ttraits[act].bytes);
        for (int b = 0; b < nb; b++) {
            if (act == T_Q8_0) c->m->k.quantize_q8_0(n, (block_q8_0 *)(void *)(c->xq + b * row), x + (size_t)b * n);
            else c->m->k.quantize_q8_K(n, (block_q8_K *)(void *)(c->xq + b * row), x + (size_t)b * n);
        }
        t.x = c->xq;
        t.ldx = row;
    }
    pool_run(c->m->pool, mm_worker, &t);
}
static void matmul(llm_ctx *c, int n_mats, const tensor *const *w, float *const *y, const float *x, int nb) {
    matmul_glu(c, n_mats, w, y, x, nb, 0);
}
static void matmul1(llm_ctx *c, const tensor *w, float *y, const float *x, int nb) { matmul(c, 1, &w, &y, x, nb); }

/* one row of an embedding table as floats */
static void row_to_float(const tensor *t, const uint8_t *p, float *out) {
    int n = (int)t->cols;
    switch (t->type) {
    case T_F32: memcpy(out, p, (size_t)n * 4); break;
    case T_F16: for (int i = 0; i < n; i++) out[i] = fp16_to_fp32((uint16_t)le_uint(p + 2 * i, 2)); break;
    case T_BF16: for (int i = 0; i < n; i++) out[i] = bf16_to_fp32((uint16_t)le_uint(p + 2 * i, 2)); break;
    case T_Q8_0: dequantize_row_q8_0(n, out, (const block_q8_0 *)p); break;
    case T_Q4_0: dequantize_row_q4_0(n, out, (const block_q4_0 *)p); break;
    case T_Q2_K: dequantize_row_q2_K(n, out, (const block_q2_K *)p); break;
    case T_Q3_K: dequantize_row_q3_K(n, out, (const block_q3_K *)p); break;
    case T_Q4_K: dequantize_row_q4_K(n, out, (const block_q4_K *)p); break;
    case T_Q5_K: dequantize_row_q5_K(n, out, (const block_q5_K *)p); break;
    case T_Q6_K: dequantize_row_q6_K(n, out, (const block_q6_K *)p); break;
    }
}

/* Convert a float row to a weight type (the inverse of row_to_float; `quantize`, tools/) */
static MAYBE_UNUSED void float_to_row(int type, int n, const float *x, void *out) {
    uint8_t *o = out;
    switch (type) {
    case T_F32: memcpy(o, x, (size_t)n * 4); break;
    case T_F16: for (int i = 0; i < n; i++) { uint16_t h = fp32_to_fp16(x[i]); o[2 * i] = (uint8_t)h; o[2 * i + 1] = (uint8_t)(h >> 8); } break;
    case T_BF16: for (int i = 0; i < n; i++) { uint16_t h = fp32_to_bf16(x[i]); o[2 * i] = (uint8_t)h; o[2 * i + 1] = (uint8_t)(h >> 8); } break;
    case T_Q8_0: quantize_row_q8_0_ref(n, (block_q8_0 *)o, x); break;
    case T_Q4_0: quantize_row_q4_0(n, (block_q4_0 *)o, x); break;
    case T_Q2_K: quantize_row_q2_K(n, (block_q2_K *)o, x); break;
    case T_Q3_K: quantize_row_q3_K(n, (block_q3_K *)o, x); break;
    case T_Q4_K: quantize_row_q4_K(n, (block_q4_K *)o, x); break;
    case T_Q5_K: quantize_row_q5_K(n, (block_q5_K *)o, x); break;
    case T_Q6_K: quantize_row_q6_K(n, (block_q6_K *)o, x); break;
    }
}

/* Attention for nb tokens at positions pos..pos+nb-1 of one layer, in two passes over the pool:
 *   1. qkv_worker: each thread finishes the rows of the kv heads it owns (kv_heads_of) and of
 *      their groups of query heads, for every token of the batch: the biases (Qwen2) added to
 *      q, k and v, RoPE on q and k (the angles of each token's position, c->rope), then the key
 *      and value rows appended to its part of the cache (which it touched first: with --numa
 *      distribute they sit on its node);
 *   2. attention_worker: for a unit (token b, kv head h), the scores of the group's query
 *      heads against the keys of positions 0..pos+b, softmax, and the weighted sum of the
 *      value rows into xb2. Decode (nb = 1): each thread takes the kv heads it owns, so it
 *      reads its own cache rows; prefill: units in fixed contiguous ranges per thread.
 * The same two passes for decode and prefill; every element goes through the same operations
 * whoever computes it, so the result does not depend on the thread count. */
typedef struct { llm_ctx *c; int layer, pos, nb; } att_task;

/* bias (when the model has them: bias is the layer's bias vector of this kind of row) and
 * RoPE for head `head` of token b, at v */
static void bias_rope_head(const llm_ctx *c, float *v, const float *bias, int head, int b) {
    const hparams *hp = &c->m->hp;
    const kernel_port *k = &c->m->k;
    if (hp->qkv_bias) k->axpy(hp->head_size, v, 1.0f, bias + (size_t)head * hp->head_size);
    const float *cs = c->rope + (size_t)b * hp->n_rot;
    if (hp->rope_neox) k->rope_neox(hp->n_rot, v, cs);
    else k->rope_adjacent(hp->n_rot, v, cs);
}

static void qkv_worker(void *arg, int ith, int nth) {
    const att_task *t = arg;
    llm_ctx *c = t->c;
    const hparams *hp = &c->m->hp;
    const layer_weights *L = &c->m->layers[t->layer];
    const int hs = hp->head_size, group = hp->n_heads / hp->n_kv_heads;
    int k0, k1;
    kv_heads_of(hp, ith, nth, &k0, &k1);
    for (int b = 0; b < t->nb; b++)
        for (int h = k0; h < k1; h++) {
            float *k = c->k + (size_t)b * hp->kv_dim + (size_t)h * hs, *v = c->v + (size_t)b * hp->kv_dim + (size_t)h * hs;
            bias_rope_head(c, k, (const float *)L->bk.data, h, b);
            if (hp->qkv_bias) c->m->k.axpy(hs, v, 1.0f, (const float *)L->bv.data + (size_t)h * hs);
            const size_t at = (((size_t)t->layer * hp->n_kv_heads + h) * c->n_ctx + t->pos + b) * hs;
            memcpy(c->key_cache + at, k, hs * sizeof(float));
            memcpy(c->value_cache + at, v, hs * sizeof(float));
            for (int g = h * group; g < (h + 1) * group; g++)   /* the query heads that read kv head h */
                bias_rope_head(c, c->q + (size_t)b * hp->dim + (size_t)g * hs, (const float *)L->bq.data, g, b);
        }
}

/* token embeddings: each thread converts the rows it owns (they may sit on its node) */
typedef struct { llm_ctx *c; const int *tokens; int nb; } embed_task;
static void embed_worker(void *arg, int ith, int nth) {
    const embed_task *t = arg;
    const tensor *e = &t->c->m->tok_embd;
    int64_t r0, r1;
    rows_of(e->rows, ith, nth, &r0, &r1);
    const uint8_t *base = e->slice ? e->slice[ith] : e->data + (size_t)r0 * e->row_bytes;   /* row r0 */
    const int64_t np = packed_rows(e, r0, r1);
    const int gr = group_rows(e), tail = tail_group(e, r0, r1);
    for (int b = 0; b < t->nb; b++) {
        int64_t i = t->tokens[b] - r0;
        if (i < 0 || t->tokens[b] >= r1) continue;
        float *out = t->c->x + (size_t)b * e->cols;
        if (i >= np && !tail) { row_to_float(e, base + (size_t)i * e->row_bytes, out); continue; }
        /* a packed row: back in the file's layout (in this thread's scratch row), then as floats;
         * a rest row is row i - (r1 - r0 - G) of the tail group, which starts after the groups */
        const int64_t g0 = i < np ? i / gr * gr : np, ig = i < np ? i % gr : i - (r1 - r0 - gr);
        uint8_t *row = t->c->erow + (size_t)ith * e->row_bytes;
        e->packed->unpack_row((int)e->cols, row, base + (size_t)g0 * e->row_bytes, (int)ig);
        row_to_float(e, row, out);
    }
}

static void attention_worker(void *arg, int ith, int nth) {
    const att_task *t = arg;
    llm_ctx *c = t->c;
    const hparams *hp = &c->m->hp;
    int hs = hp->head_size, group = hp->n_heads / hp->n_kv_heads;
    float scale = 1.0f / sqrtf((float)hs);
    size_t per_head = (size_t)c->n_ctx * hs;
    const float *kc = c->key_cache + (size_t)t->layer * hp->n_kv_heads * per_head;
    const float *vc = c->value_cache + (size_t)t->layer * hp->n_kv_heads * per_head;
    float *att = c->att + (size_t)ith * group * c->n_ctx;
    const kernel_port *k = &c->m->k;
    /* a unit: one token and one kv head, with the `group` query heads that share it (their q
     * rows are adjacent): the scores of all of them in one GEMM tile pass over the keys, so each
     * key row is read once per group (bitwise the dots: the gemm contract) */
    int64_t units = (int64_t)t->nb * hp->n_kv_heads, u0 = units * ith / nth, u1 = units * (ith + 1) / nth;
    if (t->nb == 1) {   /* decode: the kv heads whose cache rows this thread owns */
        int k0, k1;
        kv_heads_of(hp, ith, nth, &k0, &k1);
        u0 = k0;
        u1 = k1;
    }
    for (int64_t u = u0; u < u1; u++) {
        int b = (int)(u / hp->n_kv_heads), kvh = (int)(u % hp->n_kv_heads), p = t->pos + b;
        const float *q = c->q + (size_t)b * hp->dim + (size_t)kvh * group * hs;
        const float *kh = kc + (size_t)kvh * per_head, *vh = vc + (size_t)kvh * per_head;
        k->gemm[T_F32](hs, p + 1, group, att, (size_t)c->n_ctx, kh, (size_t)hs * sizeof(float), q, (size_t)hs * sizeof(float));
        for (int g = 0; g < group; g++) {
            float *a = att + (size_t)g * c->n_ctx;
            k->scale(p + 1, a, scale);
            k->softmax(p + 1, a);
            k->wsum(hs, p + 1, c->xb2 + (size_t)b * hp->dim + (size_t)(kvh * group + g) * hs, a, vh, (size_t)hs);
        }
    }
}

/* x += y over nb rows of dim: axpy with a = 1 (fma(1, y, x) rounds x + y once: the same bits) */
static void residual_add(const llm_model *m, float *x, const float *y, int nb) {
    for (int b = 0; b < nb; b++) m->k.axpy(m->hp.dim, x + (size_t)b * m->hp.dim, 1.0f, y + (size_t)b * m->hp.dim);
}

/* The transformer on nb <= NB tokens at positions pos..pos+nb-1.
 * logits_from: first row whose logits are wanted (rows before it skip the classifier). */
static void forward_chunk(llm_ctx *c, const int *tokens, int nb, int pos, int logits_from, float *logits) {
    llm_model *m = c->m;
    const hparams *hp = &m->hp;
    int dim = hp->dim;

    embed_task et = {c, tokens, nb};
    pool_run(m->pool, embed_worker, &et);

    /* RoPE angles: pair i of position p turns by p * c->rope_freq[i] (linear scaling: p times
     * rope_pos_scale). In double precision, rounded to float once: every C library then gives the
     * same cos and sin bits (float cosf/powf differ in the last bit between libraries), and the
     * angle of a late position stays accurate. */
    for (int i = 0; i < hp->n_rot / 2; i++) {
        const double freq = c->rope_freq[i];
        for (int b = 0; b < nb; b++) {
            double a = (double)(pos + b) * hp->rope_pos_scale * freq;
            c->rope[(size_t)b * hp->n_rot + 2 * i] = (float)cos(a);
            c->rope[(size_t)b * hp->n_rot + 2 * i + 1] = (float)sin(a);
        }
    }

    for (int l = 0; l < hp->n_layers; l++) {
        const layer_weights *L = &m->layers[l];
        /* attention: xb = norm(x); q, k, v = Wq xb, Wk xb, Wv xb */
        for (int b = 0; b < nb; b++)
            m->k.rmsnorm(dim, c->xb + (size_t)b * dim, c->x + (size_t)b * dim, (const float *)L->attn_norm.data, hp->eps);
        const tensor *wqkv[3] = {&L->wq, &L->wk, &L->wv};
        float *yqkv[3] = {c->q, c->k, c->v};
        matmul(c, 3, wqkv, yqkv, c->xb, nb);
        att_task at = {c, l, pos, nb};
        pool_run(m->pool, qkv_worker, &at);                /* q, k, v += biases; RoPE on q, k; k, v -> cache */
        pool_run(m->pool, attention_worker, &at);          /* xb2 = softmax(q k^T / sqrt(hs)) v */
        matmul1(c, &L->wo, c->xb, c->xb2, nb);
        residual_add(m, c->x, c->xb, nb);

        /* feed-forward: x += W2 (silu(W1 norm(x)) * W3 norm(x)) */
        for (int b = 0; b < nb; b++)
            m->k.rmsnorm(dim, c->xb + (size_t)b * dim, c->x + (size_t)b * dim, (const float *)L->ffn_norm.data, hp->eps);
        const tensor *wgu[2] = {&L->w1, &L->w3};
        float *ygu[2] = {c->hb, c->hb2};
        matmul_glu(c, 2, wgu, ygu, c->xb, nb, 1);                 /* hb = silu(hb) * hb2 */
        matmul1(c, &L->w2, c->xb, c->hb, nb);
        residual_add(m, c->x, c->xb, nb);
    }

    /* final norm and classifier, only for the rows whose logits are wanted */
    if (logits_from >= nb) return;
    int nl = nb - logits_from;
    for (int b = 0; b < nl; b++)
        m->k.rmsnorm(dim, c->xb + (size_t)b * dim, c->x + (size_t)(logits_from + b) * dim, (const float *)m->out_norm.data, hp->eps);
    matmul1(c, &m->output, logits, c->xb, nl);
}

int llm_eval(llm_ctx *c, const int *tokens, int n, int pos, int all_logits, llm_status *st) {
    const hparams *hp = &c->m->hp;
    if (n <= 0) return fail(st, LLM_ERR_ARG, "nothing to evaluate");
    if (pos < 0 || pos > c->n_ctx - n)
        return fail(st, LLM_ERR_ARG, "positions %d..%d are outside the context of %d", pos, pos + n - 1, c->n_ctx);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= hp->vocab) return fail(st, LLM_ERR_ARG, "token id %d out of range", tokens[i]);
    if (all_logits && (size_t)n > c->logits_rows) {
        float *p = falloc((size_t)n * hp->vocab);
        if (!p) return fail(st, LLM_ERR_NOMEM, "out of memory for %d rows of logits", n);
        free(c->logits);
        c->logits = p;
        c->logits_rows = (size_t)n;
    }
    for (int i = 0; i < n; i += NB) {
        int nb = n - i < NB ? n - i : NB;
        if (all_logits) forward_chunk(c, tokens + i, nb, pos + i, 0, c->logits + (size_t)i * hp->vocab);
        else forward_chunk(c, tokens + i, nb, pos + i, i + nb == n ? nb - 1 : nb, c->logits);
    }
    /* the known history ends where these tokens end; after a gap (pos > n_past) the positions
     * between are unknown, so the history stays as it was */
    if (pos <= c->n_past) {
        memcpy(c->tokens + pos, tokens, (size_t)n * sizeof(int));
        c->n_past = pos + n;
    }
    return LLM_OK;
}

/* Prefix reuse: keys and values depend only on the tokens at and before their position, so the
 * cache rows of the longest common prefix of the prompt and the history are already right; only
 * the rest is evaluated (at least the last token, whose logits the caller wants). */
int llm_eval_prompt(llm_ctx *c, const int *tokens, int n, int *reused, llm_status *st) {
    if (n <= 0) return fail(st, LLM_ERR_ARG, "nothing to evaluate");
    int keep = 0;
    while (keep < n && keep < c->n_past && c->tokens[keep] == tokens[keep]) keep++;
    if (keep == n) keep = n - 1;
    if (reused) *reused = keep;
    return llm_eval(c, tokens + keep, n - keep, keep, 0, st);
}

/* ============================================================================================
 * 8. Tokenizer: SentencePiece BPE (Llama 2 style)
 * ============================================================================================
 * Encoding: spaces become U+2581 ("▁"), one "▁" is prepended (add_space_prefix); the text is
 * split into UTF-8 characters; then, repeatedly, the adjacent pair whose concatenation is a
 * vocabulary piece with the highest score is merged (ties: leftmost first). A symbol that is
 * not a piece is emitted as its bytes, <0xXX> tokens (byte fallback).
 * A priority queue of candidate pairs makes this O(n log n) on long texts.
 */

static int tok_lookup(const tokenizer *tk, const char *s, int n) {
    uint32_t mask = (uint32_t)tk->hash_size - 1;
    for (uint32_t i = hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        int id = tk->hash[i] - 1;
        if (id < 0) return -1;
        if (tk->piece_len[id] == n && memcmp(tk->piece[id], s, n) == 0) return id;
    }
}

static int parse_byte_piece(const char *p, int n) {              /* "<0xAB>" -> 0xAB, else -1 */
    if (n != 6 || memcmp(p, "<0x", 3) || p[5] != '>' || !isxdigit((unsigned char)p[3]) || !isxdigit((unsigned char)p[4])) return -1;
    char hex[3] = {p[3], p[4], 0};
    return (int)strtol(hex, NULL, 16);
}

/* After pieces are filled: hash index, byte-token table, special ids checked. */
static int tokenizer_index(tokenizer *tk, const char *path, llm_status *st) {
    tk->hash_size = 16;
    while (tk->hash_size < 2 * tk->n_vocab) tk->hash_size *= 2;
    tk->hash = xcalloc(tk->hash_size, sizeof(int));
    if (!tk->hash) return fail(st, LLM_ERR_NOMEM, "out of memory");
    for (int i = 0; i < 256; i++) tk->byte_id[i] = -1;
    uint32_t mask = (uint32_t)tk->hash_size - 1;
    for (int id = 0; id < tk->n_vocab; id++) {
        int b = parse_byte_piece(tk->piece[id], tk->piece_len[id]);
        if (b >= 0 && (tk->type[id] == TOK_BYTE || tk->type[id] == 0)) {
            tk->type[id] = TOK_BYTE;
            if (tk->byte_id[b] < 0) tk->byte_id[b] = id;
            continue;                                           /* byte tokens are not merge targets */
        }
        if (!tk->type[id]) tk->type[id] = TOK_NORMAL;
        uint32_t i = hash_bytes(tk->piece[id], tk->piece_len[id]) & mask;
        for (;; i = (i + 1) & mask) {
            int other = tk->hash[i] - 1;
            if (other < 0) { tk->hash[i] = id + 1; break; }
            if (tk->piece_len[other] == tk->piece_len[id] && !memcmp(tk->piece[other], tk->piece[id], tk->piece_len[id])) break;
        }
    }
    if (tk->bos >= tk->n_vocab || tk->eos >= tk->n_vocab || tk->unk >= tk->n_vocab || tk->eot >= tk->n_vocab)
        return fail(st, LLM_ERR_FORMAT, "%s: special token id out of the vocabulary (%d tokens)", path, tk->n_vocab);
    return LLM_OK;
}

static int tokenizer_alloc(tokenizer *tk, int n, size_t arena_bytes) {
    tk->n_vocab = n;
    tk->piece = xcalloc(n, sizeof(char *));
    tk->piece_len = xcalloc(n, sizeof(int));
    tk->score = xcalloc(n, sizeof(float));
    tk->type = xcalloc(n, 1);
    tk->arena = malloc(arena_bytes ? arena_bytes : 1);
    return tk->piece && tk->piece_len && tk->score && tk->type && tk->arena;
}

static void bpe_model_free(struct bpe_model *bm);

static void tokenizer_free(tokenizer *tk) {
    bpe_model_free(tk->bpe);
    free(tk->piece); free(tk->piece_len); free(tk->score); free(tk->type); free(tk->arena); free(tk->hash);
    memset(tk, 0, sizeof *tk);
}

/* Pieces of tokenizer.ggml.tokens copied into the tokenizer's arena (same as the SPM loader). */
static int tok_load_pieces(tokenizer *tk, const gguf_file *g, const gguf_kv *toks, llm_status *st) {
    if (toks->type != GGUF_ARR || toks->arr_type != GGUF_STR || toks->arr_n == 0 || toks->arr_n > (1 << 24))
        return fail(st, LLM_ERR_FORMAT, "%s: tokenizer.ggml.tokens must be a non-empty string array", g->path);
    int n = (int)toks->arr_n;
    size_t bytes = 0;                   /* strings were bounds-checked while parsing */
    const uint8_t *p = toks->val;
    for (int i = 0; i < n; i++) { uint64_t len = le_uint(p, 8); bytes += len + 1; p += 8 + len; }
    if (!tokenizer_alloc(tk, n, bytes)) return fail(st, LLM_ERR_NOMEM, "out of memory");
    char *a = tk->arena;
    p = toks->val;
    for (int i = 0; i < n; i++) {
        uint64_t len = le_uint(p, 8);
        if (len > 65535) return fail(st, LLM_ERR_FORMAT, "%s: token %d is %llu bytes long", g->path, i, (unsigned long long)len);
        memcpy(a, p + 8, len);
        a[len] = 0;
        tk->piece[i] = a;
        tk->piece_len[i] = (int)len;
        a += len + 1;
        p += 8 + len;
    }
    return LLM_OK;
}

/* tokenizer.ggml.token_type (optional): 1 normal .. 6 byte; 0 where absent or out of range
 * (the SentencePiece loader then tells byte pieces by their text) */
static int tok_load_types(tokenizer *tk, const gguf_file *g, llm_status *st) {
    const gguf_kv *ty = gguf_find(g, "tokenizer.ggml.token_type");
    int n = tk->n_vocab;
    if (!ty) return LLM_OK;
    if (ty->type != GGUF_ARR || (ty->arr_type != GGUF_I32 && ty->arr_type != GGUF_U32) || ty->arr_n != (uint64_t)n)
        return fail(st, LLM_ERR_FORMAT, "%s: tokenizer.ggml.token_type must be %d integers", g->path, n);
    for (int i = 0; i < n; i++) {
        uint64_t t = le_uint(ty->val + 4 * i, 4);
        tk->type[i] = t <= TOK_BYTE ? (uint8_t)t : TOK_NORMAL;
    }
    return LLM_OK;
}

/* The special token ids (bos, eos, unknown, eot: integers, def when absent) and the flags
 * add_bos_token, add_space_prefix (bools; add_bos_def when absent, add_space_prefix 1). */
static int tok_load_settings(const gguf_file *g, const int64_t def[4], int64_t v[4], int add_bos_def, int flags[3], llm_status *st) {
    static const char *ids[4] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
                                 "tokenizer.ggml.eot_token_id"};
    static const char *bools[3] = {"tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_space_prefix", "tokenizer.ggml.add_eos_token"};
    const int bool_def[3] = {add_bos_def, 1, 0};
    for (int i = 0; i < 4; i++)
        if (!gguf_get_int(g, ids[i], def[i], &v[i])) return wrong_type(g, ids[i], "an integer", st);
    for (int i = 0; i < 3; i++)
        if (!gguf_get_bool(g, bools[i], bool_def[i], &flags[i])) return wrong_type(g, bools[i], "a bool", st);
    return LLM_OK;
}

static int bpe_from_gguf(tokenizer *tk, struct bpe_model **out, const gguf_file *g, llm_status *st);

static int tokenizer_from_gguf(tokenizer *tk, const gguf_file *g, llm_status *st) {
    strview model = gguf_get_str(g, "tokenizer.ggml.model");
    const gguf_kv *toks = gguf_find(g, "tokenizer.ggml.tokens");
    if (!model.p && gguf_find(g, "tokenizer.ggml.model")) return wrong_type(g, "tokenizer.ggml.model", "a string", st);
    if (!model.p || !toks) return fail(st, LLM_ERR_FORMAT, "%s: no tokenizer (vocab missing: tokenizer.ggml.model/tokens)", g->path);
    if (sv_eq(model, "gpt2")) return bpe_from_gguf(tk, &tk->bpe, g, st);
    if (!sv_eq(model, "llama"))
        return fail(st, LLM_ERR_UNSUPPORTED, "%s: tokenizer model '%.*s' is not supported (only 'llama' SentencePiece and 'gpt2' "
                    "byte-level BPE)", g->path, (int)model.len, (const char *)model.p);
    int rc = tok_load_pieces(tk, g, toks, st);
    if (rc) return rc;
    int n = tk->n_vocab;
    const gguf_kv *sc = gguf_find(g, "tokenizer.ggml.scores");
    if (sc) {
        if (sc->type != GGUF_ARR || sc->arr_type != GGUF_F32 || sc->arr_n != (uint64_t)n)
            return fail(st, LLM_ERR_FORMAT, "%s: tokenizer.ggml.scores must be %d floats", g->path, n);
        for (int i = 0; i < n; i++) tk->score[i] = f32_from_bits((uint32_t)le_uint(sc->val + 4 * i, 4));
    }
    if ((rc = tok_load_types(tk, g, st))) return rc;
    int64_t v[4];
    const int64_t def[4] = {1, 2, 0, -1};
    int flags[3];
    if ((rc = tok_load_settings(g, def, v, 1, flags, st))) return rc;
    for (int i = 0; i < 3; i++)
        if (v[i] < 0 || v[i] >= n) return fail(st, LLM_ERR_FORMAT, "%s: special token id %lld out of the vocabulary (%d tokens)", g->path, (long long)v[i], n);
    tk->bos = (int)v[0]; tk->eos = (int)v[1]; tk->unk = (int)v[2]; tk->add_bos = flags[0];
    tk->add_space_prefix = flags[1]; tk->eot = v[3] >= 0 && v[3] < n ? (int)v[3] : -1; tk->add_eos = flags[2];
    return tokenizer_index(tk, g->path, st);
}

/* llama2.c tokenizer.bin: i32 max_token_length, then per token: f32 score, i32 length, bytes.
 * Its pieces use a plain space where SentencePiece has "▁"; we store "▁" like GGUF does. */
static int tokenizer_from_llama2c(tokenizer *tk, const char *path, int expect_vocab, llm_status *st) {
    mapped_file mf;
    int rc = map_file(&mf, path, st);
    if (rc) return rc;
    cursor c = {mf.data, mf.data + mf.size, path, st, 0};
    cur_uint(&c, 4, "tokenizer header");
    /* first pass: count tokens and the arena size (each space grows to 3 bytes) */
    int n = 0;
    size_t bytes = 0;
    while (c.p < c.end && !c.err) {
        cur_uint(&c, 4, "token score");
        int64_t len = (int32_t)cur_uint(&c, 4, "token length");
        if (c.err) break;
        if (len < 0 || len > 65535) { fail(st, LLM_ERR_FORMAT, "%s: token %d has invalid length %lld", path, n, (long long)len); c.err = 1; break; }
        if (!cur_need(&c, (uint64_t)len, "token bytes")) break;
        for (int64_t i = 0; i < len; i++) bytes += c.p[i] == ' ' ? 3 : 1;
        bytes++;
        c.p += len;
        n++;
    }
    if (!c.err && expect_vocab && n != expect_vocab)
        fail(st, LLM_ERR_FORMAT, "%s: vocab size mismatch: the model has %d tokens, the tokenizer %d", path, expect_vocab, n), c.err = 1;
    if (!c.err && n == 0) fail(st, LLM_ERR_FORMAT, "%s: tokenizer has no tokens", path), c.err = 1;
    if (c.err) { unmap_file(&mf); return LLM_ERR_FORMAT; }
    if (!tokenizer_alloc(tk, n, bytes)) { unmap_file(&mf); return fail(st, LLM_ERR_NOMEM, "out of memory"); }
    const uint8_t *p = mf.data + 4;
    char *a = tk->arena;
    for (int i = 0; i < n; i++) {
        tk->score[i] = f32_from_bits((uint32_t)le_uint(p, 4));
        int len = (int)le_uint(p + 4, 4);
        p += 8;
        tk->piece[i] = a;
        for (int j = 0; j < len; j++) {
            if (p[j] == ' ') { memcpy(a, "\xe2\x96\x81", 3); a += 3; }
            else *a++ = (char)p[j];
        }
        *a++ = 0;
        tk->piece_len[i] = (int)(a - 1 - tk->piece[i]);
        p += len;
    }
    unmap_file(&mf);
    tk->unk = 0; tk->bos = 1; tk->eos = 2; tk->eot = -1;
    tk->add_bos = 1; tk->add_space_prefix = 1;
    if (n > 2) { tk->type[0] = TOK_UNKNOWN; tk->type[1] = TOK_CONTROL; tk->type[2] = TOK_CONTROL; }
    return tokenizer_index(tk, path, st);
}

typedef struct { int left, right, len; float score; } bigram;

/* max-heap order: higher score first, then the leftmost pair */
static int bigram_before(const bigram *a, const bigram *b) { return a->score > b->score || (a->score == b->score && a->left < b->left); }

typedef struct { bigram *v; int n, cap; } bigram_heap;

static int heap_push(bigram_heap *h, bigram b) {
    if (h->n == h->cap) {
        int cap = h->cap ? 2 * h->cap : 64;
        bigram *v = realloc(h->v, (size_t)cap * sizeof *v);
        if (!v) return 0;
        h->v = v; h->cap = cap;
    }
    int i = h->n++;
    while (i > 0 && bigram_before(&b, &h->v[(i - 1) / 2])) { h->v[i] = h->v[(i - 1) / 2]; i = (i - 1) / 2; }
    h->v[i] = b;
    return 1;
}

static bigram heap_pop(bigram_heap *h) {
    bigram top = h->v[0], last = h->v[--h->n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && bigram_before(&h->v[c + 1], &h->v[c])) c++;
        if (!bigram_before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

typedef struct { const tokenizer *tk; const char *text; int *start, *len, *prev, *next; bigram_heap heap; int oom; } spm_state;

static void spm_try_pair(spm_state *s, int left, int right) {
    if (left < 0 || right < 0) return;
    int n = s->len[left] + s->len[right];
    int id = tok_lookup(s->tk, s->text + s->start[left], n);
    if (id < 0) return;
    bigram b = {left, right, n, s->tk->score[id]};
    if (!heap_push(&s->heap, b)) s->oom = 1;
}

static int utf8_len(uint8_t c) { return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1; }

static int bpe_tokenize(const tokenizer *tk, const struct bpe_model *bm, const char *text, size_t len, int add_bos,
                        int parse_special, int *ids, int max);
static int bpe_token_to_piece(const tokenizer *tk, const struct bpe_model *bm, int token, int special, char *out, size_t cap);

static int spm_tokenize(const tokenizer *tk, const char *text, size_t len, int add_bos, int *ids, int max) {
    int count = 0;
#define EMIT(id) do { if (count < max) ids[count] = (id); count++; } while (0)
    if (add_bos) EMIT(tk->bos);
    if (len == 0 || len > (size_t)INT_MAX / 4) return count;
    /* normalized text: "▁" prefix, spaces -> "▁" */
    char *norm = malloc(3 * len + 4);
    size_t nn = 0;
    if (!norm) return -1;
    if (tk->add_space_prefix) { memcpy(norm, "\xe2\x96\x81", 3); nn = 3; }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') { memcpy(norm + nn, "\xe2\x96\x81", 3); nn += 3; }
        else norm[nn++] = text[i];
    }
    int *buf = malloc(4 * (nn + 1) * sizeof(int));
    if (!buf) { free(norm); return -1; }
    spm_state s = {tk, norm, buf, buf + nn + 1, buf + 2 * (nn + 1), buf + 3 * (nn + 1), {0}, 0};
    int nsym = 0;
    for (size_t i = 0; i < nn; nsym++) {
        int l = utf8_len((uint8_t)norm[i]);
        if ((size_t)l > nn - i) l = (int)(nn - i);
        for (int k = 1; k < l; k++)                             /* a broken sequence: its lead byte alone */
            if (((uint8_t)norm[i + k] & 0xC0) != 0x80) { l = k; break; }
        s.start[nsym] = (int)i; s.len[nsym] = l; s.prev[nsym] = nsym - 1; s.next[nsym] = nsym + 1;
        i += l;
    }
    s.next[nsym - 1] = -1;
    for (int i = 0; i + 1 < nsym; i++) spm_try_pair(&s, i, i + 1);
    while (s.heap.n && !s.oom) {
        bigram b = heap_pop(&s.heap);
        /* skip pairs made stale by an earlier merge */
        if (s.len[b.left] == 0 || s.len[b.right] == 0 || s.len[b.left] + s.len[b.right] != b.len) continue;
        s.len[b.left] += s.len[b.right];
        s.len[b.right] = 0;
        s.next[b.left] = s.next[b.right];
        if (s.next[b.right] >= 0) s.prev[s.next[b.right]] = b.left;
        spm_try_pair(&s, s.prev[b.left], b.left);
        spm_try_pair(&s, b.left, s.next[b.left]);
    }
    for (int i = 0; i >= 0 && !s.oom; i = s.next[i]) {
        int id = tok_lookup(tk, norm + s.start[i], s.len[i]);
        if (id >= 0) { EMIT(id); continue; }
        for (int j = 0; j < s.len[i]; j++) {                    /* byte fallback */
            int bid = tk->byte_id[(uint8_t)norm[s.start[i] + j]];
            EMIT(bid >= 0 ? bid : tk->unk);
        }
    }
#undef EMIT
    int oom = s.oom;
    free(s.heap.v);
    free(buf);
    free(norm);
    return oom ? -1 : count;
}

/* Text -> ids with the model's tokenizer. add_special: BOS in front and EOS at the end where
 * the file asks for them (tokenizer.ggml.add_bos_token, add_eos_token; llama.cpp's defaults:
 * BOS for SentencePiece and Llama 3, not for Qwen2; no EOS). parse_special: control tokens
 * written in the text are matched (byte-level BPE only). Returns the number of ids the text
 * needs (written up to max), -1 when out of memory. */
static int tokenize_text(const tokenizer *tk, const char *text, size_t len, int add_special, int parse_special, int *ids, int max) {
    int n = tk->bpe ? bpe_tokenize(tk, tk->bpe, text, len, add_special && tk->add_bos, parse_special, ids, max)
                    : spm_tokenize(tk, text, len, add_special && tk->add_bos, ids, max);
    if (n >= 0 && add_special && tk->add_eos && tk->eos >= 0) {
        if (n < max) ids[n] = tk->eos;
        n++;
    }
    return n;
}

int llm_tokenize(const llm_model *m, const char *text, size_t len, int add_special, int *ids, int max) {
    return tokenize_text(&m->tok, text, len, add_special, 0, ids, max);
}

/* A prompt as `llm run` reads it: BOS and EOS as the file says (unless LLM_PROMPT_NO_BOS), then
 * the text, with control tokens written in it parsed when asked (byte-level BPE; SentencePiece
 * text stays plain). */
int llm_tokenize_prompt(const llm_model *m, const char *text, size_t len, int flags, int *ids, int max) {
    return tokenize_text(&m->tok, text, len, !(flags & LLM_PROMPT_NO_BOS), (flags & LLM_PROMPT_SPECIAL) != 0, ids, max);
}

int llm_token_to_piece(const llm_model *m, int prev, int token, char *out, size_t cap) {
    const tokenizer *tk = &m->tok;
    if (tk->bpe) return bpe_token_to_piece(tk, tk->bpe, token, 0, out, cap);
    size_t n = 0;
    if (cap == 0) return 0;
    if (token >= 0 && token < tk->n_vocab && tk->type[token] != TOK_CONTROL) {
        const char *p = tk->piece[token];
        int len = tk->piece_len[token];
        if (tk->type[token] == TOK_BYTE) {
            if (cap > 1) out[n++] = (char)parse_byte_piece(p, len);
        } else {
            for (int i = 0; i < len && n + 1 < cap;) {
                if (i + 3 <= len && !memcmp(p + i, "\xe2\x96\x81", 3)) { out[n++] = ' '; i += 3; }
                else out[n++] = p[i++];
            }
            if (prev == tk->bos && n > 0 && out[0] == ' ') { memmove(out, out + 1, n - 1); n--; }
        }
    }
    out[n] = 0;
    return (int)n;
}

/* ============================================================================================
 * 8b. Tokenizer: byte-level BPE (GPT-2 style; Llama 3, Qwen2)
 * ============================================================================================
 * Vocabulary pieces are byte strings written with GPT-2's byte -> code point map (printable
 * bytes stand for themselves, the other 68 become U+0100..U+0143, e.g. space -> "Ġ").
 * Encoding: (1) control / user-defined tokens are cut out of the text as whole tokens
 * (control ones only with parse_special); (2) each remaining span is split into pre-tokens by
 * a hand-written scanner equivalent to the model's split regex (below); (3) each pre-token's
 * bytes are mapped to code points; Llama 3 emits the pre-token directly if it is a vocabulary
 * token ("ignore_merges"), otherwise the pair of adjacent symbols with the lowest merge rank is
 * merged repeatedly (ties: leftmost), then each symbol's id is emitted.
 * Llama 3 split regex (Qwen2: the same with \p{N} instead of \p{N}{1,3}):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,3} | ' '?[^\s\p{L}\p{N}]+[\r\n]*
 *   | \s*[\r\n]+ | \s+(?!\S) | \s+
 * Invalid UTF-8 bytes count as one "other" character each, so every input is tokenized and
 * decoding gives back exactly the input bytes.
 */

/* GPT-2 printable bytes: '!'..'~', 0xA1..0xAC, 0xAE..0xFF map to themselves */
static int bpe_byte_printable(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

static MAYBE_UNUSED const char *bpe_pre_name(const bpe_model *bm) { return bm ? bm->pre_name : "none"; }

static void bpe_model_free(bpe_model *bm) {
    if (!bm) return;
    free(bm->merges);
    free(bm->special);
    free(bm);
}

/* Decode one UTF-8 character of s[0..n) (n >= 1). Returns its length; *cp = the code point, or
 * BPE_INVALID for a byte that does not start a valid, shortest-form, non-surrogate sequence
 * (that byte alone is then one character). */
#define BPE_INVALID 0xFFFFFFFFu
static int bpe_utf8_next(const uint8_t *s, size_t n, uint32_t *cp) {
    uint8_t c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    int len = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    *cp = BPE_INVALID;
    if (len == 0 || (size_t)len > n) return 1;
    uint32_t u = c & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 1;
        u = (u << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_of_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (u < min_of_len[len] || u > 0x10FFFF || (u >= 0xD800 && u <= 0xDFFF)) return 1;
    *cp = u;
    return len;
}

static uint32_t bpe_pair_hash(int32_t a, int32_t b) {
    uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    k *= 0x9E3779B97F4A7C15ull;
    return (uint32_t)(k >> 32);
}

static const bpe_merge *bpe_find_merge(const bpe_model *bm, int a, int b) {
    for (uint32_t i = bpe_pair_hash(a, b) & bm->merge_mask;; i = (i + 1) & bm->merge_mask) {
        const bpe_merge *e = &bm->merges[i];
        if (e->left < 0) return NULL;
        if (e->left == a && e->right == b) return e;
    }
}

/* tokenizer.ggml.merges: "left right" strings in rank order. Rules whose parts or result are
 * not vocabulary tokens can never apply and are skipped. */
static int bpe_load_merges(const tokenizer *tk, bpe_model *bm, const gguf_file *g, llm_status *st) {
    const gguf_kv *mk = gguf_find(g, "tokenizer.ggml.merges");
    if (!mk) return fail(st, LLM_ERR_FORMAT, "%s: byte-level BPE vocabulary without tokenizer.ggml.merges", g->path);
    if (mk->type != GGUF_ARR || mk->arr_type != GGUF_STR || mk->arr_n > (1 << 24))
        return fail(st, LLM_ERR_FORMAT, "%s: tokenizer.ggml.merges must be a string array", g->path);
    uint32_t size = 16;
    while (size < 2 * mk->arr_n) size *= 2;
    bm->merges = malloc((size_t)size * sizeof *bm->merges);
    if (!bm->merges) return fail(st, LLM_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < size; i++) bm->merges[i].left = -1;
    bm->merge_mask = size - 1;
    char *buf = malloc(2 * 65536);
    if (!buf) return fail(st, LLM_ERR_NOMEM, "out of memory");
    const uint8_t *p = mk->val;
    for (uint64_t r = 0; r < mk->arr_n; r++) {
        uint64_t len = le_uint(p, 8);
        const char *s = (const char *)p + 8;
        p += 8 + len;
        const char *sp = len ? memchr(s + 1, ' ', len - 1) : NULL;   /* a part is never empty */
        if (!sp || len > 2 * 65536) continue;
        int ll = (int)(sp - s), rl = (int)len - ll - 1;
        int a = tok_lookup(tk, s, ll), b = tok_lookup(tk, sp + 1, rl);
        memcpy(buf, s, ll);
        memcpy(buf + ll, sp + 1, rl);
        int c = tok_lookup(tk, buf, ll + rl);
        if (a < 0 || b < 0 || c < 0) continue;
        uint32_t i = bpe_pair_hash(a, b) & bm->merge_mask;
        while (bm->merges[i].left >= 0 && !(bm->merges[i].left == a && bm->merges[i].right == b)) i = (i + 1) & bm->merge_mask;
        if (bm->merges[i].left >= 0) continue;                      /* duplicate rule: the first rank wins */
        bm->merges[i] = (bpe_merge){a, b, (int32_t)r, c};
        bm->n_merges++;
    }
    free(buf);
    return LLM_OK;
}

static int bpe_special_cmp(const void *x, const void *y) {
    const bpe_special *a = x, *b = y;
    int c = memcmp(a->text, b->text, a->len < b->len ? a->len : b->len);
    return c ? c : a->len != b->len ? (a->len < b->len ? -1 : 1) : (a->id > b->id) - (a->id < b->id);
}

/* Load a "gpt2" tokenizer: pieces, types, special ids, merges, pre-tokenizer. On success
 * *out holds the BPE state (the tokenizer owns it: tokenizer_free calls bpe_model_free). */
static int bpe_from_gguf(tokenizer *tk, bpe_model **out, const gguf_file *g, llm_status *st) {
    *out = NULL;
    strview model = gguf_get_str(g, "tokenizer.ggml.model");
    const gguf_kv *toks = gguf_find(g, "tokenizer.ggml.tokens");
    if (!sv_eq(model, "gpt2") || !toks) return fail(st, LLM_ERR_FORMAT, "%s: not a byte-level BPE (gpt2) vocabulary", g->path);

    /* the pre-tokenizer first: an unknown one is an error before anything is allocated */
    static const struct { const char *name; int pre, digits, ignore_merges, add_bos; } pres[] = {
        /* "default" and a missing key: GGUFs converted before tokenizer.ggml.pre existed are
         * (for architecture llama) Llama 3; llama.cpp would fall back to a GPT-2 pattern here.
         * add_bos: the default when the file has no tokenizer.ggml.add_bos_token (Llama 3 needs
         * its <|begin_of_text|>; llama.cpp defaults to true for these pre-tokenizers as well). */
        {"llama-bpe", BPE_PRE_LLAMA3, 3, 1, 1}, {"llama3", BPE_PRE_LLAMA3, 3, 1, 1}, {"llama-v3", BPE_PRE_LLAMA3, 3, 1, 1},
        {"default", BPE_PRE_LLAMA3, 3, 1, 1},
        {"qwen2", BPE_PRE_QWEN2, 1, 0, 0}, {"deepseek-r1-qwen", BPE_PRE_QWEN2, 1, 0, 0},
    };
    const gguf_kv *pk = gguf_find(g, "tokenizer.ggml.pre");
    strview pre = gguf_get_str(g, "tokenizer.ggml.pre");
    if (pk && !pre.p) return fail(st, LLM_ERR_FORMAT, "%s: tokenizer.ggml.pre must be a string", g->path);
    int k = -1;
    for (int i = 0; i < (int)(sizeof pres / sizeof pres[0]); i++)
        if (pre.p ? sv_eq(pre, pres[i].name) : !strcmp(pres[i].name, "default")) { k = i; break; }
    if (k < 0)
        return fail(st, LLM_ERR_UNSUPPORTED, "%s: BPE pre-tokenizer '%.*s' (tokenizer.ggml.pre) is not supported "
                    "(supported: llama-bpe, llama3, llama-v3, default, qwen2, deepseek-r1-qwen)", g->path,
                    (int)(pre.len > 100 ? 100 : pre.len), (const char *)pre.p);

    int rc = tok_load_pieces(tk, g, toks, st);
    if (rc) return rc;
    int n = tk->n_vocab;
    if ((rc = tok_load_types(tk, g, st))) return rc;
    for (int i = 0; i < n; i++) if (!tk->type[i]) tk->type[i] = TOK_NORMAL;   /* no or unknown type: normal */
    int64_t v[4];
    const int64_t def[4] = {-1, -1, -1, -1};
    int flags[3];
    if ((rc = tok_load_settings(g, def, v, pres[k].add_bos, flags, st))) return rc;
    for (int i = 0; i < 4; i++)
        if (v[i] < -1 || v[i] >= n) return fail(st, LLM_ERR_FORMAT, "%s: special token id %lld out of the vocabulary (%d tokens)", g->path, (long long)v[i], n);
    tk->bos = (int)v[0]; tk->eos = (int)v[1]; tk->unk = (int)v[2]; tk->eot = (int)v[3];
    tk->add_bos = flags[0] && tk->bos >= 0;
    tk->add_eos = flags[2] && tk->eos >= 0;
    tk->add_space_prefix = 0;
    rc = tokenizer_index(tk, g->path, st);
    if (rc) return rc;
    if (tk->eot < 0) {                  /* end of turn of the chat models, when the file does not say */
        static const char *eot_names[] = {"<|eot_id|>", "<|im_end|>"};
        for (int i = 0; i < 2 && tk->eot < 0; i++) {
            int id = tok_lookup(tk, eot_names[i], (int)strlen(eot_names[i]));
            if (id >= 0 && tk->type[id] == TOK_CONTROL) tk->eot = id;
        }
    }
    if (tk->eos < 0) tk->eos = tk->eot;

    bpe_model *bm = xcalloc(1, sizeof *bm);
    if (!bm) return fail(st, LLM_ERR_NOMEM, "out of memory");
    *out = bm;
    bm->pre = pres[k].pre;
    bm->pre_name = pres[k].name;
    bm->max_digits = pres[k].digits;
    bm->ignore_merges = pres[k].ignore_merges;
    for (int i = 0; i < 0x144; i++) bm->cp_byte[i] = -1;
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        uint32_t cp = bpe_byte_printable(b) ? (uint32_t)b : 0x100u + extra++;
        bm->cp_byte[cp] = (int16_t)b;
        if (cp < 0x80) { bm->byte_utf8[b][0] = (uint8_t)cp; bm->byte_utf8_len[b] = 1; }
        else { bm->byte_utf8[b][0] = (uint8_t)(0xC0 | (cp >> 6)); bm->byte_utf8[b][1] = (uint8_t)(0x80 | (cp & 0x3F)); bm->byte_utf8_len[b] = 2; }
        bm->byte_tok[b] = tok_lookup(tk, (const char *)bm->byte_utf8[b], bm->byte_utf8_len[b]);
    }
    for (int b = 0; b < 256; b++)                 /* without them some text has no tokens at all */
        if (bm->byte_tok[b] < 0)
            return fail(st, LLM_ERR_FORMAT, "%s: the byte-level BPE vocabulary has no token for byte 0x%02X ('%.*s'), so it "
                        "cannot spell every text", g->path, b, (int)bm->byte_utf8_len[b], (const char *)bm->byte_utf8[b]);
    rc = bpe_load_merges(tk, bm, g, st);
    if (rc) return rc;
    int ns = 0;
    for (int i = 0; i < n; i++) ns += (tk->type[i] == TOK_CONTROL || tk->type[i] == TOK_USER) && tk->piece_len[i] > 0;
    bm->special = xcalloc(ns, sizeof *bm->special);
    if (!bm->special) return fail(st, LLM_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++)
        if ((tk->type[i] == TOK_CONTROL || tk->type[i] == TOK_USER) && tk->piece_len[i] > 0) {
            bm->special[bm->n_special++] = (bpe_special){tk->piece[i], tk->piece_len[i], i, tk->type[i] == TOK_CONTROL};
            bm->special_first[(uint8_t)tk->piece[i][0]] = 1;
        }
    qsort(bm->special, bm->n_special, sizeof *bm->special, bpe_special_cmp);
    return LLM_OK;
}

/* The longest control / user-defined token whose text starts s[0..n); -1 if none. Control
 * tokens count only with parse_special. The sorted list is narrowed one byte at a time, so a
 * position costs O(match length * log(specials)). */
static int bpe_match_special(const bpe_model *bm, const uint8_t *s, size_t n, int parse_special) {
    const bpe_special *sp = bm->special;
    int lo = 0, hi = bm->n_special, best = -1;
    if (!n || !bm->special_first[s[0]]) return -1;
    for (size_t k = 0; k < n && lo < hi; k++) {
        /* [lo, hi) share the prefix s[0..k); those exactly k long sort first */
        while (lo < hi && sp[lo].len == (int)k) lo++;
        int a = lo, b = hi;                                         /* first with byte k >= s[k] */
        while (a < b) { int m = (a + b) / 2; if ((uint8_t)sp[m].text[k] < s[k]) a = m + 1; else b = m; }
        lo = a; b = hi;                                             /* first with byte k > s[k] */
        while (a < b) { int m = (a + b) / 2; if ((uint8_t)sp[m].text[k] <= s[k]) a = m + 1; else b = m; }
        hi = a;
        for (int i = lo; i < hi && sp[i].len == (int)k + 1; i++)   /* same text twice: the first allowed id */
            if (parse_special || !sp[i].control) { best = sp[i].id; break; }
    }
    return best;
}

/* End (exclusive) of the pre-token that starts at character i of a span of n characters with
 * classes cls[] (UC_*) and code points cp[]: the first alternative of the split regex that
 * matches at i, as a backtracking regex engine would choose it. */
static int bpe_pre_end(const uint8_t *cls, const uint32_t *cp, int n, int i, int max_digits) {
#define IS_NL(j) (cp[j] == '\r' || cp[j] == '\n')
    uint32_t u = cp[i];
    int c = cls[i], j;
    if (u == '\'' && i + 1 < n) {                                   /* 's 't 're 've 'm 'll 'd */
        uint32_t a = cp[i + 1] | 0x20, b = i + 2 < n ? cp[i + 2] | 0x20 : 0;
        if (cp[i + 1] < 0x80 && (a == 's' || a == 't' || a == 'm' || a == 'd')) return i + 2;
        if (cp[i + 1] < 0x80 && i + 2 < n && cp[i + 2] < 0x80 && ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')))
            return i + 3;
    }
    j = i;                                                          /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (c != UC_LETTER && c != UC_NUMBER && !IS_NL(i) && i + 1 < n && cls[i + 1] == UC_LETTER) j = i + 1;
    if (cls[j] == UC_LETTER) {
        while (j < n && cls[j] == UC_LETTER) j++;
        return j;
    }
    if (c == UC_NUMBER) {                                           /* \p{N}{1,max_digits} */
        for (j = i; j < n && j - i < max_digits && cls[j] == UC_NUMBER; j++) {}
        return j;
    }
    j = u == ' ' ? i + 1 : i;                                       /* ' '?[^\s\p{L}\p{N}]+[\r\n]* */
    if (j < n && cls[j] != UC_SPACE && cls[j] != UC_LETTER && cls[j] != UC_NUMBER) {
        while (j < n && cls[j] != UC_SPACE && cls[j] != UC_LETTER && cls[j] != UC_NUMBER) j++;
        while (j < n && IS_NL(j)) j++;
        return j;
    }
    int e = i, last_nl = -1;                                        /* c is whitespace here */
    while (e < n && cls[e] == UC_SPACE) { if (IS_NL(e)) last_nl = e; e++; }
    if (last_nl >= 0) return last_nl + 1;                           /* \s*[\r\n]+ */
    if (e < n && e - i >= 2) return e - 1;                          /* \s+(?!\S): leave one space for the next word */
    return e > i ? e : i + 1;                                       /* \s+ */
#undef IS_NL
}

/* A candidate merge of symbol `left` with the next one; key = rank << 32 | left, so the min-heap
 * order (lower rank first, then the leftmost pair) is one integer comparison. */
typedef struct { uint64_t key; int32_t right, result; } bpe_cand;

typedef struct {
    const tokenizer *tk;
    const bpe_model *bm;
    int *ids, max, count;
    int *sym, *prev, *next, cap;     /* per-symbol token id (-1: merged away), links */
    bpe_cand *heap; int nheap, heap_cap;
    char *mapped; int mapped_cap;
    int oom;
} bpe_state;

static void bpe_emit(bpe_state *s, int id) { if (s->count < s->max) s->ids[s->count] = id; s->count++; }

static void bpe_heap_push(bpe_state *s, bpe_cand c) {                /* binary min-heap on key */
    if (s->nheap == s->heap_cap) {
        int cap = s->heap_cap ? 2 * s->heap_cap : 64;
        bpe_cand *h = realloc(s->heap, (size_t)cap * sizeof *h);
        if (!h) { s->oom = 1; return; }
        s->heap = h; s->heap_cap = cap;
    }
    int i = s->nheap++;
    while (i > 0 && c.key < s->heap[(i - 1) / 2].key) { s->heap[i] = s->heap[(i - 1) / 2]; i = (i - 1) / 2; }
    s->heap[i] = c;
}

static bpe_cand bpe_heap_pop(bpe_state *s) {
    bpe_cand top = s->heap[0], last = s->heap[--s->nheap];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= s->nheap) break;
        if (c + 1 < s->nheap && s->heap[c + 1].key < s->heap[c].key) c++;
        if (s->heap[c].key >= last.key) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->nheap) s->heap[i] = last;
    return top;
}

static void bpe_try_pair(bpe_state *s, int left, int right) {
    if (left < 0 || right < 0 || s->sym[left] < 0 || s->sym[right] < 0) return;
    const bpe_merge *m = bpe_find_merge(s->bm, s->sym[left], s->sym[right]);
    if (m) bpe_heap_push(s, (bpe_cand){(uint64_t)(uint32_t)m->rank << 32 | (uint32_t)left, right, m->result});
}

/* Tokens of one pre-token p[0..n) (n >= 1). */
static void bpe_word(bpe_state *s, const uint8_t *p, int n) {
    const bpe_model *bm = s->bm;
    if (n == 1 && bm->byte_tok[p[0]] >= 0) { bpe_emit(s, bm->byte_tok[p[0]]); return; }
    if (n > s->cap) {
        int cap = n > 2 * s->cap ? n : 2 * s->cap;
        int *buf = realloc(s->sym, 3 * (size_t)cap * sizeof(int));
        if (!buf) { s->oom = 1; return; }
        s->sym = buf; s->prev = buf + cap; s->next = buf + 2 * cap; s->cap = cap;
    }
    if (bm->ignore_merges) {                                        /* whole pre-token a token? */
        if (2 * n > s->mapped_cap) {
            char *m = realloc(s->mapped, 2 * (size_t)n);
            if (!m) { s->oom = 1; return; }
            s->mapped = m; s->mapped_cap = 2 * n;
        }
        int len = 0;
        for (int i = 0; i < n; i++) {
            memcpy(s->mapped + len, bm->byte_utf8[p[i]], bm->byte_utf8_len[p[i]]);
            len += bm->byte_utf8_len[p[i]];
        }
        int id = tok_lookup(s->tk, s->mapped, len);
        if (id >= 0) { bpe_emit(s, id); return; }
    }
    for (int i = 0; i < n; i++) { s->sym[i] = bm->byte_tok[p[i]]; s->prev[i] = i - 1; s->next[i] = i + 1 < n ? i + 1 : -1; }
    s->nheap = 0;
    for (int i = 0; i + 1 < n; i++) bpe_try_pair(s, i, i + 1);
    while (s->nheap && !s->oom) {
        bpe_cand c = bpe_heap_pop(s);
        int l = (int)(uint32_t)c.key, r = c.right;
        /* stale if either side was merged since (merged-away symbols have id -1) */
        if (s->sym[l] < 0 || s->sym[r] < 0 || s->next[l] != r) continue;
        const bpe_merge *m = bpe_find_merge(bm, s->sym[l], s->sym[r]);
        if (!m || m->result != c.result) continue;
        s->sym[l] = c.result;
        s->sym[r] = -1;
        s->next[l] = s->next[r];
        if (s->next[r] >= 0) s->prev[s->next[r]] = l;
        bpe_try_pair(s, s->prev[l], l);
        bpe_try_pair(s, l, s->next[l]);
    }
    for (int i = 0; i >= 0; i = s->next[i]) {
        if (s->sym[i] >= 0) bpe_emit(s, s->sym[i]);
        else if (s->tk->unk >= 0) bpe_emit(s, s->tk->unk);          /* a byte the vocabulary lacks */
    }
}

/* Text -> ids. Writes at most max ids, returns the number the text needs (-1: out of memory).
 * add_bos: prepend BOS (if the vocabulary has one). parse_special: control tokens written in
 * the text ("<|eot_id|>") become those tokens; user-defined tokens always do (as llama.cpp and
 * Hugging Face tokenizers do). */
static int bpe_tokenize(const tokenizer *tk, const bpe_model *bm, const char *text, size_t len, int add_bos,
                        int parse_special, int *ids, int max) {
    bpe_state s = {0};
    s.tk = tk; s.bm = bm; s.ids = ids; s.max = ids ? max : 0;
    if (add_bos && tk->bos >= 0) bpe_emit(&s, tk->bos);
    if (len == 0) return s.count;
    if (len > (size_t)INT_MAX / 4) return -1;
    const uint8_t *t = (const uint8_t *)text;
    uint8_t *cls = malloc(len);
    uint32_t *cp = malloc(len * sizeof(uint32_t));
    int *off = malloc((len + 1) * sizeof(int));
    if (!cls || !cp || !off) { free(cls); free(cp); free(off); return -1; }
    size_t pos = 0;
    while (pos < len && !s.oom) {
        /* plain span [pos, end): up to the next special token */
        size_t end = pos;
        int special = -1;
        if (bm->n_special) {
            for (; end < len; end++) {
                special = bpe_match_special(bm, t + end, len - end, parse_special);
                if (special >= 0) break;
            }
        } else {
            end = len;
        }
        int n = 0;
        for (size_t i = pos; i < end;) {
            uint32_t u;
            int l = bpe_utf8_next(t + i, end - i, &u);
            cp[n] = u;
            cls[n] = u == BPE_INVALID ? UC_OTHER : (uint8_t)unicode_class(u);
            if (cls[n] > UC_SPACE) cls[n] = UC_OTHER;                  /* marks (UC_MARK) are "other" */
            off[n++] = (int)(i - pos);
            i += l;
        }
        off[n] = (int)(end - pos);
        for (int i = 0; i < n && !s.oom;) {
            int e = bpe_pre_end(cls, cp, n, i, bm->max_digits);
            bpe_word(&s, t + pos + off[i], off[e] - off[i]);
            i = e;
        }
        if (special >= 0) {
            bpe_emit(&s, special);
            end += tk->piece_len[special];
        }
        pos = end;
    }
    free(cls); free(cp); free(off);
    free(s.sym); free(s.heap); free(s.mapped);
    return s.oom ? -1 : s.count;
}

/* One token -> its bytes, NUL-terminated, truncated to cap - 1; returns the length written.
 * Normal tokens are mapped back through GPT-2's code point -> byte table; user-defined tokens
 * are their text; control tokens print their text only with `special`, unused ones nothing. */
static int bpe_token_to_piece(const tokenizer *tk, const bpe_model *bm, int token, int special, char *out, size_t cap) {
    size_t n = 0;
    if (cap == 0) return 0;
    if (token >= 0 && token < tk->n_vocab) {
        const uint8_t *p = (const uint8_t *)tk->piece[token];
        size_t len = (size_t)tk->piece_len[token];
        int t = tk->type[token];
        if (t == TOK_NORMAL) {
            for (size_t i = 0; i < len && n + 1 < cap;) {
                uint32_t u;
                int l = bpe_utf8_next(p + i, len - i, &u);
                if (u < 0x144 && bm->cp_byte[u] >= 0) { out[n++] = (char)bm->cp_byte[u]; i += l; continue; }
                if (n + l >= cap) break;                                /* not a mapped character: copied as is */
                memcpy(out + n, p + i, l);
                n += l; i += l;
            }
        } else if (t == TOK_BYTE && parse_byte_piece((const char *)p, (int)len) >= 0) {
            if (cap > 1) out[n++] = (char)parse_byte_piece((const char *)p, (int)len);
        } else if (t == TOK_USER || (t == TOK_CONTROL && special)) {
            n = len < cap - 1 ? len : cap - 1;
            memcpy(out, p, n);
        }
    }
    out[n] = 0;
    return (int)n;
}

/* ============================================================================================
 * 9. Sampler
 * ============================================================================================
 * Order: penalties -> temperature -> top-k -> softmax -> min-p -> top-p -> draw. The penalties
 * look at the distinct tokens of the last repeat_last_n: a positive logit is divided by the
 * repeat penalty R, a negative one multiplied by it; then count x F + P is subtracted, with F the
 * frequency and P the presence penalty (OpenAI's definition; llama.cpp applies all three so).
 * temp 0 is greedy (argmax, the lowest id on ties). The random generator is xorshift64*,
 * seeded by splitmix64(seed), so a seed always gives the same text.
 */
typedef struct { int id; float v; } cand;

struct llm_sampler {
    llm_sampler_params p;
    uint64_t rng;
    int *recent, n_recent, head;
    cand *c;
    int cap;
    int (*argmax)(int n, const float *x);   /* greedy without penalties: the build's kernel */
};

llm_sampler_params llm_sampler_default_params(void) {
    llm_sampler_params p = {0.8f, 40, 0.95f, 0.05f, 1.0f, 64, 0, 0.0f, 0.0f};
    return p;
}

llm_sampler *llm_sampler_new(const llm_sampler_params *p) {
    llm_sampler *s = xcalloc(1, sizeof *s);
    if (!s) return NULL;
    s->p = *p;
    if (s->p.repeat_last_n < 0) s->p.repeat_last_n = 0;
    uint64_t z = p->seed + 0x9e3779b97f4a7c15ull;               /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    s->rng = (z ^ (z >> 31)) | 1;
    s->recent = xcalloc(s->p.repeat_last_n + 1, sizeof(int));
    if (!s->recent) { free(s); return NULL; }
    s->argmax = kernels_filled().argmax;      /* no vector instruction before a model is loaded */
    return s;
}

void llm_sampler_free(llm_sampler *s) {
    if (!s) return;
    free(s->recent);
    free(s->c);
    free(s);
}

void llm_sampler_accept(llm_sampler *s, int token) {
    if (s->p.repeat_last_n == 0) return;
    s->recent[s->head] = token;
    s->head = (s->head + 1) % s->p.repeat_last_n;
    if (s->n_recent < s->p.repeat_last_n) s->n_recent++;
}

static uint32_t rng_u32(uint64_t *s) {
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
    return (uint32_t)((*s * 0x2545f4914f6cdd1dull) >> 32);
}
static float rng_f32(uint64_t *s) { return (rng_u32(s) >> 8) / 16777216.0f; }

static int cand_desc(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->v != y->v) return x->v > y->v ? -1 : 1;
    return x->id - y->id;
}

/* move the k largest candidates to the front (quickselect), unordered */
static void select_top(cand *c, int n, int k) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        cand pivot = c[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (cand_desc(&c[i], &pivot) < 0) i++;
            while (cand_desc(&c[j], &pivot) > 0) j--;
            if (i <= j) { cand t = c[i]; c[i] = c[j]; c[j] = t; i++; j--; }
        }
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else break;
    }
}

int llm_sample(llm_sampler *s, const float *logits, int n) {
    const int penalties = s->p.repeat_penalty != 1.0f || s->p.frequency_penalty != 0.0f || s->p.presence_penalty != 0.0f;
    if (s->p.temp <= 0.0f && !penalties)        /* greedy: the first largest logit; NaN never wins */
        return s->argmax(n, logits);
    if (s->cap < n) {
        cand *c = realloc(s->c, (size_t)n * sizeof *c);
        if (!c) return 0;
        s->c = c; s->cap = n;
    }
    cand *c = s->c;
    for (int i = 0; i < n; i++) { c[i].id = i; c[i].v = logits[i] == logits[i] ? logits[i] : -INFINITY; }   /* NaN: never */
    if (penalties)
        for (int i = 0; i < s->n_recent; i++) {
            int t = s->recent[i], seen = 0, count = 1;
            for (int j = 0; j < i; j++) seen |= s->recent[j] == t;
            if (seen || t < 0 || t >= n) continue;
            for (int j = i + 1; j < s->n_recent; j++) count += s->recent[j] == t;
            c[t].v = c[t].v > 0 ? c[t].v / s->p.repeat_penalty : c[t].v * s->p.repeat_penalty;
            c[t].v -= count * s->p.frequency_penalty + s->p.presence_penalty;
        }
    if (s->p.temp <= 0.0f) {
        int best = 0;
        for (int i = 1; i < n; i++) if (c[i].v > c[best].v) best = i;
        return best;
    }
    for (int i = 0; i < n; i++) c[i].v /= s->p.temp;
    if (s->p.top_k > 0 && s->p.top_k < n) { select_top(c, n, s->p.top_k); n = s->p.top_k; }
    float max = c[0].v, sum = 0.0f;
    for (int i = 1; i < n; i++) max = fmaxf(max, c[i].v);
    if (!(max > -INFINITY) || max == INFINITY) {                /* degenerate logits: take the best */
        for (int i = 1; i < n; i++) if (cand_desc(&c[i], &c[0]) < 0) c[0] = c[i];
        return c[0].id;
    }
    for (int i = 0; i < n; i++) { c[i].v = exp_ref(c[i].v - max); sum += c[i].v; }
    for (int i = 0; i < n; i++) c[i].v /= sum;              /* probabilities; the largest is exp(0)/sum */
    /* keep tokens that can survive min-p and top-p (a token below (1-p)/(n-1) never enters the nucleus) */
    float cut = s->p.min_p > 0 ? s->p.min_p / sum : 0.0f;
    if (s->p.top_p < 1.0f && n > 1) cut = fmaxf(cut, (1.0f - s->p.top_p) / (n - 1));
    cut = fminf(cut, 1.0f / sum);                               /* the most likely token always stays */
    int m = 0;
    for (int i = 0; i < n; i++) if (c[i].v >= cut) c[m++] = c[i];
    qsort(c, m, sizeof *c, cand_desc);
    if (s->p.top_p < 1.0f) {
        float cum = 0.0f;
        for (int i = 0; i < m; i++) { cum += c[i].v; if (cum > s->p.top_p) { m = i + 1; break; } }
    }
    float total = 0.0f;
    for (int i = 0; i < m; i++) total += c[i].v;
    float r = rng_f32(&s->rng) * total, acc = 0.0f;
    for (int i = 0; i < m; i++) { acc += c[i].v; if (r < acc) return c[i].id; }
    return c[m - 1].id;
}

/* Stop strings end a generation where they first appear in its text, which stops before them.
 * Text that may still turn into a stop string (a tail that is a proper prefix of one) is held
 * back until the next pieces decide. */
size_t llm_stop_scan(const char *text, size_t len, size_t from, const char *const *stop, int n_stop, int *stopped) {
    *stopped = 0;
    for (size_t i = from; i < len; i++)                         /* the earliest complete stop string */
        for (int k = 0; k < n_stop; k++) {
            size_t sl = stop[k] ? strlen(stop[k]) : 0;
            if (sl && sl <= len - i && !memcmp(text + i, stop[k], sl)) { *stopped = 1; return i; }
        }
    for (size_t i = from; i < len; i++)                         /* else the earliest tail that may become one */
        for (int k = 0; k < n_stop; k++) {
            size_t sl = stop[k] ? strlen(stop[k]) : 0;
            if (sl > len - i && !memcmp(text + i, stop[k], len - i)) return i;
        }
    return len;
}

/* ============================================================================================
 * 10. GGUF writer
 * ============================================================================================
 * Collects key/values and tensor infos in memory, then writes header, metadata, tensor infos
 * and padding (gw_begin_data); tensor data follows in the declared order (gw_tensor_data).
 * The file is an out_file (section 1): written to a temporary and renamed over PATH at gw_close,
 * so a failure never leaves a half-written or clobbered output.
 */
typedef struct {
    char name[257];
    int n_dims, type;
    uint64_t ne[4], size;
} gw_tensor_info;

typedef struct {
    uint8_t *kv; size_t kv_len, kv_cap; uint64_t n_kv;
    gw_tensor_info *t; int n_t, cap_t, next_t;
    uint64_t alignment, written;
    out_file out;
    int err;
} gguf_writer;

static void gw_bytes(gguf_writer *w, const void *p, size_t n) {
    if (w->kv_len + n > w->kv_cap) {
        size_t cap = w->kv_cap ? w->kv_cap : 4096;
        while (cap < w->kv_len + n) cap *= 2;
        uint8_t *k = realloc(w->kv, cap);
        if (!k) { w->err = 1; return; }
        w->kv = k; w->kv_cap = cap;
    }
    memcpy(w->kv + w->kv_len, p, n);
    w->kv_len += n;
}
static void gw_u32(gguf_writer *w, uint32_t v) { uint8_t b[4] = {v, v >> 8, v >> 16, v >> 24}; gw_bytes(w, b, 4); }
static void gw_u64(gguf_writer *w, uint64_t v) { gw_u32(w, (uint32_t)v); gw_u32(w, (uint32_t)(v >> 32)); }
static void gw_str(gguf_writer *w, const char *s, size_t n) { gw_u64(w, n); gw_bytes(w, s, n); }
static void gw_key(gguf_writer *w, const char *key, int type) { gw_str(w, key, strlen(key)); gw_u32(w, (uint32_t)type); w->n_kv++; }

static MAYBE_UNUSED void gw_kv_u32(gguf_writer *w, const char *key, uint32_t v) { gw_key(w, key, GGUF_U32); gw_u32(w, v); }
static MAYBE_UNUSED void gw_kv_i32(gguf_writer *w, const char *key, int32_t v) { gw_key(w, key, GGUF_I32); gw_u32(w, (uint32_t)v); }
static MAYBE_UNUSED void gw_kv_f32(gguf_writer *w, const char *key, float v) { gw_key(w, key, GGUF_F32); gw_u32(w, f32_to_bits(v)); }
static MAYBE_UNUSED void gw_kv_bool(gguf_writer *w, const char *key, int v) { uint8_t b = v != 0; gw_key(w, key, GGUF_BOOL); gw_bytes(w, &b, 1); }
static MAYBE_UNUSED void gw_kv_str(gguf_writer *w, const char *key, const char *v) { gw_key(w, key, GGUF_STR); gw_str(w, v, strlen(v)); }
/* an array of n elements of a fixed-size type, given as raw little-endian bytes */
static MAYBE_UNUSED void gw_kv_arr(gguf_writer *w, const char *key, int type, const void *data, uint64_t n) {
    gw_key(w, key, GGUF_ARR); gw_u32(w, (uint32_t)type); gw_u64(w, n); gw_bytes(w, data, (size_t)n * gguf_vsize[type]);
}
static MAYBE_UNUSED void gw_kv_arr_str(gguf_writer *w, const char *key, char *const *v, const int *len, uint64_t n) {
    gw_key(w, key, GGUF_ARR); gw_u32(w, GGUF_STR); gw_u64(w, n);
    for (uint64_t i = 0; i < n; i++) gw_str(w, v[i], (size_t)len[i]);
}

/* key/value record i of a GGUF file, copied verbatim (from its key's length to the next record) */
static void gw_copy_kv(gguf_writer *w, const gguf_file *g, uint64_t i) {
    const uint8_t *b = g->kv[i].key.p - 8, *e = i + 1 < g->n_kv ? g->kv[i + 1].key.p - 8 : g->mf.data + g->kv_end;
    gw_bytes(w, b, (size_t)(e - b));
    w->n_kv++;
}

static void gw_add_tensor(gguf_writer *w, const char *name, int type, int n_dims, const uint64_t *ne) {
    if (w->n_t == w->cap_t) {
        int cap = w->cap_t ? 2 * w->cap_t : 64;
        gw_tensor_info *t = realloc(w->t, (size_t)cap * sizeof *t);
        if (!t) { w->err = 1; return; }
        w->t = t; w->cap_t = cap;
    }
    gw_tensor_info *t = &w->t[w->n_t++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = type;
    t->n_dims = n_dims;
    uint64_t n = 1;
    for (int d = 0; d < 4; d++) { t->ne[d] = d < n_dims ? ne[d] : 1; n *= t->ne[d]; }
    t->size = n / ttraits[type].blck * ttraits[type].bytes;
}

static void gw_pad(gguf_writer *w, uint64_t at) {
    static const uint8_t zero[64] = {0};
    uint64_t pad = (w->alignment - at % w->alignment) % w->alignment;
    for (; pad > 0; pad -= pad > 64 ? 64 : pad) out_write(&w->out, zero, pad > 64 ? 64 : pad);
}

static int gw_begin_data(gguf_writer *w, const char *path, llm_status *st) {
    if (w->err) return fail(st, LLM_ERR_NOMEM, "out of memory");
    int rc = out_open(&w->out, path, st);
    if (rc) return rc;
    gguf_writer hdr = {0};
    gw_bytes(&hdr, "GGUF", 4);
    gw_u32(&hdr, 3);
    gw_u64(&hdr, (uint64_t)w->n_t);
    gw_u64(&hdr, w->n_kv);
    gw_bytes(&hdr, w->kv, w->kv_len);
    uint64_t off = 0;
    for (int i = 0; i < w->n_t; i++) {
        gw_tensor_info *t = &w->t[i];
        gw_str(&hdr, t->name, strlen(t->name));
        gw_u32(&hdr, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++) gw_u64(&hdr, t->ne[d]);
        gw_u32(&hdr, (uint32_t)t->type);
        gw_u64(&hdr, off);
        off += (t->size + w->alignment - 1) / w->alignment * w->alignment;
    }
    if (hdr.err) { free(hdr.kv); return fail(st, LLM_ERR_NOMEM, "out of memory"); }
    out_write(&w->out, hdr.kv, hdr.kv_len);
    gw_pad(w, hdr.kv_len);
    free(hdr.kv);
    return LLM_OK;
}

/* data of the next declared tensor; may be given in pieces, the tensor's padding follows its last byte */
static void gw_tensor_data(gguf_writer *w, const void *data, size_t n) {
    out_write(&w->out, data, n);
    w->written += n;
    if (w->next_t < w->n_t && w->written >= w->t[w->next_t].size) {
        gw_pad(w, w->written);
        w->written = 0;
        w->next_t++;
    }
}

/* ok = 1: flush and rename into place; ok = 0 (or any write error): remove the temporary file */
static int gw_close(gguf_writer *w, int ok, llm_status *st) {
    int rc = LLM_OK;
    if (ok && w->out.f && w->next_t != w->n_t) rc = fail(st, LLM_ERR_IO, "%s: not every tensor was written", w->out.path);
    int rc2 = out_close(&w->out, ok && !rc, st);
    rc = rc ? rc : rc2;
    free(w->kv); free(w->t);
    memset(w, 0, sizeof *w);
    return rc;
}

static int ggml_file_type(int t) {
    switch (t) {
    case T_F32: return 0;  case T_F16: return 1;   case T_Q4_0: return 2;  case T_Q8_0: return 7;  case T_Q2_K: return 10;
    case T_Q3_K: return 11; case T_Q4_K: return 14; case T_Q5_K: return 16; case T_Q6_K: return 18; default: return 32;  /* BF16 */
    }
}

/* the tensor types `quantize` and tools/mkmodel write, by name (any case); -1 for another name */
static MAYBE_UNUSED int writable_type(const char *name) {
    static const int types[] = {T_F32, T_F16, T_BF16, T_Q8_0, T_Q4_0, T_Q2_K, T_Q3_K, T_Q4_K, T_Q5_K, T_Q6_K};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (!strcasecmp(name, ttraits[types[i]].name)) return types[i];
    return -1;
}
#define WRITABLE_TYPES "F32, F16, BF16, Q8_0, Q4_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K"

#define COPY_CHUNK ((size_t)1 << 20)

/* Quantize (or convert) every 2-D float tensor of a GGUF file to `type`; 1-D tensors become F32;
 * for a K-quant, rows that are not a multiple of 256 become Q8_0; tensors whose rows do not
 * split into blocks at all, and tensors already quantized, are copied. */
static MAYBE_UNUSED int quantize_file(const char *in, const char *out, int type, llm_status *st) {
    gguf_file g;
    int rc = gguf_open(&g, in, st);
    if (rc) return rc;
    gguf_writer w = {.alignment = g.alignment};
    for (uint64_t i = 0; i < g.n_kv; i++)                      /* copy metadata, renewing file_type */
        if (!sv_eq(g.kv[i].key, "general.file_type")) gw_copy_kv(&w, &g, i);
    gw_kv_u32(&w, "general.file_type", (uint32_t)ggml_file_type(type));
    int *dst = xcalloc(g.n_tensors, sizeof(int));
    if (!dst) { gguf_close(&g); return fail(st, LLM_ERR_NOMEM, "out of memory"); }
    int64_t max_cols = 1;
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const gguf_tensor *t = &g.tensors[i];
        int src = t->type, is_float = src == T_F32 || src == T_F16 || src == T_BF16;
        int matrix = t->n_dims >= 2 && t->ne[1] > 1;
        dst[i] = !is_float ? src : !matrix ? T_F32 : t->ne[0] % ttraits[type].blck == 0 ? type
               : ttraits[type].blck == QK_K && t->ne[0] % QK == 0 ? T_Q8_0 : src;   /* K-quant rows need 256 */
        if (!is_float && src != type)
            fprintf(stderr, "quantize: %.*s is %s already, copied as is\n", (int)t->name.len, (const char *)t->name.p, type_name(src));
        if ((int64_t)t->ne[0] > max_cols) max_cols = (int64_t)t->ne[0];
        char name[257];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, (const char *)t->name.p);
        gw_add_tensor(&w, name, dst[i], t->n_dims, t->ne);
    }
    /* copied tensors go through buf too: a mapped page that vanished (the input shrank) must
     * fault here, not turn into write()'s EFAULT */
    size_t buf_bytes = (size_t)max_cols * 4 > COPY_CHUNK ? (size_t)max_cols * 4 : COPY_CHUNK;
    float *row = falloc((size_t)max_cols);
    uint8_t *buf = aligned_zalloc(buf_bytes);
    if (!row || !buf) rc = fail(st, LLM_ERR_NOMEM, "out of memory");
    if (!rc) rc = gw_begin_data(&w, out, st);
    for (uint64_t i = 0; i < g.n_tensors && !rc; i++) {
        const gguf_tensor *gt = &g.tensors[i];
        if (dst[i] == gt->type) {
            for (uint64_t k = 0; k < gt->size; k += buf_bytes) {
                size_t n = gt->size - k < buf_bytes ? (size_t)(gt->size - k) : buf_bytes;
                memcpy(buf, gt->data + k, n);
                gw_tensor_data(&w, buf, n);
            }
            continue;
        }
        tensor t = {gt->type, (int64_t)(gt->ne[1] * gt->ne[2] * gt->ne[3]), (int64_t)gt->ne[0], 0, gt->data, NULL, 0};
        t.row_bytes = (size_t)(t.cols / ttraits[t.type].blck * ttraits[t.type].bytes);
        size_t out_row = (size_t)(t.cols / ttraits[dst[i]].blck * ttraits[dst[i]].bytes);
        for (int64_t r = 0; r < t.rows; r++) {
            row_to_float(&t, t.data + (size_t)r * t.row_bytes, row);
            float_to_row(dst[i], (int)t.cols, row, buf);
            gw_tensor_data(&w, buf, out_row);
        }
    }
    rc = gw_close(&w, rc == LLM_OK, st) ? st->code : rc;
    free(row); free(buf); free(dst);
    gguf_close(&g);
    return rc;
}

/* ============================================================================================
 * 11. Chat templates
 * ============================================================================================
 * No Jinja: the template family is recognized by its tell-tale markers in
 * tokenizer.chat_template (or forced by name), and each family is a few lines that render one
 * message: control tokens by their exact piece (text can never forge one), text through the
 * tokenizer. A conversation renders as its messages in order, then the generation prompt, the
 * start of the assistant's answer; an answer ends with the family's end-of-turn token.
 *   llama2       <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {answer}</s>
 *                (system text joins the next user message)
 *   llama3       <|begin_of_text|>, then per message
 *                <|start_header_id|>{role}<|end_header_id|>\n\n{text}<|eot_id|>
 *   deepseek-r1  <｜begin▁of▁sentence｜>{system}<｜User｜>{user}<｜Assistant｜>{answer}<｜end▁of▁sentence｜>,
 *                generation prompt <｜Assistant｜><think>\n
 *   chatml       <|im_start|>{role}\n{text}<|im_end|>\n per message
 * Earlier answers are trimmed of white space at both ends; DeepSeek-R1's keep only the text after
 * their last </think> (the model does not see its earlier reasoning again). An answer may come
 * with the tokens it was generated as: they go in as they are, so the cache that holds them
 * stays valid even where the text would tokenize differently.
 */
static const char *tpl_names[] = {"llama2", "llama3", "deepseek-r1", "chatml"};
#define DS_USER "<\xef\xbd\x9cUser\xef\xbd\x9c>"
#define DS_ASSISTANT "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>"
#define DS_BOS "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"
#define DS_EOS "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"

int llm_chat_template_by_name(const char *name) {
    for (int i = 0; i < 4; i++) if (name && !strcmp(name, tpl_names[i])) return i;
    return LLM_CHAT_NONE;
}

const char *llm_chat_template_name(int k) { return k >= 0 && k < 4 ? tpl_names[k] : NULL; }

static int has_marker(const char *s, size_t n, const char *marker) {
    size_t k = strlen(marker);
    for (size_t i = 0; k <= n && i <= n - k; i++) if (!memcmp(s + i, marker, k)) return 1;
    return 0;
}

/* The family of a Jinja chat template, from its markers; LLM_CHAT_NONE if none is recognized. */
static MAYBE_UNUSED int tpl_detect(const char *tpl, size_t n) {
    if (has_marker(tpl, n, DS_ASSISTANT)) return LLM_CHAT_DEEPSEEK_R1;
    if (has_marker(tpl, n, "<|start_header_id|>")) return LLM_CHAT_LLAMA3;
    if (has_marker(tpl, n, "<|im_start|>")) return LLM_CHAT_CHATML;
    if (has_marker(tpl, n, "[INST]")) return LLM_CHAT_LLAMA2;
    return LLM_CHAT_NONE;
}

/* The model's family: its template's markers, else the control tokens its vocabulary has. */
int llm_chat_template(const llm_model *m) {
    strview t = gguf_get_str(&m->gguf, "tokenizer.chat_template");
    int k = t.p ? tpl_detect((const char *)t.p, t.len) : LLM_CHAT_NONE;
    if (k != LLM_CHAT_NONE) return k;
    if (tok_lookup(&m->tok, DS_ASSISTANT, (int)strlen(DS_ASSISTANT)) >= 0) return LLM_CHAT_DEEPSEEK_R1;
    if (tok_lookup(&m->tok, "<|start_header_id|>", 19) >= 0) return LLM_CHAT_LLAMA3;
    if (tok_lookup(&m->tok, "<|im_start|>", 12) >= 0) return LLM_CHAT_CHATML;
    return LLM_CHAT_LLAMA2;
}

typedef struct { int *ids, n, cap, err; const llm_model *m; const char *missing; } token_list;

static void tl_push(token_list *t, int id) {
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 256;
        int *p = realloc(t->ids, (size_t)cap * sizeof(int));
        if (!p) { t->err = 1; return; }
        t->ids = p; t->cap = cap;
    }
    t->ids[t->n++] = id;
}
static void tl_special(token_list *t, const char *piece) {
    int id = tok_lookup(&t->m->tok, piece, (int)strlen(piece));
    if (id < 0) { t->err = 1; t->missing = piece; return; }
    tl_push(t, id);
}
static void tl_textn(token_list *t, const char *text, size_t len) {
    int need = llm_tokenize(t->m, text, len, 0, NULL, 0);
    if (need < 0) { t->err = 1; return; }
    int *ids = malloc(((size_t)need + 1) * sizeof(int));
    if (!ids) { t->err = 1; return; }
    llm_tokenize(t->m, text, len, 0, ids, need);
    for (int i = 0; i < need; i++) tl_push(t, ids[i]);
    free(ids);
}
static void tl_text(token_list *t, const char *text) { tl_textn(t, text, strlen(text)); }

/* An earlier answer as it goes back into the conversation (see above). */
static void answer_span(int k, const char **text, size_t *len) {
    const char *s = *text, *e = s + *len;
    for (const char *p = s; k == LLM_CHAT_DEEPSEEK_R1 && (p = strstr(p, "</think>")) && p < e; p += 8) s = p + 8;
    while (s < e && strchr(" \t\r\n", *s)) s++;
    while (e > s && strchr(" \t\r\n", e[-1])) e--;
    *text = s;
    *len = (size_t)(e - s);
}

/* llama2: "[INST] " + pending <<SYS>> blocks + user text + " [/INST]", after BOS */
static void llama2_inst(token_list *t, char **sys, size_t *sys_len, const char *user, size_t len) {
    char *buf = malloc(*sys_len + len + 16);
    if (!buf) { t->err = 1; return; }
    size_t n = 0;
    memcpy(buf + n, "[INST] ", 7); n += 7;
    if (*sys_len) { memcpy(buf + n, *sys, *sys_len); n += *sys_len; }
    memcpy(buf + n, user, len); n += len;
    memcpy(buf + n, " [/INST]", 8); n += 8;
    tl_push(t, t->m->tok.bos);
    tl_textn(t, buf, n);
    free(buf);
    *sys_len = 0;
}

enum { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT };

/* A message's text: its tokens as generated when given, else the text through the tokenizer. */
static void tl_body(token_list *t, const char *text, size_t len, const int *toks, int n_toks) {
    if (!toks) { tl_textn(t, text, len); return; }
    for (int i = 0; i < n_toks; i++) tl_push(t, toks[i]);
}

/* One message of family k (toks: an answer's tokens as generated, or NULL). */
static void tpl_message(token_list *t, int k, int role, const char *text, size_t len, const int *toks, int n_toks,
                        char **sys, size_t *sys_len) {
    static const char *role_word[] = {"system", "user", "assistant"};
    static const char *role_line[] = {"system\n", "user\n", "assistant\n"};
    switch (k) {
    case LLM_CHAT_LLAMA2:
        if (role == ROLE_SYSTEM) {                             /* <<SYS>>\n{system}\n<</SYS>>\n\n, kept for the next [INST] */
            char *p = realloc(*sys, *sys_len + len + 24);
            if (!p) { t->err = 1; return; }
            *sys = p;
            p += *sys_len;
            memcpy(p, "<<SYS>>\n", 8);
            memcpy(p + 8, text, len);
            memcpy(p + 8 + len, "\n<</SYS>>\n\n", 11);
            *sys_len += len + 19;
        } else if (role == ROLE_USER) {
            llama2_inst(t, sys, sys_len, text, len);
        } else {
            tl_body(t, text, len, toks, n_toks);
            tl_push(t, t->m->tok.eos);
        }
        break;
    case LLM_CHAT_LLAMA3:
        tl_special(t, "<|start_header_id|>");
        tl_text(t, role_word[role]);
        tl_special(t, "<|end_header_id|>");
        tl_text(t, "\n\n");
        tl_body(t, text, len, toks, n_toks);
        tl_special(t, "<|eot_id|>");
        break;
    case LLM_CHAT_DEEPSEEK_R1:
        if (role == ROLE_USER) tl_special(t, DS_USER);
        if (role == ROLE_ASSISTANT) tl_special(t, DS_ASSISTANT);
        tl_body(t, text, len, toks, n_toks);
        if (role == ROLE_ASSISTANT) tl_special(t, DS_EOS);
        break;
    case LLM_CHAT_CHATML:
        tl_special(t, "<|im_start|>");
        tl_text(t, role_line[role]);
        tl_body(t, text, len, toks, n_toks);
        tl_special(t, "<|im_end|>");
        tl_text(t, "\n");
        break;
    }
}

int llm_chat_render(const llm_model *m, int k, const llm_chat_message *msg, int n_msg, int add_assistant,
                    int *ids, int max, llm_status *st) {
    if (k < 0 || k > 3) return fail(st, LLM_ERR_ARG, "unknown chat template %d", k), -1;
    token_list t = {.m = m};
    char *sys = NULL;
    size_t sys_len = 0;
    if (k == LLM_CHAT_LLAMA3) tl_special(&t, "<|begin_of_text|>");
    if (k == LLM_CHAT_DEEPSEEK_R1) tl_special(&t, DS_BOS);
    for (int i = 0; i < n_msg && !t.err; i++) {
        const char *r = msg[i].role ? msg[i].role : "(none)";
        int role = !strcmp(r, "system") ? ROLE_SYSTEM : !strcmp(r, "user") ? ROLE_USER : !strcmp(r, "assistant") ? ROLE_ASSISTANT : -1;
        if (role < 0) {
            free(t.ids); free(sys);
            return fail(st, LLM_ERR_ARG, "message %d has role '%.64s' (system, user or assistant)", i + 1, r), -1;
        }
        const char *text = msg[i].content ? msg[i].content : "";
        size_t len = strlen(text);
        const int *toks = role == ROLE_ASSISTANT && msg[i].n_tokens >= 0 ? msg[i].tokens : NULL;
        if (role == ROLE_ASSISTANT) answer_span(k, &text, &len);
        if (k == LLM_CHAT_DEEPSEEK_R1 && text != msg[i].content && has_marker(msg[i].content, (size_t)(text - msg[i].content), "</think>"))
            toks = NULL;                                        /* the reasoning is dropped: what is kept is tokenized anew */
        tpl_message(&t, k, role, text, len, toks, toks ? msg[i].n_tokens : 0, &sys, &sys_len);
    }
    if (k == LLM_CHAT_LLAMA2 && sys_len && !t.err) llama2_inst(&t, &sys, &sys_len, "", 0);   /* system text, no user after it */
    if (add_assistant && !t.err)
        switch (k) {
        case LLM_CHAT_LLAMA3:
            tl_special(&t, "<|start_header_id|>"); tl_text(&t, "assistant"); tl_special(&t, "<|end_header_id|>"); tl_text(&t, "\n\n");
            break;
        case LLM_CHAT_DEEPSEEK_R1: tl_special(&t, DS_ASSISTANT); tl_text(&t, "<think>\n"); break;
        case LLM_CHAT_CHATML: tl_special(&t, "<|im_start|>"); tl_text(&t, "assistant\n"); break;
        }
    free(sys);
    if (t.err) {
        free(t.ids);
        if (t.missing) fail(st, LLM_ERR_FORMAT, "the vocabulary has no token '%s', which chat template %s needs", t.missing, tpl_names[k]);
        else fail(st, LLM_ERR_NOMEM, "out of memory");
        return -1;
    }
    for (int i = 0; i < t.n && i < max; i++) ids[i] = t.ids[i];
    free(t.ids);
    return t.n;
}

int llm_chat_end_token(const llm_model *m, int k) {
    const char *p = k == LLM_CHAT_LLAMA3 ? "<|eot_id|>" : k == LLM_CHAT_CHATML ? "<|im_end|>" : k == LLM_CHAT_DEEPSEEK_R1 ? DS_EOS : NULL;
    return p ? tok_lookup(&m->tok, p, (int)strlen(p)) : m->tok.eos;
}

#ifndef LLM_NO_MAIN
/* ============================================================================================
 * 12. CLI
 * ========================================================================================== */

/* The commands. Each parses its options with parse_args (below), which knows every option once,
 * with the commands that take it; errors in the arguments exit 2 with one line (die_usage),
 * errors in files and inputs exit 1. `llm` alone prints the list of commands on stderr and
 * exits 2: nothing was asked, so nothing succeeded. */
enum { CMD_RUN = 1, CMD_CHAT = 2, CMD_TOKENIZE = 4, CMD_INFO = 8, CMD_PERPLEXITY = 16, CMD_QUANTIZE = 32, CMD_BENCH = 64 };
#define CMD_MODEL (CMD_RUN | CMD_CHAT | CMD_TOKENIZE | CMD_INFO | CMD_PERPLEXITY)   /* share one set of options */

typedef struct {
    const char *cmd;                  /* the command's name and bit */
    int bit;
    const char *model, *tokenizer, *prompt, *file, *dump_logits, *dump_tokens;
    const char *cpus, *system, *chat_template;
    int n_new, n_new_set, n_ctx, n_threads, no_bos, seed_set, numa, numa_report, no_repack, verbose_prompt, special, quiet;
    llm_sampler_params sp;
    int pp[16], n_pp, tg[16], n_tg, th[64], n_th, reps, json;   /* bench: lists of ppN, tgN, thread counts */
    double membw;
    const char *args[3];              /* quantize: IN OUT TYPE */
    int n_args;
    const char **files;               /* tokenize: every -f FILE, in order (the others take the last) */
    int n_files;
} options;

static int cmd_run(options *o);
static int cmd_chat(options *o);
static int cmd_tokenize(options *o);
static int cmd_info(options *o);
static int cmd_perplexity(options *o);
static int cmd_quantize(options *o);
static int cmd_bench(options *o);

static const struct command {
    const char *name, *summary;
    int bit;
    int (*fn)(options *);
    const char *usage;
} commands[] = {
    {"run", "generate text from a prompt (the default command)", CMD_RUN, cmd_run,
            "usage: llm [run] -m MODEL [options]\n"
            "Generate text from a prompt; the text goes to stdout, timings to stderr.\n"
            "  -m, --model FILE         GGUF model or llama2.c checkpoint (.bin)\n"
            "  -z, --tokenizer FILE     llama2.c tokenizer.bin (needed for .bin models)\n"
            "  -p, --prompt TEXT        prompt (default: empty, generation starts from BOS)\n"
            "  -f, --file FILE          read the prompt from a file\n"
            "  -n, --n-predict N        tokens to generate (default 256)\n"
            "  -c, --ctx-size N         context length (default: the model's, at most 4096)\n"
            "  -t, --threads N          threads (default: online cores)\n"
            "      --cpus LIST          pin thread i to the i-th CPU of LIST, e.g. 0-15,32-47\n"
            "      --numa MODE          weights placement: off, distribute (each thread's rows on its\n"
            "                           node; default on multi-node machines) or interleave\n"
            "      --numa-report        print on which node each thread's weight pages are\n"
            "      --no-repack          keep the weights in the file's layout (default: packed where\n"
            "                           the build's kernels have a layout of their own)\n"
            "      --temp T             temperature, 0 = greedy (default 0.8)\n"
            "      --top-k K            keep the K most likely tokens, 0 = off (default 40)\n"
            "      --top-p P            nucleus sampling, 1 = off (default 0.95)\n"
            "      --min-p P            drop tokens below P x the top probability, 0 = off (default 0.05)\n"
            "      --repeat-penalty R   penalize the last 64 tokens, 1 = off (default 1.0)\n"
            "  -s, --seed S             random seed (default: from the clock, printed)\n"
            "      --no-bos             add no BOS/EOS to the prompt (default: as the file's add_bos_token/add_eos_token)\n"
            "      --special            parse control tokens written in the prompt (BPE vocabularies)\n"
            "      --dump-logits FILE   write the last prompt position's logits (float32 LE)\n"
            "      --dump-tokens FILE   write all token ids (prompt and generated)\n"
            "The first line on stderr names the kernels (as 'llm --version').\n"},
    {"chat", "talk with a chat model: each line on stdin is a message", CMD_CHAT, cmd_chat,
             "usage: llm chat -m MODEL [--system TEXT] [--chat-template NAME] [--verbose-prompt] [run options]\n"
             "Interactive chat: each line on stdin is a message; answers stream to stdout. The KV cache keeps\n"
             "the conversation, so each turn evaluates only its new tokens; when it outgrows the context, the\n"
             "oldest turns after the system prompt are dropped (a note on stderr). The template comes from the\n"
             "model's tokenizer.chat_template (llama2 [INST], llama3 headers, deepseek-r1, chatml);\n"
             "--chat-template NAME overrides it. -n limits an answer (default: the context).\n"
             "--verbose-prompt prints each turn's token ids on stderr. Ctrl-C stops an answer, Ctrl-D ends.\n"},
    {"tokenize", "print the token ids of a text", CMD_TOKENIZE, cmd_tokenize,
                 "usage: llm tokenize -m MODEL [-z TOKENIZER] [--no-bos] [--special] (-p TEXT | -f FILE...)\n"
                 "Print the token ids of a text, separated by spaces, on one line; with several -f FILE, one line\n"
                 "per file, in their order (the vocabulary is loaded once).\n"
                 "MODEL may be a vocab-only GGUF; -z alone takes a llama2.c tokenizer.bin.\n"
                 "--special: control tokens written in the text (<|eot_id|>) become those tokens (BPE vocabularies).\n"},
    {"info", "print a model's metadata, hyper-parameters and tensors", CMD_INFO, cmd_info,
             "usage: llm info -m MODEL [-z TOKENIZER]\n"
             "Print the architecture, hyper-parameters, metadata and the tensor table.\n"},
    {"perplexity", "perplexity of a model over a text file", CMD_PERPLEXITY, cmd_perplexity,
                   "usage: llm perplexity -m MODEL -f FILE [-c CTX] [-t THREADS] [-z TOKENIZER]\n"
                   "Perplexity over a text, llama.cpp style: the text is cut into chunks of CTX tokens\n"
                   "(default 512), each starts with BOS, and the second half of each chunk is scored.\n"
                   "Prints 'PPL = mean +/- error' on stdout.\n"},
    {"quantize", "convert the tensors of a GGUF model to another type", CMD_QUANTIZE, cmd_quantize,
                 "usage: llm quantize IN.gguf OUT.gguf TYPE\n"
                 "Convert the 2-D float tensors of a GGUF model to TYPE: " WRITABLE_TYPES ".\n"
                 "1-D tensors are stored as F32; for K-quants, rows that are not a multiple of 256 become Q8_0;\n"
                 "rows that do not split into 32-element blocks stay as they are.\n"},
    {"bench", "prompt and generation speed, against the memory-bandwidth roofline", CMD_BENCH, cmd_bench,
              "usage: llm bench -m MODEL [-p 64,512] [-n 32] [-t 1,2,...] [-r REPS] [-o md|json] [--membw GB/s] [--numa MODE]\n"
              "                 [--cpus LIST] [--no-repack]\n"
              "Throughput of prompt processing (ppN: N tokens as one batch) and generation (tgN: N tokens one\n"
              "by one), mean +/- stddev over REPS runs (default 3) after a warm-up, for each thread count.\n"
              "tg is compared with its roofline: read bandwidth (measured with the same threads, or --membw)\n"
              "divided by the weight bytes read per token. Peak RSS goes to stderr.\n"},
};
#define N_COMMANDS ((int)(sizeof commands / sizeof *commands))

static const struct command *find_command(const char *name) {
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(name, commands[i].name)) return &commands[i];
    return NULL;
}

/* stdout. Text goes out through put(); the first failed write is remembered with its errno.
 * put_flush() pushes the text out (run and chat after each piece) and says whether stdout still
 * works; put_end(rc) ends a command: a failed write is reported as "llm: writing output: <why>"
 * and makes the exit status 1. A closed pipe (`llm run ... | head`) ends the run quietly: by
 * SIGPIPE, whose default action kills the process (status 141 in a shell), or, when SIGPIPE is
 * ignored, by exiting at the first EPIPE with that same status 141 = 128 + SIGPIPE. */
static int put_errno;

static void put_failed(void) {
    if (!put_errno) put_errno = errno ? errno : EIO;
    if (put_errno == EPIPE) _exit(128 + SIGPIPE);
}

static __attribute__((format(printf, 1, 2))) void put(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = put_errno ? 0 : vprintf(fmt, ap);
    va_end(ap);
    if (r < 0) put_failed();
}

static int put_flush(void) {
    if (!put_errno && fflush(stdout) == EOF) put_failed();
    return !put_errno;
}

static int put_end(int rc) {
    if (put_flush()) return rc;
    fprintf(stderr, "llm: writing output: %s\n", strerror(put_errno));
    return 1;
}

#if defined(__clang__)
#define COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#else
#define COMPILER "an unknown C compiler"
#endif

/* the kernels of this build on this CPU ("kernels: rvv1.0 VLEN=256"): printed by `llm --version`
 * and as the first stderr line of run, chat and bench */
static void print_kernels(FILE *f) { fprintf(f, "kernels: %s\n", kernels_variant()); }

/* a command's usage; cmd NULL: the list of commands (llm --help) */
static void usage(FILE *f, const char *cmd) {
    const struct command *c = cmd ? find_command(cmd) : NULL;
    if (c) { fputs(c->usage, f); return; }
    fputs("usage: llm COMMAND [options]     (llm -m MODEL ... without a command runs 'run')\n"
          "Run Llama-family language models (GGUF files, llama2.c checkpoints) on CPUs.\n\ncommands:\n", f);
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fputs("\n'llm COMMAND --help' (or 'llm help COMMAND') lists the options of a command;\n"
          "'llm --version' prints the version, the compiler and the kernels.\n", f);
}

static __attribute__((noreturn, format(printf, 2, 3))) void die_usage(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "llm %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'llm %s --help')\n", cmd);
    exit(2);
}

static int parse_int(const char *cmd, const char *flag, const char *s, long lo, long hi) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) die_usage(cmd, "%s needs an integer in %ld..%ld, got '%s'", flag, lo, hi, s);
    return (int)v;
}

static float parse_float(const char *cmd, const char *flag, const char *s, float lo, float hi) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) die_usage(cmd, "%s needs a number in %g..%g, got '%s'", flag, lo, hi, s);
    return v;
}

/* a comma-separated list of at most max integers in lo..hi (bench's -p 64,512); its length */
static int parse_list(const char *cmd, const char *flag, const char *s, int *out, int max, long lo, long hi) {
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || v < lo || v > hi || n == max || (*end && *end != ',') || (*end == ',' && !end[1])) break;
        out[n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (*p || n == 0)
        die_usage(cmd, "%s needs a comma-separated list of at most %d integers in %ld..%ld, got '%s'", flag, max, lo, hi, s);
    return n;
}

static int has_value(const char *cmd, const char *opt, const char *v) {
    if (!v) die_usage(cmd, "option %s needs a value", opt);
    return 1;
}

static const char *cpu_list_arg(const char *cmd, const char *v) {
    static int cpus[CPU_SETSIZE];
    if (parse_cpulist(v, cpus, CPU_SETSIZE) <= 0) die_usage(cmd, "--cpus needs a CPU list like 0-15,32-47, got '%s'", v);
    return v;
}

static int numa_arg(const char *cmd, const char *v) {
    if (!strcmp(v, "off")) return LLM_NUMA_OFF;
    if (!strcmp(v, "distribute")) return LLM_NUMA_DISTRIBUTE;
    if (!strcmp(v, "interleave")) return LLM_NUMA_INTERLEAVE;
    die_usage(cmd, "--numa takes off, distribute or interleave, not '%s'", v);
}

static int is_opt(const char *a, const char *s, const char *l) { return (s && !strcmp(a, s)) || (l && !strcmp(a, l)); }

/* The arguments after the command's name, into o. Every option is here once, with the commands
 * that take it (to another command it is an unknown option); -p, -n and -t take one value for the
 * model commands and a list for bench. Only quantize takes plain arguments (IN OUT TYPE; after
 * "--" even one that starts with '-'). */
static void parse_args(options *o, int argc, char **argv) {
    const char *cmd = o->cmd;
    int only_args = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || !a[1]) {
            if (o->bit != CMD_QUANTIZE) die_usage(cmd, "unexpected argument '%s'", a);
            if (o->n_args == 3) die_usage(cmd, "unexpected argument '%s' (it needs IN.gguf OUT.gguf TYPE)", a);
            o->args[o->n_args++] = a;
            continue;
        }
        if (!strcmp(a, "--")) { only_args = 1; continue; }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout, cmd); exit(put_end(0)); }
#define FLAG(l, cmds) ((o->bit & (cmds)) && !strcmp(a, l))
        if (FLAG("--no-bos", CMD_MODEL)) { o->no_bos = 1; continue; }
        if (FLAG("--numa-report", CMD_MODEL)) { o->numa_report = 1; continue; }
        if (FLAG("--no-repack", CMD_MODEL | CMD_BENCH)) { o->no_repack = 1; continue; }
        if (FLAG("--verbose-prompt", CMD_MODEL)) { o->verbose_prompt = 1; continue; }
        if (FLAG("--special", CMD_MODEL)) { o->special = 1; continue; }
        const char *v = ++i < argc ? argv[i] : NULL;   /* a known option without it: has_value says so */
#define IS(s, l, cmds) ((o->bit & (cmds)) && is_opt(a, s, l) && has_value(cmd, a, v))
        if (IS("-m", "--model", CMD_MODEL | CMD_BENCH)) o->model = v;
        else if (IS("-z", "--tokenizer", CMD_MODEL)) o->tokenizer = v;
        else if (IS("-p", "--prompt", CMD_MODEL)) o->prompt = v;
        else if (IS("-p", NULL, CMD_BENCH)) o->n_pp = parse_list(cmd, a, v, o->pp, 16, 0, 1 << 20);
        else if (IS("-f", "--file", CMD_MODEL)) {
            o->file = v;
            if (o->bit == CMD_TOKENIZE) {
                const char **f = realloc(o->files, ((size_t)o->n_files + 1) * sizeof *f);
                if (!f) { fprintf(stderr, "llm: out of memory\n"); exit(1); }
                o->files = f;
                f[o->n_files++] = v;
            }
        }
        else if (IS("-n", "--n-predict", CMD_MODEL)) { o->n_new = parse_int(cmd, a, v, 0, INT_MAX); o->n_new_set = 1; }
        else if (IS("-n", NULL, CMD_BENCH)) o->n_tg = parse_list(cmd, a, v, o->tg, 16, 0, 1 << 20);
        else if (IS("-c", "--ctx-size", CMD_MODEL)) o->n_ctx = parse_int(cmd, a, v, 1, INT_MAX);
        else if (IS("-t", "--threads", CMD_MODEL)) o->n_threads = parse_int(cmd, a, v, 1, 1024);
        else if (IS("-t", NULL, CMD_BENCH)) o->n_th = parse_list(cmd, a, v, o->th, 64, 1, 1024);
        else if (IS("-r", NULL, CMD_BENCH)) o->reps = parse_int(cmd, a, v, 1, 1000);
        else if (IS("-o", NULL, CMD_BENCH)) {
            if (strcmp(v, "md") && strcmp(v, "json")) die_usage(cmd, "-o takes md or json, not '%s'", v);
            o->json = !strcmp(v, "json");
        }
        else if (IS(NULL, "--membw", CMD_BENCH)) o->membw = parse_float(cmd, a, v, 0.001f, 1e6f);
        else if (IS(NULL, "--system", CMD_MODEL)) o->system = v;
        else if (IS(NULL, "--chat-template", CMD_MODEL)) o->chat_template = v;
        else if (IS("-s", "--seed", CMD_MODEL)) { o->sp.seed = (uint64_t)strtoull(v, NULL, 10); parse_int(cmd, a, v, 0, LONG_MAX); o->seed_set = 1; }
        else if (IS(NULL, "--temp", CMD_MODEL)) o->sp.temp = parse_float(cmd, a, v, 0, 100);
        else if (IS(NULL, "--top-k", CMD_MODEL)) o->sp.top_k = parse_int(cmd, a, v, 0, INT_MAX);
        else if (IS(NULL, "--top-p", CMD_MODEL)) o->sp.top_p = parse_float(cmd, a, v, 0, 1);
        else if (IS(NULL, "--min-p", CMD_MODEL)) o->sp.min_p = parse_float(cmd, a, v, 0, 1);
        else if (IS(NULL, "--repeat-penalty", CMD_MODEL)) o->sp.repeat_penalty = parse_float(cmd, a, v, 0.01f, 100);
        else if (IS(NULL, "--cpus", CMD_MODEL | CMD_BENCH)) o->cpus = cpu_list_arg(cmd, v);
        else if (IS(NULL, "--numa", CMD_MODEL | CMD_BENCH)) o->numa = numa_arg(cmd, v);
        else if (IS(NULL, "--dump-logits", CMD_MODEL)) o->dump_logits = v;
        else if (IS(NULL, "--dump-tokens", CMD_MODEL)) o->dump_tokens = v;
        else die_usage(cmd, "unknown option '%s'", a);
#undef IS
#undef FLAG
    }
}

static int die(const char *msg) {
    fprintf(stderr, "llm: %s\n", msg);
    return 1;
}

/* parse_special: control tokens written in the text (e.g. "<|eot_id|>") become those tokens
 * (byte-level BPE vocabularies; SentencePiece text is always plain) */
static int *tokenize_all(const llm_model *m, const char *text, size_t len, int add_special, int parse_special, int *n, llm_status *st) {
    int flags = (add_special ? 0 : LLM_PROMPT_NO_BOS) | (parse_special ? LLM_PROMPT_SPECIAL : 0);
    int need = llm_tokenize_prompt(m, text, len, flags, NULL, 0);
    int *ids = need >= 0 ? malloc(((size_t)need + 1) * sizeof(int)) : NULL;
    if (!ids) { fail(st, LLM_ERR_NOMEM, "out of memory while tokenizing"); return NULL; }
    *n = llm_tokenize_prompt(m, text, len, flags, ids, need);
    return ids;
}

/* run, chat and bench: the kernels line first on stderr, once */
static void show_kernels(void) {
    static int shown;
    if (!shown) print_kernels(stderr);
    shown = 1;
}

/* The model of -m / -z (vocab_only: its vocabulary alone). Argument errors exit 2, and the -m / -z
 * combination is checked before anything is printed: run, chat and bench then print the kernels
 * line, and the loader its progress. */
static llm_model *open_model(const options *o, int vocab_only, llm_status *st) {
    llm_model_params mp = llm_model_default_params();
    mp.path = o->model;
    mp.tokenizer_path = o->tokenizer;
    mp.vocab_only = vocab_only;
    mp.n_threads = o->n_threads;
    mp.cpus = o->cpus;
    mp.numa = o->numa;
    mp.numa_report = o->numa_report;
    mp.no_repack = o->no_repack;
    mp.quiet = o->quiet;
    if (model_source(&mp, st) < 0) die_usage(o->cmd, "%s", st->msg);
    if (o->bit & (CMD_RUN | CMD_CHAT | CMD_BENCH)) show_kernels();
    llm_model *m = llm_model_open(&mp, st);
    if (!m && st->code == LLM_ERR_ARG) die_usage(o->cmd, "%s", st->msg);
    return m;
}

/* The most bytes of text n tokens can spell: no token stands for more bytes of text than its
 * piece has (SentencePiece writes a space as the 3-byte "▁", byte-level BPE a byte as 1 or 2
 * bytes; a byte token "<0xAB>" or <unk> stands for one byte). Longer text cannot fit n tokens:
 * prompt files and chat lines are refused beyond this before they are read whole. */
static size_t text_bound(const llm_model *m, int n) {
    size_t longest = 1;
    for (int i = 0; i < m->tok.n_vocab; i++)
        if (m->tok.type[i] != TOK_BYTE && (size_t)m->tok.piece_len[i] > longest) longest = (size_t)m->tok.piece_len[i];
    return (size_t)n * longest + 16;
}

/* texts with no context to bound them (tokenize, perplexity) */
#define TEXT_MAX ((size_t)64 << 20)
#define TEXT_MAX_WHY "the most llm reads as one text (64 MiB)"

/* the prompt (-p TEXT or -f FILE); a file of more than max bytes is refused (read_text) */
static char *prompt_text(const options *o, size_t max, const char *why, size_t *len, llm_status *st) {
    if (o->file) return read_text(o->file, max, why, len, st);
    const char *p = o->prompt ? o->prompt : "";
    *len = strlen(p);
    char *s = strdup(p);
    if (!s) fail(st, LLM_ERR_NOMEM, "out of memory");
    return s;
}

/* One line of f without its newline, at most max bytes: its length; -1 at the end of the input;
 * -2 for a longer line (read only up to max + 1 bytes: memory stays bounded whatever comes
 * in); -3 out of memory. */
static ssize_t read_line(FILE *f, char **buf, size_t *cap, size_t max) {
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF && c != '\n') {
        if (n == max) return -2;
        if (n + 2 > *cap) {
            size_t grown = *cap > max / 2 ? max + 2 : *cap ? 2 * *cap : 256;
            char *b = realloc(*buf, grown);
            if (!b) return -3;
            *buf = b; *cap = grown;
        }
        (*buf)[n++] = (char)c;
    }
    if (c == EOF && n == 0) return -1;
    (*buf)[n] = 0;
    return (ssize_t)n;
}

/* a whole output file (section 1: a temporary renamed over PATH) */
static int write_file(const char *path, const void *data, size_t n, llm_status *st) {
    out_file f;
    int rc = out_open(&f, path, st);
    if (rc) return rc;
    out_write(&f, data, n);
    return out_close(&f, 1, st);
}

static int cmd_run(options *o) {
    llm_status st = {0};
    double t0 = now_sec();
    if (!o->model) die_usage("run", "no model given (-m MODEL)");
    llm_model *m = open_model(o, 0, &st);
    if (!m) return die(st.msg);
    int n_ctx = o->n_ctx ? o->n_ctx : (m->hp.ctx_train < 4096 ? m->hp.ctx_train : 4096);
    size_t len = 0;
    char why[96];
    snprintf(why, sizeof why, "more than a context of %d tokens can hold (-c)", n_ctx);
    char *text = prompt_text(o, text_bound(m, n_ctx), why, &len, &st);
    int n_prompt = 0, *prompt = text ? tokenize_all(m, text, len, !o->no_bos, o->special, &n_prompt, &st) : NULL;
    free(text);
    if (!prompt) { llm_model_free(m); return die(st.msg); }
    if (n_prompt == 0) { llm_model_free(m); free(prompt); return die("empty prompt: nothing to evaluate"); }
    if (n_prompt > n_ctx) {
        fprintf(stderr, "llm: the prompt has %d tokens, longer than the context of %d (use -c)\n", n_prompt, n_ctx);
        llm_model_free(m); free(prompt);
        return 1;
    }
    llm_ctx *c = llm_ctx_new(m, n_ctx, &st);
    if (!c) { llm_model_free(m); free(prompt); return die(st.msg); }
    if (!o->seed_set) o->sp.seed = (uint64_t)time(NULL);
    llm_sampler *s = llm_sampler_new(&o->sp);
    int *all = malloc(((size_t)n_prompt + o->n_new + 1) * sizeof(int));
    if (!s || !all) { fprintf(stderr, "llm: out of memory\n"); return 1; }
    memcpy(all, prompt, (size_t)n_prompt * sizeof(int));
    int n_all = n_prompt;
    double t_load = now_sec() - t0;

    char piece[512];
    for (int i = 0; i < n_prompt; i++) {                       /* echo the prompt as its tokens read */
        llm_token_to_piece(m, i ? prompt[i - 1] : -1, prompt[i], piece, sizeof piece);
        put("%s", piece);
    }
    put_flush();
    for (int i = 0; i < n_prompt; i++) llm_sampler_accept(s, prompt[i]);

    double t1 = now_sec();
    int rc = llm_eval(c, prompt, n_prompt, 0, 0, &st);
    double t2 = now_sec();
    if (!rc && o->dump_logits) rc = write_file(o->dump_logits, llm_logits(c), (size_t)llm_n_vocab(m) * sizeof(float), &st);
    int n_gen = 0, pos = n_prompt, prev = prompt[n_prompt - 1];
    double t_first = 0;
    while (!rc && !put_errno && n_gen < o->n_new) {           /* until stdout fails, if it does */
        int next = llm_sample(s, llm_logits(c), llm_n_vocab(m));
        if (llm_is_eog(m, next)) break;
        llm_sampler_accept(s, next);
        llm_token_to_piece(m, prev, next, piece, sizeof piece);
        put("%s", piece);
        if (!put_flush()) break;
        if (n_gen == 0) t_first = now_sec() - t0;
        all[n_all++] = next;
        prev = next;
        if (++n_gen == o->n_new) break;
        if (pos >= n_ctx) { fprintf(stderr, "\nllm: context full (%d tokens), generation stopped\n", n_ctx); break; }
        rc = llm_eval(c, &next, 1, pos++, 0, &st);
    }
    double t3 = now_sec();
    if (rc) fprintf(stderr, "llm: %s\n", st.msg);
    if (!rc && !put_errno && o->dump_tokens) {                 /* ids separated by spaces, one line */
        char *ids = malloc((size_t)n_all * 12 + 2);
        size_t k = 0;
        for (int i = 0; ids && i < n_all; i++) k += (size_t)sprintf(ids + k, i ? " %d" : "%d", all[i]);
        if (ids) ids[k++] = '\n';
        rc = ids ? write_file(o->dump_tokens, ids, k, &st) : fail(&st, LLM_ERR_NOMEM, "out of memory");
        if (rc) fprintf(stderr, "llm: %s\n", st.msg);
        free(ids);
    }
    fprintf(stderr, "\nllm: load %.0f ms | prompt %d tokens, %.2f ms, %.2f tok/s | generation %d tokens, %.2f ms, %.2f tok/s"
            " | first token after %.0f ms | %d threads, seed %llu\n", t_load * 1e3, n_prompt, (t2 - t1) * 1e3,
            n_prompt / (t2 - t1), n_gen, (t3 - t2) * 1e3, n_gen > 0 ? n_gen / (t3 - t2) : 0.0, t_first * 1e3, m->n_threads,
            (unsigned long long)o->sp.seed);
    free(all); free(prompt);
    llm_sampler_free(s); llm_ctx_free(c); llm_model_free(m);
    return put_end(rc ? 1 : 0);
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) { (void)sig; interrupted = 1; }

/* A chat's messages; contents and answer tokens are owned copies (roles are static strings). */
typedef struct { llm_chat_message *msg; int n, cap; } conversation;

static int conv_add(conversation *cv, const char *role, const char *text, size_t len, const int *toks, int n_toks) {
    if (cv->n == cv->cap) {
        int cap = cv->cap ? 2 * cv->cap : 16;
        llm_chat_message *p = realloc(cv->msg, (size_t)cap * sizeof *p);
        if (!p) return -1;
        cv->msg = p; cv->cap = cap;
    }
    char *c = malloc(len + 1);
    int *t = toks ? malloc(((size_t)n_toks + 1) * sizeof(int)) : NULL;
    if (!c || (toks && !t)) { free(c); free(t); return -1; }
    memcpy(c, text, len);
    c[len] = 0;
    if (toks) memcpy(t, toks, (size_t)n_toks * sizeof(int));
    cv->msg[cv->n++] = (llm_chat_message){role, c, t, n_toks};
    return 0;
}

/* drop messages [i, j) */
static void conv_drop(conversation *cv, int i, int j) {
    if (i >= j) return;   /* (also: no messages, cv->msg may be NULL) */
    for (int k = i; k < j; k++) { free((char *)cv->msg[k].content); free((int *)cv->msg[k].tokens); }
    if (j < cv->n) memmove(cv->msg + i, cv->msg + j, (size_t)(cv->n - j) * sizeof *cv->msg);   /* (msg is NULL when empty) */
    cv->n -= j - i;
}

/* The prompt of the next answer: the conversation rendered, then the answer so far. While fewer
 * than `room` positions of the context would stay free, the oldest turn after the first `keep`
 * messages (the system prompt) is dropped: its user message and the answers up to the next one;
 * the current message always stays. Returns the tokens (allocated; NULL with st filled). */
static int *chat_prompt(const llm_model *m, int k, conversation *cv, int keep, const token_list *ans, int n_ctx, int room,
                        int *n, int *dropped, llm_status *st) {
    *dropped = 0;
    for (;;) {
        int need = llm_chat_render(m, k, cv->msg, cv->n, 1, NULL, 0, st);
        if (need < 0) return NULL;
        int next_user = keep + 1;
        while (next_user < cv->n && strcmp(cv->msg[next_user].role, "user")) next_user++;
        if (need + ans->n + room > n_ctx && next_user < cv->n) { conv_drop(cv, keep, next_user); ++*dropped; continue; }
        int *ids = malloc(((size_t)need + ans->n + 1) * sizeof(int));
        if (!ids) { fail(st, LLM_ERR_NOMEM, "out of memory"); return NULL; }
        llm_chat_render(m, k, cv->msg, cv->n, 1, ids, need, st);
        if (ans->n) memcpy(ids + need, ans->ids, (size_t)ans->n * sizeof(int));
        *n = need + ans->n;
        return ids;
    }
}

/* Interactive chat: one line of stdin is one user message. The conversation is rendered whole
 * for each answer and the cache keeps what it already holds of it (llm_eval_prompt), so a turn
 * evaluates only its new tokens. When it outgrows the context, the oldest turns after the system
 * prompt are dropped and the rest evaluated again, before a turn or in the middle of an answer;
 * a message that does not fit even alone is refused. */
static int cmd_chat(options *o) {
    llm_status st = {0};
    if (!o->model) die_usage("chat", "no model given (-m MODEL)");
    int k = o->chat_template ? llm_chat_template_by_name(o->chat_template) : LLM_CHAT_NONE;
    if (o->chat_template && k == LLM_CHAT_NONE) die_usage("chat", "unknown chat template '%s' (llama2, llama3, deepseek-r1, chatml)", o->chat_template);
    llm_model *m = open_model(o, 0, &st);
    if (!m) return die(st.msg);
    if (k == LLM_CHAT_NONE) k = llm_chat_template(m);
    int n_ctx = o->n_ctx ? o->n_ctx : (m->hp.ctx_train < 4096 ? m->hp.ctx_train : 4096);
    llm_ctx *c = llm_ctx_new(m, n_ctx, &st);
    if (!c) { llm_model_free(m); return die(st.msg); }
    if (!o->seed_set) o->sp.seed = (uint64_t)time(NULL);
    llm_sampler *s = llm_sampler_new(&o->sp);
    int end = llm_chat_end_token(m, k), max_answer = o->n_new_set ? o->n_new : n_ctx;
    /* room kept free for an answer when turns are dropped: the -n limit, at most a quarter */
    int room = max_answer < n_ctx / 4 ? max_answer + 1 : n_ctx / 4 + 1;
    fprintf(stderr, "chat: template %s, context %d; Ctrl-C stops an answer, Ctrl-D ends\n", tpl_names[k], n_ctx);
    conversation cv = {0};
    int keep = 0, rc = 0, refused = 0, n = 0, dropped;
    char *line = NULL, piece[512];
    size_t cap = 0, max_line = text_bound(m, n_ctx);
    token_list ans = {.m = m};
    int *ids = NULL;
    if (o->system) {
        if (conv_add(&cv, "system", o->system, strlen(o->system), NULL, 0)) rc = fail(&st, LLM_ERR_NOMEM, "out of memory");
        keep = 1;
        if (!rc && !(ids = chat_prompt(m, k, &cv, keep, &ans, n_ctx, 0, &n, &dropped, &st))) rc = 1;
        if (!rc && n >= n_ctx) rc = fail(&st, LLM_ERR_ARG, "the system prompt needs %d tokens, more than the context of %d holds (use -c)", n, n_ctx);
        free(ids);
    }
    for (int turn = 0; !rc && !put_errno; turn++) {          /* until stdout fails, if it does */
        if (isatty(0)) fprintf(stderr, "\n> ");
        ssize_t len = read_line(stdin, &line, &cap, max_line);
        if (len == -2 || len == -3) {
            rc = len == -3 ? fail(&st, LLM_ERR_NOMEM, "out of memory")
                           : fail(&st, LLM_ERR_ARG, "a message of more than %zu bytes cannot fit the context of %d tokens (-c)",
                                  max_line, n_ctx);
            if (len == -3 || !isatty(0)) break;
            fprintf(stderr, "llm: %s\n", st.msg);                 /* typed: the rest of the line is dropped */
            for (int ch; (ch = getchar()) != EOF && ch != '\n';) {}
            rc = 0;
            turn--;
            continue;
        }
        if (len < 0) break;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) { turn--; continue; }
        if (conv_add(&cv, "user", line, (size_t)len, NULL, 0)) { rc = fail(&st, LLM_ERR_NOMEM, "out of memory"); break; }
        llm_chat_message alone[2] = {cv.msg[0], cv.msg[cv.n - 1]};           /* the system prompt and this message */
        if ((n = llm_chat_render(m, k, alone + 1 - keep, keep + 1, 1, NULL, 0, &st)) < 0) { rc = 1; break; }
        if (n >= n_ctx) {
            fprintf(stderr, "llm: the message needs %d tokens with the chat template%s, more than the context of %d holds: "
                    "not sent\n", n, keep ? " and the system prompt" : "", n_ctx);
            conv_drop(&cv, cv.n - 1, cv.n);
            refused = 1;
            turn--;
            continue;
        }
        ans.n = 0;
        if (!(ids = chat_prompt(m, k, &cv, keep, &ans, n_ctx, room, &n, &dropped, &st))) { rc = 1; break; }
        int reused = 0;
        rc = llm_eval_prompt(c, ids, n, &reused, &st);
        if (dropped) fprintf(stderr, "chat: the conversation outgrew the context of %d tokens: its %d oldest turns dropped, "
                             "%d tokens evaluated again\n", n_ctx, dropped, n - reused);
        if (o->verbose_prompt) {
            fprintf(stderr, "chat: turn %d: %d new tokens at position %d:", turn + 1, n - reused, reused);
            for (int i = reused; i < n; i++) fprintf(stderr, " %d", ids[i]);
            fprintf(stderr, "\n");
        }
        for (int i = reused; i < n; i++) llm_sampler_accept(s, ids[i]);
        free(ids);
        /* the answer, streamed: its tokens go into the cache one by one; the end-of-turn token comes
         * with the next turn's prompt */
        int prev = -1;
        size_t text_len = 0, text_cap = 256;
        char *text = malloc(text_cap);
        if (!text) { rc = fail(&st, LLM_ERR_NOMEM, "out of memory"); break; }
        interrupted = 0;
        void (*old)(int) = signal(SIGINT, on_sigint);
        while (!rc) {
            int next = llm_sample(s, llm_logits(c), llm_n_vocab(m));
            if (next == end || llm_is_eog(m, next) || interrupted || put_errno || ans.n >= max_answer) break;
            int pl = llm_token_to_piece(m, prev, next, piece, sizeof piece);
            put("%s", piece);
            put_flush();
            if (text_len + pl + 1 > text_cap) {
                char *p = realloc(text, text_cap = 2 * (text_len + pl + 1));
                if (!p) { rc = fail(&st, LLM_ERR_NOMEM, "out of memory"); break; }
                text = p;
            }
            memcpy(text + text_len, piece, (size_t)pl);
            text_len += (size_t)pl;
            tl_push(&ans, next);
            if (ans.err) { rc = fail(&st, LLM_ERR_NOMEM, "out of memory"); break; }
            llm_sampler_accept(s, next);
            prev = next;
            if (llm_n_past(c) < n_ctx) { rc = llm_eval(c, &next, 1, llm_n_past(c), 0, &st); continue; }
            /* the context is full: make room by dropping turns, evaluate the rest again */
            if (!(ids = chat_prompt(m, k, &cv, keep, &ans, n_ctx, room, &n, &dropped, &st))) { rc = 1; break; }
            if (n >= n_ctx || !dropped) { fprintf(stderr, "\nllm: context full (%d tokens): answer cut\n", n_ctx); free(ids); break; }
            rc = llm_eval_prompt(c, ids, n, &reused, &st);
            fprintf(stderr, "\nchat: the conversation outgrew the context of %d tokens during an answer: its %d oldest turns dropped, "
                    "%d tokens evaluated again\n", n_ctx, dropped, n - reused);
            free(ids);
        }
        signal(SIGINT, old);
        put("\n");
        put_flush();
        if (o->verbose_prompt) {
            fprintf(stderr, "chat: answer: %d tokens:", ans.n);
            for (int i = 0; i < ans.n; i++) fprintf(stderr, " %d", ans.ids[i]);
            fprintf(stderr, "\n");
        }
        if (!rc && conv_add(&cv, "assistant", text, text_len, ans.ids ? ans.ids : (int[1]){0}, ans.n)) rc = fail(&st, LLM_ERR_NOMEM, "out of memory");
        free(text);
    }
    if (rc) fprintf(stderr, "llm: %s\n", st.msg);
    free(line); free(ans.ids);
    conv_drop(&cv, 0, cv.n);
    free(cv.msg);
    llm_sampler_free(s); llm_ctx_free(c); llm_model_free(m);
    return put_end(rc || (refused && !isatty(0)) ? 1 : 0);
}

static int cmd_tokenize(options *o) {
    llm_status st = {0};
    if (!o->prompt && !o->file) die_usage("tokenize", "give the text with -p TEXT or -f FILE");
    if (!o->model && !o->tokenizer) die_usage("tokenize", "no model given (-m MODEL or -z TOKENIZER)");
    llm_model *m = open_model(o, 1, &st);
    if (!m) { free(o->files); return die(st.msg); }
    int rc = 0;
    for (int f = 0; f < (o->n_files > 1 ? o->n_files : 1) && !rc; f++) {
        if (o->n_files > 1) o->file = o->files[f];
        size_t len = 0;
        char *text = prompt_text(o, TEXT_MAX, TEXT_MAX_WHY, &len, &st);
        int n = 0, *ids = text ? tokenize_all(m, text, len, !o->no_bos, o->special, &n, &st) : NULL;
        free(text);
        if (!ids) { rc = die(st.msg); break; }
        for (int i = 0; i < n; i++) put(i ? " %d" : "%d", ids[i]);
        put("\n");
        free(ids);
    }
    free(o->files);
    llm_model_free(m);
    return put_end(rc);
}

static void print_kv_value(const gguf_kv *kv) {
    const uint8_t *v = kv->val;
    switch (kv->type) {
    case GGUF_STR: {
        uint64_t n = le_uint(v, 8);
        put("\"%.*s%s\"", (int)(n > 60 ? 60 : n), (const char *)v + 8, n > 60 ? "..." : "");
        for (const uint8_t *p = v + 8; p < v + 8 + (n > 60 ? 60 : n); p++) if (*p == '\n') { put(" (multi-line)"); break; }
        break;
    }
    case GGUF_ARR: put("array of %llu x type %d", (unsigned long long)kv->arr_n, kv->arr_type); break;
    case GGUF_F32: put("%g", f32_from_bits((uint32_t)le_uint(v, 4))); break;
    case GGUF_F64: { uint64_t u = le_uint(v, 8); double d; memcpy(&d, &u, 8); put("%g", d); break; }
    case GGUF_BOOL: put("%s", v[0] ? "true" : "false"); break;
    case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64: {
        int64_t x = 0;
        if (kv->type == GGUF_I8) x = (int8_t)v[0];
        else if (kv->type == GGUF_I16) x = (int16_t)le_uint(v, 2);
        else if (kv->type == GGUF_I32) x = (int32_t)le_uint(v, 4);
        else x = (int64_t)le_uint(v, 8);
        put("%lld", (long long)x);
        break;
    }
    default: put("%llu", (unsigned long long)le_uint(v, gguf_vsize[kv->type]));
    }
}

static int cmd_info(options *o) {
    llm_status st = {0};
    if (!o->model) die_usage("info", "no model given (-m MODEL)");
    if (is_gguf_file(o->model)) {
        gguf_file g;
        if (gguf_open(&g, o->model, &st)) return die(st.msg);
        put("file: %s\nformat: GGUF v%u, %llu metadata keys, %llu tensors, alignment %llu\n", o->model, g.version,
               (unsigned long long)g.n_kv, (unsigned long long)g.n_tensors, (unsigned long long)g.alignment);
        put("\nmetadata:\n");
        for (uint64_t i = 0; i < g.n_kv; i++) {
            put("  %-44.*s ", (int)g.kv[i].key.len, (const char *)g.kv[i].key.p);
            print_kv_value(&g.kv[i]);
            put("\n");
        }
        put("\ntensors:\n  %-32s %-6s %-22s %12s\n", "name", "type", "shape", "bytes");
        uint64_t total = 0;
        for (uint64_t i = 0; i < g.n_tensors; i++) {
            const gguf_tensor *t = &g.tensors[i];
            char shape[96];
            gguf_shape(t, shape, sizeof shape);
            put("  %-32.*s %-6s %-22s %12llu\n", (int)t->name.len, (const char *)t->name.p, type_name(t->type), shape,
                   (unsigned long long)t->size);
            total += t->size;
        }
        put("  total tensor bytes: %llu (%.2f MiB)\n", (unsigned long long)total, total / 1048576.0);
        gguf_close(&g);
    }
    o->n_threads = 1;
    llm_model *m = open_model(o, 0, &st);
    if (!m) return die(st.msg);
    const hparams *hp = &m->hp;
    put("\nmodel: %s, %s\n", m->from_llama2c ? "llama2.c checkpoint" : hp->arch, o->model);
    put("  dim %d, layers %d, heads %d, kv heads %d, head size %d, ffn %d, vocab %d, context %d\n", hp->dim, hp->n_layers,
           hp->n_heads, hp->n_kv_heads, hp->head_size, hp->hidden, hp->vocab, hp->ctx_train);
    put("  rope base %g, rope dims %d (%s%s), rms eps %g, classifier %s\n", hp->rope_theta, hp->n_rot,
           hp->rope_neox ? "neox" : "adjacent pairs", m->rope_freqs.data ? ", frequency factors" : "", hp->eps,
           m->output.data == m->tok_embd.data ? "tied to the embedding" : "separate");
    if (m->from_llama2c) {
        tensor *ts[] = {&m->layers[0].wq, &m->layers[0].w1};
        put("  weights: F32, e.g. wq [%lld, %lld], w1 [%lld, %lld]\n", (long long)ts[0]->cols, (long long)ts[0]->rows,
               (long long)ts[1]->cols, (long long)ts[1]->rows);
    }
    if (m->tok.bpe) put("  tokenizer: byte-level BPE (pre %s), %d tokens, bos %d, eos %d, eot %d\n", bpe_pre_name(m->tok.bpe),
                           m->tok.n_vocab, m->tok.bos, m->tok.eos, m->tok.eot);
    else put("  tokenizer: SentencePiece BPE, %d tokens, bos %d, eos %d, unk %d\n", m->tok.n_vocab, m->tok.bos, m->tok.eos, m->tok.unk);
    llm_model_free(m);
    return put_end(0);
}

static int cmd_perplexity(options *o) {
    llm_status st = {0};
    if (!o->model) die_usage("perplexity", "no model given (-m MODEL)");
    if (!o->file) die_usage("perplexity", "no text given (-f FILE)");
    llm_model *m = open_model(o, 0, &st);
    if (!m) return die(st.msg);
    size_t len = 0;
    char *text = read_text(o->file, TEXT_MAX, TEXT_MAX_WHY, &len, &st);
    int n = 0, *tok = text ? tokenize_all(m, text, len, 1, 0, &n, &st) : NULL;
    free(text);
    if (!tok) { llm_model_free(m); return die(st.msg); }
    int ctx = o->n_ctx ? o->n_ctx : 512;
    if (n < ctx) {
        fprintf(stderr, "llm: %s has %d tokens, fewer than one chunk of %d (use a smaller -c)\n", o->file, n, ctx);
        free(tok); llm_model_free(m);
        return 1;
    }
    if (ctx < 4) die_usage("perplexity", "-c must be at least 4");
    llm_ctx *c = llm_ctx_new(m, ctx, &st);
    if (!c) { free(tok); llm_model_free(m); return die(st.msg); }
    int n_chunk = n / ctx, V = llm_n_vocab(m), first = ctx / 2;
    double nll = 0, nll2 = 0;
    long count = 0;
    double t0 = now_sec();
    fprintf(stderr, "perplexity: %d tokens, %d chunks of %d, scoring the last %d positions of each\n", n, n_chunk, ctx, ctx - 1 - first);
    for (int ch = 0; ch < n_chunk; ch++) {
        int *seq = tok + (size_t)ch * ctx, saved = seq[0];
        if (m->tok.add_bos) seq[0] = m->tok.bos;   /* as llama.cpp: each chunk starts with BOS where the file adds one */
        int rc = llm_eval(c, seq, ctx, 0, 1, &st);
        if (rc) { fprintf(stderr, "llm: %s\n", st.msg); return 1; }
        const float *lg = llm_logits(c);
        for (int j = first; j < ctx - 1; j++) {
            const float *row = lg + (size_t)j * V;
            double max = row[0], sum = 0;
            for (int v = 1; v < V; v++) if (row[v] > max) max = row[v];
            for (int v = 0; v < V; v++) sum += exp((double)row[v] - max);
            double l = -((double)row[seq[j + 1]] - max - log(sum));
            nll += l; nll2 += l * l; count++;
        }
        seq[0] = saved;
        fprintf(stderr, "[%d]%.4f%s", ch + 1, exp(nll / count), ch + 1 == n_chunk ? "\n" : ",");
    }
    double mean = nll / count, var = nll2 / count - mean * mean;
    double err = count > 1 && var > 0 ? sqrt(var / (count - 1)) : 0;
    double dt = now_sec() - t0;
    put("PPL = %.4f +/- %.4f (%d chunks of %d tokens, %ld scored)\n", exp(mean), exp(mean) * err, n_chunk, ctx, count);
    fprintf(stderr, "perplexity: %.2f s, %.1f tok/s\n", dt, n_chunk * (double)ctx / dt);
    llm_ctx_free(c); free(tok); llm_model_free(m);
    return put_end(0);
}

/* ---- bench: prompt processing (pp) and generation (tg) throughput, llama-bench style ---------
 * pp N: N random tokens evaluated as one batched prompt at position 0.
 * tg N: N tokens evaluated one at a time at positions 0..N-1 (decode).
 * Each test runs once to warm up, then REPS times; the table shows mean +/- stddev of tok/s.
 * Decode reads every weight matrix once per token, so tg <= bandwidth / weight bytes: the
 * roofline column compares tg with that bound, using a read bandwidth measured here by the
 * same threads (each streams through its own buffer in four quarters side by side, as the
 * decode kernel does, best of 10). */
typedef struct { double *sum; size_t n; } membw_task;
static void membw_worker(void *arg, int ith, int nth) {
    membw_task *t = arg;
    static _Thread_local uint64_t *buf;
    static _Thread_local size_t have;
    if (have != t->n) { free(buf); buf = aligned_zalloc(t->n * 8); have = buf ? t->n : 0; if (!buf) return; memset(buf, ith + 1, t->n * 8); }
    /* four quarters side by side: as many sequential streams as the packed decode kernel */
    uint64_t acc[8] = {0};
    const size_t q = t->n / 4 / 8 * 8;
    for (size_t i = 0; i < q; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += buf[i + l] + buf[q + i + l] + buf[2 * q + i + l] + buf[3 * q + i + l];
    t->sum[ith] = (double)(acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7]);
}

/* GB/s read by as many threads as the model's pool, pinned the same way, best of 10 runs over
 * 1 GiB per thread (well beyond any cache). Measured in a child process so its buffers do not
 * count in our RSS. */
static double measure_membw(const llm_model *m) {
    int fd[2];
    double best = 0;
    if (pipe(fd) != 0) return 0;
    pid_t pid = fork();
    if (pid == 0) {
        llm_model tmp = *m;                                     /* a fresh pool of the same threads */
        if (pool_create(&tmp) == LLM_OK) {
            size_t per_thread = ((size_t)1024 << 20) / 8;
            double *sum = xcalloc(tmp.n_threads, sizeof(double));
            membw_task t = {sum, per_thread};
            pool_run(tmp.pool, membw_worker, &t);               /* allocate and touch */
            for (int r = 0; r < 10; r++) {
                double t0 = now_sec();
                pool_run(tmp.pool, membw_worker, &t);
                double gbs = (double)(per_thread / 4 / 8 * 8 * 4) * 8 * tmp.n_threads / (now_sec() - t0) / 1e9;
                if (gbs > best) best = gbs;
            }
        }
        ssize_t w = write(fd[1], &best, sizeof best);
        _exit(w == sizeof best ? 0 : 1);
    }
    close(fd[1]);
    if (pid < 0 || read(fd[0], &best, sizeof best) != sizeof best) best = 0;
    close(fd[0]);
    if (pid > 0) waitpid(pid, NULL, 0);
    return best;
}

/* bytes of weights one decode step reads: every matrix, one embedding row */
static double weight_bytes_per_token(const llm_model *m) {
    double b = (double)m->tok_embd.row_bytes;
    b += (double)m->output.rows * m->output.row_bytes;      /* the classifier, tied or not */
    for (int l = 0; l < m->hp.n_layers; l++) {
        const layer_weights *L = &m->layers[l];
        const tensor *ts[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w1, &L->w2, &L->w3};
        for (int i = 0; i < 7; i++) b += (double)ts[i]->rows * ts[i]->row_bytes;
        b += 2.0 * m->hp.dim * 4;                               /* norms */
    }
    return b;
}

/* the type of the model's weight matrices; for a file that mixes types (a Q4_K_M file: Q4_K
 * with some Q6_K) the types joined by '+', the type with the most bytes first ("Q4_K+Q6_K") */
static const char *model_type_name(const llm_model *m) {
    static char buf[96];
    uint64_t bytes[T_COUNT] = {0};
    for (int l = 0; l < m->hp.n_layers; l++) {
        const layer_weights *L = &m->layers[l];
        const tensor *ts[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w1, &L->w2, &L->w3};
        for (int j = 0; j < 7; j++) bytes[ts[j]->type] += (uint64_t)ts[j]->rows * ts[j]->row_bytes;
    }
    bytes[m->output.type] += (uint64_t)m->output.rows * m->output.row_bytes;
    buf[0] = 0;
    for (;;) {
        int best = -1;
        for (int t = 0; t < T_COUNT; t++)
            if (bytes[t] && (best < 0 || bytes[t] > bytes[best])) best = t;
        if (best < 0) return buf;
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof buf - len, "%s%s", len ? "+" : "", type_name(best));
        bytes[best] = 0;
    }
}

static int cmd_bench(options *o) {
    if (!o->model) die_usage("bench", "no model given (-m MODEL)");
    const int *pp = o->pp, *tg = o->tg, n_pp = o->n_pp, n_tg = o->n_tg, reps = o->reps, json = o->json;
    const char *model = o->model;
    const double membw = o->membw;
    o->quiet = 1;
    int max_ctx = 1, first = 1;
    double budget = 0;   /* weights + KV cache + 64 MiB: what peak RSS must stay within */
    for (int i = 0; i < n_pp; i++) if (pp[i] > max_ctx) max_ctx = pp[i];
    for (int i = 0; i < n_tg; i++) if (tg[i] > max_ctx) max_ctx = tg[i];
    for (int ti = 0; ti < o->n_th; ti++) {
        llm_status st = {0};
        o->n_threads = o->th[ti];
        double tl = now_sec();
        llm_model *m = open_model(o, 0, &st);
        if (!m) return die(st.msg);
        tl = now_sec() - tl;
        llm_ctx *c = llm_ctx_new(m, max_ctx, &st);
        if (!c) { llm_model_free(m); return die(st.msg); }
        double wbytes = weight_bytes_per_token(m), params = 0, size = 0;
        tensor *ts[2 + 7 * 4096];
        int nt = model_matrices(m, ts);
        for (int i = 0; i < nt; i++) { params += (double)ts[i]->rows * ts[i]->cols; size += (double)ts[i]->rows * ts[i]->row_bytes; }
        budget = fmax(budget, (double)(m->from_llama2c ? m->bin.size : m->gguf.mf.size) + 2.0 * c->cache_floats * sizeof(float) + 64.0 * 1048576);
        int packed = m->output.packed != NULL;
        for (int l = 0; l < m->hp.n_layers; l++) packed |= m->layers[l].wq.packed || m->layers[l].w2.packed;
        fprintf(stderr, "bench: %s, %d threads, load %.2f s, weights %s\n", model, m->n_threads, tl,
                packed ? "packed in the kernels' layout" : "in the file's layout");
        int *toks = xcalloc(max_ctx, sizeof(int));
        uint64_t rng = 42;
        for (int i = 0; i < max_ctx; i++) toks[i] = (int)(rng_u32(&rng) % (uint32_t)llm_n_vocab(m));
        if (m->tok.add_bos) toks[0] = m->tok.bos;             /* a prompt starts as the file says */
        /* the bandwidth is measured right before and right after the tg tests and the higher value
         * is the roof: on a machine whose bandwidth drifts, one measurement taken well before the
         * tg runs can sit below what they actually get */
        double mean[2][sizeof o->pp / sizeof *o->pp], sd[2][sizeof o->pp / sizeof *o->pp], bw[2] = {membw, membw};   /* [0]: pp, [1]: tg (pp and tg have the same length) */
        int measured = 0;   /* once, before the first tg test (even if it failed) */
        for (int kind = 0; kind < 2; kind++)
            for (int k = 0; k < (kind ? n_tg : n_pp); k++) {
                int n = kind ? tg[k] : pp[k];
                if (n == 0) continue;
                if (kind && membw <= 0 && !measured) {
                    bw[0] = measure_membw(m);
                    measured = 1;
                    if (bw[0] <= 0) fprintf(stderr, "bench: could not measure the read bandwidth (no roofline; --membw GB/s gives one)\n");
                }
                double ts_sum = 0, ts_sq = 0;
                for (int r = -1; r < reps; r++) {                   /* r = -1: warm-up */
                    double t0 = now_sec();
                    int rc = kind ? 0 : llm_eval(c, toks, n, 0, 0, &st);
                    for (int i = 0; kind && i < n && !rc; i++) rc = llm_eval(c, toks + i, 1, i, 0, &st);
                    if (rc) return die(st.msg);
                    double tps = n / (now_sec() - t0);
                    if (r >= 0) { ts_sum += tps; ts_sq += tps * tps; }
                }
                mean[kind][k] = ts_sum / reps;
                sd[kind][k] = reps > 1 ? sqrt(fmax(0, (ts_sq - reps * mean[kind][k] * mean[kind][k]) / (reps - 1))) : 0;
            }
        if (membw <= 0 && bw[0] > 0) {
            bw[1] = measure_membw(m);
            fprintf(stderr, "bench: read bandwidth %.1f GB/s (measured, best of 10 right before the tg tests: %.1f, right after: %.1f)\n",
                    fmax(bw[0], bw[1]), bw[0], bw[1]);
        } else if (membw > 0)
            fprintf(stderr, "bench: read bandwidth %.1f GB/s (given)\n", membw);
        double roof = fmax(bw[0], bw[1]) * 1e9 / wbytes;
        const char *base = strrchr(model, '/') ? strrchr(model, '/') + 1 : model;
        if (ti == 0 && json) put("[\n");        /* the header once the first model has loaded and run */
        else if (ti == 0) put("| model | size | params | type | threads | test | t/s | weights/token | roof t/s | %% of roof |\n"
                              "| --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: |\n");
        for (int kind = 0; kind < 2; kind++)
            for (int k = 0; k < (kind ? n_tg : n_pp); k++) {
                int n = kind ? tg[k] : pp[k];
                if (n == 0) continue;
                if (json)
                    put("%s  {\"model\": \"%s\", \"size_bytes\": %.0f, \"params\": %.0f, \"type\": \"%s\", \"threads\": %d, "
                           "\"test\": \"%s%d\", \"tps_mean\": %.3f, \"tps_stddev\": %.3f, \"weight_bytes_per_token\": %.0f, "
                           "\"membw_gbs\": %.2f, \"roof_tps\": %.3f, \"roof_fraction\": %.4f}", first ? "" : ",\n", base, size,
                           params, model_type_name(m), m->n_threads, kind ? "tg" : "pp", n, mean[kind][k], sd[kind][k], wbytes,
                           fmax(bw[0], bw[1]), roof, kind && roof > 0 ? mean[kind][k] / roof : 0);
                else if (kind)
                    put("| %s | %.1f MiB | %.1f M | %s | %d | tg%d | %.2f ± %.2f | %.1f MB | %.2f | %.0f%% |\n", base, size / 1048576.0,
                           params / 1e6, model_type_name(m), m->n_threads, n, mean[kind][k], sd[kind][k], wbytes / 1e6, roof,
                           roof > 0 ? 100 * mean[kind][k] / roof : 0);
                else
                    put("| %s | %.1f MiB | %.1f M | %s | %d | pp%d | %.2f ± %.2f | | | |\n", base, size / 1048576.0,
                           params / 1e6, model_type_name(m), m->n_threads, n, mean[kind][k], sd[kind][k]);
                first = 0;
            }
        put_flush();
        free(toks);
        llm_ctx_free(c);
        llm_model_free(m);
    }
    if (json) put("\n]\n");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss = ru.ru_maxrss * 1024.0;
    fprintf(stderr, "bench: peak RSS %.1f MiB, %s the %.1f MiB of model file + KV cache + 64 MiB\n", rss / 1048576.0,
            rss <= budget ? "within" : "OVER", budget / 1048576.0);
    return put_end(0);
}

static int cmd_quantize(options *o) {
    if (o->n_args != 3) die_usage("quantize", "needs IN.gguf OUT.gguf TYPE");
    int type = writable_type(o->args[2]);
    if (type < 0) die_usage("quantize", "unknown type '%s' (" WRITABLE_TYPES ")", o->args[2]);
    llm_status st = {0};
    double t0 = now_sec();
    if (quantize_file(o->args[0], o->args[1], type, &st)) return die(st.msg);
    fprintf(stderr, "quantize: wrote %s (%s) in %.2f s\n", o->args[1], ttraits[type].name, now_sec() - t0);
    return 0;
}

static __attribute__((noinline)) int llm_main(int argc, char **argv) {
    if (argc < 2) { usage(stderr, NULL); return 2; }          /* nothing asked: a usage error */
    const char *first = argv[1];
    if (!strcmp(first, "--version")) {
        if (argc > 2) { fprintf(stderr, "llm: --version takes no arguments\n"); return 2; }
        char cc[128];                                            /* clang's version may end in a space */
        snprintf(cc, sizeof cc, "%s", COMPILER);
        for (size_t n = strlen(cc); n > 0 && cc[n - 1] == ' ';) cc[--n] = 0;
        printf("llm %s\ncompiler: %s\n", LLM_VERSION, cc);
        print_kernels(stdout);
        return put_end(0);
    }
    if (!strcmp(first, "-h") || !strcmp(first, "--help") || !strcmp(first, "help")) {
        const char *cmd = !strcmp(first, "help") && argc > 2 ? argv[2] : NULL;
        if (cmd && !find_command(cmd)) { fprintf(stderr, "llm: unknown command '%s' (see 'llm --help')\n", cmd); return 2; }
        usage(stdout, cmd);
        return put_end(0);
    }
    const struct command *c = first[0] == '-' ? &commands[0] : find_command(first);   /* options first: run */
    if (!c) { fprintf(stderr, "llm: unknown command '%s' (see 'llm --help')\n", first); return 2; }
    options o = {.cmd = c->name, .bit = c->bit, .n_new = 256, .sp = llm_sampler_default_params(),
                 .pp = {64, 512}, .n_pp = 2, .tg = {32}, .n_tg = 1, .n_th = 1, .reps = 3};
    int skip = first[0] == '-' ? 1 : 2;
    parse_args(&o, argc - skip, argv + skip);
    return c->fn(&o);
}

/* The vector-unit probe runs before anything else: compilers put vector instructions in
 * ordinary code (struct zeroing), so a vector build on a CPU without one must stop here. */
int main(int argc, char **argv) {
    const char *why;
    if (!kernels_cpu_ok(&why)) { fprintf(stderr, "llm: %s\n", why); return 1; }
    install_file_guards("llm");
    return llm_main(argc, argv);
}
#endif /* LLM_NO_MAIN */
