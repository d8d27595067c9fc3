import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import Testing

/// A smooth random texture (sum of a few sines with random phases), 0–255, and a shifted copy.
func texture(width: Int, height: Int, shift: (x: Float, y: Float) = (0, 0), seed: UInt64 = 3) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    let waves = (0..<12).map { _ in (fx: Float.random(in: 0.05...0.35, using: &rng), fy: Float.random(in: 0.05...0.35, using: &rng),
                                     p: Float.random(in: 0...6.28, using: &rng), c: Int.random(in: 0...2, using: &rng)) }
    var t = Tensor(repeating: 128, shape: Shape(3, height, width))
    for y in 0..<height {
        for x in 0..<width {
            let sx = Float(x) - shift.x, sy = Float(y) - shift.y
            for w in waves { t[w.c, y, x] += 30 * sin(w.fx * sx + w.fy * sy + w.p) }
        }
    }
    return t
}

/// Runs the ffmpeg program (tests make files our writer cannot: audio, other codecs, odd timing).
@discardableResult
func ffmpegTool(_ args: [String]) -> Bool {
    guard let path = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return false }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = ["-v", "error", "-y", "-nostdin"] + args
    p.standardInput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    p.standardOutput = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}

/// Writes `frames` frames of a texture panning `speed` px per frame, with our writer.
func writePan(_ path: String, frames: Int, width: Int = 96, height: Int = 64, fps: FrameRate = FrameRate(30), speed: Float = 2,
              crf: Int = 16) throws {
    let w = try VideoWriter(path: path, width: width, height: height, frameRate: fps, settings: EncoderSettings(crf: crf, preset: "ultrafast"))
    for i in 0..<frames { try w.write(texture(width: width, height: height, shift: (speed * Float(i), 0.5 * Float(i))).rgbImage()) }
    try w.finish()
}

/// Re-dream jobs on the synthetic model, tiny and fast.
func redreamJob(_ input: String, _ output: String, _ extra: [String: SettingValue] = [:]) throws -> RedreamJob {
    var values: [String: SettingValue] = [
        "model": .text("googlenet"), "layer": .list([.text("inception3a")]), "iterations": .number(2), "octaves": .number(1),
        "step": .number(2), "encoder-preset": .text("ultrafast"), "checkpoint-every": .number(4), "seed": .text("5"),
    ]
    values.merge(extra) { _, new in new }
    return try RedreamJob.resolve(input: input, output: output, sources: [.api(values)])
}

@Suite("Optical flow and coherence")
struct FlowTests {
    @Test func flowWarpMovesATranslatedPatternByTheRightOffset() throws {
        let (w, h) = (160, 120)
        let a = texture(width: w, height: h), b = texture(width: w, height: h, shift: (3.5, -2.25))
        for method in [FlowMethod.dis, .farneback] {
            let flow = try FlowEstimator(method)
            let (backward, forward) = try flow.flows(previous: ImageOps.gray8(a), current: ImageOps.gray8(b), width: w, height: h)
            // Interior only (the borders see content that left or entered the picture).
            var sx = 0.0, sy = 0.0, n = 0.0
            for y in 16..<(h - 16) { for x in 16..<(w - 16) { sx += Double(backward.dx[y * w + x]); sy += Double(backward.dy[y * w + x]); n += 1 } }
            #expect(abs(sx / n + 3.5) < 0.15 && abs(sy / n - 2.25) < 0.15, "\(method): backward flow \(sx / n), \(sy / n)")
            let carried = ImageOps.warp(a, along: backward)
            var err = 0.0
            for c in 0..<3 { for y in 16..<(h - 16) { for x in 16..<(w - 16) { err += Double(abs(carried[c, y, x] - b[c, y, x])) } } }
            err /= 3 * n
            #expect(err < 1.5, "\(method): warped frame differs by \(err) levels")
            let mask = ImageOps.consistencyMask(backward: backward, forward: forward)
            var trusted = 0.0
            for y in 16..<(h - 16) { for x in 16..<(w - 16) { trusted += Double(mask[0, y, x]) } }
            #expect(trusted / n > 0.95, "\(method): consistency \(trusted / n) inside")
        }
    }

