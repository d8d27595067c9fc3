import DreamEngine
import Foundation
import MediaIO

/// How a re-dreamed video relates to its source, per window of frames and over the whole clip:
/// - strength S = the dream objective 0.5·mean(act²) at a layer of the dreamed frames ÷ that of their source
///   frames (sums over the window), the way the network sees it: > 1 is a dream, ≈ 1 is none (a blur of the
///   source scores ≈ 1 or less);
/// - detail = mean |Laplacian| of the dreamed frames' luminance ÷ the source's (sums over the window): < 1 is
///   a blur, a dream adds texture (> 1);
/// - difference Q = mean |D_t − S_t| (0–255 levels): how far the picture moved from the source (a blur moves
///   it too, so Q alone says nothing of the dream);
/// - flicker F = mean |D_t − D_{t−1}| ÷ mean |S_t − S_{t−1}|: frame-to-frame change relative to the source's;
/// - warp error W = mean over trusted pixels of |D_t − warp(D_{t−1})| ÷ the same for the source, with the
///   motion taken from the source (`TrustedMotion`, as the re-dream uses it): 1 is as coherent as the footage.
/// F and W leave out scene cuts; a blur scores well on both, so read them with S and detail.
public struct CoherenceWindow: Sendable {
    /// Frames first…last (0-based, inclusive) of the dreamed video.
    public var first = 0, last = 0
    public var difference = 0.0
    /// Nil when no network was given to measure with.
    public var strength: Double?
    /// Nil when the source frames hold no detail to compare with (black or flat frames).
    public var detail: Double? = nil
    /// Nil when the window holds no frame pair whose motion could be trusted.
    public var flicker: Double?
    public var warpError: Double?
    public var cuts = 0
}

public struct CoherenceReport: Sendable {
    /// Frames compared, and the frame pairs left out of F and W because the motion could not be trusted (scene cuts).
    public var frames = 0
    public var cuts = 0
    public var windows: [CoherenceWindow] = []
    /// The whole clip.
    public var total = CoherenceWindow()
    /// The source's own mean frame-to-frame change and warp residual (levels), for scale.
    public var sourceChange = 0.0
    public var sourceWarpResidual = 0.0
    /// What the strength was measured with ("efficientnet-lite0 blocks.9"), nil without a network.
    public var measuredWith: String?
    /// Lines worth saying (one video ended before the other, frame sizes changed…).
    public var notes: [String] = []

    public var difference: Double { total.difference }
    public var flicker: Double? { total.flicker }
    public var warpError: Double? { total.warpError }
}

/// The dream objective of pictures at one layer: 0.5·mean(act²), the quantity DeepDream raises.
public struct LayerObjective {
    public let network: Network
    public let layer: String
    let node: Int

    public init(network: Network, layer: String) throws {
        self.network = network
        self.layer = layer
        node = try network.graph.nodeIndex(layer)
    }

    /// The objective of `x` (RGB 0–255); pictures too small for the layer are enlarged first.
    public func value(_ x: Tensor) throws -> Double {
        var x = x
        let minSide = Dreamer.minimumSide(network.graph, nodes: [node])
        if min(x.shape.h, x.shape.w) < minSide {
            let f = Double(minSide) / Double(min(x.shape.h, x.shape.w))
            x = ImageOps.resize(x, height: Int((Double(x.shape.h) * f).rounded(.up)), width: Int((Double(x.shape.w) * f).rounded(.up)))
        }
        let a = try network.graph.forward(x, upTo: node, options: network.options).output(node)
        return 0.5 * a.sumOfSquares() / Double(max(1, a.count))
    }
}

