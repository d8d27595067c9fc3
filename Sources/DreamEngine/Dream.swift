import Foundation

/// What the dream maximises at each chosen layer.
public enum ObjectiveKind: String, Sendable, Codable, CaseIterable {
    /// 0.5 · mean(act²) — the seed's L2 objective.
    case l2
    /// mean(act)
    case mean
    /// The dot product of each position's activations with the best-matching feature of a guide picture
    /// (the DeepDream notebook's "controlling dreams"): the dream takes on the guide's patterns.
    case guide
}

/// Everything that shapes one dream, independent of the input image.
public struct DreamSettings: Sendable, Equatable, Codable {
    public var layers: [LayerWeight]
    public var objective: ObjectiveKind = .l2
    public var iterations: Int
    public var octaves: Int
    public var octaveScale: Float
    public var step: Float
    /// Maximum random roll in pixels per step.
    public var jitter: Int = 32
    /// Gaussian smoothing of the gradient (pixels); 0 = off.
    public var smooth: Float = 0
    /// Levels of Laplacian-pyramid normalisation of the gradient (the DeepDream notebook's `lap_norm`):
    /// each frequency band is scaled to the same strength, so coarse structure grows as fast as fine
    /// texture. 0 or 1 = off.
    public var laplacianLevels: Int = 0
    /// Tile side for big images; 0 = the model's default.
    public var tileSize: Int = 0

    public init(layers: [LayerWeight], objective: ObjectiveKind = .l2, iterations: Int, octaves: Int, octaveScale: Float,
                step: Float, jitter: Int = 32, smooth: Float = 0, tileSize: Int = 0, laplacianLevels: Int = 0) {
        self.layers = layers; self.objective = objective; self.iterations = iterations; self.octaves = octaves
        self.octaveScale = octaveScale; self.step = step; self.jitter = jitter; self.smooth = smooth; self.tileSize = tileSize
        self.laplacianLevels = laplacianLevels
    }

    /// How strongly the layers dream together: the sum of their weights' sizes. The gradient is normalised
    /// (divided by its mean absolute value), so weights alone would only set the mix; the step is scaled by
    /// this sum, so a layer at weight 0.5 dreams half as strongly, a cross-fade whose weights add up to 1
    /// keeps one dream's strength, and weights of 0 leave the picture as it is.
    public var weightScale: Float { layers.reduce(0) { $0 + Swift.abs($1.weight) } }

    public init(defaults d: DreamDefaults) {
        self.init(layers: d.layers, iterations: d.iterations, octaves: d.octaves, octaveScale: d.octaveScale, step: d.step)
    }

    /// Checks ranges; the message names the option and the allowed range.
    public func validate() throws(EngineError) {
        guard !layers.isEmpty else { throw .invalidArgument("at least one layer is needed") }
        guard layers.allSatisfy({ $0.weight.isFinite }) else { throw .invalidArgument("layer weights must be finite numbers") }
        guard iterations >= 1 && iterations <= 10_000 else { throw .invalidArgument("iterations must be 1…10000, got \(iterations)") }
        guard octaves >= 1 && octaves <= 12 else { throw .invalidArgument("octaves must be 1…12, got \(octaves)") }
        guard octaveScale > 1 && octaveScale <= 4 else { throw .invalidArgument("octave scale must be > 1 and ≤ 4, got \(octaveScale)") }
        guard step > 0 && step <= 100 else { throw .invalidArgument("step must be > 0 and ≤ 100, got \(step)") }
        guard jitter >= 0 && jitter <= 512 else { throw .invalidArgument("jitter must be 0…512 px, got \(jitter)") }
        guard smooth >= 0 && smooth <= 20 else { throw .invalidArgument("smooth must be 0…20 px, got \(smooth)") }
        guard laplacianLevels >= 0 && laplacianLevels <= 8 else { throw .invalidArgument("Laplacian levels must be 0…8, got \(laplacianLevels)") }
        guard tileSize == 0 || (tileSize >= 64 && tileSize <= 4096) else { throw .invalidArgument("tile size must be 64…4096 px, got \(tileSize)") }
    }
}

