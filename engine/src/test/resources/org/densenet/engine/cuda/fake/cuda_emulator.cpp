/*
 * Runs the project's CUDA kernels (kernels/src/main/cuda/all.cu, compiled here as host C++ through
 * cuda_emulator.h) on the CPU behind the driver's cuModuleGetFunction and cuLaunchKernel, so the
 * CUDA backend's launchers and the kernel bodies execute on machines without a GPU. Linked with
 * fake_cuda.c (built with -DDN_EMULATED_KERNELS) into a stand-in libcuda.so.1 whose "device"
 * memory is host memory.
 *
 * Scheduling: blocks run one after another; the threads of a block are ucontext fibers on the
 * calling thread. A fiber runs until it finishes, reaches __syncthreads or a warp shuffle. A
 * barrier opens when every thread of the block waits at it; a shuffle when all 32 lanes of the warp
 * wait at one. The first runnable thread in rank order always runs next, ranks ascending in one
 * block and descending in the next (see run_block_with_fibers), which exposes a missing barrier.
 * Anything else is a kernel bug on a real GPU too (a barrier some threads never reach, a shuffle
 * with lanes missing): the launch then fails with CUDA_ERROR_LAUNCH_FAILED and a message
 * on stderr. When no thread of the first block ever waited, the remaining blocks run their threads
 * to completion one by one without fibers (a barrier reached there fails the launch the same way).
 *
 * What this does not emulate: concurrency between blocks (they never overlap; our kernels have no
 * inter-block communication), memory-model effects, interleavings other than the two eager
 * ones, and out-of-bounds accesses smaller than the alignment slack before fake_cuda.c's guard
 * pages. It checks logic, indexing, launch geometry and arguments, not timing.
 */
#include "cuda_emulator.h"

#include <ucontext.h>

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "all.cu"

