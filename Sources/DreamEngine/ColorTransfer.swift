import Foundation

/// Moves a picture's colours onto a reference's: their joint distribution, not each channel on its own
/// (matching R, G and B separately keeps each channel's spread but not which colours go together, so a
/// palette drifts). First a linear map that matches the mean and covariance with the least change of
/// colour (the Monge–Kantorovich solution between Gaussians), then sliced optimal transport: along a fixed
/// set of directions in RGB, the picture's distribution is matched to the reference's quantile by quantile.
/// Built once per reference; `apply` costs a few passes over the picture.
public struct ColorTransfer: Sendable {
    let mean: SIMD3<Double>
    let covariance: Matrix3
    /// Directions of the sliced matching (orthonormal triples) and the reference's quantiles along each.
    let axes: [SIMD3<Double>]
    let quantiles: [[Float]]
    public let iterations: Int
    static let quantileCount = 256

    /// `iterations` rounds of sliced matching (three directions each) after the linear map.
    public init(reference: Tensor, iterations: Int = 3) {
        precondition(reference.shape.c == 3)
        let (m, c) = ColorTransfer.moments(reference)
        mean = m; covariance = c
        self.iterations = iterations
        var axes: [SIMD3<Double>] = []
        for k in 0..<iterations { axes += ColorTransfer.basis(k) }
        self.axes = axes
        quantiles = axes.map { ColorTransfer.quantiles(of: reference, along: $0) }
    }

    /// The reference's colour spread: the root mean square of its channels' standard deviations (levels).
    /// Near 0 the reference is one flat colour, which has no distribution to move a dream onto.
    public var spread: Double { ((covariance[0, 0] + covariance[1, 1] + covariance[2, 2]) / 3).squareRoot() }

    /// `x` with the reference's colours.
    public func apply(_ x: Tensor) -> Tensor {
        precondition(x.shape.c == 3)
        let p = x.shape.plane
        // The linear map: A = Σx^(−1/2) (Σx^(1/2) Σr Σx^(1/2))^(1/2) Σx^(−1/2), out = μr + A (x − μx).
        let (mx, cx) = ColorTransfer.moments(x)
        let cxs = cx.power(0.5), cxi = cx.power(-0.5)
        let a = cxi * (cxs * covariance * cxs).power(0.5) * cxi
        var out = x
        out.data.withUnsafeMutableBufferPointer { o in
            let f = (0..<3).map { i in (0..<3).map { j in Float(a[i, j]) } }
            let shift = (0..<3).map { i in Float(mean[i] - (0..<3).reduce(0.0) { $0 + a[i, $1] * mx[$1] }) }
            for i in 0..<p {
                let r = o[i], g = o[p + i], b = o[2 * p + i]
                o[i] = f[0][0] * r + f[0][1] * g + f[0][2] * b + shift[0]
                o[p + i] = f[1][0] * r + f[1][1] * g + f[1][2] * b + shift[1]
                o[2 * p + i] = f[2][0] * r + f[2][1] * g + f[2][2] * b + shift[2]
            }
        }
        // Sliced matching, one direction at a time.
        for (axis, q) in zip(axes, quantiles) { ColorTransfer.match(&out, along: axis, to: q) }
        out.clamp(0, 255)
        return out
    }

    /// How far apart two pictures' colour distributions are, in levels (0–255): the sliced Wasserstein
    /// distance, the mean gap between their quantiles along nine fixed directions in RGB. 0 for the same
    /// palette whatever the layout; it grows as colours drift (toward neon, say).
    public static func paletteDistance(_ x: Tensor, _ reference: Tensor) -> Double {
        var total = 0.0, n = 0
        for k in 0..<3 {
            for axis in basis(k) {
                let a = quantiles(of: x, along: axis), b = quantiles(of: reference, along: axis)
                total += zip(a, b).map { Double(abs($0 - $1)) }.reduce(0, +) / Double(a.count)
                n += 1
            }
        }
        return total / Double(n)
    }

    // MARK: helpers

    /// Mean and covariance of the pixels' colours.
    static func moments(_ x: Tensor) -> (SIMD3<Double>, Matrix3) {
        let p = x.shape.plane
        var s = SIMD3<Double>(0, 0, 0)
        var ss = [Double](repeating: 0, count: 9)
        x.data.withUnsafeBufferPointer { d in
            var start = 0
            while start < p {  // float sums over runs, added up in double precision
                let end = Swift.min(p, start + 4096)
                var fs = SIMD3<Float>(0, 0, 0)
                var fss = [Float](repeating: 0, count: 9)
                for i in start..<end {
                    let v = SIMD3<Float>(d[i], d[p + i], d[2 * p + i])
                    fs += v
                    for a in 0..<3 { for b in a..<3 { fss[a * 3 + b] += v[a] * v[b] } }
                }
                s += SIMD3<Double>(Double(fs.x), Double(fs.y), Double(fs.z))
                for k in 0..<9 { ss[k] += Double(fss[k]) }
                start = end
            }
        }
        let n = Double(Swift.max(1, p))
        let m = s / n
        var c = Matrix3()
        for a in 0..<3 { for b in a..<3 {
            let v = ss[a * 3 + b] / n - m[a] * m[b]
            c[a, b] = v; c[b, a] = v
        } }
        // A flat picture has a singular covariance: a little spread keeps the map finite.
        for a in 0..<3 { c[a, a] += 1 }
        return (m, c)
    }

