import DreamVideo
import Foundation
import MediaIO
import Testing

/// Sounds made in the test with FFmpeg's generators.
enum Sounds {
    /// Clicks (4 ms of 2 kHz) every 60/bpm seconds from `first` on.
    static func clicks(_ path: String, bpm: Double, seconds: Double, first: Double = 0.25) -> Bool {
        let period = 60 / bpm
        return ffmpegTool(["-f", "lavfi", "-i", "aevalsrc='if(gte(t\\,\(first))*lt(mod(t-\(first)\\,\(period))\\,0.004)\\,0.9*sin(2*PI*2000*t)\\,0)':s=44100:d=\(seconds)", path])
    }
    /// A sine sweeping exponentially from 50 Hz to 8 kHz.
    static func sweep(_ path: String, seconds: Double) -> Bool {
        ffmpegTool(["-f", "lavfi", "-i", "aevalsrc='0.5*sin(2*PI*50*(exp(t*log(160)/\(seconds))-1)*\(seconds)/log(160))':s=44100:d=\(seconds)", path])
    }
}

@Suite("Soundtracks and their envelopes")
struct AudioEnvelopeTests {
    /// A click track: a beat within one frame of every click, the tempo within 1 %, at two tempos.
    @Test(arguments: [(120.0, 30.0), (90.0, 25.0)])
    func clickTracksGiveTheirBeatsAndTempo(_ c: (bpm: Double, fps: Double)) throws {
        let dir = try tempDir("clicks")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #require(Sounds.clicks(dir + "/c.wav", bpm: c.bpm, seconds: 10), "ffmpeg could not make the click track")
        let e = try AudioEnvelopes.analyze(dir + "/c.wav", fps: c.fps)
        #expect(abs(e.tempo - c.bpm) / c.bpm < 0.01, "tempo \(e.tempo) for \(c.bpm) BPM")
        #expect(e.frameCount == Int(10 * c.fps), "\(e.frameCount) frames")
        let clicks = stride(from: 0.25, to: 10, by: 60 / c.bpm).map { $0 }
        for click in clicks {
            let nearest = e.beats.map { abs($0 - click) }.min() ?? .infinity
            #expect(nearest <= 1 / c.fps, "click at \(click) s: nearest beat \(nearest) s away")
        }
        #expect(e.beats.count <= clicks.count + 1, "\(e.beats.count) beats for \(clicks.count) clicks")
        // The `beat` envelope: 1 on the frame of a click, falling to 0 before the next.
        let f = Int((clicks[4] * c.fps).rounded())
        #expect(e.values(at: Double(f)).beat == 1)
        #expect(e.values(at: Double(f + Int(60 / c.bpm * c.fps) - 1)).beat < 0.2)
        // Onsets peak on the clicks and are quiet between them.
        #expect([f - 1, f, f + 1].contains { e.values(at: Double($0)).onset > 0.5 }, "onsets within a frame of the click")
        #expect(e.values(at: Double(f + Int(60 / c.bpm * c.fps / 2))).onset < 0.05)
    }

    /// A sine sweep from 50 Hz to 8 kHz: bass, then mid, then treble.
    @Test func aSweepMovesFromBassToTreble() throws {
        let dir = try tempDir("sweep")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #require(Sounds.sweep(dir + "/s.wav", seconds: 6), "ffmpeg could not make the sweep")
        let e = try AudioEnvelopes.analyze(dir + "/s.wav", fps: 10)
        func peak(_ v: [Double]) -> Int { v.indices.max { v[$0] < v[$1] }! }
        #expect(peak(e.bass) < peak(e.mid) && peak(e.mid) < peak(e.treble), "peaks at frames \(peak(e.bass)), \(peak(e.mid)), \(peak(e.treble))")
        // 50·160^(t/6) Hz: 250 Hz at 1.9 s, 2 kHz at 4.4 s, 8 kHz at 6 s.
        let early = e.values(at: 5), middle = e.values(at: 30), late = e.values(at: 55)
        #expect(early.bass > 0.5 && early.mid < 0.1 && early.treble < 0.1, "\(early)")
        #expect(middle.mid > 0.5 && middle.bass < 0.1 && middle.treble < 0.1, "\(middle)")
        #expect(late.treble > 0.5 && late.bass < 0.1, "\(late)")
        // No pulse in a sweep: no beats, and the render says so.
        #expect(e.tempo == 0 && e.beats.isEmpty && e.beat.allSatisfy { $0 == 0 }, "tempo \(e.tempo), \(e.beats.count) beats")
        #expect(e.notes(for: "s.wav") == ["note: s.wav: no steady beat found; 'beat' stays 0"])
        // A steady tone is steady loudness.
        #expect(e.loudness[10..<50].allSatisfy { $0 > 0.8 }, "\(e.loudness[10..<50])")
    }

