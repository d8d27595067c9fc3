import Foundation

/// Pixel-space helpers on CHW tensors: resampling, blur, roll, clip.
public enum ImageOps {
    /// Bilinear resize with pixel-centre alignment (no corner alignment), like OpenCV's INTER_LINEAR.
    public static func resize(_ x: Tensor, height: Int, width: Int) -> Tensor {
        let s = x.shape
        if s.h == height && s.w == width { return x }
        var out = Tensor(zeros: Shape(s.c, height, width))
        addResized(into: &out, baseScale: 0, x, scale: 1)
        return out
    }

    /// Separable Gaussian blur with reflected borders; sigma ≤ 0 returns the input.
    public static func gaussianBlur(_ x: Tensor, sigma: Float) -> Tensor {
        guard sigma > 0 else { return x }
        let radius = Swift.max(1, Int((3 * sigma).rounded(.up)))
        var k = (-radius...radius).map { Float(exp(-Double($0 * $0) / (2 * Double(sigma * sigma)))) }
        let total = k.reduce(0, +)
        k = k.map { $0 / total }
        let s = x.shape
        func reflect(_ i: Int, _ n: Int) -> Int {
            if n == 1 { return 0 }
            var i = i
            while i < 0 || i >= n { i = i < 0 ? -i - 1 : 2 * n - i - 1 }
            return i
        }
        var tmp = Tensor(zeros: s), out = Tensor(zeros: s)
        x.data.withUnsafeBufferPointer { xp in
            tmp.data.withUnsafeMutableBufferPointer { tp in
                k.withUnsafeBufferPointer { kp in
                    let xb = xp.baseAddress!, tb = tp.baseAddress!, kb = kp.baseAddress!
                    let taps = 2 * radius + 1
                    parallelFor(s.c * s.h, minPerThread: 16) { row in
                        let src = xb + row * s.w, dst = tb + row * s.w
                        // Away from the borders (ox in lo ..< hi) no reflection, 16 outputs at a time.
                        let lo = Swift.min(radius, s.w), hi = Swift.max(lo, s.w - radius)
                        func reflected(_ ox: Int) {
                            var acc: Float = 0
                            for j in -radius...radius { acc += kb[j + radius] * src[reflect(ox + j, s.w)] }
                            dst[ox] = acc
                        }
                        for ox in 0..<lo { reflected(ox) }
                        var ox = lo
                        while ox + 16 <= hi {
                            let p = src + (ox - radius)
                            var acc = F16(repeating: 0)
                            for j in 0..<taps { acc = acc.addingProduct(F16(repeating: kb[j]), load16(p + j)) }
                            store16(acc, dst + ox)
                            ox += 16
                        }
                        while ox < hi {
                            let p = src + (ox - radius)
                            var acc: Float = 0
                            for j in 0..<taps { acc = acc.addingProduct(kb[j], p[j]) }
                            dst[ox] = acc
                            ox += 1
                        }
                        for ox in hi..<s.w { reflected(ox) }
                    }
                }
            }
        }
        tmp.data.withUnsafeBufferPointer { tp in
            out.data.withUnsafeMutableBufferPointer { op in
                let tb = tp.baseAddress!, ob = op.baseAddress!
                parallelFor(s.c * s.h, minPerThread: 16) { row in
                    let c = row / s.h, oy = row % s.h
                    let dst = ob + row * s.w
                    for j in -radius...radius {
                        let src = tb + c * s.plane + reflect(oy + j, s.h) * s.w
                        let kv = k[j + radius]
                        axpy(dst, src, kv, s.w)
                    }
                }
            }
        }
        return out
    }

