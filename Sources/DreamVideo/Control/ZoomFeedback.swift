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
        let p = x.shape.plane
        var s = 0.0, sq = 0.0, c = 0.0
        for i in 0..<p {
            let r = Double(x.data[i]), g = Double(x.data[p + i]), b = Double(x.data[2 * p + i])
            let y = 0.299 * r + 0.587 * g + 0.114 * b
            let cb = -0.168736 * r - 0.331264 * g + 0.5 * b, cr = 0.5 * r - 0.418688 * g - 0.081312 * b
            s += y; sq += y * y; c += (cb * cb + cr * cr).squareRoot()
        }
        meanY = s / Double(p)
        stdY = max(0, sq / Double(p) - meanY * meanY).squareRoot()
        chroma = c / Double(p)
    }

    /// `x` moved `amount` of the way to these statistics.
    func imposed(on x: Tensor, amount: Float) -> Tensor {
        let now = ColorStats(x)
        let gain = now.stdY > 1e-3 ? stdY / now.stdY : 1
        let cgain = now.chroma > 1e-3 ? chroma / now.chroma : 1
        let p = x.shape.plane
        var out = x
        let a = Double(amount)
        for i in 0..<p {
            let r = Double(x.data[i]), g = Double(x.data[p + i]), b = Double(x.data[2 * p + i])
            let y = 0.299 * r + 0.587 * g + 0.114 * b
            let cb = -0.168736 * r - 0.331264 * g + 0.5 * b, cr = 0.5 * r - 0.418688 * g - 0.081312 * b
            let y2 = meanY + (y - now.meanY) * gain, cb2 = cb * cgain, cr2 = cr * cgain
            let nr = y2 + 1.402 * cr2, ng = y2 - 0.344136 * cb2 - 0.714136 * cr2, nb = y2 + 1.772 * cb2
            out.data[i] = Float(r + a * (nr - r)); out.data[p + i] = Float(g + a * (ng - g)); out.data[2 * p + i] = Float(b + a * (nb - b))
        }
        return out
    }
}

/// Zoom feedback defaults per model, chosen by looking at 900-frame renders (see the README's "Long renders").
/// Without them a long efficientnet-lite0 zoom drifts to neon fur: saturation climbs to 0.77 and a fifth of the
/// pixels clip. Damping the finest detail and pulling a tenth of the way back to the seed's colours keep it
/// at the seed's colourfulness; with blocks.11 (deeper than the image default) and the Laplacian normalisation, animal faces and eyes keep
/// emerging instead of one texture of fur or spikes (blocks.10 settled into neon spikes for 600 frames).
struct ZoomFeedbackDefaults {
    var detailDamping: Double
    var seedBlend: Double
    var renormalize: Double
    var laplacian: Int
    static func `for`(_ model: String) -> ZoomFeedbackDefaults {
        switch model {
        case "efficientnet-lite0": ZoomFeedbackDefaults(detailDamping: 0.3, seedBlend: 0, renormalize: 0.1, laplacian: 4)
        // Colour and detail feedback are model-independent; the Laplacian pyramid was only tuned on efficientnet.
        default: ZoomFeedbackDefaults(detailDamping: 0.3, seedBlend: 0, renormalize: 0.1, laplacian: 0)
        }
    }
}
