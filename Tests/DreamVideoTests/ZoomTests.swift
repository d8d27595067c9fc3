import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import Testing

func tempDir(_ tag: String) throws -> String {
    let p = FileManager.default.temporaryDirectory.appendingPathComponent("dv-\(tag)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
    return p
}

/// A model store holding GoogLeNet on synthetic weights: renders without any download.
let syntheticStore: ModelStore = {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("dv-store-\(UUID().uuidString)")
    return ModelStore(root: root, networks: ["googlenet": try! Network(definition: GoogLeNet.definition, weights: .synthetic())])
}()

func pngs(_ dir: String) throws -> [String: Data] {
    var out: [String: Data] = [:]
    for f in try FileManager.default.contentsOfDirectory(atPath: dir) where f.hasSuffix(".png") {
        out[f] = FileManager.default.contents(atPath: dir + "/" + f)
    }
    return out
}

/// Two folders of frames hold the same frames, and some (two empty folders are not a match).
func samePNGs(_ a: [String: Data], _ b: [String: Data]) -> Bool { !a.isEmpty && a == b }

/// Zoom jobs on the synthetic model, small and fast.
struct ZoomFixture {
    let dir: String
    init(_ tag: String) throws { dir = try tempDir(tag) }

    func job(_ name: String, frames: Int = 9, every: Int = 3, _ extra: [String: SettingValue] = [:], output: String? = nil) throws -> ZoomJob {
        var values: [String: SettingValue] = [
            "model": .text("googlenet"), "layer": .list([.text("inception3a")]), "iterations": .number(2), "octaves": .number(1),
            "step": .number(2), "zoom": .number(1.05), "rotate": .number(1), "translate": .text("0.5,0"), "frames": .number(Double(frames)),
            "fps": .text("30000/1001"), "size": .text("96x64"), "seed": .text("7"), "encoder-preset": .text("ultrafast"),
            "checkpoint-every": .number(Double(every)), "frames-dir": .text(dir + "/" + name),
        ]
        values.merge(extra) { _, new in new }
        return try ZoomJob.resolve(input: "noise", output: output ?? dir + "/" + name + ".mp4", sources: [.api(values)])
    }

    func frames(_ name: String) throws -> [String: Data] { try pngs(dir + "/" + name) }
    func path(_ name: String) -> String { dir + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}

struct Crash: Error {}

@Suite("Zoom pipeline", .serialized)
struct ZoomPipelineTests {
    @Test func interruptedAndResumedRenderMatchesAnUninterruptedOne() throws {
        let f = try ZoomFixture("zoom")
        defer { f.remove() }
        let full = try f.job("full").run(store: syntheticStore, shouldStop: { false })
        #expect(full.framesRendered == 9)
        #expect(!FileManager.default.fileExists(atPath: f.path("full.mp4.dreamvideo")), "the work folder is removed when done")

        // Interrupted after frame 5 (between checkpoints), then resumed.
        var count = 0
        do {
            _ = try f.job("r").run(store: syntheticStore, shouldStop: { count += 1; return count == 5 })
            Issue.record("expected an interruption")
        } catch let e as DreamVideoError {
            guard case .interrupted(let msg) = e else { throw e }
            #expect(msg.contains("--resume"))
        }
        #expect(!FileManager.default.fileExists(atPath: f.path("r.mp4")), "an unfinished render must not claim the final name")
        #expect(try VideoReader(path: f.path("r.partial.mp4")).readAll().count == 5, "the partial file plays what exists")
        // Resuming with other settings is refused, naming the setting.
        do {
            _ = try f.job("r", ["iterations": .number(3)]).run(store: syntheticStore, policy: OutputPolicy(resume: true), shouldStop: { false })
            Issue.record("a resume with other settings was accepted")
        } catch let e as DreamVideoError {
            #expect("\(e)".contains("iterations was 2, now 3"), "\(e)")
        }
        // Starting afresh without --resume or --overwrite is refused too.
        #expect(throws: DreamVideoError.self) { try f.job("r").run(store: syntheticStore, shouldStop: { false }) }

        var notes: [String] = []
        var observer = RenderObserver()
        observer.note = { notes.append($0) }
        let resumed = try f.job("r").run(store: syntheticStore, policy: OutputPolicy(resume: true), progress: observer, shouldStop: { false })
        #expect(resumed.framesRendered == 4)
        #expect(notes.contains { $0.contains("resuming at frame 6") }, "\(notes)")
        #expect(try samePNGs(f.frames("full"), f.frames("r")), "dreamed frames must be identical")
        #expect(try f.frames("full").count == 9)
        let a = try VideoReader(path: f.path("full.mp4")).readAll(), b = try VideoReader(path: f.path("r.mp4")).readAll()
        #expect(a.count == 9 && b.count == 9)
        for (x, y) in zip(a, b) {
            // Same pictures, encoded once in one segment and once in several: only codec noise differs.
            #expect(meanAbsDiff(x, y) < 6, "decoded frames differ by \(meanAbsDiff(x, y))")
        }
        #expect(!FileManager.default.fileExists(atPath: f.path("r.partial.mp4")), "the partial file goes when the render is done")
    }

    /// `--codec h265-10bit`: a 10-bit HEVC file (tagged hvc1, no B-frames) that resumes like H.264, and a resume as
    /// H.264 is refused (one file, one codec).
    @Test func aTenBitHEVCRenderResumes() throws {
        try #require(Media.hasHEVCEncoder, "this FFmpeg has no libx265")
        let f = try ZoomFixture("hevc")
        defer { f.remove() }
        let hevc: [String: SettingValue] = ["codec": .text("h265-10bit")]
        // Two codecs at once are refused with the settings, before anything runs.
        #expect { try f.job("both", ["codec": .text("h265-10bit"), "mpeg4": .bool(true)]) } throws: { "\($0)".contains("together with mpeg4") }
        _ = try f.job("full", hevc).run(store: syntheticStore, shouldStop: { false })
        var count = 0
        #expect(throws: DreamVideoError.self) {
            _ = try f.job("r", hevc).run(store: syntheticStore, shouldStop: { count += 1; return count == 5 })
        }
        do {
            _ = try f.job("r").run(store: syntheticStore, policy: OutputPolicy(resume: true), shouldStop: { false })
            Issue.record("a resume as H.264 was accepted")
        } catch let e as DreamVideoError {
            #expect("\(e)".contains("codec was h265-10bit, now h264"), "\(e)")
        }
        let resumed = try f.job("r", hevc).run(store: syntheticStore, policy: OutputPolicy(resume: true), shouldStop: { false })
        #expect(resumed.framesRendered == 4)
        #expect(try samePNGs(f.frames("full"), f.frames("r")), "dreamed frames must be identical")
        let a = try VideoReader(path: f.path("full.mp4")), b = try VideoReader(path: f.path("r.mp4"))
        #expect(a.codecName == "hevc" && b.codecName == "hevc")
        let fa = try a.readAll(), fb = try b.readAll()
        #expect(fa.count == 9 && fb.count == 9)
        for (x, y) in zip(fa, fb) { #expect(meanAbsDiff(x, y) < 6, "decoded frames differ by \(meanAbsDiff(x, y))") }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                           "stream=pix_fmt,codec_tag_string,has_b_frames", "-of", "default=noprint_wrappers=1", f.path("r.mp4")]
        let pipe = Pipe(); probe.standardOutput = pipe
        try probe.run(); probe.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(out.contains("pix_fmt=yuv420p10le") && out.contains("codec_tag_string=hvc1") && out.contains("has_b_frames=0"), "\(out)")
    }

    @Test func crashLosesAtMostTheFramesSinceTheLastCheckpoint() throws {
        let f = try ZoomFixture("crash")
        defer { f.remove() }
        // A failure after frame 5 (frames 0-3 checkpointed, frame 4 in an open segment).
        var count = 0
        #expect(throws: Crash.self) {
            _ = try f.job("c", every: 2).run(store: syntheticStore, shouldStop: { count += 1; if count == 5 { throw Crash() }; return false })
        }
        let resumed = try f.job("c", every: 2).run(store: syntheticStore, policy: OutputPolicy(resume: true), shouldStop: { false })
        #expect(resumed.framesRendered == 5, "frames 4…8 again")
        #expect(try VideoReader(path: f.path("c.mp4")).readAll().count == 9)
        _ = try f.job("f", every: 100).run(store: syntheticStore, shouldStop: { false })
        #expect(try samePNGs(f.frames("c"), f.frames("f")))
    }

    /// One encoder from the first frame to the last: a checkpoint ends a fragment instead of the stream, so the
    /// video has one key frame where it used to have one at every checkpoint (each a visible jump in the dream's
    /// texture). The frames still inside the encoder's look-ahead at a checkpoint are kept losslessly, so a crash,
    /// even with the newest checkpoint damaged, resumes to exactly the frames of a run never stopped.
    @Test func checkpointsLeaveNoTraceInTheVideo() throws {
        let f = try ZoomFixture("enc")
        defer { f.remove() }
        // Lossless, so that decoded frames compare exactly; "medium" has a look-ahead of many frames.
        let lossless: [String: SettingValue] = ["crf": .number(0), "encoder-preset": .text("medium"), "zoom": .number(1.02), "rotate": .number(0.5)]
        _ = try f.job("full", frames: 40, every: 4, lossless).run(store: syntheticStore, shouldStop: { false })
        #expect(try VideoPacketTimes.keyFrames(f.path("full.mp4")) == [0], "one key frame, at the start (40 frames at 30 fps, checkpoints every 4)")

        var count = 0
        var sawPending = false
        #expect(throws: Crash.self) {
            _ = try f.job("c", frames: 40, every: 4, lossless).run(store: syntheticStore, shouldStop: {
                count += 1
                if count == 23 {
                    let work = f.path("c.mp4.dreamvideo")
                    let names = (try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []
                    let cp = (try? String(contentsOfFile: work + "/checkpoint.json", encoding: .utf8)) ?? ""
                    sawPending = names.contains { $0.hasPrefix("pending-") } && cp.contains("\"pending\"") && cp.contains("\"open\" : true")
                    // The newest checkpoint damaged: the resume must use the one before, whose open segment was shorter.
                    try? "{}".write(toFile: work + "/checkpoint.json", atomically: false, encoding: .utf8)
                    throw Crash()
                }
                return false
            })
        }
        #expect(sawPending, "at frame 20 the encoder still held frames, kept as pending frames beside an open segment")
        var notes: [String] = []
        var observer = RenderObserver()
        observer.note = { notes.append($0) }
        let resumed = try f.job("c", frames: 40, every: 4, lossless).run(store: syntheticStore, policy: OutputPolicy(resume: true), progress: observer, shouldStop: { false })
        #expect(resumed.framesRendered == 24, "from the checkpoint at frame 16: \(notes)")
        let a = try VideoReader(path: f.path("full.mp4")).readAll(), b = try VideoReader(path: f.path("c.mp4")).readAll()
        #expect(a.count == 40 && b.count == 40)
        #expect(a == b, "the resumed video decodes to the uninterrupted one's frames")
        #expect(try VideoReader(path: f.path("c.mp4")).readTimes() == (try VideoReader(path: f.path("full.mp4")).readTimes()))
        #expect(try VideoPacketTimes.keyFrames(f.path("c.mp4")).count == 2, "the start and the resume")
    }

    @Test func oneFrameVideoAndExistingOutputs() throws {
        let f = try ZoomFixture("one")
        defer { f.remove() }
        _ = try f.job("one", frames: 1).run(store: syntheticStore, shouldStop: { false })
        #expect(try VideoReader(path: f.path("one.mp4")).readAll().count == 1)
        #expect(throws: DreamVideoError.self) { try f.job("one", frames: 1).run(store: syntheticStore, shouldStop: { false }) }
        _ = try f.job("one", frames: 2).run(store: syntheticStore, policy: OutputPolicy(overwrite: true), shouldStop: { false })
        #expect(try VideoReader(path: f.path("one.mp4")).readAll().count == 2)
    }

    @Test func jobsRoundTripThroughJSON() throws {
        let f = try ZoomFixture("json")
        defer { f.remove() }
        let job = try f.job("j", ["zoom": .text("0:(1.05), 2:(1.1) smooth, 8:(1)"), "layer": .list([.text("inception3a:0:(1), 8:(0)"), .text("inception3b:0.5")])])
        let data = try JSONEncoder().encode(job)
        #expect(try JSONDecoder().decode(ZoomJob.self, from: data) == job)
        let image = try ImageJob.resolve(input: "samples/chelsea.png", output: "x.png", sources: [.api(["max-side": .number(128), "step": .number(2)])])
        #expect(try JSONDecoder().decode(ImageJob.self, from: JSONEncoder().encode(image)) == image)
    }

    @Test func schedulesChangeTheFramesAndResumeContinuesThem() throws {
        let f = try ZoomFixture("sched")
        defer { f.remove() }
        let keyed: [String: SettingValue] = ["zoom": .text("0:(1), 4:(1.2) smooth, 8:(1)"), "rotate": .text("0:(0), 8:(5)")]
        _ = try f.job("k", keyed).run(store: syntheticStore, shouldStop: { false })
        var count = 0
        #expect(throws: DreamVideoError.self) { try f.job("kr", keyed).run(store: syntheticStore, shouldStop: { count += 1; return count == 4 }) }
        _ = try f.job("kr", keyed).run(store: syntheticStore, policy: OutputPolicy(resume: true), shouldStop: { false })
        #expect(try samePNGs(f.frames("k"), f.frames("kr")))
        _ = try f.job("c").run(store: syntheticStore, shouldStop: { false })
        #expect(try f.frames("k") != f.frames("c"))
    }
}

@Suite("Work folder that cannot be fooled", .serialized)
struct WorkFolderTests {
    /// Interrupts a render after `after` frames, leaving its work folder.
    func interrupted(_ f: ZoomFixture, _ name: String, after: Int, every: Int = 3) throws {
        var count = 0
        #expect(throws: DreamVideoError.self) {
            try f.job(name, every: every).run(store: syntheticStore, shouldStop: { count += 1; return count == after })
        }
    }

    func resume(_ f: ZoomFixture, _ name: String, every: Int = 3) throws -> (RenderSummary, [String]) {
        var notes: [String] = []
        var o = RenderObserver()
        o.note = { notes.append($0) }
        let s = try f.job(name, every: every).run(store: syntheticStore, policy: OutputPolicy(resume: true), progress: o, shouldStop: { false })
        return (s, notes)
    }

    func checkpointPath(_ f: ZoomFixture, _ name: String) -> String { f.path(name + ".mp4.dreamvideo/checkpoint.json") }

    @Test func editedCheckpointFallsBackToThePreviousOne() throws {
        let f = try ZoomFixture("edit")
        defer { f.remove() }
        _ = try f.job("ref").run(store: syntheticStore, shouldStop: { false })
        try interrupted(f, "e", after: 7)  // checkpoints at 3, 6 and 7
        let cp = checkpointPath(f, "e")
        var text = try String(contentsOfFile: cp, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"nextFrame\" : 7", with: "\"nextFrame\" : 101")
        try text.write(toFile: cp, atomically: true, encoding: .utf8)
        let (s, notes) = try resume(f, "e")
        #expect(notes.contains { $0.contains("checksum") && $0.contains("previous checkpoint") }, "\(notes)")
        #expect(s.framesRendered == 3, "resumed at frame 6")
        #expect(try VideoReader(path: f.path("e.mp4")).readAll().count == 9)
        #expect(try samePNGs(f.frames("ref"), f.frames("e")))
    }

    /// One encoder runs through the checkpoints, so an interrupted render's frames are in one segment that both
    /// checkpoints name (the older one when it was shorter and still open). Bytes after what the newest checkpoint
    /// names (a crash in the middle of writing a fragment) send the resume to the older checkpoint, which cuts the
    /// segment back; a segment emptied leaves no usable checkpoint and the render starts again. Same frames both ways.
    @Test func truncatedOrEmptySegmentIsRenderedAgain() throws {
        let f = try ZoomFixture("trunc")
        defer { f.remove() }
        _ = try f.job("ref").run(store: syntheticStore, shouldStop: { false })
        for (name, garbage, rendered) in [("t", true, 3), ("z", false, 9)] {
            try interrupted(f, name, after: 7)  // checkpoints at 3, 6 (the segment open) and 7 (closed, the render stopped)
            let seg = f.path(name + ".mp4.dreamvideo/segment-000000.mp4")
            var data = try Data(contentsOf: URL(fileURLWithPath: seg))
            data = garbage ? data + Data(repeating: 0x5A, count: 1000) : Data()
            try data.write(to: URL(fileURLWithPath: seg))
            let (s, notes) = try resume(f, name)
            #expect(notes.contains { $0.contains("segment-000000.mp4") }, "\(notes)")
            #expect(s.framesRendered == rendered, "\(name): \(notes)")
            #expect(try VideoReader(path: f.path(name + ".mp4")).readAll().count == 9)
            #expect(try samePNGs(f.frames("ref"), f.frames(name)))
        }
    }

    @Test func workFolderWithoutCheckpointRestartsCleanly() throws {
        let f = try ZoomFixture("nocp")
        defer { f.remove() }
        // A crash before the first checkpoint leaves a work folder with a marker and no checkpoint.
        var count = 0
        #expect(throws: Crash.self) {
            _ = try f.job("n", every: 100).run(store: syntheticStore, shouldStop: { count += 1; if count == 2 { throw Crash() }; return false })
        }
        #expect(FileManager.default.fileExists(atPath: f.path("n.mp4.dreamvideo")))
        for policy in [OutputPolicy(), OutputPolicy(resume: true)] {
            var notes: [String] = []
            var o = RenderObserver()
            o.note = { notes.append($0) }
            try? FileManager.default.removeItem(atPath: f.path("n.mp4"))
            let s = try f.job("n", every: 100).run(store: syntheticStore, policy: policy, progress: o, shouldStop: { false })
            #expect(s.framesRendered == 9)
            #expect(notes.contains { $0.contains("before its first checkpoint; starting from the beginning") }, "\(notes)")
            // Make the dead end again for the --resume case.
            count = 0
            if !policy.resume {
                try FileManager.default.removeItem(atPath: f.path("n.mp4"))
                #expect(throws: Crash.self) {
                    _ = try f.job("n", every: 100).run(store: syntheticStore, shouldStop: { count += 1; if count == 2 { throw Crash() }; return false })
                }
            }
        }
    }

    @Test func filesItDidNotCreateAreNeverTouched() throws {
        let f = try ZoomFixture("user")
        defer { f.remove() }
        let fm = FileManager.default
        // A folder of the work folder's name, with the user's files in it.
        try fm.createDirectory(atPath: f.path("u.mp4.dreamvideo"), withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: f.path("u.mp4.dreamvideo/notes.txt")))
        for policy in [OutputPolicy(), OutputPolicy(overwrite: true), OutputPolicy(resume: true)] {
            do { _ = try f.job("u").run(store: syntheticStore, policy: policy, shouldStop: { false }); Issue.record("accepted \(policy)") } catch {
                #expect("\(error)".contains("not made by dreamvideo"), "\(error)")
            }
        }
        #expect(fm.contents(atPath: f.path("u.mp4.dreamvideo/notes.txt")) == Data("mine".utf8))
        // A file of the partial video's name.
        try Data("my partial".utf8).write(to: URL(fileURLWithPath: f.path("p.partial.mp4")))
        do { _ = try f.job("p").run(store: syntheticStore, shouldStop: { false }); Issue.record("partial clobbered") } catch {
            #expect("\(error)".contains("p.partial.mp4"), "\(error)")
        }
        #expect(fm.contents(atPath: f.path("p.partial.mp4")) == Data("my partial".utf8))
        // With --overwrite it may be replaced.
        _ = try f.job("p").run(store: syntheticStore, policy: OutputPolicy(overwrite: true), shouldStop: { false })
        #expect(!fm.fileExists(atPath: f.path("p.partial.mp4")))
    }

    @Test func twoRendersOfOneOutputCannotMix() throws {
        let f = try ZoomFixture("lock")
        defer { f.remove() }
        // The first render holds the output; a second one (even with --overwrite) is refused while it runs.
        var second: Error? = nil
        var count = 0
        let first = try f.job("l", frames: 6).run(store: syntheticStore, shouldStop: {
            count += 1
            if count == 2 {
                do { _ = try f.job("l", frames: 6, ["zoom": .number(1.2)]).run(store: syntheticStore, policy: OutputPolicy(overwrite: true), shouldStop: { false }) }
                catch { second = error }
            }
            return false
        })
        #expect(first.framesRendered == 6)
        #expect(second.map { "\($0)".contains("another dreamvideo render") } == true, "\(String(describing: second))")
        _ = try f.job("ref", frames: 6).run(store: syntheticStore, shouldStop: { false })
        #expect(try samePNGs(f.frames("l"), f.frames("ref")), "the first render's frames are its own")
    }
}

