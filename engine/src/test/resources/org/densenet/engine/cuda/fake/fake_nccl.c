/*
 * A stand-in libnccl.so.2 for the emulated device: the ranks of a communicator are threads of one
 * process that meet by unique id, and the collectives compute for real over host memory (the
 * emulated device's memory is host memory). Signatures and enum values follow nccl.h 2.30.
 *
 * A collective blocks its calling thread until every rank has made the matching call, then the
 * last rank to arrive computes the result into every rank's receive buffer: the emulated stream
 * completes all work at once, so blocking the host is what stream order would do on a GPU. A rank
 * that never arrives leaves the others blocked, as a hung peer leaves a GPU kernel spinning; they
 * are released only by ncclCommAbort on their own communicator (from another thread), which is
 * what the caller's watchdog must do. An aborted rank sets ncclRemoteError as the asynchronous
 * error of every other rank, as a peer that exits does on a real NCCL.
 *
 * Inside a stream capture (fake_cuda.c's driver loaded beside this library), a collective queued by
 * the capturing thread is recorded into the capture, as a real NCCL (2.9 and later) records its
 * kernels into a CUDA graph: the call returns at once, and each launch of the graph makes the
 * rendezvous and the reduction then, blocking the launching thread as an uncaptured call does. A
 * communicator that a capture recorded is kept after it is destroyed or aborted (marked aborted),
 * so that a replay after its end fails rather than touching freed memory.
 *
 * Reductions run in rank order in the element type; ncclAvg on floats multiplies every input by
 * 1/nranks before summing, as NCCL's pre-multiplied sum does. A real NCCL sums in ring or tree
 * order, so results agree to rounding, not bit for bit.
 *
 * Test hooks (not in NCCL): fake_nccl_set_version, fake_nccl_set_init_timeout_ms (a rank that never
 * joins fails ncclCommInitRank after it, default 60 s), fake_nccl_set_async_error, fake_nccl_live_comms,
 * fake_nccl_thread_calls (the collectives the calling thread, one rank, has made: a test compares it with
 * the kernels launched meanwhile, to see when an all-reduce was issued).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { ncclSuccess, ncclUnhandledCudaError, ncclSystemError, ncclInternalError, ncclInvalidArgument, ncclInvalidUsage,
       ncclRemoteError, ncclInProgress, ncclTimeout, ncclNumResults };
enum { ncclInt8, ncclUint8, ncclInt32, ncclUint32, ncclInt64, ncclUint64, ncclFloat16, ncclFloat32, ncclFloat64, ncclBfloat16 };
enum { ncclSum, ncclProd, ncclMax, ncclMin, ncclAvg };
enum { OP_ALLREDUCE, OP_BROADCAST };

#define ID_BYTES 128
#define MAX_RANKS 64
#define MAX_GROUPED 256
static const char MAGIC[] = "fake-nccl";

typedef struct { char internal[ID_BYTES]; } ncclUniqueId;

typedef struct {
    int kind, dtype, op, root;
    const void *send;
    void *recv;
    size_t count;
} call_t;

struct clique;
typedef struct comm {
    struct clique *clique;
    int rank, busy, aborted, async_error, captured;
    char last_error[512];
} comm_t;

typedef struct clique {
    char id[ID_BYTES];
    int nranks, joined, live;
    comm_t *members[MAX_RANKS];
    int dead[MAX_RANKS];
    long round;           /* collectives completed */
    int arrived;          /* ranks waiting in the current one */
    int present[MAX_RANKS];
    call_t calls[MAX_RANKS];
    int round_result;
    char round_error[512];
    struct clique *next;
} clique_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static clique_t *cliques;
static long ids_made, live_comms;
static int version = 23007;
static __thread char thread_error[512];
static __thread int group_depth;
static __thread long thread_calls;
long fake_nccl_thread_calls(void) { return thread_calls; }
static __thread int grouped_count;
static __thread struct { comm_t *comm; call_t call; void *stream; } grouped[MAX_GROUPED];

void fake_nccl_set_version(int v) { version = v; }
long fake_nccl_live_comms(void) { pthread_mutex_lock(&mu); long n = live_comms; pthread_mutex_unlock(&mu); return n; }

