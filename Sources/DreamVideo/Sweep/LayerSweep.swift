import DreamEngine
import Foundation
import MediaIO

/// One picture dreamed once per layer, laid out as a labelled contact sheet: the seed's lesson that
/// patterns grow from edges to textures to eyes to faces with depth, made visible to choose layers.
public struct LayerSweep: Sendable {
    public var input: String
    public var model: String
    /// Layers to dream (nil: every listed layer of the model; with `all`, internal nodes too).
    public var layers: [String]?
    public var all = false
    public var maxSide = 256
    /// Steps per octave of one round (nil: the model's quick setting).
    public var iterations: Int? = nil
    public var octaves: Int? = nil
    /// Every tile is dreamed until the layer's objective has risen by this factor over the picture's own
    /// (or `maxRounds` rounds of `iterations` × `octaves` steps are spent), so deep layers, which a few
    /// steps barely change, show their patterns as clearly as shallow ones.
    public var targetGain = 4.0
    public var maxRounds = 5
    public var seed: UInt64 = 0

    /// What one tile took: its objective's gain and the steps spent.
    public struct TileReport: Sendable {
        public var layer: String
        public var gain: Double
        public var steps: Int
        public var seconds: Double
    }

    public init(input: String, model: String, layers: [String]? = nil, all: Bool = false) {
        self.input = input; self.model = model; self.layers = layers; self.all = all
    }

    /// Checks the sheet can be written before anything is dreamed: its folder exists and is writable, it is not
    /// the input (whatever `overwrite` says), and it does not exist unless `overwrite`.
    public static func checkOutput(_ output: String, input: String, overwrite: Bool) throws {
        try AtomicFile.checkWritableFolder(for: output)
        if !StartImage.isSynthetic(input), samePath(input, output) {
            throw DreamVideoError.invalidArgument("\(output): the output is the input; choose another output name")
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: output, isDirectory: &isDir) {
            if isDir.boolValue { throw DreamVideoError.invalidArgument("\(output): is a folder") }
            if !overwrite { throw DreamVideoError.outputExists(output) }
        } else if !overwrite && entryExists(output) {
            throw DreamVideoError.outputExists(output)  // a dangling symbolic link is not ours to replace either
        }
    }

    /// The layers swept: the given ones (checked), or every public layer but the classifier and poolings.
    public func chosenLayers() throws -> [String] {
        let graph = try ModelProfiles.architecture(model)
        if let layers {
            for l in layers {
                do { _ = try graph.nodeIndex(l) } catch {
                    let hint = closeMatch(l, in: graph.nodes.map(\.name)).map { " (did you mean \($0)?)" } ?? ""
                    throw DreamVideoError.invalidArgument("'\(l)' is not a layer of \(model)\(hint); list them with `dreamvideo models layers \(model)`")
                }
            }
            return layers
        }
        let logits = try ModelProfiles.profile(model).definition.logits
        return graph.nodes.filter { (all || $0.isPublic) && $0.name != logits && !$0.layer.kind.contains("pool") && $0.layer.kind != "preprocess" }.map(\.name)
    }

