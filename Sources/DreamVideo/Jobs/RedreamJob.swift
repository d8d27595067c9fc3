import DreamEngine
import Foundation
import MediaIO

/// Re-dream an existing video, frame by frame, coherently in time: each frame starts from its source
/// frame blended with the previous dream carried along the motion (optical flow between the source
/// frames), where that motion can be trusted, and is pulled toward it while it dreams. Scene cuts start
/// afresh. Every output frame keeps its source frame's time; the audio is kept.
public struct RedreamJob: RenderJob, Equatable {
    public static let kind = JobKind.redream
    /// The source video.
    public var input: String
    public var output: String
    public var settings: JobSettings
    /// The frames to render (default: all of them). A range of a re-dream renders into its own output, to be
    /// joined with the others by stream copy (`RangeJoin`).
    public var range: FrameRange

    public init(input: String, output: String, settings: JobSettings) {
        self.init(input: input, output: output, settings: settings, range: .all)
    }

    public init(input: String, output: String, settings: JobSettings, range: FrameRange) {
        self.input = input; self.output = output; self.settings = settings; self.range = range
    }

    enum CodingKeys: String, CodingKey { case input, output, settings, range }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(input: try c.decode(String.self, forKey: .input), output: try c.decode(String.self, forKey: .output),
                  settings: try c.decode(JobSettings.self, forKey: .settings),
                  range: try c.decodeIfPresent(FrameRange.self, forKey: .range) ?? .all)
    }

    public func preflight(policy: OutputPolicy) throws {
        try videoPreflight(policy: policy)
    }

    /// The source is a video whose frames the model can dream, and every keyframe falls inside the clip.
    public func checkJob(resolved: ResolvedSettings?) throws {
        try checkPaths(extensions: ["mp4"])
        let source = try RedreamSource(path: input, settings: settings)
        _ = try workSize(source: source.reader.size)
        // Keyframes are checked against the clip's real frame count (its packets), not the container's estimate.
        let frames = settings.isKeyframed ? ((try? clipFrameCount()) ?? (source.knowsLength ? source.estimatedFrames + 1 : nil))
                                          : (source.knowsLength ? source.estimatedFrames + 1 : nil)
        try settings.checkKeyframes(kind: .redream, fps: source.frameRate.value, frames: frames, origin: { resolved?.origin($0) ?? .api })
        try range.check(what: output)
    }

    /// The size frames are dreamed and written at: the source's, shrunk to `max-side` (even sides), or
    /// enlarged to the smallest size the layers can dream when the source is smaller.
    public func workSize(source: (width: Int, height: Int)) throws -> FrameSize {
        try workSizeAndNote(source: source).0
    }

    func workSizeAndNote(source: (width: Int, height: Int)) throws -> (FrameSize, String?) {
        try StartImage.videoSize(source: FrameSize(width: source.width, height: source.height),
                                 maxSide: settings.maxSide ?? SettingsTable.defaultVideoSide, minSide: minimumSide(), what: input)
    }

    public func run(store: ModelStore = ModelStore(), policy: OutputPolicy = OutputPolicy(), progress: RenderObserver = RenderObserver(),
                    shouldStop: () throws -> Bool = { Interrupts.requested }) throws -> RenderSummary {
        try validate()
        try preflight(policy: policy)
        let source = try RedreamSource(path: input, settings: settings)
        let (size, sizeNote) = try workSizeAndNote(source: source.reader.size)
        if let sizeNote { progress.note(sizeNote) }
        var identity = ["source": try sourceFingerprint()]
        identity["audio"] = settings.audio == .keep && source.reader.hasAudio ? "true" : "false"
        let render = VideoRender(size: size, frameRate: source.frameRate, timeBase: source.timeBase, identity: identity, range: range)
        return try render.run(self, store: store, policy: policy, progress: progress, shouldStop: shouldStop) { network, control in
            let maker = try RedreamFrameMaker(job: self, source: source, size: size, network: network, control: control, progress: progress)
            maker.leadIn = settings.leadIn
            return maker
        }
    }

    /// Identifies the source file for a resume: its size and digests of its first and last MiB.
    func sourceFingerprint() throws -> String {
        guard let f = fileFingerprint(input, withTime: false) else { throw MediaError.cannotOpen(path: input, reason: "cannot read it") }
        return f
    }
}
