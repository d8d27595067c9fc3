import Foundation

extension ImageOps {
    /// Luminance (Rec. 601, full range) of an RGB 0–255 picture, as a 1×H×W tensor.
    public static func luminance(_ x: Tensor) -> Tensor {
        let s = x.shape
        precondition(s.c == 3)
        var y = Tensor(zeros: Shape(1, s.h, s.w))
        for i in 0..<s.plane { y.data[i] = 0.299 * x.data[i] + 0.587 * x.data[s.plane + i] + 0.114 * x.data[2 * s.plane + i] }
        return y
    }

    /// The lightness of `x` with the chroma of `reference` (same size): converts both to YCbCr (Rec. 601,
    /// full range), keeps x's Y and the reference's Cb and Cr.
    public static func keepingChroma(_ x: Tensor, of reference: Tensor) -> Tensor {
        let s = x.shape
        precondition(s.c == 3 && reference.shape == s)
        var out = x
        let p = s.plane
        for i in 0..<p {
            let y = 0.299 * x.data[i] + 0.587 * x.data[p + i] + 0.114 * x.data[2 * p + i]
            let r = reference.data[i], g = reference.data[p + i], b = reference.data[2 * p + i]
            let cb = -0.168736 * r - 0.331264 * g + 0.5 * b
            let cr = 0.5 * r - 0.418688 * g - 0.081312 * b
            out.data[i] = y + 1.402 * cr
            out.data[p + i] = y - 0.344136 * cb - 0.714136 * cr
            out.data[2 * p + i] = y + 1.772 * cb
        }
        out.clamp(0, 255)
        return out
    }

    /// `x` with each channel's histogram matched to `reference`'s (any size): every value is mapped to the
    /// reference value at the same quantile.
    public static func matchingHistograms(_ x: Tensor, to reference: Tensor) -> Tensor {
        precondition(x.shape.c == reference.shape.c)
        var out = x
        let bins = 256
        for c in 0..<x.shape.c {
            func cdf(_ t: Tensor) -> [Double] {
                var h = [Double](repeating: 0, count: bins)
                let p = t.shape.plane
                for i in (c * p)..<((c + 1) * p) {
                    let v = t.data[i]
                    h[Swift.min(bins - 1, Swift.max(0, Int(v.isNaN ? 0 : v)))] += 1
                }
                var acc = 0.0
                return h.map { acc += $0; return acc / Double(p) }
            }
            let src = cdf(x), ref = cdf(reference)
            // For each source bin, the reference value whose cumulative share first reaches the source's.
            var map = [Float](repeating: 0, count: bins)
            var j = 0
            for b in 0..<bins {
                while j < bins - 1 && ref[j] < src[b] { j += 1 }
                let lo = j == 0 ? 0.0 : ref[j - 1]
                let frac = ref[j] > lo ? (src[b] - lo) / (ref[j] - lo) : 1
                map[b] = Float(j) + Float(Swift.min(1, Swift.max(0, frac))) - 0.5
            }
            let p = x.shape.plane
            for i in (c * p)..<((c + 1) * p) {
                let v = out.data[i]
                let b = Swift.min(bins - 1, Swift.max(0, Int(v.isNaN ? 0 : v)))
                out.data[i] = Swift.min(255, Swift.max(0, map[b]))
            }
        }
        return out
    }
}