    /// Dreams every layer and returns the sheet. `progress(done, total, layer)` after each tile.
    public func render(store: ModelStore = ModelStore(), progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> RGBImage {
        try renderWithReport(store: store, progress: progress).sheet
    }

    /// The sheet and, per tile, how far its dream went.
    public func renderWithReport(store: ModelStore = ModelStore(), progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> (sheet: RGBImage, tiles: [TileReport]) {
        let quick = try ModelProfiles.profile(model).sweep
        let iterations = self.iterations ?? quick.iterations, octaves = self.octaves ?? quick.octaves
        guard (1...40).contains(iterations), (1...6).contains(octaves), (64...1024).contains(maxSide), (1...20).contains(maxRounds),
              targetGain.isFinite, targetGain >= 1, targetGain <= 1000 else {
            throw DreamVideoError.invalidArgument("sweep: iterations 1…40, octaves 1…6, max-side 64…1024, rounds 1…20 and a gain of 1…1000 keep a sheet quick")
        }
        let names = try chosenLayers()
        guard !names.isEmpty, names.count <= 200 else { throw DreamVideoError.invalidArgument("sweep: \(names.count) layers; give 1…200") }
        var rng = SeededGenerator(seed: seed)
        let start = try StartImage.load(input, size: StartImage.isSynthetic(input) ? FrameSize(width: maxSide, height: maxSide) : nil,
                                        maxSide: maxSide, rng: &rng)
        let graph = try ModelProfiles.architecture(model)
        let shapes = try graph.shapes(height: start.shape.h, width: start.shape.w)
        let network = try store.load(model)
        var tiles: [(RGBImage, [String])] = []
        var reports: [TileReport] = []
        for (i, name) in names.enumerated() {
            let t0 = Date()
            let node = try graph.nodeIndex(name)
            // Convolutions; an expansion fused with its depthwise convolution is two.
            let depth = graph.nodes[0...node].map { ["conv": 1, "dwconv": 1, "expand+dwconv": 2][$0.layer.kind] ?? 0 }.reduce(0, +)
            let settings = DreamSettings(layers: [LayerWeight(name)], iterations: iterations, octaves: octaves, octaveScale: 1.4, step: quick.step)
            let dreamer = try Dreamer(network: network, settings: settings)
            var r = SeededGenerator(seed: seed)
            var label = [name, "depth \(depth), \(shapes[node].c) ch"]
            var report = TileReport(layer: name, gain: 1, steps: 0, seconds: 0)
            let image: RGBImage
            if min(start.shape.h, start.shape.w) >= dreamer.minimumSide {
                // Rounds of the octave dream, each from the last one's picture, until the objective has
                // risen by the target factor.
                let objective = try LayerObjective(network: network, layer: name)
                let base = max(1e-12, try objective.value(start))
                var x = start
                for _ in 0..<maxRounds {
                    x = try dreamer.dream(x, rng: &r)
                    report.steps += iterations * dreamer.octaveSizes(height: x.shape.h, width: x.shape.w).count
                    report.gain = try objective.value(x) / base
                    if report.gain >= targetGain { break }
                }
                image = x.rgbImage()
                label[1] += String(format: ", ×%.1f/%d", report.gain, report.steps)
            } else {
                image = start.rgbImage()  // the layer needs a bigger picture: show the input
                label[1] += ", too small"
            }
            report.seconds = Date().timeIntervalSince(t0)
            reports.append(report)
            tiles.append((image, label))
            progress(i + 1, names.count, name)
        }
        return (LayerSweep.sheet(tiles), reports)
    }

    /// Lays tiles out in a grid with their labels below, on a dark background.
    static func sheet(_ tiles: [(RGBImage, [String])]) -> RGBImage {
        let cols = Int(Double(tiles.count).squareRoot().rounded(.up))
        let rows = (tiles.count + cols - 1) / cols
        let tw = tiles.map(\.0.width).max() ?? 1, th = tiles.map(\.0.height).max() ?? 1
        let scale = tw >= 200 ? 2 : 1
        let lineH = BitmapFont.glyphHeight * scale + 4 * scale
        let labelH = 2 * lineH + 4
        let pad = 8
        let w = cols * (tw + pad) + pad, h = rows * (th + labelH + pad) + pad
        var pixels = [UInt8](repeating: 24, count: w * h * 3)
        for (i, (img, label)) in tiles.enumerated() {
            let x0 = pad + (i % cols) * (tw + pad), y0 = pad + (i / cols) * (th + labelH + pad)
            for y in 0..<img.height {
                let src = y * img.width * 3, dst = ((y0 + y) * w + x0) * 3
                pixels.replaceSubrange(dst..<(dst + img.width * 3), with: img.pixels[src..<(src + img.width * 3)])
            }
            for (k, line) in label.enumerated() {
                BitmapFont.draw(line, into: &pixels, width: w, height: h, x: x0, y: y0 + img.height + 4 + k * lineH,
                                scale: scale, color: k == 0 ? (240, 240, 240) : (170, 170, 170))
            }
        }
        return RGBImage(width: w, height: h, pixels: pixels)
    }
}
