/// 2-D convolution with stride, padding (explicit or TensorFlow "SAME"), dilation and groups.
/// An activation can be fused onto the output.
///
/// Shapes: input Cin×H×W, weight Cout×(Cin/groups)×KH×KW, bias Cout, output Cout×Ho×Wo.
/// Paths: 1×1 stride-1 unpadded convolutions are one GEMM; depthwise convolutions
/// (groups = Cin = Cout) are direct loops parallel over channels; everything else is
/// im2col (in bands of output rows, so the column buffer stays bounded) + `cblas_sgemm`.
public struct Conv2D: Layer {
    public enum Padding: Sendable, Equatable {
        /// Fixed padding (top, left, bottom, right).
        case explicit(top: Int, left: Int, bottom: Int, right: Int)
        /// TensorFlow "SAME": output = ceil(input / stride), the odd pixel of padding at the bottom/right.
        case same
        public static func symmetric(_ p: Int) -> Padding { .explicit(top: p, left: p, bottom: p, right: p) }
    }

    public let inChannels: Int
    public let outChannels: Int
    public let kernel: (h: Int, w: Int)
    public let stride: (h: Int, w: Int)
    public let dilation: (h: Int, w: Int)
    public let groups: Int
    public let padding: Padding
    public var activation: Activation
    /// Cout × (Cin/groups) × KH × KW
    public let weight: [Float]
    /// Cout
    public let bias: [Float]
    /// Wᵀ (Cin·KH·KW × Cout) for the backward pass of 1×1 convolutions and of the panel path (`usesPanels`).
    let weightTransposed: [Float]?
    /// Transformed kernels when the Winograd F(4×4, 3×3) path applies (3×3, stride 1, pad 1, no groups).
    let winograd: Winograd3x3?

