import DreamEngine
import Foundation
import MediaIO

/// What `dreamvideo models` shows: the models, their layers, and how a layer responds to a picture.
public enum ModelCatalog {
    public struct Entry: Sendable {
        public var name: String
        public var summary: String
        public var isDefault: Bool
        /// "installed", "not installed" or "weights not supplied".
        public var state: String
        public var imageLayers: [String]
        public var videoLayers: [String]
        public var suggestedLayers: [String]
        public var hasClassifier: Bool
    }

    public static var defaultModel: String { ModelZoo.defaultName }
    public static var modelNames: [String] { ModelZoo.all.map(\.name) }

    public static func entries(store: ModelStore = ModelStore()) -> [Entry] {
        ModelZoo.all.map { d in
            Entry(name: d.name, summary: d.summary, isDefault: d.name == ModelZoo.defaultName,
                  state: store.isInstalled(d.name) ? "installed" : (ModelStore.sources[d.name] != nil ? "not installed" : "weights not supplied"),
                  imageLayers: d.defaults.layers.map(\.description), videoLayers: d.videoDefaults.layers.map(\.description),
                  suggestedLayers: d.suggestedLayers, hasClassifier: d.logits != nil)
        }
    }

    public struct LayerRow: Sendable {
        public var name: String
        public var kind: String
        public var shape: String
        public var channels: Int
        public var isPublic: Bool
    }

    /// Layer names, kinds and output shapes for an input of `size` (needs no weights).
    public static func layers(of model: String, size: FrameSize) throws -> [LayerRow] {
        let graph = try ModelZoo.architecture(model)
        let shapes = try graph.shapes(height: size.height, width: size.width)
        return zip(graph.nodes, shapes).map {
            LayerRow(name: $0.name, kind: $0.layer.kind, shape: "\($1.c)×\($1.h)×\($1.w)", channels: $1.c, isPublic: $0.isPublic)
        }
    }

    /// How strongly `layer` responds to the picture at `path` (tiled: any size works).
    public static func inspect(_ path: String, model: String, layer: String?, store: ModelStore = ModelStore(),
                               log: (String) -> Void = { _ in }) throws -> LayerStatistics {
        let def = try ModelZoo.definition(model)
        let name = layer ?? def.defaults.layers[0].name
        _ = try ModelZoo.architecture(model).nodeIndex(name)
        let image = Tensor(try ImageIO.read(path))
        let network = try store.load(model, log: log)
        let dreamer = try Dreamer(network: network, settings: DreamSettings(
            layers: [LayerWeight(name)], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1.5))
        return try dreamer.inspect(image)
    }

    /// ImageNet classes for the picture at `path`.
    public static func classify(_ path: String, model: String, top: Int, store: ModelStore = ModelStore(),
                                log: (String) -> Void = { _ in }) throws -> [(index: Int, label: String, probability: Double)] {
        let def = try ModelZoo.definition(model)
        guard def.logits != nil else {
            throw DreamVideoError.invalidArgument("model \(model) has no classifier head; use \(ModelZoo.all.filter { $0.logits != nil }.map(\.name).joined(separator: ", "))")
        }
        let image = Tensor(try ImageIO.read(path))
        return try Classifier(network: try store.load(model, log: log)).classify(image, top: top)
    }
}
