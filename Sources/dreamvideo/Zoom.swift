import ArgumentParser
import DreamEngine
import DreamVideo
import Foundation
import MediaIO

struct Zoom: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render an endless-zoom video: dream a frame, zoom into it, dream again.",
        discussion: """
        Frame 0 is the dreamed seed image; every next frame starts from the previous one zoomed about \
        the centre (and optionally rotated and shifted). Frames go straight into an MP4 through FFmpeg's \
        libraries. Ctrl-C finishes the current frame, writes a checkpoint and a playable OUT.partial.mp4; \
        run the same command with --resume to continue to the identical result.
        """)

    @Argument(help: "Seed image, or white / gray / noise.")
    var seedImage: String

    @Option(name: .shortAndLong, help: "Output video (.mp4).")
    var output: String

    @OptionGroup(title: "Video") var video: VideoOptions
    @OptionGroup(title: "Dream options (per frame)") var dream: DreamOptions
    @OptionGroup(title: "Output") var out: OutputOptions

    @Option(help: "Also write every frame as PNG into this folder (frame_000000.png …).")
    var framesDir: String?

    @Option(help: "Write a checkpoint every N frames.")
    var checkpointEvery: Int = 10

    @Flag(help: "Continue an interrupted render of the same output with the same flags.")
    var resume = false

    @Flag(help: "Replace an existing output (or an unfinished render of it).")
    var overwrite = false

    func validate() throws {
        if !output.lowercased().hasSuffix(".mp4") { throw ValidationError("--output must end in .mp4 (got '\(output)').") }
        if checkpointEvery < 1 { throw ValidationError("--checkpoint-every must be at least 1.") }
        if resume && overwrite { throw ValidationError("--resume and --overwrite cannot be used together.") }
    }

    func run() throws {
        Interrupts.install()
        let def = try ModelZoo.definition(dream.model)
        // Per-frame defaults for video: fewer steps, since each frame starts from an already dreamed one.
        let dreamSettings = try dream.settings(for: def, video: true)
        let fps = try video.frameRate()
        let frames = try video.frameCount(fps: fps)
        var rng = SeededGenerator(seed: dream.seed &+ 0x5EED)
        let size = try video.frameSize(for: seedImage)
        let seedTensor = try StartImage.load(seedImage, size: size, maxSide: nil, rng: &rng)
        let settings = ZoomSettings(model: dream.model, dream: dreamSettings, transform: try video.transform(),
                                    frames: frames, fps: fps, size: size, seed: dream.seed,
                                    encoder: video.encoder(), input: seedImage)
        try settings.validate()
        if !Media.hasH264Encoder || video.mpeg4 {
            out.log(video.mpeg4 ? "note: encoding MPEG-4 part 2 (--mpeg4)" : "note: this FFmpeg has no libx264; encoding MPEG-4 part 2 instead")
        }
        let network = try loadNetwork(dream.model, output: out)
        let renderer = try ZoomRenderer(settings: settings, network: network, output: output,
                                        framesDir: framesDir, checkpointEvery: checkpointEvery)
        renderer.log = { out.log($0) }
        let progress = ProgressLine(enabled: out.showProgress)
        var recent: [Double] = []
        renderer.onFrame = { i, n, secs in
            recent.append(secs)
            if recent.count > 10 { recent.removeFirst() }
            let avg = recent.reduce(0, +) / Double(recent.count)
            let eta = avg * Double(n - i - 1)
            progress.update(String(format: "frame %d/%d  %.2f s/frame  ETA %@", i + 1, n, avg, formatDuration(eta)))
        }
        if out.verbose {
            renderer.onDreamProgress = { p in
                if p.iteration + 1 == p.iterations {
                    progress.finishLine("  octave \(p.octave + 1)/\(p.octaves) \(p.size.w)×\(p.size.h) objective \(p.objective)")
                }
            }
        }
        let stats: RenderStats
        do {
            stats = try renderer.run(seedImage: seedTensor, resume: resume, overwrite: overwrite)
        } catch let e as DreamVideoError {
            progress.clear()
            if case .interrupted(let msg) = e {
                FileHandle.standardError.write(Data("dreamvideo: \(msg)\n".utf8))
                throw ExitCode(130)
            }
            throw e
        }
        progress.clear()
        out.log(String(format: "wrote %@: %d frames %d×%d at %@ fps, %.1f MB; %.1f s wall, %.2f s/frame (dream %.2f, resample %.3f, encode %.3f)",
                       output, stats.frames, size.width, size.height, fps.description, Double(stats.outputBytes) / 1e6, stats.wallSeconds,
                       stats.wallSeconds / Double(max(1, stats.frames)), stats.dreamSeconds / Double(max(1, stats.frames)),
                       stats.warpSeconds / Double(max(1, stats.frames)), stats.encodeSeconds / Double(max(1, stats.frames))))
    }
}

