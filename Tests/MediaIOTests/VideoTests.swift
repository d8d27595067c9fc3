import Foundation
import MediaIO
import Testing

func meanAbsDiff(_ a: RGBImage, _ b: RGBImage) -> Double {
    Double(zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(a.pixels.count)
}

/// Runs ffprobe (if installed) and returns its output.
func ffprobe(_ args: [String]) -> String? {
    guard let path = ["/usr/bin/ffprobe", "/usr/local/bin/ffprobe"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = ["-v", "error"] + args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    try? p.run()
    let d = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return p.terminationStatus == 0 ? String(decoding: d, as: UTF8.self) : nil
}

@Suite("MP4 writing and reading")
struct VideoTests {
    func encode(_ path: String, frames: Int, width: Int, height: Int, fps: FrameRate, mpeg4: Bool = false) throws -> [RGBImage] {
        let w = try VideoWriter(path: path, width: width, height: height, frameRate: fps,
                                settings: EncoderSettings(crf: 12, preset: "fast", forceMPEG4: mpeg4))
        var written: [RGBImage] = []
        for i in 0..<frames {
            let img = pattern(width: width, height: height, phase: i)
            try w.write(img)
            written.append(img)
        }
        #expect(!FileManager.default.fileExists(atPath: path), "output must not exist before finish()")
        try w.finish()
        return written
    }

    @Test(arguments: [(64, 48, 30, 1, 10), (126, 34, 30000, 1001, 7), (16, 16, 25, 1, 1)])
    func roundTrip(_ c: (Int, Int, Int, Int, Int)) throws {
        let (width, height, num, den, frames) = c
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("v.mp4").path
        let fps = FrameRate(num, den)
        let written = try encode(path, frames: frames, width: width, height: height, fps: fps)
        let r = try VideoReader(path: path)
        #expect(r.size.width == width && r.size.height == height)
        #expect(r.frameRate.num * den == num * r.frameRate.den, "fps \(r.frameRate)")
        let decoded = try r.readAll()
        #expect(decoded.count == frames)
        let expected = Double(frames) * Double(den) / Double(num)
        #expect(abs((r.duration ?? 0) - expected) < 0.5 / fps.value + 1e-3, "duration \(r.duration ?? -1) vs \(expected)")
        for (a, b) in zip(decoded, written) { #expect(meanAbsDiff(a, b) < 6, "codec error \(meanAbsDiff(a, b))") }
        // The ffprobe program (scripts/test.sh installs it) reads our file as we meant it.
        let out = try #require(ffprobe(["-count_frames", "-select_streams", "v:0", "-show_entries", "stream=codec_name,nb_read_frames,width,height,pix_fmt",
                                        "-of", "default=noprint_wrappers=1", path]), "ffprobe is missing or refused \(path)")
        #expect(out.contains("nb_read_frames=\(frames)"))
        #expect(out.contains("pix_fmt=yuv420p"))
        #expect(out.contains("codec_name=\(Media.hasH264Encoder ? "h264" : "mpeg4")"))
        // faststart: the index (moov) comes before the media data (mdat).
        let head = try Data(contentsOf: URL(fileURLWithPath: path))
        let moov = head.range(of: Data("moov".utf8))!.lowerBound, mdat = head.range(of: Data("mdat".utf8))!.lowerBound
        #expect(moov < mdat)
    }

    /// HEVC Main 10: decodes to the frames written, tagged hvc1, and segments join by stream copy keeping the tag.
    @Test func tenBitHEVCRoundTripsAndJoins() throws {
        try #require(Media.hasHEVCEncoder, "this FFmpeg has no libx265")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func encodeHEVC(_ path: String, frames: Int, phase: Int) throws -> [RGBImage] {
            let w = try VideoWriter(path: path, width: 64, height: 48, frameRate: FrameRate(25),
                                    settings: EncoderSettings(crf: 12, preset: "fast", codec: .h265_10bit))
            #expect(w.codecName == "hevc")
            let images = (0..<frames).map { pattern(width: 64, height: 48, phase: phase + $0) }
            for img in images { try w.write(img) }
            try w.finish()
            return images
        }
        let a = dir.appendingPathComponent("a.mp4").path, b = dir.appendingPathComponent("b.mp4").path
        let written = try encodeHEVC(a, frames: 6, phase: 0) + encodeHEVC(b, frames: 4, phase: 6)
        let joined = dir.appendingPathComponent("j.mp4").path
        try VideoJoiner.join([a, b], to: joined)
        let decoded = try VideoReader(path: joined).readAll()
        #expect(decoded.count == 10)
        #expect(try VideoReader(path: a).readAll() + VideoReader(path: b).readAll() == decoded, "stream copy decodes to the segments' frames")
        for (x, y) in zip(decoded, written) { #expect(meanAbsDiff(x, y) < 6, "codec error \(meanAbsDiff(x, y))") }
        for path in [a, joined] {
            let out = try #require(ffprobe(["-select_streams", "v:0", "-show_entries", "stream=codec_name,pix_fmt,codec_tag_string,has_b_frames",
                                            "-of", "default=noprint_wrappers=1", path]))
            #expect(out.contains("codec_name=hevc") && out.contains("pix_fmt=yuv420p10le"), "\(out)")
            #expect(out.contains("codec_tag_string=hvc1") && out.contains("has_b_frames=0"), "\(out)")
        }
        // MPEG-4 part 2 and HEVC at once is refused, and nothing is left behind.
        let both = dir.appendingPathComponent("both.mp4").path
        #expect(throws: MediaError.self) {
            try VideoWriter(path: both, width: 64, height: 48, frameRate: FrameRate(25), settings: EncoderSettings(forceMPEG4: true, codec: .h265_10bit))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["a.mp4", "b.mp4", "j.mp4"])
    }

    @Test func mpeg4FallbackDecodes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.mp4").path
        let written = try encode(path, frames: 5, width: 48, height: 32, fps: FrameRate(24), mpeg4: true)
        let r = try VideoReader(path: path)
        #expect(r.codecName == "mpeg4")
        let d = try r.readAll()
        #expect(d.count == 5)
        #expect(meanAbsDiff(d[4], written[4]) < 12)
    }

    @Test func segmentsJoinLosslessly() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.mp4").path, b = dir.appendingPathComponent("b.mp4").path
        let joined = dir.appendingPathComponent("j.mp4").path
        _ = try encode(a, frames: 6, width: 64, height: 48, fps: FrameRate(30000, 1001))
        _ = try encode(b, frames: 4, width: 64, height: 48, fps: FrameRate(30000, 1001))
        try VideoJoiner.join([a, b], to: joined)
        let da = try VideoReader(path: a).readAll(), db = try VideoReader(path: b).readAll()
        let r = try VideoReader(path: joined)
        var times: [Double] = []
        var frames: [RGBImage] = []
        while let f = try r.nextFrame() { frames.append(f.image); times.append(f.time ?? -1) }
        #expect(frames.count == 10)
        #expect(frames == da + db, "stream copy must decode to exactly the segments' frames")
        #expect(zip(times, times.dropFirst()).allSatisfy { $1 > $0 }, "timestamps \(times)")
        #expect(abs((r.duration ?? 0) - 10 * 1001 / 30000) < 0.02)
        // Mismatched segments are refused with the file named.
        let c = dir.appendingPathComponent("c.mp4").path
        _ = try encode(c, frames: 2, width: 32, height: 32, fps: FrameRate(30))
        #expect(throws: MediaError.self) { try VideoJoiner.join([a, c], to: dir.appendingPathComponent("bad.mp4").path) }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad.mp4").path))
    }

    @Test func badSizesAndAbandonedWritesLeaveNothing() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("odd.mp4").path
        #expect(throws: MediaError.self) { try VideoWriter(path: path, width: 63, height: 48, frameRate: FrameRate(30)) }
        #expect(throws: MediaError.self) { try VideoWriter(path: path, width: 64, height: 48, frameRate: FrameRate(0)) }
        #expect(throws: MediaError.self) { try VideoWriter(path: dir.appendingPathComponent("no/x.mp4").path, width: 64, height: 48, frameRate: FrameRate(30)) }
        do {
            let w = try VideoWriter(path: path, width: 64, height: 48, frameRate: FrameRate(30))
            try w.write(pattern(width: 64, height: 48))
            #expect(throws: MediaError.self) { try w.write(pattern(width: 32, height: 48)) }
        }
        // The writer was dropped without finish(): no output, no temporary file.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func brokenVideosFailCleanly() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("v.mp4").path
        _ = try encode(path, frames: 20, width: 64, height: 48, fps: FrameRate(30))
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        // Truncated: header intact, media cut short. Either a clean error or fewer frames — never a crash.
        let cut = dir.appendingPathComponent("cut.mp4").path
        try data.prefix(data.count * 2 / 3).write(to: URL(fileURLWithPath: cut))
        do {
            let frames = try VideoReader(path: cut).readAll()
            #expect(frames.count < 20)
        } catch { #expect("\(error)".hasPrefix(cut)) }
        // Garbage in the middle of the stream.
        var garbled = data
        for i in stride(from: data.count / 2, to: min(data.count, data.count / 2 + 2000), by: 1) { garbled[i] = UInt8(truncatingIfNeeded: i &* 7) }
        let g = dir.appendingPathComponent("garbled.mp4").path
        try garbled.write(to: URL(fileURLWithPath: g))
        do { _ = try VideoReader(path: g).readAll() } catch { #expect("\(error)".hasPrefix(g)) }
        // Only the header.
        let h = dir.appendingPathComponent("head.mp4").path
        try data.prefix(64).write(to: URL(fileURLWithPath: h))
        #expect(throws: MediaError.self) { try VideoReader(path: h).readAll() }
    }

    @Test func frameRateParsing() throws {
        #expect(try FrameRate(parsing: "30") == FrameRate(30))
        #expect(try FrameRate(parsing: "30000/1001") == FrameRate(30000, 1001))
        #expect(try FrameRate(parsing: "29.97") == FrameRate(30000, 1001), "NTSC rates are read as what they stand for")
        #expect(try FrameRate(parsing: "23.976") == FrameRate(24000, 1001))
        #expect(try FrameRate(parsing: "12.5") == FrameRate(25, 2))
        #expect(try FrameRate(parsing: "29.97").decimal == "29.97")
        for bad in ["0", "-5", "abc", "30/0", "1000", "nan", "inf", "1e40", "-1e40", "99999999999999999999", "1/0", "", "0.0000001"] {
            #expect(throws: MediaError.self) { try FrameRate(parsing: bad) }
        }
    }
}