func meanAbsDiff(_ a: RGBImage, _ b: RGBImage) -> Double {
    Double(zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(a.pixels.count)
}

@Suite("Cadence", .serialized)
struct CadenceTests {
    @Test func inBetweenFramesResumeExactlyAndKeepTheMotionSmooth() throws {
        let f = try ZoomFixture("cadence")
        defer { f.remove() }
        let c3: [String: SettingValue] = ["cadence": .number(3), "rotate": .number(0), "translate": .text("0,0"), "zoom": .number(1.04)]
        var dreams = 0
        var counting = RenderObserver()
        counting.step = { _ in dreams += 1 }  // once per octave of a dreamed frame (one octave here)
        let full = try f.job("full", frames: 13, every: 4, c3).run(store: syntheticStore, progress: counting, shouldStop: { false })
        #expect(dreams == 5, "frames 0, 3, 6, 9 and 12 are dreamed: \(dreams)")
        #expect(full.framesRendered == 13)
        // Interrupted in the middle of a group (after frame 5 of 0, 3, 6, 9, 12), resumed: the same frames.
        var n = 0
        #expect(throws: DreamVideoError.self) {
            try f.job("cut", frames: 13, every: 4, c3).run(store: syntheticStore, shouldStop: { n += 1; return n == 5 })
        }
        _ = try f.job("cut", frames: 13, every: 4, c3).run(store: syntheticStore, policy: OutputPolicy(resume: true), shouldStop: { false })
        #expect(try samePNGs(f.frames("full"), f.frames("cut")))
        #expect(try f.frames("full").count == 13)
        // The frames change evenly: no pulse at the dreamed frames.
        let frames = try (0..<13).map { try ImageIO.read(f.path("full") + String(format: "/frame_%06d.png", $0)) }
        var byPhase = [Double](repeating: 0, count: 3), count = [Double](repeating: 0, count: 3)
        for i in 1..<12 { byPhase[i % 3] += meanAbsDiff(frames[i], frames[i - 1]); count[i % 3] += 1 }
        let mean = (0..<3).map { byPhase[$0] / count[$0] }
        #expect(mean.max()! / mean.min()! < 1.5, "frame-to-frame change by phase of the cadence: \(mean)")

    }
}

