import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import Testing

/// The cases of "Reliability II": batches, frame folders and metrics that never clobber, never trap, and
/// say what is wrong. Each failed before the fix.
@Suite("Reliability II", .serialized)
struct ReliabilityIITests {
    /// `--keep-colors histogram` on a flat picture (one colour: no distribution to move onto) keeps the dream
    /// (the start's chroma, its lightness dreamed) instead of painting it over with that colour.
    @Test func histogramColoursOfAFlatPictureKeepTheDream() throws {
        let dir = try tempDir("flat")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func render(_ keep: String) throws -> RGBImage {
            let job = try ImageJob.resolve(input: "gray", output: dir + "/\(keep).png", sources: [.api([
                "model": .text("googlenet"), "layer": .list([.text("inception3a")]), "iterations": .number(4), "octaves": .number(1),
                "step": .number(4), "size": .text("64x64"), "keep-colors": .text(keep)])])
            _ = try job.run(store: syntheticStore)
            return try ImageIO.read(dir + "/\(keep).png")
        }
        func spread(_ img: RGBImage) -> Double {
            let v = img.pixels.map(Double.init), m = v.reduce(0, +) / Double(v.count)
            return (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count)).squareRoot()
        }
        let plain = try render("none"), kept = try render("histogram")
        #expect(spread(plain) > 3, "the dream shows on gray (\(spread(plain)))")
        #expect(spread(kept) > spread(plain) / 3, "histogram on a flat picture keeps the dream: \(spread(kept)) against \(spread(plain))")
    }

    /// A job whose lock cannot be taken (its lock file is a folder) fails alone; the others render.
    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func aJobWithABrokenLockFailsAloneAndTheBatchGoesOn() throws {
        let dir = try tempDir("badlock")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "jobs:\n  - kind: image\n    input: noise\n    size: 64x64\n    iterations: 1\n    output: a.png\n  - kind: image\n    input: noise\n    size: 64x64\n    iterations: 1\n    output: b.png\n"
            .write(toFile: dir + "/b.yaml", atomically: true, encoding: .utf8)
        let state = dir + "/.b.yaml.dreamvideo-state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        for output in [dir + "/a.png", URL(fileURLWithPath: dir + "/a.png").standardizedFileURL.path, URL(fileURLWithPath: dir + "/a.png").resolvingSymlinksInPath().path] {
            let lock = state + "/" + String(SHA256.hex(of: Data(output.utf8)).prefix(24)) + ".lock"
            try? FileManager.default.createDirectory(atPath: lock, withIntermediateDirectories: true)
        }
        let r = try CLI.run(["batch", dir + "/b.yaml", "-q"])
        #expect(r.status == 1 && r.stderr.contains("job 1 failed") && r.stderr.contains(".lock"), "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/b.png") && !FileManager.default.fileExists(atPath: dir + "/a.png"))
    }

    /// Options that do not apply are refused, a dangling symbolic link is not replaced, keyframes are checked
    /// against the clip's real frame count.
    @Test func optionsThatDoNotApplyAndLinksThatPointNowhere() throws {
        let dir = try tempDir("dangling")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #require(ffmpegTool(["-f", "lavfi", "-i", "testsrc=size=96x64:rate=10:duration=1", "-c:v", "mpeg4", dir + "/v.mp4"]))
        for option in [["--frames", "3"], ["--start", "1"], ["--model", "vgg16-hed"], ["--layer", "blocks.9"], ["--no-strength"], ["--flow", "dis"]] {
            try CLI.expectFailure(["metrics", dir + "/v.mp4"] + option, [option[0], "give SOURCE and DREAMED"], status: 64)
        }
        try CLI.expectFailure(["metrics", dir + "/v.mp4", dir + "/v.mp4", "--palette", "samples/chelsea.png"], ["--palette", "health report"], status: 64)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.png", withDestinationPath: dir + "/nowhere/x.png")
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.mp4", withDestinationPath: dir + "/nowhere/x.mp4")
        try CLI.expectFailure(["image", "noise", "--size", "64x64", "-o", dir + "/link.png"], ["link.png", "already exists"], status: 1)
        try CLI.expectFailure(["zoom", "noise", "--size", "64x64", "--frames", "2", "-o", dir + "/link.mp4"], ["link.mp4", "already exists"], status: 1)
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link.png")) == dir + "/nowhere/x.png", "the link is left alone")
        // 10 frames at 10 fps: a keyframe at 1.1 s (frame 11) is past the end, whatever the container estimates.
        try CLI.expectFailure(["redream", dir + "/v.mp4", "-o", dir + "/o.mp4", "--blend", "0:(0.5), 1.1s:(0.9)"], ["past the end", "10 frames"], status: 64)
    }

    let common = """
        model: googlenet
        layer: inception3a
        iterations: 1
        octaves: 1
    """

    func write(_ text: String, _ path: String) throws { try text.write(toFile: path, atomically: true, encoding: .utf8) }
    func run(_ batch: String, overwrite: Bool = false, stop: @escaping () -> Bool = { false }) throws -> [BatchRunner.Result] {
        try BatchRunner(batch: try BatchFile.load(path: batch), store: syntheticStore, overwrite: overwrite)
            .run(observer: { _, _ in RenderObserver() }, shouldStop: stop)
    }
    func loadError(_ path: String) -> String {
        do { _ = try BatchFile.load(path: path); return "accepted" } catch { return "\(error)" }
    }

    // 1
    @Test func aFileTheUserPutsWhereAFailedJobWroteIsLeftAlone() throws {
        let dir = try tempDir("r2-failed")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("not a picture".utf8).write(to: URL(fileURLWithPath: dir + "/junk.png"))
        try write("jobs:\n  - kind: image\n    input: junk.png\n    output: out.png\n\(common)\n", dir + "/b.yaml")
        #expect(try run(dir + "/b.yaml").map(\.status.word) == ["FAILED"])
        try Data("mine".utf8).write(to: URL(fileURLWithPath: dir + "/out.png"))
        let again = try run(dir + "/b.yaml")
        guard case .failed(let m) = again[0].status else { Issue.record("\(again[0].status)"); return }
        #expect(m.contains("exists and was not made by this batch"), "\(m)")
        #expect(FileManager.default.contents(atPath: dir + "/out.png") == Data("mine".utf8))
    }

    // 2
    @Test func framesFoldersAreNeverClobberedNorShared() throws {
        let f = try ZoomFixture("r2-frames")
        defer { f.remove() }
        try FileManager.default.createDirectory(atPath: f.path("mine"), withIntermediateDirectories: true)
        try Data("my frame".utf8).write(to: URL(fileURLWithPath: f.path("mine") + "/frame_000000.png"))
        do {
            _ = try f.job("a", frames: 2, ["frames-dir": .text(f.path("mine"))]).run(store: syntheticStore, shouldStop: { false })
            Issue.record("the user's frame file was written over")
        } catch {
            #expect("\(error)".contains("holds frame files dreamvideo did not write"), "\(error)")
        }
        #expect(FileManager.default.contents(atPath: f.path("mine") + "/frame_000000.png") == Data("my frame".utf8))
        #expect(!FileManager.default.fileExists(atPath: f.path("a.mp4.dreamvideo")), "refused before a work folder was made")
        // Another render's frames: refused too; --overwrite takes the folder.
        _ = try f.job("b", frames: 2, ["frames-dir": .text(f.path("bf"))]).run(store: syntheticStore, shouldStop: { false })
        #expect(throws: DreamVideoError.self) { try f.job("c", frames: 2, ["frames-dir": .text(f.path("bf"))]).run(store: syntheticStore, shouldStop: { false }) }
        _ = try f.job("c", frames: 2, ["frames-dir": .text(f.path("bf"))]).run(store: syntheticStore, policy: OutputPolicy(overwrite: true), shouldStop: { false })
        // The same render again (its own frames): fine.
        _ = try f.job("d", frames: 2, ["frames-dir": .text(f.path("df"))]).run(store: syntheticStore, shouldStop: { false })
        _ = try f.job("d", frames: 2, ["frames-dir": .text(f.path("df"))]).run(store: syntheticStore, policy: OutputPolicy(overwrite: true), shouldStop: { false })
        // Two jobs of a batch sharing one frames-dir: refused before anything runs.
        try write("""
        jobs:
          - kind: zoom
            input: noise
            output: a.mp4
            size: 64x64
            frames: 2
            frames-dir: frames
        \(common)
          - kind: zoom
            input: noise
            output: b.mp4
            size: 64x64
            frames: 2
            frames-dir: ./frames/
        \(common)
        """, f.path("shared.yaml"))
        #expect(loadError(f.path("shared.yaml")).contains("as job 1 does; every job needs its own frames-dir"))
    }

    // 3
    @Test func twoRunsOfOneBatchAtOnceShareTheWorkAndKeepTheirRecords() throws {
        let dir = try tempDir("r2-twice")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var jobs = "jobs:\n"
        for i in 0..<3 { jobs += "  - kind: zoom\n    input: noise\n    output: z\(i).mp4\n    size: 64x64\n    frames: 2\n    encoder-preset: ultrafast\n\(common)\n" }
        try write(jobs, dir + "/b.yaml")
        // The first run starts job 0; while it renders, a second run of the same batch goes through.
        var second: [BatchRunner.Result] = []
        let first = try BatchRunner(batch: try BatchFile.load(path: dir + "/b.yaml"), store: syntheticStore).run(observer: { i, _ in
            var o = RenderObserver()
            o.frame = { p in
                if i == 0 && p.index == 0 && second.isEmpty { second = (try? self.run(dir + "/b.yaml")) ?? [] }
            }
            return o
        }, shouldStop: { false })
        #expect(second.map(\.status.word) == ["running elsewhere", "done", "done"], "\(second.map(\.status))")
        #expect(first.map(\.status.word) == ["done", "skipped (done earlier)", "skipped (done earlier)"], "\(first.map(\.status))")
        // Both runs' records survived: a third run finds every job done.
        #expect(try run(dir + "/b.yaml").map(\.status.word) == Array(repeating: "skipped (done earlier)", count: 3))
        // One small record a job (constant cost per job, whatever the batch's size).
        let records = try FileManager.default.contentsOfDirectory(atPath: dir + "/.b.yaml.dreamvideo-state").filter { $0.hasSuffix(".json") }
        #expect(records.count == 3)
    }

    // 4
    @Test func nothingTheBatchReadsIsWrittenOverWhateverTheFlags() throws {
        let dir = try tempDir("r2-self")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write("jobs:\n  - kind: image\n    input: noise\n    size: 64x64\n    output: b.yaml.png\n\(common)\n", dir + "/b.yaml")
        // The batch file as an output (by another name through a link), another job's input as an output.
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.png", withDestinationPath: dir + "/self.yaml")
        try write("jobs:\n  - kind: image\n    input: noise\n    size: 64x64\n    output: link.png\n\(common)\n", dir + "/self.yaml")
        #expect(loadError(dir + "/self.yaml").contains("which is the batch file itself"))
        try ImageIO.write(RGBImage(width: 64, height: 64, fill: (9, 9, 9)), to: dir + "/in.png")
        try write("""
        jobs:
          - kind: image
            input: in.png
            output: a.png
        \(common)
          - kind: image
            input: noise
            size: 64x64
            output: in.png
        \(common)
        """, dir + "/cross.yaml")
        #expect(loadError(dir + "/cross.yaml").contains("which is job 1's input"))
        // sweep X -o X --overwrite
        #expect(throws: DreamVideoError.self) { try LayerSweep.checkOutput(dir + "/in.png", input: dir + "/./in.png", overwrite: true) }
        #expect(FileManager.default.contents(atPath: dir + "/in.png") != nil)
    }

    // 5, 11
    @Test func metricsNeverTrapAndSayWhatTheyCompared() throws {
        let dir = try tempDir("r2-metrics")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A stream whose frames change size half way.
        for (n, s) in [("a", "96x64"), ("b", "128x96")] {
            #expect(ffmpegTool(["-f", "lavfi", "-i", "testsrc=size=\(s):rate=10:d=0.5", "-c:v", "libx264", "-pix_fmt", "yuv420p", dir + "/\(n).ts"]))
        }
        try write("file a.ts\nfile b.ts\n", dir + "/l.txt")
        #expect(ffmpegTool(["-f", "concat", "-i", dir + "/l.txt", "-c", "copy", dir + "/ab.ts"]))
        let r = try CoherenceMetrics.measure(source: dir + "/ab.ts", dreamed: dir + "/ab.ts")
        #expect(r.frames == 10 && r.notes.contains { $0.contains("change size") }, "\(r.notes)")
        // Unrelated clips of different lengths: it says which ended first.
        try writePan(dir + "/long.mp4", frames: 20)
        try writePan(dir + "/short.mp4", frames: 4, width: 64, height: 48)
        let u = try CoherenceMetrics.measure(source: dir + "/long.mp4", dreamed: dir + "/short.mp4")
        #expect(u.frames == 4 && u.notes.contains { $0.contains("short.mp4 ends after 4 frames") }, "\(u.notes)")
        // One frame: no frame pair, so no flicker or warp error (n/a), not 0.
        try writePan(dir + "/one.mp4", frames: 1)
        let one = try CoherenceMetrics.measure(source: dir + "/one.mp4", dreamed: dir + "/one.mp4")
        #expect(one.flicker == nil && one.warpError == nil)
    }

    /// `metrics SOURCE FOLDER` reads the PNG frames a render wrote with --frames-dir: the decoded source written as
    /// frames measures as the source itself; a folder that starts at frame 3 (a shard's) is compared with the
    /// source's frame 3 on (a pan: one frame off would differ by many levels); a missing number stops the comparison
    /// there and says so; two files for one frame, a damaged frame file and an empty folder are named.
    @Test func metricsReadAFramesFolder() throws {
        let dir = try tempDir("r2-metrics-dir")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = dir + "/pan.mp4", frames = dir + "/frames"
        try writePan(source, frames: 12, speed: 3)
        try FileManager.default.createDirectory(atPath: frames, withIntermediateDirectories: true)
        let r = try VideoReader(path: source)
        var n = 0
        while let f = try r.nextVideoFrame() { try ImageIO.write(f.image, to: String(format: "%@/frame_%06d.png", frames, n)); n += 1 }
        #expect(n == 12)
        let same = try CoherenceMetrics.measure(source: source, dreamed: frames)
        #expect(same.frames == 12 && same.difference == 0 && same.warpError == 1 && same.total.detail == 1, "\(same)")

        for i in 0..<3 { try FileManager.default.removeItem(atPath: String(format: "%@/frame_%06d.png", frames, i)) }
        let later = try CoherenceMetrics.measure(source: source, dreamed: frames)
        #expect(later.frames == 9 && later.difference == 0, "\(later)")
        #expect(later.notes.contains { $0.contains("starts at frame 3") }, "\(later.notes)")

        try FileManager.default.removeItem(atPath: frames + "/frame_000007.png")
        let gap = try CoherenceMetrics.measure(source: source, dreamed: frames)
        #expect(gap.frames == 4 && gap.notes.contains { $0.contains("frame 7 is missing") }, "\(gap.notes)")

        try FileManager.default.copyItem(atPath: frames + "/frame_000004.png", toPath: frames + "/frame_0000004.png")
        #expect { try CoherenceMetrics.measure(source: source, dreamed: frames) } throws: { "\($0)".contains("two files for frame 4") }
        try FileManager.default.removeItem(atPath: frames + "/frame_0000004.png")
        try write("not a picture", frames + "/frame_000005.png")
        #expect { try CoherenceMetrics.measure(source: source, dreamed: frames) } throws: { "\($0)".contains("frame_000005.png") }
        let empty = dir + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        #expect { try CoherenceMetrics.measure(source: source, dreamed: empty) } throws: { "\($0)".contains("empty: a folder without frame files") }

        // A black source has no detail to compare with: detail is n/a, not a ratio over zero.
        let black = dir + "/black.mp4", blackFrames = dir + "/black-frames"
        try #require(ffmpegTool(["-f", "lavfi", "-i", "color=black:size=96x64:rate=10:duration=0.4", "-c:v", "mpeg4", "-q:v", "2", black]))
        try FileManager.default.createDirectory(atPath: blackFrames, withIntermediateDirectories: true)
        let checks = RGBImage(width: 96, height: 64, pixels: (0..<(96 * 64 * 3)).map { i in (i / 3 % 96 / 4 + i / 3 / 96 / 4) % 2 == 0 ? 40 : 200 })
        for i in 0..<4 { try ImageIO.write(checks, to: String(format: "%@/frame_%06d.png", blackFrames, i)) }
        let flat = try CoherenceMetrics.measure(source: black, dreamed: blackFrames)
        #expect(flat.frames == 4 && flat.total.detail == nil, "\(flat)")
    }

    // 6: YAML numbers
    @Test func yamlNumbersAreReadAsWritten() throws {
        let dir = try tempDir("r2-yaml")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func resolve(_ text: String) throws -> JobSettings {
            try write(text, dir + "/p.yaml")
            return try JobSettings.resolve(kind: .zoom, sources: [try Preset.load(path: dir + "/p.yaml").source]).settings
        }
        #expect(try resolve("frames: 017\n").frames == 17, "017 is seventeen, not octal fifteen")
        #expect(throws: (any Error).self) { try resolve("frames: 0x10\n") }
        #expect(throws: (any Error).self) { try resolve("zoom: {0: 1.02, 0x10s: 1.05}\nframes: 100\n") }
        #expect(try resolve("seed: 1234567890123456\n").seed == 1_234_567_890_123_456)
        #expect(try resolve("seed: 18446744073709551615\n").seed == UInt64.max)
        #expect(throws: (any Error).self) { try resolve("zoom: {0: 1.02, 5: 1.05 smooth}\nframes: 100\n") }
        #expect(throws: (any Error).self) { try resolve("zoom: {50: 1.2}\nframes: 10\n") }
    }

    // 7
    @Test func aLayersWeightScalesItsDream() throws {
        let network = try #require(syntheticStore.networks["googlenet"])
        let x = texture(width: 64, height: 64)
        func dream(_ w: Float) throws -> Double {
            var rng = SeededGenerator(seed: 1)
            let d = try Dreamer(network: network, settings: DreamSettings(layers: [LayerWeight("inception3a", weight: w)], iterations: 3, octaves: 1, octaveScale: 1.4, step: 2))
            let out = try d.dream(x, rng: &rng)
            return zip(out.data, x.data).map { Double(abs($0 - $1)) }.reduce(0, +) / Double(x.count)
        }
        let full = try dream(1), fifth = try dream(0.2), none = try dream(0)
        #expect(none == 0, "weight 0: no dream")
        #expect(fifth > 0.1 * full && fifth < 0.35 * full, "weight 0.2 moved the picture \(fifth), weight 1 \(full)")
        // A keyframed fade to 0.01 changes the frames before exactly 0.
        var s = try JobSettings.defaults(for: .zoom, model: "googlenet")
        s.layers = [try LayerTerm(parsing: "inception3a:0:(1), 10:(0.01)")]
        #expect(s.frameSettings(at: 9).dream.weightScale < 0.2 && s.frameSettings(at: 9).dream.weightScale > 0)
    }

    // 8, 9
    @Test func batchPathsAreRelativeToTheBatchAndChangedInputsAreRenderedAgain() throws {
        let dir = try tempDir("r2-paths")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        try ImageIO.write(RGBImage(width: 64, height: 64, fill: (200, 10, 10)), to: dir + "/sub/guide.png")
        try ImageIO.write(RGBImage(width: 64, height: 64, fill: (20, 100, 10)), to: dir + "/sub/in.png")
        try write("""
        jobs:
          - kind: image
            input: in.png
            output: out.png
            guide: guide.png
        \(common)
          - kind: zoom
            input: noise
            size: 64x64
            frames: 2
            output: z.mp4
            frames-dir: zf
        \(common)
        """, dir + "/sub/b.yaml")
        let batch = try BatchFile.load(path: dir + "/sub/b.yaml")
        #expect(batch.items[0].job.job.settings.guide == dir + "/sub/guide.png")
        #expect(batch.items[1].job.job.settings.framesDir == dir + "/sub/zf")
        #expect(try run(dir + "/sub/b.yaml").map(\.status.word) == ["done", "done"])
        #expect(try run(dir + "/sub/b.yaml").map(\.status.word) == ["skipped (done earlier)", "skipped (done earlier)"])
        // New pixels at the same path: the job runs again.
        try ImageIO.write(RGBImage(width: 64, height: 64, fill: (20, 100, 200)), to: dir + "/sub/in.png")
        #expect(try run(dir + "/sub/b.yaml").map(\.status.word) == ["done", "skipped (done earlier)"])
    }

    // 10, 16
    @Test func tinyInputsAreEnlargedAndMissingInputsAreFoundFirst() throws {
        let dir = try tempDir("r2-tiny")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(ffmpegTool(["-f", "lavfi", "-i", "testsrc=size=14x25:rate=10:d=0.3", dir + "/tiny.gif"]))
        var notes: [String] = []
        var o = RenderObserver()
        o.note = { notes.append($0) }
        let s = try redreamJob(dir + "/tiny.gif", dir + "/t.mp4").run(store: syntheticStore, progress: o, shouldStop: { false })
        #expect(s.totalFrames == 3 && notes.contains { $0.contains("enlarged") }, "\(notes)")
        #expect(min(s.width, s.height) >= 16)
        // --max-side too small for the layer: the advice given works.
        try writePan(dir + "/pan.mp4", frames: 2, width: 128, height: 96)
        var advice = ""
        do { _ = try redreamJob(dir + "/pan.mp4", dir + "/p.mp4", ["max-side": .number(16), "layer": .list([.text("inception4a")])]) } catch { advice = "\(error)" }
        let n = try #require(advice.range(of: "--max-side ").flatMap { Int(advice[$0.upperBound...].prefix { $0.isNumber }) }, "\(advice)")
        _ = try redreamJob(dir + "/pan.mp4", dir + "/p.mp4", ["max-side": .number(Double(n)), "layer": .list([.text("inception4a")])])
        // A batch whose image job reads a missing file is refused before job 1 runs.
        try write("""
        jobs:
          - kind: zoom
            input: noise
            size: 64x64
            frames: 2
            output: first.mp4
        \(common)
          - kind: image
            input: missing.png
            output: b.png
        \(common)
          - kind: image
            input: \(dir)/pan.mp4
            output: nofolder/b.png
        \(common)
        """, dir + "/b.yaml")
        #expect(loadError(dir + "/b.yaml").contains("missing.png"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/first.mp4"))
        // A re-dream that starts past the end leaves no work folder.
        #expect(throws: (any Error).self) { try redreamJob(dir + "/pan.mp4", dir + "/late.mp4", ["start": .number(100)]).run(store: syntheticStore, shouldStop: { false }) }
        #expect(!FileManager.default.fileExists(atPath: dir + "/late.mp4.dreamvideo"))
    }

    // 12, 13, 15
    @Test func batchMessagesAreOneLineAndNameTheFile() throws {
        let dir = try tempDir("r2-msg")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var big = "jobs:\n"
        for i in 0..<3000 { big += "  - kind: image\n    input: noise\n    size: 64x64\n    output: o\(i).png\n" }
        big += "  - kind: image\n    input: noise\n    output: x.png\n    output: y.png\n"
        try write(big, dir + "/dup.yaml")
        let e = loadError(dir + "/dup.yaml")
        #expect(e.contains("dup.yaml:12005: duplicate key 'output'") && !e.contains("\n") && e.count < 300, "\(e.prefix(300))")
        try FileManager.default.createDirectory(atPath: dir + "/folder.yaml", withIntermediateDirectories: true)
        #expect(loadError(dir + "/folder.yaml").contains("is a folder, not a batch file"))
        try Data(count: BatchFile.maxBytes + 10).write(to: URL(fileURLWithPath: dir + "/huge.yaml"))
        #expect(loadError(dir + "/huge.yaml").contains("over the 16 MiB a batch file may have"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/loop1.yaml", withDestinationPath: dir + "/loop2.yaml")
        try FileManager.default.createSymbolicLink(atPath: dir + "/loop2.yaml", withDestinationPath: dir + "/loop1.yaml")
        #expect(throws: DreamVideoError.self) { try PresetLibrary.find(dir + "/loop1.yaml") }
        do { _ = try PresetLibrary.find(dir + "/loop1.yaml") } catch { #expect("\(error)".contains("symbolic link that leads nowhere"), "\(error)") }
        // A damaged record is named.
        try write("jobs:\n  - kind: image\n    input: noise\n    size: 64x64\n    output: r.png\n\(common)\n", dir + "/r.yaml")
        let runner = BatchRunner(batch: try BatchFile.load(path: dir + "/r.yaml"), store: syntheticStore)
        _ = try runner.run(observer: { _, _ in RenderObserver() }, shouldStop: { false })
        let record = try #require(try FileManager.default.contentsOfDirectory(atPath: dir + "/.r.yaml.dreamvideo-state").first { $0.hasSuffix(".json") })
        try write("{ garbage", dir + "/.r.yaml.dreamvideo-state/" + record)
        let again = BatchRunner(batch: try BatchFile.load(path: dir + "/r.yaml"), store: syntheticStore)
        let r = try again.run(observer: { _, _ in RenderObserver() }, shouldStop: { false })
        #expect(r[0].status.word == "FAILED")
        #expect(again.notes.contains { $0.contains(record) && $0.contains("damaged") }, "\(again.notes)")
    }

    // 14
    @Test func anInterruptedBatchSaysHowToGoOnAndCountsItsFrames() throws {
        let dir = try tempDir("r2-stop")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write("jobs:\n  - kind: zoom\n    input: noise\n    output: z.mp4\n    size: 64x64\n    frames: 9\n    checkpoint-every: 2\n\(common)\n", dir + "/b.yaml")
        var frames = 0
        let r = try BatchRunner(batch: try BatchFile.load(path: dir + "/b.yaml"), store: syntheticStore).run(observer: { _, _ in
            var o = RenderObserver()
            o.frame = { _ in frames += 1 }
            return o
        }, shouldStop: { frames >= 5 })
        guard case .interrupted(let m) = r[0].status else { Issue.record("\(r[0].status)"); return }
        #expect(!m.contains("--resume"), "\(m)")
        #expect(r[0].frames == frames && frames >= 5, "\(r[0].frames) of \(frames) frames made")
    }
}