    @Test func occlusionMaskFlagsARevealedRegion() throws {
        // A textured square moves 8 px right over a different, static texture: the strip it uncovers is new.
        let (w, h) = (160, 120)
        let bg = texture(width: w, height: h, seed: 1), fg = texture(width: w, height: h, seed: 9)
        func frame(_ left: Int) -> Tensor {
            var t = bg
            for c in 0..<3 { for y in 30..<90 { for x in left..<(left + 60) { t[c, y, x] = fg[c, y, x - left + 20] } } }
            return t
        }
        let prev = frame(40), cur = frame(48)
        let flow = try FlowEstimator(.dis)
        let (b, f) = try flow.flows(previous: ImageOps.gray8(prev), current: ImageOps.gray8(cur), width: w, height: h)
        let mask = ImageOps.consistencyMask(backward: b, forward: f)
        func mean(_ xs: Range<Int>, _ ys: Range<Int>) -> Double {
            var s = 0.0
            for y in ys { for x in xs { s += Double(mask[0, y, x]) } }
            return s / Double(xs.count * ys.count)
        }
        let revealed = mean(41..<47, 36..<84), still = mean(120..<150, 20..<100), moving = mean(60..<95, 40..<80)
        #expect(revealed < 0.5, "revealed strip trusted at \(revealed)")
        #expect(still > 0.9 && moving > 0.8, "background \(still), square \(moving)")
    }

    @Test func coherenceMeasureOnASyntheticPan() throws {
        let dir = try tempDir("coh")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (w, h, n) = (128, 96, 12)
        let source = dir + "/s.mp4", same = dir + "/same.mp4", flicker = dir + "/flicker.mp4", stuck = dir + "/stuck.mp4"
        try writePan(source, frames: n, width: w, height: h, crf: 0)
        // The source itself: no strength, and as coherent as itself.
        try FileManager.default.copyItem(atPath: source, toPath: same)
        // Fresh noise on every frame: strong flicker and warp error.
        // A pattern that stays put while the picture pans: it follows no motion.
        let wf = try VideoWriter(path: flicker, width: w, height: h, frameRate: FrameRate(30), settings: EncoderSettings(crf: 0, preset: "ultrafast"))
        let ws = try VideoWriter(path: stuck, width: w, height: h, frameRate: FrameRate(30), settings: EncoderSettings(crf: 0, preset: "ultrafast"))
        var rng = SeededGenerator(seed: 4)
        let overlay = texture(width: w, height: h, seed: 77)
        for i in 0..<n {
            let s = texture(width: w, height: h, shift: (2 * Float(i), 0.5 * Float(i)))
            var noisy = s
            for k in 0..<noisy.count { noisy.data[k] += 20 * rng.gaussian() }
            noisy.clamp(0, 255)
            try wf.write(noisy.rgbImage())
            var st = s
            st.add(overlay, scaledBy: 0.3)
            st.add(Tensor(repeating: -38.4, shape: st.shape))
            st.clamp(0, 255)
            try ws.write(st.rgbImage())
        }
        try wf.finish(); try ws.finish()
        let a = try CoherenceMetrics.measure(source: source, dreamed: same)
        #expect(a.frames == n && a.difference < 0.5 && abs(a.flicker! - 1) < 0.02 && abs(a.warpError! - 1) < 0.02 && abs((a.total.detail ?? 0) - 1) < 0.02, "\(a)")
        let b = try CoherenceMetrics.measure(source: source, dreamed: flicker)
        #expect(b.difference > 10 && b.flicker! > 1.15 && b.warpError! > 3, "\(b)")
        let c = try CoherenceMetrics.measure(source: source, dreamed: stuck)
        #expect(c.warpError! > 1.5, "a pattern that ignores the motion: \(c)")
    }
}