/// What a video frame's dream owes to the previous frame's, where `mask` (1×H×W, 0…1) says the previous
/// dream, carried along the motion to `target`, can be trusted:
/// - `blend`: the fraction of a dream the start picture already holds there, so the layer's push is
///   scaled by (1 − blend·mask) — a frame adds only what is missing, and the dream's strength stays
///   that of one dream instead of growing frame after frame;
/// - `weight`: the temporal term of Ruder et al. (2016): each step pulls a pixel by
///   weight·step·(target − pixel)/10 toward the target, so at weight 1 a pixel 10 levels away is pulled
///   back as hard as the dream pushes.
public struct TemporalGuide: Sendable {
    public var target: Tensor
    public var mask: Tensor
    public var weight: Float
    public var blend: Float
    public init(target: Tensor, mask: Tensor, weight: Float, blend: Float = 0) {
        self.target = target; self.mask = mask; self.weight = weight; self.blend = blend
    }

    /// The guide at another picture size (an octave).
    func resized(height: Int, width: Int) -> TemporalGuide {
        TemporalGuide(target: ImageOps.resize(target, height: height, width: width),
                      mask: ImageOps.resize(mask, height: height, width: width), weight: weight, blend: blend)
    }
}

/// Progress of a dream: octave (0-based, smallest first), iteration within it, and their counts.
public struct DreamProgress: Sendable {
    public var octave: Int, octaves: Int, iteration: Int, iterations: Int
    public var size: (h: Int, w: Int)
    public var objective: Double
}

/// Runs DeepDream on images with one network.
public struct Dreamer: Sendable {
    public let network: Network
    /// Each objective term: its node, weight, channels, objective kind, and for guide terms the guide's features.
    struct Target: Sendable {
        var index: Int
        var weight: Float
        var channels: [Int]?
        var kind: ObjectiveKind
        /// Guide features, C × Ng (channels × guide positions).
        var guide: Tensor?
    }
    let targets: [Target]
    let last: Int
    public let settings: DreamSettings
    /// Asked before every step: when it says so, the dream stops and throws `EngineError.cancelled`.
    public var shouldCancel: (@Sendable () -> Bool)? = nil
    /// Smallest side an input may have for the deepest target layer to exist.
    public let minimumSide: Int

    /// `guide`: the picture (RGB 0–255) whose features the `.guide` objective matches.
    public init(network: Network, settings: DreamSettings, guide: Tensor? = nil) throws(EngineError) {
        try settings.validate()
        self.network = network
        self.settings = settings
        var t: [Target] = []
        for l in settings.layers {
            let i = try network.graph.nodeIndex(l.name)
            t.append(Target(index: i, weight: l.weight, channels: l.channels, kind: l.kind ?? settings.objective, guide: nil))
        }
        // The forward pass stops at the deepest term that counts (a term faded to weight 0 costs nothing).
        last = (t.filter { $0.weight != 0 }.map(\.index).max() ?? t.map(\.index).max())!
        minimumSide = Dreamer.minimumSide(network.graph, nodes: t.map(\.index))
        // Channels must exist; their count does not depend on the picture size.
        let shapes = try network.graph.shapes(height: minimumSide, width: minimumSide)
        for (l, target) in zip(settings.layers, t) {
            let c = shapes[target.index].c
            if let bad = target.channels?.first(where: { $0 < 0 || $0 >= c }) {
                throw .invalidArgument("layer \(l.name) has \(c) channels (0…\(c - 1)); there is no channel \(bad)")
            }
            if target.channels?.isEmpty == true { throw .invalidArgument("layer \(l.name): the channel list is empty") }
        }
        if t.contains(where: { $0.kind == .guide }) {
            guard let guide else { throw .invalidArgument("the guide objective needs a guide picture") }
            guard guide.shape.c == 3, Swift.min(guide.shape.h, guide.shape.w) >= minimumSide else {
                throw .invalidArgument("the guide picture is \(guide.shape.w)×\(guide.shape.h); \(settings.layers.map(\.name).joined(separator: ", ")) needs at least \(minimumSide) px on its shorter side")
            }
            let acts = try network.graph.forward(guide, upTo: last, options: network.options)
            for k in t.indices where t[k].kind == .guide {
                let a = acts.output(t[k].index)
                t[k].guide = t[k].channels.map { Dreamer.select(a, channels: $0) } ?? a
            }
        }
        targets = t
    }

