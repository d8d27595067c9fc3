import DreamEngine
import Foundation
import MediaIO

/// The endless zoom: frame 0 is the dreamed seed picture; every next frame starts from the previous
/// one moved by the camera (zoom about the centre, rotation, shift) and is dreamed again.
public struct ZoomJob: RenderJob, Equatable {
    public static let kind = JobKind.zoom
    /// The seed picture, or `white`/`gray`/`noise`.
    public var input: String
    public var output: String
    public var settings: JobSettings

    public init(input: String, output: String, settings: JobSettings) {
        self.input = input; self.output = output; self.settings = settings
    }

    /// The frame size: the `size` setting, or the seed's aspect with the long side at most `max-side` (even sides).
    public func frameSize() throws -> FrameSize {
        if let s = settings.size { return s }
        let long = settings.maxSide ?? SettingsTable.defaultVideoSide
        guard let seed = try StartImage.size(of: input) else {
            return try StartImage.fit(FrameSize(width: SettingsTable.defaultVideoSide, height: SettingsTable.defaultVideoSide * 9 / 16), maxSide: long, even: true, what: input)
        }
        return try StartImage.fit(seed, maxSide: long, even: true, what: input)
    }

    public func preflight(policy: OutputPolicy) throws {
        try videoPreflight(policy: policy)
    }

    /// The seed is readable, the frame size suits the model's layers, and no shift is larger than the frame.
    public func checkJob(resolved: ResolvedSettings?) throws {
        try checkPaths(extensions: ["mp4"])
        try settings.checkSoundtrack(kind: .zoom, origin: { resolved?.origin($0) ?? .api })
        if settings.loop > 0 && settings.loop >= settings.frameCount {
            let message = "\(settings.loop) frames cannot cross-fade into a \(settings.frameCount)-frame video; give fewer than its length"
            throw resolved?.error("loop", message) ?? SettingError(key: "loop", value: "\(settings.loop)", problem: .invalid(message))
        }
        let size = try frameSize()
        let minSide = try minimumSide()
        guard min(size.width, size.height) >= minSide else {
            let fix = settings.size != nil ? "give a --size with both sides at least \(minSide)"
                : "use --max-side \(StartImage.longSide(for: minSide, aspectOf: try StartImage.size(of: input) ?? size)) or more"
            throw DreamVideoError.invalidArgument("video size \(size) is too small for layer(s) \(settings.objectiveNodes.joined(separator: ", ")); the smaller side must be at least \(minSide) px (\(fix))")
        }
        for k in settings.translate.keyframes where abs(k.values[0]) >= Double(size.width) || abs(k.values[1]) >= Double(size.height) {
            let message = "shifts by \(formatNumber(k.values[0])),\(formatNumber(k.values[1])) px per frame, more than the \(size) frame"
            throw resolved?.error("translate", message) ?? SettingError(key: "translate", value: settings.translate.description, problem: .invalid(message))
        }
    }

    public func run(store: ModelStore = ModelStore(), policy: OutputPolicy = OutputPolicy(), progress: RenderObserver = RenderObserver(),
                    shouldStop: () throws -> Bool = { Interrupts.requested }) throws -> RenderSummary {
        try validate()
        try preflight(policy: policy)
        let size = try frameSize()
        var seedRNG = SeededGenerator(seed: settings.seed &+ 0x5EED)
        let seedImage = try StartImage.load(input, size: size, maxSide: nil, rng: &seedRNG)
        var identity = ["frames": "\(settings.frameCount)"]
        // The song's content, not only its name: a resume with another song would not continue these frames.
        if case .file(let song) = settings.audio {
            identity["audio"] = "a sound file"  // by its content below, not by how its path is spelled
            identity["audio content"] = try SHA256.hex(ofFile: song)
            for line in settings.soundtrack?.notes(for: song) ?? [] { progress.note(line) }
        }
        let render = VideoRender(size: size, frameRate: settings.fps, identity: identity)
        return try render.run(self, store: store, policy: policy, progress: progress, shouldStop: shouldStop) { network, control in
            ZoomFrameMaker(settings: settings, control: control, network: network, seed: seedImage, progress: progress)
        }
    }
}
