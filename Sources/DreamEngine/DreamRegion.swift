import Foundation

/// The pixels of a picture a dream is for, row by row: row y's columns `lo[y]..<hi[y]` (none where they meet).
/// A dream given a region runs the network only on bands of rows, each cut to the columns the region reaches
/// in it, and sizes its steps by the gradient inside the region. The gradient is zero where the bands do not
/// reach, so pixels far from the region stay as they are (smoothing and the Laplacian normalisation spread it a
/// little beyond the bands; the normalisation's bands are scaled over the whole picture, zeros included).
/// A turned canvas (`Dreamer.dream(_:gridTurn:)`) is the case it is for: the picture fills a tilted rectangle
/// of a canvas up to 2.2 times its size, and the mirrored corners around it need no dream.
public struct DreamRegion: Sendable, Equatable {
    public let width: Int
    public let lo: [Int]
    public let hi: [Int]
    public var height: Int { lo.count }
    /// How many pixels the region holds.
    public let count: Int

    /// Row y's columns `lo[y]..<hi[y]`, clamped to 0…`width`.
    public init(width: Int, lo: [Int], hi: [Int]) {
        precondition(lo.count == hi.count && width > 0)
        self.width = width
        self.lo = lo.map { Swift.min(Swift.max($0, 0), width) }
        self.hi = zip(hi, self.lo).map { Swift.max(Swift.min($0, width), $1) }
        count = zip(self.lo, self.hi).reduce(0) { $0 + $1.1 - $1.0 }
    }

    /// The pixels of a `height`×`width` picture turned by `degrees` onto a `canvasHeight`×`canvasWidth` canvas
    /// as `ImageOps.turned` places it, widened by `margin` pixels on every side (room for the turn back's
    /// interpolation, and a little mirrored context for the network at the picture's edges).
    public static func turnedPicture(height: Int, width: Int, degrees: Float, canvasHeight: Int, canvasWidth: Int,
                                     margin: Float) -> DreamRegion {
        let margin = margin.isFinite ? Swift.min(Swift.max(margin, 0), Float(canvasHeight + canvasWidth)) : 0
        // ImageOps.turned samples canvas pixel (ox, oy) at sx = cx + c·px + s·py, sy = cy − s·px + c·py, where
        // p is the pixel's offset from the canvas centre. The picture (with its margin) is the sample points
        // with −½ − margin ≤ sx ≤ w − ½ + margin and the same for sy: per row, two slabs in px.
        let th = -degrees * Float.pi / 180
        let c = Foundation.cos(th), s = Foundation.sin(th)
        let cx = Float(width - 1) / 2, cy = Float(height - 1) / 2
        let dcx = Float(canvasWidth - 1) / 2, dcy = Float(canvasHeight - 1) / 2
        var lo = [Int](repeating: 0, count: canvasHeight), hi = lo
        for oy in 0..<canvasHeight {
            let py = Float(oy) - dcy
            var a = -Float.infinity, b = Float.infinity
            // sx = (cx + s·py) + c·px within [−½ − m, w − ½ + m]; sy = (cy + c·py) − s·px likewise.
            func slab(_ offset: Float, _ slope: Float, _ n: Int) {
                let low = -0.5 - margin - offset, high = Float(n) - 0.5 + margin - offset
                if Swift.abs(slope) < 1e-7 {
                    if low > 0 || high < 0 { a = .infinity; b = -.infinity }
                    return
                }
                let p = low / slope, q = high / slope
                a = Swift.max(a, Swift.min(p, q)); b = Swift.min(b, Swift.max(p, q))
            }
            slab(cx + s * py, c, width)
            slab(cy + c * py, -s, height)
            guard a <= b else { continue }
            lo[oy] = Int((a + dcx).rounded(.up)) - 1
            hi[oy] = Int((b + dcx).rounded(.down)) + 2
        }
        return DreamRegion(width: canvasWidth, lo: lo, hi: hi)
    }

    /// The same region on the picture scaled to `height`×`width` (an octave): every row takes the union of the
    /// rows it covers, a pixel wider on each side, so nothing the region held is lost to rounding.
    public func resized(height: Int, width: Int) -> DreamRegion {
        if height == self.height && width == self.width { return self }
        let sy = Double(self.height) / Double(height), sx = Double(width) / Double(self.width)
        var lo = [Int](repeating: 0, count: height), hi = lo
        for y in 0..<height {
            let r0 = Swift.max(0, Int((Double(y) * sy).rounded(.down))), r1 = Swift.min(self.height, Int((Double(y + 1) * sy).rounded(.up)))
            var a = Int.max, b = Int.min
            for r in r0..<Swift.max(r0 + 1, r1) where r < self.height && self.lo[r] < self.hi[r] {
                a = Swift.min(a, self.lo[r]); b = Swift.max(b, self.hi[r])
            }
            guard a < b else { continue }
            lo[y] = Int((Double(a) * sx).rounded(.down)) - 1
            hi[y] = Int((Double(b) * sx).rounded(.up)) + 1
        }
        return DreamRegion(width: width, lo: lo, hi: hi)
    }

    /// Whether (y, x) is in the region.
    public func contains(y: Int, x: Int) -> Bool { y >= 0 && y < height && x >= lo[y] && x < hi[y] }

    /// The mean absolute value of `g` (C×H×W, the region's size) over the region's pixels.
    public func meanAbs(_ g: Tensor) -> Double {
        precondition(g.shape.h == height && g.shape.w == width)
        var sum = 0.0
        g.data.withUnsafeBufferPointer { p in
            for ch in 0..<g.shape.c {
                for y in 0..<height where lo[y] < hi[y] {
                    let row = p.baseAddress! + ch * g.shape.plane + y * width
                    var s: Float = 0
                    for x in lo[y]..<hi[y] { s += Swift.abs(row[x]) }
                    sum += Double(s)
                }
            }
        }
        return count == 0 ? 0 : sum / Double(count * g.shape.c)
    }

