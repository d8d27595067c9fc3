import DreamKernels512

// Direct depthwise convolution with the whole window accumulated in registers.
//
// Each channel's input is first copied into a zero-padded plane, so the inner loop has no bounds
// checks: for 32 (then 16) outputs at a time it sums all KH×KW taps in SIMD16 accumulators and stores
// once. The 3×3 and 5×5 windows are compiled with their sizes known, so the taps are unrolled and the
// weights stay in registers. For stride 2 the padded plane is stored de-interleaved — each row's even
// columns, then its odd columns — so every tap is a contiguous load instead of a load and a shuffle.
// With AVX-512 the same kernel runs in 512-bit registers (Sources/DreamKernels512/DepthwisePanel.swift).
// Each thread keeps one padded plane for all its channels: its margins are zeroed once and only the
// interior is written per channel.
// The input gradient of a stride-1 depthwise convolution is the same operation on the padded output
// gradient with the kernel rotated by 180°.

/// The geometry of one padded plane: rows of `width` floats; for stride 2 each row holds its even columns
/// at 0 ..< half and its odd columns at half ..< 2·half.
struct PaddedPlane {
    let width: Int, height: Int, half: Int, stride: Int
    let top: Int, left: Int

    /// A plane for a convolution with `kh`×`kw` taps and `stride` producing `oh`×`ow` from `h`×`w` placed at (top, left).
    init(h: Int, w: Int, oh: Int, ow: Int, kh: Int, kw: Int, stride: Int, top: Int, left: Int) {
        let vecW = ((ow + 15) / 16) * 16  // outputs computed, tails included
        self.stride = stride; self.top = top; self.left = left
        height = Swift.max((oh - 1) * stride + kh, top + h) + 1
        if stride == 1 {
            half = 0
            width = Swift.max(vecW + kw, left + w) + 16
        } else {
            half = Swift.max(vecW + (kw + 1) / 2, (left + w + 1) / 2) + 16
            width = 2 * half
        }
    }

    var count: Int { width * height }
}

