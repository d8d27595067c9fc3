import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import Testing

/// A whole pipeline in one small type: the frame loop does the output, checkpoints, resume, ranges and
/// observers. Frame i is a flat grey whose level is a running sum carried from frame to frame.
final class RampMaker: FrameMaker {
    struct Payload: Codable, Sendable { var sum: Int }
    static let pipeline = "ramp"
    let count: Int
    var timings = FrameTimings()
    init(count: Int) { self.count = count }
    var frameCount: Int? { count }
    var estimatedFrameCount: Int { count }
    func start(at first: Int) throws -> FrameState<Payload> { FrameState(payload: Payload(sum: first * (first - 1) / 2)) }
    func resume(at next: Int, state: FrameState<Payload>) throws {}
    func makeFrame(_ index: Int, state: FrameState<Payload>) throws -> (MadeFrame, FrameState<Payload>)? {
        let sum = state.payload.sum + index
        let level = UInt8(truncatingIfNeeded: 16 + 8 * (sum % 28))
        let picture = RGBImage(width: 32, height: 32, fill: (level, level, 255 - level))
        return (MadeFrame(picture: picture, pts: Int64(index)), FrameState(payload: Payload(sum: sum)))
    }
}

@Suite("One frame loop", .serialized)
struct FrameLoopTests {
    func options(_ dir: String, _ name: String, every: Int = 3, policy: OutputPolicy = OutputPolicy()) -> VideoOutputOptions {
        VideoOutputOptions(width: 32, height: 32, frameRate: FrameRate(25), encoder: EncoderSettings(crf: 0, preset: "ultrafast"),
                           checkpointEvery: every, framesDir: dir + "/" + name + "-frames", policy: policy)
    }

    @Test func aNewPipelineIsAFrameMakerAndTheLoopGivesItResumeAndRanges() throws {
        let dir = try tempDir("ramp")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let whole = try FrameLoop<RampMaker>(output: dir + "/whole.mp4", identity: ["ramp": "v1"], options: options(dir, "whole"))
            .run(RampMaker(count: 10), observer: RenderObserver(), shouldStop: { false })
        #expect(whole.totalFrames == 10 && whole.framesRendered == 10)

        // Interrupted after 4 frames, then resumed: the same frames.
        var n = 0
        #expect(throws: DreamVideoError.self) {
            _ = try FrameLoop<RampMaker>(output: dir + "/cut.mp4", identity: ["ramp": "v1"], options: options(dir, "cut"))
                .run(RampMaker(count: 10), observer: RenderObserver(), shouldStop: { n += 1; return n == 4 })
        }
        let resumed = try FrameLoop<RampMaker>(output: dir + "/cut.mp4", identity: ["ramp": "v1"],
                                               options: options(dir, "cut", policy: OutputPolicy(resume: true)))
            .run(RampMaker(count: 10), observer: RenderObserver(), shouldStop: { false })
        #expect(resumed.framesRendered == 6)
        #expect(try samePNGs(pngs(dir + "/whole-frames"), pngs(dir + "/cut-frames")))

