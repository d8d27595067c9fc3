/// Output size of a pooling window along one axis, with PyTorch's ceil-mode rule
/// (the last window must start inside the input or the left padding).
func pooledSize(_ n: Int, kernel: Int, stride: Int, pad: Int, ceilMode: Bool) -> Int {
    let span = n + 2 * pad - kernel
    var out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
    if ceilMode && (out - 1) * stride >= n + pad { out -= 1 }
    return out
}

/// Max pooling. Backward routes each output gradient to the first maximal input of its window.
public struct MaxPool2D: Layer {
    public let kernel: Int, stride: Int, padding: Int, ceilMode: Bool
    public init(kernel: Int, stride: Int, padding: Int = 0, ceilMode: Bool = false) {
        self.kernel = kernel; self.stride = stride; self.padding = padding; self.ceilMode = ceilMode
    }
    public var kind: String { "maxpool" }

    public func outputShape(_ inputs: [Shape]) throws(EngineError) -> Shape {
        guard inputs.count == 1 else { throw .shapeMismatch("maxpool takes one input") }
        let s = inputs[0]
        let oh = pooledSize(s.h, kernel: kernel, stride: stride, pad: padding, ceilMode: ceilMode)
        let ow = pooledSize(s.w, kernel: kernel, stride: stride, pad: padding, ceilMode: ceilMode)
        guard oh >= 1, ow >= 1 else { throw .shapeMismatch("maxpool input \(s) too small for a \(kernel)×\(kernel) window") }
        return Shape(s.c, oh, ow)
    }

    /// 2×2 windows two apart (VGG's pools): whole rows of windows go 16 at a time through `pairMax`.
    private var isPairwise: Bool { kernel == 2 && stride == 2 && padding == 0 }

    /// The maxima of 16 neighbouring 2×2 windows whose rows start at `r0` and `r1`, found in `argmax`'s order
    /// (so ties and NaNs resolve the same way), and which of the later three inputs took over the lead.
    @inline(__always)
    private static func pairMax(_ r0: UnsafePointer<Float>, _ r1: UnsafePointer<Float>)
        -> (best: F16, second: SIMDMask<SIMD16<Int32>>, third: SIMDMask<SIMD16<Int32>>, fourth: SIMDMask<SIMD16<Int32>>) {
        let top = UnsafeRawPointer(r0).loadUnaligned(as: SIMD32<Float>.self)
        let bottom = UnsafeRawPointer(r1).loadUnaligned(as: SIMD32<Float>.self)
        var best = top.evenHalf
        let second = top.oddHalf .> best
        best.replace(with: top.oddHalf, where: second)
        let third = bottom.evenHalf .> best
        best.replace(with: bottom.evenHalf, where: third)
        let fourth = bottom.oddHalf .> best
        best.replace(with: bottom.oddHalf, where: fourth)
        return (best, second, third, fourth)
    }

    /// Index (within the channel plane) of the first maximum of window (oy, ox), or -1 if empty.
    @inline(__always)
    private func argmax(_ x: UnsafePointer<Float>, _ s: Shape, _ oy: Int, _ ox: Int) -> Int {
        let y0 = oy * stride - padding, x0 = ox * stride - padding
        var best = -Float.infinity, idx = -1
        for y in Swift.max(0, y0)..<Swift.min(s.h, y0 + kernel) {
            for xx in Swift.max(0, x0)..<Swift.min(s.w, x0 + kernel) {
                let v = x[y * s.w + xx]
                if v > best || idx < 0 { best = v; idx = y * s.w + xx }
            }
        }
        return idx
    }

