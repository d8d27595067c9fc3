import DreamEngine
import Foundation
import MediaIO

/// What the soundtrack does at one video frame, each 0…1 over the song (for formulas in schedules).
public struct AudioValues: Sendable, Equatable {
    /// Loudness: RMS of the frame's samples over the song's loudest.
    public var loudness: Double
    /// Onset strength: spectral flux (how much new sound starts), over the song's strongest.
    public var onset: Double
    /// 1 at a tracked beat, falling linearly to 0 just before the next.
    public var beat: Double
    /// Band energies (amplitude): below 250 Hz, 250–2000 Hz, 2–8 kHz, each over its own peak.
    public var bass: Double
    public var mid: Double
    public var treble: Double
}

/// Envelopes of a soundtrack, one value per video frame: loudness, onsets, beats, bass, mid and treble.
///
/// How: the audio, mono at 22 050 Hz, is cut into 1024-sample Hann windows every 256 samples (86 a second).
/// Each window gives its RMS, its band energies and its spectral flux (the summed rise of log-magnitudes
/// since the window before). The tempo is the lag with the strongest autocorrelation of the onset envelope
/// between 60 and 200 BPM, weighted towards 120 BPM (one octave either side halves the weight); the beats
/// are the best path of onsets spaced by about one period (Ellis's dynamic programming, 2007). Frame values
/// are the means (the flux: the maximum) of the windows within the frame's time.
public final class AudioEnvelopes: Sendable {
    public let fps: Double
    /// Length of the audio in seconds.
    public let duration: Double
    /// Estimated tempo in beats per minute (0: no beat found).
    public let tempo: Double
    /// Tracked beat times in seconds.
    public let beats: [Double]
    public let loudness: [Double], onset: [Double], beat: [Double], bass: [Double], mid: [Double], treble: [Double]
    /// Frames of video the audio lasts (at `fps`, rounded up).
    public var frameCount: Int { loudness.count }
    /// Damaged audio packets skipped while decoding.
    public let skippedPackets: Int
    /// What a user should know about this soundtrack (silent, no beat, damaged), one line each.
    public func notes(for path: String) -> [String] {
        var out: [String] = []
        if loudness.allSatisfy({ $0 == 0 }) { out.append("note: \(path) is silent: every envelope is 0") }
        else if beats.isEmpty { out.append("note: \(path): no steady beat found; 'beat' stays 0") }
        if skippedPackets > 0 { out.append("note: \(path): \(skippedPackets) damaged audio packets skipped") }
        return out
    }

    public static let sampleRate = 22_050
    static let window = 1024, hop = 256
    /// Longer audio is refused (the envelopes of a 2-hour song take about 10 MB; decoding is streamed).
    public static let maxSeconds = 7200.0

    init(fps: Double, duration: Double, tempo: Double, beats: [Double], loudness: [Double], onset: [Double], beat: [Double],
         bass: [Double], mid: [Double], treble: [Double], skippedPackets: Int = 0) {
        self.fps = fps; self.duration = duration; self.tempo = tempo; self.beats = beats; self.skippedPackets = skippedPackets
        self.loudness = loudness; self.onset = onset; self.beat = beat; self.bass = bass; self.mid = mid; self.treble = treble
    }

    /// The values at frame `f` (a fractional frame takes the frame it falls in; after the song, silence).
    public func values(at f: Double) -> AudioValues {
        let i = f.isFinite ? max(0, Int(min(f, 1e12).rounded(.down))) : 0
        guard i < loudness.count else { return AudioValues(loudness: 0, onset: 0, beat: 0, bass: 0, mid: 0, treble: 0) }
        return AudioValues(loudness: loudness[i], onset: onset[i], beat: beat[i], bass: bass[i], mid: mid[i], treble: treble[i])
    }

    /// The envelopes by *rendered* frame of a zoom with `--loop n` and `frames` video frames: rendered frame c is
    /// shown at video frame c − n, and the first n (faded into the video's last n frames) at frames − n + c, so the
    /// picture follows the sound the video plays.
    public func looped(_ n: Int, videoFrames frames: Int) -> AudioEnvelopes {
        guard n > 0 else { return self }
        func map(_ v: [Double]) -> [Double] {
            (0..<(frames + n)).map { c in
                let i = c >= n ? c - n : frames - n + c
                return i >= 0 && i < v.count ? v[i] : 0
            }
        }
        return AudioEnvelopes(fps: fps, duration: duration, tempo: tempo, beats: beats, loudness: map(loudness), onset: map(onset),
                              beat: map(beat), bass: map(bass), mid: map(mid), treble: map(treble), skippedPackets: skippedPackets)
    }