public enum CoherenceMetrics {
    /// Compares `dreamed` with `source` frame by frame (frame i with frame i, the source starting at `start`
    /// seconds and resized to the dreamed size), over the frames both have, in windows of `window` frames.
    /// `objective` measures the network strength (nil: not measured).
    public static func measure(source: String, dreamed: String, start: Double = 0, flow method: FlowMethod = .dis,
                               maxFrames: Int? = nil, window: Int = 30, objective: LayerObjective? = nil) throws -> CoherenceReport {
        let s = try VideoReader(path: source)
        var d = try DreamedFrames(path: dreamed)
        if start > 0 { try s.seek(toSeconds: Double(s.startPTS) * Double(s.timeBase.num) / Double(s.timeBase.den) + start) }
        // A folder that starts later (the frames of a shard): its frame N is compared with the source's frame N.
        for _ in 0..<d.firstNumber { if try s.nextVideoFrame() == nil { break } }
        let flow = try FlowEstimator(method == .none ? .dis : method)
        var report = CoherenceReport()
        if d.firstNumber > 0 { report.notes.append("\(dreamed): starts at frame \(d.firstNumber), compared with the source's frame \(d.firstNumber) on") }
        report.measuredWith = objective.map { "\($0.network.definition.name) \($0.layer)" }
        var sums = Sums(), all = Sums()
        var sumDS = 0.0, sumES = 0.0, pairs = 0
        var prevS: Tensor? = nil, prevD: Tensor? = nil
        var size: (w: Int, h: Int)? = nil
        var resizedDreamed = false
        let window = max(1, window)
        func close(_ last: Int) {
            guard sums.frames > 0 else { return }
            report.windows.append(sums.window(first: last - sums.frames + 1, last: last))
            sums = Sums()
        }
        while maxFrames.map({ report.frames < $0 }) ?? true {
            guard let dreamedImage = try d.next() else {
                if let gap = d.gap { report.notes.append(gap) }
                if try s.nextVideoFrame() != nil { report.notes.append("\(dreamed) ends after \(report.frames) frames; \(source) goes on: only those frames were compared") }
                break
            }
            guard let fs = try s.nextVideoFrame() else {
                report.notes.append("\(source) ends after \(report.frames) frames\(start > 0 ? " (from \(formatNumber(start)) s)" : ""); \(dreamed) goes on: only those frames were compared")
                break
            }
            var D = Tensor(dreamedImage)
            if size == nil { size = (D.shape.w, D.shape.h) }
            if D.shape.w != size!.w || D.shape.h != size!.h {
                // A video whose frames change size: compare everything at its first frame's size.
                D = StartImage.resize(D, width: size!.w, height: size!.h)
                resizedDreamed = true
            }
            var S = Tensor(fs.image)
            if S.shape != D.shape { S = StartImage.resize(S, width: D.shape.w, height: D.shape.h) }
            var f = FrameMeasure()
            f.difference = meanAbsDifference(D, S)
            f.detail = (laplacianEnergy(D), laplacianEnergy(S))
            if let objective { f.strength = (try objective.value(D), try objective.value(S)) }
            if let pS = prevS, let pD = prevD {
                let motion = try TrustedMotion(previous: pS, current: S, flow: flow)
                if motion.isCut {
                    f.cut = true
                } else {
                    f.pair = (meanAbsDifference(D, pD), meanAbsDifference(S, pS),
                              maskedMeanAbsDifference(D, ImageOps.warp(pD, along: motion.backward, cubic: true), mask: motion.mask),
                              maskedMeanAbsDifference(S, ImageOps.warp(pS, along: motion.backward, cubic: true), mask: motion.mask))
                    sumDS += f.pair!.dS; sumES += f.pair!.eS; pairs += 1
                }
            }
            sums.add(f); all.add(f)
            report.frames += 1
            if report.frames % window == 0 { close(report.frames - 1) }
            prevS = S; prevD = D
        }
        close(report.frames - 1)
        guard report.frames > 0 else { throw DreamVideoError.invalidArgument("\(dreamed): no frames to compare with \(source)") }
        if resizedDreamed { report.notes.append("\(dreamed): its frames change size; each was compared at its first frame's size") }
        report.total = all.window(first: 0, last: report.frames - 1)
        report.cuts = report.total.cuts
        report.sourceChange = pairs > 0 ? sumDS / Double(pairs) : 0
        report.sourceWarpResidual = pairs > 0 ? sumES / Double(pairs) : 0
        return report
    }

    struct FrameMeasure {
        var difference = 0.0
        /// Of the dreamed frame and of its source frame.
        var detail = (0.0, 0.0)
        var strength: (Double, Double)?
        var cut = false
        var pair: (dD: Double, dS: Double, eD: Double, eS: Double)?
    }