    /// A real song: the Frozen-Bubble theme from Debian's fb-music-high, a tracker module (207 s). Its own pattern
    /// data give the truth: a 64-row pattern (tracker BPM 182, 2 and 3 ticks a row) lasts 1.7995 s, four beats of
    /// 16 rows, so 133.4 BPM. Two 20 s excerpts; a tempo an octave off (half or double) counts, the beats must be
    /// evenly spaced at the found period.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/games/frozen-bubble/snd/frozen-mainzik-2p.xm"),
                   "needs Debian's fb-music-high (scripts/test.sh installs it)"),
          arguments: [0.0, 11.0])
    func aRealSongHasItsTempoAndBeats(_ from: Double) throws {
        let dir = try tempDir("song")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #require(ffmpegTool(["-ss", "\(from)", "-t", "20", "-i", "/usr/share/games/frozen-bubble/snd/frozen-mainzik-2p.xm", "-c:a", "libvorbis", dir + "/song.ogg"]))
        let e = try AudioEnvelopes.analyze(dir + "/song.ogg", fps: 30)
        let truth = 60 / (1.7995 / 4)
        #expect([0.5, 1, 2].contains { abs(e.tempo / truth - $0) < 0.02 * $0 }, "tempo \(e.tempo), the module says \(truth)")
        let gaps = zip(e.beats.dropFirst(), e.beats).map { $0 - $1 }
        let expected = 60 / e.tempo
        #expect(gaps.filter { abs($0 - expected) < 0.05 }.count >= gaps.count * 9 / 10, "\(gaps)")
        #expect(abs(Double(e.beats.count) - 20 / expected) <= 3, "\(e.beats.count) beats in 20 s")
    }

    @Test func badSoundtracksAreOneLine() throws {
        let dir = try tempDir("badaudio")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "not a song".write(toFile: dir + "/song.mp3", atomically: true, encoding: .utf8)
        try #require(ffmpegTool(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1", "-c:v", "mpeg4", dir + "/silent.mp4"]))
        for (file, fragment) in [(dir + "/missing.mp3", "no such file"), (dir + "/song.mp3", "song.mp3"), (dir + "/silent.mp4", "has no audio stream"),
                                 (dir, "song")] {
            do {
                _ = try AudioEnvelopes.analyze(file, fps: 30)
                Issue.record("\(file) was accepted")
            } catch {
                #expect("\(error)".contains(file) && ("\(error)".contains(fragment) || file == dir), "\(error)")
            }
        }
        // A silent song is usable and says so; formulas get 0.
        try #require(ffmpegTool(["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "3", "-c:a", "pcm_s16le", dir + "/silent.wav"]))
        let quiet = try AudioEnvelopes.analyze(dir + "/silent.wav", fps: 10)
        #expect(quiet.frameCount == 30 && quiet.loudness.allSatisfy { $0 == 0 } && quiet.beats.isEmpty)
        #expect(quiet.notes(for: "silent.wav") == ["note: silent.wav is silent: every envelope is 0"])
        // NaN samples (a float WAV written by hand): refused before anything renders.
        var wav = Data("RIFF".utf8) + le32(36 + 16) + Data("WAVEfmt ".utf8) + le32(16) + le16(3) + le16(1) + le32(8000) + le32(32000) + le16(4) + le16(32)
        wav += Data("data".utf8) + le32(16)
        for x: Float in [0.1, .nan, 0.2, .infinity] { wav += le32(x.bitPattern) }
        try wav.write(to: URL(fileURLWithPath: dir + "/nan.wav"))
        #expect(throws: DreamVideoError.self) { try AudioEnvelopes.analyze(dir + "/nan.wav", fps: 10) }
        for fps in [0.0, -1, .nan, .infinity, 1e40] {
            #expect(throws: DreamVideoError.self) { try AudioEnvelopes.analyze(dir + "/song.mp3", fps: fps) }
        }
    }
}

@Suite("Audio-reactive zooms", .serialized)
struct AudioReactiveZoomTests {
    func job(_ dir: String, _ name: String, _ extra: [String: SettingValue]) throws -> ZoomJob {
        var values: [String: SettingValue] = [
            "model": .text("googlenet"), "layer": .list([.text("inception3a")]), "iterations": .number(1), "octaves": .number(1),
            "step": .number(2), "fps": .text("10"), "size": .text("96x64"), "seed": .text("7"), "encoder-preset": .text("ultrafast"),
            "checkpoint-every": .number(4), "audio": .text(dir + "/clicks.wav"),
        ]
        values.merge(extra) { _, new in new }
        return try ZoomJob.resolve(input: "noise", output: dir + "/" + name + ".mp4", sources: [.api(values)])
    }