enum DepthwiseKernel {
    /// out (oh × ow) = Σ_{ky,kx} w[ky·kw + kx] · padded[oy·s + ky][ox·s + kx], for s ∈ {1, 2}, over a plane laid
    /// out as `plane` says. `tail` holds 16 floats.
    @inline(__always)
    static func run(_ src: UnsafePointer<Float>, _ plane: PaddedPlane, weights w: UnsafePointer<Float>, kh: Int, kw: Int,
                    out: UnsafeMutablePointer<Float>, oh: Int, ow: Int, tail: UnsafeMutablePointer<Float>) {
        let s = plane.stride, srcW = plane.width, half = plane.half
        // Where tap (ky, kx) of output column 0 starts, relative to its row.
        @inline(__always) func column(_ kx: Int) -> Int { s == 1 ? kx : (kx & 1) * half + (kx >> 1) }
        for oy in 0..<oh {
            let orow = out + oy * ow
            let rows = src + oy * s * srcW
            var ox0 = 0
            while ox0 + 32 <= ow {
                var a0 = F16(repeating: 0), a1 = F16(repeating: 0)
                for ky in 0..<kh {
                    let r = rows + ky * srcW + ox0
                    for kx in 0..<kw {
                        let wv = F16(repeating: w[ky * kw + kx]), p = r + column(kx)
                        a0 = a0.addingProduct(wv, load16(p)); a1 = a1.addingProduct(wv, load16(p + 16))
                    }
                }
                store16(a0, orow + ox0); store16(a1, orow + ox0 + 16)
                ox0 += 32
            }
            while ox0 < ow {
                var acc = F16(repeating: 0)
                for ky in 0..<kh {
                    let r = rows + ky * srcW + ox0
                    for kx in 0..<kw { acc = acc.addingProduct(F16(repeating: w[ky * kw + kx]), load16(r + column(kx))) }
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
    }

    /// `run` with the common window sizes compiled for their size; with `avx512` (and a CPU that has it), the same
    /// kernel in 512-bit registers (`Depthwise512`, bit-identical results).
    static func convolve(_ src: UnsafePointer<Float>, _ plane: PaddedPlane, weights w: UnsafePointer<Float>, kh: Int, kw: Int,
                         out: UnsafeMutablePointer<Float>, oh: Int, ow: Int, tail: UnsafeMutablePointer<Float>, avx512: Bool) {
        if avx512 && CPUFeatures.avx512 {
            Depthwise512.convolve(src, width: plane.width, half: plane.half, stride: plane.stride, weights: w, kh: kh, kw: kw,
                                  out: out, oh: oh, ow: ow, tail: tail)
            return
        }
        switch (kh, kw, plane.stride) {
        case (3, 3, 1): run(src, plane, weights: w, kh: 3, kw: 3, out: out, oh: oh, ow: ow, tail: tail)
        case (3, 3, 2): run(src, plane, weights: w, kh: 3, kw: 3, out: out, oh: oh, ow: ow, tail: tail)
        case (5, 5, 1): run(src, plane, weights: w, kh: 5, kw: 5, out: out, oh: oh, ow: ow, tail: tail)
        case (5, 5, 2): run(src, plane, weights: w, kh: 5, kw: 5, out: out, oh: oh, ow: ow, tail: tail)
        // The stride-2 input gradient's sub-windows (see `depthwiseBackwardStride2`).
        case (1, 1, 1): run(src, plane, weights: w, kh: 1, kw: 1, out: out, oh: oh, ow: ow, tail: tail)
        case (1, 2, 1): run(src, plane, weights: w, kh: 1, kw: 2, out: out, oh: oh, ow: ow, tail: tail)
        case (2, 1, 1): run(src, plane, weights: w, kh: 2, kw: 1, out: out, oh: oh, ow: ow, tail: tail)
        case (2, 2, 1): run(src, plane, weights: w, kh: 2, kw: 2, out: out, oh: oh, ow: ow, tail: tail)
        case (2, 3, 1): run(src, plane, weights: w, kh: 2, kw: 3, out: out, oh: oh, ow: ow, tail: tail)
        case (3, 2, 1): run(src, plane, weights: w, kh: 3, kw: 2, out: out, oh: oh, ow: ow, tail: tail)
        default: run(src, plane, weights: w, kh: kh, kw: kw, out: out, oh: oh, ow: ow, tail: tail)
        }
    }

    /// Copies an h×w plane into the interior of a padded plane whose margins are already zero.
    @inline(__always)
    static func fill(_ src: UnsafePointer<Float>, h: Int, w: Int, into dst: UnsafeMutablePointer<Float>, _ plane: PaddedPlane) {
        let left = plane.left
        for y in 0..<h {
            let row = dst + (y + plane.top) * plane.width, s = src + y * w
            if plane.stride == 1 {
                (row + left).update(from: s, count: w)
                continue
            }
            // Column j = left + x goes to its parity's half at j / 2.
            let even = row, odd = row + plane.half
            let firstEven = left & 1 == 0  // is x = 0 an even column?
            var x = 0
            while x + 32 <= w {
                let v = UnsafeRawPointer(s + x).loadUnaligned(as: SIMD32<Float>.self)
                let j = (left + x) >> 1
                if firstEven {
                    store16(v.evenHalf, even + j); store16(v.oddHalf, odd + j)
                } else {
                    store16(v.evenHalf, odd + j); store16(v.oddHalf, even + j + 1)
                }
                x += 32
            }
            while x < w {
                let j = left + x
                (j & 1 == 0 ? even : odd)[j >> 1] = s[x]
                x += 1
            }
        }
    }
}

/// A band of rows of a depthwise convolution, computed as a convolution of its own on one thread (`ExpandDepthwise`):
/// `padTop` rows of zeros above its first input row (the convolution's own top padding less the rows the band starts
/// below it, never negative), its input-side maps (input, or input gradient) `inPlane` floats from channel to channel
/// and its output-side maps (output, or output gradient and output) `outPlane`.
struct DepthwiseBand {
    var padTop: Int
    var inPlane: Int
    var outPlane: Int
}

extension Conv2D {
    /// Depthwise forward for stride 1 or 2 without dilation, on padded planes (the whole map, or a `band` of it).
    func depthwiseForwardPadded(_ x: UnsafePointer<Float>, _ xs: Shape, _ out: UnsafeMutablePointer<Float>, _ os: Shape, _ o: EngineOptions,
                                band: DepthwiseBand? = nil) {
        let kh = kernel.h, kw = kernel.w
        let p = pads(h: xs.h, w: xs.w)
        let inPlane = band?.inPlane ?? xs.plane, outPlane = band?.outPlane ?? os.plane
        let plane = PaddedPlane(h: xs.h, w: xs.w, oh: os.h, ow: os.w, kh: kh, kw: kw, stride: stride.h, top: band?.padTop ?? p.top, left: p.left)
        weight.withUnsafeBufferPointer { wp in
            bias.withUnsafeBufferPointer { bp in
                let wbase = wp.baseAddress!, bbase = bp.baseAddress!
                parallelChunks(inChannels, minChunk: 2, threads: band == nil ? o.threads : 1) { channels in
                    let buf = UnsafeMutablePointer<Float>.allocate(capacity: plane.count + 16)
                    defer { buf.deallocate() }
                    buf.update(repeating: 0, count: plane.count)
                    for c in channels {
                        DepthwiseKernel.fill(x + c * inPlane, h: xs.h, w: xs.w, into: buf, plane)
                        DepthwiseKernel.convolve(buf, plane, weights: wbase + c * kh * kw, kh: kh, kw: kw,
                                                 out: out + c * outPlane, oh: os.h, ow: os.w, tail: buf + plane.count, avx512: o.avx512)
                        // Bias and activation while the channel's output is still in cache (a separate pass over all
                        // channels read every depthwise output back from memory: 2 % of a 720p zoom's samples).
                        activation.applyWithBias(out + c * outPlane, os.plane, bias: bbase[c])
                    }
                }
            }
        }
    }

    /// Depthwise input gradient for stride 1 without dilation: the rotated kernel over the padded gradient,
    /// which is multiplied by the fused activation's derivative (read off the forward output `y`) as it is copied.
    func depthwiseBackwardPadded(_ g: UnsafePointer<Float>, _ os: Shape, _ gin: UnsafeMutablePointer<Float>, _ xs: Shape,
                                 maskingWith y: UnsafePointer<Float>, _ o: EngineOptions, band: DepthwiseBand? = nil) {
        let kh = kernel.h, kw = kernel.w
        let p = pads(h: xs.h, w: xs.w)
        let inPlane = band?.inPlane ?? xs.plane, outPlane = band?.outPlane ?? os.plane
        let plane = PaddedPlane(h: os.h, w: os.w, oh: xs.h, ow: xs.w, kh: kh, kw: kw, stride: 1,
                                top: kh - 1 - (band?.padTop ?? p.top), left: kw - 1 - p.left)
        weight.withUnsafeBufferPointer { wp in
            let wbase = wp.baseAddress!
            parallelChunks(inChannels, minChunk: 2, threads: band == nil ? o.threads : 1) { channels in
                let buf = UnsafeMutablePointer<Float>.allocate(capacity: plane.count + 16 + kh * kw)
                defer { buf.deallocate() }
                buf.update(repeating: 0, count: plane.count)
                let rotated = buf + plane.count + 16
                for c in channels {
                    for i in 0..<(kh * kw) { rotated[i] = wbase[c * kh * kw + kh * kw - 1 - i] }
                    DepthwiseKernel.fill(g + c * outPlane, h: os.h, w: os.w, into: buf, plane)
                    if activation != .none {
                        for r in 0..<os.h {
                            activation.maskGradientFast(buf + (r + plane.top) * plane.width + plane.left, output: y + c * outPlane + r * os.w, os.w)
                        }
                    }
                    DepthwiseKernel.convolve(buf, plane, weights: rotated, kh: kh, kw: kw,
                                             out: gin + c * inPlane, oh: xs.h, ow: xs.w, tail: buf + plane.count, avx512: o.avx512)
                }
            }
        }
    }

    /// Depthwise input gradient for stride 2 without dilation. Padded input position (r, c) receives
    /// Σ w[ky, kx] · g[(r − ky) / 2, (c − kx) / 2] over the taps with ky ≡ r and kx ≡ c (mod 2), so each of the four
    /// parity classes of (r, c) is a stride-1 correlation of the (masked, padded) output gradient with a sub-window
    /// of the rotated kernel: the four are computed as planes of half the size and interleaved into the gradient.
    func depthwiseBackwardStride2(_ g: UnsafePointer<Float>, _ os: Shape, _ gin: UnsafeMutablePointer<Float>, _ xs: Shape,
                                  maskingWith y: UnsafePointer<Float>, _ o: EngineOptions, band: DepthwiseBand? = nil) {
        let kh = kernel.h, kw = kernel.w
        let p = pads(h: xs.h, w: xs.w)
        let top = band?.padTop ?? p.top, left = p.left
        let inPlane = band?.inPlane ?? xs.plane, outPlane = band?.outPlane ?? os.plane
        // Taps of each parity: M[py] rows, N[px] columns; the gradient plane is padded by the largest less one.
        let rowsOf = [(kh + 1) / 2, kh / 2], colsOf = [(kw + 1) / 2, kw / 2]
        let pt = rowsOf[0] - 1, pl = colsOf[0] - 1
        let classH = (xs.h - 1 + top) / 2 + 1, classW = (xs.w - 1 + left) / 2 + 1  // R, C = r / 2, c / 2 from 0
        let plane = PaddedPlane(h: os.h, w: os.w, oh: classH, ow: classW, kh: pt + 1, kw: pl + 1, stride: 1, top: pt, left: pl)
        let classCount = classH * classW
        weight.withUnsafeBufferPointer { wp in
            let wbase = wp.baseAddress!
            parallelChunks(inChannels, minChunk: 2, threads: band == nil ? o.threads : 1) { channels in
                let buf = UnsafeMutablePointer<Float>.allocate(capacity: plane.count + 16 + 4 * classCount + kh * kw)
                defer { buf.deallocate() }
                buf.update(repeating: 0, count: plane.count)
                let classes = buf + plane.count + 16, sub = classes + 4 * classCount
                for c in channels {
                    DepthwiseKernel.fill(g + c * outPlane, h: os.h, w: os.w, into: buf, plane)
                    if activation != .none {
                        for r in 0..<os.h {
                            activation.maskGradientFast(buf + (r + plane.top) * plane.width + plane.left, output: y + c * outPlane + r * os.w, os.w)
                        }
                    }
                    let wc = wbase + c * kh * kw
                    for py in 0..<2 {
                        for px in 0..<2 {
                            let m = rowsOf[py], n = colsOf[px]
                            guard m > 0, n > 0 else {
                                (classes + (2 * py + px) * classCount).update(repeating: 0, count: classCount)
                                continue
                            }
                            // v[a][b] = w[py + 2(m−1−a)][px + 2(n−1−b)], read at g[R − (m−1) + a][C − (n−1) + b].
                            for a in 0..<m {
                                for b in 0..<n { sub[a * n + b] = wc[(py + 2 * (m - 1 - a)) * kw + px + 2 * (n - 1 - b)] }
                            }
                            let start = buf + (pt - (m - 1)) * plane.width + pl - (n - 1)
                            DepthwiseKernel.convolve(start, plane, weights: sub, kh: m, kw: n,
                                                     out: classes + (2 * py + px) * classCount, oh: classH, ow: classW, tail: buf + plane.count, avx512: o.avx512)
                        }
                    }
                    // gin[iy][ix] is class (r & 1, c & 1) at (r / 2, c / 2), r = iy + top, c = ix + left.
                    for iy in 0..<xs.h {
                        let r = iy + top
                        let e = classes + (2 * (r & 1)) * classCount + (r >> 1) * classW
                        let od = e + classCount
                        let row = gin + c * inPlane + iy * xs.w
                        var ix = 0
                        if left & 1 == 1 { row[0] = od[left >> 1]; ix = 1 }
                        let ev = e + ((ix + left) >> 1), ov = od + ((ix + left) >> 1), dst = row + ix
                        let pairs = (xs.w - ix) / 2
                        var q = 0
                        while q + 16 <= pairs {
                            let (lo, hi) = interleave(load16(ev + q), load16(ov + q))
                            store16(lo, dst + 2 * q); store16(hi, dst + 2 * q + 16)
                            q += 16
                        }
                        while q < pairs { dst[2 * q] = ev[q]; dst[2 * q + 1] = ov[q]; q += 1 }
                        if ix + 2 * pairs < xs.w { dst[2 * pairs] = ev[pairs] }
                    }
                }
            }
        }
    }
}
