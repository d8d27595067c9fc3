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

    /// Applies `transform` with bicubic resampling; samples outside the image follow `border`.
    /// A source point s lands at d = C + zoom · R(θ) · (s − C) + (dx, dy), C the image centre.
    public static func warp(_ x: Tensor, _ transform: FrameTransform, border: BorderMode = .replicate) -> Tensor {
        if transform.isIdentity { return x }
        return warp(x, sampling: Affine2D(sampling: transform, width: x.shape.w, height: x.shape.h), border: border)
    }

    /// out(d) = x(m(d)) with bicubic resampling: `m` maps each output pixel to where it is read in `x`;
    /// samples outside the image follow `border` (repeat the edge, mirror the picture, or tile it).
    public static func warp(_ x: Tensor, sampling m: Affine2D, border: BorderMode = .replicate) -> Tensor {
        let s = x.shape
        // Far outside the picture only mirroring and tiling need the true position; bound it (NaN-safe) either way.
        let reach = Float(border == .replicate ? 4 : 8 * Swift.max(s.w, s.h) + 8)
        @inline(__always) func index(_ i: Int, _ n: Int) -> Int {
            switch border {
            case .replicate: return Swift.min(Swift.max(i, 0), n - 1)
            case .reflect:
                if n == 1 { return 0 }
                let m = ((i % (2 * n)) + 2 * n) % (2 * n)
                return m < n ? m : 2 * n - 1 - m
            case .wrap: return ((i % n) + n) % n
            }
        }
        var out = Tensor(zeros: s)
        let (a, b, c, d) = (Float(m.a), Float(m.b), Float(m.c), Float(m.d))
        let (tx, ty) = (Float(m.tx), Float(m.ty))
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                let xb = xp.baseAddress!, ob = op.baseAddress!
                parallelFor(s.h, minPerThread: 8) { oy in
                    let fy0 = Float(oy)
                    for ox in 0..<s.w {
                        let fx0 = Float(ox)
                        let sx = a * fx0 + b * fy0 + tx
                        let sy = c * fx0 + d * fy0 + ty
                        let fx = sx.rounded(.down), fy = sy.rounded(.down)
                        let ix = Int(Swift.max(-reach, Swift.min(fx, Float(s.w) + reach))), iy = Int(Swift.max(-reach, Swift.min(fy, Float(s.h) + reach)))
                        let wx = cubicWeights(sx - fx), wy = cubicWeights(sy - fy)
                        let xs = (index(ix - 1, s.w), index(ix, s.w), index(ix + 1, s.w), index(ix + 2, s.w))
                        let ys = (index(iy - 1, s.h), index(iy, s.h), index(iy + 1, s.h), index(iy + 2, s.h))
                        for ch in 0..<s.c {
                            let p = xb + ch * s.plane
                            @inline(__always) func row(_ y: Int) -> Float {
                                let r = p + y * s.w
                                return wx.0 * r[xs.0] + wx.1 * r[xs.1] + wx.2 * r[xs.2] + wx.3 * r[xs.3]
                            }
                            ob[ch * s.plane + oy * s.w + ox] = wy.0 * row(ys.0) + wy.1 * row(ys.1) + wy.2 * row(ys.2) + wy.3 * row(ys.3)
                        }
                    }
                }
            }
        }
        return out
    }

    /// What a warp reads outside the picture.
    public enum BorderMode: String, Sendable, Codable, CaseIterable {
        /// The edge pixel, repeated (smears outward).
        case replicate
        /// The picture mirrored at its edge.
        case reflect
        /// The picture tiled.
        case wrap
    }

    /// 1×H×W: how far inside a `width`×`height` picture each output pixel of `m` reads, as a weight — 1 well
    /// inside, falling to 0 over `feather` pixels toward the edge, 0 outside (what a warp invents by repeating
    /// the edge). `beyond`: 1 wherever the read is inside the picture, falling to 0 over `feather` pixels outside
    /// it (what is new in a warped picture, with a soft edge).
    public static func coverage(_ m: Affine2D, width: Int, height: Int, feather: Float = 2, beyond: Bool = false) -> Tensor {
        var out = Tensor(zeros: Shape(1, height, width))
        let (a, b, c, d) = (Float(m.a), Float(m.b), Float(m.c), Float(m.d))
        let (tx, ty) = (Float(m.tx), Float(m.ty))
        let w1 = Float(width - 1), h1 = Float(height - 1)
        out.data.withUnsafeMutableBufferPointer { op in
            for oy in 0..<height {
                for ox in 0..<width {
                    let sx = a * Float(ox) + b * Float(oy) + tx, sy = c * Float(ox) + d * Float(oy) + ty
                    let inside = Swift.min(sx, w1 - sx, sy, h1 - sy)
                    op[oy * width + ox] = Swift.max(0, Swift.min(1, beyond ? 1 + inside / feather : (inside + 0.5) / feather))
                }
            }
        }
        return out
    }
}