    /// The channels `channels` of `a`, in that order.
    static func select(_ a: Tensor, channels: [Int]) -> Tensor {
        var out = Tensor(zeros: Shape(channels.count, a.shape.h, a.shape.w))
        let p = a.shape.plane
        for (k, c) in channels.enumerated() { out.data.replaceSubrange((k * p)..<((k + 1) * p), with: a.data[(c * p)..<((c + 1) * p)]) }
        return out
    }

    /// Smallest square input side (a multiple of 8, at least 16) for which every node in `nodes` exists.
    public static func minimumSide(_ graph: Graph, nodes: [Int]) -> Int {
        var side = 16
        while side < 1024 {
            if let s = try? graph.shapes(height: side, width: side), nodes.allSatisfy({ s[$0].h >= 1 && s[$0].w >= 1 }) { break }
            side += 8
        }
        return side
    }

    /// Objective value and its gradient w.r.t. the RGB 0–255 image `x` (one forward + backward).
    public func objectiveAndGradient(_ x: Tensor) throws(EngineError) -> (Double, Tensor) {
        let acts = try network.graph.forward(x, upTo: last, options: network.options)
        var seeds: [Int: Tensor] = [:]
        var total = 0.0
        for t in targets where t.weight != 0 {
            let (v, g) = Dreamer.term(acts.output(t.index), t, options: network.options)
            total += v
            if seeds[t.index] == nil { seeds[t.index] = g } else { seeds[t.index]!.add(g) }
        }
        return (total, network.graph.backward(acts, seeds: seeds, options: network.options))
    }

    /// One term's value and its gradient with respect to the layer's output `a` (C×H×W).
    static func term(_ a: Tensor, _ t: Target, options: EngineOptions) -> (Double, Tensor) {
        let plane = a.shape.plane
        let w = t.weight
        if t.channels == nil && t.kind != .guide {
            let n = Float(a.count)
            switch t.kind {
            case .l2:
                var g = a
                g.scale(by: w / n)
                return (Double(w) * 0.5 * a.sumOfSquares() / Double(n), g)
            default:
                return (Double(w) * a.mean(), Tensor(repeating: w / n, shape: a.shape))
            }
        }
        let channels = t.channels ?? Array(0..<a.shape.c)
        let n = Float(channels.count * plane)
        var g = Tensor(zeros: a.shape)
        var value = 0.0
        switch t.kind {
        case .l2, .mean:
            for c in channels {
                let range = (c * plane)..<((c + 1) * plane)
                for i in range {
                    let v = a.data[i]
                    if t.kind == .l2 { value += 0.5 * Double(v) * Double(v); g.data[i] += v * w / n } else { value += Double(v); g.data[i] += w / n }
                }
            }
            return (Double(w) * value / Double(n), g)
        case .guide:
            // Scores S (positions × guide positions) = Aᵀ Y; each position follows its best-matching guide feature.
            let y = t.guide!
            let x = t.channels.map { select(a, channels: $0) } ?? a
            let ng = y.shape.plane, k = x.shape.c
            var scores = [Float](repeating: 0, count: plane * ng)
            x.data.withUnsafeBufferPointer { xp in
                y.data.withUnsafeBufferPointer { yp in
                    scores.withUnsafeMutableBufferPointer { sp in
                        gemm(transA: true, m: plane, n: ng, k: k, xp.baseAddress!, lda: plane, yp.baseAddress!, ldb: ng,
                             sp.baseAddress!, ldc: ng, threads: options.threads)
                    }
                }
            }
            let scale = w / Float(plane)
            for i in 0..<plane {
                var best = 0, top = -Float.infinity
                for j in 0..<ng where scores[i * ng + j] > top { top = scores[i * ng + j]; best = j }
                value += Double(top)
                for (kk, c) in channels.enumerated() { g.data[c * plane + i] = scale * y.data[kk * ng + best] }
            }
            return (Double(w) * value / Double(plane), g)
        }
    }

