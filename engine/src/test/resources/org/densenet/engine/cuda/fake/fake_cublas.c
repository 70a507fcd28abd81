/*
 * A stand-in for the cuBLAS calls the engine makes, over host memory, for testing the FFM
 * bindings and the linear layer without a GPU. Signatures follow cublas_api.h; SGEMM computes
 * for real (column-major, op(A), op(B), leading dimensions; beta == 0: C is not read). Beside
 * fake_cuda.c's driver, an SGEMM on a stream being captured is recorded and runs at graph launch.
 * cublasSetStream drops a workspace set before it, as cuBLAS's does, so S_WORKSPACE shows whether
 * cublasSetWorkspace came after it.
 */
#include <stdint.h>
#include <string.h>

enum { S_CREATED = 0, S_DESTROYED, S_STREAM, S_MATH, S_GEMMS, S_WORKSPACE, S_WORKSPACE_BYTES, S_COUNT };
static int64_t slots[S_COUNT];
int64_t fake_value(int slot) { return slots[slot]; }
void fake_reset(void) { memset(slots, 0, sizeof slots); }

int cublasCreate_v2(void **handle) { *handle = (void *) 0xB1A5; slots[S_CREATED]++; return 0; }
int cublasDestroy_v2(void *handle) { slots[S_DESTROYED]++; return handle == (void *) 0xB1A5 ? 0 : 1; }
int cublasSetStream_v2(void *handle, void *stream) {
    slots[S_STREAM] = (int64_t) (intptr_t) stream;
    slots[S_WORKSPACE] = 0;
    slots[S_WORKSPACE_BYTES] = 0;
    return 0;
}
int cublasSetWorkspace_v2(void *handle, void *workspace, size_t bytes) {
    if (workspace == NULL && bytes != 0) return 7;
    slots[S_WORKSPACE] = (int64_t) (intptr_t) workspace;
    slots[S_WORKSPACE_BYTES] = (int64_t) bytes;
    return 0;
}

extern int fake_cuda_capture(void *stream, int (*run)(const void *), const void *args, size_t bytes) __attribute__((weak));
typedef struct { int ta, tb, m, n, k; const float *a; int lda; const float *b; int ldb; float *c; int ldc; float alpha, beta; } gemm_t;
static int run_gemm(const void *call);
int cublasSetMathMode(void *handle, int mode) { slots[S_MATH] = mode; return 0; }
int cublasGetProperty(int type, int *value) {
    static const int v[] = {13, 1, 0};
    if (type < 0 || type > 2) return 7;
    *value = v[type];
    return 0;
}
const char *cublasGetStatusName(int s) { return s == 0 ? "CUBLAS_STATUS_SUCCESS" : s == 7 ? "CUBLAS_STATUS_INVALID_VALUE" : "CUBLAS_STATUS_OTHER"; }
const char *cublasGetStatusString(int s) { return s == 0 ? "success" : s == 7 ? "an invalid numeric value was used as an argument" : "other"; }

int cublasSgemm_v2(void *handle, int ta, int tb, int m, int n, int k, const float *alpha, const float *a, int lda,
                   const float *b, int ldb, const float *beta, float *c, int ldc) {
    if (m < 0 || n < 0 || k < 0 || ldc < m || lda < (ta == 0 ? m : k) || ldb < (tb == 0 ? k : n)) return 7;
    slots[S_GEMMS]++;
    gemm_t g = {ta, tb, m, n, k, a, lda, b, ldb, c, ldc, *alpha, *beta};
    if (fake_cuda_capture != NULL) {
        int r = fake_cuda_capture((void *) (intptr_t) slots[S_STREAM], run_gemm, &g, sizeof g);
        if (r != 0) return r > 0 ? 0 : 3; /* CUBLAS_STATUS_ALLOC_FAILED */
    }
    return run_gemm(&g);
}

static int run_gemm(const void *call) {
    const gemm_t *g = call;
#ifdef DN_NULL_DEVICE /* checked, then dropped, as fake_cuda.c explains */
    return 0;
#endif
    for (int j = 0; j < g->n; j++) for (int i = 0; i < g->m; i++) {
        double s = 0;
        for (int p = 0; p < g->k; p++) {
            float av = g->ta == 0 ? g->a[i + (int64_t) p * g->lda] : g->a[p + (int64_t) i * g->lda];
            float bv = g->tb == 0 ? g->b[p + (int64_t) j * g->ldb] : g->b[j + (int64_t) p * g->ldb];
            s += (double) av * bv;
        }
        float *o = &g->c[i + (int64_t) j * g->ldc];
        *o = (float) (g->alpha * s + (g->beta != 0 ? g->beta * *o : 0));
    }
    return 0;
}