/// A 2-D affine map of picture coordinates, p ↦ (a·x + b·y + tx, c·x + d·y + ty). Warps use it as a
/// *sampling* map: from an output pixel to where it is read in the input.
public struct Affine2D: Sendable, Equatable {
    public var a = 1.0, b = 0.0, c = 0.0, d = 1.0, tx = 0.0, ty = 0.0
    /// Whether every output pixel of a `width`×`height` picture reads inside it (the map is affine, so the four
    /// corners decide): such a warp reveals nothing new.
    public func readsInside(width: Int, height: Int) -> Bool {
        let w1 = Double(width - 1), h1 = Double(height - 1)
        return [(0.0, 0.0), (w1, 0), (0, h1), (w1, h1)].allSatisfy { p in
            let (x, y) = apply(p.0, p.1)
            return x >= 0 && x <= w1 && y >= 0 && y <= h1
        }
    }

    public init(a: Double = 1, b: Double = 0, c: Double = 0, d: Double = 1, tx: Double = 0, ty: Double = 0) {
        self.a = a; self.b = b; self.c = c; self.d = d; self.tx = tx; self.ty = ty
    }
    public static let identity = Affine2D()

    /// The sampling map of a frame transform on a `width`×`height` picture: s = C + R(−θ) · (d − C − t) / zoom,
    /// C the picture's centre (on screen, y down, a counter-clockwise turn by θ is angle −θ in picture coordinates).
    public init(sampling t: FrameTransform, width: Int, height: Int) {
        let cx = Double(width - 1) / 2, cy = Double(height - 1) / 2
        let th = -Double(t.rotate) * Double.pi / 180
        let cs = Foundation.cos(th) / Double(t.zoom), sn = Foundation.sin(th) / Double(t.zoom)
        // s = C + [[cs, sn], [−sn, cs]] · (d − C − t)
        a = cs; b = sn; c = -sn; d = cs
        let px = -cx - Double(t.dx), py = -cy - Double(t.dy)
        tx = cx + cs * px + sn * py
        ty = cy - sn * px + cs * py
    }

    /// The point `p` mapped.
    public func apply(_ x: Double, _ y: Double) -> (Double, Double) { (a * x + b * y + tx, c * x + d * y + ty) }

    /// `self` after `other`: p ↦ self(other(p)).
    public func after(_ other: Affine2D) -> Affine2D {
        Affine2D(a: a * other.a + b * other.c, b: a * other.b + b * other.d,
                 c: c * other.a + d * other.c, d: c * other.b + d * other.d,
                 tx: a * other.tx + b * other.ty + tx, ty: c * other.tx + d * other.ty + ty)
    }

    /// The inverse map (nil when it collapses the plane).
    public var inverse: Affine2D? {
        let det = a * d - b * c
        guard det.isFinite, abs(det) > 1e-12 else { return nil }
        let ia = d / det, ib = -b / det, ic = -c / det, id = a / det
        return Affine2D(a: ia, b: ib, c: ic, d: id, tx: -(ia * tx + ib * ty), ty: -(ic * tx + id * ty))
    }
}

extension ImageOps {
    /// `x` turned by `degrees` (counter-clockwise on screen, as `FrameTransform.rotate`) about its centre onto a
    /// `height`×`width` picture with the same centre, bicubic; samples outside `x` mirror it at its edges.
    /// A source point s lands at d = C_out + R(θ)·(s − C_in).
    public static func turned(_ x: Tensor, degrees: Float, height: Int, width: Int) -> Tensor {
        let s = x.shape
        var out = Tensor(uninitialized: Shape(s.c, height, width))  // every value is written below
        let cx = Float(s.w - 1) / 2, cy = Float(s.h - 1) / 2
        let dcx = Float(width - 1) / 2, dcy = Float(height - 1) / 2
        let th = -degrees * Float.pi / 180
        let c = Foundation.cos(th), sn = Foundation.sin(th)
        @inline(__always) func mirror(_ i: Int, _ n: Int) -> Int {
            // Without a division where one reflection is enough (a turned canvas reaches at most the picture's size beyond it).
            if i >= 0 && i < n { return i }
            if i < 0 && i >= -n { return -1 - i }
            if i >= n && i < 2 * n { return 2 * n - 1 - i }
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
