import Foundation

/// What the dream maximises at each chosen layer.
public enum ObjectiveKind: String, Sendable, Codable, CaseIterable {
    /// 0.5 · mean(act²) — the seed's L2 objective.
    case l2
    /// mean(act)
    case mean
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
    /// Tile side for big images; 0 = the model's default.
    public var tileSize: Int = 0

    public init(layers: [LayerWeight], objective: ObjectiveKind = .l2, iterations: Int, octaves: Int, octaveScale: Float,
                step: Float, jitter: Int = 32, smooth: Float = 0, tileSize: Int = 0) {
        self.layers = layers; self.objective = objective; self.iterations = iterations; self.octaves = octaves
        self.octaveScale = octaveScale; self.step = step; self.jitter = jitter; self.smooth = smooth; self.tileSize = tileSize
    }

    public init(defaults d: DreamDefaults) {
        self.init(layers: d.layers, iterations: d.iterations, octaves: d.octaves, octaveScale: d.octaveScale, step: d.step)
    }

    /// Checks ranges; the message names the option and the allowed range.
    public func validate() throws(EngineError) {
        guard !layers.isEmpty else { throw .invalidArgument("at least one --layer is needed") }
        guard iterations >= 1 && iterations <= 10_000 else { throw .invalidArgument("iterations must be 1…10000, got \(iterations)") }
        guard octaves >= 1 && octaves <= 12 else { throw .invalidArgument("octaves must be 1…12, got \(octaves)") }
        guard octaveScale > 1 && octaveScale <= 4 else { throw .invalidArgument("octave scale must be > 1 and ≤ 4, got \(octaveScale)") }
        guard step > 0 && step <= 100 else { throw .invalidArgument("step must be > 0 and ≤ 100, got \(step)") }
        guard jitter >= 0 && jitter <= 512 else { throw .invalidArgument("jitter must be 0…512 px, got \(jitter)") }
        guard smooth >= 0 && smooth <= 20 else { throw .invalidArgument("smooth must be 0…20 px, got \(smooth)") }
        guard tileSize == 0 || (tileSize >= 64 && tileSize <= 4096) else { throw .invalidArgument("tile size must be 64…4096 px, got \(tileSize)") }
    }
}

/// What a video frame's dream owes to the previous frame's, where `mask` (1×H×W, 0…1) says the previous
/// dream, carried along the motion to `target`, can be trusted:
/// - `carried`: the fraction of a dream the start picture already holds there, so the layer's push is
///   scaled by (1 − carried·mask) — a frame adds only what is missing, and the dream's strength stays
///   that of one dream instead of growing frame after frame;
/// - `weight`: the temporal term of Ruder et al. (2016): each step pulls a pixel by
///   weight·step·(target − pixel)/10 toward the target, so at weight 1 a pixel 10 levels away is pulled
///   back as hard as the dream pushes.
public struct TemporalGuide: Sendable {
    public var target: Tensor
    public var mask: Tensor
    public var weight: Float
    public var carried: Float
    public init(target: Tensor, mask: Tensor, weight: Float, carried: Float = 0) {
        self.target = target; self.mask = mask; self.weight = weight; self.carried = carried
    }

