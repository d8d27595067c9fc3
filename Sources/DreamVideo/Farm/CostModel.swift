import Foundation

/// What a job costs on this machine, from a short calibration run of its real frame maker (a few frames in a
/// scratch folder, the first left out of the timing: it pays for warm-up), times its frame count.
public struct CostEstimate: Sendable {
    public var kind: JobKind
    public var input: String
    public var output: String
    public var frames: Int
    /// Wall seconds per frame on this machine (all its cores), measured.
    public var secondsPerFrame: Double
    /// Frames timed in the calibration run.
    public var calibrationFrames: Int
    /// Frames a shard dreams before its first (re-dreams; 0 otherwise).
    public var leadIn: Int
    /// Wall seconds for the whole job in one process on this machine.
    public var seconds: Double { Double(frames) * secondsPerFrame }
    public init(kind: JobKind, input: String, output: String, frames: Int, secondsPerFrame: Double, calibrationFrames: Int, leadIn: Int) {
        self.kind = kind; self.input = input; self.output = output; self.frames = frames
        self.secondsPerFrame = secondsPerFrame; self.calibrationFrames = calibrationFrames; self.leadIn = leadIn
    }

    /// Whether the job's frames can be split among shards (a re-dream; a zoom needs each frame's predecessor).
    public var splittable: Bool { kind == .redream }

    /// Wall seconds of the longest of `shards` shards of this job (its frames and its lead-in).
    public func shardSeconds(_ shards: Int) -> Double {
        guard splittable, shards > 1 else { return seconds }
        let longest = (frames + shards - 1) / shards
        return Double(longest + leadIn) * secondsPerFrame
    }
}

