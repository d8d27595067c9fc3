import ArgumentParser
import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import ModelImport

@main
struct DreamVideoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dreamvideo",
        abstract: "DeepDream images and videos on the CPU.",
        version: DreamVideoInfo.version,
        subcommands: [DreamImage.self, Zoom.self, Classify.self, Models.self])

    /// Runs the command, turning every error into one line on stderr and a non-zero exit.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let e as DreamEngine.EngineError {
            fail(e.description)
        } catch let e as MediaError {
            fail(e.description)
        } catch let e as DreamVideoError {
            fail(e.description)
        } catch let e as ImportError {
            fail(e.description)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            // --help and --version print and exit 0; usage errors become one line, like every other error.
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("dreamvideo: error: \(message) (see 'dreamvideo help')\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("dreamvideo: error: \(message)\n".utf8))
        Foundation.exit(1)
    }
}

/// The dream options shared by every command that dreams.
struct DreamOptions: ParsableArguments {
    @Option(help: "Model: efficientnet-lite0 (default), vgg16-hed, googlenet.")
    var model: String = ModelZoo.defaultName

    @Option(name: .customLong("layer"), help: ArgumentHelp("Layer to amplify, NAME or NAME:WEIGHT; repeat for several. Default: the model's.", valueName: "name[:weight]"))
    var layers: [String] = []

    @Option(help: "Number of octaves (scales), 1…12.")
    var octaves: Int?

    @Option(help: "Scale between octaves, > 1.")
    var octaveScale: Float?

    @Option(help: "Gradient-ascent steps per octave.")
    var iterations: Int?

    @Option(help: "Step size in pixel units (0–255) after normalising the gradient.")
    var step: Float?

    @Option(help: "Maximum random shift in pixels per step.")
    var jitter: Int = 32

    @Option(help: "Gaussian smoothing of the gradient in pixels (0 = off).")
    var smooth: Float = 0

    @Option(help: "Objective per layer: l2 (0.5·mean(act²)) or mean.")
    var objective: ObjectiveKind = .l2

    @Option(help: "Tile side in pixels for big images (0 = the model's default).")
    var tile: Int = 0

    @Option(help: "Random seed; the same seed, inputs and flags give the same output.")
    var seed: UInt64 = 0

    func validate() throws {
        if let iterations, iterations <= 0 { throw ValidationError("--iterations must be at least 1.") }
        if let octaves, octaves <= 0 { throw ValidationError("--octaves must be at least 1.") }
        if let octaveScale, !(octaveScale > 1) { throw ValidationError("--octave-scale must be greater than 1.") }
        if let step, !(step > 0) { throw ValidationError("--step must be greater than 0.") }
        if jitter < 0 { throw ValidationError("--jitter must be 0 or more.") }
        if smooth < 0 { throw ValidationError("--smooth must be 0 or more.") }
    }

    func settings(for def: ModelDefinition, video: Bool = false) throws -> DreamSettings {
        var s = DreamSettings(defaults: video ? def.videoDefaults : def.defaults)
        if !layers.isEmpty { s.layers = try layers.map { try LayerWeight(parsing: $0) } }
        if let octaves { s.octaves = octaves }
        if let octaveScale { s.octaveScale = octaveScale }
        if let iterations { s.iterations = iterations }
        if let step { s.step = step }
        s.jitter = jitter; s.smooth = smooth; s.objective = objective; s.tileSize = tile
        try s.validate()
        return s
    }
}

extension ObjectiveKind: ExpressibleByArgument {}

struct OutputOptions: ParsableArguments {
    @Flag(name: [.customShort("q"), .long], help: "Print nothing but errors.")
    var quiet = false
    @Flag(help: "Print per-octave detail.")
    var verbose = false

    var showProgress: Bool { !quiet && isatty(STDERR_FILENO) != 0 }
    func log(_ s: String) { if !quiet { FileHandle.standardError.write(Data((s + "\n").utf8)) } }
}