    // MARK: analysis

    /// Analyses the audio of `path` for a video at `fps` frames per second.
    public static func analyze(_ path: String, fps: Double) throws -> AudioEnvelopes {
        guard fps.isFinite, fps > 0, fps <= 1000 else { throw DreamVideoError.invalidArgument("\(path): frame rate \(fps) is not usable") }
        // A regular file: a pipe or a device could keep the decoder waiting for ever.
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFREG else {
                throw DreamVideoError.invalidArgument("\(path): \((st.st_mode & S_IFMT) == S_IFDIR ? "is a folder" : "is not a regular file"), not a sound file")
            }
        }
        let a = Analyzer()
        let info: AudioDecoder.Info
        do {
            info = try AudioDecoder.decodeMono(path, sampleRate: sampleRate, maxSeconds: maxSeconds + 1, refuseAfter: maxSeconds + 1) { a.feed($0) }
        } catch MediaError.notMedia(let p, let reason) {
            throw DreamVideoError.invalidArgument("\(p): not a sound file this build can read (\(reason))")
        } catch let e as MediaError {
            throw DreamVideoError.invalidArgument("\(e)")
        }
        guard !a.nonFinite else {
            throw DreamVideoError.invalidArgument("\(path): holds samples that are not finite numbers (NaN or infinity); not a usable sound file")
        }
        guard info.duration <= maxSeconds else {
            throw DreamVideoError.invalidArgument("\(path): the audio is longer than \(Int(maxSeconds / 60)) minutes; cut it first")
        }
        a.finish()
        return a.envelopes(fps: fps, duration: info.duration, skipped: info.skippedPackets)
    }

    /// The streaming part: windows, spectra, flux and band energies.
    final class Analyzer {
        var buffer: [Float] = []
        /// Whether a sample was NaN or infinite (such a file is refused).
        var nonFinite = false
        var rms: [Double] = [], flux: [Double] = [], bands: [[Double]] = [[], [], []]
        private var lastLog: [Double]? = nil
        private let hann: [Double] = (0..<AudioEnvelopes.window).map { 0.5 - 0.5 * cos(2 * .pi * Double($0) / Double(AudioEnvelopes.window)) }
        private var re = [Double](repeating: 0, count: AudioEnvelopes.window), im = [Double](repeating: 0, count: AudioEnvelopes.window)
        private var start = 0

        func feed(_ samples: [Float]) {
            if !nonFinite && samples.contains(where: { !$0.isFinite }) { nonFinite = true }
            buffer.append(contentsOf: samples.map { $0.isFinite ? $0 : 0 })
            let w = AudioEnvelopes.window, h = AudioEnvelopes.hop
            while buffer.count - start >= w {
                analyseWindow(at: start)
                start += h
            }
            if start > 1 << 16 { buffer.removeFirst(start); start = 0 }
        }

        /// The last part-filled window (padded with silence), so short sounds still give a frame.
        func finish() {
            if buffer.count - start > 0 || rms.isEmpty {
                buffer.append(contentsOf: [Float](repeating: 0, count: AudioEnvelopes.window))
                analyseWindow(at: start)
            }
        }

        private func analyseWindow(at s: Int) {
            let w = AudioEnvelopes.window
            var sum = 0.0
            for i in 0..<w {
                let x = Double(buffer[s + i])
                sum += x * x
                re[i] = x * hann[i]
                im[i] = 0
            }
            rms.append((sum / Double(w)).squareRoot())
            FFT.transform(&re, &im)
            let binHz = Double(AudioEnvelopes.sampleRate) / Double(w)
            var logs = [Double](repeating: 0, count: w / 2 + 1)
            var band = [0.0, 0.0, 0.0]
            for k in 0...(w / 2) {
                let p = re[k] * re[k] + im[k] * im[k]
                logs[k] = log(1 + 100 * p.squareRoot())
                let hz = Double(k) * binHz
                if hz >= 20 && hz < 250 { band[0] += p } else if hz >= 250 && hz < 2000 { band[1] += p } else if hz >= 2000 && hz < 8000 { band[2] += p }
            }
            for b in 0..<3 { bands[b].append(band[b].squareRoot()) }
            if let last = lastLog {
                var f = 0.0
                for k in 0..<logs.count { f += max(0, logs[k] - last[k]) }
                flux.append(f)
            } else {
                flux.append(0)
            }
            lastLog = logs
        }

        /// Analysis frame k stands for this time (s): the flux of a sound starting at time c peaks when it has
        /// come a quarter of the way into the window, i.e. around the window's start + 3/4 of its length.
        func time(_ k: Int) -> Double {
            Double(k * AudioEnvelopes.hop + 3 * AudioEnvelopes.window / 4) / Double(AudioEnvelopes.sampleRate)
        }

        func envelopes(fps: Double, duration: Double, skipped: Int = 0) -> AudioEnvelopes {
            let rate = Double(AudioEnvelopes.sampleRate) / Double(AudioEnvelopes.hop)
            let frames = max(1, Int((duration * fps - 1e-9).rounded(.up)))
            // Frame values: means (flux: maxima) of the windows within each frame's time.
            func perFrame(_ v: [Double], peak: Bool) -> [Double] {
                var out = [Double](repeating: 0, count: frames)
                var counts = [Int](repeating: 0, count: frames)
                for k in 0..<v.count {
                    let i = Int((time(k) * fps).rounded(.down))
                    guard i >= 0 && i < frames else { continue }
                    out[i] = peak ? max(out[i], v[k]) : out[i] + v[k]
                    counts[i] += 1
                }
                for i in 0..<frames {
                    if counts[i] == 0 {
                        // A frame shorter than a window step: the nearest window.
                        let k = min(v.count - 1, max(0, Int(((Double(i) + 0.5) / fps * rate - 3.0 * Double(AudioEnvelopes.window) / 4 / Double(AudioEnvelopes.hop)).rounded())))
                        out[i] = v.isEmpty ? 0 : v[k]
                    } else if !peak {
                        out[i] /= Double(counts[i])
                    }
                }
                let top = out.max() ?? 0
                return top > 0 ? out.map { min(1, $0 / top) } : out
            }
            let (tempo, beatTimes) = AudioEnvelopes.trackBeats(flux, rate: rate, time: time)
            var beat = [Double](repeating: 0, count: frames)
            let beatFrames = Array(Set(beatTimes.map { Int(($0 * fps).rounded()) }.filter { $0 >= 0 && $0 < frames })).sorted()
            for (j, b) in beatFrames.enumerated() {
                let next = j + 1 < beatFrames.count ? beatFrames[j + 1] : min(frames, b + max(1, Int((60 / max(tempo, 1) * fps).rounded())))
                for i in b..<min(frames, max(next, b + 1)) { beat[i] = 1 - Double(i - b) / Double(max(1, next - b)) }
            }
            return AudioEnvelopes(fps: fps, duration: duration, tempo: tempo, beats: beatTimes,
                                  loudness: perFrame(rms, peak: false), onset: perFrame(flux, peak: true), beat: beat,
                                  bass: perFrame(bands[0], peak: false), mid: perFrame(bands[1], peak: false), treble: perFrame(bands[2], peak: false),
                                  skippedPackets: skipped)
        }
    }

    /// Tempo (BPM) and beat times from an onset envelope sampled at `rate` per second.
    static func trackBeats(_ flux: [Double], rate: Double, time: (Int) -> Double) -> (Double, [Double]) {
        let n = flux.count
        guard n > Int(rate * 2) else { return (0, []) }
        // The onset envelope without its slow trend, half-wave rectified, unit spread.
        let span = Int(rate)
        var prefix = [0.0]
        for x in flux { prefix.append(prefix.last! + x) }
        var o = (0..<n).map { k -> Double in
            let a = max(0, k - span / 2), b = min(n, k + span / 2 + 1)
            return max(0, flux[k] - (prefix[b] - prefix[a]) / Double(b - a))
        }
        let mean = o.reduce(0, +) / Double(n)
        let sd = (o.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)).squareRoot()
        guard sd > 1e-9 else { return (0, []) }
        o = o.map { $0 / sd }
        // Tempo: autocorrelation between 60 and 200 BPM, summed over the period's first multiples (a true beat
        // period repeats at 2, 3 and 4 periods too; a chance match does not), weighted by a log-Gaussian around
        // 120 BPM with one octave either side.
        let minLag = Int((rate * 60 / 200).rounded(.down)), maxLag = min(n - 1, Int((rate * 60 / 60).rounded(.up)))
        guard maxLag > minLag + 2 else { return (0, []) }
        let reach = min(n - 1, 4 * maxLag + 2)
        var ac = [Double](repeating: 0, count: reach + 1)
        for lag in 1...reach {
            var s = 0.0
            for k in lag..<n { s += o[k] * o[k - lag] }
            ac[lag] = s / Double(n - lag)
        }
        func acAt(_ x: Double) -> Double {
            guard x >= 1 else { return 0 }
            let i = Int(x), f = x - Double(i)
            guard i + 1 <= reach else { return i <= reach ? ac[i] : 0 }
            return ac[i] * (1 - f) + ac[i + 1] * f
        }
        func harmonic(_ lag: Double) -> Double {
            var s = 0.0, w = 0.0
            for m in 1...4 where Double(m) * lag <= Double(reach) { s += acAt(Double(m) * lag) / Double(m); w += 1 / Double(m) }
            return w > 0 ? s / w : 0
        }
        var best = Double(minLag), bestScore = -Double.infinity
        // Quarter-frame steps: the period is found finer than the envelope's own sampling.
        for q in (4 * minLag)...(4 * maxLag) {
            let lag = Double(q) / 4
            let bpm = 60 * rate / lag
            let score = harmonic(lag) * exp(-0.5 * pow(log2(bpm / 120), 2))
            if score > bestScore { bestScore = score; best = lag }
        }
        guard bestScore > 0 else { return (0, []) }
        // A pulse at all? The periodicity's share of the envelope's energy: 0.42–1.0 for music and click tracks
        // measured, below 0.06 for a steady tone, a sweep or noise. Without one there are no beats to follow.
        let energy = o.map { $0 * $0 }.reduce(0, +) / Double(n)
        guard energy > 0, harmonic(best) / energy >= 0.15 else { return (0, []) }
        let period = best
        let tempo = 60 * rate / period
        // Beats: the best chain of onsets about one period apart.
        let alpha = 100.0
        var score = o, back = [Int](repeating: -1, count: n)
        let lo = Int((period / 2).rounded()), hi = Int((period * 2).rounded())
        for k in 0..<n {
            var bestPrev = -1, bestValue = 0.0
            let from = max(0, k - hi), to = k - lo
            if to >= from {
                for p in from...to {
                    let d = log(Double(k - p) / period)
                    let v = score[p] - alpha * d * d
                    if bestPrev < 0 || v > bestValue { bestValue = v; bestPrev = p }
                }
            }
            if bestPrev >= 0 && bestValue > 0 { score[k] = o[k] + bestValue; back[k] = bestPrev }
        }
        // The chain ends at the best score in the last period.
        let tail = max(0, n - Int(period.rounded(.up)))
        var k = (tail..<n).max { score[$0] < score[$1] } ?? n - 1
        var chain: [Int] = []
        while k >= 0 { chain.append(k); k = back[k] }
        return (tempo, chain.reversed().map(time))
    }
}

/// Envelopes by file and frame rate, analysed once per process (settings checks, frame settings and the
/// render all ask).
enum AudioEnvelopeCache {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var entries: [String: Result<AudioEnvelopes, Error>] = [:]

    static func envelopes(_ path: String, fps: Double, loop: Int = 0, videoFrames: Int = 0) throws -> AudioEnvelopes {
        let key = "\(URL(fileURLWithPath: path).standardizedFileURL.path)|\(fps)|\(loop)|\(videoFrames)"
        lock.lock()
        if let r = entries[key] { lock.unlock(); return try r.get() }
        lock.unlock()
        let r = loop > 0 ? Result { try envelopes(path, fps: fps).looped(loop, videoFrames: videoFrames) }
                         : Result { try AudioEnvelopes.analyze(path, fps: fps) }
        lock.lock()
        entries[key] = r
        lock.unlock()
        return try r.get()
    }
}
