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
        let (w, h) = shrunk(size, maxSide: maxSide, even: even)
        guard min(w, h) >= 16 else {
            throw DreamVideoError.invalidArgument("\(what): shrinking \(size) to a long side of \(maxSide) px leaves a side under 16 px; use a long side of at least \(longSide(for: 16, aspectOf: size, even: even))")
        }
        return try FrameSize(checking: w, h)
    }

    /// The sides of `size` shrunk (never enlarged) to a long side of at most `maxSide`.
    static func shrunk(_ size: FrameSize, maxSide: Int, even: Bool) -> (Int, Int) {
        let scale = min(1, Double(maxSide) / Double(max(size.width, size.height)))
        func side(_ v: Int) -> Int {
            even ? max(2, Int((Double(v) * scale / 2).rounded()) * 2) : max(1, Int((Double(v) * scale).rounded()))
        }
        return (side(size.width), side(size.height))
    }

    /// The smallest long side at which a picture of `size`'s aspect has a short side of at least `short` px
    /// (`even`: both sides even, as videos need).
    public static func longSide(for short: Int, aspectOf size: FrameSize, even: Bool = true) -> Int {
        let ratio = Double(max(size.width, size.height)) / Double(max(1, min(size.width, size.height)))
        var long = Int((Double(short) * ratio).rounded(.up))
        if even { long += long % 2 }
        // Rounding of the short side may still fall a pixel short: step up until it does not.
        while scaledSides(size, long, even: even).min()! < short && long < 100_000 { long += even ? 2 : 1 }
        return long
    }

    /// The sides of `size` scaled to a long side of `long` (up or down).
    static func scaledSides(_ size: FrameSize, _ long: Int, even: Bool) -> [Int] {
        let scale = Double(long) / Double(max(size.width, size.height))
        return [size.width, size.height].map { even ? max(2, Int((Double($0) * scale / 2).rounded()) * 2) : max(1, Int((Double($0) * scale).rounded())) }
    }

    /// The frame size for footage of `source` size: shrunk to `maxSide` (even sides), or enlarged so its
    /// shorter side reaches `minSide` when the source itself is smaller than the model can dream (the
    /// second value is then a note saying so). Refuses, with advice that works, when `maxSide` itself makes
    /// the frames too small.
    public static func videoSize(source: FrameSize, maxSide: Int, minSide: Int, what: String) throws -> (FrameSize, note: String?) {
        let (w, h) = shrunk(source, maxSide: maxSide, even: true)
        if min(w, h) >= minSide { return (try FrameSize(checking: w, h), nil) }
        let need = longSide(for: minSide, aspectOf: source)
        if max(source.width, source.height) > maxSide {
            // The source is large enough; the long side asked for is what makes it too small.
            throw DreamVideoError.invalidArgument("\(what): a long side of \(maxSide) px makes frames of \(w)x\(h), under the \(minSide) px the layers need; use --max-side \(need) or more")
        }
        guard need <= FrameSize.maxSide else {
            throw DreamVideoError.invalidArgument("\(what): frames of \(source) are too narrow to dream: a short side of \(minSide) px would need a long side of \(need) px (at most \(FrameSize.maxSide))")
        }
        let up = scaledSides(source, need, even: true)
        let size = try FrameSize(checking: up[0], up[1])
        return (size, "note: frames of \(source) are smaller than the layers need (\(minSide) px); dreaming them enlarged to \(size)")
    }

    /// Resize with a Gaussian pre-blur when shrinking (anti-aliasing).
    public static func resize(_ t: Tensor, width: Int, height: Int) -> Tensor {
        let f = max(Float(t.shape.w) / Float(width), Float(t.shape.h) / Float(height))
        let src = f > 1.3 ? ImageOps.gaussianBlur(t, sigma: (f - 1) / 2) : t
        return ImageOps.resize(src, height: height, width: width)
    }
}
