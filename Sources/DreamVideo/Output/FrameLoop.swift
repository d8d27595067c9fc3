import DreamEngine
import Foundation
import MediaIO

/// The frames `[first, end)` of a job (`end` nil: to the job's last frame).
public struct FrameRange: Sendable, Equatable, Codable, CustomStringConvertible {
    public var first: Int
    public var end: Int?
    /// Frames at the end rendered beyond the range's own (a shard's overlap with the next, cross-faded at the join).
    public var tail: Int?
    public init(first: Int = 0, end: Int? = nil, tail: Int? = nil) { self.first = first; self.end = end; self.tail = tail }
    /// Every frame of the job.
    public static let all = FrameRange()
    public var isWhole: Bool { first == 0 && end == nil }
    public var description: String { "\(first)…\(end.map(String.init) ?? "end")" + (tail.map { $0 > 0 ? " (last \($0) overlapping)" : "" } ?? "") }

    /// Refuses ranges that hold no frame or start before frame 0.
    func check(what: String) throws {
        guard first >= 0, first <= 100_000_000 else { throw DreamVideoError.invalidArgument("\(what): the frame range must start at frame 0…100000000, not \(first)") }
        if let end, end <= first { throw DreamVideoError.invalidArgument("\(what): the frame range \(first)…\(end) holds no frames") }
    }
}

/// A frame a pipeline made.
public struct MadeFrame: Sendable {
    public var picture: RGBImage
    /// When it is shown, in the job's time base, from the job's first frame (not the range's).
    public var pts: Int64
    /// How long it is shown (nil: one tick of the time base).
    public var duration: Int64?
    public init(picture: RGBImage, pts: Int64, duration: Int64? = nil) { self.picture = picture; self.pts = pts; self.duration = duration }
}

/// What a pipeline carries from one frame to the next, and what a checkpoint holds: its own payload and
/// named pictures.
public struct FrameState<Payload: Codable & Sendable>: Sendable {
    public var payload: Payload
    public var images: [String: RGBImage]
    public init(payload: Payload, images: [String: RGBImage] = [:]) { self.payload = payload; self.images = images }
}

/// The only code a video pipeline writes: what carries over between frames and how to make frame i.
/// `FrameLoop` does the rest (output, checkpoints, resume, interruption, ranges, observers, the join).
public protocol FrameMaker: AnyObject {
    associatedtype Payload: Codable & Sendable
    /// The pipeline's name, kept in checkpoints ("zoom", "redream").
    static var pipeline: String { get }
    /// The job's frame count when known before rendering (nil: known when the source ends).
    var frameCount: Int? { get }
    /// The frame count or, until the source ends, an estimate (progress and ETA).
    var estimatedFrameCount: Int { get }
    /// The state frame `first` is made from when there is no checkpoint.
    func start(at first: Int) throws -> FrameState<Payload>
    /// Picks up after a checkpoint: `state` is what was saved after frame `next − 1`.
    func resume(at next: Int, state: FrameState<Payload>) throws
    /// Frame `index` from the state after frame `index − 1`: the frame and the state after it; nil when the job
    /// has no frame `index` (the source ended).
    func makeFrame(_ index: Int, state: FrameState<Payload>) throws -> (MadeFrame, FrameState<Payload>)?
    /// Audio for a render of the whole job (asked once the first frame is made; nil: none).
    var audio: AudioSource? { get }
    /// Frame `index`'s evaluated settings as one line, for the output's parameter track (nil: no track).
    func parameters(at index: Int) -> String?
    /// Seconds spent so far, per stage.
    var timings: FrameTimings { get }
    /// Lines for the end of the summary (scene cuts, damaged packets skipped).
    var notes: [String] { get }
    /// The error for a range that holds no frames of the job.
    func noFrames(in range: FrameRange) -> Error
}

extension FrameMaker {
    public var audio: AudioSource? { nil }
    public func parameters(at index: Int) -> String? { nil }
    public var notes: [String] { [] }
    public func noFrames(in range: FrameRange) -> Error {
        DreamVideoError.invalidArgument("the job has no frames in the range \(range)")
    }
}

