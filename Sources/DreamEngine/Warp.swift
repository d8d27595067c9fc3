import Foundation

/// The per-frame camera move of a zoom video: zoom about the image centre, rotate, translate.
public struct FrameTransform: Sendable, Equatable, Codable {
    /// Magnification per frame (> 1 zooms in).
    public var zoom: Float
    /// Counter-clockwise rotation per frame, in degrees (as seen on screen).
    public var rotate: Float
    /// Content shift per frame in pixels (+x right, +y down).
    public var dx: Float
    public var dy: Float
    public init(zoom: Float = 1, rotate: Float = 0, dx: Float = 0, dy: Float = 0) {
        self.zoom = zoom; self.rotate = rotate; self.dx = dx; self.dy = dy
    }
    public var isIdentity: Bool { zoom == 1 && rotate == 0 && dx == 0 && dy == 0 }
}

extension ImageOps {
    /// Keys' cubic convolution weights (a = −0.5) for the four taps around fraction `t`.
    @inline(__always)
    static func cubicWeights(_ t: Float) -> (Float, Float, Float, Float) {
        let a: Float = -0.5
        func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        return (far(1 + t), near(t), near(1 - t), far(2 - t))
    }

    /// Applies `transform` with bicubic resampling; samples outside the image repeat the edge.
    /// A source point s lands at d = C + zoom · R(θ) · (s − C) + (dx, dy), C the image centre.
    public static func warp(_ x: Tensor, _ transform: FrameTransform) -> Tensor {
        if transform.isIdentity { return x }
        let s = x.shape
        var out = Tensor(zeros: s)
        let cx = Float(s.w - 1) / 2, cy = Float(s.h - 1) / 2
        // Inverse map: s = C + R(−θ) · (d − C − t) / zoom. On screen (y down) a counter-clockwise
        // rotation by θ uses angle −θ in image coordinates.
        let th = -transform.rotate * Float.pi / 180
        let c = Foundation.cos(th) / transform.zoom, sn = Foundation.sin(th) / transform.zoom
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                let xb = xp.baseAddress!, ob = op.baseAddress!
                parallelFor(s.h, minPerThread: 8) { oy in
                    let py = Float(oy) - cy - transform.dy
                    for ox in 0..<s.w {
                        let px = Float(ox) - cx - transform.dx
                        // R(−th) applied to (px, py)
                        let sx = cx + c * px + sn * py
                        let sy = cy - sn * px + c * py
                        let fx = sx.rounded(.down), fy = sy.rounded(.down)
                        let ix = Int(fx), iy = Int(fy)
                        let wx = cubicWeights(sx - fx), wy = cubicWeights(sy - fy)
                        var xs = (0, 0, 0, 0), ys = (0, 0, 0, 0)
                        xs = (min(max(ix - 1, 0), s.w - 1), min(max(ix, 0), s.w - 1), min(max(ix + 1, 0), s.w - 1), min(max(ix + 2, 0), s.w - 1))
                        ys = (min(max(iy - 1, 0), s.h - 1), min(max(iy, 0), s.h - 1), min(max(iy + 1, 0), s.h - 1), min(max(iy + 2, 0), s.h - 1))
                        for ch in 0..<s.c {
                            let p = xb + ch * s.plane
                            @inline(__always) func row(_ y: Int) -> Float {
                                let r = p + y * s.w
                                return wx.0 * r[xs.0] + wx.1 * r[xs.1] + wx.2 * r[xs.2] + wx.3 * r[xs.3]
                            }
                            let v = wy.0 * row(ys.0) + wy.1 * row(ys.1) + wy.2 * row(ys.2) + wy.3 * row(ys.3)
                            ob[ch * s.plane + oy * s.w + ox] = v
                        }
                    }
                }
            }
        }
        return out
    }
}

extension ImageOps {
    /// `x` turned by `degrees` (counter-clockwise on screen, as `FrameTransform.rotate`) about its centre onto a
    /// `height`×`width` picture with the same centre, bicubic; samples outside `x` mirror it at its edges.
    /// A source point s lands at d = C_out + R(θ)·(s − C_in).
    public static func turned(_ x: Tensor, degrees: Float, height: Int, width: Int) -> Tensor {
        let s = x.shape
        var out = Tensor(zeros: Shape(s.c, height, width))
        let cx = Float(s.w - 1) / 2, cy = Float(s.h - 1) / 2
        let dcx = Float(width - 1) / 2, dcy = Float(height - 1) / 2
        let th = -degrees * Float.pi / 180
        let c = Foundation.cos(th), sn = Foundation.sin(th)
        @inline(__always) func mirror(_ i: Int, _ n: Int) -> Int {
            if n == 1 { return 0 }
            let m = ((i % (2 * n)) + 2 * n) % (2 * n)
            return m < n ? m : 2 * n - 1 - m
        }
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                let xb = xp.baseAddress!, ob = op.baseAddress!
                let plane = height * width
                parallelFor(height, minPerThread: 8) { oy in
                    let py = Float(oy) - dcy
                    for ox in 0..<width {
                        let px = Float(ox) - dcx
                        let sx = cx + c * px + sn * py
                        let sy = cy - sn * px + c * py
                        let fx = sx.rounded(.down), fy = sy.rounded(.down)
                        let ix = Int(fx), iy = Int(fy)
                        let wx = cubicWeights(sx - fx), wy = cubicWeights(sy - fy)
                        let xs = (mirror(ix - 1, s.w), mirror(ix, s.w), mirror(ix + 1, s.w), mirror(ix + 2, s.w))
                        let ys = (mirror(iy - 1, s.h), mirror(iy, s.h), mirror(iy + 1, s.h), mirror(iy + 2, s.h))
                        for ch in 0..<s.c {
                            let p = xb + ch * s.plane
                            @inline(__always) func row(_ y: Int) -> Float {
                                let r = p + y * s.w
                                return wx.0 * r[xs.0] + wx.1 * r[xs.1] + wx.2 * r[xs.2] + wx.3 * r[xs.3]
                            }
                            ob[ch * plane + oy * width + ox] = wy.0 * row(ys.0) + wy.1 * row(ys.1) + wy.2 * row(ys.2) + wy.3 * row(ys.3)
                        }
                    }
                }
            }
        }
        return out
    }
}
