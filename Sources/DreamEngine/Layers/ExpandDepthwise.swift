// An inverted-residual block's 1×1 expansion and its depthwise convolution as one layer, computed in bands of rows.
//
// EfficientNet's early blocks widen a map six times (16 → 96 channels at a quarter of the picture's size) only to
// run a depthwise convolution over it: as two layers, the wide map is written to memory, read back by the
// depthwise convolution, and in the backward pass its gradient is written, read again and masked by the wide map
// read a third time. These maps are tens of megabytes at 720p (block 1's: 44 MB for a 640×720 tile). Here a band
// of the wide map is made from its rows of the input and used while it is in cache, and the backward pass makes
// each band again from the input (16–24 multiply-adds a value) instead of reading it. The wide map never goes to
// memory: block 1 went from 265 to 190 ms of a 720p zoom frame, and a step 3–6 % faster (docs/performance.md).
//
// Every value is summed in the same order as by the two layers (the 1×1 kernel's sums do not depend on the columns
// it is given, the depthwise kernel's do not depend on the rows), so the results are the same to the bit.

/// A 1×1 convolution (`expand`) followed by a depthwise convolution (`depthwise`, stride 1 or 2), as one layer.
public struct ExpandDepthwise: Layer {
    public let expand: Conv2D
    public let depthwise: Conv2D
    /// Floats per band of the wide map (forward), or of the wide map's band and its gradient's together (backward):
    /// 1 MiB, unless `minimumRows` asks for more; the tests make bands of a row.
    public var bandFloats = 1 << 18
    /// Rows per band at the least (output rows forward, rows of the wide map backward), however wide the map: a band's
    /// edge rows are made twice (forward) or their output gradient read twice (backward), and each band has its fixed
    /// costs (a 1280-px-wide picture in one tile made bands of one output row, and its step 33 % slower than without
    /// the bands; 4 rows against 8 and 16: block 1 of a 720p zoom frame 187 / 216 / 242 ms).
    public var minimumRows = 4

    public init(expand: Conv2D, depthwise: Conv2D) throws(EngineError) {
        // SAME padding: every output row's window meets the input (the bands rely on it).
        guard expand.isPointwise, depthwise.isDepthwise, depthwise.inChannels == expand.outChannels,
              depthwise.dilation == (1, 1), depthwise.stride == (1, 1) || depthwise.stride == (2, 2), depthwise.padding == .same else {
            throw .invalidArgument("ExpandDepthwise needs a 1×1 convolution followed by a depthwise one of stride 1 or 2 with SAME padding")
        }
        self.expand = expand
        self.depthwise = depthwise
    }

    public var kind: String { "expand+dwconv" }

    public func outputShape(_ inputs: [Shape]) throws(EngineError) -> Shape {
        try depthwise.outputShape([try expand.outputShape(inputs)])
    }

    public func macs(_ inputs: [Shape]) -> Int {
        guard let wide = try? expand.outputShape(inputs) else { return 0 }
        return expand.macs(inputs) + depthwise.macs([wide])
    }

    /// Whether the layer runs in bands. The banded kernels need the 1×1 kernel (with its transposed weights for the
    /// backward pass); without them (`--no-pointwise` in the bench) the two layers run one after the other.
    public func banded(_ o: EngineOptions) -> Bool { o.pointwiseKernel && expand.weightTransposed != nil }

    public func forward(_ inputs: [Tensor], options o: EngineOptions) -> Tensor {
        guard banded(o) else { return depthwise.forward([expand.forward(inputs, options: o)], options: o) }
        let x = inputs[0], xs = x.shape
        let zs = checkedOutputShape([xs])
        let mid = expand.outChannels, cin = expand.inChannels
        let h = xs.h, w = xs.w
        let k = depthwise.kernel.h, s = depthwise.stride.h
        let pt = depthwise.pads(h: h, w: w).top
        // Output rows per band: as many as keep the band of the wide map within `bandFloats` (at least `minimumRows`),
        // and at most a thread's share, so every thread has a band.
        let wideRows = Swift.max(k, bandFloats / Swift.max(1, mid * w))
        let share = (zs.h + o.threads - 1) / Swift.max(1, o.threads)
        let rows = Swift.max(1, Swift.min(share, Swift.max(minimumRows, (wideRows - k) / s + 1)))
        let bands = (zs.h + rows - 1) / rows
        let maxWide = (rows - 1) * s + k
        var z = Tensor(uninitialized: zs)
        x.data.withUnsafeBufferPointer { xp in
            z.data.withUnsafeMutableBufferPointer { zp in
                expand.weight.withUnsafeBufferPointer { ewp in
                    expand.bias.withUnsafeBufferPointer { ebp in
                        let xb = xp.baseAddress!, zb = zp.baseAddress!
                        parallelChunks(bands, minChunk: 1, threads: o.threads) { range in
                            let wide = UnsafeMutablePointer<Float>.allocate(capacity: mid * maxWide * w)
                            defer { wide.deallocate() }
                            for b in range {
                                let r0 = b * rows, r1 = Swift.min(zs.h, r0 + rows)
                                let y0 = Swift.max(0, r0 * s - pt), y1 = Swift.min(h, (r1 - 1) * s - pt + k)
                                let n = (y1 - y0) * w, top = pt + y0 - r0 * s
                                // A band reaching a row above its rows would write before the plane (heap corruption, not a wrong value).
                                precondition(y1 > y0 && top >= 0 && top <= pt, "ExpandDepthwise: band \(r0)..<\(r1) of \(zs.h)")
                                PointwiseKernel.forward(ewp.baseAddress!, m: mid, k: cin, xb + y0 * w, n: n, ldx: xs.plane,
                                                        bias: ebp.baseAddress!, activation: expand.activation, wide,
                                                        threads: 1, avx512: o.avx512)
                                depthwise.depthwiseForwardPadded(wide, Shape(mid, y1 - y0, w), zb + r0 * zs.w, Shape(mid, r1 - r0, zs.w), o,
                                                                 band: DepthwiseBand(padTop: top, inPlane: n, outPlane: zs.plane))
                            }
                        }
                    }
                }
            }
        }
        return z
    }

