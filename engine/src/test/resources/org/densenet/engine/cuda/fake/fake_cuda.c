/*
 * A stand-in for the driver calls DriverProbe makes (cuda.h signatures), for testing the probe
 * without a GPU: one "GPU" by default, or as many as the environment variable DN_FAKE_GPUS says
 * (1 to 16; a child process running `train --gpus N` needs them) or fake_cuda_set_device_count
 * sets before the probe (a test in this process); fake_set_init_result makes cuInit fail as a
 * machine without a device does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int init_result = 0;
void fake_set_init_result(int r) { init_result = r; }
static int device_count = 0;
void fake_cuda_set_device_count(int n) { device_count = n >= 1 && n <= 16 ? n : 1; }
static int devices(void) {
    if (device_count == 0) {
        const char *e = getenv("DN_FAKE_GPUS");
        fake_cuda_set_device_count(e != NULL ? atoi(e) : 1);
    }
    return device_count;
}
static int known_device(int dev) { return dev >= 0 && dev < devices(); }

int cuInit(unsigned flags) { return flags == 0 ? init_result : 1; }
int cuDriverGetVersion(int *v) { *v = 13000; return 0; }
int cuDeviceGetCount(int *n) { *n = devices(); return 0; }
int cuDeviceGet(int *dev, int ordinal) { if (!known_device(ordinal)) return 101; *dev = ordinal; return 0; }
#ifdef DN_EMULATED_KERNELS
#define DN_DEVICE_NAME "CUDA emulator (kernels run on the CPU)"
#else
#define DN_DEVICE_NAME "Fake H100 80GB HBM3"
#endif
int cuDeviceGetName(char *name, int len, int dev) { snprintf(name, len, DN_DEVICE_NAME); return known_device(dev) ? 0 : 101; }
int cuDeviceTotalMem_v2(size_t *bytes, int dev) { *bytes = (size_t) 85 << 30; return 0; }
int cuDeviceGetAttribute(int *v, int attr, int dev) {
    if (attr == 75) { *v = 9; return 0; }
    if (attr == 76) { *v = 0; return 0; }
    return 1;
}
int cuGetErrorName(int r, const char **s) {
    switch (r) {
        case 0: *s = "CUDA_SUCCESS"; return 0;
        case 1: *s = "CUDA_ERROR_INVALID_VALUE"; return 0;
        case 100: *s = "CUDA_ERROR_NO_DEVICE"; return 0;
        case 401: *s = "CUDA_ERROR_ILLEGAL_STATE"; return 0;
        case 500: *s = "CUDA_ERROR_NOT_FOUND"; return 0;
        case 719: *s = "CUDA_ERROR_LAUNCH_FAILED"; return 0;
        case 900: *s = "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED"; return 0;
        case 901: *s = "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED"; return 0;
        default: *s = NULL; return 1;
    }
}
int cuGetErrorString(int r, const char **s) {
    switch (r) {
        case 0: *s = "no error"; return 0;
        case 1: *s = "invalid argument"; return 0;
        case 100: *s = "no CUDA-capable device is detected"; return 0;
        case 401: *s = "the operation cannot be performed in the present state"; return 0;
        case 500: *s = "named symbol not found"; return 0;
        case 719: *s = "unspecified launch failure"; return 0;
        case 900: *s = "operation not permitted when stream is capturing"; return 0;
        case 901: *s = "operation failed due to a previous error during capture"; return 0;
        default: *s = NULL; return 1;
    }
}

/*
 * The calls the CUDA backend makes through JCuda (the _v2 names cuda.h maps them to), over host
 * memory: "device" memory is malloc'd, copies and fills are synchronous, modules hold no kernels
 * (any function lookup fails, as it would for a fatbin without that entry point), unless built with
 * -DDN_EMULATED_KERNELS and linked with cuda_emulator.cpp, which runs the real kernels on the CPU.
 */
#include <stdint.h>
#include <stdlib.h>

typedef unsigned long long CUdeviceptr;
typedef struct {
    size_t srcXInBytes, srcY; int srcMemoryType; const void *srcHost; CUdeviceptr srcDevice; void *srcArray; size_t srcPitch;
    size_t dstXInBytes, dstY; int dstMemoryType; void *dstHost; CUdeviceptr dstDevice; void *dstArray; size_t dstPitch;
    size_t WidthInBytes, Height;
} CUDA_MEMCPY2D;

