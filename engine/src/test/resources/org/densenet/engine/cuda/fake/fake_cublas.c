/*
 * A stand-in for the cuBLAS calls the engine makes, over host memory, for testing the FFM
 * bindings and the linear layer without a GPU. Signatures follow cublas_api.h; SGEMM computes
 * for real (column-major, op(A), op(B), leading dimensions; beta == 0: C is not read).
 */
#include <stdint.h>
#include <string.h>

enum { S_CREATED = 0, S_DESTROYED, S_STREAM, S_MATH, S_GEMMS, S_COUNT };
static int64_t slots[S_COUNT];
int64_t fake_value(int slot) { return slots[slot]; }
void fake_reset(void) { memset(slots, 0, sizeof slots); }

int cublasCreate_v2(void **handle) { *handle = (void *) 0xB1A5; slots[S_CREATED]++; return 0; }
int cublasDestroy_v2(void *handle) { slots[S_DESTROYED]++; return handle == (void *) 0xB1A5 ? 0 : 1; }
int cublasSetStream_v2(void *handle, void *stream) { slots[S_STREAM] = (int64_t) (intptr_t) stream; return 0; }
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
#ifdef DN_NULL_DEVICE /* checked, then dropped, as fake_cuda.c explains */
    return 0;
#endif
    for (int j = 0; j < n; j++) for (int i = 0; i < m; i++) {
        double s = 0;
        for (int p = 0; p < k; p++) {
            float av = ta == 0 ? a[i + (int64_t) p * lda] : a[p + (int64_t) i * lda];
            float bv = tb == 0 ? b[p + (int64_t) j * ldb] : b[j + (int64_t) p * ldb];
            s += (double) av * bv;
        }
        float *o = &c[i + (int64_t) j * ldc];
        *o = (float) (*alpha * s + (*beta != 0 ? *beta * *o : 0));
    }
    return 0;
}