/// What a zoom's move reveals: zooming out for five frames (preview: the moves alone, no dream to hide them)
/// leaves a band the old frame never covered. Mirrored, tiled and dream-filled (mirrored, blurred) bands vary
/// across the band as along it; repeated edge pixels (replicate) are streaks, constant along each line out of the
/// picture. None is black.
@Suite("Zoom borders")
struct ZoomBorderTests {
    @Test func revealedAreasAreFilledNotSmeared() throws {
        let dir = try tempDir("border")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var streak: [ZoomBorder: Double] = [:]
        for mode in ZoomBorder.allCases {
            let values: [String: SettingValue] = [
                "model": .text("googlenet"), "layer": .list([.text("inception3a")]), "preview": .bool(true), "zoom": .number(0.9),
                "frames": .number(5), "size": .text("128x96"), "encoder-preset": .text("ultrafast"), "border": .text(mode.rawValue),
                "frames-dir": .text(dir + "/" + mode.rawValue), "renormalize": .number(0), "detail-damping": .number(0), "seed-blend": .number(0),
            ]
            let job = try ZoomJob.resolve(input: "samples/chelsea.png".absolute, output: dir + "/\(mode).mp4", sources: [.api(values)])
            _ = try job.run(store: syntheticStore, shouldStop: { false })
            let img = try ImageIO.read(dir + "/\(mode.rawValue)/frame_000001.png")
            // Luminance; the left band (zooming out 0.9 reveals 6.4 px each side) against the middle.
            func lum(_ x: Int, _ y: Int) -> Double {
                let i = (y * img.width + x) * 3
                return 0.299 * Double(img.pixels[i]) + 0.587 * Double(img.pixels[i + 1]) + 0.114 * Double(img.pixels[i + 2])
            }
            // In the band, change along each row (out of the picture) against change along each column: streaks of
            // repeated edge pixels change only along the columns; a mirrored, tiled or blurred picture both ways.
            var across = 0.0, along = 0.0
            for y in 10..<(img.height - 10) {
                for x in 0..<3 {
                    across += abs(lum(x + 1, y) - lum(x, y))
                    along += abs(lum(x, y + 1) - lum(x, y))
                }
            }
            streak[mode] = across / max(1e-9, along)
            let mean = (0..<img.height).map { y in (0..<6).map { lum($0, y) }.reduce(0, +) / 6 }.reduce(0, +) / Double(img.height)
            #expect(mean > 20, "\(mode): the revealed band is not black (mean \(mean))")
        }
        print("zoom border modes, change across the revealed band over change along it: \(streak.map { "\($0.key) \(String(format: "%.2f", $0.value))" }.sorted())")
        #expect(streak[.replicate]! < 0.2, "replicate repeats the edge: streaks \(streak)")
        for mode in [ZoomBorder.reflect, .wrap, .dream] {
            #expect(streak[mode]! > 0.25, "\(mode) varies across the band as along it: \(streak)")
        }
    }
}

