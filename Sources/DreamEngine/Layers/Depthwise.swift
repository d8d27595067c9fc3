// Direct depthwise convolution with the whole window accumulated in registers.
//
// Each channel's input is first copied into a zero-padded plane, so the inner loop has no bounds
// checks: for 16 outputs at a time it sums all KH×KW taps in a SIMD16 accumulator and stores once.
// The input gradient of a stride-1 depthwise convolution is the same operation on the padded output
// gradient with the kernel rotated by 180°.

enum DepthwiseKernel {
    /// out (oh × ow) = Σ_{ky,kx} w[ky·kw + kx] · src[(oy·s + ky) · srcW + ox·s + kx], for s ∈ {1, 2}.
    /// `src` must be readable up to row (oh−1)·s + kh − 1 and column ⌈ow/16⌉·16·s + kw + 16.
    @inline(__always)
    static func run(_ src: UnsafePointer<Float>, srcW: Int, weights w: UnsafePointer<Float>, kh: Int, kw: Int, stride s: Int,
                    out: UnsafeMutablePointer<Float>, oh: Int, ow: Int, tail: UnsafeMutablePointer<Float>) {
        let taps = kh * kw
        for oy in 0..<oh {
            let orow = out + oy * ow
            var ox0 = 0
            while ox0 < ow {
                var acc = F16(repeating: 0)
                for ky in 0..<kh {
                    let r = src + (oy * s + ky) * srcW + ox0 * s
                    let wr = w + ky * kw
                    if s == 1 {
                        for kx in 0..<kw { acc = acc.addingProduct(F16(repeating: wr[kx]), load16(r + kx)) }
                    } else {
                        for kx in 0..<kw {
                            let pair = UnsafeRawPointer(r + kx).loadUnaligned(as: SIMD32<Float>.self)
                            acc = acc.addingProduct(F16(repeating: wr[kx]), pair.evenHalf)
                        }
                    }
                }
                if ox0 + 16 <= ow {
                    store16(acc, orow + ox0)
                } else {
                    store16(acc, tail)
                    for i in 0..<(ow - ox0) { orow[ox0 + i] = tail[i] }
                }
                ox0 += 16
            }
        }
        _ = taps
    }

    /// Copies an h×w plane into `dst` (rows of `dstW`, zero elsewhere) at offset (top, left).
    @inline(__always)
    static func pad(_ src: UnsafePointer<Float>, h: Int, w: Int, into dst: UnsafeMutablePointer<Float>, dstW: Int, dstH: Int,
                    top: Int, left: Int) {
        dst.update(repeating: 0, count: dstW * dstH)
        for y in 0..<h { (dst + (y + top) * dstW + left).update(from: src + y * w, count: w) }
    }
}

extension Conv2D {
    /// Depthwise forward for stride 1 or 2 without dilation, on padded planes.
    func depthwiseForwardPadded(_ x: UnsafePointer<Float>, _ xs: Shape, _ out: UnsafeMutablePointer<Float>, _ os: Shape, _ o: EngineOptions) {
        let kh = kernel.h, kw = kernel.w, s = stride.h
        let p = pads(h: xs.h, w: xs.w)
        let padW = ((os.w + 15) / 16) * 16 * s + kw + 32
        let padH = Swift.max((os.h - 1) * s + kh, p.top + xs.h) + 1
        weight.withUnsafeBufferPointer { wp in
            let wbase = wp.baseAddress!
            parallelFor(inChannels, minPerThread: 2, threads: o.threads) { c in
                let buf = UnsafeMutablePointer<Float>.allocate(capacity: padW * padH + 16)
                defer { buf.deallocate() }
                DepthwiseKernel.pad(x + c * xs.plane, h: xs.h, w: xs.w, into: buf, dstW: padW, dstH: padH, top: p.top, left: p.left)
                DepthwiseKernel.run(buf, srcW: padW, weights: wbase + c * kh * kw, kh: kh, kw: kw, stride: s,
                                    out: out + c * os.plane, oh: os.h, ow: os.w, tail: buf + padW * padH)
            }
        }
    }

    /// Depthwise input gradient for stride 1 without dilation: the rotated kernel over the padded gradient,
    /// which is multiplied by the fused activation's derivative (read off the forward output `y`) as it is copied.
    func depthwiseBackwardPadded(_ g: UnsafePointer<Float>, _ os: Shape, _ gin: UnsafeMutablePointer<Float>, _ xs: Shape,
                                 maskingWith y: UnsafePointer<Float>, _ o: EngineOptions) {
        let kh = kernel.h, kw = kernel.w
        let p = pads(h: xs.h, w: xs.w)
        let top = kh - 1 - p.top, left = kw - 1 - p.left
        let padW = ((xs.w + 15) / 16) * 16 + kw + 32
        let padH = Swift.max(xs.h + kh, top + os.h) + 1
        weight.withUnsafeBufferPointer { wp in
            let wbase = wp.baseAddress!
            parallelFor(inChannels, minPerThread: 2, threads: o.threads) { c in
                let buf = UnsafeMutablePointer<Float>.allocate(capacity: padW * padH + 16 + kh * kw)
                defer { buf.deallocate() }
                let rotated = buf + padW * padH + 16
                for i in 0..<(kh * kw) { rotated[i] = wbase[c * kh * kw + kh * kw - 1 - i] }
                DepthwiseKernel.pad(g + c * os.plane, h: os.h, w: os.w, into: buf, dstW: padW, dstH: padH, top: top, left: left)
                if activation != .none {
                    for r in 0..<os.h {
                        activation.maskGradientFast(buf + (r + top) * padW + left, output: y + c * os.plane + r * os.w, os.w)
                    }
                }
                DepthwiseKernel.run(buf, srcW: padW, weights: rotated, kh: kh, kw: kw, stride: 1,
                                    out: gin + c * xs.plane, oh: xs.h, ow: xs.w, tail: buf + padW * padH)
            }
        }
    }
}
