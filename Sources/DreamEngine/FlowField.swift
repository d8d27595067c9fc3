import Foundation

/// A dense motion field between two pictures: pixel (x, y) of the first is found at (x + dx, y + dy) in
/// the second. Planar, H×W each. (Computing one is not the engine's business; using one is.)
public struct FlowField: Sendable {
    public let width: Int, height: Int
    public var dx: [Float], dy: [Float]

    public init(width: Int, height: Int, dx: [Float], dy: [Float]) {
        precondition(dx.count == width * height && dy.count == width * height)
        self.width = width; self.height = height; self.dx = dx; self.dy = dy
    }

    /// A field from interleaved (dx, dy) pairs, as OpenCV writes them.
    public init(width: Int, height: Int, interleaved v: [Float]) {
        precondition(v.count == 2 * width * height)
        var x = [Float](repeating: 0, count: width * height), y = x
        for i in 0..<(width * height) { x[i] = v[2 * i]; y[i] = v[2 * i + 1] }
        self.init(width: width, height: height, dx: x, dy: y)
    }

    /// Bilinear sample at a fractional position, clamped to the border.
    @inline(__always)
    func sample(_ x: Float, _ y: Float) -> (Float, Float) {
        let fx = Swift.min(Swift.max(x, 0), Float(width - 1)), fy = Swift.min(Swift.max(y, 0), Float(height - 1))
        let x0 = Int(fx), y0 = Int(fy)
        let x1 = Swift.min(x0 + 1, width - 1), y1 = Swift.min(y0 + 1, height - 1)
        let ax = fx - Float(x0), ay = fy - Float(y0)
        @inline(__always) func lerp(_ p: [Float]) -> Float {
            let a = p[y0 * width + x0] + (p[y0 * width + x1] - p[y0 * width + x0]) * ax
            let b = p[y1 * width + x0] + (p[y1 * width + x1] - p[y1 * width + x0]) * ax
            return a + (b - a) * ay
        }
        return (lerp(dx), lerp(dy))
    }

    /// Mean length of the motion vectors, in pixels.
    public var meanMagnitude: Double {
        var s = 0.0
        for i in 0..<dx.count { s += Double((dx[i] * dx[i] + dy[i] * dy[i]).squareRoot()) }
        return dx.isEmpty ? 0 : s / Double(dx.count)
    }
}