    public var kind: String { isDepthwise ? "dwconv" : "conv" }

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Padding = .symmetric(0),
                dilation: Int = 1, groups: Int = 1, activation: Activation = .none,
                weight: [Float], bias: [Float]? = nil, prepareFastPaths: Bool = true) throws(EngineError) {
        try self.init(inChannels: inChannels, outChannels: outChannels, kernel: (kernel, kernel), stride: (stride, stride),
                      padding: padding, dilation: (dilation, dilation), groups: groups, activation: activation,
                      weight: weight, bias: bias, prepareFastPaths: prepareFastPaths)
    }

    public init(inChannels: Int, outChannels: Int, kernel: (Int, Int), stride: (Int, Int), padding: Padding,
                dilation: (Int, Int), groups: Int, activation: Activation,
                weight: [Float], bias: [Float]?, prepareFastPaths: Bool = true) throws(EngineError) {
        guard groups >= 1, inChannels % groups == 0, outChannels % groups == 0 else {
            throw .invalidArgument("conv: channels \(inChannels)→\(outChannels) not divisible by groups \(groups)")
        }
        guard kernel.0 >= 1, kernel.1 >= 1, stride.0 >= 1, stride.1 >= 1, dilation.0 >= 1, dilation.1 >= 1 else {
            throw .invalidArgument("conv: kernel, stride and dilation must be positive")
        }
        let expected = outChannels * (inChannels / groups) * kernel.0 * kernel.1
        guard weight.count == expected else {
            throw .badWeights("conv weight has \(weight.count) values, expected \(expected) (\(outChannels)×\(inChannels / groups)×\(kernel.0)×\(kernel.1))")
        }
        if let bias, bias.count != outChannels {
            throw .badWeights("conv bias has \(bias.count) values, expected \(outChannels)")
        }
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = (kernel.0, kernel.1); self.stride = (stride.0, stride.1); self.dilation = (dilation.0, dilation.1)
        self.groups = groups; self.padding = padding; self.activation = activation
        self.weight = weight; self.bias = bias ?? [Float](repeating: 0, count: outChannels)
        let padOne = padding == .symmetric(1) || (padding == .same && stride == (1, 1))
        if prepareFastPaths && kernel == (3, 3) && stride == (1, 1) && dilation == (1, 1) && groups == 1 && padOne && inChannels >= 8 && outChannels >= 8 {
            winograd = Winograd3x3(weight: weight, inChannels: inChannels, outChannels: outChannels)
        } else {
            winograd = nil
        }
        // Wᵀ (K × M) for the backward of the 1×1 kernel and of the panel path (`usesPanels`).
        let k = inChannels * kernel.0 * kernel.1
        let pointwise = kernel == (1, 1) && stride == (1, 1) && groups == 1 && padding == .symmetric(0)
        let panels = groups == 1 && winograd == nil && k <= Conv2D.panelMaxInputs
        if prepareFastPaths && (pointwise || panels) {
            var t = [Float](repeating: 0, count: weight.count)
            for o in 0..<outChannels { for i in 0..<k { t[i * outChannels + o] = weight[o * k + i] } }
            weightTransposed = t
        } else {
            weightTransposed = nil
        }
    }

    /// The Winograd kernels, if this convolution uses them with `o`.
    func activeWinograd(_ o: EngineOptions) -> Winograd3x3? { o.winograd ? winograd : nil }

    var isDepthwise: Bool { groups > 1 && groups == inChannels && groups == outChannels }
    var isPointwise: Bool {
        groups == 1 && kernel == (1, 1) && stride == (1, 1) && padding == .symmetric(0)
    }

    /// Resolved padding (top, left, bottom, right) for an input of size h×w.
    public func pads(h: Int, w: Int) -> (top: Int, left: Int, bottom: Int, right: Int) {
        switch padding {
        case .explicit(let t, let l, let b, let r): return (t, l, b, r)
        case .same:
            func same(_ n: Int, _ k: Int, _ s: Int, _ d: Int) -> (Int, Int) {
                let out = (n + s - 1) / s
                let total = Swift.max((out - 1) * s + (k - 1) * d + 1 - n, 0)
                return (total / 2, total - total / 2)
            }
            let (t, b) = same(h, kernel.h, stride.h, dilation.h)
            let (l, r) = same(w, kernel.w, stride.w, dilation.w)
            return (t, l, b, r)
        }
    }

    public func outputShape(_ inputs: [Shape]) throws(EngineError) -> Shape {
        guard inputs.count == 1 else { throw .shapeMismatch("conv takes one input, got \(inputs.count)") }
        let s = inputs[0]
        guard s.c == inChannels else { throw .shapeMismatch("conv expects \(inChannels) channels, got \(s.c)") }
        let p = pads(h: s.h, w: s.w)
        let oh = (s.h + p.top + p.bottom - dilation.h * (kernel.h - 1) - 1) / stride.h + 1
        let ow = (s.w + p.left + p.right - dilation.w * (kernel.w - 1) - 1) / stride.w + 1
        guard oh >= 1, ow >= 1 else { throw .shapeMismatch("conv input \(s) too small for kernel \(kernel.h)×\(kernel.w)") }
        return Shape(outChannels, oh, ow)
    }

    public func macs(_ inputs: [Shape]) -> Int {
        guard let o = try? outputShape(inputs) else { return 0 }
        return o.count * (inChannels / groups) * kernel.h * kernel.w
    }

    // MARK: forward

    public func forward(_ inputs: [Tensor], options o: EngineOptions) -> Tensor {
        let x = inputs[0]
        let os = checkedOutputShape([x.shape])
        // Only the depthwise path accumulates into its output; the others overwrite every element.
        let paddedDepthwiseForward = isDepthwise && dilation == (1, 1) && stride.h == stride.w && stride.h <= 2
        var out = isDepthwise && !paddedDepthwiseForward ? Tensor(zeros: os) : Tensor(uninitialized: os)
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                if let wg = activeWinograd(o) {
                    wg.forwardU.withUnsafeBufferPointer { up in
                        bias.withUnsafeBufferPointer { bp in
                            Winograd3x3.convolve(xp.baseAddress!, inCh: inChannels, h: x.shape.h, w: x.shape.w,
                                                 u: up.baseAddress!, outCh: outChannels, out: op.baseAddress!,
                                                 epilogue: .init(bias: bp.baseAddress!, activation: activation), options: o)
                        }
                    }
                    return  // bias and activation are applied as the outputs are written
                } else if paddedDepthwiseForward {
                    depthwiseForwardPadded(xp.baseAddress!, x.shape, op.baseAddress!, os, o)
                    return  // bias and activation are applied channel by channel
                } else if isDepthwise {
                    depthwiseForward(xp.baseAddress!, x.shape, op.baseAddress!, os, o)
                } else if isPointwise && o.pointwiseKernel {
                    weight.withUnsafeBufferPointer { wp in
                        bias.withUnsafeBufferPointer { bp in
                            PointwiseKernel.forward(wp.baseAddress!, m: outChannels, k: inChannels, xp.baseAddress!, n: os.plane,
                                                    bias: bp.baseAddress!, activation: activation, op.baseAddress!, threads: o.threads, avx512: o.avx512)
                        }
                    }
                    return  // bias and activation are fused
                } else if isPointwise {
                    weight.withUnsafeBufferPointer { wp in
                        gemm(transA: false, m: outChannels, n: os.plane, k: inChannels,
                             wp.baseAddress!, lda: inChannels, xp.baseAddress!, ldb: os.plane, op.baseAddress!, ldc: os.plane, threads: o.threads)
                    }
                } else if usesPanels && o.pointwiseKernel {
                    panelForward(xp.baseAddress!, x.shape, op.baseAddress!, os, o)
                    return  // bias and activation are fused
                } else {
                    im2colForward(xp.baseAddress!, x.shape, op.baseAddress!, os, o)
                }
                let base = op.baseAddress!
                let plane = os.plane
                bias.withUnsafeBufferPointer { bp in
                    parallelFor(outChannels, minPerThread: 4, threads: o.threads) { c in
                        activation.applyWithBias(base + c * plane, plane, bias: bp[c])
                    }
                }
            }
        }
        return out
    }

    /// Output rows per im2col band, so the column buffer stays within `o.maxColumnFloats`.
    private func bandRows(k: Int, ow: Int, oh: Int, _ o: EngineOptions) -> Int {
        Swift.max(1, Swift.min(oh, o.maxColumnFloats / Swift.max(1, k * ow)))
    }

    private func im2colForward(_ x: UnsafePointer<Float>, _ xs: Shape, _ out: UnsafeMutablePointer<Float>, _ os: Shape, _ o: EngineOptions) {
        let cig = inChannels / groups, cog = outChannels / groups
        let k = cig * kernel.h * kernel.w
        let rows = bandRows(k: k, ow: os.w, oh: os.h, o)
        var col = [Float](repeating: 0, count: k * rows * os.w)
        let p = pads(h: xs.h, w: xs.w)
        col.withUnsafeMutableBufferPointer { cp in
            weight.withUnsafeBufferPointer { wp in
                for g in 0..<groups {
                    var y0 = 0
                    while y0 < os.h {
                        let n = Swift.min(rows, os.h - y0)
                        im2col(x + g * cig * xs.plane, channels: cig, xs, y0: y0, rows: n, ow: os.w, pads: p, col: cp.baseAddress!, o)
                        gemm(transA: false, m: cog, n: n * os.w, k: k,
                             wp.baseAddress! + g * cog * k, lda: k, cp.baseAddress!, ldb: n * os.w,
                             out + g * cog * os.plane + y0 * os.w, ldc: os.plane, threads: o.threads)
                        y0 += n
                    }
                }
            }
        }
    }

    /// Fills col[(c·KH·KW + ky·KW + kx) × (rows·Wo)] for output rows y0..<y0+rows.
    private func im2col(_ x: UnsafePointer<Float>, channels: Int, _ xs: Shape, y0: Int, rows: Int, ow: Int,
                        pads p: (top: Int, left: Int, bottom: Int, right: Int), col: UnsafeMutablePointer<Float>, _ o: EngineOptions) {
        let kh = kernel.h, kw = kernel.w, sh = stride.h, sw = stride.w, dh = dilation.h, dw = dilation.w
        let n = rows * ow
        let (lo, hi) = validRange(ow: ow, inW: xs.w, sw: sw, dw: dw, padLeft: p.left)
        parallelFor(channels, minPerThread: 2, threads: o.threads) { c in
            let xc = x + c * xs.plane
            for ky in 0..<kh {
                for kx in 0..<kw {
                    let row = col + ((c * kh + ky) * kw + kx) * n
                    let off = kx * dw - p.left
                    let xlo = lo[kx], xhi = hi[kx]
                    for r in 0..<rows {
                        let iy = (y0 + r) * sh - p.top + ky * dh
                        let dst = row + r * ow
                        if iy < 0 || iy >= xs.h {
                            dst.update(repeating: 0, count: ow)
                            continue
                        }
                        let src = xc + iy * xs.w
                        if xlo > 0 { dst.update(repeating: 0, count: xlo) }
                        if sw == 1 {
                            if xhi > xlo { dst.advanced(by: xlo).update(from: src + xlo + off, count: xhi - xlo) }
                        } else {
                            var ox = xlo
                            while ox < xhi { dst[ox] = src[ox * sw + off]; ox += 1 }
                        }
                        if xhi < ow { dst.advanced(by: Swift.max(xhi, xlo)).update(repeating: 0, count: ow - Swift.max(xhi, xlo)) }
                    }
                }
            }
        }
    }

    /// For each kx, the output columns [lo, hi) whose input column lies inside the image.
    private func validRange(ow: Int, inW: Int, sw: Int, dw: Int, padLeft: Int) -> ([Int], [Int]) {
        var lo = [Int](repeating: 0, count: kernel.w), hi = [Int](repeating: 0, count: kernel.w)
        for kx in 0..<kernel.w {
            let off = kx * dw - padLeft
            // ix = ox*sw + off in [0, inW)
            var l = 0
            while l < ow && l * sw + off < 0 { l += 1 }
            var h = l
            while h < ow && h * sw + off < inW { h += 1 }
            lo[kx] = l; hi[kx] = h
        }
        return (lo, hi)
    }

    private func depthwiseForward(_ x: UnsafePointer<Float>, _ xs: Shape, _ out: UnsafeMutablePointer<Float>, _ os: Shape, _ o: EngineOptions) {
        let kh = kernel.h, kw = kernel.w, sh = stride.h, sw = stride.w, dh = dilation.h, dw = dilation.w
        let p = pads(h: xs.h, w: xs.w)
        let (lo, hi) = validRange(ow: os.w, inW: xs.w, sw: sw, dw: dw, padLeft: p.left)
        weight.withUnsafeBufferPointer { wp in
            let wbase = wp.baseAddress!
            parallelFor(inChannels, minPerThread: 2, threads: o.threads) { c in
                let xc = x + c * xs.plane
                let oc = out + c * os.plane
                let wc = wbase + c * kh * kw
                for oy in 0..<os.h {
                    let orow = oc + oy * os.w
                    for ky in 0..<kh {
                        let iy = oy * sh - p.top + ky * dh
                        if iy < 0 || iy >= xs.h { continue }
                        let irow = xc + iy * xs.w
                        for kx in 0..<kw {
                            let wv = wc[ky * kw + kx]
                            let off = kx * dw - p.left
                            let l = lo[kx], h = hi[kx]
                            guard h > l else { continue }
                            if sw == 1 {
                                axpy(orow + l, irow + off + l, wv, h - l)
                            } else if sw == 2 {
                                axpyStride2(orow + l, irow + 2 * l + off, wv, h - l)
                            } else {
                                for ox in l..<h { orow[ox] += wv * irow[ox * sw + off] }
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: backward (input gradient only)

    public func backward(_ inputs: [Tensor], output: Tensor, gradOutput: consuming Tensor, options o: EngineOptions) -> [Tensor] {
        let xs = inputs[0].shape, os = output.shape
        var g = gradOutput
        // The padded depthwise path applies the activation's mask while it copies the gradient.
        let paddedDepthwiseBackward = isDepthwise && dilation == (1, 1) && (stride == (1, 1) || stride == (2, 2))
        let fusedPointwise = isPointwise && o.pointwiseKernel && weightTransposed != nil
        let panels = usesPanels && o.pointwiseKernel && activeWinograd(o) == nil
        // Winograd masks each input row as it loads it.
        if activation != .none && !paddedDepthwiseBackward && !fusedPointwise && !panels && activeWinograd(o) == nil {
            g.data.withUnsafeMutableBufferPointer { gp in
                output.data.withUnsafeBufferPointer { yp in
                    let gb = gp.baseAddress!, yb = yp.baseAddress!
                    parallelChunks(gp.count, minChunk: 1 << 14, threads: o.threads) { r in
                        activation.maskGradientFast(gb + r.lowerBound, output: yb + r.lowerBound, r.count)
                    }
                }
            }
        }
        var gin = activeWinograd(o) != nil || isPointwise || paddedDepthwiseBackward || panels ? Tensor(uninitialized: xs) : Tensor(zeros: xs)
        g.data.withUnsafeBufferPointer { gp in
            gin.data.withUnsafeMutableBufferPointer { ip in
                if let wg = activeWinograd(o) {
                    wg.backwardU.withUnsafeBufferPointer { up in
                        output.data.withUnsafeBufferPointer { yp in
                            Winograd3x3.convolve(gp.baseAddress!, inCh: outChannels, h: os.h, w: os.w,
                                                 u: up.baseAddress!, outCh: inChannels, out: ip.baseAddress!,
                                                 inputMask: .init(activation: activation, output: yp.baseAddress!), options: o)
                        }
                    }
                } else if fusedPointwise {
                    // gin = Wᵀ · (g ⊙ act'(y)), the mask applied while packing g.
                    weightTransposed!.withUnsafeBufferPointer { wp in
                        output.data.withUnsafeBufferPointer { yp in
                            PointwiseKernel.forward(wp.baseAddress!, m: inChannels, k: outChannels, gp.baseAddress!, n: os.plane,
                                                    bias: nil, activation: .none, ip.baseAddress!,
                                                    mask: activation == .none ? nil : (activation, yp.baseAddress!), threads: o.threads, avx512: o.avx512)
                        }
                    }
                } else if paddedDepthwiseBackward {
                    output.data.withUnsafeBufferPointer { yp in
                        if stride.h == 1 {
                            depthwiseBackwardPadded(gp.baseAddress!, os, ip.baseAddress!, xs, maskingWith: yp.baseAddress!, o)
                        } else {
                            depthwiseBackwardStride2(gp.baseAddress!, os, ip.baseAddress!, xs, maskingWith: yp.baseAddress!, o)
                        }
                    }
                } else if isDepthwise {
                    depthwiseBackward(gp.baseAddress!, os, ip.baseAddress!, xs, o)
                } else if isPointwise {
                    weight.withUnsafeBufferPointer { wp in
                        gemm(transA: true, m: inChannels, n: os.plane, k: outChannels,
                             wp.baseAddress!, lda: inChannels, gp.baseAddress!, ldb: os.plane, ip.baseAddress!, ldc: os.plane, threads: o.threads)
                    }
                } else if panels {
                    output.data.withUnsafeBufferPointer { yp in
                        panelBackward(gp.baseAddress!, os, ip.baseAddress!, xs, maskingWith: yp.baseAddress!, o)
                    }
                } else {
                    im2colBackward(gp.baseAddress!, os, ip.baseAddress!, xs, o)
                }
            }
        }
        return [gin]
    }

    private func im2colBackward(_ g: UnsafePointer<Float>, _ os: Shape, _ gin: UnsafeMutablePointer<Float>, _ xs: Shape, _ o: EngineOptions) {
        let cig = inChannels / groups, cog = outChannels / groups
        let k = cig * kernel.h * kernel.w
        let rows = bandRows(k: k, ow: os.w, oh: os.h, o)
        var col = [Float](repeating: 0, count: k * rows * os.w)
        let p = pads(h: xs.h, w: xs.w)
        col.withUnsafeMutableBufferPointer { cp in
            weight.withUnsafeBufferPointer { wp in
                for gi in 0..<groups {
                    var y0 = 0
                    while y0 < os.h {
                        let n = Swift.min(rows, os.h - y0)
                        // col[K × n] = Wgᵀ[K × cog] · g[cog × n]
                        gemm(transA: true, m: k, n: n * os.w, k: cog,
                             wp.baseAddress! + gi * cog * k, lda: k, g + gi * cog * os.plane + y0 * os.w, ldb: os.plane,
                             cp.baseAddress!, ldc: n * os.w, threads: o.threads)
                        col2im(cp.baseAddress!, channels: cig, xs, y0: y0, rows: n, ow: os.w, pads: p,
                               gin: gin + gi * cig * xs.plane, o)
                        y0 += n
                    }
                }
            }
        }
    }

    /// Accumulates col back into the input gradient (the adjoint of `im2col`).
    private func col2im(_ col: UnsafePointer<Float>, channels: Int, _ xs: Shape, y0: Int, rows: Int, ow: Int,
                        pads p: (top: Int, left: Int, bottom: Int, right: Int), gin: UnsafeMutablePointer<Float>, _ o: EngineOptions) {
        let kh = kernel.h, kw = kernel.w, sh = stride.h, sw = stride.w, dh = dilation.h, dw = dilation.w
        let n = rows * ow
        let (lo, hi) = validRange(ow: ow, inW: xs.w, sw: sw, dw: dw, padLeft: p.left)
        parallelFor(channels, minPerThread: 2, threads: o.threads) { c in
            let gc = gin + c * xs.plane
            for ky in 0..<kh {
                for kx in 0..<kw {
                    let row = col + ((c * kh + ky) * kw + kx) * n
                    let off = kx * dw - p.left
                    let xlo = lo[kx], xhi = Swift.max(lo[kx], hi[kx])
                    for r in 0..<rows {
                        let iy = (y0 + r) * sh - p.top + ky * dh
                        if iy < 0 || iy >= xs.h { continue }
                        let dst = gc + iy * xs.w
                        let src = row + r * ow
                        if sw == 1 {
                            if xhi > xlo { addInPlace(dst + off + xlo, src + xlo, xhi - xlo) }
                        } else {
                            for ox in xlo..<xhi { dst[ox * sw + off] += src[ox] }
                        }
                    }
                }
            }
        }
    }

    private func depthwiseBackward(_ g: UnsafePointer<Float>, _ os: Shape, _ gin: UnsafeMutablePointer<Float>, _ xs: Shape, _ o: EngineOptions) {
        let kh = kernel.h, kw = kernel.w, sh = stride.h, sw = stride.w, dh = dilation.h, dw = dilation.w
        let p = pads(h: xs.h, w: xs.w)
        let (lo, hi) = validRange(ow: os.w, inW: xs.w, sw: sw, dw: dw, padLeft: p.left)
        weight.withUnsafeBufferPointer { wp in
            let wbase = wp.baseAddress!
            parallelFor(inChannels, minPerThread: 2, threads: o.threads) { c in
                let gc = g + c * os.plane
                let ic = gin + c * xs.plane
                let wc = wbase + c * kh * kw
                if sw == 2 && dw == 1 {
                    // Stride 2: the scatter irow[2·ox + off] += w·g[ox] becomes contiguous adds into the
                    // even or odd columns (chosen by off's parity), kept in two half-width planes and
                    // interleaved into the gradient at the end.
                    let half = (xs.w + 1) / 2
                    let tmp = UnsafeMutablePointer<Float>.allocate(capacity: 2 * xs.h * half)
                    defer { tmp.deallocate() }
                    tmp.update(repeating: 0, count: 2 * xs.h * half)
                    for oy in 0..<os.h {
                        let grow = gc + oy * os.w
                        for ky in 0..<kh {
                            let iy = oy * sh - p.top + ky * dh
                            if iy < 0 || iy >= xs.h { continue }
                            for kx in 0..<kw {
                                let off = kx - p.left
                                let par = off & 1
                                let l = lo[kx], h = Swift.max(lo[kx], hi[kx])
                                guard h > l else { continue }
                                let dst = tmp + par * xs.h * half + iy * half + (off - par) / 2
                                axpy(dst + l, grow + l, wc[ky * kw + kx], h - l)
                            }
                        }
                    }
                    for iy in 0..<xs.h {
                        let ev = tmp + iy * half, od = tmp + xs.h * half + iy * half, row = ic + iy * xs.w
                        for q in 0..<(xs.w / 2) { row[2 * q] = ev[q]; row[2 * q + 1] = od[q] }
                        if xs.w % 2 == 1 { row[xs.w - 1] = ev[half - 1] }
                    }
                    return
                }
                for oy in 0..<os.h {
                    let grow = gc + oy * os.w
                    for ky in 0..<kh {
                        let iy = oy * sh - p.top + ky * dh
                        if iy < 0 || iy >= xs.h { continue }
                        let irow = ic + iy * xs.w
                        for kx in 0..<kw {
                            let wv = wc[ky * kw + kx]
                            let off = kx * dw - p.left
                            let l = lo[kx], h = Swift.max(lo[kx], hi[kx])
                            if sw == 1 {
                                if h > l { axpy(irow + off + l, grow + l, wv, h - l) }
                            } else {
                                for ox in l..<h { irow[ox * sw + off] += wv * grow[ox] }
                            }
                        }
                    }
                }
            }
        }
    }
}
