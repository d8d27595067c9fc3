import CBLAS
import Foundation

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
    /// feature maps; done once per process, before the first GEMM and the first forward pass.
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

/// Which of OpenBLAS's kernels run the engine's GEMMs.
///
/// A DYNAMIC_ARCH OpenBLAS picks its kernels by CPU model when it is loaded, and a CPU newer than the
/// library is not recognised: Debian's 0.3.21 runs the SSE3 "Prescott" kernels on an Emerald Rapids Xeon,
/// which makes VGG16 2.1× slower than the AVX-512 kernels the same library holds. The library reads
/// `OPENBLAS_CORETYPE` only while it loads, so the tool sets it and starts itself again
/// (`restartWithBetterKernelsIfNeeded`), once, before doing anything else.
public enum BLASKernels {
    /// The kernels in use, as OpenBLAS names them ("Haswell", "SkylakeX", "Prescott", …).
    public static var current: String { String(cString: openblas_get_corename()) }

    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]
    /// The AVX-512 subsets OpenBLAS's SkylakeX kernels and our AVX-512 kernels are compiled for.
    static let avx512Flags = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
    static let avx2Cores: Set<String> = avx512Cores.union(["haswell", "zen"])

    /// The kernels to ask for instead of `current`, given the CPU's feature flags (as /proc/cpuinfo lists
    /// them), or nil when `current` already uses what the CPU has.
    public static func better(than current: String, cpuFlags: Set<String>) -> String? {
        let name = current.lowercased()
        if avx512Flags.allSatisfy(cpuFlags.contains) {
            return avx512Cores.contains(name) ? nil : "SkylakeX"
        }
        if cpuFlags.contains("avx2") && cpuFlags.contains("fma") {
            return avx2Cores.contains(name) ? nil : "Haswell"
        }
        return nil
    }

    /// This CPU's feature flags from /proc/cpuinfo (empty where there is none), read once.
    public static func cpuFlags() -> Set<String> { flags }
    private static let flags: Set<String> = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }()

    /// When OpenBLAS fell back to kernels older than this CPU and the user has not chosen any
    /// (`OPENBLAS_CORETYPE` unset), sets `OPENBLAS_CORETYPE` and replaces the process by a fresh start of
    /// the same executable with the same arguments. Call first thing in `main`, before any thread or
    /// file is opened. Returns (doing nothing) where that is not needed or not possible.
    public static func restartWithBetterKernelsIfNeeded() {
        #if os(Linux)
        // An empty OPENBLAS_CORETYPE is no choice (OpenBLAS ignores it); after the restart it is set, so this runs once.
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map({ $0.isEmpty }) ?? true,
              let core = better(than: current, cpuFlags: cpuFlags()) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("OPENBLAS_CORETYPE")  // exec failed: carry on with the kernels we have
        #endif
    }
}

/// What the CPU can do, read once.
public enum CPUFeatures {
    /// AVX-512 F, CD, BW, DQ and VL (the set the AVX-512 kernels are compiled for; Linux lists the flags only
    /// when the OS saves the registers). False off x86-64 Linux, and with DREAMVIDEO_NO_AVX512 set.
    public static let avx512: Bool = {
        #if arch(x86_64) && os(Linux)
        let flags = BLASKernels.cpuFlags()
        return BLASKernels.avx512Flags.allSatisfy(flags.contains)
            && ProcessInfo.processInfo.environment["DREAMVIDEO_NO_AVX512"] == nil
        #else
        return false
        #endif
    }()
}