    public func forward(_ inputs: [Tensor], options o: EngineOptions) -> Tensor {
        let x = inputs[0]
        let os = checkedOutputShape([x.shape])
        var out = Tensor(uninitialized: os)  // every output is written below
        let pairs = isPairwise
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                let xb = xp.baseAddress!, ob = op.baseAddress!
                parallelFor(os.c, minPerThread: 4, threads: o.threads) { c in
                    let xc = xb + c * x.shape.plane, oc = ob + c * os.plane
                    for oy in 0..<os.h {
                        var ox = 0
                        if pairs && 2 * oy + 1 < x.shape.h {
                            let r0 = xc + 2 * oy * x.shape.w, r1 = r0 + x.shape.w, orow = oc + oy * os.w
                            while ox + 16 <= x.shape.w / 2 {
                                store16(Self.pairMax(r0 + 2 * ox, r1 + 2 * ox).best, orow + ox)
                                ox += 16
                            }
                        }
                        while ox < os.w {
                            let i = argmax(xc, x.shape, oy, ox)
                            oc[oy * os.w + ox] = i >= 0 ? xc[i] : 0
                            ox += 1
                        }
                    }
                }
            }
        }
        return out
    }

    public func backward(_ inputs: [Tensor], output: Tensor, gradOutput: consuming Tensor, options o: EngineOptions) -> [Tensor] {
        let x = inputs[0], os = output.shape
        let pairs = isPairwise
        // The 2×2 path writes the inputs of its whole blocks of windows; the rest is zeroed first (below).
        var gin = pairs ? Tensor(uninitialized: x.shape) : Tensor(zeros: x.shape)
        let pairRows = pairs ? Swift.min(os.h, x.shape.h / 2) : 0, blockColumns = 32 * (x.shape.w / 32)
        x.data.withUnsafeBufferPointer { xp in
            gin.data.withUnsafeMutableBufferPointer { gp in
                gradOutput.data.withUnsafeBufferPointer { gop in
                    let xb = xp.baseAddress!, gb = gp.baseAddress!, gob = gop.baseAddress!
                    parallelFor(os.c, minPerThread: 4, threads: o.threads) { c in
                        let xc = xb + c * x.shape.plane, gc = gb + c * x.shape.plane, goc = gob + c * os.plane
                        if pairs {
                            for y in 0..<x.shape.h {
                                let from = y < 2 * pairRows ? blockColumns : 0
                                (gc + y * x.shape.w + from).update(repeating: 0, count: x.shape.w - from)
                            }
                        }
                        for oy in 0..<os.h {
                            var ox = 0
                            if pairs && 2 * oy + 1 < x.shape.h {
                                // Windows do not overlap, so each input gets its window's gradient or nothing.
                                let r0 = xc + 2 * oy * x.shape.w, r1 = r0 + x.shape.w
                                let g0 = gc + 2 * oy * x.shape.w, g1 = g0 + x.shape.w
                                let zero = F16(repeating: 0)
                                while ox + 16 <= x.shape.w / 2 {
                                    let m = Self.pairMax(r0 + 2 * ox, r1 + 2 * ox)
                                    let g = load16(goc + oy * os.w + ox)
                                    let (w1, w2, w3) = (m.second .& .!m.third .& .!m.fourth, m.third .& .!m.fourth, m.fourth)
                                    let w0 = .!(m.second .| m.third .| m.fourth)
                                    let top = interleave(zero.replacing(with: g, where: w0),
                                                         zero.replacing(with: g, where: w1))
                                    let bottom = interleave(zero.replacing(with: g, where: w2),
                                                            zero.replacing(with: g, where: w3))
                                    store16(top.0, g0 + 2 * ox); store16(top.1, g0 + 2 * ox + 16)
                                    store16(bottom.0, g1 + 2 * ox); store16(bottom.1, g1 + 2 * ox + 16)
                                    ox += 16
                                }
                            }
                            while ox < os.w {
                                let i = argmax(xc, x.shape, oy, ox)
                                if i >= 0 { gc[i] += goc[oy * os.w + ox] }
                                ox += 1
                            }
                        }
                    }
                }
            }
        }
        return [gin]
    }
}