@Suite("Re-dream", .serialized)
struct RedreamTests {
    @Test func framesTimesAndAudioFollowTheSource() throws {
        let dir = try tempDir("rd-av")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let video = dir + "/v.mp4", source = dir + "/src.mp4"
        try writePan(video, frames: 45, fps: FrameRate(30000, 1001))
        // Add 1.5 s of tone (AAC) with the ffmpeg program (scripts/test.sh installs it).
        try #require(ffmpegTool(["-i", video, "-f", "lavfi", "-i", "sine=frequency=330:duration=1.5:sample_rate=48000",
                                 "-c:v", "copy", "-c:a", "aac", "-shortest", source]), "the ffmpeg program could not add a tone")
        let input = source
        let out = dir + "/out.mp4"
        let s = try redreamJob(input, out).run(store: syntheticStore, shouldStop: { false })
        #expect(s.framesRendered == 45 && s.totalFrames == 45)
        let src = try VideoReader(path: input), dst = try VideoReader(path: out)
        var times: [(Double, Double)] = []
        while let a = try src.nextVideoFrame(), let b = try dst.nextVideoFrame() { times.append((a.time, b.time)) }
        #expect(times.count == 45)
        let t0 = times[0].0
        #expect(times.allSatisfy { abs(($0.0 - t0) - $0.1) < 0.002 }, "output frames keep the source frames' times")
        let info = try MediaInfo(path: out)
        #expect(info.audio.count == 1 && info.audio.first?.codec == "aac")
        #expect(abs((info.audio.first?.duration ?? 0) - (info.video?.duration ?? 9)) < 0.1, "\(info.streams)")
        #expect(s.notes.contains { $0.contains("audio copied") }, "\(s.notes)")
        // --start and --duration cut video and audio alike.
        let cut = dir + "/cut.mp4"
        let c = try redreamJob(input, cut, ["start": .number(0.5), "duration": .number(0.6)]).run(store: syntheticStore, shouldStop: { false })
        #expect(c.framesRendered == 18, "0.6 s at 29.97 fps: \(c.framesRendered)")
        let cutInfo = try MediaInfo(path: cut)
        #expect(cutInfo.audio.count == 1 && abs((cutInfo.audio.first?.duration ?? 0) - (cutInfo.video?.duration ?? 9)) < 0.1, "\(cutInfo.streams)")
        // --no-audio drops it.
        let mute = dir + "/mute.mp4"
        _ = try redreamJob(input, mute, ["audio": .bool(false), "duration": .number(0.3)]).run(store: syntheticStore, shouldStop: { false })
        #expect(try MediaInfo(path: mute).audio.isEmpty)
    }

    /// Files our writer cannot make, made with the ffmpeg program (scripts/test.sh installs it).
    @Test(arguments: [
        ("vfr.mkv", ["-f", "lavfi", "-i", "testsrc=size=96x64:rate=30:duration=1", "-vf", "setpts='N/30/TB+if(gt(N,10),0.2/TB,0)'", "-c:v", "ffv1"], 30, (96, 64)),
        ("rot.mp4", ["-i", "ROTSRC", "-c", "copy", "-metadata:s:v:0", "rotate=90"], 10, (64, 96)),
        ("ten.mkv", ["-f", "lavfi", "-i", "testsrc=size=96x64:rate=10:duration=1", "-c:v", "ffv1", "-pix_fmt", "yuv420p10le"], 10, (96, 64)),
        ("444.mp4", ["-f", "lavfi", "-i", "testsrc=size=96x64:rate=10:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv444p"], 10, (96, 64)),
        ("odd.mkv", ["-f", "lavfi", "-i", "testsrc=size=97x61:rate=10:duration=1", "-c:v", "ffv1"], 10, (98, 62)),
        ("vp9.webm", ["-f", "lavfi", "-i", "testsrc=size=96x64:rate=10:duration=1", "-f", "lavfi", "-i", "sine=duration=1",
                      "-c:v", "libvpx-vp9", "-c:a", "libopus", "-shortest"], 10, (96, 64)),
        ("anim.gif", ["-f", "lavfi", "-i", "testsrc=size=96x64:rate=10:duration=1"], 10, (96, 64)),
        ("alpha.mov", ["-f", "lavfi", "-i", "testsrc=size=96x64:rate=10:duration=1", "-vf", "format=rgba", "-c:v", "png"], 10, (96, 64)),
    ] as [(String, [String], Int, (Int, Int))])
    func readsAnyRealVideo(_ c: (name: String, args: [String], frames: Int, size: (Int, Int))) throws {
        let dir = try tempDir("rd-var")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/" + c.name
        var args = c.args
        if let i = args.firstIndex(of: "ROTSRC") {
            // A phone's portrait video: pixels stored sideways, a display matrix to turn them.
            args[i] = dir + "/plain.mp4"
            try #require(ffmpegTool(["-f", "lavfi", "-i", "testsrc=size=96x64:rate=10:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", args[i]]), "ffmpeg could not make the plain video")
        }
        try #require(ffmpegTool(args + [input]), "ffmpeg could not make \(c.name)")
        let out = dir + "/o.mp4"
        let s = try redreamJob(input, out, ["flow": .text("dis")]).run(store: syntheticStore, shouldStop: { false })
        #expect(s.framesRendered == c.frames, "\(c.name): \(s.framesRendered) frames")
        #expect(s.width == c.size.0 && s.height == c.size.1, "\(c.name): \(s.width)×\(s.height)")
        let src = try VideoReader(path: input), dst = try VideoReader(path: out)
        var n = 0
        while let a = try src.nextVideoFrame(), let b = try dst.nextVideoFrame() {
            if n == 0 { #expect(b.time == 0) }
            n += 1
            _ = (a, b)
        }
        #expect(n == c.frames)
        if c.name == "vfr.mkv" {
            // The gap after frame 10 survives.
            let times = try VideoReader(path: out).readTimes()
            #expect(abs((times[11] - times[10]) - (1.0 / 30 + 0.2)) < 0.005, "\(times.prefix(13))")
        }
        if c.name == "vp9.webm" { #expect(try MediaInfo(path: out).audio.first?.codec == "opus") }
    }

    @Test func interruptedAndResumedRedreamMatchesAnUninterruptedOne() throws {
        let dir = try tempDir("rd-resume")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/pan.mp4"
        try writePan(input, frames: 14)
        let full = try redreamJob(input, dir + "/full.mp4", ["frames-dir": .text(dir + "/full")]).run(store: syntheticStore, shouldStop: { false })
        #expect(full.framesRendered == 14)
        var count = 0
        #expect(throws: DreamVideoError.self) {
            _ = try redreamJob(input, dir + "/r.mp4", ["frames-dir": .text(dir + "/r")]).run(store: syntheticStore, shouldStop: { count += 1; return count == 6 })
        }
        #expect(try VideoReader(path: dir + "/r.partial.mp4").readAll().count == 6)
        // A resume with another blend is refused, naming it.
        do {
            _ = try redreamJob(input, dir + "/r.mp4", ["blend": .number(0.5)]).run(store: syntheticStore, policy: OutputPolicy(resume: true), shouldStop: { false })
            Issue.record("resumed with other settings")
        } catch { #expect("\(error)".contains("blend was"), "\(error)") }
        let r = try redreamJob(input, dir + "/r.mp4", ["frames-dir": .text(dir + "/r")]).run(store: syntheticStore, policy: OutputPolicy(resume: true), shouldStop: { false })
        #expect(r.framesRendered == 8)
        #expect(try pngs(dir + "/full").count == 14)
        #expect(try samePNGs(pngs(dir + "/full"), pngs(dir + "/r")), "resumed frames are identical")
        #expect(try VideoReader(path: dir + "/r.mp4").readAll().count == 14)
    }

    @Test func sceneCutsStartAfresh() throws {
        let dir = try tempDir("rd-cut")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/cut.mp4"
        let w = try VideoWriter(path: input, width: 96, height: 64, frameRate: FrameRate(30), settings: EncoderSettings(crf: 16, preset: "ultrafast"))
        for i in 0..<10 { try w.write(texture(width: 96, height: 64, shift: (Float(i), 0), seed: i < 5 ? 1 : 99).rgbImage()) }
        try w.finish()
        let s = try redreamJob(input, dir + "/o.mp4", ["frames-dir": .text(dir + "/carried")]).run(store: syntheticStore, shouldStop: { false })
        #expect(s.notes.contains { $0.contains("1 scene cut") }, "\(s.notes)")
        // Each frame dreamed from its own source alone, for comparison.
        _ = try redreamJob(input, dir + "/i.mp4", ["frames-dir": .text(dir + "/alone"), "flow": .text("none"), "blend": .number(0)])
            .run(store: syntheticStore, shouldStop: { false })
        let carried = try pngs(dir + "/carried"), alone = try pngs(dir + "/alone")
        #expect(carried.count == 10 && alone.count == 10)
        #expect(carried["frame_000005.png"] == alone["frame_000005.png"], "the first frame of the new shot is dreamed afresh, from its source alone")
        #expect(carried["frame_000004.png"] != alone["frame_000004.png"], "within a shot the dream is carried")
        #expect(carried["frame_000006.png"] != alone["frame_000006.png"], "and carried again after the cut")
        // A fast pan is motion, not a cut.
        try writePan(dir + "/fast.mp4", frames: 8, speed: 6)
        let pan = try redreamJob(dir + "/fast.mp4", dir + "/p.mp4").run(store: syntheticStore, shouldStop: { false })
        #expect(!pan.notes.contains { $0.contains("scene cut") }, "\(pan.notes)")
    }

    @Test func damagedPacketsAreSkippedAndCounted() throws {
        let dir = try tempDir("rd-dmg")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clean = dir + "/clean.mkv", bad = dir + "/bad.mkv"
        try #require(ffmpegTool(["-f", "lavfi", "-i", "testsrc=size=96x64:rate=10:duration=4", "-c:v", "mpeg4", "-g", "5", clean]), "ffmpeg could not make the clip")
        var data = try Data(contentsOf: URL(fileURLWithPath: clean))
        for i in stride(from: data.count / 2, to: data.count / 2 + 3000, by: 1) { data[i] = UInt8(truncatingIfNeeded: i &* 131) }
        try data.write(to: URL(fileURLWithPath: bad))
        // The damage is real: the ffmpeg program itself decodes fewer than 40 good frames or complains.
        let s = try redreamJob(bad, dir + "/o.mp4").run(store: syntheticStore, shouldStop: { false })
        #expect(s.framesRendered > 20 && s.framesRendered < 40, "\(s.framesRendered) frames of 40, 3000 bytes of which were overwritten")
        #expect(s.notes.contains { $0.contains("damaged") && $0.contains("skipped") }, "\(s.notes)")
        #expect(try VideoReader(path: dir + "/o.mp4").readAll().count == s.framesRendered)
    }
}

extension VideoReader {
    func readTimes() throws -> [Double] {
        var t: [Double] = []
        while let f = try nextVideoFrame() { t.append(f.time) }
        return t
    }
}

@Suite("Re-dream cadence", .serialized)
struct RedreamCadenceTests {
    @Test func framesBetweenCarryBothDreamsAndResumeExactly() throws {
        let dir = try tempDir("rd-cadence")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/pan.mp4"
        try writePan(input, frames: 14)
        let c3: [String: SettingValue] = ["cadence": .number(3)]
        var dreams = 0
        var counting = RenderObserver()
        counting.step = { _ in dreams += 1 }  // once per octave of a dreamed frame (one octave here)
        let full = try redreamJob(input, dir + "/full.mp4", c3.merging(["frames-dir": .text(dir + "/full")]) { _, b in b })
            .run(store: syntheticStore, progress: counting, shouldStop: { false })
        #expect(dreams == 6, "frames 0, 3, 6, 9, 12 and the last, 13, are dreamed: \(dreams)")
        #expect(full.framesRendered == 14)
        // Interrupted in the middle of a group, resumed: the same frames.
        var n = 0
        #expect(throws: DreamVideoError.self) {
            _ = try redreamJob(input, dir + "/r.mp4", c3.merging(["frames-dir": .text(dir + "/r")]) { _, b in b })
                .run(store: syntheticStore, shouldStop: { n += 1; return n == 5 })
        }
        _ = try redreamJob(input, dir + "/r.mp4", c3.merging(["frames-dir": .text(dir + "/r")]) { _, b in b })
            .run(store: syntheticStore, policy: OutputPolicy(resume: true), shouldStop: { false })
        #expect(try pngs(dir + "/full").count == 14)
        #expect(try samePNGs(pngs(dir + "/full"), pngs(dir + "/r")), "resumed frames are identical")
        // Only every third frame is dreamed; the frames keep the source's times.

        let a = try VideoReader(path: dir + "/full.mp4").readTimes(), b = try VideoReader(path: input).readTimes()
        #expect(a.count == 14 && zip(a, b).allSatisfy { abs($0 - ($1 - b[0])) < 0.002 })
        // The frames between carry a dream: they differ from their source as much as dreamed frames do.
        let src = try VideoReader(path: input).readAll()
        let made = try (0..<14).map { try ImageIO.read(dir + "/full" + String(format: "/frame_%06d.png", $0)) }
        let dreamed = [0, 3, 6, 9].map { meanAbsDiff(made[$0], src[$0]) }, between = [1, 2, 4, 5, 7, 8].map { meanAbsDiff(made[$0], src[$0]) }
        let betweenMean: Double = between.reduce(0, +) / 6, dreamedMean: Double = dreamed.reduce(0, +) / 4
        #expect(betweenMean > 0.5 * dreamedMean, "between \(between), dreamed \(dreamed)")
    }
}
