import DreamEngine
import Foundation
import MediaIO

/// Everything that determines the frames of a zoom video. A resumed render must match it exactly.
public struct ZoomSettings: Codable, Equatable, Sendable {
    public var model: String
    public var dream: DreamSettings
    public var transform: FrameTransform
    public var frames: Int
    public var fps: FrameRate
    public var size: FrameSize
    public var seed: UInt64
    public var encoder: EncoderSettings
    /// The seed image as given (path or white/gray/noise).
    public var input: String

    public init(model: String, dream: DreamSettings, transform: FrameTransform, frames: Int, fps: FrameRate,
                size: FrameSize, seed: UInt64, encoder: EncoderSettings, input: String) {
        self.model = model; self.dream = dream; self.transform = transform; self.frames = frames; self.fps = fps
        self.size = size; self.seed = seed; self.encoder = encoder; self.input = input
    }

    public func validate() throws {
        try dream.validate()
        guard transform.zoom > 0, transform.zoom <= 4 else { throw DreamVideoError.invalidArgument("--zoom must be > 0 and ≤ 4, got \(transform.zoom)") }
        guard abs(transform.rotate) <= 180 else { throw DreamVideoError.invalidArgument("--rotate must be within ±180 degrees per frame") }
        guard abs(transform.dx) < Float(size.width), abs(transform.dy) < Float(size.height) else {
            throw DreamVideoError.invalidArgument("--translate must be smaller than the frame")
        }
        guard frames >= 1, frames <= 1_000_000 else { throw DreamVideoError.invalidArgument("frames must be 1…1000000, got \(frames)") }
        guard size.width % 2 == 0, size.height % 2 == 0 else {
            throw DreamVideoError.invalidArgument("video size \(size) must have even width and height (yuv420p)")
        }
        guard (0...51).contains(encoder.crf) else { throw DreamVideoError.invalidArgument("--crf must be 0…51") }
        guard EncoderSettings.x264Presets.contains(encoder.preset) else {
            throw DreamVideoError.invalidArgument("--encoder-preset must be one of \(EncoderSettings.x264Presets.joined(separator: ", "))")
        }
    }

    /// Names of the settings that differ from `other`, for a resume mismatch message.
    func differences(from other: ZoomSettings) -> [String] {
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        func flat(_ s: ZoomSettings) -> [String: String] {
            guard let d = try? enc.encode(s), let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else { return [:] }
            var out: [String: String] = [:]
            func walk(_ prefix: String, _ v: Any) {
                if let dict = v as? [String: Any] { for (k, x) in dict { walk(prefix.isEmpty ? k : "\(prefix).\(k)", x) } }
                else if let list = v as? [Any] { out[prefix + ".count"] = "\(list.count)"; for (i, x) in list.enumerated() { walk("\(prefix)[\(i)]", x) } }
                else { out[prefix] = "\(v)" }
            }
            walk("", o)
            return out
        }
        let a = flat(self), b = flat(other)
        return Set(a.keys).union(b.keys).sorted().filter { a[$0] != b[$0] }.map { "\($0) \(b[$0] ?? "-") → \(a[$0] ?? "-")" }
    }
}

/// What a render has done so far, saved next to the output so an interrupted render can resume.
public struct ZoomCheckpoint: Codable, Sendable {
    public var version = 1
    public var settings: ZoomSettings
    /// Index of the next frame to dream.
    public var nextFrame: Int
    /// Random generator state before that frame.
    public var rng: SeededGenerator
    /// Finished segment files (names inside the work folder), in order.
    public var segments: [String]
}

/// Timing of a render, for the summary and the README's figures.
public struct RenderStats: Sendable {
    public var frames = 0
    public var dreamSeconds = 0.0, warpSeconds = 0.0, encodeSeconds = 0.0, wallSeconds = 0.0
    public var outputBytes: Int64 = 0
}

