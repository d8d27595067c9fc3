import Foundation

/// A term of the objective: a layer (or some of its channels) and its weight. `kind` overrides the
/// dream's objective for this term (a class objective maximises a logit: `.mean` of one channel).
public struct LayerWeight: Sendable, Equatable, Codable, CustomStringConvertible {
    public var name: String
    public var weight: Float
    /// Channels of the layer to amplify (nil: all of them).
    public var channels: [Int]?
    public var kind: ObjectiveKind?
    public init(_ name: String, weight: Float = 1, channels: [Int]? = nil, kind: ObjectiveKind? = nil) {
        self.name = name; self.weight = weight; self.channels = channels; self.kind = kind
    }
    public var description: String {
        let ch = channels.map { "[" + $0.map(String.init).joined(separator: ",") + "]" } ?? ""
        return weight == 1 ? name + ch : "\(name)\(ch):\(weight)"
    }
}

/// Dream settings a model suggests for a kind of job (DreamVideo's model profiles hold them).
public struct DreamDefaults: Sendable, Equatable {
    public var layers: [LayerWeight]
    public var iterations: Int
    public var octaves: Int
    public var octaveScale: Float
    public var step: Float
    public init(layers: [LayerWeight], iterations: Int, octaves: Int, octaveScale: Float, step: Float) {
        self.layers = layers; self.iterations = iterations; self.octaves = octaves; self.octaveScale = octaveScale; self.step = step
    }
}

/// A network architecture: how to build its graph from weights, and what it is made of.
public struct ModelDefinition: Sendable {
    public let name: String
    public let summary: String
    /// The node producing class logits, for `classify` (nil if the model has no classifier).
    public let logits: String?
    /// Layers worth trying, shown in listings and used for the README gallery.
    public let suggestedLayers: [String]
    /// Square tile side used when dreaming big images (bounds memory).
    public let tileSize: Int
    public let build: @Sendable (WeightStore) throws(EngineError) -> Graph

    public init(name: String, summary: String, logits: String?, suggestedLayers: [String], tileSize: Int,
                build: @escaping @Sendable (WeightStore) throws(EngineError) -> Graph) {
        self.name = name; self.summary = summary; self.logits = logits
        self.suggestedLayers = suggestedLayers; self.tileSize = tileSize; self.build = build
    }
}

/// A model ready to run: its definition, its graph and how the engine computes it.
public struct Network: Sendable {
    public let definition: ModelDefinition
    public let graph: Graph
    /// Engine switches for this network (threads, fast paths, profiling); change a copy to compare.
    public var options: EngineOptions
    public init(definition: ModelDefinition, weights: WeightStore, options: EngineOptions = EngineOptions()) throws(EngineError) {
        self.definition = definition
        self.graph = try definition.build(weights)
        self.options = options
    }
}

/// The architectures of models, built once on placeholder weights: layer names and shapes without loading
/// anything.
public enum ModelZoo {
    /// The graph of `definition` on placeholder weights, built once per model name and kept.
    public static func architecture(_ definition: ModelDefinition) throws(EngineError) -> Graph {
        architectureLock.lock()
        defer { architectureLock.unlock() }
        if let g = architectures[definition.name] { return g }
        let g = try definition.build(.placeholder)
        architectures[definition.name] = g
        return g
    }
    nonisolated(unsafe) private static var architectures: [String: Graph] = [:]
    private static let architectureLock = NSLock()
}

/// Small helpers shared by the model builders.
extension Graph {
    /// Adds a convolution whose batch norm (if `bn` is given) is folded in at load time.
    @discardableResult
    public mutating func conv(_ name: String, _ w: WeightStore, weightKey: String, biasKey: String? = nil, bn: String? = nil,
                       bnEps: Float = 1e-5, in cin: Int, out cout: Int, kernel: Int, stride: Int = 1,
                       padding: Conv2D.Padding = .symmetric(0), groups: Int = 1, activation: Activation,
                       inputs: [String]? = nil, isPublic: Bool = true) throws(EngineError) -> String {
        let layer = try Graph.convLayer(w, weightKey: weightKey, biasKey: biasKey, bn: bn, bnEps: bnEps, in: cin, out: cout, kernel: kernel,
                                        stride: stride, padding: padding, groups: groups, activation: activation)
        return try add(name, layer, inputs: inputs, isPublic: isPublic)
    }

    /// The convolution `conv` adds, for a layer that holds it (batch norm folded in).
    public static func convLayer(_ w: WeightStore, weightKey: String, biasKey: String? = nil, bn: String? = nil,
                                 bnEps: Float = 1e-5, in cin: Int, out cout: Int, kernel: Int, stride: Int = 1,
                                 padding: Conv2D.Padding = .symmetric(0), groups: Int = 1, activation: Activation) throws(EngineError) -> Conv2D {
        var weight = try w.array(weightKey, shape: [cout, cin / groups, kernel, kernel])
        var bias = try biasKey.map { k throws(EngineError) in try w.array(k, shape: [cout]) } ?? [Float](repeating: 0, count: cout)
        if let bn { try w.foldBatchNorm(bn, into: &weight, bias: &bias, channels: cout, eps: bnEps) }
        return try Conv2D(inChannels: cin, outChannels: cout, kernel: kernel, stride: stride, padding: padding,
                          groups: groups, activation: activation, weight: weight, bias: bias,
                          prepareFastPaths: !w.isPlaceholder)
    }
}