    /// Circular shift by (dy, dx): out[y, x] = in[(y − dy) mod H, (x − dx) mod W], like `np.roll`.
    public static func roll(_ x: Tensor, dy: Int, dx: Int) -> Tensor {
        let s = x.shape
        let dy = ((dy % s.h) + s.h) % s.h, dx = ((dx % s.w) + s.w) % s.w
        if dy == 0 && dx == 0 { return x }
        var out = Tensor(zeros: s)
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                for c in 0..<s.c {
                    for y in 0..<s.h {
                        let src = xp.baseAddress! + c * s.plane + ((y - dy + s.h) % s.h) * s.w
                        let dst = op.baseAddress! + c * s.plane + y * s.w
                        // dst[x] = src[(x - dx) mod W]
                        (dst + dx).update(from: src, count: s.w - dx)
                        dst.update(from: src + (s.w - dx), count: dx)
                    }
                }
            }
        }
        return out
    }

    /// The sub-rectangle rows y0..<y0+h, columns x0..<x0+w.
    public static func crop(_ x: Tensor, y: Int, x x0: Int, height: Int, width: Int) -> Tensor {
        let s = x.shape
        var out = Tensor(zeros: Shape(s.c, height, width))
        for c in 0..<s.c {
            for r in 0..<height {
                let src = c * s.plane + (y + r) * s.w + x0
                let dst = c * height * width + r * width
                out.data.replaceSubrange(dst..<(dst + width), with: x.data[src..<(src + width)])
            }
        }
        return out
    }

    /// Writes `tile` into `x` at (y, x0).
    public static func paste(_ tile: Tensor, into x: inout Tensor, y: Int, x x0: Int) {
        let s = x.shape, t = tile.shape
        for c in 0..<t.c {
            for r in 0..<t.h {
                let dst = c * s.plane + (y + r) * s.w + x0
                let src = c * t.plane + r * t.w
                x.data.replaceSubrange(dst..<(dst + t.w), with: tile.data[src..<(src + t.w)])
            }
        }
    }

    /// The DeepDream notebook's Laplacian-pyramid normalisation: split `x` into `levels` frequency bands
    /// (each a difference of blurred, halved copies), scale each band to unit root-mean-square, add them
    /// back. Coarse structure then counts as much as fine texture.
    public static func laplacianNormalized(_ x: Tensor, levels: Int) -> Tensor {
        var y = x
        laplacianNormalize(&y, levels: levels)
        return y
    }

    /// `laplacianNormalized` in place: the finest band and the result reuse `x`'s storage (no page faults on
    /// fresh full-size buffers, which cost as much as the arithmetic).
    public static func laplacianNormalize(_ x: inout Tensor, levels: Int) {
        var lows = [Tensor]()
        var current = x
        while lows.count + 1 < levels, current.shape.h >= 4, current.shape.w >= 4 {
            current = halved(current)
            lows.append(current)
        }
        guard !lows.isEmpty else {
            x.scale(by: inverseRMS(x))
            return
        }
        // Bands, fine to coarse, each in the storage of its level: band_k = level_k − up(level_k+1), with
        // level_k+1 still untouched when band_k is made.
        addResized(into: &x, baseScale: 1, lows[0], scale: -1)
        for k in 0..<(lows.count - 1) { addResized(into: &lows[k], baseScale: 1, lows[k + 1], scale: -1) }
        // Recombine, coarse to fine, each band normalised: out_k = band_k / rms_k + up(out_k+1).
        lows[lows.count - 1].scale(by: inverseRMS(lows[lows.count - 1]))
        for k in stride(from: lows.count - 2, through: 0, by: -1) {
            addResized(into: &lows[k], baseScale: inverseRMS(lows[k]), lows[k + 1], scale: 1)
        }
        addResized(into: &x, baseScale: inverseRMS(x), lows[0], scale: 1)
    }

    static func inverseRMS(_ t: Tensor) -> Float {
        Float(1 / Swift.max((t.sumOfSquares() / Double(Swift.max(1, t.count))).squareRoot(), 1e-8))
    }

    /// base ← `baseScale` × base + `scale` × `low` resized bilinearly to base's size (pixel centres aligned), in one pass.
    public static func addResized(into base: inout Tensor, baseScale: Float, _ low: Tensor, scale: Float) {
        let s = low.shape, height = base.shape.h, width = base.shape.w
        precondition(s.c == base.shape.c)
        let sy = Float(s.h) / Float(height), sx = Float(s.w) / Float(width)
        var x0 = [Int](repeating: 0, count: width), x1 = x0, fx = [Float](repeating: 0, count: width)
        for ox in 0..<width {
            let f = Swift.max(0, (Float(ox) + 0.5) * sx - 0.5)
            let i = Swift.min(Int(f), s.w - 1)
            x0[ox] = i; x1[ox] = Swift.min(i + 1, s.w - 1); fx[ox] = f - Float(i)
        }
        low.data.withUnsafeBufferPointer { lp in
            base.data.withUnsafeMutableBufferPointer { op in
                let lb = lp.baseAddress!, ob = op.baseAddress!
                x0.withUnsafeBufferPointer { x0p in
                    x1.withUnsafeBufferPointer { x1p in
                        fx.withUnsafeBufferPointer { fxp in
                            parallelFor(s.c * height, minPerThread: 16) { row in
                                let c = row / height, oy = row % height
                                let f = Swift.max(0, (Float(oy) + 0.5) * sy - 0.5)
                                let y0 = Swift.min(Int(f), s.h - 1), y1 = Swift.min(y0 + 1, s.h - 1)
                                let fy = f - Float(y0)
                                let r0 = lb + c * s.plane + y0 * s.w, r1 = lb + c * s.plane + y1 * s.w
                                let o = ob + row * width
                                for ox in 0..<width {
                                    let i0 = x0p[ox], i1 = x1p[ox], t = fxp[ox]
                                    let a = r0[i0] + (r0[i1] - r0[i0]) * t
                                    let b = r1[i0] + (r1[i1] - r1[i0]) * t
                                    o[ox] = baseScale * o[ox] + scale * (a + (b - a) * fy)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `x` blurred by the binomial filter [1 5 10 10 5 1]/32 (σ ≈ 1.1) and halved: output pixel (y, x) is centred
    /// between input pixels 2y, 2y+1 and 2x, 2x+1, as `resize` places them; edges are clamped. The pyramid step of
    /// `laplacianNormalized`: only the kept pixels are filtered.
    public static func halved(_ x: Tensor) -> Tensor {
        let s = x.shape
        let h2 = (s.h + 1) / 2, w2 = (s.w + 1) / 2
        var rows = Tensor(zeros: Shape(s.c, s.h, w2)), out = Tensor(zeros: Shape(s.c, h2, w2))
        @inline(__always) func tap(_ p: UnsafePointer<Float>, _ i: Int, _ n: Int, _ stride: Int) -> Float {
            @inline(__always) func at(_ k: Int) -> Float { p[Swift.min(Swift.max(i + k, 0), n - 1) * stride] }
            return ((at(-2) + at(3)) + 5 * (at(-1) + at(2)) + 10 * (at(0) + at(1))) * (1 / 32)
        }
        x.data.withUnsafeBufferPointer { xp in
            rows.data.withUnsafeMutableBufferPointer { rp in
                let xb = xp.baseAddress!, rb = rp.baseAddress!
                parallelFor(s.c * s.h, minPerThread: 32) { row in
                    let src = xb + row * s.w, dst = rb + row * w2
                    for ox in 0..<w2 { dst[ox] = tap(src, 2 * ox, s.w, 1) }
                }
            }
        }
        rows.data.withUnsafeBufferPointer { rp in
            out.data.withUnsafeMutableBufferPointer { op in
                let rb = rp.baseAddress!, ob = op.baseAddress!
                parallelFor(s.c * h2, minPerThread: 32) { row in
                    let c = row / h2, oy = row % h2
                    let plane = rb + c * s.h * w2, dst = ob + row * w2
                    for ox in 0..<w2 { dst[ox] = tap(plane + ox, 2 * oy, s.h, w2) }
                }
            }
        }
        return out
    }

    /// Clamps every value to lo…hi.
    public static func clip(_ x: inout Tensor, _ lo: Float, _ hi: Float) { x.clamp(lo, hi) }
}