/// Renders a zoom-and-feedback video: dream a frame, encode it, warp it into the next start image.
public final class ZoomRenderer {
    public let settings: ZoomSettings
    public let output: String
    public let framesDir: String?
    public let checkpointEvery: Int
    let network: Network
    /// Called after every frame: (frame index, frame count, seconds for this frame).
    public var onFrame: ((Int, Int, Double) -> Void)?
    /// Called with per-octave detail.
    public var onDreamProgress: ((DreamProgress) -> Void)?
    public var log: (String) -> Void = { _ in }

    public init(settings: ZoomSettings, network: Network, output: String, framesDir: String? = nil, checkpointEvery: Int = 10) throws {
        try settings.validate()
        guard checkpointEvery >= 1 else { throw DreamVideoError.invalidArgument("--checkpoint-every must be at least 1") }
        self.settings = settings; self.network = network; self.output = output
        self.framesDir = framesDir; self.checkpointEvery = checkpointEvery
    }

    /// The folder holding segments and the checkpoint while a render is unfinished.
    public static func workFolder(for output: String) -> String { output + ".dreamvideo" }
    /// Where an interrupted render leaves a playable copy of what exists.
    public static func partialPath(for output: String) -> String {
        let u = URL(fileURLWithPath: output)
        return u.deletingPathExtension().path + ".partial." + (u.pathExtension.isEmpty ? "mp4" : u.pathExtension)
    }

    var work: String { ZoomRenderer.workFolder(for: output) }
    var checkpointPath: String { work + "/checkpoint.json" }
    var lastFramePath: String { work + "/last-frame.png" }

