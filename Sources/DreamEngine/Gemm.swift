import CBLAS

/// C[M×N] = op(A) · B + beta · C, row-major, split over the engine's threads along N.
///
/// OpenBLAS runs single-threaded (see `BLAS.configure`); splitting the columns ourselves keeps
/// both cores busy without OpenBLAS's worker threads spinning against our own parallel loops.
@inline(__always)
func gemm(transA: Bool, m: Int, n: Int, k: Int,
          _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
          _ c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float = 0, threads: Int) {
    BLAS.configure()
    let ta = transA ? CblasTrans : CblasNoTrans, tb = CblasNoTrans
    let work = m * n * k
    let parts = work < 1 << 18 ? 1 : Swift.min(threads, Swift.max(1, n / 64))
    if parts <= 1 {
        cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        return
    }
    // Column chunks, multiples of 16 floats so every chunk starts cache-line aligned in B and C rows.
    let chunk = ((n + parts - 1) / parts + 15) / 16 * 16
    parallelFor(parts, threads: threads) { p in
        let lo = p * chunk, hi = Swift.min(n, lo + chunk)
        guard hi > lo else { return }
        cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(hi - lo), Int32(k), 1, a, Int32(lda), b + lo, Int32(ldb), beta, c + lo, Int32(ldc))
    }
}

enum BLAS {
    /// OpenBLAS single-threaded (the engine parallelises GEMMs itself), and a heap that keeps freed
    /// feature maps; done once per process.
    static let configured: Bool = {
        openblas_set_num_threads(1)
        dv_retain_freed_memory()
        return true
    }()
    @inline(__always) static func configure() { _ = configured }
}

/// C[M×N] = A[M×K] · B[K×N], row-major, single-threaded (the caller parallelises).
@inline(__always)
func cblasGemm(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
               _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    BLAS.configure()
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
}