func loadNetwork(_ name: String, output: OutputOptions) throws -> Network {
    try ModelStore().load(name, log: { output.log($0) })
}

struct DreamImage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Dream one image.",
        discussion: "INPUT is an image file (PNG, JPEG, WebP, …) or white, gray or noise with --size.")

    @Argument(help: "Input image, or white / gray / noise.")
    var input: String

    @Option(name: .shortAndLong, help: "Output image (.png or .jpg).")
    var output: String

    @Option(help: "Size WxH for synthetic inputs, or to resize the input.")
    var size: String?

    @Option(help: "Shrink the input so its longer side is at most this many pixels.")
    var maxSide: Int?

    @Flag(help: "Replace the output if it exists.")
    var overwrite = false

    @OptionGroup(title: "Dream options") var dream: DreamOptions
    @OptionGroup(title: "Output") var out: OutputOptions

    func validate() throws {
        if let maxSide, maxSide < 16 || maxSide > FrameSize.maxSide { throw ValidationError("--max-side must be 16…\(FrameSize.maxSide).") }
        let ext = (output as NSString).pathExtension.lowercased()
        if !["png", "jpg", "jpeg"].contains(ext) { throw ValidationError("--output must end in .png or .jpg (got '\(output)').") }
    }

    func run() throws {
        let size = try self.size.map { try FrameSize(parsing: $0) }
        if StartImage.synthetic.contains(input) && size == nil && !FileManager.default.fileExists(atPath: input) {
            throw ValidationError("'\(input)' needs --size WxH.")
        }
        if FileManager.default.fileExists(atPath: output) && !overwrite { throw DreamVideoError.outputExists(output) }
        try AtomicFile.checkWritableFolder(for: output)
        let def = try ModelZoo.definition(dream.model)
        let settings = try dream.settings(for: def)
        var rng = SeededGenerator(seed: dream.seed)
        let start = try StartImage.load(input, size: size, maxSide: maxSide, rng: &rng)
        let network = try loadNetwork(dream.model, output: out)
        let dreamer = try Dreamer(network: network, settings: settings)
        let t0 = Date()
        let progress = ProgressLine(enabled: out.showProgress)
        let result = try dreamer.dream(start, rng: &rng) { p in
            progress.update("octave \(p.octave + 1)/\(p.octaves) (\(p.size.w)×\(p.size.h)) step \(p.iteration + 1)/\(p.iterations)")
            if out.verbose && p.iteration + 1 == p.iterations {
                progress.finishLine("octave \(p.octave + 1)/\(p.octaves) \(p.size.w)×\(p.size.h) objective \(p.objective)")
            }
        }
        progress.clear()
        try writeImage(result, to: output)
        out.log(String(format: "wrote %@ (%d×%d) in %.1f s", output, result.shape.w, result.shape.h, Date().timeIntervalSince(t0)))
    }
}

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the ImageNet classes a model sees in an image.")

    @Argument(help: "Image file.") var image: String
    @Option(help: "Model with a classifier head.") var model: String = ModelZoo.defaultName
    @Option(help: "How many classes to print.") var top: Int = 5
    @OptionGroup(title: "Output") var out: OutputOptions

    func validate() throws { if top < 1 || top > 1000 { throw ValidationError("--top must be 1…1000.") } }

    func run() throws {
        _ = try ModelZoo.definition(model)
        let img = Tensor(try ImageIO.read(image))
        let classifier = try Classifier(network: try loadNetwork(model, output: out))
        for r in try classifier.classify(img, top: top) {
            print(String(format: "%4d  %-30@ %.4f", r.index, r.label as NSString, r.probability))
        }
    }
}

/// A single status line redrawn in place on a terminal.
final class ProgressLine {
    let enabled: Bool
    init(enabled: Bool) { self.enabled = enabled }
    func update(_ s: String) { if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K\(s)".utf8)) } }
    func finishLine(_ s: String) { if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K\(s)\n".utf8)) } }
    func clear() { if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
}
