package org.densenet.engine.cuda.ffm;

/**
 * The arguments of one column-major cuBLAS GEMM, C[m x n] = op(A)[m x k] * op(B)[k x n], with
 * leading dimensions checked as cuBLAS requires.
 */
public record GemmCall(int transA, int transB, int m, int n, int k, int lda, int ldb, int ldc) {
    public GemmCall {
        if (m < 1 || n < 1 || k < 1) throw new IllegalArgumentException("GEMM sizes must be >= 1: m " + m + ", n " + n + ", k " + k);
        if (transA != Cublas.OP_N && transA != Cublas.OP_T || transB != Cublas.OP_N && transB != Cublas.OP_T) {
            throw new IllegalArgumentException("GEMM transposes must be OP_N or OP_T");
        }
        if (lda < (transA == Cublas.OP_N ? m : k) || ldb < (transB == Cublas.OP_N ? k : n) || ldc < m) {
            throw new IllegalArgumentException("GEMM leading dimensions too small: " + this);
        }
    }

    /**
     * Row-major Y[rows x cols] = op(X) * op(W), where X is stored row-major as [rows x inner]
     * ([inner x rows] when transX) and W as [inner x cols] ([cols x inner] when transW).
     * A row-major matrix is the column-major matrix of its transpose, so cuBLAS computes
     * Y^T = op(W)^T * op(X)^T: pass W's address as A and X's as B.
     */
    public static GemmCall rowMajor(boolean transX, boolean transW, int rows, int cols, int inner) {
        return new GemmCall(transW ? Cublas.OP_T : Cublas.OP_N, transX ? Cublas.OP_T : Cublas.OP_N,
                cols, rows, inner, transW ? inner : cols, transX ? rows : inner, cols);
    }

    @Override
    public String toString() {
        return "gemm(" + (transA == Cublas.OP_T ? "T" : "N") + (transB == Cublas.OP_T ? "T" : "N") + " m=" + m + " n=" + n
                + " k=" + k + " lda=" + lda + " ldb=" + ldb + " ldc=" + ldc + ")";
    }
}
