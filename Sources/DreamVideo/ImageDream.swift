import Foundation
import DreamEngine
import MediaIO

/// A width × height pair parsed from "WxH".
public struct FrameSize: Sendable, Equatable, Codable, CustomStringConvertible {
    public var width: Int, height: Int
    public init(width: Int, height: Int) { self.width = width; self.height = height }
    public static let maxSide = 8192

    public init(parsing s: String) throws {
        let parts = s.lowercased().split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]) else {
            throw DreamVideoError.invalidArgument("size '\(s)' is not WIDTHxHEIGHT (e.g. 1280x720)")
        }
        try self.init(checking: w, h)
    }

    public init(checking w: Int, _ h: Int) throws {
        guard w >= 16, h >= 16 else { throw DreamVideoError.invalidArgument("size \(w)x\(h) is too small: each side must be at least 16 px") }
        guard w <= FrameSize.maxSide, h <= FrameSize.maxSide else {
            throw DreamVideoError.invalidArgument("size \(w)x\(h) is too large: each side must be at most \(FrameSize.maxSide) px")
        }
        width = w; height = h
    }
    public var description: String { "\(width)x\(height)" }
}

/// Start images: a file, or one of the seed's synthetic starts.
public enum StartImage {
    public static let synthetic = ["white", "gray", "noise"]

    /// Loads `spec` (a path, or `white`/`gray`/`noise` which need `size`), resized to `size` if given,
    /// else shrunk so its longer side is at most `maxSide`.
    public static func load(_ spec: String, size: FrameSize?, maxSide: Int?, rng: inout SeededGenerator) throws -> Tensor {
        if synthetic.contains(spec) && !FileManager.default.fileExists(atPath: spec) {
            let sz = size ?? FrameSize(width: 512, height: 512)
            let shape = Shape(3, sz.height, sz.width)
            switch spec {
            case "white": return Tensor(repeating: 255, shape: shape)
            case "gray": return Tensor(repeating: 128, shape: shape)
            default:
                var t = Tensor(zeros: shape)
                for i in 0..<t.count { t.data[i] = Swift.min(Swift.max(128 + 24 * rng.gaussian(), 0), 255) }
                return t
            }
        }
        let img = try ImageIO.read(spec)
        var t = Tensor(img)
        if let size {
            t = resize(t, width: size.width, height: size.height)
        } else if let maxSide, max(img.width, img.height) > maxSide {
            let s = Float(maxSide) / Float(max(img.width, img.height))
            t = resize(t, width: max(16, Int((Float(img.width) * s).rounded())), height: max(16, Int((Float(img.height) * s).rounded())))
        }
        return t
    }

    /// Resize with a Gaussian pre-blur when shrinking (anti-aliasing).
    public static func resize(_ t: Tensor, width: Int, height: Int) -> Tensor {
        let f = max(Float(t.shape.w) / Float(width), Float(t.shape.h) / Float(height))
        let src = f > 1.3 ? ImageOps.gaussianBlur(t, sigma: (f - 1) / 2) : t
        return ImageOps.resize(src, height: height, width: width)
    }
}

/// Writes a tensor image atomically as PNG or JPEG.
public func writeImage(_ t: Tensor, to path: String) throws {
    try ImageIO.write(t.rgbImage(), to: path)
}

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
        let logits = try network.graph.forward(crop, upTo: idx).output(idx).data.map(Double.init)
        let m = logits.max() ?? 0
        let e = logits.map { Foundation.exp($0 - m) }
        let z = e.reduce(0, +)
        return e.enumerated().sorted { $0.element > $1.element }.prefix(k).map {
            ($0.offset, $0.offset < labels.count ? labels[$0.offset] : "class \($0.offset)", $0.element / z)
        }
    }
}
