import DreamEngine
import Foundation
import MediaIO

/// Start images: a file, or one of the seed's synthetic starts (`white`, `gray`, `noise`).
///
/// The bare words `white`, `gray` and `noise` always mean the synthetic pictures; a file of that name
/// is given with a path (`./noise`).
public enum StartImage {
    public static let synthetic = ["white", "gray", "noise"]

    public static func isSynthetic(_ spec: String) -> Bool { synthetic.contains(spec) }

    /// Size of the picture `spec` names (reads only the first frame of a file).
    public static func size(of spec: String) throws -> FrameSize? {
        if isSynthetic(spec) { return nil }
        let img = try ImageIO.read(spec)
        return FrameSize(width: img.width, height: img.height)
    }

    /// Loads `spec`, resized to `size` if given, else shrunk so its longer side is at most `maxSide`.
    /// Synthetic starts need `size` (default 512×512).
    public static func load(_ spec: String, size: FrameSize?, maxSide: Int?, rng: inout SeededGenerator) throws -> Tensor {
        if isSynthetic(spec) {
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
            let fitted = try fit(FrameSize(width: img.width, height: img.height), maxSide: maxSide, what: spec)
            t = resize(t, width: fitted.width, height: fitted.height)
        }
        return t
    }

    /// `size` shrunk (never enlarged) so its longer side is at most `maxSide`, keeping the aspect ratio;
    /// `even` rounds both sides to even numbers (videos). Refuses when the shorter side would drop below 16 px.
    public static func fit(_ size: FrameSize, maxSide: Int, even: Bool = false, what: String) throws -> FrameSize {
        let scale = min(1, Double(maxSide) / Double(max(size.width, size.height)))
        func side(_ v: Int) -> Int {
            even ? max(2, Int((Double(v) * scale / 2).rounded()) * 2) : max(1, Int((Double(v) * scale).rounded()))
        }
        let w = side(size.width), h = side(size.height)
        guard min(w, h) >= 16 else {
            let needed = Int((16 * Double(max(size.width, size.height)) / Double(min(size.width, size.height))).rounded(.up))
            throw DreamVideoError.invalidArgument("\(what): shrinking \(size) to a long side of \(maxSide) px leaves a side under 16 px; use a long side of at least \(needed)")
        }
        return try FrameSize(checking: w, h)
    }

    /// Resize with a Gaussian pre-blur when shrinking (anti-aliasing).
    public static func resize(_ t: Tensor, width: Int, height: Int) -> Tensor {
        let f = max(Float(t.shape.w) / Float(width), Float(t.shape.h) / Float(height))
        let src = f > 1.3 ? ImageOps.gaussianBlur(t, sigma: (f - 1) / 2) : t
        return ImageOps.resize(src, height: height, width: width)
    }
}
