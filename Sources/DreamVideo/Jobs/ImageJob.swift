import DreamEngine
import Foundation
import MediaIO

/// Dream one picture.
public struct ImageJob: RenderJob, Equatable {
    public static let kind = JobKind.image
    public var input: String
    public var output: String
    public var settings: JobSettings

    public init(input: String, output: String, settings: JobSettings) {
        self.input = input; self.output = output; self.settings = settings
    }

    /// A synthetic input needs a size; a file input must be readable.
    public func checkJob(resolved: ResolvedSettings?) throws {
        if StartImage.isSynthetic(input) && settings.size == nil {
            throw SettingError(key: "size", value: "", problem: .invalid("is needed for the synthetic input '\(input)' (e.g. 512x512)"),
                               origin: resolved?.lastOrigin ?? .api)
        }
        try checkPaths(extensions: ["png", "jpg", "jpeg"], described: ".png or .jpg")
    }

    public func preflight(policy: OutputPolicy) throws {
        try checkPaths(extensions: ["png", "jpg", "jpeg"], described: ".png or .jpg")
        try DreamControl.preflight(settings)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: output, isDirectory: &isDir) {
            if isDir.boolValue { throw DreamVideoError.invalidArgument("\(output): is a folder") }
            if !policy.overwrite { throw DreamVideoError.outputExists(output) }
        } else if !policy.overwrite && entryExists(output) {
            throw DreamVideoError.outputExists(output)  // a dangling symbolic link
        }
    }

    /// The start picture, at the size the settings ask for.
    public func startImage(rng: inout SeededGenerator) throws -> Tensor {
        try StartImage.load(input, size: settings.size, maxSide: settings.maxSide, rng: &rng)
    }

    public func run(store: ModelStore = ModelStore(), policy: OutputPolicy = OutputPolicy(), progress: RenderObserver = RenderObserver(),
                    shouldStop: () throws -> Bool = { false }) throws -> RenderSummary {
        let t0 = Date()
        try validate()
        try preflight(policy: policy)
        var rng = SeededGenerator(seed: settings.seed)
        var start = try startImage(rng: &rng)
        let minSide = try minimumSide()
        if min(start.shape.h, start.shape.w) < minSide {
            // Smaller than the layers can dream: enlarge it to the smallest size they can, and say so.
            let s = FrameSize(width: start.shape.w, height: start.shape.h)
            let long = StartImage.longSide(for: minSide, aspectOf: s)
            let scale = Double(long) / Double(max(s.width, s.height))
            let w = max(minSide, Int((Double(s.width) * scale).rounded())), h = max(minSide, Int((Double(s.height) * scale).rounded()))
            guard max(w, h) <= FrameSize.maxSide else {
                throw DreamVideoError.invalidArgument("\(input): a \(s) picture is too narrow to dream: a short side of \(minSide) px would need a long side of \(max(w, h)) px (at most \(FrameSize.maxSide))")
            }
            progress.note("note: \(s) is smaller than \(settings.objectiveNodes.joined(separator: ", ")) needs (\(minSide) px); dreaming it enlarged to \(w)x\(h)")
            start = ImageOps.resize(start, height: h, width: w)
        }
        try checkMemory(width: start.shape.w, height: start.shape.h)
        let control = try DreamControl(settings)
        let network = try store.load(settings.model, log: progress.note)
        let dreamer = try Dreamer(network: network, settings: settings.frameSettings(at: 0).dream, guide: control.guide)
        noteShortPyramid(dreamer, height: start.shape.h, width: start.shape.w, note: progress.note)
        let td = Date()
        let result = control.keepColors(try dreamer.dream(start, rng: &rng, progress: progress.step), start: start, reference: start)
        var summary = RenderSummary(output: output)
        summary.dreamSeconds = Date().timeIntervalSince(td)
        let te = Date()
        try writeImage(result, to: output)
        summary.encodeSeconds = Date().timeIntervalSince(te)
        summary.width = result.shape.w; summary.height = result.shape.h
        summary.framesRendered = 1; summary.totalFrames = 1
        summary.outputBytes = fileSize(output) ?? 0
        summary.wallSeconds = Date().timeIntervalSince(t0)
        return summary
    }
}

/// Tells the user when the octave pyramid has fewer levels than asked (the picture got too small).
func noteShortPyramid(_ d: Dreamer, height: Int, width: Int, note: (String) -> Void) {
    let n = d.octaveSizes(height: height, width: width).count
    if n < d.settings.octaves {
        note("note: \(n) of \(d.settings.octaves) octaves fit: at octave scale \(formatNumber(Double(d.settings.octaveScale))) a smaller one would be under the \(d.minimumSide) px that \(d.settings.layers.map(\.name).joined(separator: ", ")) needs")
    }
}
