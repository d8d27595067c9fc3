import CBLAS
import DreamKernels512

// The forward pass of 1×1 convolutions: C[M×N] = act(W[M×K] · X[K×N] + bias).
//
// EfficientNet's expand and project convolutions have small K or small M, so they are limited by
// memory traffic rather than arithmetic. A library GEMM writes C, then (for beta = 0) has already
// cleared it in a separate pass, and bias and activation need another pass; this kernel writes each
// output once with bias and activation fused. Columns are processed in blocks of 32: the block of X
// is packed contiguously (K × 32), then two output rows at a time are accumulated in four SIMD16
// registers over all of K.

enum PointwiseKernel {
    static let block = 32

    /// C = act(W · X + bias). With `mask`, X is first multiplied by the derivative of `mask.activation`
    /// read off `mask.output` (same shape as X): the backward pass uses this to fuse the gradient mask.
    /// X's (and the mask's) rows are `ldx` floats apart and C's `ldc` (both `n` unless given): a band of rows of
    /// a feature map is then a matrix of its own.
    static func forward(_ w: UnsafePointer<Float>, m: Int, k: Int, _ x: UnsafePointer<Float>, n: Int, ldx: Int? = nil,
                        bias: UnsafePointer<Float>?, activation: Activation, _ c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
                        mask: (activation: Activation, output: UnsafePointer<Float>)? = nil, threads: Int, avx512: Bool) {
        let ldx = ldx ?? n, ldc = ldc ?? n
        // With AVX-512: panels of 64 columns computed by `PointwisePanel512` (a module compiled for AVX-512,
        // entered only when the CPU has it); otherwise panels of 32 with the AVX2 micro-kernel below.
        let cols = columns(avx512: avx512)
        let blocks = (n + cols - 1) / cols
        let sub = subpanels(k: k, columns: cols)
        let wides = (blocks + sub - 1) / sub
        parallelChunks(wides, minChunk: Swift.max(1, (cols == block ? 4 : 2) / sub), threads: threads) { range in
            let packed = UnsafeMutablePointer<Float>.allocate(capacity: k * cols * sub)
            defer { packed.deallocate() }
            let last = Swift.min(range.upperBound * sub, blocks)
            for wb in range {
                let b0 = wb * sub, b1 = Swift.min(b0 + sub, blocks)
                for b in b0..<b1 {
                    let n0 = b * cols
                    pack(x, n: n, ld: ldx, k: k, from: n0, width: Swift.min(cols, n - n0), into: packed + (b - b0) * k * cols, columns: cols,
                         mask: mask, prefetchNext: b + 1 < last && n0 + 2 * cols <= n)
                }
                // Rows a few at a time across the whole wide panel, so each output row is written in one run of
                // sub × cols columns (a row of a 64-column panel is four cache lines; with a hundred rows written
                // four lines at a time, writing was most of the time for the big early layers).
                var mi = 0
                while mi < m {
                    let rows = b1 - b0 == 1 ? m : Swift.min(wideRows, m - mi)
                    for b in b0..<b1 {
                        let n0 = b * cols
                        compute(w + mi * k, m: rows, k: k, panel: packed + (b - b0) * k * cols, bias: bias.map { $0 + mi },
                                activation: activation, c + mi * ldc + n0, ldc: ldc, width: Swift.min(cols, n - n0), avx512: avx512)
                    }
                    mi += rows
                }
            }
        }
    }

    /// Output rows computed together across a wide panel.
    static let wideRows = 8

    /// How many panels of `columns` make one wide panel for K input rows: as many as fit 32 KiB packed (L1), at most 8.
    /// The order of every output's sums is the same whatever the width (each is its bias plus its K products in order).
    static func subpanels(k: Int, columns: Int) -> Int {
        Swift.max(1, Swift.min(8, 8192 / Swift.max(1, k * columns)))
    }

    /// The panel width the micro-kernel uses with `avx512` on this CPU (64 with AVX-512, else 32).
    static func columns(avx512: Bool) -> Int { avx512 && CPUFeatures.avx512 ? PointwisePanel512.columns : block }

