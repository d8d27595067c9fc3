import Foundation
import DreamEngine
import MediaIO

/// ImageNet classification with a model that has a classifier head.
public struct Classifier {
    public let network: Network
    public let labels: [String]

    public init(network: Network) throws {
        guard network.definition.logits != nil else {
            throw DreamVideoError.invalidArgument("model \(network.definition.name) has no classifier head; use efficientnet-lite0")
        }
        self.network = network
        labels = ImageNetLabels.names
    }

    /// Top-k (class index, label, probability) for an RGB 0–255 image: resize the shorter side to 256,
    /// centre-crop 224×224, forward, softmax.
    public func classify(_ image: Tensor, top k: Int) throws -> [(index: Int, label: String, probability: Double)] {
        let s = image.shape
        let scale = 256 / Float(min(s.h, s.w))
        let h = max(224, Int((Float(s.h) * scale).rounded())), w = max(224, Int((Float(s.w) * scale).rounded()))
        let resized = StartImage.resize(image, width: w, height: h)
        let crop = ImageOps.crop(resized, y: (h - 224) / 2, x: (w - 224) / 2, height: 224, width: 224)
        let idx = try network.graph.nodeIndex(network.definition.logits!)
        let logits = try network.graph.forward(crop, upTo: idx, options: network.options).output(idx).data.map(Double.init)
        let m = logits.max() ?? 0
        let e = logits.map { Foundation.exp($0 - m) }
        let z = e.reduce(0, +)
        return e.enumerated().sorted { $0.element > $1.element }.prefix(k).map {
            ($0.offset, $0.offset < labels.count ? labels[$0.offset] : "class \($0.offset)", $0.element / z)
        }
    }
}