    struct Sums {
        var frames = 0, cuts = 0
        var difference = 0.0, detailD = 0.0, detailS = 0.0, strengthD = 0.0, strengthS = 0.0, strengthCount = 0
        var dD = 0.0, dS = 0.0, eD = 0.0, eS = 0.0, pairs = 0
        mutating func add(_ f: FrameMeasure) {
            frames += 1
            difference += f.difference; detailD += f.detail.0; detailS += f.detail.1
            if let s = f.strength { strengthD += s.0; strengthS += s.1; strengthCount += 1 }
            if f.cut { cuts += 1 }
            if let p = f.pair { dD += p.dD; dS += p.dS; eD += p.eD; eS += p.eS; pairs += 1 }
        }
        func window(first: Int, last: Int) -> CoherenceWindow {
            var w = CoherenceWindow()
            w.first = first; w.last = last
            w.difference = difference / Double(max(1, frames))
            // Ratios of the window's sums: a dark, flat source frame (whose detail is near 0) cannot blow them up.
            // A window whose source is flat throughout (a black leader) has nothing to compare with.
            w.detail = detailS > 1e-3 * Double(max(1, frames)) ? detailD / detailS : nil
            w.strength = strengthCount > 0 ? strengthD / max(1e-12, strengthS) : nil
            w.flicker = pairs > 0 && dS > 0 ? dD / dS : nil
            w.warpError = pairs > 0 && eS > 0 ? eD / eS : nil
            w.cuts = cuts
            return w
        }
    }

    /// Mean |Laplacian| (4-neighbour) of a picture's luminance: how much fine detail it holds.
    public static func laplacianEnergy(_ x: Tensor) -> Double {
        let y = ImageOps.luminance(x)
        let w = y.shape.w, h = y.shape.h
        guard w > 2, h > 2 else { return 0 }
        var s = 0.0
        y.data.withUnsafeBufferPointer { p in
            for r in 1..<(h - 1) {
                var row: Float = 0
                for c in 1..<(w - 1) {
                    let i = r * w + c
                    row += abs(4 * p[i] - p[i - 1] - p[i + 1] - p[i - w] - p[i + w])
                }
                s += Double(row)
            }
        }
        return s / Double((w - 2) * (h - 2))
    }

    public static func meanAbsDifference(_ a: Tensor, _ b: Tensor) -> Double {
        var s = 0.0
        a.data.withUnsafeBufferPointer { ap in b.data.withUnsafeBufferPointer { bp in for i in 0..<ap.count { s += Double(abs(ap[i] - bp[i])) } } }
        return s / Double(max(1, a.count))
    }

    static func maskedMeanAbsDifference(_ a: Tensor, _ b: Tensor, mask: Tensor) -> Double {
        let plane = a.shape.plane
        var s = 0.0, w = 0.0
        a.data.withUnsafeBufferPointer { ap in b.data.withUnsafeBufferPointer { bp in mask.data.withUnsafeBufferPointer { mp in
            for i in 0..<plane where mp[i] > 0 {
                for c in 0..<a.shape.c { s += Double(mp[i] * abs(ap[c * plane + i] - bp[c * plane + i])) }
                w += Double(mp[i]) * Double(a.shape.c)
            }
        } } }
        return w > 0 ? s / w : 0
    }
}

/// The dreamed frames `metrics` compares: a video, or a folder of the PNG frames a render wrote with `--frames-dir`
/// (`frame_000000.png` …, in order from the first; lossless, so the dream is measured without the encoder's share).
struct DreamedFrames {
    private var video: VideoReader?
    private var files: [(number: Int, name: String)] = []
    private var dir = ""
    private var position = 0
    /// The number of a folder's first frame file (0 for a video).
    var firstNumber: Int { files.first?.number ?? 0 }
    /// Why the folder's frames stopped early (a missing number), once they have.
    private(set) var gap: String?

    init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            video = try VideoReader(path: path)
            return
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw DreamVideoError.invalidArgument("\(path): cannot read the folder (\((error as NSError).localizedFailureReason ?? error.localizedDescription))")
        }
        files = names.filter(FramesFolder.isFrameFile).compactMap { n in Int(n.dropFirst(6).dropLast(4)).map { ($0, n) } }.sorted { $0.number < $1.number }
        guard !files.isEmpty else {
            throw DreamVideoError.invalidArgument("\(path): a folder without frame files (frame_000000.png …, as --frames-dir writes them)")
        }
        if let i = files.indices.dropFirst().first(where: { files[$0].number == files[$0 - 1].number }) {
            throw DreamVideoError.invalidArgument("\(path): two files for frame \(files[i].number) (\(files[i - 1].name), \(files[i].name))")
        }
        dir = path
    }

    /// The next frame, nil after the last (or before a missing number in a folder).
    mutating func next() throws -> RGBImage? {
        if let video { return try video.nextVideoFrame()?.image }
        guard position < files.count else { return nil }
        let f = files[position]
        if position > 0, f.number != files[position - 1].number + 1 {
            gap = "\(dir): frame \(files[position - 1].number + 1) is missing: only the frames before it were compared"
            return nil
        }
        position += 1
        return try ImageIO.read(dir + "/" + f.name)  // a damaged file: its MediaError names it
    }
}