        // Two ranges rendered apart, joined: the whole render's frames and times.
        for (name, range) in [("a", FrameRange(first: 0, end: 6)), ("b", FrameRange(first: 6))] {
            _ = try FrameLoop<RampMaker>(output: dir + "/\(name).mp4", identity: ["ramp": "v1"], options: options(dir, name), range: range)
                .run(RampMaker(count: 10), observer: RenderObserver(), shouldStop: { false })
        }
        var merged = try pngs(dir + "/a-frames")
        merged.merge(try pngs(dir + "/b-frames")) { a, _ in a }
        #expect(merged == (try pngs(dir + "/whole-frames")) && merged.count == 10)
        try RangeJoin.join([dir + "/b.mp4", dir + "/a.mp4"], to: dir + "/joined.mp4")
        let a = try VideoReader(path: dir + "/whole.mp4"), b = try VideoReader(path: dir + "/joined.mp4")
        var frames = 0
        while let x = try a.nextVideoFrame() {
            let y = try #require(try b.nextVideoFrame())
            #expect(x.image == y.image && x.pts == y.pts, "frame \(frames)")
            frames += 1
        }
        let extra = try b.nextVideoFrame()
        #expect(frames == 10 && extra == nil)
    }

    @Test func rangesOfAReDreamJoinToTheWholeReDream() throws {
        let dir = try tempDir("ranges")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = dir + "/pan.mp4"
        try writePan(source, frames: 12, crf: 4)
        // Frames dreamed each from its own source frame: any range can start anywhere and come out the same.
        let independent: [String: SettingValue] = ["flow": .text("none"), "blend": .number(0), "temporal-weight": .number(0)]
        func job(_ name: String, _ range: FrameRange = .all, _ extra: [String: SettingValue] = [:]) throws -> RedreamJob {
            let j = try redreamJob(source, dir + "/\(name).mp4", independent.merging(extra) { _, b in b }
                                    .merging(["frames-dir": .text(dir + "/\(name)-frames")]) { _, b in b })
            return RedreamJob(input: j.input, output: j.output, settings: j.settings, range: range)
        }
        let whole = try job("whole").run(store: syntheticStore, shouldStop: { false })
        #expect(whole.totalFrames == 12)
        let first = try job("r1", FrameRange(first: 0, end: 5)).run(store: syntheticStore, shouldStop: { false })
        let second = try job("r2", FrameRange(first: 5)).run(store: syntheticStore, shouldStop: { false })
        #expect(first.totalFrames == 5 && second.totalFrames == 7)
        var merged = try pngs(dir + "/r1-frames")
        merged.merge(try pngs(dir + "/r2-frames")) { a, _ in a }
        #expect(merged == (try pngs(dir + "/whole-frames")), "the ranges' frames are the whole render's")

        try RangeJoin.join([dir + "/r2.mp4", dir + "/r1.mp4"], to: dir + "/joined.mp4")
        let a = try VideoReader(path: dir + "/whole.mp4"), b = try VideoReader(path: dir + "/joined.mp4")
        var n = 0
        while let x = try a.nextVideoFrame() {
            let y = try #require(try b.nextVideoFrame())
            #expect(x.pts == y.pts, "frame \(n): time \(y.pts), the whole render's \(x.pts)")
            #expect(meanAbsDiff(x.image, y.image) < 6, "frame \(n) differs by \(meanAbsDiff(x.image, y.image))")
            n += 1
        }
        let extra = try b.nextVideoFrame()
        #expect(n == 12 && extra == nil)

        // Joins that cannot be right are refused, and leave nothing behind.
        func refused(_ parts: [String], _ out: String, _ words: String) {
            let existed = FileManager.default.fileExists(atPath: dir + "/\(out).mp4")
            do {
                try RangeJoin.join(parts.map { dir + "/\($0).mp4" }, to: dir + "/\(out).mp4")
                Issue.record("joining \(parts) was accepted")
            } catch {
                #expect("\(error)".contains(words), "\(error)")
            }
            #expect(existed || !FileManager.default.fileExists(atPath: dir + "/\(out).mp4"))
        }
        refused(["r2"], "x1", "frames 0…4 are missing")
        _ = try job("r3", FrameRange(first: 3, end: 9)).run(store: syntheticStore, shouldStop: { false })
        refused(["r1", "r3"], "x2", "overlaps")
        _ = try job("r4", FrameRange(first: 5), ["seed": .text("99")]).run(store: syntheticStore, shouldStop: { false })
        refused(["r1", "r4"], "x3", "other settings")
        refused(["r1", "r2"], "whole", "already exists")
        refused(["r1", "r2"], "r1", "is one of the ranges")
        // A range video changed after it was rendered.
        let r2 = dir + "/r2.mp4"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: r2))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: r2))
        refused(["r1", "r2"], "x4", "differs from the video its range manifest describes")
    }

    @Test func shardsOfACarriedReDreamJoinWithTheAudioAndASeamless() throws {
        let dir = try tempDir("shards")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let video = dir + "/v.mp4", source = dir + "/src.mp4"
        try writePan(video, frames: 24)
        try #require(ffmpegTool(["-i", video, "-f", "lavfi", "-i", "sine=frequency=330:duration=0.8:sample_rate=48000",
                                 "-c:v", "copy", "-c:a", "aac", "-shortest", source]))
        func job(_ name: String, _ extra: [String: SettingValue]) throws -> RedreamJob {
            try redreamJob(source, dir + "/\(name).mp4", ["frames-dir": .text(dir + "/\(name)-frames")].merging(extra) { _, b in b })
        }
        // With a lead-in as long as the clip, every shard starts its dream where the whole render did: the same frames.
        let whole = try job("whole", ["lead-in": .number(1000)]).run(store: syntheticStore, shouldStop: { false })
        #expect(whole.totalFrames == 24)
        var merged: [String: Data] = [:]
        for i in 0..<3 {
            let shard = try Shard(index: i, count: 3)
            let j = try job("whole", ["lead-in": .number(1000), "frames-dir": .text(dir + "/s\(i)")]).sharded(shard)
            #expect(j.output == dir + "/whole.shard-00\(i)-of-003.mp4")
            let s = try j.run(store: syntheticStore, shouldStop: { false })
            #expect(s.totalFrames == [20, 16, 8][i], "8 frames of its own and up to 12 overlapping the next shard")
            merged.merge(try pngs(dir + "/s\(i)")) { a, _ in a }
        }
        #expect(merged == (try pngs(dir + "/whole-frames")) && merged.count == 24, "shards with a full lead-in make the whole render's frames")
        // A finished shard run again with --resume (a scheduler's retry) does nothing and leaves its file alone.
        let again = try job("whole", ["lead-in": .number(1000), "frames-dir": .text(dir + "/s0")]).sharded(try Shard(index: 0, count: 3))
        let before = try Data(contentsOf: URL(fileURLWithPath: again.output))
        do {
            _ = try again.run(store: syntheticStore, policy: OutputPolicy(resume: true), shouldStop: { Issue.record("a finished shard rendered a frame again"); return true })
            Issue.record("a finished shard was rendered again")
        } catch DreamVideoError.alreadyDone(let path) {
            #expect(path == again.output)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: again.output)) == before)
        #expect(try FarmStatus.report(output: dir + "/joined.mp4", count: 3).allSatisfy { $0.state == .missing })
        // Joined: the frame count, the source's times, the audio once, cut to the video.
        for i in 0..<3 {
            let from = try Shard(index: i, count: 3).output(for: dir + "/whole.mp4"), to = try Shard(index: i, count: 3).output(for: dir + "/joined.mp4")
            try FileManager.default.moveItem(atPath: from, toPath: to)
            try FileManager.default.moveItem(atPath: RangeManifest.path(for: from), toPath: RangeManifest.path(for: to))
        }
        #expect(try FarmStatus.report(output: dir + "/joined.mp4").allSatisfy { $0.state == .done })
        try RangeJoin.joinShards(of: dir + "/joined.mp4")
        let a = try VideoReader(path: dir + "/whole.mp4").readTimes(), b = try VideoReader(path: dir + "/joined.mp4").readTimes()
        #expect(a.count == 24 && b.count == 24 && zip(a, b).allSatisfy { abs($0 - $1) < 0.001 }, "\(b)")
        let info = try MediaInfo(path: dir + "/joined.mp4")
        #expect(info.audio.count == 1 && abs((info.audio.first?.duration ?? 0) - (info.video?.duration ?? 9)) < 0.1, "\(info.streams)")
        // Bad shard counts.
        #expect(throws: DreamVideoError.self) { try Shard(parsing: "3/3") }
        #expect(throws: DreamVideoError.self) { try Shard(parsing: "0/0") }
        #expect(throws: DreamVideoError.self) { try Shard(parsing: "-1/4") }
        #expect(throws: DreamVideoError.self) { try job("x", [:]).sharded(try Shard(index: 0, count: 25)) }
    }

    /// A shard renders `overlap` frames past its end; the join cross-fades them into the next shard's first frames
    /// (re-encoded up to its next key frame) and copies everything else packet for packet.
    @Test func overlappingShardsAreCrossFadedAtTheJoin() throws {
        let dir = try tempDir("xfade")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let video = dir + "/v.mp4", out = dir + "/x.mp4"
        try writePan(video, frames: 24)
        func job(_ overlap: Int, _ output: String) throws -> RedreamJob {
            try redreamJob(video, output, ["lead-in": .number(0), "overlap": .number(Double(overlap)), "crf": .number(0), "seed": .text("3")])
        }
        var shards: [String] = []
        for i in 0..<3 {
            let j = try job(4, out).sharded(try Shard(index: i, count: 3))
            #expect(j.range == FrameRange(first: 8 * i, end: i < 2 ? 8 * i + 12 : nil, tail: i < 2 ? 4 : nil))
            _ = try j.run(store: syntheticStore, shouldStop: { false })
            shards.append(j.output)
        }
        let m0 = try RangeManifest.read(for: shards[0])
        #expect(m0.tail == 4 && m0.ownFrames == 8 && m0.frames == 12)
        #expect(try FarmStatus.report(output: out).map(\.frames) == [8, 8, 8])
        try RangeJoin.joinShards(of: out)
        let joined = try FarmTests.frames(out), s0 = try FarmTests.frames(shards[0]), s1 = try FarmTests.frames(shards[1])
        #expect(joined.count == 24 && s0.count == 12 && s1.count == 12)
        // Before the seam: shard 0's own frames, packet for packet.
        #expect(Array(joined[0..<8]) == Array(s0[0..<8]))
        // The fade: weights 1/5 … 4/5 toward shard 1, over shard 0's overlapping frames.
        for i in 0..<4 {
            let w = Double(i + 1) / 5
            var err = 0.0, apart = 0.0
            for k in 0..<joined[8 + i].pixels.count {
                let a = Double(s0[8 + i].pixels[k]), b = Double(s1[i].pixels[k]), got = Double(joined[8 + i].pixels[k])
                err += abs((1 - w) * a + w * b - got)
                apart += abs(a - b)
            }
            err /= Double(joined[8 + i].pixels.count); apart /= Double(joined[8 + i].pixels.count)
            #expect(err < 1.5 && apart > 3 * err, "frame \(8 + i): \(err) levels from the blend; the shards differ by \(apart)")
        }
        // From shard 1's first key frame after the fade on: its frames, packet for packet.
        let cut = try VideoPacketTimes.keyFrames(shards[1]).first { $0 >= 4 && $0 < 8 } ?? 8
        #expect(Array(joined[(8 + cut)..<16]) == Array(s1[cut..<8]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("seam") }.isEmpty, "no seam file left")
        // Without an overlap the join is a hard cut: every frame is a shard's own.
        let hard = dir + "/h.mp4"
        for i in 0..<3 { _ = try job(0, hard).sharded(try Shard(index: i, count: 3)).run(store: syntheticStore, shouldStop: { false }) }
        try RangeJoin.joinShards(of: hard)
        let h = try FarmTests.frames(hard), h1 = try FarmTests.frames(try Shard(index: 1, count: 3).output(for: hard))
        #expect(h.count == 24 && Array(h[8..<16]) == h1)
    }

    @Test func theObserverSeesEveryFrameAsWritten() throws {
        let f = try ZoomFixture("observer")
        defer { f.remove() }
        var seen: [Int: RGBImage] = [:]
        var observer = RenderObserver()
        observer.frame = { p in seen[p.index] = p.picture }
        _ = try f.job("o", frames: 5).run(store: syntheticStore, progress: observer, shouldStop: { false })
        #expect(seen.count == 5)
        for (i, picture) in seen {
            let written = try ImageIO.read(f.path("o") + String(format: "/frame_%06d.png", i))
            #expect(picture == written, "frame \(i): the observer's picture is the one written")
        }
    }
}

