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

    /// Built-in defaults ← the model's video defaults ← `sources` (a preset, then flags).
    /// Also checks the settings against the frame size (reads the seed's size when `size` is not given).
    public static func resolve(input: String, output: String, sources: [SettingSource]) throws -> ZoomJob {
        let r = try JobSettings.resolve(kind: .zoom, sources: sources)
        let job = ZoomJob(input: input, output: output, settings: r.settings)
        try job.checkInputReadable()
        try job.checkGeometry(try job.frameSize(), resolved: r)
        return job
    }

    /// What a checkpoint carries besides the last frame: the random generator's state.
    struct Payload: Codable, Sendable { var rng: SeededGenerator }

    /// The frame size: the `size` setting, or the seed's aspect with the long side at most `max-side` (even sides).
    public func frameSize() throws -> FrameSize {
        if let s = settings.size { return s }
        let long = settings.maxSide ?? 1280
        guard let seed = try StartImage.size(of: input) else { return try StartImage.fit(FrameSize(width: 1280, height: 720), maxSide: long, even: true, what: input) }
        return try StartImage.fit(seed, maxSide: long, even: true, what: input)
    }

    public func preflight(policy: OutputPolicy) throws {
        try videoPreflight(policy: policy)
    }

    /// Checks that need the frame size and the model's architecture (no weights).
    func checkGeometry(_ size: FrameSize, resolved: ResolvedSettings? = nil) throws {
        let arch = try ModelZoo.architecture(settings.model)
        var nodes: [Int] = []
        for l in settings.layers { nodes.append(try arch.nodeIndex(l.name)) }
        let minSide = Dreamer.minimumSide(arch, nodes: nodes)
        guard min(size.width, size.height) >= minSide else {
            throw DreamVideoError.invalidArgument("video size \(size) is too small for layer(s) \(settings.layers.map(\.name).joined(separator: ", ")); the smaller side must be at least \(minSide) px")
        }
        for k in settings.translate.keyframes where abs(k.values[0]) >= Double(size.width) || abs(k.values[1]) >= Double(size.height) {
            let message = "shifts by \(formatNumber(k.values[0])),\(formatNumber(k.values[1])) px per frame, more than the \(size) frame"
            throw resolved?.error("translate", message) ?? SettingError(key: "translate", value: settings.translate.description, problem: .invalid(message))
        }
    }

    public func run(store: ModelStore = ModelStore(), policy: OutputPolicy = OutputPolicy(), progress: RenderObserver = RenderObserver(),
                    shouldStop: () throws -> Bool = { Interrupts.requested }) throws -> RenderSummary {
        let t0 = Date()
        try preflight(policy: policy)
        let size = try frameSize()
        try checkGeometry(size)
        try checkMemory(width: size.width, height: size.height)
        let n = settings.frameCount
        var seedRNG = SeededGenerator(seed: settings.seed &+ 0x5EED)
        let seedImage = try StartImage.load(input, size: size, maxSide: nil, rng: &seedRNG)
        if !Media.hasH264Encoder && !settings.mpeg4 { progress.note("note: this FFmpeg has no libx264; encoding MPEG-4 part 2 instead") }

        let output = ResumableVideoOutput<Payload>(
            output: self.output, pipeline: "zoom", identity: identity(extra: ["size": size.description, "frames": "\(n)"]),
            options: VideoOutputOptions(width: size.width, height: size.height, frameRate: settings.fps, encoder: settings.encoder,
                                        checkpointEvery: settings.checkpointEvery, framesDir: settings.framesDir, policy: policy),
            log: progress.note)
        let control = try DreamControl(settings)   // reads the guide picture before the model is loaded
        let resumed = try output.open()
        let network = try store.load(settings.model, log: progress.note)
        let maker = try ZoomFrameMaker(settings: settings, control: control, network: network, seed: seedImage)

        var summary = RenderSummary(output: self.output)
        summary.width = size.width; summary.height = size.height; summary.frameRate = settings.fps; summary.totalFrames = n
        var rng = resumed?.payload.rng ?? SeededGenerator(seed: settings.seed)
        var previous: Tensor? = resumed?.images["last"].map { Tensor($0) }
        var next = resumed?.nextFrame ?? 0
        if next > 0 && previous == nil { throw DreamVideoError.invalidArgument("\(self.output): the checkpoint has no last frame; use --overwrite to start over") }
        var notedPyramid = false
        while next < n {
            let frameStart = Date()
            if !notedPyramid { noteShortPyramid(try maker.dreamer(at: next), height: size.height, width: size.width, note: progress.note); notedPyramid = true }
            let dreamed = try maker.frame(next, previous: previous, rng: &rng) { p in if p.iteration + 1 == p.iterations { progress.step(p) } }
            // The 8-bit frame is what is written and what feeds back, so a resume from the saved PNG is exact.
            let image = dreamed.rgbImage()
            let te = Date()
            try output.write(image, frame: next, pts: Int64(next))
            summary.encodeSeconds += Date().timeIntervalSince(te)
            previous = Tensor(image)
            next += 1
            summary.framesRendered += 1
            let stop = try shouldStop()
            if output.isCheckpointDue(nextFrame: next) || next == n || stop {
                try output.checkpoint(Checkpoint(nextFrame: next, payload: Payload(rng: rng), images: ["last": image]))
            }
            progress.frame(FrameProgress(index: next - 1, count: n, seconds: Date().timeIntervalSince(frameStart)))
            if stop && next < n {
                let partial = try output.writePartial()
                throw DreamVideoError.interrupted("interrupted after frame \(next) of \(n); \(partial) plays what exists; continue with the same command plus --resume")
            }
        }
        let tj = Date()
        try output.finish(expectedFrames: n)
        summary.encodeSeconds += Date().timeIntervalSince(tj)
        summary.outputBytes = fileSize(self.output) ?? 0
        summary.wallSeconds = Date().timeIntervalSince(t0)
        summary.warpSeconds = maker.warpSeconds
        summary.dreamSeconds = maker.dreamSeconds
        return summary
    }
}
