import Foundation
import MediaIO
import Testing

@Suite("Joining segments with audio")
struct AudioJoinTests {
    /// Two segments of 10 frames at 10 fps (2 s in all), written by our writer.
    func segments(_ dir: URL) throws -> [JoinSegment] {
        var out: [JoinSegment] = []
        for s in 0..<2 {
            let path = dir.appendingPathComponent("seg\(s).mp4").path
            let w = try VideoWriter(path: path, width: 64, height: 48, frameRate: FrameRate(10), settings: EncoderSettings(preset: "ultrafast"))
            for i in 0..<10 { try w.write(pattern(width: 64, height: 48, phase: s * 10 + i)) }
            try w.finish()
            out.append(JoinSegment(path: path, offset: Int64(s * 10), timeBase: TimeBase(1, 10)))
        }
        return out
    }

    @Test(arguments: [("aac", "m4a", true), ("pcm_s16le", "mov", false), ("libopus", "webm", true), ("libvorbis", "ogg", false), ("flac", "flac", false)])
    func audioIsCopiedOrReencodedAndCut(_ c: (encoder: String, container: String, copied: Bool)) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("tone.\(c.container)").path
        // 4 s of a 440 Hz tone, made by the ffmpeg program (scripts/test.sh installs it, with every encoder used here).
        try #require(ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4", "-c:a", c.encoder, source]), "ffmpeg could not encode \(c.encoder)")
        let parts = try segments(dir)
        for (start, label) in [(0.0, "from0"), (1.5, "from1.5")] {
            let out = dir.appendingPathComponent("joined-\(label).mp4").path
            let report = try VideoJoiner.join(parts, audio: AudioSource(path: source, start: start, end: start + 2), to: out)
            let info = try MediaInfo(path: out)
            #expect(info.video?.packets == 20)
            #expect(info.audio.count == 1, "\(info.streams)")
            if c.copied { #expect(report.copiedAudio.count == 1 && report.transcodedAudio.isEmpty, "\(report)") }
            else { #expect(report.transcodedAudio.count == 1 && info.audio.first?.codec == "aac", "\(report) \(info.streams)") }
            let v = try #require(info.video?.duration), a = try #require(info.audio.first?.duration)
            #expect(abs(v - 2.0) < 0.01, "video lasts \(v) s")
            #expect(abs(a - v) < 0.1, "\(c.encoder) from \(start) s: audio \(a) s, video \(v) s")
            #expect((info.audio.first?.start ?? 1) < 0.05, "audio starts at \(info.audio.first?.start ?? -1)")
        }
    }

    @Test func aFileWithoutAudioJoinsWithout() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let parts = try segments(dir)
        let out = dir.appendingPathComponent("j.mp4").path
        let report = try VideoJoiner.join(parts, audio: AudioSource(path: parts[0].path), to: out)
        #expect(report.copiedAudio.isEmpty && report.transcodedAudio.isEmpty)
        #expect(try MediaInfo(path: out).streams.count == 1)
    }
}