@Suite("Jobs check themselves")
struct JobValidationTests {
    /// Settings that are valid for every kind of job on the synthetic model.
    func valid(_ kind: JobKind, _ dir: String) throws -> JobSettings {
        var s = try JobSettings.defaults(for: kind, model: "googlenet")
        s.layers = [LayerTerm("inception3a")]
        s.iterations = Schedule(1); s.octaves = Schedule(1)
        s.size = FrameSize(width: 64, height: 64); s.maxSide = nil
        s.frames = 2; s.encoderPreset = "ultrafast"
        return s
    }

    func job(_ kind: JobKind, _ s: JobSettings, _ dir: String) throws -> any RenderJob {
        switch kind {
        case .image: return ImageJob(input: CLI.root + "/samples/chelsea.png", output: dir + "/o.png", settings: s)
        case .zoom: return ZoomJob(input: "noise", output: dir + "/o.mp4", settings: s)
        case .redream:
            let src = dir + "/src.mp4"
            if !FileManager.default.fileExists(atPath: src) { try writePan(src, frames: 3) }
            return RedreamJob(input: src, output: dir + "/o.mp4", settings: s)
        }
    }

    @Test func emptyAndHostileSettingsBuiltInCodeAreRefusedNeverTrapped() throws {
        let dir = try tempDir("validate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hostile: [(String, (inout JobSettings) -> Void)] = [
            ("layer", { $0.layers = [] }),
            ("layer", { $0.layers = [LayerTerm("inception3a", weight: Schedule(.nan))] }),
            ("layer", { $0.layers = [LayerTerm("inception3a", weight: Schedule(1e40))] }),
            ("layer", { $0.layers = [LayerTerm("no-such-layer")] }),
            ("layer", { $0.layers = [LayerTerm("")] }),
            ("model", { $0.model = "nope" }),
            ("iterations", { $0.iterations = Schedule(0) }),
            ("iterations", { $0.iterations = Schedule(-3) }),
            ("iterations", { $0.iterations = Schedule(1e40) }),
            ("iterations", { $0.iterations = Schedule(2.5) }),
            ("octaves", { $0.octaves = Schedule(.infinity) }),
            ("octave-scale", { $0.octaveScale = Schedule(1) }),
            ("step", { $0.step = Schedule(0) }),
            ("step", { $0.step = Schedule(-.infinity) }),
            ("smooth", { $0.smooth = Schedule(.nan) }),
            ("jitter", { $0.jitter = -1 }),
            ("tile", { $0.tile = 7 }),
            ("laplacian", { $0.laplacian = 9 }),
            ("max-side", { $0.maxSide = 0 }),
            ("class", { $0.classes = [ClassTerm(index: 5000)] }),
            ("guide", { $0.guide = "  " }),
        ]
        let video: [(String, (inout JobSettings) -> Void)] = [
            ("crf", { $0.crf = 99 }),
            ("encoder-preset", { $0.encoderPreset = "warp9" }),
            ("checkpoint-every", { $0.checkpointEvery = 0 }),
            ("frames-dir", { $0.framesDir = "" }),
        ]
        let zoom: [(String, (inout JobSettings) -> Void)] = [
            ("zoom", { $0.zoom = Schedule(0) }),
            ("zoom", { $0.zoom = Schedule(.nan) }),
            ("zoom", { $0.zoom = Schedule(1e40) }),
            ("rotate", { $0.rotate = Schedule(-1e40) }),
            ("translate", { $0.translate = Schedule(pair: .infinity, 0) }),
            ("fps", { $0.fps = FrameRate(0) }),
            ("fps", { $0.fps = FrameRate(1000) }),
            ("frames", { $0.frames = 0 }),
            ("frames", { $0.frames = Int.max }),
            ("size", { $0.size = FrameSize(width: 3, height: 5) }),
            ("detail-damping", { $0.detailDamping = Schedule(2) }),
            ("grid-turn", { $0.gridTurn = 90 }),
            ("grid-turn", { $0.gridTurn = .nan }),
        ]
        let redream: [(String, (inout JobSettings) -> Void)] = [
            ("start", { $0.start = -1 }),
            ("start", { $0.start = .nan }),
            ("duration", { $0.duration = .infinity }),
            ("blend", { $0.blend = Schedule(1.5) }),
            ("temporal-weight", { $0.temporalWeight = Schedule(-1) }),
        ]
        for kind in JobKind.allCases {
            let cases = hostile + (kind.isVideo ? video : []) + (kind == .zoom ? zoom : []) + (kind == .redream ? redream : [])
            for (key, spoil) in cases {
                var s = try valid(kind, dir)
                spoil(&s)
                let j = try job(kind, s, dir)
                do {
                    _ = try j.run(store: syntheticStore, policy: OutputPolicy(overwrite: true), progress: RenderObserver(), shouldStop: { false })
                    Issue.record("\(kind) job with a bad \(key) ran")
                } catch let e as SettingError {
                    #expect(e.key == key, "\(kind) \(key): \(e)")
                } catch {
                    Issue.record("\(kind) \(key): not a setting error: \(error)")
                }
            }
            // Valid settings run.
            _ = try job(kind, try valid(kind, dir), dir).run(store: syntheticStore, policy: OutputPolicy(overwrite: true), progress: RenderObserver(), shouldStop: { false })
        }
        // The defaults in code are the table's.
        #expect(JobSettings() == (try JobSettings.defaults(for: .image)))
        let zoomDefaults = try JobSettings.defaults(for: .zoom)
        #expect(zoomDefaults.layers.map(\.name) == ["blocks.11"] && zoomDefaults.laplacian == 4 && zoomDefaults.maxSide == 1280)
        let redreamDefaults = try JobSettings.defaults(for: .redream)
        #expect(redreamDefaults.blend == Schedule(0.9) && redreamDefaults.temporalWeight == Schedule(2))
    }