    /// Prepares the output location: refuses to clobber, or loads the checkpoint when resuming.
    func prepare(resume: Bool, overwrite: Bool) throws -> ZoomCheckpoint? {
        let fm = FileManager.default
        try AtomicFile.checkWritableFolder(for: output)
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: output, isDirectory: &isDir) {
            if isDir.boolValue { throw DreamVideoError.invalidArgument("\(output): is a directory") }
            let attrs = try? fm.attributesOfItem(atPath: output)
            if attrs?[.type] as? FileAttributeType != .typeRegular { throw DreamVideoError.invalidArgument("\(output): is not a regular file") }
            if !overwrite && !resume { throw DreamVideoError.outputExists(output) }
        }
        if resume {
            guard let data = fm.contents(atPath: checkpointPath) else {
                throw DreamVideoError.invalidArgument("\(output): nothing to resume (no checkpoint at \(checkpointPath))")
            }
            let cp: ZoomCheckpoint
            do { cp = try JSONDecoder().decode(ZoomCheckpoint.self, from: data) } catch {
                throw DreamVideoError.invalidArgument("\(checkpointPath): unreadable checkpoint (\(error.localizedDescription))")
            }
            let diff = settings.differences(from: cp.settings)
            guard diff.isEmpty else {
                throw DreamVideoError.invalidArgument("\(output): settings differ from the interrupted render (\(diff.prefix(4).joined(separator: "; "))); use the original flags with --resume, or --overwrite to start over")
            }
            // Segments written after the last checkpoint are incomplete: drop them.
            let keep = Set(cp.segments + ["checkpoint.json", "last-frame.png"])
            for f in (try? fm.contentsOfDirectory(atPath: work)) ?? [] where !keep.contains(f) {
                try? fm.removeItem(atPath: work + "/" + f)
            }
            for s in cp.segments where !fm.fileExists(atPath: work + "/" + s) {
                throw DreamVideoError.invalidArgument("\(work)/\(s): segment missing; cannot resume (use --overwrite to start over)")
            }
            return cp
        }
        if fm.fileExists(atPath: work) {
            guard overwrite else {
                throw DreamVideoError.invalidArgument("\(output): an interrupted render exists (\(work)); pass --resume to continue it or --overwrite to start over")
            }
            try fm.removeItem(atPath: work)
        }
        try? fm.removeItem(atPath: ZoomRenderer.partialPath(for: output))
        return nil
    }

    /// Renders every frame (or the rest, when resuming) and returns timing figures.
    /// `shouldStop` is polled after each frame; when it returns true the render checkpoints and throws `.interrupted`.
    public func run(seedImage: Tensor, resume: Bool = false, overwrite: Bool = false,
                    shouldStop: () throws -> Bool = { Interrupts.requested }) throws -> RenderStats {
        let fm = FileManager.default
        let t0 = Date()
        var stats = RenderStats()
        let checkpoint = try prepare(resume: resume, overwrite: overwrite)
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
        if let framesDir { try fm.createDirectory(atPath: framesDir, withIntermediateDirectories: true) }
        let dreamer = try Dreamer(network: network, settings: settings.dream)
        let minSide = dreamer.minimumSide
        guard min(settings.size.width, settings.size.height) >= minSide else {
            throw DreamVideoError.invalidArgument("video size \(settings.size) is too small for layer(s) \(settings.dream.layers.map(\.name).joined(separator: ", ")); the smaller side must be at least \(minSide) px")
        }

        var rng = checkpoint?.rng ?? SeededGenerator(seed: settings.seed)
        var segments = checkpoint?.segments ?? []
        var next = checkpoint?.nextFrame ?? 0
        var previous: Tensor? = nil
        if let cp = checkpoint, cp.nextFrame > 0 {
            previous = Tensor(try ImageIO.read(lastFramePath))
            log("resuming at frame \(next + 1) of \(settings.frames)")
        }
        var writer: VideoWriter? = nil
        var segmentName = ""

        func closeSegmentAndCheckpoint(last: Tensor?) throws {
            if let w = writer {
                try w.finish()
                segments.append(segmentName)
                writer = nil
            }
            if let last { try ImageIO.write(last.rgbImage(), to: lastFramePath) }
            let cp = ZoomCheckpoint(settings: settings, nextFrame: next, rng: rng, segments: segments)
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try enc.encode(cp), to: checkpointPath)
        }

        while next < settings.frames {
            let frameStart = Date()
            var start: Tensor
            if let prev = previous {
                let tw = Date()
                start = ImageOps.warp(prev, settings.transform)
                ImageOps.clip(&start, 0, 255)
                stats.warpSeconds += Date().timeIntervalSince(tw)
            } else {
                start = seedImage
            }
            let td = Date()
            let dreamed = try dreamer.dream(start, rng: &rng, progress: onDreamProgress)
            stats.dreamSeconds += Date().timeIntervalSince(td)
            // The 8-bit frame is what is written and what feeds back, so a resume from the saved PNG is exact.
            let image = dreamed.rgbImage()
            let te = Date()
            if writer == nil {
                segmentName = String(format: "segment-%06d.mp4", next)
                writer = try VideoWriter(path: work + "/" + segmentName, width: settings.size.width, height: settings.size.height,
                                         frameRate: settings.fps, settings: settings.encoder)
            }
            try writer!.write(image)
            if let framesDir { try ImageIO.write(image, to: String(format: "%@/frame_%06d.png", framesDir, next)) }
            stats.encodeSeconds += Date().timeIntervalSince(te)
            previous = Tensor(image)
            next += 1
            stats.frames += 1
            let stop = try shouldStop()
            if next % checkpointEvery == 0 || next == settings.frames || stop {
                try closeSegmentAndCheckpoint(last: previous)
            }
            onFrame?(next - 1, settings.frames, Date().timeIntervalSince(frameStart))
            if stop && next < settings.frames {
                let partial = ZoomRenderer.partialPath(for: output)
                try VideoJoiner.join(segments.map { work + "/" + $0 }, to: partial)
                stats.wallSeconds = Date().timeIntervalSince(t0)
                throw DreamVideoError.interrupted("interrupted after frame \(next) of \(settings.frames); \(partial) plays what exists; continue with the same command plus --resume")
            }
        }
        if writer != nil { try closeSegmentAndCheckpoint(last: previous) }
        let tj = Date()
        try VideoJoiner.join(segments.map { work + "/" + $0 }, to: output)
        stats.encodeSeconds += Date().timeIntervalSince(tj)
        try? fm.removeItem(atPath: work)
        try? fm.removeItem(atPath: ZoomRenderer.partialPath(for: output))
        stats.outputBytes = (try? fm.attributesOfItem(atPath: output)[.size] as? Int64) ?? 0
        stats.wallSeconds = Date().timeIntervalSince(t0)
        return stats
    }
}