namespace dn_emu {

enum State { RUNNABLE, AT_BARRIER, AT_SHUFFLE, DONE };

struct Fiber {
    ucontext_t ctx;
    dim3 idx;
    State state;
    uint64_t value;    // shuffle: the lane's contribution, then its result
    int arg, mode;
    unsigned mask;
};

Fiber *current = nullptr;
dim3 block_idx, block_dim, grid_dim;

namespace {
constexpr size_t STACK_BYTES = 256 * 1024;

struct LaunchError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

ucontext_t scheduler;
std::vector<Fiber> fibers;
std::vector<char *> stacks;
bool inline_mode = false;
bool block_waited = false;
void (*entry_fn)(void **) = nullptr;
void **entry_params = nullptr;

void fiber_main() {
    entry_fn(entry_params);
    current->state = DONE;   // uc_link returns to the scheduler
}

void wait_as(State s) {
    if (inline_mode) {
        throw LaunchError(s == AT_BARRIER ? "__syncthreads reached in a block run without fibers: the first block never synchronised, this one does"
                                          : "warp shuffle reached in a block run without fibers: the first block never synchronised, this one does");
    }
    Fiber *self = current;
    self->state = s;
    block_waited = true;
    swapcontext(&self->ctx, &scheduler);
}

// Exchanges the values of warp w when its 32 lanes all wait at a shuffle; returns whether it did.
bool release_shuffle(size_t w) {
    Fiber *lanes = &fibers[w * 32];
    for (int l = 0; l < 32; l++) {
        if (lanes[l].state != AT_SHUFFLE) return false;
    }
    uint64_t in[32];
    for (int l = 0; l < 32; l++) in[l] = lanes[l].value;
    for (int l = 0; l < 32; l++) {
        Fiber &f = lanes[l];
        if (f.mask != 0xffffffffu) throw LaunchError("a shuffle with a partial lane mask (the kernels only use full warps)");
        int src = f.mode == 0 ? (l + f.arg < 32 ? l + f.arg : l) : (f.arg & 31);
        f.value = in[src];
        f.state = RUNNABLE;
    }
    return true;
}

// Eager scheduling: always the first runnable thread in rank order, and a warp's shuffle or the
// block's barrier opens the moment its last participant arrives. The first warps therefore run
// as far ahead of the others as the barriers allow: past a barrier they read what the later warps
// have not yet written, and overwrite shared memory the later warps have not yet read, so a
// missing __syncthreads changes the result here as it can on a GPU.
void run_block_with_fibers(size_t threads, bool descending) {
    if (fibers.size() < threads) fibers.resize(threads);
    while (stacks.size() < threads) {
        char *s = static_cast<char *>(std::malloc(STACK_BYTES));
        if (s == nullptr) throw LaunchError("out of host memory for fiber stacks");
        stacks.push_back(s);
    }
    for (size_t t = 0; t < threads; t++) {
        Fiber &f = fibers[t];
        f.idx = dim3{(unsigned) (t % block_dim.x), (unsigned) (t / block_dim.x % block_dim.y), (unsigned) (t / (block_dim.x * block_dim.y))};
        f.state = RUNNABLE;
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = stacks[t];
        f.ctx.uc_stack.ss_size = STACK_BYTES;
        f.ctx.uc_link = &scheduler;
        makecontext(&f.ctx, fiber_main, 0);
    }
    // Ranks order the threads: ascending, or descending in every other block, so that a hazard
    // shows whichever of the two threads involved has the lower number.
    auto thread_at = [threads, descending](size_t rank) { return descending ? threads - 1 - rank : rank; };
    size_t done = 0, at_barrier = 0, next = 0;   // next: no runnable thread ranks below it
    for (;;) {
        while (next < threads && fibers[thread_at(next)].state != RUNNABLE) next++;
        if (next < threads) {
            size_t t = thread_at(next);
            current = &fibers[t];
            swapcontext(&scheduler, &fibers[t].ctx);
            current = nullptr;
            switch (fibers[t].state) {
                case DONE: done++; break;
                case AT_BARRIER: at_barrier++; break;
                case AT_SHUFFLE:
                    if (threads % 32 == 0 && release_shuffle(t / 32)) {
                        next = std::min(next, descending ? threads - 32 - t / 32 * 32 : t / 32 * 32);
                    }
                    break;
                case RUNNABLE: throw LaunchError("a thread yielded without waiting");
            }
            if (at_barrier == threads) {
                for (size_t i = 0; i < threads; i++) fibers[i].state = RUNNABLE;
                at_barrier = 0;
                next = 0;
            }
            continue;
        }
        if (done == threads) return;
        size_t shuffle = threads - done - at_barrier;
        if (shuffle > 0) throw LaunchError("a warp shuffle that not all 32 lanes of the warp reach (divergent shuffle)");
        throw LaunchError("__syncthreads reached by " + std::to_string(at_barrier) + " of " + std::to_string(threads)
                          + " threads while the others finished (divergent barrier)");
    }
}

void run_block_inline(size_t threads) {
    Fiber self{};
    self.state = RUNNABLE;
    for (size_t t = 0; t < threads; t++) {
        self.idx = dim3{(unsigned) (t % block_dim.x), (unsigned) (t / block_dim.x % block_dim.y), (unsigned) (t / (block_dim.x * block_dim.y))};
        current = &self;
        entry_fn(entry_params);
        current = nullptr;
    }
}

// Calls a kernel with its arguments read from cuLaunchKernel's kernelParams: params[i] points at
// argument i's value, as the driver API defines it.
template <typename... A, size_t... I>
void call_with(void (*kernel)(A...), void **params, std::index_sequence<I...>) {
    kernel(*static_cast<std::remove_reference_t<A> *>(params[I])...);
}

struct Entry {
    const char *name;
    void (*invoke)(void **);
    int arity;
    const size_t *sizes;   // each parameter's bytes, for copying the values a captured launch replays with
};

template <typename... A>
constexpr int arity_of(void (*)(A...)) { return (int) sizeof...(A); }

template <typename... A>
struct ParamSizes {
    static constexpr size_t value[sizeof...(A) + 1] = {sizeof(std::remove_reference_t<A>)..., 0};
};

template <typename... A>
constexpr const size_t *sizes_of(void (*)(A...)) { return ParamSizes<A...>::value; }

#define DN_KERNEL(k) \
    Entry{#k, [](void **p) { call_with(k, p, std::make_index_sequence<arity_of(k)>{}); }, arity_of(k), sizes_of(k)}

const Entry KERNELS[] = {
    DN_KERNEL(bn_stats_partial_f32),
    DN_KERNEL(bn_stats_partial_bf16),
    DN_KERNEL(bn_stats_partial_f16),
    DN_KERNEL(bn_stats_finalize_f32),
    DN_KERNEL(bn_stats_finalize_bf16),
    DN_KERNEL(bn_stats_finalize_f16),
    DN_KERNEL(bn_stats_gather_f32),
    DN_KERNEL(bn_stats_gather_bf16),
    DN_KERNEL(bn_stats_gather_f16),
    DN_KERNEL(bn_stats_combine_f32),
    DN_KERNEL(bn_running_update_f32),
    DN_KERNEL(bn_apply_f32),
    DN_KERNEL(bn_apply_bf16),
    DN_KERNEL(bn_apply_f16),
    DN_KERNEL(bn_backward_reduce_f32),
    DN_KERNEL(bn_backward_reduce_bf16),
    DN_KERNEL(bn_backward_reduce_f16),
    DN_KERNEL(bn_backward_dx_f32),
    DN_KERNEL(bn_backward_dx_bf16),
    DN_KERNEL(bn_backward_dx_f16),
    DN_KERNEL(fill_f32),
    DN_KERNEL(fill_bf16),
    DN_KERNEL(fill_f16),
    DN_KERNEL(copy_f32),
    DN_KERNEL(copy_bf16),
    DN_KERNEL(copy_f16),
    DN_KERNEL(copy_f32_bf16),
    DN_KERNEL(copy_bf16_f32),
    DN_KERNEL(copy_f32_f16),
    DN_KERNEL(copy_f16_f32),
    DN_KERNEL(relu_f32),
    DN_KERNEL(relu_bf16),
    DN_KERNEL(relu_f16),
    DN_KERNEL(relu_backward_f32),
    DN_KERNEL(relu_backward_bf16),
    DN_KERNEL(relu_backward_f16),
    DN_KERNEL(dropout_forward_f32),
    DN_KERNEL(dropout_forward_bf16),
    DN_KERNEL(dropout_forward_f16),
    DN_KERNEL(dropout_forward_seeded_f32),
    DN_KERNEL(dropout_forward_seeded_bf16),
    DN_KERNEL(dropout_forward_seeded_f16),
    DN_KERNEL(dropout_backward_f32),
    DN_KERNEL(dropout_backward_bf16),
    DN_KERNEL(dropout_backward_f16),
    DN_KERNEL(avgpool_forward_f32),
    DN_KERNEL(avgpool_forward_bf16),
    DN_KERNEL(avgpool_forward_f16),
    DN_KERNEL(avgpool_backward_f32),
    DN_KERNEL(avgpool_backward_bf16),
    DN_KERNEL(avgpool_backward_f16),
    DN_KERNEL(maxpool_forward_f32),
    DN_KERNEL(maxpool_forward_bf16),
    DN_KERNEL(maxpool_forward_f16),
    DN_KERNEL(maxpool_backward_f32),
    DN_KERNEL(maxpool_backward_bf16),
    DN_KERNEL(maxpool_backward_f16),
    DN_KERNEL(global_avgpool_forward_f32),
    DN_KERNEL(global_avgpool_forward_bf16),
    DN_KERNEL(global_avgpool_forward_f16),
    DN_KERNEL(global_avgpool_backward_f32),
    DN_KERNEL(global_avgpool_backward_bf16),
    DN_KERNEL(global_avgpool_backward_f16),
    DN_KERNEL(softmax_xent_f32),
    DN_KERNEL(sgd_step_f32),
    DN_KERNEL(sgd_step_vec4_f32),
    DN_KERNEL(sgd_step_bf16),
    DN_KERNEL(sgd_step_vec4_bf16),
    DN_KERNEL(sgd_step_f16),
    DN_KERNEL(sgd_step_vec4_f16),
    DN_KERNEL(loss_scale_f32),
    DN_KERNEL(grads_nonfinite_f32),
    DN_KERNEL(loss_scale_update_f32),
    DN_KERNEL(augment_crop_flip_u8),
    DN_KERNEL(augment_crop_flip_u8_bf16),
    DN_KERNEL(augment_crop_flip_u8_f16),
};

// Orders the threads of one-block grids differently launch by launch; counted per host thread, so
// that each data-parallel rank's launches run in the same orders whatever the other ranks do.
thread_local long launches = 0;
}  // namespace

const dim3 &thread_idx() {
    if (current == nullptr) {
        std::fprintf(stderr, "cuda emulator: threadIdx read outside a kernel\n");
        std::abort();
    }
    return current->idx;
}

void sync_threads() { wait_as(AT_BARRIER); }

uint64_t shuffle(uint64_t bits, unsigned mask, int arg, int mode) {
    if (!inline_mode) {
        current->value = bits;
        current->arg = arg;
        current->mode = mode;
        current->mask = mask;
    }
    wait_as(AT_SHUFFLE);
    return current->value;
}
}  // namespace dn_emu

extern "C" {

/*
 * The emulated device's 16-bit conversions over n values, for EmulatorHalfConversionTest to compare
 * with org.densenet.engine.Float16: mode 0 float -> BF16 bits, 1 float -> FP16 bits (in: floats,
 * out: uint16), 2 BF16 bits -> float, 3 FP16 bits -> float (in: uint16, out: floats). Through the
 * same intrinsics the kernels call.
 */
void dn_emu_convert(int mode, const void *in, void *out, long n) {
    for (long i = 0; i < n; i++) {
        switch (mode) {
            case 0: static_cast<uint16_t *>(out)[i] = __float2bfloat16_rn(static_cast<const float *>(in)[i]).x; break;
            case 1: static_cast<uint16_t *>(out)[i] = __float2half_rn(static_cast<const float *>(in)[i]).x; break;
            case 2: static_cast<float *>(out)[i] = __bfloat162float(__nv_bfloat16{static_cast<const uint16_t *>(in)[i]}); break;
            default: static_cast<float *>(out)[i] = __half2float(__half{static_cast<const uint16_t *>(in)[i]}); break;
        }
    }
}

/* fake_cuda.c's stream capture */
int fake_cuda_capture(void *stream, int (*run)(const void *), const void *args, size_t bytes);
int fake_cuda_capturing(void);

/* CUresult values (cuda.h) */
enum { DN_SUCCESS = 0, DN_INVALID_VALUE = 1, DN_NOT_FOUND = 500, DN_LAUNCH_FAILED = 719 };

int cuModuleGetFunction(void **f, void *module, const char *name) {
    if (module == nullptr || name == nullptr) return DN_INVALID_VALUE;
    for (const dn_emu::Entry &e : dn_emu::KERNELS) {
        if (std::strcmp(e.name, name) == 0) {
            *f = const_cast<dn_emu::Entry *>(&e);
            return DN_SUCCESS;
        }
    }
    return DN_NOT_FOUND;
}

namespace {
// The scheduler, the fibers and the kernels' __shared__ arrays are one set per process, so launches
// from several threads (one per device in data-parallel training) run one at a time.
std::mutex launch_lock;

// A launch as it runs: the kernel, its geometry and its parameters.
int run_launch(const dn_emu::Entry *e, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, void **params) {
    using namespace dn_emu;
    std::lock_guard<std::mutex> held(launch_lock);
    const unsigned long long threads = (unsigned long long) bx * by * bz;
    launches++;
#ifdef DN_NULL_DEVICE
    return DN_SUCCESS; // the launch is checked, then dropped: only the host's side of the call is left to time
#endif
    // every other block (and, for one-block grids, every other launch) schedules in descending order
    auto descending = [gx, gy](unsigned x, unsigned y, unsigned z) {
        return ((x + (unsigned long long) gx * (y + (unsigned long long) gy * z) + (unsigned long long) launches) & 1) != 0;
    };
    grid_dim = dim3{gx, gy, gz};
    block_dim = dim3{bx, by, bz};
    entry_fn = e->invoke;
    entry_params = params;
    inline_mode = false;
    try {
        bool first = true;
        for (unsigned z = 0; z < gz; z++)
            for (unsigned y = 0; y < gy; y++)
                for (unsigned x = 0; x < gx; x++) {
                    block_idx = dim3{x, y, z};
                    if (first) {
                        block_waited = false;
                        if (threads % 32 != 0) {
                            inline_mode = true;   // a partial warp could not shuffle anyway
                            run_block_inline((size_t) threads);
                            inline_mode = false;
                        } else {
                            run_block_with_fibers((size_t) threads, descending(x, y, z));
                        }
                        inline_mode = !block_waited;
                        first = false;
                    } else if (inline_mode) {
                        run_block_inline((size_t) threads);
                    } else {
                        run_block_with_fibers((size_t) threads, descending(x, y, z));
                    }
                }
    } catch (const std::exception &ex) {
        std::fprintf(stderr, "cuda emulator: kernel %s, grid %ux%ux%u, block %ux%ux%u, block (%u,%u,%u): %s\n", e->name, gx, gy, gz,
                     bx, by, bz, block_idx.x, block_idx.y, block_idx.z, ex.what());
        inline_mode = false;
        current = nullptr;
        return DN_LAUNCH_FAILED;
    }
    inline_mode = false;
    return DN_SUCCESS;
}

// A captured launch: the header, then each parameter's value at an 8-byte aligned offset.
struct CapturedLaunch {
    const dn_emu::Entry *e;
    unsigned gx, gy, gz, bx, by, bz;
    size_t offsets[64];
};

constexpr size_t align8(size_t v) { return (v + 7) & ~(size_t) 7; }

int run_captured(const void *a) {
    const CapturedLaunch *c = static_cast<const CapturedLaunch *>(a);
    void *params[64];
    for (int i = 0; i < c->e->arity; i++) params[i] = const_cast<char *>(static_cast<const char *>(a) + c->offsets[i]);
    return run_launch(c->e, c->gx, c->gy, c->gz, c->bx, c->by, c->bz, params);
}

// Records the launch when the stream is being captured: 1 recorded, 0 not capturing, -1 failed.
int capture_launch(const dn_emu::Entry *e, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   void *stream, void **params) {
    if (!fake_cuda_capturing() || e->arity > 64) return e->arity > 64 ? -1 : 0;
    size_t bytes = align8(sizeof(CapturedLaunch));
    for (int i = 0; i < e->arity; i++) bytes = align8(bytes + e->sizes[i]);
    std::vector<char> buf(bytes, 0);
    CapturedLaunch head{e, gx, gy, gz, bx, by, bz, {}};
    size_t at = align8(sizeof(CapturedLaunch));
    for (int i = 0; i < e->arity; i++) {
        head.offsets[i] = at;
        std::memcpy(buf.data() + at, params[i], e->sizes[i]);
        at = align8(at + e->sizes[i]);
    }
    std::memcpy(buf.data(), &head, sizeof head);
    return fake_cuda_capture(stream, run_captured, buf.data(), bytes);
}
}  // namespace

int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shared_bytes, void *stream, void **params, void **extra) {
    using namespace dn_emu;
    const Entry *e = static_cast<const Entry *>(f);
    bool known = false;
    for (const Entry &k : KERNELS) known |= &k == e;
    if (!known || params == nullptr || extra != nullptr) return DN_INVALID_VALUE;
    const unsigned long long threads = (unsigned long long) bx * by * bz;
    if (gx == 0 || gy == 0 || gz == 0 || gy > 65535 || gz > 65535 || threads == 0 || threads > 1024 || bz > 64 || shared_bytes > 48 * 1024) {
        return DN_INVALID_VALUE;
    }
    for (int i = 0; i < e->arity; i++) {
        if (params[i] == nullptr) return DN_INVALID_VALUE;
    }
    int captured = capture_launch(e, gx, gy, gz, bx, by, bz, stream, params);
    if (captured != 0) return captured > 0 ? DN_SUCCESS : 2;
    return run_launch(e, gx, gy, gz, bx, by, bz, params);
}
}
