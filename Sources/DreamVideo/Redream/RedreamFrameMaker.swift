import DreamEngine
import Foundation
import MediaIO

/// One re-dreamed frame after another, as `RedreamJob` makes them: decode the source frame, carry the
/// previous dream along the motion where it can be trusted (a scene cut starts afresh), dream, hold the
/// strength, keep the source's timing.
final class RedreamFrameMaker: FrameMaker {
    /// What a checkpoint carries besides its pictures ("last": the last dreamed frame; "next": with a cadence,
    /// the next dreamed frame once made, while the frames between are written).
    struct Payload: Codable, Sendable {
        /// Timestamp (source time base) of the clip's first frame: output time zero.
        var firstPTS: Int64?
        /// Timestamp of the last dreamed frame, where a resume picks up the source again.
        var lastPTS: Int64
        var cuts: Int
        /// Strength (mean |dream − source|) of the last frame dreamed afresh, which carried frames are held to.
        var freshStrength: Double?
        /// With a cadence: the index of the last dreamed frame, and of the next one once it is dreamed.
        var key: Int?
        var next: Int?
    }

    /// The frames between two dreamed frames, made when the second is dreamed.
    struct Group {
        /// Index of the first frame after the last dreamed one, and the frames from there to the next dreamed one.
        var first: Int
        var frames: [(picture: RGBImage, pts: Int64, duration: Int64)]
        var nextSource: Tensor
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
        // Formulas that use the video's length (T, F) see the clip's real frame count.
        formulaFrames = job.settings.usesVideoLength ? try job.clipFrameCount() : nil
        self.control = control
        dreamers = DreamerCache(network: network, guide: control.guide, cancel: control.cancel)
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

    /// Frames dreamed (not written) before a range's first frame, so that the dream carried into it is the one a
    /// render of the whole clip would carry.
    var leadIn = 0
    /// The clip's frame count for formulas that use `T` or `F`.
    let formulaFrames: Int?

    func start(at first: Int) throws -> FrameState<Payload> {
        let fresh = FrameState(payload: Payload(firstPTS: nil, lastPTS: 0, cuts: 0, freshStrength: nil))
        guard first > 0 else {
            if clipStart > Double(reader.startPTS) * timeBase.seconds { try reader.seek(toSeconds: clipStart) }
            return fresh
        }
        // A range from frame N: find the frames by their packets' times (no decoding), then dream the lead-in
        // frames before N — from a dreamed frame of the cadence, as the whole render would — without writing them.
        let t0 = Date()
        let (times, tb) = try VideoPacketTimes.read(input)
        let clip = times.filter { t in
            let s = Double(t) * tb.seconds
            return s >= clipStart - 1e-6 && (clipEnd.map { s < $0 - 1e-6 } ?? true)
        }
        firstPTS = clip.first
        var s = max(0, first - leadIn)
        s = keyFrame(atOrBefore: s)
        guard s < clip.count else {
            try reader.seek(toPTS: Int64.max / 2)  // past the end: the range holds no frames
            return fresh
        }
        try reader.seek(toPTS: clip[s])
        timings.decode += Date().timeIntervalSince(t0)
        var state = fresh
        state.payload.firstPTS = firstPTS
        for j in s..<first {
            guard let (_, next) = try makeFrame(j, state: state) else { break }
            state = next
        }
        return state
    }

    /// The dreamed frame of the cadence at or before `index` (every frame without a cadence).
    func keyFrame(atOrBefore index: Int) -> Int {
        var k = 0
        while true {
            let n = max(1, settings.frameSettings(at: k, rate: rate, frames: formulaFrames).cadence)
            if k + n > index { return k }
            k += n
        }
    }