    @Test func aJobDecodedFromJSONIsCheckedToo() throws {
        let dir = try tempDir("json-check")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var s = try valid(.zoom, dir)
        s.zoom = Schedule(0)
        let data = try JSONEncoder().encode(ZoomJob(input: "noise", output: dir + "/o.mp4", settings: s))
        let decoded = try JSONDecoder().decode(ZoomJob.self, from: data)
        #expect(throws: SettingError.self) { try decoded.run(store: syntheticStore, shouldStop: { false }) }
        #expect(!FileManager.default.fileExists(atPath: dir + "/o.mp4.dreamvideo"), "refused before anything was written")
    }

    @Test func keyframeRulesHoldForEveryScheduleOfEveryJob() throws {
        let dir = try tempDir("keys")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = dir + "/src.mp4"
        try writePan(src, frames: 10)
        func redreamError(_ values: [String: SettingValue]) -> String {
            do { _ = try redreamJob(src, dir + "/o.mp4", values); return "accepted" } catch { return "\(error)" }
        }
        #expect(redreamError(["blend": .text("5:(0.2), 2:(0.9)")]).contains("blend keyframes are out of order: 2 does not come after"))
        #expect(redreamError(["temporal-weight": .text("1s:(1), 0.5s:(2)")]).contains("out of order"))
        #expect(redreamError(["layer": .list([.text("inception3a:4:(1), 2:(0)")])]).contains("out of order"))
        #expect(redreamError(["blend": .text("0:(0.2), 3:(0.5), 3:(0.9)")]).contains("out of order"), "a duplicate time")
        #expect(redreamError(["blend": .text("0:(0.2), 500:(0.9)")]).contains("past the end of the video"))
        #expect(redreamError(["blend": .text("-1:(0.2), 5:(0.9)")]).contains("negative"))
        #expect(redreamError(["blend": .text("0:(0.2) smooth")]).contains("after the last keyframe"))
        #expect(redreamError(["blend": .text("0x10s:(0.2), 5:(0.9)")]).contains("not a frame number"))
        #expect(redreamError(["blend": .text("0:(0.2), 1e9s:(0.9)")]).contains("past the longest video"))
        // Frames and seconds mixed: the order needs the source's frame rate (30 fps: 1s is frame 30).
        #expect(redreamError(["blend": .text("0:(0.2), 0.2s:(0.5), 3:(0.9)")]).contains("out of order"))
        let image = { (values: [String: SettingValue]) -> String in
            do { _ = try ImageJob.resolve(input: CLI.root + "/samples/chelsea.png", output: dir + "/o.png", sources: [.api(values)]); return "accepted" } catch { return "\(error)" }
        }
        #expect(image(["class": .list([.text("tabby:5:(1), 2:(0)")])]).contains("out of order"))
        // The lone keyframe past the end of a zoom.
        let zoom = { (values: [String: SettingValue]) -> String in
            do { _ = try ZoomJob.resolve(input: "noise", output: dir + "/o.mp4", sources: [.api(["size": .text("64x64"), "frames": .number(10)].merging(values) { _, b in b })]); return "accepted" } catch { return "\(error)" }
        }
        #expect(zoom(["zoom": .text("50:(1.2)")]).contains("past the end"))
    }
}