/* The last error, on the communicator when there is one and always for ncclGetLastError(NULL). */
static int fail(comm_t *c, int result, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(comm_t *c, int result, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(thread_error, sizeof thread_error, fmt, ap);
    va_end(ap);
    if (c) snprintf(c->last_error, sizeof c->last_error, "%s", thread_error);
    return result;
}

const char *ncclGetErrorString(int r) {
    switch (r) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
    case ncclSystemError: return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
    case ncclInternalError: return "internal error - please report this issue to the NCCL developers";
    case ncclInvalidArgument: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
    case ncclInvalidUsage: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
    case ncclRemoteError: return "remote process exited or there was a network error";
    case ncclInProgress: return "NCCL operation in progress";
    case ncclTimeout: return "timeout";
    default: return "unknown result code";
    }
}

const char *ncclGetLastError(comm_t *c) { return c ? c->last_error : thread_error; }

int ncclGetVersion(int *v) {
    if (!v) return fail(NULL, ncclInvalidArgument, "ncclGetVersion: version pointer is NULL");
    *v = version;
    return ncclSuccess;
}

int ncclGetUniqueId(ncclUniqueId *id) {
    if (!id) return fail(NULL, ncclInvalidArgument, "ncclGetUniqueId: id pointer is NULL");
    memset(id, 0, sizeof *id);
    pthread_mutex_lock(&mu);
    long n = ++ids_made;
    pthread_mutex_unlock(&mu);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(id->internal, ID_BYTES, "%s %d %ld %ld.%09ld", MAGIC, (int) getpid(), n, (long) ts.tv_sec, ts.tv_nsec);
    return ncclSuccess;
}

static void leave(comm_t *m);

static long init_timeout = 60000;
void fake_nccl_set_init_timeout_ms(long ms) { init_timeout = ms; }
static long init_timeout_ms(void) { return init_timeout; }

static void deadline_after(struct timespec *t, long ms) {
    clock_gettime(CLOCK_REALTIME, t);
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) { t->tv_sec++; t->tv_nsec -= 1000000000L; }
}

/* "1, 3": the ranks of c whose flag in have[] is 0. */
static void missing(const clique_t *c, const int *have, char *out, size_t cap) {
    out[0] = 0;
    for (int r = 0; r < c->nranks; r++) {
        if (have[r]) continue;
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%d", len ? ", " : "", r);
    }
}

int ncclCommInitRank(comm_t **out, int nranks, ncclUniqueId id, int rank) {
    if (!out) return fail(NULL, ncclInvalidArgument, "ncclCommInitRank: comm pointer is NULL");
    if (group_depth > 0) return fail(NULL, ncclInvalidUsage, "the stand-in NCCL does not initialise communicators inside a group");
    if (nranks < 1 || nranks > MAX_RANKS) return fail(NULL, ncclInvalidArgument, "nranks %d is outside 1..%d", nranks, MAX_RANKS);
    if (rank < 0 || rank >= nranks) return fail(NULL, ncclInvalidArgument, "rank %d is outside 0..%d", rank, nranks - 1);
    if (strncmp(id.internal, MAGIC, strlen(MAGIC)) != 0) return fail(NULL, ncclInvalidArgument, "the unique id was not made by ncclGetUniqueId");
    pthread_mutex_lock(&mu);
    clique_t *c = cliques;
    while (c && memcmp(c->id, id.internal, ID_BYTES) != 0) c = c->next;
    if (!c) {
        c = calloc(1, sizeof *c);
        memcpy(c->id, id.internal, ID_BYTES);
        c->nranks = nranks;
        c->next = cliques;
        cliques = c;
    }
    int result = ncclSuccess;
    if (c->nranks != nranks) {
        result = fail(NULL, ncclInvalidUsage, "rank %d asks for %d ranks, but the communicator was started with %d", rank, nranks, c->nranks);
    } else if (c->members[rank] || c->dead[rank]) {
        result = fail(NULL, ncclInvalidUsage, "rank %d joined this unique id twice", rank);
    }
    if (result != ncclSuccess) { pthread_mutex_unlock(&mu); return result; }
    comm_t *m = calloc(1, sizeof *m);
    m->clique = c;
    m->rank = rank;
    c->members[rank] = m;
    c->joined++;
    c->live++;
    live_comms++;
    pthread_cond_broadcast(&changed);
    struct timespec deadline;
    deadline_after(&deadline, init_timeout_ms());
    while (c->joined < c->nranks) {
        if (pthread_cond_timedwait(&changed, &mu, &deadline) != 0 && c->joined < c->nranks) {
            int have[MAX_RANKS];
            for (int r = 0; r < c->nranks; r++) have[r] = c->members[r] != NULL || c->dead[r];
            char who[256];
            missing(c, have, who, sizeof who);
            int joined = c->joined;
            c->joined--;
            leave(m);
            pthread_mutex_unlock(&mu);
            return fail(NULL, ncclSystemError, "only %d of %d ranks joined within %ld ms; missing: %s", joined, nranks,
                        init_timeout_ms(), who);
        }
    }
    pthread_mutex_unlock(&mu);
    *out = m;
    return ncclSuccess;
}