    func resume(at next: Int, state: FrameState<Payload>) throws {
        // Pick the source up again at the last dreamed frame (its picture is the motion's start).
        let t0 = Date()
        try reader.seek(toPTS: state.payload.lastPTS)
        guard let f = try reader.nextVideoFrame(), f.pts == state.payload.lastPTS else {
            throw DreamVideoError.invalidArgument("\(input): cannot find the frame the checkpoint stopped at (time \(state.payload.lastPTS)); has the source changed? Use --overwrite to start over")
        }
        previousSource = atWorkSize(f.image)
        firstPTS = state.payload.firstPTS
        cuts = state.payload.cuts
        timings.decode += Date().timeIntervalSince(t0)
        // In the middle of a cadence group: make its frames again from the two dreamed frames (no dreaming).
        if let key = state.payload.key, let nextKey = state.payload.next, next > key, next <= nextKey,
           let last = state.images["last"], let nextImage = state.images["next"] {
            group = try makeGroup(key: key, count: nextKey - key, last: Tensor(last), nextDream: Tensor(nextImage), state: state.payload).group
            cuts = state.payload.cuts  // the group's cuts were counted before the checkpoint
        }
    }

    var audio: AudioSource? {
        guard settings.audio == .keep && reader.hasAudio, let firstPTS else { return nil }
        return AudioSource(path: input, start: Double(firstPTS) * timeBase.seconds)
    }

    private func atWorkSize(_ image: RGBImage) -> Tensor {
        let t = Tensor(image)
        return t.shape.w == size.width && t.shape.h == size.height ? t : StartImage.resize(t, width: size.width, height: size.height)
    }

    /// With a cadence, the frames between the last dreamed frame and the next (made when the next is dreamed).
    private var group: Group?

    func makeFrame(_ index: Int, state: FrameState<Payload>) throws -> (MadeFrame, FrameState<Payload>)? {
        // Frames of a cadence group already made.
        if let g = group, index >= g.first, index < g.first + g.frames.count {
            let f = g.frames[index - g.first]
            if index == g.first + g.frames.count - 1 {
                // The next dreamed frame: the group ends, it becomes the last dreamed frame.
                group = nil
                previousSource = g.nextSource
                var payload = state.payload
                payload.lastPTS = f.pts + (firstPTS ?? 0)
                payload.key = index; payload.next = nil
                return (MadeFrame(picture: f.picture, pts: f.pts, duration: f.duration), FrameState(payload: payload, images: ["last": f.picture]))
            }
            return (MadeFrame(picture: f.picture, pts: f.pts, duration: f.duration), state)
        }
        let cadence = max(1, settings.frameSettings(at: index, rate: rate, frames: formulaFrames).cadence)
        if cadence > 1, index > 0, let last = state.images["last"], previousSource != nil {
            let n = max(1, settings.frameSettings(at: index - 1, rate: rate, frames: formulaFrames).cadence)
            let (g, payload) = try makeGroup(key: index - 1, count: n, last: Tensor(last), nextDream: nil, state: state.payload)
            guard let g, !g.frames.isEmpty else { return nil }
            group = g
            var st = state
            st.payload = payload
            st.images["next"] = g.frames.last!.picture
            return try makeFrame(index, state: st)
        }
        // One frame, dreamed.
        guard let (f, source) = try nextSource() else { return nil }
        if firstPTS == nil { firstPTS = f.pts }
        var payload = state.payload
        payload.firstPTS = firstPTS
        let tf = Date()
        var carry: Carry? = nil
        if let prevD = state.images["last"].map({ Tensor($0) }), let prevS = previousSource {
            var dream = prevD
            dream.subtract(prevS)
            if let step = try motion(from: prevS, to: source) {
                carry = Carry(dream: step.flow.map { ImageOps.warp(dream, along: $0, cubic: true) } ?? dream, mask: step.mask)
            }
        }
        timings.flow += Date().timeIntervalSince(tf)
        let image = try dream(index, source: source, carry: carry, payload: &payload)
        previousSource = source
        payload.lastPTS = f.pts
        payload.cuts = cuts
        payload.key = index
        let frame = MadeFrame(picture: image, pts: f.pts - (firstPTS ?? f.pts), duration: f.duration ?? reader.nominalFrameTicks)
        return (frame, FrameState(payload: payload, images: ["last": image]))
    }

