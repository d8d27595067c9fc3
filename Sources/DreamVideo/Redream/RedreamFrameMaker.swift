import DreamEngine
import Foundation
import MediaIO

/// One re-dreamed frame after another, as `RedreamJob` makes them: decode the source frame, carry the
/// previous dream along the motion where it can be trusted (a scene cut starts afresh), dream, hold the
/// strength, keep the source's timing.
final class RedreamFrameMaker: FrameMaker {
    /// What a checkpoint carries besides the last dreamed frame.
    struct Payload: Codable, Sendable {
        /// Timestamp (source time base) of the clip's first frame: output time zero.
        var firstPTS: Int64?
        /// Timestamp of the last frame re-dreamed, where a resume picks up the source again.
        var lastPTS: Int64
        var cuts: Int
        /// Strength (mean |dream − source|) of the last frame dreamed afresh, which carried frames are held to.
        var freshStrength: Double?
    }
    static let pipeline = "redream"

    let settings: JobSettings
    let input: String
    let size: FrameSize
    let reader: VideoReader
    /// The source's frame rate (schedules in seconds are placed at it) and time base.
    let rate: Double
    let timeBase: TimeBase
    let clipStart: Double
    let clipEnd: Double?
    let estimatedFrameCount: Int
    var frameCount: Int? { nil }
    private(set) var timings = FrameTimings()
    private let control: DreamControl
    private let dreamers: DreamerCache
    private let flow: FlowEstimator?
    private let observer: RenderObserver
    private var previousSource: Tensor?
    private var firstPTS: Int64?
    private var cuts = 0
    private var notedPyramid = false

    init(job: RedreamJob, source: RedreamSource, size: FrameSize, network: Network, control: DreamControl, progress: RenderObserver) throws {
        settings = job.settings
        input = job.input
        self.size = size
        reader = source.reader
        rate = source.frameRate.value
        timeBase = source.timeBase
        clipStart = source.clipStart
        clipEnd = source.clipEnd
        estimatedFrameCount = source.estimatedFrames
        self.control = control
        dreamers = DreamerCache(network: network, guide: control.guide)
        flow = settings.flow == .none ? nil : try FlowEstimator(settings.flow)
        observer = progress
    }

    /// The next source frame of the clip at the working size (nil at its end).
    private func nextSource() throws -> (frame: VideoFrame, picture: Tensor)? {
        let t0 = Date()
        defer { timings.decode += Date().timeIntervalSince(t0) }
        while let f = try reader.nextVideoFrame() {
            if f.time < clipStart - 1e-6 { continue }
            if let clipEnd, f.time >= clipEnd - 1e-6 { return nil }
            let t = Tensor(f.image)
            let picture = t.shape.w == size.width && t.shape.h == size.height ? t : StartImage.resize(t, width: size.width, height: size.height)
            return (f, picture)
        }
        return nil
    }

    func start(at first: Int) throws -> FrameState<Payload> {
        if clipStart > Double(reader.startPTS) * timeBase.seconds { try reader.seek(toSeconds: clipStart) }
        // A range from frame N: decode the frames before it (the clip's frame count and times need them), dream none.
        var skipped = 0
        while skipped < first {
            guard let (f, _) = try nextSource() else { break }
            if firstPTS == nil { firstPTS = f.pts }
            skipped += 1
        }
        return FrameState(payload: Payload(firstPTS: firstPTS, lastPTS: 0, cuts: 0, freshStrength: nil))
    }

    func resume(at next: Int, state: FrameState<Payload>) throws {
        // Pick the source up again at the last frame re-dreamed (its picture is the motion's start).
        let t0 = Date()
        try reader.seek(toPTS: state.payload.lastPTS)
        guard let f = try reader.nextVideoFrame(), f.pts == state.payload.lastPTS else {
            throw DreamVideoError.invalidArgument("\(input): cannot find the frame the checkpoint stopped at (time \(state.payload.lastPTS)); has the source changed? Use --overwrite to start over")
        }
        let t = Tensor(f.image)
        previousSource = t.shape.w == size.width && t.shape.h == size.height ? t : StartImage.resize(t, width: size.width, height: size.height)
        firstPTS = state.payload.firstPTS
        cuts = state.payload.cuts
        timings.decode += Date().timeIntervalSince(t0)
    }

    var audio: AudioSource? {
        guard settings.audio && reader.hasAudio, let firstPTS else { return nil }
        return AudioSource(path: input, start: Double(firstPTS) * timeBase.seconds)
    }