    /// The `k`-th orthonormal basis: the identity turned by fixed angles about two axes (the same every run).
    static func basis(_ k: Int) -> [SIMD3<Double>] {
        let t1 = 0.61 * Double(k + 1), t2 = 1.13 * Double(k + 1)
        let rx = Matrix3(rows: [[1, 0, 0], [0, cos(t1), -sin(t1)], [0, sin(t1), cos(t1)]])
        let rz = Matrix3(rows: [[cos(t2), -sin(t2), 0], [sin(t2), cos(t2), 0], [0, 0, 1]])
        let r = rz * rx
        return (0..<3).map { SIMD3<Double>(r[0, $0], r[1, $0], r[2, $0]) }
    }

    static func project(_ x: Tensor, along a: SIMD3<Double>) -> [Float] {
        let p = x.shape.plane
        let (a0, a1, a2) = (Float(a.x), Float(a.y), Float(a.z))
        var out = [Float](repeating: 0, count: p)
        x.data.withUnsafeBufferPointer { d in
            for i in 0..<p { out[i] = a0 * d[i] + a1 * d[p + i] + a2 * d[2 * p + i] }
        }
        return out
    }

    /// The values at `quantileCount` evenly spaced quantiles of the projection (from a histogram: no sort).
    static func quantiles(of x: Tensor, along a: SIMD3<Double>) -> [Float] {
        let v = project(x, along: a)
        let (lo, hi) = (v.min() ?? 0, v.max() ?? 0)
        let bins = 1024
        guard hi > lo else { return [Float](repeating: lo, count: quantileCount + 1) }
        var h = [Int](repeating: 0, count: bins)
        let scale = Float(bins) / (hi - lo)
        for e in v { h[Swift.min(bins - 1, Int((e - lo) * scale))] += 1 }
        var q = [Float](repeating: 0, count: quantileCount + 1)
        var acc = 0, b = 0
        for k in 0...quantileCount {
            let target = Double(k) / Double(quantileCount) * Double(v.count)
            while b < bins - 1 && Double(acc + h[b]) < target { acc += h[b]; b += 1 }
            let within = h[b] > 0 ? Float((target - Double(acc)) / Double(h[b])) : 0
            q[k] = lo + (Float(b) + Swift.min(1, Swift.max(0, within))) / scale
        }
        return q
    }

    /// Moves every pixel along `a` so that the picture's distribution along `a` becomes `target`'s quantiles.
    static func match(_ x: inout Tensor, along a: SIMD3<Double>, to target: [Float]) {
        let v = project(x, along: a)
        let own = quantiles(of: x, along: a)
        let n = target.count - 1
        let p = x.shape.plane
        let (a0, a1, a2) = (Float(a.x), Float(a.y), Float(a.z))
        x.data.withUnsafeMutableBufferPointer { d in
            var k = 0
            // Pixels in any order: find each one's quantile by binary search in its own quantile table.
            for i in 0..<p {
                let e = v[i]
                var lo = 0, hi = n
                while lo < hi { let mid = (lo + hi + 1) / 2; if own[mid] <= e { lo = mid } else { hi = mid - 1 } }
                k = lo
                let span = k < n ? own[k + 1] - own[k] : 0
                let t = span > 0 ? (e - own[k]) / span : 0
                let mapped = k < n ? target[k] + (target[k + 1] - target[k]) * t : target[n]
                let delta = mapped - e
                d[i] += delta * a0; d[p + i] += delta * a1; d[2 * p + i] += delta * a2
            }
        }
    }
}

/// A 3×3 matrix of doubles (colour transforms).
struct Matrix3: Sendable {
    var m = [Double](repeating: 0, count: 9)
    init() {}
    init(rows: [[Double]]) { for i in 0..<3 { for j in 0..<3 { m[i * 3 + j] = rows[i][j] } } }
    subscript(i: Int, j: Int) -> Double {
        get { m[i * 3 + j] }
        set { m[i * 3 + j] = newValue }
    }
    static func * (a: Matrix3, b: Matrix3) -> Matrix3 {
        var c = Matrix3()
        for i in 0..<3 { for j in 0..<3 { c[i, j] = (0..<3).reduce(0.0) { $0 + a[i, $1] * b[$1, j] } } }
        return c
    }

    /// A symmetric positive definite matrix raised to `e` (eigenvalues raised, Jacobi rotations).
    func power(_ e: Double) -> Matrix3 {
        var a = self, v = Matrix3(rows: [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
        for _ in 0..<50 {
            var off = 0.0
            for i in 0..<3 { for j in (i + 1)..<3 { off += a[i, j] * a[i, j] } }
            if off < 1e-20 { break }
            for p in 0..<3 { for q in (p + 1)..<3 where abs(a[p, q]) > 1e-30 {
                let theta = (a[q, q] - a[p, p]) / (2 * a[p, q])
                let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                var r = Matrix3(rows: [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
                r[p, p] = c; r[q, q] = c; r[p, q] = s; r[q, p] = -s
                a = r.transposed * a * r
                v = v * r
            } }
        }
        var d = Matrix3()
        for i in 0..<3 { d[i, i] = pow(Swift.max(a[i, i], 1e-9), e) }
        return v * d * v.transposed
    }

    var transposed: Matrix3 {
        var t = Matrix3()
        for i in 0..<3 { for j in 0..<3 { t[i, j] = self[j, i] } }
        return t
    }
}