    /// The gradient of the image rolled by `shift` (the jitter), returned in the image's own coordinates.
    /// Images larger than the tile size are computed in tiles after a further random roll, so memory stays
    /// bounded and tile seams move every step; the two rolls are applied as one.
    func jitteredGradient(_ x: Tensor, shift: (dy: Int, dx: Int), region: DreamRegion? = nil,
                          rng: inout SeededGenerator) throws(EngineError) -> (Double, Tensor) {
        let s = x.shape
        if let region {
            // Only the tiles the region needs (`DreamRegion.tiles`), the bands moved by a random roll and the seams
            // within them by a random phase.
            let ry = rng.int(in: 0...Dreamer.regionBandHeight) + shift.dy
            let phase = Double(rng.int(in: 0...1_000_000)) / 1_000_000
            let tiles = region.tiles(rolledBy: ry, shift.dx, bandHeight: Swift.min(tileSide, Dreamer.regionBandHeight),
                                     tileWidth: tileSide, minimumSide: minimumSide, phase: phase)
            return try gradient(x, roll: (ry, shift.dx), tiles: tiles)
        }
        let tiles = self.tiles(height: s.h, width: s.w)
        if tiles.count == 1 {
            let (v, g) = try objectiveAndGradient(ImageOps.roll(x, dy: shift.dy, dx: shift.dx))
            return (v, ImageOps.roll(g, dy: -shift.dy, dx: -shift.dx))
        }
        let ry = rng.int(in: 0...tiles[0].height) + shift.dy, rx = rng.int(in: 0...tiles[0].width) + shift.dx
        return try tiledGradient(x, roll: (ry, rx))
    }

    /// The objective and its gradient as a dream step computes them on a picture larger than a tile: the picture
    /// rolled by `roll`, split evenly into tiles no larger than the tile size (`tiles`), each tile's own objective
    /// and gradient (the value weighted by the tile's share of the picture), the gradient rolled back. Public so
    /// the golden test can check it against an independent reference.
    public func tiledGradient(_ x: Tensor, roll: (dy: Int, dx: Int)) throws(EngineError) -> (Double, Tensor) {
        try gradient(x, roll: roll, tiles: tiles(height: x.shape.h, width: x.shape.w))
    }

    /// The picture rolled by `roll`, each of `tiles` (in rolled coordinates; columns may wrap round the right edge)
    /// through the network on its own, the gradients pasted where their tiles are (zero elsewhere) and rolled
    /// back; the objective is the tiles' own, weighted by their areas.
    func gradient(_ x: Tensor, roll: (dy: Int, dx: Int), tiles: [(y: Int, x: Int, height: Int, width: Int)]) throws(EngineError) -> (Double, Tensor) {
        let rolled = ImageOps.roll(x, dy: roll.dy, dx: roll.dx)
        var grad = Tensor(zeros: x.shape)
        var total = 0.0, area = 0
        for t in tiles {
            let part = ImageOps.cropWrapped(rolled, y: t.y, x: t.x, height: t.height, width: t.width)
            let (v, g) = try objectiveAndGradient(part)
            total += v * Double(part.shape.plane)
            area += part.shape.plane
            ImageOps.pasteWrapped(g, into: &grad, y: t.y, x: t.x)
        }
        return (area > 0 ? total / Double(area) : 0, ImageOps.roll(grad, dy: -roll.dy, dx: -roll.dx))
    }

    /// Bands of this many rows at most cut a region's picture into tiles (`DreamRegion.tiles`): the smaller the
    /// bands, the closer they follow a tilted picture's edges, and the more seams the network sees.
    static let regionBandHeight = 320

    /// The tile side: the settings' or the model's.
    var tileSide: Int { settings.tileSize > 0 ? settings.tileSize : network.definition.tileSize }

    /// Throws unless `region` (when there is one) has the picture's size.
    func check(_ region: DreamRegion?, fits x: Tensor) throws(EngineError) {
        if let region, region.height != x.shape.h || region.width != x.shape.w {
            throw .invalidArgument("the dream's region is \(region.width)×\(region.height) but the picture is \(x.shape.w)×\(x.shape.h)")
        }
    }

