/* fuzz_common.h - shared by the libFuzzer targets in tests/fuzz/ (include it BEFORE llm.c).
 *
 * 1. Heap-backed "mmap": llm.c maps model files read-only and reads them in place. Reads past
 *    the end of a real mapping land in the zero-filled rest of the last page, where
 *    AddressSanitizer sees nothing. Here a file mmap becomes a malloc of exactly the file size
 *    plus a pread, so reading even one byte beyond the file is a heap-buffer-overflow report.
 *    Anonymous maps stay real. (sys/mman.h is included first, so only llm.c's calls are renamed.)
 * 2. A per-process scratch directory (on /dev/shm when there is one) for the files the loaders
 *    want by path; removed at exit.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* file mappings become exact-size heap blocks; anonymous mappings stay real mappings */
static struct { void *p; size_t len; } fuzz_maps[64];

static void *fuzz_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    if (fd < 0 || (flags & MAP_ANONYMOUS)) return mmap(addr, len, prot, flags, fd, off);
    size_t slot = 0;
    while (slot < sizeof fuzz_maps / sizeof *fuzz_maps && fuzz_maps[slot].p) slot++;
    if (slot == sizeof fuzz_maps / sizeof *fuzz_maps) { fprintf(stderr, "fuzz_mmap: too many file maps\n"); abort(); }
    uint8_t *p = malloc(len ? len : 1);
    if (!p) { errno = ENOMEM; return MAP_FAILED; }
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, p + got, len - got, off + (off_t)got);
        if (r <= 0) { free(p); errno = r < 0 ? errno : EIO; return MAP_FAILED; }
        got += (size_t)r;
    }
    fuzz_maps[slot].p = p;
    fuzz_maps[slot].len = len;
    return p;
}

static int fuzz_munmap(void *p, size_t len) {
    for (size_t i = 0; i < sizeof fuzz_maps / sizeof *fuzz_maps; i++)
        if (fuzz_maps[i].p == p) {
            if (fuzz_maps[i].len != len) { fprintf(stderr, "fuzz_munmap: length %zu, mapped %zu\n", len, fuzz_maps[i].len); abort(); }
            fuzz_maps[i].p = NULL;
            free(p);
            return 0;
        }
    return munmap(p, len);
}

/* madvise on a file map (e.g. MADV_DONTNEED after copying weights) must not zero heap pages */
static int fuzz_madvise(void *p, size_t len, int advice) {
    for (size_t i = 0; i < sizeof fuzz_maps / sizeof *fuzz_maps; i++)
        if (fuzz_maps[i].p && (uint8_t *)p + len > (uint8_t *)fuzz_maps[i].p &&
            (uint8_t *)p < (uint8_t *)fuzz_maps[i].p + fuzz_maps[i].len)
            return 0;
    return madvise(p, len, advice);
}

#define mmap fuzz_mmap
#define munmap fuzz_munmap
#define madvise fuzz_madvise

static char fuzz_dir[256];

static void fuzz_cleanup(void) {
    char p[512];
    if (!fuzz_dir[0]) return;
    DIR *d = opendir(fuzz_dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", fuzz_dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(fuzz_dir);
}

/* is there a file in the scratch directory whose name starts with prefix (a leftover temporary)? */
static __attribute__((unused)) int fuzz_has_prefix(const char *prefix) {
    int found = 0;
    DIR *d = opendir(fuzz_dir);
    for (struct dirent *e; d && (e = readdir(d));) found |= !strncmp(e->d_name, prefix, strlen(prefix));
    if (d) closedir(d);
    return found;
}

/* the scratch directory, created on first use */
static const char *fuzz_scratch(void) {
    if (fuzz_dir[0]) return fuzz_dir;
    struct stat sb;
    const char *base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0
                           ? "/dev/shm"
                           : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/llmfuzz.XXXXXX", base);
    if (!mkdtemp(fuzz_dir)) { perror("fuzz: mkdtemp"); abort(); }
    atexit(fuzz_cleanup);
    return fuzz_dir;
}

/* write data to NAME in the scratch directory; returns the path (a static buffer per slot) */
static __attribute__((unused)) const char *fuzz_write(int slot, const char *name, const uint8_t *data, size_t size) {
    static char paths[4][512];
    char *path = paths[slot & 3];
    snprintf(path, sizeof paths[0], "%s/%s", fuzz_scratch(), name);
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); abort(); }
    if (size && fwrite(data, 1, size, f) != size) { perror(path); abort(); }
    if (fclose(f) != 0) { perror(path); abort(); }
    return path;
}

static __attribute__((unused)) const char *fuzz_path(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_scratch(), name);
    return path;
}

/* Reports go to a copy of stderr made at start-up, so they survive a target silencing fd 2
 * (fuzz_gguf does around quantize_file); sanitizer reports are sent there too. */
extern void __sanitizer_set_report_fd(void *fd) __attribute__((weak));
static int fuzz_err_fd = 2;

__attribute__((constructor)) static void fuzz_init_report_fd(void) {
    int fd = dup(2);
    if (fd < 0) return;
    fuzz_err_fd = fd;
    if (__sanitizer_set_report_fd) __sanitizer_set_report_fd((void *)(intptr_t)fd);
}

/* a property the code under test must keep: report like a crash, with the input saved */
#define FUZZ_CHECK(cond, ...)                                                                  \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            dprintf(fuzz_err_fd, "fuzz check failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            dprintf(fuzz_err_fd, __VA_ARGS__);                                                 \
            dprintf(fuzz_err_fd, "\n");                                                        \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

#endif /* FUZZ_COMMON_H */