/*
 * Stream capture and graphs. Between cuStreamBeginCapture and cuStreamEndCapture, work queued on
 * the capturing stream is recorded instead of run, with its arguments copied (as the driver copies
 * a kernel's parameters at the call), and cuGraphLaunch runs the recorded work in order. The
 * stand-in cuDNN, cuBLAS and NCCL record theirs through fake_cuda_capture.
 *
 * A capture belongs to the thread that began it, as on a GPU, where data-parallel ranks each capture
 * on their own thread. This driver hands out one handle for every stream (see cuStreamCreate), so the
 * capturing stream cannot be told from another thread's by its handle: what is captured is the work
 * the capturing thread queues, and work other threads queue runs at once. That is the practical
 * criterion here; on a GPU it is the stream, and a stream that joined the capture through an event
 * wait (the collectives' second stream) is captured too, which the shared handle gives as well.
 *
 * The capture modes are honoured for the calls a capture forbids. Potentially unsafe calls
 * (allocating and freeing, synchronous copies) fail with CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED and
 * invalidate the captures they conflict with: the calling thread's own (unless it began it in the
 * relaxed mode), and in the global mode (0) every other thread's too, so that one rank's allocation
 * spoils another rank's global-mode capture, as on a GPU; in the thread-local mode (1) other threads
 * are left alone. Synchronising (a stream, the context, an event) and launching a graph fail only on
 * the capturing thread, in every mode: other threads synchronise their own streams. The end of an
 * invalidated capture fails with CUDA_ERROR_STREAM_CAPTURE_INVALIDATED, as on a GPU.
 */
#include <pthread.h>
typedef int (*dn_work_fn)(const void *args);
typedef struct { dn_work_fn run; void *args; size_t bytes; } dn_node_t;
typedef struct { dn_node_t *nodes; size_t count, capacity; } dn_graph_t;
typedef struct dn_capture { void *stream; dn_graph_t *graph; int mode, invalid; struct dn_capture *next; } dn_capture_t;
enum { DN_MODE_GLOBAL = 0, DN_MODE_THREAD_LOCAL = 1, DN_MODE_RELAXED = 2 };
static _Thread_local dn_capture_t *capture_here;
/* every thread's capture in progress, for the global mode; invalid flags are read and written under the lock */
static pthread_mutex_t capture_lock = PTHREAD_MUTEX_INITIALIZER;
static dn_capture_t *captures;
static long live_graphs, live_graph_execs, graph_launches;
long fake_live_graphs(void) { return __atomic_load_n(&live_graphs, __ATOMIC_SEQ_CST) + __atomic_load_n(&live_graph_execs, __ATOMIC_SEQ_CST); }
long fake_graph_launches(void) { return __atomic_load_n(&graph_launches, __ATOMIC_SEQ_CST); }