    /// C[:, 0 ..< width] (rows `ldc` apart) = act(W · P + bias) for one packed panel P of K rows of `columns(avx512:)`.
    @inline(__always)
    static func compute(_ w: UnsafePointer<Float>, m: Int, k: Int, panel packed: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        activation: Activation, _ c: UnsafeMutablePointer<Float>, ldc: Int, width: Int, avx512: Bool) {
        if avx512 && CPUFeatures.avx512 {
            let act = activation == .relu ? 1 : activation == .relu6 ? 2 : 0
            PointwisePanel512.compute(w, m: m, k: k, panel: packed, bias: bias, activation: act, c, ldc: ldc, width: width)
        } else {
            panel(w, m: m, k: k, packed, bias: bias, activation: activation, c, ldc: ldc, width: width)
        }
    }

    /// Packs X[:, n0 ..< n0+width] as K rows of `columns` (zero-padded at the right edge), multiplied by the
    /// gradient mask when there is one. With `prefetchNext`, each row also asks for the next panel's columns of X and
    /// of the mask, so they arrive from memory while this panel is computed (the backward's pack spent half its time
    /// waiting for the mask: 14 → 11 % of a 720p step's samples, 3–5 % faster).
    @inline(__always)
    static func pack(_ x: UnsafePointer<Float>, n: Int, ld: Int? = nil, k: Int, from n0: Int, width: Int, into packed: UnsafeMutablePointer<Float>,
                     columns: Int, mask: (activation: Activation, output: UnsafePointer<Float>)?, prefetchNext: Bool) {
        let ld = ld ?? n
        for kk in 0..<k {
            let dst = packed + kk * columns
            let src = x + kk * ld + n0
            if width == columns {
                if prefetchNext {
                    var j = columns
                    while j < 2 * columns {
                        dv_prefetch(src + j)
                        if let mask { dv_prefetch(mask.output + kk * ld + n0 + j) }
                        j += 16
                    }
                }
                var j = 0
                while j < columns { store16(load16(src + j), dst + j); j += 16 }
            } else {
                for j in 0..<width { dst[j] = src[j] }
                for j in width..<columns { dst[j] = 0 }
            }
            if let mask { mask.activation.maskGradientFast(dst, output: mask.output + kk * ld + n0, width) }
        }
    }

    /// The AVX2 micro-kernel: one packed panel of 32 columns for all M rows, two output rows at a time accumulated
    /// in four SIMD16 registers over all of K.
    @inline(__always)
    private static func panel(_ w: UnsafePointer<Float>, m: Int, k: Int, _ packed: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                              activation: Activation, _ c: UnsafeMutablePointer<Float>, ldc: Int, width: Int) {
        var mi = 0
        while mi < m {
            let two = mi + 1 < m
            let w0 = w + mi * k, w1 = two ? w0 + k : w0
            var a00 = F16(repeating: bias?[mi] ?? 0), a01 = a00
            var a10 = F16(repeating: two ? bias?[mi + 1] ?? 0 : 0), a11 = a10
            var p = packed
            for kk in 0..<k {
                let b0 = load16(p), b1 = load16(p + 16)
                let x0 = F16(repeating: w0[kk]), x1 = F16(repeating: w1[kk])
                a00 = a00.addingProduct(x0, b0); a01 = a01.addingProduct(x0, b1)
                a10 = a10.addingProduct(x1, b0); a11 = a11.addingProduct(x1, b1)
                p += block
            }
            activation.clamp(&a00); activation.clamp(&a01); activation.clamp(&a10); activation.clamp(&a11)
            write(a00, a01, to: c + mi * ldc, width: width)
            if two { write(a10, a11, to: c + (mi + 1) * ldc, width: width) }
            mi += 2
        }
    }

    @inline(__always)
    private static func write(_ lo: F16, _ hi: F16, to dst: UnsafeMutablePointer<Float>, width: Int) {
        if width == block {
            store16(lo, dst); store16(hi, dst + 16)
        } else {
            for j in 0..<width { dst[j] = j < 16 ? lo[j] : hi[j - 16] }
        }
    }
}

extension Activation {
    /// Lanes below 0 become 0 (and above 6 become 6 for ReLU6). Not pointwiseMax/Min: they stay out-of-line
    /// generic calls, which took 60 % of an AVX2 machine's step (as they did in the AVX-512 kernels).
    @inline(__always) func clamp(_ v: inout F16) {
        switch self {
        case .none: break
        case .relu: v.replace(with: 0, where: v .< 0)
        case .relu6: v.replace(with: 0, where: v .< 0); v.replace(with: 6, where: v .> 6)
        }
    }
}
