// Winograd F(4×4, 3×3) for 3×3, stride-1, pad-1 convolutions (Lavin & Gray, 2015).
//
// Each 4×4 output tile needs a 6×6 input tile; in the transformed domain the convolution becomes 36
// independent matrix products M[ξ] = U[ξ] · V[ξ] (ξ = one of the 6×6 frequencies), with
//   U[ξ] (K × C)  = G g Gᵀ          the kernels, transformed once when the layer is built,
//   V[ξ] (C × T)  = Bᵀ d B          the input tiles,
//   Y             = Aᵀ m A          back to 4×4 output tiles.
// That is 36 multiplies per 16 outputs instead of 144: a quarter of the direct method's arithmetic.
// The input gradient of such a convolution is the same kind of convolution with the kernels rotated by
// 180° and input/output channels swapped, so backward reuses the same code with its own U.
//
// Dimension legend: C input channels, K output channels, H×W image, T tiles (⌈H/4⌉·⌈W/4⌉), ξ 0..<36.

/// The precomputed transformed kernels of one 3×3 convolution, for forward and input-gradient use.
struct Winograd3x3: Sendable {
    let c: Int, k: Int
    /// [36][K][C]
    let forwardU: [Float]
    /// [36][C][K] — kernels rotated 180°, channels swapped.
    let backwardU: [Float]

    /// `weight` is K × C × 3 × 3.
    init(weight: [Float], inChannels c: Int, outChannels k: Int) {
        self.c = c; self.k = k
        forwardU = Winograd3x3.transformKernels(weight, outer: k, inner: c) { o, i, y, x in weight[((o * c + i) * 3 + y) * 3 + x] }
        backwardU = Winograd3x3.transformKernels(weight, outer: c, inner: k) { o, i, y, x in
            // kernel'[ci][co][y][x] = kernel[co][ci][2−y][2−x]
            weight[((i * c + o) * 3 + (2 - y)) * 3 + (2 - x)]
        }
    }

    /// U[ξ][o][i] = (G g Gᵀ)[ξ] for g = kernel(o, i).
    private static func transformKernels(_ w: [Float], outer: Int, inner: Int,
                                         _ g: (Int, Int, Int, Int) -> Float) -> [Float] {
        var u = [Float](repeating: 0, count: 36 * outer * inner)
        let plane = outer * inner
        for o in 0..<outer {
            for i in 0..<inner {
                // G (6×3) applied to the columns, then to the rows.
                var t = [[Float]](repeating: [0, 0, 0], count: 6)  // G · g  (6×3)
                for x in 0..<3 {
                    let g0 = g(o, i, 0, x), g1 = g(o, i, 1, x), g2 = g(o, i, 2, x)
                    let col = gTransform(g0, g1, g2)
                    for r in 0..<6 { t[r][x] = col[r] }
                }
                for r in 0..<6 {
                    let row = gTransform(t[r][0], t[r][1], t[r][2])
                    for s in 0..<6 { u[(r * 6 + s) * plane + o * inner + i] = row[s] }
                }
            }
        }
        return u
    }

    private static func gTransform(_ g0: Float, _ g1: Float, _ g2: Float) -> [Float] {
        [g0 / 4,
         -(g0 + g1 + g2) / 6,
         -(g0 - g1 + g2) / 6,
         g0 / 24 + g1 / 12 + g2 / 6,
         g0 / 24 - g1 / 12 + g2 / 6,
         g2]
    }