static void graph_free(dn_graph_t *g) {
    if (g == NULL) return;
    for (size_t i = 0; i < g->count; i++) free(g->nodes[i].args);
    free(g->nodes);
    free(g);
}
static int graph_add(dn_graph_t *g, dn_work_fn run, const void *args, size_t bytes) {
    if (g->count == g->capacity) {
        size_t cap = g->capacity ? 2 * g->capacity : 256;
        dn_node_t *n = realloc(g->nodes, cap * sizeof *n);
        if (n == NULL) return -1;
        g->nodes = n;
        g->capacity = cap;
    }
    void *copy = malloc(bytes ? bytes : 1);
    if (copy == NULL) return -1;
    memcpy(copy, args, bytes);
    g->nodes[g->count++] = (dn_node_t) {run, copy, bytes};
    return 0;
}
static void spoil(dn_capture_t *c) {
    pthread_mutex_lock(&capture_lock);
    c->invalid = 1;
    pthread_mutex_unlock(&capture_lock);
}
/* 1: recorded into the calling thread's capture; 0: the thread is not capturing that stream, run the work now; -1: out of host memory. */
int fake_cuda_capture(void *stream, dn_work_fn run, const void *args, size_t bytes) {
    dn_capture_t *c = capture_here;
    if (c == NULL || stream != c->stream) return 0;
    if (graph_add(c->graph, run, args, bytes) != 0) { spoil(c); return -1; }
    return 1;
}
/* Whether the calling thread is capturing. */
int fake_cuda_capturing(void) { return capture_here != NULL; }
/* 0 when the calling thread may make a potentially unsafe call; else 900, with the captures it conflicts with spoiled. */
static int unsafe_call(void) {
    int r = 0;
    pthread_mutex_lock(&capture_lock);
    for (dn_capture_t *c = captures; c != NULL; c = c->next) {
        if (c == capture_here ? c->mode != DN_MODE_RELAXED : c->mode == DN_MODE_GLOBAL) {
            c->invalid = 1;
            r = 900;
        }
    }
    pthread_mutex_unlock(&capture_lock);
    return r;
}
/* A potentially unsafe call (allocation, a synchronous copy): it fails and spoils the captures it conflicts with. */
#define DN_UNSAFE_WHILE_CAPTURING() do { int dn_u = unsafe_call(); if (dn_u != 0) return dn_u; } while (0)
/* A call the calling thread's own capture forbids (a synchronisation): it fails and spoils that capture. */
#define DN_NOT_WHILE_CAPTURING() do { if (capture_here != NULL) { spoil(capture_here); return 900; } } while (0)
/* Work queued on a stream: recorded while the calling thread captures it, else run now. */
#define DN_QUEUE(stream, fn, args) do { \
        int dn_r = fake_cuda_capture((stream), (fn), &(args), sizeof(args)); \
        if (dn_r != 0) return dn_r > 0 ? 0 : 2; \
        return (fn)(&(args)); \
    } while (0)