    /// The guide at another picture size (an octave).
    func resized(height: Int, width: Int) -> TemporalGuide {
        TemporalGuide(target: ImageOps.resize(target, height: height, width: width),
                      mask: ImageOps.resize(mask, height: height, width: width), weight: weight, carried: carried)
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
    let targets: [(index: Int, weight: Float)]
    let last: Int
    public let settings: DreamSettings
    /// Smallest side an input may have for the deepest target layer to exist.
    public let minimumSide: Int

    public init(network: Network, settings: DreamSettings) throws(EngineError) {
        try settings.validate()
        self.network = network
        self.settings = settings
        var t: [(Int, Float)] = []
        for l in settings.layers {
            t.append((try network.graph.nodeIndex(l.name), l.weight))
        }
        targets = t
        last = t.map(\.0).max()!
        minimumSide = Dreamer.minimumSide(network.graph, nodes: t.map(\.0))
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
        for (i, w) in targets {
            let a = acts.output(i)
            let n = Float(a.count)
            var g: Tensor
            switch settings.objective {
            case .l2:
                total += Double(w) * 0.5 * a.sumOfSquares() / Double(n)
                g = a
                g.scale(by: w / n)
            case .mean:
                total += Double(w) * a.mean()
                g = Tensor(repeating: w / n, shape: a.shape)
            }
            if seeds[i] == nil { seeds[i] = g } else { seeds[i]!.add(g) }
        }
        return (total, network.graph.backward(acts, seeds: seeds, options: network.options))
    }

    /// The gradient of the image rolled by `shift` (the jitter), returned in the image's own coordinates.
    /// Images larger than the tile size are computed in tiles after a further random roll, so memory stays
    /// bounded and tile seams move every step; the two rolls are applied as one.
    func jitteredGradient(_ x: Tensor, shift: (dy: Int, dx: Int), rng: inout SeededGenerator) throws(EngineError) -> (Double, Tensor) {
        let tile = settings.tileSize > 0 ? settings.tileSize : network.definition.tileSize
        let s = x.shape
        let ny = (s.h + tile - 1) / tile, nx = (s.w + tile - 1) / tile
        if ny == 1 && nx == 1 {
            let (v, g) = try objectiveAndGradient(ImageOps.roll(x, dy: shift.dy, dx: shift.dx))
            return (v, ImageOps.roll(g, dy: -shift.dy, dx: -shift.dx))
        }
        let ry = rng.int(in: 0...(s.h / ny)) + shift.dy, rx = rng.int(in: 0...(s.w / nx)) + shift.dx
        let rolled = ImageOps.roll(x, dy: ry, dx: rx)
        var grad = Tensor(zeros: s)
        var total = 0.0
        for ty in 0..<ny {
            let y0 = s.h * ty / ny, y1 = s.h * (ty + 1) / ny
            for tx in 0..<nx {
                let x0 = s.w * tx / nx, x1 = s.w * (tx + 1) / nx
                let part = ImageOps.crop(rolled, y: y0, x: x0, height: y1 - y0, width: x1 - x0)
                let (v, g) = try objectiveAndGradient(part)
                total += v * Double(part.shape.plane) / Double(s.plane)
                ImageOps.paste(g, into: &grad, y: y0, x: x0)
            }
        }
        return (total, ImageOps.roll(grad, dy: -ry, dx: -rx))
    }

    /// One gradient-ascent step in place (the seed's `make_step`): random roll, gradient, normalise by the
    /// mean absolute value, step, un-roll, clip. Returns the objective before the step.
    @discardableResult
    public func step(_ x: inout Tensor, rng: inout SeededGenerator, guide: TemporalGuide? = nil) throws(EngineError) -> Double {
        let j = settings.jitter
        let oy = j > 0 ? rng.int(in: -j...j) : 0, ox = j > 0 ? rng.int(in: -j...j) : 0
        var (value, g) = try jitteredGradient(x, shift: (oy, ox), rng: &rng)
        if settings.smooth > 0 { g = ImageOps.gaussianBlur(g, sigma: settings.smooth) }
        let meanAbs = g.meanAbs()
        guard meanAbs.isFinite, value.isFinite else {
            throw .numericalFailure("the objective of \(settings.layers.map(\.description).joined(separator: ", ")) became \(value.isFinite ? "finite but its gradient is not" : "\(value)") — damaged weights or a layer weight far too large")
        }
        let scale = settings.step / Float(Swift.max(meanAbs, 1e-8))
        if let guide, guide.carried > 0 {
            g = ImageOps.blend(g, toward: Tensor(zeros: g.shape), mask: guide.mask, amount: guide.carried)
        }
        x.add(g, scaledBy: scale)
        if let guide, guide.weight > 0 {
            x = ImageOps.blend(x, toward: guide.target, mask: guide.mask, amount: Swift.min(1, guide.weight * settings.step / 10))
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

    /// DeepDream with octaves: dream the smallest blurred, downscaled copy first, then upscale the
    /// detail it added, add it to the next larger copy, and dream again (the seed's `deepdream`).
    public func dream(_ image: Tensor, rng: inout SeededGenerator, guide: TemporalGuide? = nil,
                      progress: ((DreamProgress) -> Void)? = nil) throws(EngineError) -> Tensor {
        guard image.shape.c == 3 else { throw .invalidArgument("dream expects an RGB image") }
        let sizes = octaveSizes(height: image.shape.h, width: image.shape.w)
        guard Swift.min(image.shape.h, image.shape.w) >= minimumSide else {
            throw .invalidArgument("image \(image.shape.w)×\(image.shape.h) is too small for layer(s) \(settings.layers.map(\.name).joined(separator: ", ")); the smaller side must be at least \(minimumSide) px")
        }
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
            let g = guide.map { $0.target.shape.h == base.shape.h && $0.target.shape.w == base.shape.w ? $0 : $0.resized(height: base.shape.h, width: base.shape.w) }
            for i in 0..<settings.iterations {
                let v = try step(&x, rng: &rng, guide: g)
                progress?(DreamProgress(octave: o, octaves: bases.count, iteration: i, iterations: settings.iterations,
                                        size: (base.shape.h, base.shape.w), objective: v))
            }
            detail = x
            detail.subtract(base)
        }
        return x
    }
}