    /// A dream carried from another frame: its difference from its source, moved into this frame, and where
    /// the move can be trusted.
    struct Carry { var dream: Tensor; var mask: Tensor }

    /// The move from one source frame to the next: the flow along which a picture of `from` is carried into
    /// `to` (nil without a motion estimate: in place), where it can be trusted; nil at a scene cut. With `back`,
    /// also the move the other way (only in-between frames carry a dream backwards: the mask costs two blurs and a
    /// warp, a third of a 720p frame's motion work).
    private func motion(from: Tensor, to: Tensor, back: Bool = false) throws -> (flow: FlowField?, mask: Tensor, back: (flow: FlowField, mask: Tensor)?)? {
        if let flow {
            let m = try TrustedMotion(previous: from, current: to, flow: flow)
            if m.isCut { cuts += 1; return nil }  // a new shot: start from the source alone
            return (m.backward, m.mask, back ? (m.forward, m.reverseMask(previous: from, current: to)) : nil)
        }
        let ones = Tensor(repeating: 1, shape: Shape(1, size.height, size.width))
        return (nil, ones, nil)
    }

    /// Dreams frame `index` from its source, with a carried dream where there is one; holds the strength.
    private func dream(_ index: Int, source: Tensor, carry: Carry?, payload: inout Payload) throws -> RGBImage {
        let fs = settings.frameSettings(at: index, rate: rate, frames: formulaFrames)
        var start = source
        var temporal: TemporalGuide? = nil
        if let carry, flow != nil || fs.blend > 0 {
            var target = source
            target.add(carry.dream)
            target.clamp(0, 255)
            start = ImageOps.blend(source, toward: target, mask: carry.mask, amount: fs.blend)
            temporal = TemporalGuide(target: target, mask: carry.mask, weight: fs.temporalWeight, blend: fs.blend)
        }
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
        return dreamed.rgbImage()
    }

    /// A cadence group after the dreamed frame `key` (its picture `last`, its source `previousSource`): the
    /// next `count` source frames are read; the last of them is dreamed (with `last`'s dream carried to it along
    /// the chain of motions) unless `nextDream` gives it; the frames between get the dreams of both sides carried
    /// to them along the motion, each weighted by nearness and by where its chain can be trusted, laid over their
    /// own fresh source pictures.
    private func makeGroup(key: Int, count: Int, last: Tensor, nextDream: Tensor?, state: Payload) throws -> (group: Group?, payload: Payload) {
        var payload = state
        guard let keySource = previousSource else { return (nil, payload) }
        var sources: [(frame: VideoFrame, picture: Tensor)] = []
        while sources.count < count, let s = try nextSource() { sources.append(s) }
        guard !sources.isEmpty else { return (nil, payload) }
        let m = sources.count
        let tf = Date()
        // Forward: the last dreamed frame's dream carried frame by frame.
        var carried = last
        carried.subtract(keySource)
        var mask: Tensor? = Tensor(repeating: 1, shape: Shape(1, size.height, size.width))
        var forward: [Carry?] = []
        var backSteps: [(flow: FlowField, mask: Tensor)?] = []
        var previous = keySource
        for s in sources {
            if let step = try motion(from: previous, to: s.picture, back: true) {
                if let fl = step.flow {
                    carried = ImageOps.warp(carried, along: fl, cubic: true)
                    if let m0 = mask { mask = ImageOps.warp(m0, along: fl); mask!.multiply(step.mask) }
                }
                backSteps.append(step.back)
            } else {
                mask = nil  // a cut: nothing crosses it
                backSteps.append(nil)
            }
            forward.append(mask.map { Carry(dream: carried, mask: $0) })
            previous = s.picture
        }
        timings.flow += Date().timeIntervalSince(tf)
        // The next dreamed frame.
        let nextSource = sources[m - 1].picture
        let nextImage: RGBImage
        if let nextDream {
            nextImage = nextDream.rgbImage()
        } else {
            payload.firstPTS = firstPTS
            nextImage = try dream(key + m, source: nextSource, carry: forward[m - 1], payload: &payload)
        }
        // Backward: its dream carried frame by frame toward the last dreamed frame.
        let tb = Date()
        var backDream = Tensor(nextImage)
        backDream.subtract(nextSource)
        var backMask: Tensor? = Tensor(repeating: 1, shape: Shape(1, size.height, size.width))
        var backward = [Carry?](repeating: nil, count: m)
        backward[m - 1] = Carry(dream: backDream, mask: backMask!)
        for j in stride(from: m - 1, to: 0, by: -1) {
            // From frame j (index m − 1 … 1 in `sources`) to frame j − 1.
            if let step = backSteps[j] {
                backDream = ImageOps.warp(backDream, along: step.flow, cubic: true)
                if let b = backMask { backMask = ImageOps.warp(b, along: step.flow); backMask!.multiply(step.mask) }
            } else if flow != nil {
                backMask = nil
            }
            backward[j - 1] = backMask.map { Carry(dream: backDream, mask: $0) }
        }
        // The frames between: both dreams, each as near and as trusted as it is.
        var frames: [(picture: RGBImage, pts: Int64, duration: Int64)] = []
        for j in 0..<m {
            let s = sources[j]
            let pts = s.frame.pts - (firstPTS ?? s.frame.pts)
            let duration = s.frame.duration ?? reader.nominalFrameTicks
            if j == m - 1 { frames.append((nextImage, pts, duration)); break }
            let alpha = Float(j + 1) / Float(m)
            frames.append((mixed(source: s.picture, forward[j], backward[j], alpha: alpha).rgbImage(), pts, duration))
        }
        timings.warp += Date().timeIntervalSince(tb)
        payload.lastPTS = state.lastPTS
        payload.cuts = cuts
        payload.key = key
        payload.next = key + m
        return (Group(first: key + 1, frames: frames, nextSource: nextSource), payload)
    }