int cuStreamBeginCapture_v2(void *stream, int mode) {
    if (capture_here != NULL) return 401;
    if (stream == NULL || mode < DN_MODE_GLOBAL || mode > DN_MODE_RELAXED) return 1;
    dn_capture_t *c = calloc(1, sizeof *c);
    if (c == NULL) return 2;
    c->graph = calloc(1, sizeof *c->graph);
    if (c->graph == NULL) { free(c); return 2; }
    c->stream = stream;
    c->mode = mode;
    pthread_mutex_lock(&capture_lock);
    c->next = captures;
    captures = c;
    pthread_mutex_unlock(&capture_lock);
    capture_here = c;
    return 0;
}
int cuStreamEndCapture(void *stream, void **graph) {
    dn_capture_t *c = capture_here;
    if (c == NULL || stream != c->stream) return 401;
    pthread_mutex_lock(&capture_lock);
    dn_capture_t **p = &captures;
    while (*p != c) p = &(*p)->next;
    *p = c->next;
    int invalid = c->invalid;
    pthread_mutex_unlock(&capture_lock);
    capture_here = NULL;
    dn_graph_t *g = c->graph;
    free(c);
    if (invalid) {
        graph_free(g);
        *graph = NULL;
        return 901;
    }
    *graph = g;
    __atomic_add_fetch(&live_graphs, 1, __ATOMIC_SEQ_CST);
    return 0;
}
int cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long flags) {
    const dn_graph_t *g = graph;
    if (g == NULL || flags != 0) return 1;
    dn_graph_t *e = calloc(1, sizeof *e);
    if (e == NULL) return 2;
    for (size_t i = 0; i < g->count; i++) {
        if (graph_add(e, g->nodes[i].run, g->nodes[i].args, g->nodes[i].bytes) != 0) { graph_free(e); return 2; }
    }
    __atomic_add_fetch(&live_graph_execs, 1, __ATOMIC_SEQ_CST);
    *exec = e;
    return 0;
}
int cuGraphLaunch(void *exec, void *stream) {
    const dn_graph_t *e = exec;
    if (e == NULL) return 1;
    DN_NOT_WHILE_CAPTURING();
    __atomic_add_fetch(&graph_launches, 1, __ATOMIC_SEQ_CST);
    for (size_t i = 0; i < e->count; i++) {
        int r = e->nodes[i].run(e->nodes[i].args);
        if (r != 0) return 719; /* CUDA_ERROR_LAUNCH_FAILED: a node failed */
    }
    return 0;
}
int cuGraphExecDestroy(void *exec) {
    if (exec == NULL) return 1;
    graph_free(exec);
    __atomic_sub_fetch(&live_graph_execs, 1, __ATOMIC_SEQ_CST);
    return 0;
}
int cuGraphDestroy(void *graph) {
    if (graph == NULL) return 1;
    graph_free(graph);
    __atomic_sub_fetch(&live_graphs, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static long live_allocations;
static size_t live_bytes;
long fake_live_allocations(void) { return live_allocations; }

/* Every device's memory is this process's memory: a context only has to be one of the devices'. */
#define DN_CONTEXT_BASE 0xC7C700u
int cuDevicePrimaryCtxRetain(void **ctx, int dev) { *ctx = (void *) (uintptr_t) (DN_CONTEXT_BASE + dev); return known_device(dev) ? 0 : 101; }
int cuDevicePrimaryCtxRelease_v2(int dev) { return 0; }
int cuCtxSetCurrent(void *ctx) { return known_device((int) ((uintptr_t) ctx - DN_CONTEXT_BASE)) ? 0 : 201; }
/*
 * One handle for every stream, a second one (data parallel's collectives) included: work runs when it is
 * queued here, so streams need not be told apart, and the stand-in cuDNN and cuBLAS keep the stream of the
 * last cudnnSetStream / cublasSetStream in one global slot, which distinct handles would make wrong for
 * every backend but the last one opened (its convolutions then miss a capture on its own stream).
 */
int cuStreamCreate(void **stream, unsigned flags) { *stream = (void *) 0x57AE; return 0; }
int cuStreamSynchronize(void *stream) { DN_NOT_WHILE_CAPTURING(); return 0; }
int cuCtxSynchronize(void) { DN_NOT_WHILE_CAPTURING(); return 0; }
int cuStreamDestroy_v2(void *stream) { return 0; }
/* 80 GiB free before the first allocation; what is allocated comes off it, as on a device */
int cuMemGetInfo_v2(size_t *free_bytes, size_t *total) { *free_bytes = ((size_t) 80 << 30) - live_bytes; *total = (size_t) 85 << 30; return 0; }
#ifdef DN_EMULATED_KERNELS
/*
 * With the kernel emulator, each allocation ends flush against an inaccessible guard page (up to
 * the 256-byte alignment cuMemAlloc guarantees), so a kernel that writes or reads past the end of
 * a buffer faults at once instead of corrupting its neighbour; freed memory is unmapped.
 */
#include <sys/mman.h>
#include <unistd.h>
typedef struct { uintptr_t ptr, base; size_t span, bytes; } mapping_t;
static mapping_t *mappings;
static size_t mapping_count, mapping_capacity;

static int mem_alloc(CUdeviceptr *p, size_t bytes) {
    DN_UNSAFE_WHILE_CAPTURING();
    if (bytes > ((size_t) 1 << 34)) return 2; /* CUDA_ERROR_OUT_OF_MEMORY */
    size_t page = (size_t) sysconf(_SC_PAGESIZE), n = bytes ? bytes : 1;
    size_t span = (n + page - 1) / page * page + page;
    char *base = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return 2;
    char *guard = base + span - page;
    if (mprotect(guard, page, PROT_NONE) != 0) { munmap(base, span); return 2; }
    if (mapping_count == mapping_capacity) {
        size_t cap = mapping_capacity ? 2 * mapping_capacity : 64;
        mapping_t *m = realloc(mappings, cap * sizeof *m);
        if (m == NULL) { munmap(base, span); return 2; }
        mappings = m;
        mapping_capacity = cap;
    }
    uintptr_t ptr = ((uintptr_t) guard - n) & ~(uintptr_t) 255;
    mappings[mapping_count++] = (mapping_t) {ptr, (uintptr_t) base, span, bytes};
    live_allocations++;
    live_bytes += bytes;
    *p = (CUdeviceptr) ptr;
    return 0;
}
static int mem_free(CUdeviceptr p) {
    DN_UNSAFE_WHILE_CAPTURING();
    for (size_t i = 0; i < mapping_count; i++) {
        if (mappings[i].ptr == (uintptr_t) p) {
            munmap((void *) mappings[i].base, mappings[i].span);
            live_bytes -= mappings[i].bytes;
            mappings[i] = mappings[--mapping_count];
            live_allocations--;
            return 0;
        }
    }
    return 1; /* CUDA_ERROR_INVALID_VALUE: not an allocation */
}
#else
/* the size goes in the 256 bytes before the pointer handed out, which keeps the alignment */
static int mem_alloc(CUdeviceptr *p, size_t bytes) {
    void *m = NULL;
    DN_UNSAFE_WHILE_CAPTURING();
    if (bytes > ((size_t) 1 << 34)) return 2; /* CUDA_ERROR_OUT_OF_MEMORY */
    if (posix_memalign(&m, 256, 256 + (bytes ? bytes : 1)) != 0) return 2;
    *(size_t *) m = bytes;
    live_allocations++;
    live_bytes += bytes;
    *p = (CUdeviceptr) (uintptr_t) ((char *) m + 256);
    return 0;
}
static int mem_free(CUdeviceptr p) {
    DN_UNSAFE_WHILE_CAPTURING();
    if (p == 0) return 0;
    char *m = (char *) (uintptr_t) p - 256;
    live_allocations--;
    live_bytes -= *(size_t *) m;
    free(m);
    return 0;
}
#endif
/*
 * Data-parallel training drives one device per thread, all of them this process's memory: the
 * allocation table and its counters are shared, so allocating and freeing take a lock (the
 * kernel emulator serialises launches the same way; copies and fills touch only their own buffers).
 */
#include <pthread.h>
static pthread_mutex_t heap_lock = PTHREAD_MUTEX_INITIALIZER;
int cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
    pthread_mutex_lock(&heap_lock);
    int r = mem_alloc(p, bytes);
    pthread_mutex_unlock(&heap_lock);
    return r;
}
int cuMemFree_v2(CUdeviceptr p) {
    pthread_mutex_lock(&heap_lock);
    int r = mem_free(p);
    pthread_mutex_unlock(&heap_lock);
    return r;
}
int cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) { DN_UNSAFE_WHILE_CAPTURING(); memcpy((void *) (uintptr_t) dst, src, n); return 0; }
int cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n) { DN_UNSAFE_WHILE_CAPTURING(); memcpy(dst, (const void *) (uintptr_t) src, n); return 0; }
/* page-locked host memory is plain host memory here; the asynchronous host copies complete at once */
static long live_host_allocations;
long fake_live_host_allocations(void) { return live_host_allocations; }
int cuMemAllocHost_v2(void **p, size_t bytes) {
    DN_UNSAFE_WHILE_CAPTURING();
    if (bytes > ((size_t) 1 << 34)) return 2;
    if (posix_memalign(p, 4096, bytes ? bytes : 1) != 0) return 2;
    pthread_mutex_lock(&heap_lock);
    live_host_allocations++;
    pthread_mutex_unlock(&heap_lock);
    return 0;
}
int cuMemFreeHost(void *p) {
    DN_UNSAFE_WHILE_CAPTURING();
    if (p == NULL) return 1;
    pthread_mutex_lock(&heap_lock);
    live_host_allocations--;
    pthread_mutex_unlock(&heap_lock);
    free(p);
    return 0;
}
typedef struct { void *dst; const void *src; size_t n; } host_copy_t;
static int run_host_copy(const void *a) { const host_copy_t *c = a; memcpy(c->dst, c->src, c->n); return 0; }
int cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, void *stream) {
    host_copy_t c = {(void *) (uintptr_t) dst, src, n};
    DN_QUEUE(stream, run_host_copy, c);
}
int cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, void *stream) {
    host_copy_t c = {dst, (const void *) (uintptr_t) src, n};
    DN_QUEUE(stream, run_host_copy, c);
}
/*
 * DN_NULL_DEVICE (with DN_EMULATED_KERNELS): work queued on the stream is checked and dropped
 * (device-to-device copies, fills, kernel launches), so a program's time is its host side alone:
 * what a real GPU would have to hide behind its own work. Host transfers still copy.
 */