    /// The song sets the length, its envelopes drive the zoom frame by frame, and the MP4 carries it — in the
    /// partial file of an interrupted render too, and whole after a resume.
    @Test func theSoundtrackSetsTheLengthDrivesTheZoomAndIsInTheVideo() throws {
        let dir = try tempDir("beatzoom")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #require(Sounds.clicks(dir + "/clicks.wav", bpm: 120, seconds: 3))
        let j = try job(dir, "z", ["zoom": .text("1 + 0.05*beat")])
        #expect(j.settings.frameCount == 30, "3 s at 10 fps")
        let e = try AudioEnvelopes.analyze(dir + "/clicks.wav", fps: 10)
        for i in 0..<30 {
            let z = j.settings.frameSettings(at: i).transform.zoom
            #expect(abs(Double(z) - (1 + 0.05 * e.beat[i])) < 1e-5, "frame \(i): zoom \(z), beat \(e.beat[i])")
        }
        #expect(e.beat.filter { $0 == 1 }.count >= 5, "the zoom pulses on the beats: \(e.beat)")
        // With --loop the picture follows the sound the video plays: rendered frame c is shown at video frame c − 4,
        // and the first four (faded into the end) at 30 − 4 + c.
        let looped = try job(dir, "lp", ["zoom": .text("1 + 0.05*beat"), "loop": .number(4)])
        for c in 0..<34 {
            let shownAt = c >= 4 ? c - 4 : 26 + c
            let z = looped.settings.frameSettings(at: c).transform.zoom
            #expect(abs(Double(z) - (1 + 0.05 * e.beat[shownAt])) < 1e-5, "rendered frame \(c): zoom \(z), beat at video frame \(shownAt) \(e.beat[shownAt])")
        }
        // --duration still wins over the song's length.
        #expect(try job(dir, "d", ["duration": .number(1.5)]).settings.frameCount == 15)

        var count = 0
        #expect(throws: DreamVideoError.self) { try j.run(store: syntheticStore, shouldStop: { count += 1; return count == 13 }) }
        let partial = try MediaInfo(path: dir + "/z.partial.mp4")
        #expect(partial.audio.count == 1 && abs((partial.audio.first?.duration ?? 0) - (partial.video?.duration ?? 0)) < 0.1,
                "the partial file plays its 13 frames with their sound: \(partial.streams)")
        _ = try j.run(store: syntheticStore, policy: OutputPolicy(resume: true), shouldStop: { false })
        let info = try MediaInfo(path: dir + "/z.mp4")
        #expect(info.audio.count == 1 && info.audio.first?.codec == "aac", "\(info.streams)")
        #expect(abs((info.audio.first?.duration ?? 0) - 3) < 0.05 && abs((info.video?.duration ?? 0) - 3) < 0.001, "\(info.streams)")
        // One piece of audio, not one a segment: as many samples as 3 s holds (AAC frames of 1024).
        #expect(abs(Double(info.audio.first?.packets ?? 0) - 3 * 44100 / 1024) <= 2, "\(info.audio.first?.packets ?? 0) audio packets")

        // Killed while joining, after every frame was made: the resume joins again, with the song and the track.
        var n = 0
        let song = dir + "/clicks.wav"
        try FileManager.default.copyItem(atPath: song, toPath: dir + "/kept.wav")
        #expect(throws: (any Error).self) {
            try job(dir, "k", ["checkpoint-every": .number(10)]).run(store: syntheticStore, shouldStop: {
                n += 1
                if n == 30 { try? FileManager.default.removeItem(atPath: song) }  // the join cannot read it
                return false
            })
        }
        try FileManager.default.moveItem(atPath: dir + "/kept.wav", toPath: song)
        let again = try job(dir, "k", ["checkpoint-every": .number(10)]).run(store: syntheticStore, policy: OutputPolicy(resume: true), shouldStop: { false })
        #expect(again.framesRendered == 0, "nothing left to render")
        let k = try MediaInfo(path: dir + "/k.mp4")
        let track = try ParameterTrack.read(dir + "/k.mp4")
        #expect(k.audio.count == 1 && track.count == 30, "\(k.streams), \(track.count) lines")
    }

    @Test func formulasThatListenNeedASoundtrack() throws {
        let dir = try tempDir("nosong")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #require(Sounds.clicks(dir + "/clicks.wav", bpm: 120, seconds: 3))
        do {
            var values: [String: SettingValue] = ["model": .text("googlenet"), "layer": .list([.text("inception3a")]), "size": .text("96x64"),
                                                  "frames": .number(5), "step": .text("1 + bass")]
            values["fps"] = .text("10")
            _ = try ZoomJob.resolve(input: "noise", output: dir + "/n.mp4", sources: [.api(values)])
            Issue.record("a formula using bass was accepted without a soundtrack")
        } catch let e as SettingError {
            #expect("\(e)".contains("'bass'") && "\(e)".contains("--audio"), "\(e)")
        }
        do {
            _ = try job(dir, "m", ["audio": .text(dir + "/missing.wav")])
            Issue.record("a missing soundtrack was accepted")
        } catch let e as SettingError {
            #expect("\(e)".contains("missing.wav") && "\(e)".contains("no such file"), "\(e)")
        }
        // A formula's value out of range at a beat is found before the render, naming the frame.
        do {
            _ = try job(dir, "r", ["zoom": .text("1 + 20*beat")])
            Issue.record("a zoom of 21 on the beat was accepted")
        } catch let e as SettingError {
            #expect("\(e)".contains("at frame"), "\(e)")
        }
    }
}

func le32(_ v: UInt32) -> Data { withUnsafeBytes(of: v.littleEndian) { Data($0) } }
func le32(_ v: Int) -> Data { le32(UInt32(v)) }
func le16(_ v: Int) -> Data { withUnsafeBytes(of: UInt16(v).littleEndian) { Data($0) } }
