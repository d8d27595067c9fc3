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

    /// Below this fraction of trustworthy motion between two frames, the second starts a new shot.
    public static let sceneCutThreshold = 0.3
    /// Where the previous source frame, moved along the flow, differs from the current one by more than
    /// this many levels, the motion is not trusted (the flow missed something).
    public static let mismatchThreshold: Float = 20

    public init(input: String, output: String, settings: JobSettings) {
        self.input = input; self.output = output; self.settings = settings
    }

    /// Built-in defaults ← the model's re-dream defaults ← `sources` (a preset, then flags).
    public static func resolve(input: String, output: String, sources: [SettingSource]) throws -> RedreamJob {
        let r = try JobSettings.resolve(kind: .redream, sources: sources)
        let job = RedreamJob(input: input, output: output, settings: r.settings)
        try job.checkInputReadable()
        return job
    }

    /// What a checkpoint carries besides the last dreamed frame.
    struct Payload: Codable, Sendable {
        var rng: SeededGenerator
        /// Timestamp (source time base) of the first frame re-dreamed: output time zero.
        var firstPTS: Int64
        /// Timestamp of the last frame re-dreamed, where a resume picks up the source again.
        var lastPTS: Int64
        var cuts: Int
        /// Strength (mean |dream − source|) of the last frame dreamed afresh, which carried frames are held to.
        var freshStrength: Double?
    }

    public func preflight(policy: OutputPolicy) throws {
        try videoPreflight(policy: policy)
    }

    /// The size frames are dreamed and written at: the source's, shrunk to `max-side`, even sides.
    public func workSize(source: (width: Int, height: Int)) throws -> FrameSize {
        try StartImage.fit(FrameSize(width: source.width, height: source.height), maxSide: settings.maxSide ?? 1280, even: true, what: input)
    }

    public func run(store: ModelStore = ModelStore(), policy: OutputPolicy = OutputPolicy(), progress: RenderObserver = RenderObserver(),
                    shouldStop: () throws -> Bool = { Interrupts.requested }) throws -> RenderSummary {
        let t0 = Date()
        try preflight(policy: policy)
        let reader = try VideoReader(path: input)
        let size = try workSize(source: reader.size)
        try checkMemory(width: size.width, height: size.height)
        let arch = try ModelZoo.architecture(settings.model)
        var nodes: [Int] = []
        for l in settings.layers { nodes.append(try arch.nodeIndex(l.name)) }
        let minSide = Dreamer.minimumSide(arch, nodes: nodes)
        guard min(size.width, size.height) >= minSide else {
            throw DreamVideoError.invalidArgument("\(input): frames of \(size) are too small for layer(s) \(settings.layers.map(\.name).joined(separator: ", ")); the smaller side must be at least \(minSide) px (raise --max-side or choose an earlier layer)")
        }
        let tb = TimeBase(reader.timeBase.num, reader.timeBase.den)
        guard tb.isValid else { throw MediaError.unsupported(path: input, reason: "its video has no usable time base") }
        let fps = reader.frameRate.num > 0 ? FrameRate(reader.frameRate.num, reader.frameRate.den) : FrameRate(30)
        let rate = fps.value
        let clipStart = Double(reader.startPTS) * tb.seconds + settings.start
        let clipEnd = settings.duration.map { clipStart + $0 }
        let estimate = max(1, Int((((clipEnd ?? (reader.duration.map { Double(reader.startPTS) * tb.seconds + $0 } ?? clipStart)) - clipStart) * rate).rounded()))
        if !Media.hasH264Encoder && !settings.mpeg4 { progress.note("note: this FFmpeg has no libx264; encoding MPEG-4 part 2 instead") }

        var id = identity(extra: ["size": size.description, "source": try sourceFingerprint()])
        id["audio"] = settings.audio && reader.hasAudio ? "true" : "false"
        let output = ResumableVideoOutput<Payload>(
            output: self.output, pipeline: "redream", identity: id,
            options: VideoOutputOptions(width: size.width, height: size.height, frameRate: fps, timeBase: tb, encoder: settings.encoder,
                                        checkpointEvery: settings.checkpointEvery, framesDir: settings.framesDir, policy: policy),
            log: progress.note)
        let control = try DreamControl(settings)
        let resumed = try output.open()
        let network = try store.load(settings.model, log: progress.note)
        let dreamers = DreamerCache(network: network, guide: control.guide)
        let flow = settings.flow == .none ? nil : try FlowEstimator(settings.flow)

        var summary = RenderSummary(output: self.output)
        summary.width = size.width; summary.height = size.height; summary.frameRate = fps

        func sourceTensor(_ f: VideoFrame) -> Tensor {
            let t = Tensor(f.image)
            return t.shape.w == size.width && t.shape.h == size.height ? t : StartImage.resize(t, width: size.width, height: size.height)
        }

        var rng = resumed?.payload.rng ?? SeededGenerator(seed: settings.seed)
        var index = resumed?.nextFrame ?? 0
        var cuts = resumed?.payload.cuts ?? 0
        var firstPTS = resumed?.payload.firstPTS
        var lastPTS = resumed?.payload.lastPTS ?? 0
        var previousDream: Tensor? = resumed?.images["last"].map { Tensor($0) }
        var previousSource: Tensor? = nil
        let td0 = Date()
        if let cp = resumed {
            // Pick the source up again at the last frame re-dreamed (its picture is the motion's start).
            try reader.seek(toPTS: cp.payload.lastPTS)
            guard let f = try reader.nextVideoFrame(), f.pts == cp.payload.lastPTS else {
                throw DreamVideoError.invalidArgument("\(input): cannot find the frame the checkpoint stopped at (time \(cp.payload.lastPTS)); has the source changed? Use --overwrite to start over")
            }
            previousSource = sourceTensor(f)
        } else if clipStart > Double(reader.startPTS) * tb.seconds {
            try reader.seek(toSeconds: clipStart)
        }
        summary.decodeSeconds += Date().timeIntervalSince(td0)
        if settings.audio && reader.hasAudio, let first = firstPTS {
            output.audio = AudioSource(path: input, start: Double(first) * tb.seconds)
        }
        var notedPyramid = false
        var sinceCheckpoint = 0
        var freshStrength = resumed?.payload.freshStrength

        while true {
            let frameStart = Date()
            let td = Date()
            guard let f = try reader.nextVideoFrame() else { break }
            if f.time < clipStart - 1e-6 { continue }
            if let clipEnd, f.time >= clipEnd - 1e-6 { break }
            let source = sourceTensor(f)
            summary.decodeSeconds += Date().timeIntervalSince(td)
            if firstPTS == nil {
                firstPTS = f.pts
                if settings.audio && reader.hasAudio { output.audio = AudioSource(path: input, start: f.time) }
            }
            let fs = settings.frameSettings(at: index, rate: rate)

            // The start picture: the source, with the previous dream carried along the motion where it can be trusted.
            let tf = Date()
            var start = source
            var guide: TemporalGuide? = nil
            if let prevD = previousDream, let prevS = previousSource {
                if let flow {
                    let (backward, forward) = try flow.flows(previous: ImageOps.gray8(prevS), current: ImageOps.gray8(source),
                                                             width: size.width, height: size.height)
                    var mask = ImageOps.consistencyMask(backward: backward, forward: forward)
                    // Compared slightly blurred, so resampling differences at sharp edges do not count as mismatches.
                    ImageOps.clearMismatches(&mask, carried: ImageOps.gaussianBlur(ImageOps.warp(prevS, along: backward), sigma: 1),
                                             current: ImageOps.gaussianBlur(source, sigma: 1), threshold: RedreamJob.mismatchThreshold)
                    if mask.mean() < RedreamJob.sceneCutThreshold {
                        cuts += 1  // a new shot: start from the source alone
                    } else {
                        let carried = ImageOps.warp(prevD, along: backward)
                        start = ImageOps.blend(source, toward: carried, mask: mask, amount: fs.blend)
                        guide = TemporalGuide(target: carried, mask: mask, weight: fs.temporalWeight, carried: fs.blend)
                    }
                } else if fs.blend > 0 {
                    // No motion estimate: a plain cross-fade with the previous dream.
                    let all = Tensor(repeating: 1, shape: Shape(1, size.height, size.width))
                    start = ImageOps.blend(source, toward: prevD, mask: all, amount: fs.blend)
                    guide = TemporalGuide(target: prevD, mask: all, weight: fs.temporalWeight, carried: fs.blend)
                }
            }
            summary.flowSeconds += Date().timeIntervalSince(tf)

            let dreamer = try dreamers.dreamer(for: fs.dream)
            if !notedPyramid { noteShortPyramid(dreamer, height: size.height, width: size.width, note: progress.note); notedPyramid = true }
            let tdream = Date()
            var dreamed = control.keepColors(try dreamer.dream(start, rng: &rng, guide: guide) { p in if p.iteration + 1 == p.iterations { progress.step(p) } },
                                             start: source, reference: source)
            summary.dreamSeconds += Date().timeIntervalSince(tdream)
            // Hold the strength: a carried dream gains a little every frame (each frame pushes on what the last
            // one made); scale the difference from the source back to a fresh dream's strength in this shot.
            let strength = CoherenceMetrics.meanAbsDifference(dreamed, source)
            if guide == nil {
                freshStrength = strength
            } else if let fresh = freshStrength, strength > fresh {
                var delta = dreamed
                delta.subtract(source)
                dreamed = source
                dreamed.add(delta, scaledBy: Float(fresh / strength))
            }
            // The 8-bit frame is what is written and what is carried on, so a resume is exact.
            let image = dreamed.rgbImage()
            let te = Date()
            try output.write(image, frame: index, pts: f.pts - firstPTS!, duration: f.duration ?? reader.nominalFrameTicks)
            summary.encodeSeconds += Date().timeIntervalSince(te)
            previousDream = Tensor(image)
            previousSource = source
            lastPTS = f.pts
            index += 1
            sinceCheckpoint += 1
            summary.framesRendered += 1
            let stop = try shouldStop()
            if output.isCheckpointDue(nextFrame: index) || stop {
                try output.checkpoint(Checkpoint(nextFrame: index, payload: Payload(rng: rng, firstPTS: firstPTS!, lastPTS: lastPTS, cuts: cuts, freshStrength: freshStrength),
                                                 images: ["last": image]))
                sinceCheckpoint = 0
            }
            progress.frame(FrameProgress(index: index - 1, count: max(estimate, index), seconds: Date().timeIntervalSince(frameStart)))
            if stop {
                let partial = try output.writePartial()
                throw DreamVideoError.interrupted("interrupted after frame \(index); \(partial) plays what exists; continue with the same command plus --resume")
            }
        }
        guard index > 0, let first = firstPTS else {
            throw DreamVideoError.invalidArgument("\(input): no video frames between \(formatNumber(settings.start)) s and \(clipEnd.map { formatNumber($0 - clipStart + settings.start) + " s" } ?? "the end")")
        }
        if sinceCheckpoint > 0 {
            try output.checkpoint(Checkpoint(nextFrame: index, payload: Payload(rng: rng, firstPTS: first, lastPTS: lastPTS, cuts: cuts, freshStrength: freshStrength),
                                             images: ["last": previousDream!.rgbImage()]))
        }
        let tj = Date()
        let report = try output.finish(expectedFrames: index)
        summary.encodeSeconds += Date().timeIntervalSince(tj)
        summary.totalFrames = index
        summary.outputBytes = fileSize(self.output) ?? 0
        summary.wallSeconds = Date().timeIntervalSince(t0)
        if cuts > 0 { summary.notes.append("\(cuts) scene cut\(cuts == 1 ? "" : "s"): started afresh there") }
        if reader.damaged > 0 { summary.notes.append("warning: \(reader.damaged) damaged packet\(reader.damaged == 1 ? "" : "s") or frame\(reader.damaged == 1 ? "" : "s") in \(input) skipped") }
        if !report.copiedAudio.isEmpty { summary.notes.append("audio copied: \(report.copiedAudio.joined(separator: ", "))") }
        if !report.transcodedAudio.isEmpty {
            summary.notes.append("audio re-encoded to AAC: \(report.transcodedAudio.joined(separator: ", ")) cannot go into MP4 as it is")
        }
        return summary
    }

    /// Identifies the source file for a resume: its size and digests of its first and last MiB.
    func sourceFingerprint() throws -> String {
        guard let handle = FileHandle(forReadingAtPath: input) else { throw MediaError.cannotOpen(path: input, reason: "cannot read it") }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: 0)
        let head = (try? handle.read(upToCount: 1 << 20)) ?? Data()
        try? handle.seek(toOffset: size > 1 << 20 ? size - (1 << 20) : 0)
        let tail = (try? handle.read(upToCount: 1 << 20)) ?? Data()
        return "\(size) bytes, \(SHA256.hex(of: head + tail).prefix(16))"
    }
}
