import Foundation

/// Rec. 601 full-range RGB ↔ YCbCr: the one colour transform of the project (luminance for flow and
/// measures, chroma for keeping colours, colour statistics for the zoom's renormalisation).
public enum Rec601 {
    /// The rows of RGB → YCbCr.
    public static let y: (r: Float, g: Float, b: Float) = (0.299, 0.587, 0.114)
    public static let cb: (r: Float, g: Float, b: Float) = (-0.168736, -0.331264, 0.5)
    public static let cr: (r: Float, g: Float, b: Float) = (0.5, -0.418688, -0.081312)
    /// YCbCr → RGB: r = y + crToR·cr, g = y + cbToG·cb + crToG·cr, b = y + cbToB·cb.
    public static let crToR: Float = 1.402, cbToG: Float = -0.344136, crToG: Float = -0.714136, cbToB: Float = 1.772

    @inline(__always) public static func luma(_ r: Float, _ g: Float, _ b: Float) -> Float { y.r * r + y.g * g + y.b * b }
    @inline(__always) public static func chromaB(_ r: Float, _ g: Float, _ b: Float) -> Float { cb.r * r + cb.g * g + cb.b * b }
    @inline(__always) public static func chromaR(_ r: Float, _ g: Float, _ b: Float) -> Float { cr.r * r + cr.g * g + cr.b * b }
    /// The matrix of RGB → YCbCr (rows Y, Cb, Cr) and of its inverse, in double precision.
    public static var forward: [[Double]] { [[y.r, y.g, y.b], [cb.r, cb.g, cb.b], [cr.r, cr.g, cr.b]].map { $0.map(Double.init) } }
    public static var inverse: [[Double]] { [[1, 0, Double(crToR)], [1, Double(cbToG), Double(crToG)], [1, Double(cbToB), 0]] }
}

extension ImageOps {
    /// Luminance (Rec. 601, full range) of an RGB 0–255 picture, as a 1×H×W tensor.
    public static func luminance(_ x: Tensor) -> Tensor {
        let s = x.shape
        precondition(s.c == 3)
        var y = Tensor(zeros: Shape(1, s.h, s.w))
        for i in 0..<s.plane { y.data[i] = Rec601.luma(x.data[i], x.data[s.plane + i], x.data[2 * s.plane + i]) }
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
            let y = Rec601.luma(x.data[i], x.data[p + i], x.data[2 * p + i])
            let r = reference.data[i], g = reference.data[p + i], b = reference.data[2 * p + i]
            let cb = Rec601.chromaB(r, g, b), cr = Rec601.chromaR(r, g, b)
            out.data[i] = y + Rec601.crToR * cr
            out.data[p + i] = y + Rec601.cbToG * cb + Rec601.crToG * cr
            out.data[2 * p + i] = y + Rec601.cbToB * cb
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
