// Convolutions with few inputs per output — K = Cin·KH·KW ≤ 512, such as a network's first layer on the RGB
// picture — on the 1×1 kernel's micro-kernels instead of im2col + GEMM.
//
// The input is copied once into zero-padded planes. Then, 64 (AVX-512) or 32 output positions at a time, the
// K × columns panel that im2col would have written is gathered straight into a buffer that stays in the
// L1/L2 cache, and the micro-kernel writes act(W · panel + bias) to the output. The input gradient is the
// adjoint: each panel of the (masked) output gradient gives Wᵀ · panel (K × columns), which is added back into
// padded gradient planes at the taps it came from. Bands of output rows far enough apart never touch the same
// input row, so the even bands run in parallel, then the odd ones; the bands and the order of every sum are the same
// whatever the thread count and micro-kernel, so the results are too.
// (im2col for such a layer wrote and read a column matrix 9–49 times the picture, one channel per thread, and
// gathered stride-2 columns one float at a time.)

extension Conv2D {
    /// The most inputs per output (Cin·KH·KW) the panel path takes: a panel of 512 × 64 floats stays in L2.
    static let panelMaxInputs = 512

    /// Whether the panel path runs this convolution (when `EngineOptions.pointwiseKernel` allows our kernels): no
    /// groups, no Winograd, at most `panelMaxInputs` inputs per output, and not a 1×1 (its own kernel) — the
    /// convolutions whose Wᵀ the initialiser prepares.
    public var usesPanels: Bool { !isPointwise && weightTransposed != nil }

    /// The zero-padded planes: row width `pw` (with 32 floats of slack, so 16-wide stride-2 accesses stay in
    /// their row), `ph` rows, and each tap's offset from an output position's top-left corner.
    private func panelGeometry(_ xs: Shape, _ os: Shape) -> (pads: (top: Int, left: Int, bottom: Int, right: Int), pw: Int, ph: Int, taps: [Int]) {
        let p = pads(h: xs.h, w: xs.w)
        let needW = (os.w - 1) * stride.w + (kernel.w - 1) * dilation.w + 1
        let needH = (os.h - 1) * stride.h + (kernel.h - 1) * dilation.h + 1
        let pw = Swift.max(p.left + xs.w, needW) + 32, ph = Swift.max(p.top + xs.h, needH)
        var taps: [Int] = []
        for c in 0..<inChannels {
            for ky in 0..<kernel.h {
                for kx in 0..<kernel.w { taps.append(c * ph * pw + ky * dilation.h * pw + kx * dilation.w) }
            }
        }
        return (p, pw, ph, taps)
    }