/// The one frame loop of every video pipeline: opens (or resumes) the output, asks the frame maker for each
/// frame of the range, writes it, tells the observer, checkpoints every few frames, stops cleanly when asked
/// (checkpoint, playable partial file), and finishes (join, frame count, audio, summary; for a range of the
/// job, a manifest `RangeJoin` reads).
///
/// A new pipeline is a `FrameMaker` and a call to this loop:
/// ```swift
/// let loop = FrameLoop<MyMaker>(output: "out.mp4", identity: ["what": "my settings"], options: VideoOutputOptions(…))
/// try loop.open()                       // takes the output first: a busy one fails before any slow setup
/// let summary = try loop.run(MyMaker(…), observer: RenderObserver(), shouldStop: { Interrupts.requested })
/// ```
public final class FrameLoop<Maker: FrameMaker> {
    let output: ResumableVideoOutput<Maker.Payload>
    public let range: FrameRange
    private var opened = false
    private var resumed: Checkpoint<Maker.Payload>?

    /// `identity`: what determines the frames, by name; a resume must match it (the range is added here).
    public init(output: String, identity: [String: String], options: VideoOutputOptions, range: FrameRange = .all,
                log: @escaping (String) -> Void = { _ in }) {
        var id = identity
        if !range.isWhole { id["range"] = range.description }
        var o = options
        o.firstFrame = range.first
        self.output = ResumableVideoOutput<Maker.Payload>(output: output, pipeline: Maker.pipeline, identity: id, options: o, log: log)
        self.range = range
    }

    /// Takes the output: its lock, and the checkpoint to continue from when resuming.
    public func open() throws {
        guard !opened else { return }
        try range.check(what: output.output)
        resumed = try output.open()
        opened = true
    }

    /// Lets go of the output after a failure before the loop ran (a model that would not load): a work folder
    /// that holds nothing to resume is removed.
    public func abandon() { output.discardIfNothingSaved() }

    /// Renders the range with `maker` and finishes the output.
    public func run(_ maker: Maker, observer: RenderObserver, shouldStop: () throws -> Bool) throws -> RenderSummary {
        try open()
        do {
            return try render(maker, observer: observer, shouldStop: shouldStop)
        } catch {
            // A render that failed before its first checkpoint leaves nothing to resume: no folder either.
            if case DreamVideoError.interrupted = error {} else { output.discardIfNothingSaved() }
            throw error
        }
    }

    private func render(_ maker: Maker, observer: RenderObserver, shouldStop: () throws -> Bool) throws -> RenderSummary {
        let t0 = Date()
        var summary = RenderSummary(output: output.output)
        summary.width = output.options.width; summary.height = output.options.height; summary.frameRate = output.options.frameRate
        var state: FrameState<Maker.Payload>
        var next: Int
        if let cp = resumed {
            state = FrameState(payload: cp.payload, images: cp.images)
            next = cp.nextFrame
            try maker.resume(at: next, state: state)
        } else {
            next = range.first
            state = try maker.start(at: next)
        }
        let end: Int? = [range.end, maker.frameCount].compactMap { $0 }.min()
        var sinceCheckpoint = 0
        var encode = 0.0
        while end.map({ next < $0 }) ?? true {
            let t0 = Date()
            let before = maker.timings
            let made: (MadeFrame, FrameState<Maker.Payload>)?
            do { made = try maker.makeFrame(next, state: state) } catch EngineError.cancelled {
                // Told to stop, and the frame could not finish in time: stop at the last finished one.
                try output.checkpoint(Checkpoint(nextFrame: next, payload: state.payload, images: state.images), closing: true)
                let partial = next > range.first ? " \(try output.writePartial()) plays what exists;" : ""
                throw DreamVideoError.interrupted("stopped during frame \(next + 1), abandoned to stop in time;\(partial) continue with the same command plus --resume")
            }
            guard let (frame, after) = made else { break }
            if next == range.first { output.ptsOrigin = frame.pts }
            if range.isWhole, output.audio == nil { output.audio = maker.audio }  // the partial file plays it too
            let te = Date()
            try output.write(frame.picture, frame: next, pts: frame.pts - output.ptsOrigin, duration: frame.duration)
            var t = maker.timings - before
            t.encode = Date().timeIntervalSince(te)
            encode += t.encode
            state = after
            next += 1
            sinceCheckpoint += 1
            summary.framesRendered += 1
            let stop = try shouldStop()
            if output.isCheckpointDue(nextFrame: next) || stop {
                try output.checkpoint(Checkpoint(nextFrame: next, payload: state.payload, images: state.images), closing: stop)
                sinceCheckpoint = 0
            }
            observer.frame(FrameProgress(index: next - 1, count: max(end ?? maker.estimatedFrameCount, next),
                                         seconds: Date().timeIntervalSince(t0), picture: frame.picture, timings: t))
            if stop && (end.map { next < $0 } ?? true) {
                let partial = try output.writePartial()
                let of = end.map { " of \($0)" } ?? ""
                throw DreamVideoError.interrupted("interrupted after frame \(next)\(of); \(partial) plays what exists; continue with the same command plus --resume")
            }
        }
        guard next > range.first else { throw maker.noFrames(in: range) }
        // The track is joined at the end only; the audio again in case a resume found every frame made (killed
        // during the join).
        if range.isWhole, output.audio == nil { output.audio = maker.audio }
        if range.isWhole { output.parameters = { maker.parameters(at: $0) } }
        if sinceCheckpoint > 0 {
            try output.checkpoint(Checkpoint(nextFrame: next, payload: state.payload, images: state.images), closing: true)
        }
        let tj = Date()
        let report = try output.finish(expectedFrames: next - range.first)
        encode += Date().timeIntervalSince(tj)
        summary.totalFrames = next - range.first
        summary.add(maker.timings)
        summary.encodeSeconds += encode
        summary.notes += maker.notes
        if !report.copiedAudio.isEmpty { summary.notes.append("audio copied: \(report.copiedAudio.joined(separator: ", "))") }
        if !report.transcodedAudio.isEmpty {
            summary.notes.append("audio re-encoded to AAC: \(report.transcodedAudio.joined(separator: ", ")) cannot go into MP4 as it is")
        }
        if !range.isWhole {
            // A range is one piece of a job: say which, so `RangeJoin` can put the pieces together.
            var settings = output.identity
            settings["range"] = nil
            let video = output.output
            // Frames past the range's own end (its overlap with the next range), as many as the clip had.
            let ownEnd = range.end.map { $0 - (range.tail ?? 0) }
            let tail = ownEnd.map { max(0, next - $0) } ?? 0
            try RangeManifest(pipeline: Maker.pipeline, settings: settings, firstFrame: range.first, frames: summary.totalFrames,
                              ptsOrigin: output.ptsOrigin, timeBase: output.options.timeBase, audio: maker.audio,
                              video: URL(fileURLWithPath: video).lastPathComponent, bytes: fileSize(video) ?? 0,
                              sha256: try SHA256.hex(ofFile: video), tail: tail > 0 ? tail : nil).write(beside: video)
        }
        summary.outputBytes = fileSize(output.output) ?? 0
        summary.wallSeconds = Date().timeIntervalSince(t0)
        return summary
    }
}