func formatDuration(_ s: Double) -> String {
    guard s.isFinite else { return "--" }
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) : String(format: "%dm%02ds", t / 60, t % 60)
}

/// Frame count, rate, size, camera move and encoder options of a video command.
struct VideoOptions: ParsableArguments {
    @Option(help: "Frame size WxH (even). Default: the seed's aspect with the long side 1280 or less.")
    var size: String?
    @Option(help: "Number of frames.")
    var frames: Int?
    @Option(help: "Length in seconds (instead of --frames).")
    var duration: Double?
    @Option(help: "Frames per second: 30, 29.97 or 30000/1001.")
    var fps: String = "30"
    @Option(help: "Zoom factor per frame (> 1 zooms in).")
    var zoom: Float = 1.05
    @Option(help: "Rotation per frame in degrees (counter-clockwise).")
    var rotate: Float = 0
    @Option(help: ArgumentHelp("Shift per frame in pixels.", valueName: "dx,dy"))
    var translate: String = "0,0"
    @Option(help: "H.264 quality (0–51, lower is better).")
    var crf: Int = 18
    @Option(help: "x264 speed preset (ultrafast … veryslow).")
    var encoderPreset: String = "medium"
    @Flag(help: "Encode MPEG-4 part 2 even if H.264 is available.")
    var mpeg4 = false

    func validate() throws {
        if frames != nil && duration != nil { throw ValidationError("use either --frames or --duration, not both.") }
        if let frames, frames <= 0 { throw ValidationError("--frames must be at least 1.") }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be greater than 0.") }
        if !(zoom > 0) { throw ValidationError("--zoom must be greater than 0 (1.05 zooms in 5% per frame).") }
        if !(0...51).contains(crf) { throw ValidationError("--crf must be 0…51.") }
        if !EncoderSettings.x264Presets.contains(encoderPreset) {
            throw ValidationError("--encoder-preset must be one of \(EncoderSettings.x264Presets.joined(separator: ", ")).")
        }
    }

    func frameRate() throws -> FrameRate { try FrameRate(parsing: fps) }

    func frameCount(fps: FrameRate) throws -> Int {
        if let frames { return frames }
        if let duration {
            let n = Int((duration * fps.value).rounded())
            guard n >= 1 else { throw ValidationError("--duration \(duration) s at \(fps) fps gives no frames.") }
            guard n <= 1_000_000 else { throw ValidationError("--duration gives \(n) frames; at most 1000000.") }
            return n
        }
        return Int((4 * fps.value).rounded())  // four seconds
    }

    func transform() throws -> FrameTransform {
        let parts = translate.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let dx = parts[0], let dy = parts[1], dx.isFinite, dy.isFinite else {
            throw ValidationError("--translate must be DX,DY in pixels (e.g. 2,-1.5).")
        }
        return FrameTransform(zoom: zoom, rotate: rotate, dx: dx, dy: dy)
    }

    func encoder() -> EncoderSettings { EncoderSettings(crf: crf, preset: encoderPreset, forceMPEG4: mpeg4) }

    /// The explicit size, or the seed's aspect with the long side ≤ 1280, rounded to even.
    func frameSize(for seed: String) throws -> FrameSize {
        if let size {
            let s = try FrameSize(parsing: size)
            guard s.width % 2 == 0, s.height % 2 == 0 else {
                throw ValidationError("--size \(s) must have even width and height (the video is yuv420p).")
            }
            return s
        }
        if StartImage.synthetic.contains(seed) && !FileManager.default.fileExists(atPath: seed) {
            return FrameSize(width: 1280, height: 720)
        }
        let img = try ImageIO.read(seed)
        let scale = min(1, 1280 / Double(max(img.width, img.height)))
        func even(_ v: Double) -> Int { max(16, Int((v * scale / 2).rounded()) * 2) }
        return try FrameSize(checking: even(Double(img.width)), even(Double(img.height)))
    }
}
