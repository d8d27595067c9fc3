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

    public static var defaultModel: String { ModelProfiles.defaultName }
    public static var modelNames: [String] { ModelProfiles.all.map(\.name) }
    /// The models whose weights can be downloaded.
    public static var downloadableNames: [String] { ModelProfiles.downloadable.map(\.name) }

    public static func entries(store: ModelStore = ModelStore()) -> [Entry] {
        ModelProfiles.all.map { p in
            let d = p.definition
            return Entry(name: d.name, summary: d.summary, isDefault: d.name == ModelProfiles.defaultName,
                         state: store.isInstalled(d.name) ? "installed" : (p.weights != nil ? "not installed" : "weights not supplied"),
                         imageLayers: p.image.layers.map(\.description), videoLayers: p.zoom.dream.layers.map(\.description),
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
        let graph = try ModelProfiles.architecture(model)
        let shapes = try graph.shapes(height: size.height, width: size.width)
        return zip(graph.nodes, shapes).map {
            LayerRow(name: $0.name, kind: $0.layer.kind, shape: "\($1.c)×\($1.h)×\($1.w)", channels: $1.c, isPublic: $0.isPublic)
        }
    }

    /// How strongly `layer` responds to the picture at `path` (tiled: any size works).
    public static func inspect(_ path: String, model: String, layer: String?, store: ModelStore = ModelStore(),
                               log: (String) -> Void = { _ in }) throws -> LayerStatistics {
        let profile = try ModelProfiles.profile(model)
        let name = layer ?? profile.image.layers[0].name
        _ = try ModelProfiles.architecture(model).nodeIndex(name)
        let image = Tensor(try ImageIO.read(path))
        let network = try store.load(model, log: log)
        let dreamer = try Dreamer(network: network, settings: DreamSettings(
            layers: [LayerWeight(name)], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1.5))
        return try dreamer.inspect(image)
    }

    /// ImageNet classes for the picture at `path`.
    public static func classify(_ path: String, model: String, top: Int, store: ModelStore = ModelStore(),
                                log: (String) -> Void = { _ in }) throws -> [(index: Int, label: String, probability: Double)] {
        let def = try ModelProfiles.profile(model).definition
        guard def.logits != nil else {
            throw DreamVideoError.invalidArgument("model \(model) has no classifier head; use \(ModelProfiles.all.filter { $0.definition.logits != nil }.map(\.name).joined(separator: ", "))")
        }
        let image = Tensor(try ImageIO.read(path))
        return try Classifier(network: try store.load(model, log: log)).classify(image, top: top)
    }
}
