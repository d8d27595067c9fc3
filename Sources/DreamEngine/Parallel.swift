import Foundation

/// Switches and sizes that shape how the engine computes (never what it computes). A value held by each
/// `Network` and passed down to every layer, so tests and benchmarks can change it per network without
/// touching anyone else's.
public struct EngineOptions: Sendable {
    /// Threads for the engine's own parallel loops and GEMM splits (OpenBLAS itself runs single-threaded).
    public var threads = EngineOptions.defaultThreads
    /// Winograd F(4×4, 3×3) for eligible 3×3 convolutions.
    public var winograd = true
    /// The fused kernel for 1×1 convolutions, and the same micro-kernel for convolutions with few inputs per output
    /// (`Conv2D.usesPanels`); off: OpenBLAS's GEMM (after im2col) for both.
    public var pointwiseKernel = true
    /// The AVX-512 micro-kernels (1×1 and depthwise), where the CPU has AVX-512 (`CPUFeatures.avx512`); off: the AVX2
    /// ones everywhere.
    public var avx512 = true
    /// Upper bound of an im2col band, in floats (bounds memory for big convolutions).
    public var maxColumnFloats = 1 << 22
    /// Upper bound of the Winograd scratch buffers, in floats.
    public var winogradScratchFloats = 6 << 20
    /// A thread's Winograd buffers for one run of tiles (V and M), in floats: layers whose run would have fewer than
    /// `Winograd3x3.minimumRun` tiles go over bands of tile rows instead. About half of this CPU's L2 per core (2 MiB);
    /// 0 turns runs off.
    public var winogradBlockFloats = 320 << 10
    /// When set, forward and backward times are added up per layer kind (benchmarks).
    public var profiler: LayerProfiler? = nil

    public init() {}

    /// The machine's core count, or DREAMVIDEO_THREADS (1…1024) when set: a farm task's share of a node.
    public static let defaultThreads: Int = {
        if let v = ProcessInfo.processInfo.environment["DREAMVIDEO_THREADS"], let n = Int(v.trimmingCharacters(in: .whitespaces)), (1...1024).contains(n) { return n }
        return ProcessInfo.processInfo.activeProcessorCount
    }()
}

/// Time spent per layer kind and shape class, for `dreamvideo-bench --profile`.
public final class LayerProfiler: @unchecked Sendable {
    private let lock = NSLock()
    private var table: [String: (forward: Double, backward: Double, calls: Int)] = [:]
    public init() {}

    func record(_ key: String, forward: Bool, milliseconds ms: Double) {
        lock.lock(); defer { lock.unlock() }
        var e = table[key] ?? (0, 0, 0)
        if forward { e.forward += ms; e.calls += 1 } else { e.backward += ms }
        table[key] = e
    }

    public var entries: [(key: String, forward: Double, backward: Double, calls: Int)] {
        lock.lock(); defer { lock.unlock() }
        return table.map { ($0.key, $0.value.forward, $0.value.backward, $0.value.calls) }
    }

    public func reset() { lock.lock(); table = [:]; lock.unlock() }
}

/// Runs `body(i)` for `i` in `0..<count`, spread over `threads` cores.
/// Iterations must write disjoint memory; the result does not depend on scheduling.
@inline(__always)
func parallelFor(_ count: Int, minPerThread: Int = 1, threads: Int = EngineOptions.defaultThreads, _ body: (Int) -> Void) {
    if count <= 1 || count < 2 * minPerThread || threads <= 1 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: count) { body($0) }
    }
}

/// Runs `body(range)` over up to `threads` contiguous chunks of `0..<count`.
@inline(__always)
func parallelChunks(_ count: Int, minChunk: Int = 1024, threads: Int = EngineOptions.defaultThreads, _ body: (Range<Int>) -> Void) {
    let n = Swift.max(1, Swift.min(threads, count / Swift.max(1, minChunk)))
    if n == 1 { body(0..<count); return }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: n) { t in
            let lo = count * t / n, hi = count * (t + 1) / n
            body(lo..<hi)
        }
    }
}
