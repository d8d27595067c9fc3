import Foundation
import MediaIO

/// One of N shares of a long job, for a render farm: shard I of N (I from 0, as Slurm's array task ids and
/// Kubernetes' completion indexes count). Re-dreams split their frames into N contiguous ranges of about the
/// same length; batches split their jobs by estimated cost.
public struct Shard: Sendable, Equatable, Codable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, count <= 100_000 else { throw DreamVideoError.invalidArgument("a shard count must be 1…100000, not \(count)") }
        guard index >= 0, index < count else { throw DreamVideoError.invalidArgument("shard \(index)/\(count) does not exist: shards of \(count) are numbered 0…\(count - 1)") }
        self.index = index; self.count = count
    }

    /// Reads `I/N` (`3/10`).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw DreamVideoError.invalidArgument("--shard must be I/N with I from 0 to N−1 (e.g. 3/10), got '\(text)'")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// This shard's frames of a job of `frames` frames: contiguous, lengths differing by at most one; the last
    /// shard runs to the job's end (so frames the count missed are not lost).
    public func range(frames: Int) throws -> FrameRange {
        guard frames >= count else {
            throw DreamVideoError.invalidArgument("\(count) shards for \(frames) frame\(frames == 1 ? "" : "s"): give at most \(frames) shards")
        }
        let first = frames * index / count
        return FrameRange(first: first, end: index == count - 1 ? nil : frames * (index + 1) / count)
    }

    /// Where shard I of N of `output` is written: `OUT.shard-003-of-010.mp4` beside `OUT.mp4`.
    public func output(for output: String) -> String {
        let u = URL(fileURLWithPath: output)
        let digits = max(3, String(count).count)
        let pad = { (n: Int) in String(repeating: "0", count: max(0, digits - String(n).count)) + String(n) }
        return u.deletingPathExtension().path + ".shard-\(pad(index))-of-\(pad(count))." + (u.pathExtension.isEmpty ? "mp4" : u.pathExtension)
    }

    /// The shard outputs of `output` lying beside it, by shard count.
    public static func outputs(of output: String) -> [Int: [String]] {
        let u = URL(fileURLWithPath: output)
        let dir = u.deletingLastPathComponent().path, stem = u.deletingPathExtension().lastPathComponent
        let ext = u.pathExtension.isEmpty ? "mp4" : u.pathExtension
        var out: [Int: [String]] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            guard name.hasPrefix(stem + ".shard-"), name.hasSuffix("." + ext) else { continue }
            let mid = name.dropFirst(stem.count + 7).dropLast(ext.count + 1)
            let parts = mid.components(separatedBy: "-of-")
            guard parts.count == 2, Int(parts[0]) != nil, let n = Int(parts[1]) else { continue }
            out[n, default: []].append(dir + "/" + name)
        }
        return out.mapValues { $0.sorted() }
    }
}

extension RedreamJob {
    /// The clip's frame count, from its packets' times (no decoding).
    public func clipFrameCount() throws -> Int {
        let source = try RedreamSource(path: input, settings: settings)
        let (times, tb) = try VideoPacketTimes.read(input)
        return times.filter { t in
            let s = Double(t) * tb.seconds
            return s >= source.clipStart - 1e-6 && (source.clipEnd.map { s < $0 - 1e-6 } ?? true)
        }.count
    }

    /// This job's shard `shard`: its range of the clip's frames, written beside the output.
    public func sharded(_ shard: Shard) throws -> RedreamJob {
        let frames = try clipFrameCount()
        var range = try shard.range(frames: frames)
        if let end = range.end, settings.overlap > 0 {
            // The overlap with the next shard, rendered here too and cross-faded at the join.
            let tail = min(settings.overlap, frames - end)
            range.end = end + tail
            range.tail = tail
        }
        return RedreamJob(input: input, output: shard.output(for: output), settings: settings, range: range)
    }
}