    public func backward(_ inputs: [Tensor], output: Tensor, gradOutput: consuming Tensor, options o: EngineOptions) -> [Tensor] {
        let g = gradOutput
        guard banded(o) else {
            let wide = expand.forward(inputs, options: o)
            let gw = depthwise.backward([wide], output: output, gradOutput: g, options: o)[0]
            return expand.backward(inputs, output: wide, gradOutput: gw, options: o)
        }
        let x = inputs[0], xs = x.shape, zs = output.shape
        let mid = expand.outChannels, cin = expand.inChannels
        let h = xs.h, w = xs.w
        let k = depthwise.kernel.h, s = depthwise.stride.h
        let pt = depthwise.pads(h: h, w: w).top
        // Rows of the wide map per band: its band and its gradient's together within `bandFloats` (at least
        // `minimumRows`), and at most a thread's share.
        let share = (h + o.threads - 1) / Swift.max(1, o.threads)
        let rows = Swift.max(1, Swift.min(share, Swift.max(minimumRows, bandFloats / Swift.max(1, 2 * mid * w))))
        let bands = (h + rows - 1) / rows
        var gin = Tensor(uninitialized: xs)
        x.data.withUnsafeBufferPointer { xp in
            gin.data.withUnsafeMutableBufferPointer { ip in
                g.data.withUnsafeBufferPointer { gp in
                    output.data.withUnsafeBufferPointer { zp in
                        expand.weight.withUnsafeBufferPointer { ewp in
                            expand.bias.withUnsafeBufferPointer { ebp in
                                expand.weightTransposed!.withUnsafeBufferPointer { etp in
                                    let xb = xp.baseAddress!, ib = ip.baseAddress!, gb = gp.baseAddress!, zb = zp.baseAddress!
                                    parallelChunks(bands, minChunk: 1, threads: o.threads) { range in
                                        let wide = UnsafeMutablePointer<Float>.allocate(capacity: 2 * mid * rows * w)
                                        defer { wide.deallocate() }
                                        let wideGrad = wide + mid * rows * w
                                        for b in range {
                                            let y0 = b * rows, y1 = Swift.min(h, y0 + rows)
                                            let n = (y1 - y0) * w
                                            // The wide map's band again, for its activation's mask.
                                            PointwiseKernel.forward(ewp.baseAddress!, m: mid, k: cin, xb + y0 * w, n: n, ldx: xs.plane,
                                                                    bias: ebp.baseAddress!, activation: expand.activation, wide,
                                                                    threads: 1, avx512: o.avx512)
                                            // The output rows whose windows reach rows y0 ..< y1: (r·s − pt) + (0 ..< k) meets them.
                                            // With SAME padding every row is reached by at least one output row.
                                            let r0 = Swift.max(0, ceilDiv(y0 + pt - k + 1, s)), r1 = Swift.min(zs.h, (y1 - 1 + pt) / s + 1)
                                            let band = DepthwiseBand(padTop: pt + y0 - r0 * s, inPlane: n, outPlane: zs.plane)
                                            precondition(r0 < r1 && band.padTop >= 0 && band.padTop <= k - 1, "ExpandDepthwise: gradient band \(y0)..<\(y1) of \(h)")
                                            let gs = Shape(mid, r1 - r0, zs.w), ws = Shape(mid, y1 - y0, w)
                                            if s == 1 {
                                                depthwise.depthwiseBackwardPadded(gb + r0 * zs.w, gs, wideGrad, ws, maskingWith: zb + r0 * zs.w, o, band: band)
                                            } else {
                                                depthwise.depthwiseBackwardStride2(gb + r0 * zs.w, gs, wideGrad, ws, maskingWith: zb + r0 * zs.w, o, band: band)
                                            }
                                            // gin = Wᵀ · (wide gradient ⊙ act'(wide)), written into the input gradient's rows.
                                            PointwiseKernel.forward(etp.baseAddress!, m: cin, k: mid, wideGrad, n: n, bias: nil, activation: .none,
                                                                    ib + y0 * w, ldc: xs.plane,
                                                                    mask: expand.activation == .none ? nil : (expand.activation, UnsafePointer(wide)),
                                                                    threads: 1, avx512: o.avx512)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return [gin]
    }
}

/// ⌈a / b⌉ for b > 0 and any a.
@inline(__always) private func ceilDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? (a + b - 1) / b : -((-a) / b) }