/// Average pooling; `global` averages each channel to 1×1.
public struct AvgPool2D: Layer {
    public let kernel: Int, stride: Int, padding: Int, ceilMode: Bool, countIncludePad: Bool, global: Bool
    public init(kernel: Int, stride: Int, padding: Int = 0, ceilMode: Bool = false, countIncludePad: Bool = true) {
        self.kernel = kernel; self.stride = stride; self.padding = padding
        self.ceilMode = ceilMode; self.countIncludePad = countIncludePad; self.global = false
    }
    private init(global: Bool) {
        kernel = 0; stride = 1; padding = 0; ceilMode = false; countIncludePad = true; self.global = global
    }
    public static let global = AvgPool2D(global: true)
    public var kind: String { global ? "globalavgpool" : "avgpool" }

    public func outputShape(_ inputs: [Shape]) throws(EngineError) -> Shape {
        guard inputs.count == 1 else { throw .shapeMismatch("avgpool takes one input") }
        let s = inputs[0]
        if global { return Shape(s.c, 1, 1) }
        let oh = pooledSize(s.h, kernel: kernel, stride: stride, pad: padding, ceilMode: ceilMode)
        let ow = pooledSize(s.w, kernel: kernel, stride: stride, pad: padding, ceilMode: ceilMode)
        guard oh >= 1, ow >= 1 else { throw .shapeMismatch("avgpool input \(s) too small for a \(kernel)×\(kernel) window") }
        return Shape(s.c, oh, ow)
    }

    /// Window bounds and divisor for output (oy, ox).
    @inline(__always)
    private func window(_ s: Shape, _ oy: Int, _ ox: Int) -> (Range<Int>, Range<Int>, Float) {
        if global { return (0..<s.h, 0..<s.w, Float(s.plane)) }
        let y0 = oy * stride - padding, x0 = ox * stride - padding
        let y1 = Swift.min(y0 + kernel, s.h + padding), x1 = Swift.min(x0 + kernel, s.w + padding)
        let ys = Swift.max(0, y0)..<Swift.min(s.h, y1), xs = Swift.max(0, x0)..<Swift.min(s.w, x1)
        let n = countIncludePad ? (y1 - y0) * (x1 - x0) : ys.count * xs.count
        return (ys, xs, Float(Swift.max(n, 1)))
    }

    public func forward(_ inputs: [Tensor], options o: EngineOptions) -> Tensor {
        let x = inputs[0]
        let os = checkedOutputShape([x.shape])
        var out = Tensor(zeros: os)
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                let xb = xp.baseAddress!, ob = op.baseAddress!
                parallelFor(os.c, minPerThread: 4, threads: o.threads) { c in
                    let xc = xb + c * x.shape.plane
                    for oy in 0..<os.h {
                        for ox in 0..<os.w {
                            let (ys, xs, n) = window(x.shape, oy, ox)
                            var s: Float = 0
                            for y in ys { for xx in xs { s += xc[y * x.shape.w + xx] } }
                            ob[c * os.plane + oy * os.w + ox] = s / n
                        }
                    }
                }
            }
        }
        return out
    }

    public func backward(_ inputs: [Tensor], output: Tensor, gradOutput: consuming Tensor, options o: EngineOptions) -> [Tensor] {
        let xs0 = inputs[0].shape, os = output.shape
        var gin = Tensor(zeros: xs0)
        gin.data.withUnsafeMutableBufferPointer { gp in
            gradOutput.data.withUnsafeBufferPointer { gop in
                let gb = gp.baseAddress!, gob = gop.baseAddress!
                parallelFor(os.c, minPerThread: 4, threads: o.threads) { c in
                    let gc = gb + c * xs0.plane
                    for oy in 0..<os.h {
                        for ox in 0..<os.w {
                            let (ys, xs, n) = window(xs0, oy, ox)
                            let v = gob[c * os.plane + oy * os.w + ox] / n
                            for y in ys { for xx in xs { gc[y * xs0.w + xx] += v } }
                        }
                    }
                }
            }
        }
        return [gin]
    }
}