/// What every video job does around its frame maker, once: the checks (frame size against the model,
/// memory), the encoder note, the output, the guide picture and the model, then the frame loop.
struct VideoRender {
    /// The frame size, the frame rate and time base of the output, the settings a resume must match
    /// (besides the job's own settings), and the range of frames to render.
    var size: FrameSize
    var frameRate: FrameRate
    var timeBase: TimeBase? = nil
    var identity: [String: String] = [:]
    var range = FrameRange.all

    func run<Job: RenderJob, Maker: FrameMaker>(_ job: Job, store: ModelStore, policy: OutputPolicy, progress: RenderObserver,
                                                shouldStop: () throws -> Bool,
                                                maker: (Network, DreamControl) throws -> Maker) throws -> RenderSummary {
        let t0 = Date()
        let s = job.settings
        try job.checkMemory(width: size.width, height: size.height)
        if s.codec == .h265_10bit {
            if !Media.hasHEVCEncoder { throw DreamVideoError.invalidArgument("--codec h265-10bit: this FFmpeg has no 10-bit HEVC encoder (libx265); use --codec h264") }
        } else if !Media.hasH264Encoder && !s.mpeg4 { progress.note("note: this FFmpeg has no libx264; encoding MPEG-4 part 2 instead") }
        let loop = FrameLoop<Maker>(
            output: job.output, identity: job.identity(extra: identity.merging(["size": size.description]) { a, _ in a }),
            options: VideoOutputOptions(width: size.width, height: size.height, frameRate: frameRate, timeBase: timeBase, encoder: s.encoder,
                                        checkpointEvery: s.checkpointEvery, framesDir: s.framesDir, policy: policy),
            range: range, log: progress.note)
        var control = try DreamControl(s)  // reads the guide picture before the model is loaded
        let budget = Double(s.stopWithin)
        control.cancel = { Interrupts.abandon(after: budget) }
        try loop.open()                     // takes the output (a busy one is refused) before a model is loaded
        let m: Maker
        do { m = try maker(try store.load(s.model, log: progress.note), control) } catch {
            loop.abandon()
            throw error
        }
        var summary = try loop.run(m, observer: progress, shouldStop: shouldStop)
        summary.wallSeconds = Date().timeIntervalSince(t0)
        return summary
    }
}