    /// out (outCh × H × W) = conv3x3(x (inCh × H × W)) with padding 1 using kernels `u` ([36][outCh][inCh]).
    ///
    /// Layers with few channels (the first blocks of VGG16, at full and half resolution) go block by block: each
    /// thread transforms a run of tiles of one tile row, multiplies and transforms back while the run's V and M
    /// (36 · (C + K) floats a tile) are still in its L2 cache; their transforms, not the products, would otherwise
    /// be most of the time, spent writing V and M to memory and reading them back. Layers with many channels have
    /// few tiles and big kernels (U): there the products dominate, and they run over whole bands of tile rows.
    ///
    /// `epilogue` adds a bias per output channel and applies an activation to each output while it is in cache (the
    /// forward pass); `inputMask` multiplies the input by the derivative of an activation read off its output, as each
    /// input row is loaded (the backward pass: g ⊙ act'(y)).
    static func convolve(_ x: UnsafePointer<Float>, inCh: Int, h: Int, w: Int,
                         u: UnsafePointer<Float>, outCh: Int, out: UnsafeMutablePointer<Float>,
                         epilogue: Epilogue = Epilogue(), inputMask: InputMask? = nil, options o: EngineOptions) {
        let tx = (w + 3) / 4, ty = (h + 3) / 4
        let runFloats = o.winogradBlockFloats / (36 * (inCh + outCh))
        if runFloats >= minimumRun {
            convolveInRuns(x, inCh: inCh, h: h, w: w, u: u, outCh: outCh, out: out, epilogue: epilogue, inputMask: inputMask,
                           run: Swift.min(runFloats / 16 * 16, tx), threads: o.threads)
            return
        }
        let perRow = 36 * (inCh + outCh) * tx
        let rowsPerChunk = Swift.max(1, Swift.min(ty, o.winogradScratchFloats / Swift.max(1, perRow)))
        // Every element of V and M is written before it is read.
        let vb = UnsafeMutablePointer<Float>.allocate(capacity: 36 * inCh * tx * rowsPerChunk)
        let mb = UnsafeMutablePointer<Float>.allocate(capacity: 36 * outCh * tx * rowsPerChunk)
        defer { vb.deallocate(); mb.deallocate() }
        var row0 = 0
        while row0 < ty {
            let rows = Swift.min(rowsPerChunk, ty - row0)
            let n = rows * tx
            parallelFor(inCh, minPerThread: 2, threads: o.threads) { c in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: inputScratch(tx))
                defer { scratch.deallocate() }
                for r in 0..<rows {
                    inputTiles(x + c * h * w, h: h, w: w, tileRow: row0 + r, tileCol0: 0, count: tx,
                               v: vb + c * n + r * tx, xiStride: inCh * n, mask: inputMask?.plane(c, h * w),
                               scratch: scratch)
                }
            }
            // 36 independent GEMMs, spread over the cores (each single-threaded).
            parallelFor(36, threads: o.threads) { xi in
                cblasGemm(m: outCh, n: n, k: inCh, u + xi * outCh * inCh, lda: inCh,
                          vb + xi * inCh * n, ldb: n, mb + xi * outCh * n, ldc: n)
            }
            parallelFor(outCh, minPerThread: 2, threads: o.threads) { k in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: outputScratch(tx))
                defer { scratch.deallocate() }
                for r in 0..<rows {
                    outputTiles(mb + k * n + r * tx, xiStride: outCh * n, h: h, w: w, tileRow: row0 + r, tileCol0: 0,
                                count: tx, out: out + k * h * w, epilogue.channel(k), scratch: scratch)
                }
            }
            row0 += rows
        }
    }

    /// Bias per output channel and activation, applied as the outputs are written.
    struct Epilogue {
        var bias: UnsafePointer<Float>? = nil
        var activation: Activation = .none
        func channel(_ k: Int) -> (bias: Float, activation: Activation) { (bias?[k] ?? 0, activation) }
    }

    /// The activation whose derivative masks the input, and its output (the same shape as the input).
    struct InputMask {
        let activation: Activation
        let output: UnsafePointer<Float>
        func plane(_ c: Int, _ size: Int) -> (Activation, UnsafePointer<Float>)? {
            activation == .none ? nil : (activation, output + c * size)
        }
    }

    /// The fewest tiles a run may have: below this the products get too narrow to run at speed.
    static let minimumRun = 32

    /// `convolve` a run of up to `run` tiles at a time, each run from input to output on one thread.
    private static func convolveInRuns(_ x: UnsafePointer<Float>, inCh: Int, h: Int, w: Int, u: UnsafePointer<Float>,
                                       outCh: Int, out: UnsafeMutablePointer<Float>, epilogue: Epilogue, inputMask: InputMask?,
                                       run: Int, threads: Int) {
        let tx = (w + 3) / 4, ty = (h + 3) / 4
        let runsPerRow = (tx + run - 1) / run
        parallelChunks(ty * runsPerRow, minChunk: 1, threads: threads) { runs in
            let v = UnsafeMutablePointer<Float>.allocate(capacity: 36 * inCh * run)
            let m = UnsafeMutablePointer<Float>.allocate(capacity: 36 * outCh * run)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(inputScratch(run), outputScratch(run)))
            defer { v.deallocate(); m.deallocate(); scratch.deallocate() }
            for r in runs {
                let tileRow = r / runsPerRow, tileCol0 = (r % runsPerRow) * run
                let n = Swift.min(run, tx - tileCol0)
                for c in 0..<inCh {
                    inputTiles(x + c * h * w, h: h, w: w, tileRow: tileRow, tileCol0: tileCol0, count: n,
                               v: v + c * n, xiStride: inCh * n, mask: inputMask?.plane(c, h * w), scratch: scratch)
                }
                for xi in 0..<36 {
                    cblasGemm(m: outCh, n: n, k: inCh, u + xi * outCh * inCh, lda: inCh,
                              v + xi * inCh * n, ldb: n, m + xi * outCh * n, ldc: n)
                }
                for k in 0..<outCh {
                    outputTiles(m + k * n, xiStride: outCh * n, h: h, w: w, tileRow: tileRow, tileCol0: tileCol0,
                                count: n, out: out + k * h * w, epilogue.channel(k), scratch: scratch)
                }
            }
        }
    }

    static func inputScratch(_ count: Int) -> Int { 6 * (4 * count + 4) + 36 * count }
    static func outputScratch(_ count: Int) -> Int { 24 * count + 16 }

    /// V[ξ][j] = (Bᵀ d B)[ξ] for the 6×6 input tiles j = (tileRow, tileCol0 + j), j < count, of one channel plane
    /// `xc` (zero outside the image), written to v[ξ · xiStride + j].
    @inline(__always)
    private static func inputTiles(_ xc: UnsafePointer<Float>, h: Int, w: Int, tileRow: Int, tileCol0: Int, count: Int,
                                   v: UnsafeMutablePointer<Float>, xiStride: Int, mask: (Activation, UnsafePointer<Float>)?,
                                   scratch: UnsafeMutablePointer<Float>) {
        // Scratch: 6 padded input rows (two spare zeros at the end, read by the last whole block), and the
        // row-transformed values hr[a][b][t].
        let paddedW = 4 * count + 4
        let rowsBuf = scratch, hr = scratch + 6 * paddedW
        // Padded rows y = 4·tileRow − 1 + a, a = 0..<6; column j of the buffer is x = 4·tileCol0 − 1 + j.
        let x0 = 4 * tileCol0 - 1
        let lo = Swift.max(0, x0), hi = Swift.min(w, x0 + paddedW)
        for a in 0..<6 {
            let y = 4 * tileRow - 1 + a
            let dst = rowsBuf + a * paddedW
            if y >= 0 && y < h && lo < hi {
                if lo > x0 { dst.update(repeating: 0, count: lo - x0) }
                (dst + (lo - x0)).update(from: xc + y * w + lo, count: hi - lo)
                if let (activation, yc) = mask { activation.maskGradientFast(dst + (lo - x0), output: yc + y * w + lo, hi - lo) }
                if x0 + paddedW > hi { (dst + (hi - x0)).update(repeating: 0, count: x0 + paddedW - hi) }
            } else {
                dst.update(repeating: 0, count: paddedW)
            }
        }
        // Row transform (d · B) for each of the 6 rows and each tile: hr[a][b][t], 16 tiles at a time from the
        // row's values de-interleaved by four.
        let two = F16(repeating: 2), four = F16(repeating: 4), five = F16(repeating: 5)
        for a in 0..<6 {
            let src = rowsBuf + a * paddedW
            let base = hr + a * 6 * count
            var t = 0
            while t + 16 <= count {
                let (d0, d1, d2, d3) = deinterleave4(src + 4 * t)
                let (d4, d5, _, _) = deinterleave4(src + 4 * t + 4)
                store16(four * d0 - five * d2 + d4, base + t)
                store16(-four * d1 - four * d2 + d3 + d4, base + count + t)
                store16(four * d1 - four * d2 - d3 + d4, base + 2 * count + t)
                store16(-two * d1 - d2 + two * d3 + d4, base + 3 * count + t)
                store16(two * d1 - d2 - two * d3 + d4, base + 4 * count + t)
                store16(four * d1 - five * d3 + d5, base + 5 * count + t)
                t += 16
            }
            while t < count {
                let d = src + 4 * t
                let d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3], d4 = d[4], d5 = d[5]
                base[t] = 4 * d0 - 5 * d2 + d4
                base[count + t] = -4 * d1 - 4 * d2 + d3 + d4
                base[2 * count + t] = 4 * d1 - 4 * d2 - d3 + d4
                base[3 * count + t] = -2 * d1 - d2 + 2 * d3 + d4
                base[4 * count + t] = 2 * d1 - d2 - 2 * d3 + d4
                base[5 * count + t] = 4 * d1 - 5 * d3 + d5
                t += 1
            }
        }
        // Column transform (Bᵀ ·) across the 6 rows, vectorised over tiles.
        for b in 0..<6 {
            func row(_ a: Int) -> UnsafePointer<Float> { UnsafePointer(hr + a * 6 * count + b * count) }
            let h0 = row(0), h1 = row(1), h2 = row(2), h3 = row(3), h4 = row(4), h5 = row(5)
            let o0 = v + (0 * 6 + b) * xiStride, o1 = v + (1 * 6 + b) * xiStride, o2 = v + (2 * 6 + b) * xiStride
            let o3 = v + (3 * 6 + b) * xiStride, o4 = v + (4 * 6 + b) * xiStride, o5 = v + (5 * 6 + b) * xiStride
            var t = 0
            while t + 16 <= count {
                let a0 = load16(h0 + t), a1 = load16(h1 + t), a2 = load16(h2 + t)
                let a3 = load16(h3 + t), a4 = load16(h4 + t), a5 = load16(h5 + t)
                store16(four * a0 - five * a2 + a4, o0 + t)
                store16(-four * a1 - four * a2 + a3 + a4, o1 + t)
                store16(four * a1 - four * a2 - a3 + a4, o2 + t)
                store16(-two * a1 - a2 + two * a3 + a4, o3 + t)
                store16(two * a1 - a2 - two * a3 + a4, o4 + t)
                store16(four * a1 - five * a3 + a5, o5 + t)
                t += 16
            }
            while t < count {
                let a0 = h0[t], a1 = h1[t], a2 = h2[t], a3 = h3[t], a4 = h4[t], a5 = h5[t]
                o0[t] = 4 * a0 - 5 * a2 + a4
                o1[t] = -4 * a1 - 4 * a2 + a3 + a4
                o2[t] = 4 * a1 - 4 * a2 - a3 + a4
                o3[t] = -2 * a1 - a2 + 2 * a3 + a4
                o4[t] = 2 * a1 - a2 - 2 * a3 + a4
                o5[t] = 4 * a1 - 5 * a3 + a5
                t += 1
            }
        }
    }

    /// Output tiles (tileRow, tileCol0 + j), j < count, of one output channel: Aᵀ m A for m[ξ] = m[ξ · xiStride + j],
    /// cropped to the image and written to the channel plane `ok`.
    @inline(__always)
    private static func outputTiles(_ m: UnsafePointer<Float>, xiStride: Int, h: Int, w: Int, tileRow: Int, tileCol0: Int,
                                    count: Int, out ok: UnsafeMutablePointer<Float>, _ epilogue: (bias: Float, activation: Activation),
                                    scratch zr: UnsafeMutablePointer<Float>) {
        // zr[r][b][t] = (Aᵀ m)[r][b] for each tile.
        for b in 0..<6 {
            func row(_ a: Int) -> UnsafePointer<Float> { m + (a * 6 + b) * xiStride }
            let m0 = row(0), m1 = row(1), m2 = row(2), m3 = row(3), m4 = row(4), m5 = row(5)
            let z0 = zr + (0 * 6 + b) * count, z1 = zr + (1 * 6 + b) * count, z2 = zr + (2 * 6 + b) * count
            let z3 = zr + (3 * 6 + b) * count
            var t = 0
            let two = F16(repeating: 2), four = F16(repeating: 4), eight = F16(repeating: 8)
            while t + 16 <= count {
                let a0 = load16(m0 + t), a1 = load16(m1 + t), a2 = load16(m2 + t)
                let a3 = load16(m3 + t), a4 = load16(m4 + t), a5 = load16(m5 + t)
                let s12 = a1 + a2, d12 = a1 - a2, s34 = a3 + a4, d34 = a3 - a4
                store16(a0 + s12 + s34, z0 + t)
                store16(d12 + two * d34, z1 + t)
                store16(s12 + four * s34, z2 + t)
                store16(d12 + eight * d34 + a5, z3 + t)
                t += 16
            }
            while t < count {
                let a0 = m0[t], a1 = m1[t], a2 = m2[t], a3 = m3[t], a4 = m4[t], a5 = m5[t]
                let s12 = a1 + a2, d12 = a1 - a2, s34 = a3 + a4, d34 = a3 - a4
                z0[t] = a0 + s12 + s34
                z1[t] = d12 + 2 * d34
                z2[t] = s12 + 4 * s34
                z3[t] = d12 + 8 * d34 + a5
                t += 1
            }
        }
        let y0 = 4 * tileRow
        let wholeBlocks = Swift.max(0, Swift.min(count, w / 4 - tileCol0)) / 16  // blocks of 16 tiles inside the image
        for rr in 0..<4 {
            let y = y0 + rr
            if y >= h { break }
            let orow = ok + y * w
            let zb = zr + rr * 6 * count
            // Then · A across each row of 6: four outputs a tile, 16 tiles at a time interleaved back into the row.
            let two = F16(repeating: 2), four = F16(repeating: 4), eight = F16(repeating: 8)
            for blk in 0..<wholeBlocks {
                let t = 16 * blk
                let a0 = load16(zb + t), a1 = load16(zb + count + t), a2 = load16(zb + 2 * count + t)
                let a3 = load16(zb + 3 * count + t), a4 = load16(zb + 4 * count + t), a5 = load16(zb + 5 * count + t)
                let s12 = a1 + a2, d12 = a1 - a2, s34 = a3 + a4, d34 = a3 - a4
                interleave4(epilogue.activation.apply(a0 + s12 + s34, bias: epilogue.bias),
                            epilogue.activation.apply(d12 + two * d34, bias: epilogue.bias),
                            epilogue.activation.apply(s12 + four * s34, bias: epilogue.bias),
                            epilogue.activation.apply(d12 + eight * d34 + a5, bias: epilogue.bias),
                            to: orow + 4 * (tileCol0 + t))
            }
            for t in (16 * wholeBlocks)..<count {
                let a0 = zb[t], a1 = zb[count + t], a2 = zb[2 * count + t], a3 = zb[3 * count + t]
                let a4 = zb[4 * count + t], a5 = zb[5 * count + t]
                let s12 = a1 + a2, d12 = a1 - a2, s34 = a3 + a4, d34 = a3 - a4
                let x0 = 4 * (tileCol0 + t)
                let (b, act) = epilogue
                let vals = (act.apply(a0 + s12 + s34, bias: b), act.apply(d12 + 2 * d34, bias: b),
                            act.apply(s12 + 4 * s34, bias: b), act.apply(d12 + 8 * d34 + a5, bias: b))
                if x0 + 4 <= w {
                    orow[x0] = vals.0
                    orow[x0 + 1] = vals.1
                    orow[x0 + 2] = vals.2
                    orow[x0 + 3] = vals.3
                } else {
                    if x0 < w { orow[x0] = vals.0 }
                    if x0 + 1 < w { orow[x0 + 1] = vals.1 }
                    if x0 + 2 < w { orow[x0 + 2] = vals.2 }
                }
            }
        }
    }
}