    func makeFrame(_ index: Int, state: FrameState<Payload>) throws -> (MadeFrame, FrameState<Payload>)? {
        guard let (f, source) = try nextSource() else { return nil }
        if firstPTS == nil { firstPTS = f.pts }
        let fs = settings.frameSettings(at: index, rate: rate)
        var payload = state.payload
        payload.firstPTS = firstPTS

        // The start picture: the fresh source with the previous frame's dream — its difference from its own
        // source — carried along the motion where the motion can be trusted. Carrying the dream and not the
        // dreamed picture keeps the footage's own detail new every frame; a bicubic warp keeps the dream's
        // detail from blurring away as it is carried frame after frame.
        let tf = Date()
        var start = source
        var temporal: TemporalGuide? = nil
        if let prevD = state.images["last"].map({ Tensor($0) }), let prevS = previousSource {
            var carry: (mask: Tensor, flow: FlowField?)? = nil
            if let flow {
                let motion = try TrustedMotion(previous: prevS, current: source, flow: flow)
                if motion.isCut {
                    cuts += 1  // a new shot: start from the source alone
                } else {
                    carry = (motion.mask, motion.backward)
                }
            } else if fs.blend > 0 {
                carry = (Tensor(repeating: 1, shape: Shape(1, size.height, size.width)), nil)  // no motion estimate: in place
            }
            if let carry {
                var dream = prevD
                dream.subtract(prevS)
                var target = source
                target.add(carry.flow.map { ImageOps.warp(dream, along: $0, cubic: true) } ?? dream)
                target.clamp(0, 255)
                start = ImageOps.blend(source, toward: target, mask: carry.mask, amount: fs.blend)
                temporal = TemporalGuide(target: target, mask: carry.mask, weight: fs.temporalWeight, blend: fs.blend)
            }
        }
        timings.flow += Date().timeIntervalSince(tf)

        let dreamer = try dreamers.dreamer(for: fs.dream)
        if !notedPyramid { noteShortPyramid(dreamer, height: size.height, width: size.width, note: observer.note); notedPyramid = true }
        let td = Date()
        var rng = SeededGenerator.forFrame(index, seed: settings.seed)
        let step = observer.step
        var dreamed = control.keepColors(try dreamer.dream(start, rng: &rng, temporal: temporal) { p in if p.iteration + 1 == p.iterations { step(p) } },
                                         start: source, reference: source)
        timings.dream += Date().timeIntervalSince(td)
        // Hold the strength: a carried dream gains a little every frame (each frame pushes on what the last
        // one made); scale the dream back to a fresh dream's size in this shot.
        let strength = CoherenceMetrics.meanAbsDifference(dreamed, source)
        if temporal == nil {
            payload.freshStrength = strength
        } else if let fresh = payload.freshStrength, strength > fresh {
            var delta = dreamed
            delta.subtract(source)
            dreamed = source
            dreamed.add(delta, scaledBy: Float(fresh / strength))
        }
        // The 8-bit frame is what is written and what is carried on, so a resume is exact.
        let image = dreamed.rgbImage()
        previousSource = source
        payload.lastPTS = f.pts
        payload.cuts = cuts
        let frame = MadeFrame(picture: image, pts: f.pts - (firstPTS ?? f.pts), duration: f.duration ?? reader.nominalFrameTicks)
        return (frame, FrameState(payload: payload, images: ["last": image]))
    }

    var notes: [String] {
        var n: [String] = []
        if cuts > 0 { n.append("\(cuts) scene cut\(cuts == 1 ? "" : "s"): started afresh there") }
        if reader.damaged > 0 { n.append("warning: \(reader.damaged) damaged packet\(reader.damaged == 1 ? "" : "s") or frame\(reader.damaged == 1 ? "" : "s") in \(input) skipped") }
        return n
    }

    func noFrames(in range: FrameRange) -> Error {
        if range.first > 0 {
            return DreamVideoError.invalidArgument("\(input): the clip has no frame \(range.first) (it ends before)")
        }
        return DreamVideoError.invalidArgument("\(input): no video frames between \(formatNumber(settings.start)) s and \(clipEnd.map { formatNumber($0 - clipStart + settings.start) + " s" } ?? "the end")")
    }
}

/// The source of a re-dream, opened: its reader, frame rate, time base, and the clip the settings cut from it.
struct RedreamSource {
    let reader: VideoReader
    let frameRate: FrameRate
    let timeBase: TimeBase
    /// Start and end of the clip, in seconds on the file's clock.
    let clipStart: Double
    let clipEnd: Double?
    /// The clip's frame count, estimated from its duration (exact only once it is read).
    let estimatedFrames: Int
    /// Whether the file says how long it is (so keyframes past its end can be found before rendering).
    let knowsLength: Bool

    init(path: String, settings: JobSettings) throws {
        reader = try VideoReader(path: path)
        let tb = TimeBase(reader.timeBase.num, reader.timeBase.den)
        guard tb.isValid else { throw MediaError.unsupported(path: path, reason: "its video has no usable time base") }
        timeBase = tb
        frameRate = reader.frameRate.num > 0 ? FrameRate(reader.frameRate.num, reader.frameRate.den) : FrameRate(30)
        let streamStart = Double(reader.startPTS) * tb.seconds
        let clipStart = streamStart + settings.start
        let clipEnd = settings.duration.map { clipStart + $0 }
        self.clipStart = clipStart
        self.clipEnd = clipEnd
        let fileEnd = reader.duration.map { streamStart + $0 }
        let end = clipEnd.map { e in fileEnd.map { min(e, $0) } ?? e } ?? fileEnd
        knowsLength = end != nil
        let n = ((end ?? clipStart) - clipStart) * (reader.frameRate.num > 0 ? Double(reader.frameRate.num) / Double(reader.frameRate.den) : 30)
        estimatedFrames = n.isFinite && n < 1e9 ? max(1, Int(n.rounded())) : 1
    }
}

