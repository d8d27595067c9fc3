import ArgumentParser
import DreamVideo
import Foundation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Dream a picture once per layer and lay the results out as a labelled contact sheet.",
        discussion: "Patterns grow from edges to textures to eyes to faces with depth: see them side by side, then pick layers for a preset.")

    @Argument(help: "Picture to dream (or white / gray / noise).") var input: String
    @Option(name: .shortAndLong, help: "The sheet (.png or .jpg).") var output: String
    @Option(help: "Model.") var model: String = ModelCatalog.defaultModel
    @Option(help: ArgumentHelp("Layers to show, comma-separated (default: every listed layer).", valueName: "a,b,…")) var layers: String?
    @Flag(help: "Every layer, internal ones too.") var all = false
    @Option(parsing: .unconditional, help: "Long side of each tile, 64…1024.") var maxSide = 256
    @Option(parsing: .unconditional, help: "Steps per octave of one round, 1…40 (default: the model's quick setting).") var iterations: Int?
    @Option(parsing: .unconditional, help: "Octaves of one round, 1…6 (default: the model's quick setting).") var octaves: Int?
    @Option(parsing: .unconditional, help: "Dream each tile until its layer's objective has grown this many times (1…1000), so every layer shows its patterns.") var gain: Double = 4
    @Option(parsing: .unconditional, help: "At most this many rounds per tile, 1…20.") var rounds: Int = 5
    @Option(parsing: .unconditional, help: "Random seed.") var seed: UInt64 = 0
    @Flag(help: "Replace the sheet if it exists.") var overwrite = false
    @Flag(name: [.customShort("q"), .long], help: "Print nothing but errors.") var quiet = false

    func validate() throws {
        if layers != nil && all { throw ValidationError("use either --layers or --all, not both") }
        if !(64...1024).contains(maxSide) { throw ValidationError("--max-side must be 64…1024, got \(maxSide)") }
        if let iterations, !(1...40).contains(iterations) { throw ValidationError("--iterations must be 1…40, got \(iterations)") }
        if let octaves, !(1...6).contains(octaves) { throw ValidationError("--octaves must be 1…6, got \(octaves)") }
        if !(gain.isFinite && gain >= 1 && gain <= 1000) { throw ValidationError("--gain must be 1…1000, got \(gain)") }
        if !(1...20).contains(rounds) { throw ValidationError("--rounds must be 1…20, got \(rounds)") }
        let ext = (output as NSString).pathExtension.lowercased()
        if !["png", "jpg", "jpeg"].contains(ext) { throw ValidationError("--output must end in .png or .jpg, got '\(output)'") }
    }

    func run() throws {
        try LayerSweep.checkOutput(output, input: input, overwrite: overwrite)
        var sweep = LayerSweep(input: input, model: model, all: all)
        sweep.layers = layers.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        sweep.maxSide = maxSide; sweep.iterations = iterations; sweep.octaves = octaves; sweep.seed = seed
        sweep.targetGain = gain; sweep.maxRounds = rounds
        _ = try sweep.chosenLayers()  // names checked before any model is loaded
        let printer = ProgressPrinter(quiet: quiet, verbose: false)
        let t0 = Date()
        let (sheet, tiles) = try sweep.renderWithReport { done, total, layer in printer.status("layer \(done)/\(total) \(layer)", force: done == total) }
        printer.clear()
        try writeSheet(sheet, to: output)
        let short = tiles.filter { $0.gain < gain }.map(\.layer)
        printer.line(String(format: "wrote %@: %d×%d, %d layers in %.0f s", output, sheet.width, sheet.height, tiles.count, Date().timeIntervalSince(t0))
                     + (short.isEmpty ? "" : "; below ×\(formatGain(gain)) after \(rounds) rounds: \(short.joined(separator: ", "))"))
    }
}

func formatGain(_ g: Double) -> String { g == g.rounded() ? String(Int(g)) : String(format: "%.1f", g) }