/// `--loop N`: the video's last frame leads into its first as one frame into the next. Measured on the frames
/// as written (PNG): the change from the last frame to the first against the typical frame-to-frame change,
/// with and without the loop.
@Suite("Seamless loops")
struct LoopTests {
    @Test func theLastFrameFlowsIntoTheFirst() throws {
        let f = try ZoomFixture("loop")
        defer { f.remove() }
        func change(_ a: RGBImage, _ b: RGBImage) -> Double {
            Double(zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(a.pixels.count)
        }
        var jumps: [Int: Double] = [:]
        for n in [0, 6] {
            let name = "l\(n)"
            _ = try f.job(name, frames: 24, every: 5, ["loop": .number(Double(n)), "zoom": .number(1.04), "rotate": .number(0)])
                .run(store: syntheticStore, shouldStop: { false })
            let frames = try (0..<24).map { try ImageIO.read(f.path(name) + String(format: "/frame_%06d.png", $0)) }
            let steps = (1..<24).map { change(frames[$0 - 1], frames[$0]) }.sorted()
            let typical = steps[steps.count / 2]
            jumps[n] = change(frames[23], frames[0]) / typical
            #expect(try VideoReader(path: f.path(name + ".mp4")).readAll().count == 24, "loop \(n): 24 frames")
        }
        print("loop: last→first change over the median frame-to-frame change: without \(jumps[0]!), with 6 frames \(jumps[6]!)")
        #expect(jumps[6]! <= 1.5, "with the loop the wrap is an ordinary step: \(jumps)")
        #expect(jumps[0]! > 3, "without it the wrap jumps: \(jumps)")
        // The loop's extra frames are checked like the others: a zoom out of range there is refused before rendering.
        do {
            _ = try f.job("far", frames: 6, ["loop": .number(5), "zoom": .text("1.05+100*max(0,f-6)")])
            Issue.record("a zoom of 101 in the loop's frames was accepted")
        } catch let e as SettingError {
            #expect("\(e)".contains("at frame 7"), "\(e)")
        }
        // A loop as long as the video is refused, naming the setting.
        #expect(throws: SettingError.self) { try f.job("bad", frames: 10, ["loop": .number(10)]) }
        // Interrupted in the fade and resumed: the same frames.
        var count = 0
        #expect(throws: DreamVideoError.self) {
            try f.job("lr", frames: 24, every: 5, ["loop": .number(6), "zoom": .number(1.04), "rotate": .number(0)])
                .run(store: syntheticStore, shouldStop: { count += 1; return count == 21 })
        }
        _ = try f.job("lr", frames: 24, every: 5, ["loop": .number(6), "zoom": .number(1.04), "rotate": .number(0)])
            .run(store: syntheticStore, policy: OutputPolicy(resume: true), shouldStop: { false })
        #expect(try samePNGs(f.frames("lr"), f.frames("l6")), "a resume in the cross-fade gives the same frames")
    }
}