    /// The tiles a step computes on the picture rolled by (dy, dx) (out[y, x] = in[(y − dy) mod H, (x − dx) mod W]):
    /// the rolled rows split evenly into bands of at most `bandHeight` rows, each band cut to the shortest run of
    /// columns (wrapping around the picture's right edge if that is shorter) that holds every region pixel in it,
    /// split evenly into tiles no wider than `tileWidth` with their seams moved by `phase` (0…1) of the room there
    /// is. Bands and tiles are at least `minimumSide` (the network's smallest input) where the picture is, even if
    /// that makes them taller than `bandHeight` or wider than `tileWidth`. A tile's `x` may run past the right
    /// edge: it wraps.
    public func tiles(rolledBy dy: Int, _ dx: Int, bandHeight: Int, tileWidth: Int, minimumSide: Int,
                      phase: Double) -> [(y: Int, x: Int, height: Int, width: Int)] {
        let h = height, w = width
        guard h > 0, w > 0 else { return [] }
        let bandHeight = Swift.max(1, Swift.min(bandHeight, h)), tileWidth = Swift.max(1, tileWidth), minimumSide = Swift.max(1, minimumSide)
        let phase = phase.isFinite ? Swift.min(1, Swift.max(0, phase)) : 0.5
        let ny = Swift.max(1, Swift.min((h + bandHeight - 1) / bandHeight, h / minimumSide))
        let dy = ((dy % h) + h) % h, dx = ((dx % w) + w) % w
        var out: [(y: Int, x: Int, height: Int, width: Int)] = []
        var used = [Bool](repeating: false, count: w)
        for band in 0..<ny {
            let y0 = h * band / ny, y1 = h * (band + 1) / ny
            for i in used.indices { used[i] = false }
            var any = false
            for y in y0..<y1 {
                let r = (y - dy + h) % h
                guard lo[r] < hi[r] else { continue }
                any = true
                for x in lo[r]..<hi[r] { used[(x + dx) % w] = true }
            }
            guard any else { continue }
            // The shortest run holding every used column: the circle less its longest gap.
            var gapStart = 0, gapLength = 0
            if let first = used.firstIndex(of: true) {
                var run = 0
                for k in 1...w {  // walk once round from the first used column, measuring gaps
                    if used[(first + k) % w] {
                        if run > gapLength { gapLength = run; gapStart = (first + k - run) % w }
                        run = 0
                    } else { run += 1 }
                }
            }
            var start = (gapStart + gapLength) % w, length = w - gapLength
            if length < minimumSide {
                let grow = Swift.min(w, minimumSide) - length
                start = ((start - grow / 2) % w + w) % w; length += grow
            }
            let n = Swift.max(1, Swift.min((length + tileWidth - 1) / tileWidth, length / minimumSide))
            let even = Double(length) / Double(n)
            // Seams at start + round(k·even) + shift: the first tile round(even) + shift wide, the last about even − shift;
            // with whole pixels of room each way no tile passes tileWidth or falls below minimumSide.
            let room = Swift.max(0, Swift.min(Double(tileWidth) - even, even - Double(minimumSide))).rounded(.down)
            let shift = n > 1 ? Int(((phase * 2 - 1) * room).rounded(.towardZero)) : 0
            var edges = [0]
            for k in 1..<n { edges.append(Int((Double(k) * even).rounded()) + shift) }
            edges.append(length)
            for k in 0..<n { out.append((y0, start + edges[k], y1 - y0, edges[k + 1] - edges[k])) }
        }
        return out
    }
}

extension ImageOps {
    /// The rows y0..<y0+height of `x`, columns x0..<x0+width taken modulo x's width (width ≤ x's width).
    public static func cropWrapped(_ x: Tensor, y: Int, x x0: Int, height: Int, width: Int) -> Tensor {
        let s = x.shape
        precondition(width <= s.w && y >= 0 && y + height <= s.h)
        let start = ((x0 % s.w) + s.w) % s.w
        if start + width <= s.w { return crop(x, y: y, x: start, height: height, width: width) }
        let first = s.w - start
        var out = Tensor(uninitialized: Shape(s.c, height, width))
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                for c in 0..<s.c {
                    for r in 0..<height {
                        let src = xp.baseAddress! + c * s.plane + (y + r) * s.w
                        let dst = op.baseAddress! + (c * height + r) * width
                        dst.update(from: src + start, count: first)
                        (dst + first).update(from: src, count: width - first)
                    }
                }
            }
        }
        return out
    }

    /// Writes `tile` into `x` at row y, column x0, its columns wrapping round x's right edge.
    public static func pasteWrapped(_ tile: Tensor, into x: inout Tensor, y: Int, x x0: Int) {
        let s = x.shape, t = tile.shape
        precondition(t.w <= s.w && y >= 0 && y + t.h <= s.h && t.c == s.c)
        let start = ((x0 % s.w) + s.w) % s.w
        if start + t.w <= s.w { paste(tile, into: &x, y: y, x: start); return }
        let first = s.w - start
        tile.data.withUnsafeBufferPointer { tp in
            x.data.withUnsafeMutableBufferPointer { xp in
                for c in 0..<s.c {
                    for r in 0..<t.h {
                        let dst = xp.baseAddress! + c * s.plane + (y + r) * s.w
                        let src = tp.baseAddress! + (c * t.h + r) * t.w
                        (dst + start).update(from: src, count: first)
                        dst.update(from: src + first, count: t.w - first)
                    }
                }
            }
        }
    }
}