/// x[4t], x[4t + 1], x[4t + 2], x[4t + 3] for t < 16: 64 floats de-interleaved by four.
@inline(__always)
private func deinterleave4(_ p: UnsafePointer<Float>) -> (F16, F16, F16, F16) {
    let a = load16(p), b = load16(p + 16), c = load16(p + 32), d = load16(p + 48)
    @inline(__always) func lane(_ i: Int) -> F16 {
        F16(a[i], a[i + 4], a[i + 8], a[i + 12], b[i], b[i + 4], b[i + 8], b[i + 12],
            c[i], c[i + 4], c[i + 8], c[i + 12], d[i], d[i + 4], d[i + 8], d[i + 12])
    }
    return (lane(0), lane(1), lane(2), lane(3))
}

/// Stores p[4t + i] = v_i[t] for t < 16: four vectors interleaved into 64 floats.
@inline(__always)
private func interleave4(_ v0: F16, _ v1: F16, _ v2: F16, _ v3: F16, to p: UnsafeMutablePointer<Float>) {
    let (a0, a1) = interleave(v0, v2), (b0, b1) = interleave(v1, v3)
    let (c0, c1) = interleave(a0, b0), (c2, c3) = interleave(a1, b1)
    store16(c0, p); store16(c1, p + 16); store16(c2, p + 32); store16(c3, p + 48)
}
