import DreamEngine
import Foundation
import Testing

/// A dream restricted to part of its picture (`DreamRegion`): a turned canvas dreams only the turned picture.
@Suite("Dream regions")
struct DreamRegionTests {
    /// The canvas `Dreamer.dream(_:gridTurn:)` makes for a turn.
    static func canvas(_ h: Int, _ w: Int, _ degrees: Float) -> (h: Int, w: Int) {
        let a = degrees * Float.pi / 180
        let ca = abs(cos(a)), sa = abs(sin(a))
        return (Int((Float(w) * sa + Float(h) * ca).rounded(.up)), Int((Float(w) * ca + Float(h) * sa).rounded(.up)))
    }

    /// Every pixel of the picture, moved onto the canvas by the turn as `ImageOps.turned` documents it
    /// (d = C_out + R(θ)·(s − C_in), counter-clockwise on screen), lands inside the region with the 2 px the
    /// bicubic turn back reaches around it; and the region holds little more than the picture and its margin.
    @Test(arguments: [(61, 81, Float(45)), (61, 81, -30), (72, 128, 12.5), (100, 40, -44), (50, 50, 0), (37, 90, 90), (64, 64, 1)])
    func turnedPictureHoldsEveryPixelOfThePicture(_ a: (Int, Int, Float)) {
        let (h, w, deg) = a
        let (ch, cw) = DreamRegionTests.canvas(h, w, deg)
        let margin: Float = 8
        let r = DreamRegion.turnedPicture(height: h, width: w, degrees: deg, canvasHeight: ch, canvasWidth: cw, margin: margin)
        #expect(r.height == ch && r.width == cw)
        let th = deg * Float.pi / 180
        let cx = Float(w - 1) / 2, cy = Float(h - 1) / 2, dcx = Float(cw - 1) / 2, dcy = Float(ch - 1) / 2
        var missing = 0
        for sy in 0..<h {
            for sx in 0..<w {
                let px = Float(sx) - cx, py = Float(sy) - cy
                let dx = dcx + cos(th) * px + sin(th) * py, dy = dcy - sin(th) * px + cos(th) * py
                for oy in Int((dy - 2).rounded(.up))...Int((dy + 2).rounded(.down)) {
                    for ox in Int((dx - 2).rounded(.up))...Int((dx + 2).rounded(.down))
                    where oy >= 0 && oy < ch && ox >= 0 && ox < cw && !r.contains(y: oy, x: ox) { missing += 1 }
                }
            }
        }
        #expect(missing == 0, "\(missing) canvas pixels the turned picture reaches are outside the region")
        // The picture, a margin of 8 px round its edges and a pixel or two of rounding: never the whole canvas.
        let bound = Double(w * h) + Double(2 * (w + h)) * Double(margin + 2) + 4 * Double((margin + 2) * (margin + 2))
        #expect(Double(r.count) <= bound, "\(r.count) pixels against at most \(bound)")
        if abs(deg) > 5 && abs(deg) < 85 { #expect(r.count < ch * cw * 9 / 10) }
    }

    /// Row by row the region is the canvas pixels whose sample point (the documented turn undone: s = C_in + R(−θ)·(d − C_out))
    /// lies in the picture grown by the margin, give or take the pixel or two the region adds at each end of a row.
    @Test(arguments: [(Float(0), Float(45)), (0, -27), (3, 63), (8, 12)])
    func turnedPictureIsThePixelsWhoseSamplesAreInThePicture(_ a: (Float, Float)) {
        let (margin, deg) = a
        let (h, w) = (57, 90)
        let (ch, cw) = DreamRegionTests.canvas(h, w, deg)
        let r = DreamRegion.turnedPicture(height: h, width: w, degrees: deg, canvasHeight: ch, canvasWidth: cw, margin: margin)
        let th = deg * Float.pi / 180
        let cx = Float(w - 1) / 2, cy = Float(h - 1) / 2, dcx = Float(cw - 1) / 2, dcy = Float(ch - 1) / 2
        var missing = 0, extra = 0
        for oy in 0..<ch {
            for ox in 0..<cw {
                let dx = Float(ox) - dcx, dy = Float(oy) - dcy
                let sx = cx + cos(th) * dx - sin(th) * dy, sy = cy + sin(th) * dx + cos(th) * dy
                func inside(_ grow: Float) -> Bool {
                    sx >= -0.5 - grow && sx <= Float(w) - 0.5 + grow && sy >= -0.5 - grow && sy <= Float(h) - 0.5 + grow
                }
                if inside(margin - 1e-3) && !r.contains(y: oy, x: ox) { missing += 1 }
                if !inside(margin + 2.5) && r.contains(y: oy, x: ox) { extra += 1 }
            }
        }
        #expect(missing == 0 && extra == 0, "margin \(margin) at \(deg)°: \(missing) pixels of the picture left out, \(extra) far outside it taken")
    }

    /// A step on a region moves the region's pixels by `step` on average (its gradient is normalised over the region,
    /// not over the whole picture, most of which the step does not compute).
    @Test func aStepMovesTheRegionByTheStep() throws {
        let net = try tinyNetwork()
        var settings = DreamSettings(layers: [LayerWeight("b")], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1.5)
        settings.tileSize = 64
        let d = try Dreamer(network: net, settings: settings)
        var rng = SeededGenerator(seed: 8)
        var x = Tensor(zeros: Shape(3, 300, 200))
        for i in 0..<x.count { x.data[i] = 128 + 20 * rng.gaussian() }
        x.clamp(0, 255)
        let r = DreamRegion(width: 200, lo: (0..<300).map { $0 >= 140 && $0 < 160 ? 60 : 0 }, hi: (0..<300).map { $0 >= 140 && $0 < 160 ? 120 : 0 })
        var y = x
        var stepRNG = SeededGenerator(seed: 4)
        try d.step(&y, rng: &stepRNG, region: r)
        var moved = 0.0
        for c in 0..<3 { for row in 0..<300 { for col in 0..<200 where r.contains(y: row, x: col) { moved += Double(abs(y.data[(c * 300 + row) * 200 + col] - x.data[(c * 300 + row) * 200 + col])) } } }
        moved /= Double(3 * r.count)
        #expect(abs(moved - 1.5) < 0.02, "mean move \(moved) in the region for a step of 1.5")
    }

    /// At an octave the region holds every pixel the full-size region held, scaled.
    @Test func resizedRegionHoldsTheScaledRegion() {
        let r = DreamRegion.turnedPicture(height: 90, width: 160, degrees: 33, canvasHeight: 163, canvasWidth: 184, margin: 8)
        for (h, w) in [(116, 131), (83, 94), (163, 184), (200, 230)] {
            let s = r.resized(height: h, width: w)
            var missing = 0
            for y in 0..<r.height {
                for x in 0..<r.width where r.contains(y: y, x: x) {
                    let sy = Int((Double(y) + 0.5) * Double(h) / Double(r.height)), sx = Int((Double(x) + 0.5) * Double(w) / Double(r.width))
                    if !s.contains(y: sy, x: sx) { missing += 1 }
                }
            }
            #expect(missing == 0, "\(h)×\(w): \(missing) pixels lost")
            #expect(Double(s.count) < Double(h * w) * 0.85, "\(h)×\(w): \(s.count) of \(h * w)")
        }
    }

    /// The tiles of a step cover every pixel of the region once, stay within the tile and band sizes and at least the
    /// network's smallest side, whatever the roll (wrapping round both edges) and the seams' phase.
    @Test func tilesCoverTheRegionOnceEachStep() {
        var rng = SeededGenerator(seed: 11)
        for (h, w, deg) in [(720, 1280, Float(41)), (360, 640, -17), (384, 384, 45), (200, 120, 8), (100, 100, 0)] {
            let (ch, cw) = DreamRegionTests.canvas(h, w, deg)
            let r = DreamRegion.turnedPicture(height: h, width: w, degrees: deg, canvasHeight: ch, canvasWidth: cw, margin: 8)
            for _ in 0..<6 {
                let dy = rng.int(in: -400...400), dx = rng.int(in: -400...400)
                let phase = Double(rng.int(in: 0...1000)) / 1000
                let tiles = r.tiles(rolledBy: dy, dx, bandHeight: 320, tileWidth: 512, minimumSide: 48, phase: phase)
                var hits = [UInt8](repeating: 0, count: ch * cw)
                var area = 0
                for t in tiles {
                    #expect(t.height <= 320 && t.width <= 512 && t.width >= Swift.min(48, cw) && t.width <= cw && t.height >= 1)
                    #expect(t.height >= Swift.min(48, ch), "a band of \(t.height) rows")
                    area += t.height * t.width
                    for y in t.y..<(t.y + t.height) { for x in t.x..<(t.x + t.width) { hits[y * cw + x % cw] += 1 } }
                }
                var missing = 0, twice = 0
                for y in 0..<ch {
                    for x in 0..<cw {
                        let inside = r.contains(y: ((y - dy) % ch + ch) % ch, x: ((x - dx) % cw + cw) % cw)
                        if inside && hits[y * cw + x] == 0 { missing += 1 }
                        if hits[y * cw + x] > 1 { twice += 1 }
                    }
                }
                #expect(missing == 0 && twice == 0, "\(h)×\(w) at \(deg)°, roll (\(dy), \(dx)): \(missing) region pixels without a tile, \(twice) in two")
                if abs(deg) > 10 && h >= 720 { #expect(area < ch * cw * 9 / 10, "\(h)×\(w) at \(deg)°: tiles of \(area) of \(ch * cw) pixels") }
            }
        }
    }

    /// Tile sizes at their limits (cases a review found): a run of 1532 columns in tiles of 512 at phase 0 once made a
    /// 513-px tile; tiles of at most 64 with a 24-px minimum once made a 23-px one; a tile width under twice the minimum
    /// once split 11 columns into 6 and 5. Then random small pictures, sizes, rolls and phases 0 and 1: every region
    /// pixel in one tile, every tile within its limits wherever the picture allows.
    @Test func tilesStayWithinTheirSizesAtTheEdges() {
        func check(_ r: DreamRegion, dy: Int, dx: Int, band: Int, tile: Int, least: Int, phase: Double, _ what: String) {
            let tiles = r.tiles(rolledBy: dy, dx, bandHeight: band, tileWidth: tile, minimumSide: least, phase: phase)
            var hits = [Int](repeating: 0, count: r.height * r.width)
            for t in tiles {
                let widest = Swift.max(tile, 2 * least), tallest = Swift.max(band, 2 * least)
                #expect(t.width >= Swift.min(least, r.width) && t.width <= Swift.min(widest, r.width) && t.height >= 1 && t.height <= tallest,
                        "\(what): a tile \(t.width)×\(t.height)")
                if r.height >= least { #expect(t.height >= least, "\(what): a band of \(t.height) rows") }
                for y in t.y..<(t.y + t.height) { for x in t.x..<(t.x + t.width) { hits[y * r.width + x % r.width] += 1 } }
            }
            var missing = 0, twice = 0
            for y in 0..<r.height {
                for x in 0..<r.width {
                    if hits[y * r.width + x] > 1 { twice += 1 }
                    let sy = ((y - dy) % r.height + r.height) % r.height, sx = ((x - dx) % r.width + r.width) % r.width
                    if r.contains(y: sy, x: sx) && hits[y * r.width + x] == 0 { missing += 1 }
                }
            }
            #expect(missing == 0 && twice == 0, "\(what): \(missing) pixels without a tile, \(twice) in two")
        }
        let wide = DreamRegion(width: 1532, lo: [Int](repeating: 0, count: 60), hi: [Int](repeating: 1532, count: 60))
        check(wide, dy: 0, dx: 0, band: 320, tile: 512, least: 48, phase: 0, "1532 columns in 512s")
        let narrow = DreamRegion(width: 130, lo: [0, 0], hi: [130, 130])
        check(narrow, dy: 0, dx: 0, band: 320, tile: 64, least: 24, phase: 0, "130 columns in 64s, 24 at least")
        let odd = DreamRegion(width: 11, lo: [0, 1, 3, 0, 11], hi: [2, 1, 11, 11, 11])
        check(odd, dy: 3, dx: -36, band: 7, tile: 9, least: 6, phase: 1, "11 columns in 9s, 6 at least")
        var rng = SeededGenerator(seed: 17)
        for i in 0..<300 {
            let h = rng.int(in: 1...70), w = rng.int(in: 1...70)
            var lo = [Int](), hi = [Int]()
            for _ in 0..<h {
                let a = rng.int(in: 0...w), b = rng.int(in: 0...w)
                if rng.int(in: 0...4) == 0 { lo.append(0); hi.append(0) } else { lo.append(Swift.min(a, b)); hi.append(Swift.max(a, b)) }
            }
            let r = DreamRegion(width: w, lo: lo, hi: hi)
            let least = rng.int(in: 1...24), tile = rng.int(in: least...(3 * least + 8)), band = rng.int(in: 1...40)
            let phase = [0, 1, Double(rng.int(in: 0...100)) / 100][i % 3]
            check(r, dy: rng.int(in: -200...200), dx: rng.int(in: -200...200), band: band, tile: tile, least: least, phase: phase,
                  "case \(i): \(h)×\(w), band \(band), tile \(tile), least \(least), phase \(phase)")
        }
    }

    /// A crop that wraps round the right edge is the crop of the picture rolled left, and pasting it back restores it.
    @Test func wrappedCropsAndPastes() {
        var x = Tensor(zeros: Shape(2, 5, 9))
        for i in 0..<x.count { x.data[i] = Float(i) }
        for x0 in [0, 3, 6, 8, 12, -2] {
            for width in [1, 4, 9] {
                let c = ImageOps.cropWrapped(x, y: 1, x: x0, height: 3, width: width)
                let ref = ImageOps.crop(ImageOps.roll(x, dy: 0, dx: -x0), y: 1, x: 0, height: 3, width: width)
                #expect(c.data == ref.data, "x0 \(x0), width \(width)")
                var y = Tensor(zeros: x.shape)
                ImageOps.pasteWrapped(c, into: &y, y: 1, x: x0)
                for ch in 0..<2 {
                    for r in 1..<4 {
                        for k in 0..<width {
                            let col = ((x0 + k) % 9 + 9) % 9
                            #expect(y.data[(ch * 5 + r) * 9 + col] == x.data[(ch * 5 + r) * 9 + col])
                        }
                    }
                }
                #expect(y.data.filter { $0 != 0 }.count <= 2 * 3 * width)
            }
        }
    }

    /// A turned dream, which dreams only the turned picture in bands, against the same canvas dreamed whole (what
    /// `dream(_:gridTurn:)` did before regions): it raises the picture's objective as much, it changes the picture
    /// as much, and with a region that leaves out the canvas's far rows and columns those pixels stay as they were.
    @Test func turnedDreamDreamsThePictureAsTheWholeCanvasDid() throws {
        let net = try tinyNetwork()
        var settings = DreamSettings(layers: [LayerWeight("b")], iterations: 4, octaves: 2, octaveScale: 1.4, step: 1.5)
        settings.tileSize = 64  // bands of 64 rows, so the canvas's corners are left out
        let d = try Dreamer(network: net, settings: settings)
        var rng = SeededGenerator(seed: 5)
        var x = Tensor(zeros: Shape(3, 90, 120))
        for i in 0..<x.count { x.data[i] = 128 + 30 * rng.gaussian() }
        x = ImageOps.gaussianBlur(x, sigma: 1.5)
        let deg: Float = 40
        var r1 = SeededGenerator(seed: 9), r2 = SeededGenerator(seed: 9)
        let turned = try d.dream(x, gridTurn: deg, rng: &r1)
        // The whole canvas, by hand.
        let (ch, cw) = DreamRegionTests.canvas(90, 120, deg)
        var canvas = ImageOps.turned(x, degrees: deg, height: ch, width: cw)
        canvas.clamp(0, 255)
        var added = try d.dream(canvas, rng: &r2)
        added.subtract(canvas)
        var whole = x
        whole.add(ImageOps.turned(added, degrees: -deg, height: 90, width: 120))
        whole.clamp(0, 255)
        let base = try d.objectiveAndGradient(x).0
        let gain = try d.objectiveAndGradient(turned).0 / base, wholeGain = try d.objectiveAndGradient(whole).0 / base
        #expect(gain > 1.2 && abs(gain - wholeGain) < 0.2 * (wholeGain - 1), "objective ×\(gain) in bands against ×\(wholeGain) on the whole canvas")
        var a = turned, b = whole
        a.subtract(x); b.subtract(x)
        let change = a.meanAbs(), wholeChange = b.meanAbs()
        #expect(abs(change - wholeChange) < 0.2 * wholeChange, "mean change \(change) against \(wholeChange)")
        // A region of ten pixels in one row of a tall picture: only the bands that hold that row are dreamed (64 rows
        // each, moved by the roll and the jitter of up to 32 rows), so rows further away than that stay as they were.
        var tall = Tensor(zeros: Shape(3, 400, 100))
        for i in 0..<tall.count { tall.data[i] = 128 + 30 * rng.gaussian() }
        tall.clamp(0, 255)  // the steps clip every pixel to 0…255, in the region or not
        let one = DreamRegion(width: 100, lo: (0..<400).map { $0 == 200 ? 40 : 0 }, hi: (0..<400).map { $0 == 200 ? 50 : 0 })
        var r3 = SeededGenerator(seed: 2)
        let banded = try d.dream(tall, rng: &r3, region: one)
        var changedRows = Set<Int>()
        for c in 0..<3 { for y in 0..<400 { for xx in 0..<100 where banded.data[(c * 400 + y) * 100 + xx] != tall.data[(c * 400 + y) * 100 + xx] { changedRows.insert(y) } } }
        #expect(changedRows.contains(200) && changedRows.allSatisfy { abs($0 - 200) <= 64 + 32 + 4 },
                "rows changed: \(changedRows.min() ?? -1)…\(changedRows.max() ?? -1)")
    }

    /// The region's mean absolute value counts its own pixels only.
    @Test func meanAbsOverTheRegion() {
        var g = Tensor(zeros: Shape(3, 4, 5))
        for i in 0..<g.count { g.data[i] = 100 }  // outside: large
        let r = DreamRegion(width: 5, lo: [1, 0, 5, 2], hi: [3, 5, 5, 4])
        for c in 0..<3 { for y in 0..<4 { for x in 0..<5 where r.contains(y: y, x: x) { g.data[(c * 4 + y) * 5 + x] = y % 2 == 0 ? -2 : 2 } } }
        #expect(r.count == 9)
        #expect(abs(r.meanAbs(g) - 2) < 1e-9)
    }
}