/// Runs the ffmpeg program (if installed) to make test files our own writer cannot (rotation metadata).
func ffmpeg(_ args: [String]) -> Bool {
    guard let path = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return false }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = ["-v", "error", "-y"] + args
    p.standardError = FileHandle.nullDevice
    p.standardOutput = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}

@Suite("Rotation metadata")
struct RotationTests {
    @Test(arguments: [90, 180, 270])
    func phoneVideosComeOutUpright(_ degrees: Int) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = dir.appendingPathComponent("plain.mp4").path, rotated = dir.appendingPathComponent("rot.mp4").path
        let upright = dir.appendingPathComponent("upright.png").path
        _ = try VideoTests().encode(plain, frames: 2, width: 64, height: 48, fps: FrameRate(10))
        // Tag the stream as a phone would (stream copy keeps the pixels, adds a display matrix), and let
        // the ffmpeg program, which auto-rotates, show what upright means.
        let plainPNG = dir.appendingPathComponent("plain.png").path
        try #require(ffmpeg(["-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=\(degrees)", rotated]) &&
                     ffmpeg(["-i", rotated, "-frames:v", "1", upright]) &&
                     ffmpeg(["-i", plain, "-frames:v", "1", plainPNG]), "the ffmpeg program (scripts/test.sh installs it) failed")
        // ffmpeg converts YUV to RGB a little differently from us: measure that on the unrotated file.
        let baseline = meanAbsDiff(try #require(try VideoReader(path: plain).nextFrame()).image, try ImageIO.read(plainPNG))
        let frame = try #require(try VideoReader(path: rotated).nextFrame()).image
        let reference = try ImageIO.read(upright)
        #expect(frame.width == reference.width && frame.height == reference.height, "\(frame.width)×\(frame.height)")
        #expect(degrees == 180 ? frame.width == 64 : frame.width == 48)
        let d = meanAbsDiff(frame, reference)
        #expect(d < baseline + 1, "differs from ffmpeg's upright frame by \(d) (conversion alone: \(baseline))")
        // The wrong way round would differ a lot more.
        if degrees != 180 {
            #expect(meanAbsDiff(frame.rotated(clockwiseQuarterTurns: 2), reference) > baseline + 10)
        }
    }
}