/// Every finished video carries its settings frame by frame in a text track (MP4 mov_text) that players show
/// as subtitles and `dreamvideo metrics VIDEO --parameters` prints; a resumed render's track is whole.
@Suite("Parameter track")
struct ParameterTrackTests {
    @Test func eachFrameSaysItsSettings() throws {
        let f = try ZoomFixture("params")
        defer { f.remove() }
        let keyed: [String: SettingValue] = ["zoom": .text("0:(1), 8:(1.08)"), "rotate": .number(0)]
        var count = 0
        #expect(throws: DreamVideoError.self) { try f.job("p", frames: 12, keyed).run(store: syntheticStore, shouldStop: { count += 1; return count == 5 }) }
        _ = try f.job("p", frames: 12, keyed).run(store: syntheticStore, policy: OutputPolicy(resume: true), shouldStop: { false })
        let cues = try ParameterTrack.read(f.path("p.mp4"))
        let times = try VideoReader(path: f.path("p.mp4")).readTimes()
        #expect(cues.count == 12 && times.count == 12, "\(cues.count) lines for \(times.count) frames")
        for (i, c) in cues.enumerated() {
            #expect(c.text.hasPrefix("f \(i)  "), "\(c.text)")
            #expect(abs(c.time - times[i]) < 0.002, "line \(i) at \(c.time) s, frame at \(times[i]) s")
            let zoom = 1 + 0.01 * Double(min(i, 8))
            #expect(c.text.contains(String(format: "zoom %.4f", zoom)), "frame \(i): \(c.text)")
        }
        #expect(cues[0].text.contains("inception3a 1.00"), "the layer's weight: \(cues[0].text)")
        #expect(cues.allSatisfy { abs($0.duration - 1001.0 / 30000) < 0.002 }, "each line shows for one frame: \(cues.map(\.duration))")
        // Pipes and devices are refused, never waited on.
        let fifo = f.path("fifo.mp4")
        #expect(mkfifo(fifo, 0o644) == 0)
        try CLI.expectFailure(["metrics", fifo, "--parameters"], ["fifo.mp4", "is not a regular file"], status: 1)
        // The CLI prints it; a file without one says so.
        let r = try CLI.run(["metrics", f.path("p.mp4"), "--parameters"])
        #expect(r.status == 0 && r.stdout.split(separator: "\n").count == 12, "\(r.stdout) \(r.stderr)")
        try CLI.expectFailure(["metrics", "samples/chelsea.png", "--parameters"], ["has no parameter track"], status: 1)
    }
}