static size_t type_size(int t) {
    switch (t) {
    case ncclInt8: case ncclUint8: return 1;
    case ncclFloat16: case ncclBfloat16: return 2;
    case ncclInt32: case ncclUint32: case ncclFloat32: return 4;
    case ncclInt64: case ncclUint64: case ncclFloat64: return 8;
    default: return 0;
    }
}

static const char *kind_name(int k) { return k == OP_ALLREDUCE ? "ncclAllReduce" : "ncclBroadcast"; }

#define REDUCE(T)                                                                                   \
    do {                                                                                            \
        T *acc = (T *) tmp;                                                                         \
        for (int r = 0; r < c->nranks; r++) {                                                       \
            const T *x = (const T *) c->calls[r].send;                                              \
            for (size_t i = 0; i < n; i++) {                                                        \
                T v = x[i];                                                                         \
                if (avg_premul) v = (T) (v * (T) (1.0 / c->nranks));                                \
                if (r == 0) { acc[i] = v; continue; }                                               \
                switch (op) {                                                                       \
                case ncclSum: case ncclAvg: acc[i] = (T) (acc[i] + v); break;                       \
                case ncclProd: acc[i] = (T) (acc[i] * v); break;                                    \
                case ncclMax: if (v > acc[i]) acc[i] = v; break;                                    \
                case ncclMin: if (v < acc[i]) acc[i] = v; break;                                    \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
        if (op == ncclAvg && !avg_premul) for (size_t i = 0; i < n; i++) acc[i] = (T) (acc[i] / c->nranks); \
    } while (0)

/* Run by the last rank to arrive, under the lock: checks that the calls match, then computes. */
static int complete_round(clique_t *c) {
    const call_t *a = &c->calls[0];
    for (int r = 1; r < c->nranks; r++) {
        const call_t *b = &c->calls[r];
        if (b->kind != a->kind || b->count != a->count || b->dtype != a->dtype || b->op != a->op || b->root != a->root) {
            snprintf(c->round_error, sizeof c->round_error,
                     "collective %ld does not match: rank 0 called %s(count %zu, type %d, op %d, root %d), rank %d called %s(count %zu, type %d, op %d, root %d)",
                     c->round, kind_name(a->kind), a->count, a->dtype, a->op, a->root, r, kind_name(b->kind), b->count, b->dtype,
                     b->op, b->root);
            return ncclInvalidUsage;
        }
    }
    size_t n = a->count, bytes = n * type_size(a->dtype);
    if (bytes == 0) return ncclSuccess;
    void *tmp = malloc(bytes);
    if (!tmp) { snprintf(c->round_error, sizeof c->round_error, "out of host memory for %zu bytes", bytes); return ncclSystemError; }
    if (a->kind == OP_BROADCAST) {
        memcpy(tmp, c->calls[a->root].send, bytes);
    } else {
        int op = a->op;
        int avg_premul = 0;
        switch (a->dtype) {
        case ncclFloat32: avg_premul = op == ncclAvg; REDUCE(float); break;
        case ncclFloat64: avg_premul = op == ncclAvg; REDUCE(double); break;
        case ncclInt32: REDUCE(int32_t); break;
        case ncclInt64: REDUCE(int64_t); break;
        default:
            free(tmp);
            snprintf(c->round_error, sizeof c->round_error, "the stand-in reduces float32, float64, int32 and int64, not type %d", a->dtype);
            return ncclInvalidArgument;
        }
    }
    for (int r = 0; r < c->nranks; r++) memcpy(c->calls[r].recv, tmp, bytes);
    free(tmp);
    return ncclSuccess;
}

static int valid(comm_t *m, const call_t *k) {
    if (!m) return fail(NULL, ncclInvalidArgument, "%s: comm is NULL", kind_name(k->kind));
    if (type_size(k->dtype) == 0) return fail(m, ncclInvalidArgument, "%s: unknown data type %d", kind_name(k->kind), k->dtype);
    if (k->kind == OP_ALLREDUCE && (k->op < ncclSum || k->op > ncclAvg)) return fail(m, ncclInvalidArgument, "ncclAllReduce: unknown op %d", k->op);
    if (k->kind == OP_BROADCAST && (k->root < 0 || k->root >= m->clique->nranks)) {
        return fail(m, ncclInvalidArgument, "ncclBroadcast: root %d is outside 0..%d", k->root, m->clique->nranks - 1);
    }
    if (k->count > 0 && (!k->recv || (!k->send && (k->kind == OP_ALLREDUCE || m->rank == k->root)))) {
        return fail(m, ncclInvalidArgument, "%s: a NULL buffer", kind_name(k->kind));
    }
    return ncclSuccess;
}

/* Blocks until every rank has made its matching call, or this communicator is aborted. */
static int run(comm_t *m, const call_t *k) {
    pthread_mutex_lock(&mu);
    clique_t *c = m->clique;
    if (m->aborted) { pthread_mutex_unlock(&mu); return fail(m, ncclInvalidUsage, "%s on an aborted communicator", kind_name(k->kind)); }
    if (m->async_error != ncclSuccess) {
        int e = m->async_error;
        pthread_mutex_unlock(&mu);
        return e;
    }
    m->busy++;
    long my_round = c->round;
    c->calls[m->rank] = *k;
    c->present[m->rank] = 1;
    c->arrived++;
    int result = ncclSuccess;
    if (c->arrived == c->nranks) {
        c->round_result = complete_round(c);
        c->arrived = 0;
        memset(c->present, 0, sizeof c->present);
        c->round++;
        pthread_cond_broadcast(&changed);
    } else {
        while (c->round == my_round && !m->aborted) pthread_cond_wait(&changed, &mu);
    }
    if (c->round == my_round) {
        char who[256];
        missing(c, c->present, who, sizeof who);
        result = fail(m, ncclRemoteError, "%s (collective %ld of rank %d) was aborted while waiting for rank(s) %s", kind_name(k->kind),
                      my_round, m->rank, who);
    } else if (c->round_result != ncclSuccess) {
        result = fail(m, c->round_result, "%s", c->round_error);
    }
    m->busy--;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&mu);
    return result;
}

/*
 * fake_cuda.c's stream capture, when that driver is loaded: looked up at the call, since a program may
 * load this library before the driver (and NcclFakeTest loads it alone).
 */
typedef int (*capture_fn)(void *stream, int (*run)(const void *), const void *args, size_t bytes);
static capture_fn driver_capture(void) {
    static capture_fn found;
    capture_fn f = __atomic_load_n(&found, __ATOMIC_ACQUIRE);
    if (f == NULL) {
        f = (capture_fn) dlsym(RTLD_DEFAULT, "fake_cuda_capture");
        __atomic_store_n(&found, f, __ATOMIC_RELEASE);
    }
    return f;
}

typedef struct { comm_t *comm; call_t call; } recorded_t;

/* A recorded collective, run when its graph is launched: 0, or 1 when it failed (the launch then fails). */
static int run_recorded(const void *a) {
    const recorded_t *r = a;
    return run(r->comm, &r->call) == ncclSuccess ? 0 : 1;
}

/* Records the call when the calling thread is capturing the stream, else runs it now. */
static int queue(comm_t *m, const call_t *k, void *stream) {
    capture_fn capture = driver_capture();
    if (capture != NULL) {
        recorded_t r = {m, *k};
        int captured = capture(stream, run_recorded, &r, sizeof r);
        if (captured < 0) return fail(m, ncclSystemError, "%s: out of host memory recording it into a capture", kind_name(k->kind));
        if (captured > 0) {
            pthread_mutex_lock(&mu);
            m->captured = 1;
            pthread_mutex_unlock(&mu);
            return ncclSuccess;
        }
    }
    return run(m, k);
}

static int submit(comm_t *m, const call_t *k, void *stream) {
    int v = valid(m, k);
    if (v != ncclSuccess) return v;
    thread_calls++;
    if (group_depth == 0) return queue(m, k, stream);
    if (grouped_count == MAX_GROUPED) return fail(m, ncclInvalidUsage, "more than %d calls in one group", MAX_GROUPED);
    for (int i = 0; i < grouped_count; i++) {
        if (grouped[i].comm != m && grouped[i].comm->clique == m->clique) {
            return fail(m, ncclInvalidUsage, "the stand-in NCCL runs each rank on its own thread; this group drives ranks %d and %d",
                        grouped[i].comm->rank, m->rank);
        }
    }
    grouped[grouped_count].comm = m;
    grouped[grouped_count].call = *k;
    grouped[grouped_count].stream = stream;
    grouped_count++;
    return ncclSuccess;
}

int ncclAllReduce(const void *send, void *recv, size_t count, int dtype, int op, comm_t *comm, void *stream) {
    call_t k = {OP_ALLREDUCE, dtype, op, 0, send, recv, count};
    return submit(comm, &k, stream);
}

int ncclBroadcast(const void *send, void *recv, size_t count, int dtype, int root, comm_t *comm, void *stream) {
    call_t k = {OP_BROADCAST, dtype, 0, root, send, recv, count};
    return submit(comm, &k, stream);
}

int ncclGroupStart(void) {
    group_depth++;
    return ncclSuccess;
}

int ncclGroupEnd(void) {
    if (group_depth == 0) return fail(NULL, ncclInvalidUsage, "ncclGroupEnd without ncclGroupStart");
    if (--group_depth > 0) return ncclSuccess;
    int result = ncclSuccess;
    int n = grouped_count;
    grouped_count = 0;
    for (int i = 0; i < n && result == ncclSuccess; i++) result = queue(grouped[i].comm, &grouped[i].call, grouped[i].stream);
    return result;
}

int ncclCommGetAsyncError(comm_t *m, int *err) {
    if (!m || !err) return fail(m, ncclInvalidArgument, "ncclCommGetAsyncError: NULL argument");
    pthread_mutex_lock(&mu);
    *err = m->async_error;
    pthread_mutex_unlock(&mu);
    return ncclSuccess;
}

void fake_nccl_set_async_error(comm_t *m, int result, const char *text) {
    pthread_mutex_lock(&mu);
    m->async_error = result;
    snprintf(m->last_error, sizeof m->last_error, "%s", text);
    pthread_mutex_unlock(&mu);
}

int ncclCommCount(const comm_t *m, int *count) {
    if (!m || !count) return fail(NULL, ncclInvalidArgument, "ncclCommCount: NULL argument");
    *count = m->clique->nranks;
    return ncclSuccess;
}

int ncclCommUserRank(const comm_t *m, int *rank) {
    if (!m || !rank) return fail(NULL, ncclInvalidArgument, "ncclCommUserRank: NULL argument");
    *rank = m->rank;
    return ncclSuccess;
}

/* Under the lock: drops m from its clique, freeing the clique with its last member. */
static void leave(comm_t *m) {
    clique_t *c = m->clique;
    c->members[m->rank] = NULL;
    c->dead[m->rank] = 1;
    live_comms--;
    if (--c->live == 0) {
        clique_t **p = &cliques;
        while (*p != c) p = &(*p)->next;
        *p = c->next;
        free(c);
    }
    /* a graph may still hold it: kept, aborted, so that a replay fails on it instead of reading freed memory */
    m->aborted = 1;
    if (!m->captured) free(m);
}

int ncclCommAbort(comm_t *m) {
    if (!m) return ncclSuccess;
    pthread_mutex_lock(&mu);
    clique_t *c = m->clique;
    m->aborted = 1;
    for (int r = 0; r < c->nranks; r++) {
        comm_t *o = c->members[r];
        if (!o || o == m || o->async_error != ncclSuccess) continue;
        o->async_error = ncclRemoteError;
        snprintf(o->last_error, sizeof o->last_error, "rank %d aborted its communicator", m->rank);
    }
    pthread_cond_broadcast(&changed);
    while (m->busy > 0) pthread_cond_wait(&changed, &mu);
    leave(m);
    pthread_mutex_unlock(&mu);
    return ncclSuccess;
}

int ncclCommDestroy(comm_t *m) {
    if (!m) return ncclSuccess;
    pthread_mutex_lock(&mu);
    int result = ncclSuccess;
    if (m->busy > 0) {
        result = fail(m, ncclInvalidUsage, "ncclCommDestroy while rank %d is inside a collective", m->rank);
    } else {
        leave(m);
    }
    pthread_mutex_unlock(&mu);
    return result;
}