    /// A picture of `height`×`width` split evenly into tiles no larger than the tile size (memory stays
    /// bounded whatever the picture's size), row by row.
    func tiles(height: Int, width: Int) -> [(y: Int, x: Int, height: Int, width: Int)] {
        let tile = tileSide
        let ny = (height + tile - 1) / tile, nx = (width + tile - 1) / tile
        var out: [(y: Int, x: Int, height: Int, width: Int)] = []
        for ty in 0..<ny {
            let y0 = height * ty / ny, y1 = height * (ty + 1) / ny
            for tx in 0..<nx {
                let x0 = width * tx / nx, x1 = width * (tx + 1) / nx
                out.append((y0, x0, y1 - y0, x1 - x0))
            }
        }
        return out
    }

    /// One gradient-ascent step in place (the seed's `make_step`): random roll, gradient, normalise by the
    /// mean absolute value, step, un-roll, clip. Returns the objective before the step.
    /// With a `region`, only its pixels are dreamed (`DreamRegion`).
    @discardableResult
    public func step(_ x: inout Tensor, rng: inout SeededGenerator, temporal: TemporalGuide? = nil,
                     region: DreamRegion? = nil) throws(EngineError) -> Double {
        let j = settings.jitter
        try check(region, fits: x)
        let oy = j > 0 ? rng.int(in: -j...j) : 0, ox = j > 0 ? rng.int(in: -j...j) : 0
        var (value, g) = try jitteredGradient(x, shift: (oy, ox), region: region, rng: &rng)
        if settings.smooth > 0 { g = ImageOps.gaussianBlur(g, sigma: settings.smooth) }
        if settings.laplacianLevels > 1 { ImageOps.laplacianNormalize(&g, levels: settings.laplacianLevels) }
        let meanAbs = region?.meanAbs(g) ?? g.meanAbs()
        guard meanAbs.isFinite, value.isFinite else {
            throw .numericalFailure("the objective of \(settings.layers.map(\.description).joined(separator: ", ")) became \(value.isFinite ? "finite but its gradient is not" : "\(value)") — damaged weights or a layer weight far too large")
        }
        let scale = settings.step * settings.weightScale / Float(Swift.max(meanAbs, 1e-8))
        if let temporal, temporal.blend > 0 {
            g = ImageOps.blend(g, toward: Tensor(zeros: g.shape), mask: temporal.mask, amount: temporal.blend)
        }
        x.add(g, scaledBy: scale)
        if let temporal, temporal.weight > 0 {
            x = ImageOps.blend(x, toward: temporal.target, mask: temporal.mask, amount: Swift.min(1, temporal.weight * settings.step / 10))
        }
        x.clamp(0, 255)
        return value
    }

    /// The octave pyramid sizes, largest first, stopping before the network's minimum input size.
    public func octaveSizes(height: Int, width: Int) -> [(h: Int, w: Int)] {
        var sizes = [(height, width)]
        let minSide = minimumSide
        while sizes.count < settings.octaves {
            let (h, w) = sizes.last!
            let nh = Int((Float(h) / settings.octaveScale).rounded()), nw = Int((Float(w) / settings.octaveScale).rounded())
            if Swift.min(nh, nw) < minSide { break }
            sizes.append((nh, nw))
        }
        return sizes
    }

    /// Margin, in pixels, of canvas dreamed around a turned picture: the turn back's bicubic reach and a little
    /// mirrored context at the picture's edges.
    static let turnMargin: Float = 8