extension ImageOps {
    /// out(p) = x(p + flow(p)), bilinear (or bicubic: `cubic`, which keeps fine detail that bilinear
    /// sampling at fractional positions smooths away — it matters when a picture is carried frame after
    /// frame); samples outside the picture repeat its edge. With the flow from frame t to frame t−1, this
    /// carries frame t−1's picture into frame t.
    public static func warp(_ x: Tensor, along flow: FlowField, cubic: Bool = false) -> Tensor {
        if cubic { return warpCubic(x, along: flow) }
        let s = x.shape
        precondition(flow.width == s.w && flow.height == s.h, "flow \(flow.width)×\(flow.height) for a \(s.w)×\(s.h) picture")
        var out = Tensor(zeros: s)
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                let xb = xp.baseAddress!, ob = op.baseAddress!
                parallelFor(s.h, minPerThread: 8) { y in
                    for px in 0..<s.w {
                        let i = y * s.w + px
                        let (sx, sy) = sourcePosition(px, y, i, flow, s)
                        let x0 = Int(sx), y0 = Int(sy)
                        let x1 = Swift.min(x0 + 1, s.w - 1), y1 = Swift.min(y0 + 1, s.h - 1)
                        let ax = sx - Float(x0), ay = sy - Float(y0)
                        for c in 0..<s.c {
                            let p = xb + c * s.plane
                            let a = p[y0 * s.w + x0] + (p[y0 * s.w + x1] - p[y0 * s.w + x0]) * ax
                            let b = p[y1 * s.w + x0] + (p[y1 * s.w + x1] - p[y1 * s.w + x0]) * ax
                            ob[c * s.plane + i] = a + (b - a) * ay
                        }
                    }
                }
            }
        }
        return out
    }

    /// Where pixel (`px`, `y`) (index `i`) reads from: moved along the flow, clamped to the picture (its edge repeats).
    @inline(__always)
    static func sourcePosition(_ px: Int, _ y: Int, _ i: Int, _ flow: FlowField, _ s: Shape) -> (Float, Float) {
        (Swift.min(Swift.max(Float(px) + flow.dx[i], 0), Float(s.w - 1)), Swift.min(Swift.max(Float(y) + flow.dy[i], 0), Float(s.h - 1)))
    }

    static func warpCubic(_ x: Tensor, along flow: FlowField) -> Tensor {
        let s = x.shape
        precondition(flow.width == s.w && flow.height == s.h, "flow \(flow.width)×\(flow.height) for a \(s.w)×\(s.h) picture")
        var out = Tensor(zeros: s)
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                let xb = xp.baseAddress!, ob = op.baseAddress!
                parallelFor(s.h, minPerThread: 8) { y in
                    for px in 0..<s.w {
                        let i = y * s.w + px
                        let (sx, sy) = sourcePosition(px, y, i, flow, s)
                        let fx = sx.rounded(.down), fy = sy.rounded(.down)
                        let ix = Int(fx), iy = Int(fy)
                        let wx = cubicWeights(sx - fx), wy = cubicWeights(sy - fy)
                        let xs = (Swift.max(ix - 1, 0), ix, Swift.min(ix + 1, s.w - 1), Swift.min(ix + 2, s.w - 1))
                        let ys = (Swift.max(iy - 1, 0), iy, Swift.min(iy + 1, s.h - 1), Swift.min(iy + 2, s.h - 1))
                        for c in 0..<s.c {
                            let p = xb + c * s.plane
                            @inline(__always) func row(_ r: Int) -> Float {
                                let q = p + r * s.w
                                return wx.0 * q[xs.0] + wx.1 * q[xs.1] + wx.2 * q[xs.2] + wx.3 * q[xs.3]
                            }
                            ob[c * s.plane + i] = wy.0 * row(ys.0) + wy.1 * row(ys.1) + wy.2 * row(ys.2) + wy.3 * row(ys.3)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Where the motion can be trusted: 1 where following `backward` (t → t−1) and then `forward`
    /// (t−1 → t) comes back to the start, 0 where it does not (occluded, newly revealed, or a failed
    /// match) or where `backward` leaves the picture. The test is Sundaram, Brox and Keutzer's (2010),
    /// as in Ruder et al. (2016): |b + f(p + b)|² ≤ 0.01 (|b|² + |f(p + b)|²) + 0.5.
    /// Returned as a 1×H×W tensor.
    public static func consistencyMask(backward b: FlowField, forward f: FlowField) -> Tensor {
        precondition(b.width == f.width && b.height == f.height)
        let w = b.width, h = b.height
        var mask = Tensor(zeros: Shape(1, h, w))
        mask.data.withUnsafeMutableBufferPointer { mp in
            let mb = mp.baseAddress!
            parallelFor(h, minPerThread: 8) { y in
                for x in 0..<w {
                    let i = y * w + x
                    let bx = b.dx[i], by = b.dy[i]
                    let tx = Float(x) + bx, ty = Float(y) + by
                    if tx < -0.5 || ty < -0.5 || tx > Float(w) - 0.5 || ty > Float(h) - 0.5 { mb[i] = 0; continue }
                    let (fx, fy) = f.sample(tx, ty)
                    let ex = bx + fx, ey = by + fy
                    let lhs = ex * ex + ey * ey
                    let rhs = 0.01 * (bx * bx + by * by + fx * fx + fy * fy) + 0.5
                    mb[i] = lhs <= rhs ? 1 : 0
                }
            }
        }
        return mask
    }

    /// Clears `mask` (1×H×W) where `carried` (a previous picture moved along the flow) and `current`
    /// differ by more than `threshold` levels on average over the channels: the motion did not explain
    /// the change there (a person the flow missed, a flash, a reflection), so the past must not be carried.
    /// The cleared region is widened by `grow` pixels.
    public static func clearMismatches(_ mask: inout Tensor, carried: Tensor, current: Tensor, threshold: Float, grow: Int = 2) {
        let s = current.shape
        precondition(carried.shape == s && mask.shape == Shape(1, s.h, s.w))
        var bad = [Bool](repeating: false, count: s.plane)
        carried.data.withUnsafeBufferPointer { cp in
            current.data.withUnsafeBufferPointer { sp in
                for i in 0..<s.plane {
                    var e: Float = 0
                    for c in 0..<s.c { e += abs(cp[c * s.plane + i] - sp[c * s.plane + i]) }
                    bad[i] = e / Float(s.c) > threshold
                }
            }
        }
        // Widen: a pixel is cleared if any pixel within `grow` (a square) is bad; separable max filter.
        var rows = bad
        if grow > 0 {
            for y in 0..<s.h {
                var run = 0
                for x in 0..<s.w { if bad[y * s.w + x] { run = grow + 1 }; if run > 0 { rows[y * s.w + x] = true; run -= 1 } }
                run = 0
                for x in stride(from: s.w - 1, through: 0, by: -1) { if bad[y * s.w + x] { run = grow + 1 }; if run > 0 { rows[y * s.w + x] = true; run -= 1 } }
            }
            var cols = rows
            for x in 0..<s.w {
                var run = 0
                for y in 0..<s.h { if rows[y * s.w + x] { run = grow + 1 }; if run > 0 { cols[y * s.w + x] = true; run -= 1 } }
                run = 0
                for y in stride(from: s.h - 1, through: 0, by: -1) { if rows[y * s.w + x] { run = grow + 1 }; if run > 0 { cols[y * s.w + x] = true; run -= 1 } }
            }
            rows = cols
        }
        mask.data.withUnsafeMutableBufferPointer { mp in for i in 0..<s.plane where rows[i] { mp[i] = 0 } }
    }

    /// x + amount·mask⊙(target − x): moves `x` toward `target` where the single-channel `mask` is 1.
    public static func blend(_ x: Tensor, toward target: Tensor, mask: Tensor, amount: Float) -> Tensor {
        let s = x.shape
        precondition(target.shape == s && mask.shape == Shape(1, s.h, s.w))
        var out = x
        out.data.withUnsafeMutableBufferPointer { op in
            target.data.withUnsafeBufferPointer { tp in
                mask.data.withUnsafeBufferPointer { mp in
                    for c in 0..<s.c {
                        let o = op.baseAddress! + c * s.plane, t = tp.baseAddress! + c * s.plane
                        for i in 0..<s.plane { o[i] += amount * mp[i] * (t[i] - o[i]) }
                    }
                }
            }
        }
        return out
    }

    /// A luminance plane (Rec. 601 weights) as 8-bit values, for optical flow.
    public static func gray8(_ x: Tensor) -> [UInt8] {
        let s = x.shape
        precondition(s.c == 3)
        var out = [UInt8](repeating: 0, count: s.plane)
        x.data.withUnsafeBufferPointer { p in
            for i in 0..<s.plane {
                let v = Rec601.luma(p[i], p[s.plane + i], p[2 * s.plane + i])
                out[i] = UInt8(Swift.min(Swift.max(v.isNaN ? 0 : v, 0), 255).rounded())
            }
        }
        return out
    }
}
