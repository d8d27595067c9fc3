import DreamEngine
import Foundation

/// Regularisation between the frames of a zoom (the seed's step 3, "regularise the image", applied to the
/// feedback loop): what each next start picture goes through before it is dreamed, so that a long zoom does
/// not settle into one texture or drift into neon.
struct ZoomFeedback {
    /// The seed's low frequencies (its composition) and colour statistics.
    let seedLow: Tensor
    let lowSigma: Float
    let seedStats: ColorStats

    init(seed: Tensor) {
        lowSigma = Float(max(seed.shape.h, seed.shape.w)) / 40
        seedLow = ImageOps.gaussianBlur(seed, sigma: lowSigma)
        seedStats = ColorStats(seed)
    }

    /// `damping`: remove that fraction of the finest detail (a 1-px blur's difference); `seedBlend`: move
    /// that fraction of the picture's low frequencies toward the seed's; `renormalize`: move that fraction of
    /// the way to the seed's lightness mean and contrast and its colourfulness.
    func apply(_ x: Tensor, damping: Float, seedBlend: Float, renormalize: Float) -> Tensor {
        var out = x
        if damping > 0 {
            var fine = out
            fine.subtract(ImageOps.gaussianBlur(out, sigma: 1))
            out.add(fine, scaledBy: -damping)
        }
        if seedBlend > 0 {
            var toward = seedLow
            toward.subtract(ImageOps.gaussianBlur(out, sigma: lowSigma))
            out.add(toward, scaledBy: seedBlend)
        }
        if renormalize > 0 {
            out = seedStats.imposed(on: out, amount: renormalize)
        }
        out.clamp(0, 255)
        return out
    }
}

/// Mean and spread of lightness and the mean colourfulness of a picture (YCbCr, Rec. 601).
struct ColorStats {
    var meanY = 0.0, stdY = 0.0, chroma = 0.0

    init(_ x: Tensor) {
        let p = x.shape.plane, d = x.data
        var s = 0.0, sq = 0.0, c = 0.0
        var start = 0
        while start < p {  // float sums over runs of 4096 pixels, added up in double precision
            let end = min(p, start + 4096)
            var fs: Float = 0, fsq: Float = 0, fc: Float = 0
            for i in start..<end {
                let r = d[i], g = d[p + i], b = d[2 * p + i]
                let y = Rec601.luma(r, g, b)
                let cb = Rec601.chromaB(r, g, b), cr = Rec601.chromaR(r, g, b)
                fs += y; fsq += y * y; fc += (cb * cb + cr * cr).squareRoot()
            }
            s += Double(fs); sq += Double(fsq); c += Double(fc)
            start = end
        }
        meanY = s / Double(p)
        stdY = max(0, sq / Double(p) - meanY * meanY).squareRoot()
        chroma = c / Double(p)
    }

    /// `x` moved `amount` of the way to these statistics: lightness mean and contrast, and colourfulness.
    /// The whole change is one affine colour map, out = M·rgb + t, applied per pixel.
    func imposed(on x: Tensor, amount: Float) -> Tensor {
        let now = ColorStats(x)
        let gain = now.stdY > 1e-3 ? stdY / now.stdY : 1
        let cgain = now.chroma > 1e-3 ? chroma / now.chroma : 1
        let w = Rec601.forward, back = Rec601.inverse
        let scale = [gain, cgain, cgain]
        let a = Double(amount)
        var m = [[Double]](repeating: [0, 0, 0], count: 3)
        for i in 0..<3 {
            for j in 0..<3 {
                var v = 0.0
                for k in 0..<3 { v += back[i][k] * scale[k] * w[k][j] }
                m[i][j] = a * v + (i == j ? 1 - a : 0)
            }
        }
        let t = Float(a * (meanY - gain * now.meanY))  // the Y offset; back maps (off, 0, 0) to (off, off, off)
        let m00 = Float(m[0][0]), m01 = Float(m[0][1]), m02 = Float(m[0][2])
        let m10 = Float(m[1][0]), m11 = Float(m[1][1]), m12 = Float(m[1][2])
        let m20 = Float(m[2][0]), m21 = Float(m[2][1]), m22 = Float(m[2][2])
        let p = x.shape.plane, d = x.data
        var o = [Float](repeating: 0, count: d.count)
        for i in 0..<p {
            let r = d[i], g = d[p + i], b = d[2 * p + i]
            o[i] = m00 * r + m01 * g + m02 * b + t
            o[p + i] = m10 * r + m11 * g + m12 * b + t
            o[2 * p + i] = m20 * r + m21 * g + m22 * b + t
        }
        return Tensor(shape: x.shape, data: o)
    }
}
