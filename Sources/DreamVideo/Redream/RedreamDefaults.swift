import DreamEngine

/// Re-dream defaults per model, chosen by looking at real footage (see the README's re-dream section).
public struct RedreamDefaults: Sendable {
    /// Dream settings for footage (nil: the model's video defaults).
    public var dream: DreamDefaults?
    public var blend: Double
    public var temporalWeight: Double

    public static func `for`(_ model: String) -> RedreamDefaults {
        switch model {
        case "efficientnet-lite0":
            return RedreamDefaults(dream: DreamDefaults(layers: [LayerWeight("blocks.9")], iterations: 5, octaves: 3, octaveScale: 1.4, step: 1.5),
                                   blend: 0.9, temporalWeight: 2)
        default:
            return RedreamDefaults(dream: nil, blend: 0.9, temporalWeight: 2)
        }
    }
}