    /// `source` + the two carried dreams, weighted (1 − alpha) and alpha by nearness and each by its trust; where
    /// neither side can be trusted, both as they are, by nearness.
    private func mixed(source: Tensor, _ f: Carry?, _ b: Carry?, alpha: Float) -> Tensor {
        var out = source
        let p = source.shape.plane
        let zero = Tensor(zeros: source.shape), none = Tensor(zeros: Shape(1, source.shape.h, source.shape.w))
        let fd = f?.dream ?? zero, fm = f?.mask ?? none, bd = b?.dream ?? zero, bm = b?.mask ?? none
        let hasF: Float = f == nil ? 0 : 1, hasB: Float = b == nil ? 0 : 1
        for i in 0..<p {
            let wf = (1 - alpha) * fm.data[i], wb = alpha * bm.data[i]
            let sum = wf + wb
            let (a, c): (Float, Float)
            if sum > 1e-3 { (a, c) = (wf / sum, wb / sum) } else {
                let rf = (1 - alpha) * hasF, rb = alpha * hasB
                let r = rf + rb
                (a, c) = r > 0 ? (rf / r, rb / r) : (0, 0)
            }
            for ch in 0..<3 { out.data[ch * p + i] += a * fd.data[ch * p + i] + c * bd.data[ch * p + i] }
        }
        out.clamp(0, 255)
        return out
    }

    /// The parameter track's line for frame `index`: its settings as the schedules give them at the source's rate.
    func parameters(at index: Int) -> String? {
        let fs = settings.frameSettings(at: index, rate: rate, frames: formulaFrames)
        let layers = fs.dream.layers.map { String(format: "%@ %.2f", $0.name as NSString, Double($0.weight)) }.joined(separator: "  ")
        return String(format: "f %d  t %.2fs  blend %.2f  temporal %.2f  step %.2f  %d×%d", index, Double(index) / rate, Double(fs.blend),
                      Double(fs.temporalWeight), Double(fs.dream.step), fs.dream.octaves, fs.dream.iterations) + "\n" + layers
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