#ifdef DN_NULL_DEVICE
#define DN_QUEUED_WORK(work) do { } while (0)
#else
#define DN_QUEUED_WORK(work) do { work; } while (0)
#endif
typedef struct { CUdeviceptr dst, src; size_t n; } device_copy_t;
static int run_device_copy(const void *a) {
    const device_copy_t *c = a;
    DN_QUEUED_WORK(memmove((void *) (uintptr_t) c->dst, (const void *) (uintptr_t) c->src, c->n));
    return 0;
}
int cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void *stream) {
    device_copy_t c = {dst, src, n};
    DN_QUEUE(stream, run_device_copy, c);
}
static int run_copy2d(const void *a) {
    const CUDA_MEMCPY2D *c = a;
    for (size_t r = 0; r < c->Height; r++) {
        const char *s = (const char *) (uintptr_t) c->srcDevice + c->srcXInBytes + (c->srcY + r) * c->srcPitch;
        char *d = (char *) (uintptr_t) c->dstDevice + c->dstXInBytes + (c->dstY + r) * c->dstPitch;
        DN_QUEUED_WORK(memmove(d, s, c->WidthInBytes));
    }
    return 0;
}
int cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D *c, void *stream) {
    if (c->srcMemoryType != 2 || c->dstMemoryType != 2 || c->srcPitch < c->WidthInBytes || c->dstPitch < c->WidthInBytes) return 1;
    CUDA_MEMCPY2D copy = *c;
    DN_QUEUE(stream, run_copy2d, copy);
}
typedef struct { CUdeviceptr dst; size_t pitch; unsigned int v; size_t width, height; } fill_t;
static int run_fill(const void *a) {
    const fill_t *f = a;
    for (size_t r = 0; r < f->height; r++) {
        uint32_t *p = (uint32_t *) ((char *) (uintptr_t) f->dst + r * f->pitch);
        DN_QUEUED_WORK(for (size_t i = 0; i < f->width; i++) p[i] = f->v);
    }
    return 0;
}
int cuMemsetD32Async(CUdeviceptr dst, unsigned int v, size_t n, void *stream) {
    fill_t f = {dst, n * 4, v, n, 1};
    DN_QUEUE(stream, run_fill, f);
}
int cuMemsetD2D32Async(CUdeviceptr dst, size_t pitch, unsigned int v, size_t width, size_t height, void *stream) {
    if (pitch < width * 4) return 1;
    fill_t f = {dst, pitch, v, width, height};
    DN_QUEUE(stream, run_fill, f);
}
int cuModuleLoadData(void **module, const void *image) { *module = (void *) 0x30D; return image ? 0 : 1; }
int cuModuleUnload(void *module) { return 0; }
#ifndef DN_EMULATED_KERNELS /* cuda_emulator.cpp provides the kernels and cuLaunchKernel */
int cuModuleGetFunction(void **f, void *module, const char *name) { return 500; /* CUDA_ERROR_NOT_FOUND */ }
int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared_bytes,
                   void *stream, void **params, void **extra) { return 400; /* CUDA_ERROR_INVALID_HANDLE: no function exists */ }