public enum CostModel {
    /// Times `calibrationFrames` frames of `job` (from the middle of a re-dream's clip) into a scratch folder,
    /// then removes it. Jobs with the same kind, settings and input size share one calibration (`cache`).
    public static func estimate(_ job: AnyRenderJob, store: ModelStore, calibrationFrames: Int = 3,
                                cache: inout [String: (Double, Int)]) throws -> CostEstimate {
        let j = job.job
        let s = j.settings
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("dreamvideo-estimate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var probe = s
        probe.framesDir = nil
        let cadence = max(1, Int(s.cadence.first.rounded()))
        // A cadence group costs one dreamed frame and N−1 made from it: time whole groups.
        let timed = max(calibrationFrames, 2 * cadence)
        let frames: Int
        let runnable: AnyRenderJob
        switch job {
        case .image(let i):
            frames = 1
            runnable = .image(ImageJob(input: i.input, output: scratch + "/probe." + (URL(fileURLWithPath: i.output).pathExtension.isEmpty ? "png" : URL(fileURLWithPath: i.output).pathExtension), settings: probe))
        case .zoom(let z):
            frames = s.frameCount
            probe.frames = min(frames, timed + 1); probe.duration = nil
            runnable = .zoom(ZoomJob(input: z.input, output: scratch + "/probe.mp4", settings: probe))
        case .redream(let r):
            frames = try r.clipFrameCount()
            guard frames > 0 else {
                throw DreamVideoError.invalidArgument("\(r.input): no video frames between \(formatNumber(s.start)) s and the end; nothing to estimate")
            }
            probe.leadIn = 0
            let first = max(0, min(frames / 2, frames - timed - 1))
            runnable = .redream(RedreamJob(input: r.input, output: scratch + "/probe.mp4", settings: probe,
                                           range: FrameRange(first: first, end: min(frames, first + timed + 1))))
        }
        let key = calibrationKey(job, settings: probe)
        let measured: (Double, Int)
        if let hit = cache[key] {
            measured = hit
        } else {
            var times: [Double] = []
            var observer = RenderObserver()
            observer.frame = { p in times.append(p.seconds) }
            let t0 = Date()
            do {
                _ = try runnable.job.run(store: store, policy: OutputPolicy(overwrite: true), progress: observer, shouldStop: { false })
            } catch let e as DreamVideoError {
                if case .interrupted = e { throw e }
                throw DreamVideoError.invalidArgument("\(j.output): the calibration run failed: \(e)")
            }
            if job.kind == .image {
                measured = (Date().timeIntervalSince(t0), 1)
            } else {
                let counted = times.count > 1 ? Array(times.dropFirst()) : times
                guard !counted.isEmpty else { throw DreamVideoError.invalidArgument("\(j.input): the calibration run made no frames") }
                measured = (counted.reduce(0, +) / Double(counted.count), counted.count)
            }
            cache[key] = measured
        }
        return CostEstimate(kind: job.kind, input: j.input, output: j.output, frames: frames, secondsPerFrame: measured.0,
                            calibrationFrames: measured.1, leadIn: job.kind == .redream ? s.leadIn : 0)
    }

    /// Jobs that cost the same per frame: kind, every setting but the length and paths, and the input's size.
    static func calibrationKey(_ job: AnyRenderJob, settings: JobSettings) -> String {
        var s = settings
        s.frames = nil; s.duration = nil; s.start = 0; s.leadIn = 0
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        let text = (try? e.encode(s)).map { String(decoding: $0, as: UTF8.self) } ?? "\(s)"
        let size: String
        switch job {
        case .image(let i): size = StartImage.isSynthetic(i.input) ? "synthetic" : ((try? StartImage.size(of: i.input)).flatMap { $0 }.map { "\($0.width)x\($0.height)" } ?? i.input)
        case .zoom(let z): size = StartImage.isSynthetic(z.input) ? "synthetic" : ((try? StartImage.size(of: z.input)).flatMap { $0 }.map { "\($0.width)x\($0.height)" } ?? z.input)
        case .redream(let r): size = r.input
        }
        return "\(job.kind)|\(size)|\(text)"
    }

    /// The fewest shards that finish `jobs` within `deadline` seconds on machines like this one: a re-dream
    /// alone splits its frames; a batch splits its jobs (the costliest first onto the least loaded shard).
    /// Nil when no count does (a job that cannot be split takes longer than the deadline by itself).
    public static func shards(for jobs: [CostEstimate], deadline: Double, batch: Bool) -> Int? {
        guard !jobs.isEmpty, deadline > 0 else { return nil }
        if !batch, jobs.count == 1, let j = jobs.first {
            if j.seconds <= deadline { return 1 }
            guard j.splittable else { return nil }
            for n in 2...max(2, j.frames) where j.shardSeconds(n) <= deadline { return n }
            return nil
        }
        guard let longest = jobs.map(\.seconds).max(), longest <= deadline else { return nil }
        for n in 1...jobs.count {
            var load = [Double](repeating: 0, count: n)
            for c in jobs.map(\.seconds).sorted(by: >) { load[load.indices.min { load[$0] < load[$1] }!] += c }
            if load.max()! <= deadline { return n }
        }
        return jobs.count
    }

    /// Reads a duration: `90` or `90s`, `45m`, `2h`, `1d`, or `1h30m`.
    public static func parseDuration(_ text: String) throws -> Double {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let v = Double(t) {
            guard v.isFinite, v >= 1, v <= 366 * 86400 else {
                throw DreamVideoError.invalidArgument("--deadline must be a duration from 1s to 366d like 90m, 2h or 1h30m, got '\(text)'")
            }
            return v
        }
        var total = 0.0, number = ""
        for c in t {
            if c.isNumber || c == "." { number.append(c); continue }
            let unit: Double
            switch c {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: throw DreamVideoError.invalidArgument("--deadline must be a duration like 90m, 2h or 1h30m, got '\(text)'")
            }
            guard let v = Double(number), v.isFinite else { throw DreamVideoError.invalidArgument("--deadline must be a duration like 90m, 2h or 1h30m, got '\(text)'") }
            total += v * unit
            number = ""
        }
        guard number.isEmpty, total > 0, total <= 366 * 86400 else {
            throw DreamVideoError.invalidArgument("--deadline must be a duration from 1s to 366d like 90m, 2h or 1h30m, got '\(text)'")
        }
        return total
    }
}
