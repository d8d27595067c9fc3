import Foundation

/// Runs `body(i)` for `i` in `0..<count`, spread over the machine's cores.
/// Iterations must write disjoint memory; the result does not depend on scheduling.
@inline(__always)
func parallelFor(_ count: Int, minPerThread: Int = 1, _ body: (Int) -> Void) {
    if count <= 1 || count < 2 * minPerThread || Engine.threads <= 1 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: count) { body($0) }
    }
}

/// Runs `body(range)` over `threads` contiguous chunks of `0..<count`.
@inline(__always)
func parallelChunks(_ count: Int, minChunk: Int = 1024, _ body: (Range<Int>) -> Void) {
    let n = Swift.max(1, Swift.min(Engine.threads, count / Swift.max(1, minChunk)))
    if n == 1 { body(0..<count); return }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: n) { t in
            let lo = count * t / n, hi = count * (t + 1) / n
            body(lo..<hi)
        }
    }
}

/// Engine-wide settings.
public enum Engine {
    /// Worker threads used by the engine's own loops (BLAS has its own pool).
    nonisolated(unsafe) public static var threads: Int = ProcessInfo.processInfo.activeProcessorCount
}