/// Where the shards of a farmed output stand.
public enum FarmStatus {
    public enum State: String, Sendable { case done, running, interrupted, missing, damaged }
    public struct Row: Sendable {
        public var shard: Int
        public var path: String
        public var state: State
        /// Frames done (a finished shard's; an interrupted one's at its last checkpoint), when known.
        public var frames: Int?
        public var detail: String
    }

    /// The state of each of the `count` shards of `output` (`count`: the shards found beside it when nil).
    public static func report(output: String, count: Int? = nil) throws -> [Row] {
        let found = Shard.outputs(of: output)
        let workFolders = shardWorkFolders(of: output)
        guard let n = count ?? found.keys.max() ?? workFolders.keys.max() else {
            throw DreamVideoError.invalidArgument("\(output): no shards of it found (they are named \(try Shard(index: 0, count: 2).output(for: output)) and so on); give --shards N")
        }
        if count == nil, Set(found.keys).union(workFolders.keys).count > 1 {
            throw DreamVideoError.invalidArgument("\(output): shards of several counts lie beside it (\(Set(found.keys).union(workFolders.keys).sorted().map(String.init).joined(separator: ", "))); give --shards N")
        }
        var reference: (path: String, settings: [String: String])? = nil
        return try (0..<n).map { i in
            let path = try Shard(index: i, count: n).output(for: output)
            let work = ResumableVideoOutput<Never>.workFolderPath(for: path)
            if FileManager.default.fileExists(atPath: work) {
                if WorkFolder.isLocked(work) { return Row(shard: i, path: path, state: .running, frames: nil, detail: "a render holds \(work)") }
                return Row(shard: i, path: path, state: .interrupted, frames: nil, detail: "stopped; run the shard again (with --resume) to continue")
            }
            if FileManager.default.fileExists(atPath: path) {
                do {
                    let m = try RangeManifest.read(for: path)
                    // Every done shard must be made like the first one found, or the join will refuse them.
                    if let ref = reference {
                        if let key = Set(m.settings.keys).union(ref.settings.keys).sorted().first(where: { m.settings[$0] != ref.settings[$0] }) {
                            return Row(shard: i, path: path, state: .damaged, frames: nil,
                                       detail: "made with other settings than \(URL(fileURLWithPath: ref.path).lastPathComponent) (\(key) \(m.settings[key] ?? "unset") here, \(ref.settings[key] ?? "unset") there); render it again")
                        }
                    } else {
                        reference = (path, m.settings)
                    }
                    return Row(shard: i, path: path, state: .done, frames: m.ownFrames, detail: "frames \(m.firstFrame)…\(m.firstFrame + m.ownFrames - 1)" + ((m.tail ?? 0) > 0 ? " and \(m.tail!) overlapping the next" : ""))
                } catch {
                    return Row(shard: i, path: path, state: .damaged, frames: nil, detail: "\(error)")
                }
            }
            return Row(shard: i, path: path, state: .missing, frames: nil, detail: "not started")
        }
    }

    static func shardWorkFolders(of output: String) -> [Int: [String]] {
        let u = URL(fileURLWithPath: output)
        let dir = u.deletingLastPathComponent().path, stem = u.deletingPathExtension().lastPathComponent
        var out: [Int: [String]] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(stem + ".shard-") && name.hasSuffix(".dreamvideo") {
            let mid = name.dropFirst(stem.count + 7).components(separatedBy: "-of-")
            guard mid.count == 2, let n = Int(mid[1].prefix { $0.isNumber }) else { continue }
            out[n, default: []].append(name)
        }
        return out
    }
}

extension RangeJoin {
    /// Joins the N shards of `output` lying beside it into `output` (`count`: N, found when nil).
    @discardableResult
    public static func joinShards(of output: String, count: Int? = nil, overwrite: Bool = false) throws -> JoinReport {
        let rows = try FarmStatus.report(output: output, count: count)
        if let bad = rows.first(where: { $0.state != .done }) {
            throw DreamVideoError.invalidArgument("\(bad.path): shard \(bad.shard) of \(rows.count) is \(bad.state.rawValue) (\(bad.detail)); every shard must be done before the join")
        }
        return try join(rows.map(\.path), to: output, overwrite: overwrite)
    }
}