#endif
/*
 * Events hold the host's clock when recorded: work runs synchronously here, so the time between
 * two events is what the calls between them took (with DN_NULL_DEVICE, their host side alone).
 */
#include <time.h>
int cuEventCreate(void **e, unsigned flags) { *e = calloc(1, sizeof(struct timespec)); return *e ? 0 : 2; }
static int run_event_record(const void *a) { clock_gettime(CLOCK_MONOTONIC, *(struct timespec *const *) a); return 0; }
int cuEventRecord(void *e, void *stream) {
    struct timespec *t = e;
    DN_QUEUE(stream, run_event_record, t);
}
int cuEventSynchronize(void *e) { DN_NOT_WHILE_CAPTURING(); return 0; }
/* Every stream's work has run by the time it is queued here, so a stream waiting on an event has nothing to wait for. */
int cuStreamWaitEvent(void *stream, void *e, unsigned flags) { return e != NULL && flags == 0 ? 0 : 1; }
int cuEventElapsedTime(float *ms, void *start, void *stop) {
    const struct timespec *a = start, *b = stop;
    *ms = (float) ((b->tv_sec - a->tv_sec) * 1e3 + (b->tv_nsec - a->tv_nsec) * 1e-6);
    return 0;
}
int cuEventDestroy_v2(void *e) { free(e); return 0; }