    /// `dream` made on a pixel grid turned by `degrees` against the picture: the picture is turned onto a canvas
    /// that holds all of it (mirrored beyond its edges), dreamed there, and only what the dream added is turned
    /// back and added, so the picture itself is resampled no further. A network on a square pixel grid does not
    /// answer every direction alike: efficientnet-lite0's dream adds about a third more power (at periods of
    /// 4–24 px) along its grid's diagonals than along its rows and columns, whatever the picture. One picture
    /// does not show it, but a zoom keeps every edge's direction from frame to frame, so the excess compounds
    /// into straight lines along the grid's diagonals; a different turn each frame averages it out. The canvas
    /// has up to twice the pixels (×1.64 on average for turns spread evenly over 90°, ×1.77 for 16:9), but only
    /// the turned picture and a `turnMargin` around it are dreamed (`DreamRegion`), in bands of rows cut to it.
    public func dream(_ image: Tensor, gridTurn degrees: Float, rng: inout SeededGenerator,
                      progress: ((DreamProgress) -> Void)? = nil) throws(EngineError) -> Tensor {
        if degrees == 0 { return try dream(image, rng: &rng, progress: progress) }
        let a = degrees * Float.pi / 180
        let ca = Swift.abs(Foundation.cos(a)), sa = Swift.abs(Foundation.sin(a))
        let h = image.shape.h, w = image.shape.w
        let cw = Int((Float(w) * ca + Float(h) * sa).rounded(.up)), ch = Int((Float(w) * sa + Float(h) * ca).rounded(.up))
        var canvas = ImageOps.turned(image, degrees: degrees, height: ch, width: cw)
        canvas.clamp(0, 255)
        let region = DreamRegion.turnedPicture(height: h, width: w, degrees: degrees, canvasHeight: ch, canvasWidth: cw,
                                               margin: Dreamer.turnMargin)
        var added = try dream(canvas, rng: &rng, region: region, progress: progress)
        added.subtract(canvas)
        var out = image
        out.add(ImageOps.turned(added, degrees: -degrees, height: h, width: w))
        out.clamp(0, 255)
        return out
    }

    /// DeepDream with octaves: dream the smallest blurred, downscaled copy first, then upscale the
    /// detail it added, add it to the next larger copy, and dream again (the seed's `deepdream`).
    /// With a `region` (the image's size), only its pixels are dreamed (`DreamRegion`); the rest stays as it is.
    public func dream(_ image: Tensor, rng: inout SeededGenerator, temporal: TemporalGuide? = nil, region: DreamRegion? = nil,
                      progress: ((DreamProgress) -> Void)? = nil) throws(EngineError) -> Tensor {
        guard image.shape.c == 3 else { throw .invalidArgument("dream expects an RGB image") }
        let sizes = octaveSizes(height: image.shape.h, width: image.shape.w)
        guard Swift.min(image.shape.h, image.shape.w) >= minimumSide else {
            throw .invalidArgument("image \(image.shape.w)×\(image.shape.h) is too small for layer(s) \(settings.layers.map(\.name).joined(separator: ", ")); the smaller side must be at least \(minimumSide) px")
        }
        try check(region, fits: image)  // before the octaves resize it to fit
        if settings.weightScale == 0 { return image }  // every layer faded out: nothing to dream
        var bases = [image]
        let sigma = Swift.max(0.5, settings.octaveScale - 1)  // anti-alias before each downscale
        for (h, w) in sizes.dropFirst() {
            bases.append(ImageOps.resize(ImageOps.gaussianBlur(bases.last!, sigma: sigma), height: h, width: w))
        }
        var detail = Tensor(zeros: bases.last!.shape)
        var x = image
        for (o, base) in bases.reversed().enumerated() {
            if detail.shape != base.shape { detail = ImageOps.resize(detail, height: base.shape.h, width: base.shape.w) }
            x = base
            x.add(detail)
            ImageOps.clip(&x, 0, 255)
            let g = temporal.map { $0.target.shape.h == base.shape.h && $0.target.shape.w == base.shape.w ? $0 : $0.resized(height: base.shape.h, width: base.shape.w) }
            let r = region?.resized(height: base.shape.h, width: base.shape.w)
            for i in 0..<settings.iterations {
                if let shouldCancel, shouldCancel() { throw .cancelled }
                let v = try step(&x, rng: &rng, temporal: g, region: r)
                progress?(DreamProgress(octave: o, octaves: bases.count, iteration: i, iterations: settings.iterations,
                                        size: (base.shape.h, base.shape.w), objective: v))
            }
            detail = x
            detail.subtract(base)
        }
        return x
    }
}