    func panelForward(_ x: UnsafePointer<Float>, _ xs: Shape, _ out: UnsafeMutablePointer<Float>, _ os: Shape, _ o: EngineOptions) {
        let (p, pw, ph, taps) = panelGeometry(xs, os)
        let k = taps.count, n = os.plane, sh = stride.h, sw = stride.w, ow = os.w
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: inChannels * ph * pw + 64)
        defer { padded.deallocate() }
        padded.update(repeating: 0, count: inChannels * ph * pw + 64)
        for c in 0..<inChannels {
            for y in 0..<xs.h { (padded + c * ph * pw + (y + p.top) * pw + p.left).update(from: x + c * xs.plane + y * xs.w, count: xs.w) }
        }
        let cols = PointwiseKernel.columns(avx512: o.avx512)
        let panels = (n + cols - 1) / cols
        weight.withUnsafeBufferPointer { wp in
            bias.withUnsafeBufferPointer { bp in
                taps.withUnsafeBufferPointer { tp in
                    parallelChunks(panels, minChunk: 4, threads: o.threads) { range in
                        let packed = UnsafeMutablePointer<Float>.allocate(capacity: k * cols)
                        defer { packed.deallocate() }
                        for nb in range {
                            let n0 = nb * cols, width = Swift.min(cols, n - n0)
                            // Gather, one output row's run of columns at a time.
                            var j = 0
                            while j < width {
                                let oy = (n0 + j) / ow, ox = (n0 + j) % ow, run = Swift.min(width - j, ow - ox)
                                let corner = padded + oy * sh * pw + ox * sw
                                for t in 0..<k { Self.gather(corner + tp[t], stride: sw, into: packed + t * cols + j, run) }
                                j += run
                            }
                            if width < cols { for t in 0..<k { (packed + t * cols + width).update(repeating: 0, count: cols - width) } }
                            PointwiseKernel.compute(wp.baseAddress!, m: outChannels, k: k, panel: packed, bias: bp.baseAddress!,
                                                    activation: activation, out + n0, ldc: n, width: width, avx512: o.avx512)
                        }
                    }
                }
            }
        }
    }

    /// The input gradient for `g`, the output gradient, masked here by the activation's derivative read off `y`.
    func panelBackward(_ g: UnsafePointer<Float>, _ os: Shape, _ gin: UnsafeMutablePointer<Float>, _ xs: Shape,
                       maskingWith y: UnsafePointer<Float>, _ o: EngineOptions) {
        let (p, pw, ph, taps) = panelGeometry(xs, os)
        let k = taps.count, m = outChannels, n = os.plane, sh = stride.h, sw = stride.w, ow = os.w
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: inChannels * ph * pw + 64)
        defer { padded.deallocate() }
        padded.update(repeating: 0, count: inChannels * ph * pw + 64)
        let cols = PointwiseKernel.columns(avx512: o.avx512)
        // Band rows such that bands two apart share no input row: (kh − 1)·dh < (rows + 1)·sh.
        // The band count does not depend on the thread count, so neither does the order of the sums.
        let minRows = (kernel.h - 1) * dilation.h / sh + 1
        let bandCount = Swift.max(1, Swift.min(8, os.h / minRows))
        let mask = activation == .none ? nil : (activation: activation, output: y)
        weightTransposed!.withUnsafeBufferPointer { wp in  // Wᵀ, K × M
            taps.withUnsafeBufferPointer { tp in
                for phase in 0..<Swift.min(2, bandCount) {
                    let mine = (bandCount - phase + 1) / 2  // bands phase, phase + 2, …
                    parallelFor(mine, minPerThread: 1, threads: o.threads) { i in
                        let band = phase + 2 * i
                        let lo = os.h * band / bandCount * ow, hi = os.h * (band + 1) / bandCount * ow
                        let packed = UnsafeMutablePointer<Float>.allocate(capacity: m * cols + k * cols)
                        defer { packed.deallocate() }
                        let r = packed + m * cols
                        var n0 = lo
                        while n0 < hi {
                            let width = Swift.min(cols, hi - n0)
                            PointwiseKernel.pack(g, n: n, k: m, from: n0, width: width, into: packed, columns: cols, mask: mask,
                                                 prefetchNext: n0 + 2 * cols <= hi)
                            PointwiseKernel.compute(wp.baseAddress!, m: k, k: m, panel: packed, bias: nil, activation: .none,
                                                    r, ldc: cols, width: width, avx512: o.avx512)
                            // In chunks of 32 columns, so the sums run in the same order with either micro-kernel.
                            var c0 = 0
                            while c0 < width {
                                let end = Swift.min(width, c0 + 32)
                                var j = c0
                                while j < end {
                                    let oy = (n0 + j) / ow, ox = (n0 + j) % ow, run = Swift.min(end - j, ow - ox)
                                    let corner = padded + oy * sh * pw + ox * sw
                                    for t in 0..<k { Self.scatterAdd(r + t * cols + j, into: corner + tp[t], stride: sw, run) }
                                    j += run
                                }
                                c0 = end
                            }
                            n0 += width
                        }
                    }
                }
            }
        }
        for c in 0..<inChannels {
            for yy in 0..<xs.h { (gin + c * xs.plane + yy * xs.w).update(from: padded + c * ph * pw + (yy + p.top) * pw + p.left, count: xs.w) }
        }
    }

    /// dst[i] = src[i · stride] for i < count.
    @inline(__always)
    private static func gather(_ src: UnsafePointer<Float>, stride s: Int, into dst: UnsafeMutablePointer<Float>, _ count: Int) {
        if s == 1 { dst.update(from: src, count: count); return }
        var i = 0
        if s == 2 {
            while i + 16 <= count {
                store16(UnsafeRawPointer(src + 2 * i).loadUnaligned(as: SIMD32<Float>.self).evenHalf, dst + i)
                i += 16
            }
        }
        while i < count { dst[i] = src[i * s]; i += 1 }
    }

    /// dst[i · stride] += src[i] for i < count (for stride 2, 16 at a time: the odd lanes are written back unchanged,
    /// within the row's slack).
    @inline(__always)
    private static func scatterAdd(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, stride s: Int, _ count: Int) {
        if s == 1 { addInPlace(dst, src, count); return }
        var i = 0
        if s == 2 {
            while i + 16 <= count {
                let v = UnsafeRawPointer(dst + 2 * i).loadUnaligned(as: SIMD32<Float>.self)
                let (lo, hi) = interleave(v.evenHalf + load16(src + i), v.oddHalf)
                store16(lo, dst + 2 * i); store16(hi, dst + 2 * i + 16)
                i += 16
            }
        }
        while i < count { dst[i * s] += src[i]; i += 1 }
    }
}
