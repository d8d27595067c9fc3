import Foundation
import MediaIO

/// What a pipeline needs to continue from a frame: the index of the next frame, its own Codable
/// payload (times, counters…) and named images (the last frame…).
public struct Checkpoint<Payload: Codable & Sendable>: Sendable {
    public var nextFrame: Int
    public var payload: Payload
    public var images: [String: RGBImage]
    /// The job-timeline time of the range's first frame (what the output's time zero stands for).
    public var ptsOrigin: Int64 = 0
    public init(nextFrame: Int, payload: Payload, images: [String: RGBImage], ptsOrigin: Int64 = 0) {
        self.nextFrame = nextFrame; self.payload = payload; self.images = images; self.ptsOrigin = ptsOrigin
    }
}

/// A finished segment of the video in the work folder.
struct SegmentRecord: Codable, Equatable {
    var file: String
    var firstFrame: Int
    var frames: Int
    /// Presentation time of its first frame in the output, in the output's time base.
    var offset: Int64
    /// End of its last frame (time + duration), in the output's time base.
    var end: Int64
    var bytes: Int64
    var sha256: String
    /// A segment still being written when the checkpoint was taken: the file may have grown past `bytes` since
    /// (later fragments), and a resume cuts it back to `bytes`.
    var open: Bool? = nil
}

/// A frame given to the encoder but not yet in a segment when the checkpoint was taken (inside the encoder's
/// look-ahead), kept losslessly so that a resume can encode it again: its packed RGB bytes and its time.
struct PendingFrame: Codable, Equatable {
    var file: String
    var bytes: Int64
    var sha256: String
    var pts: Int64
    var duration: Int64?
}

/// A file the checkpoint depends on, with its size and digest.
struct StoredFile: Codable, Equatable {
    var file: String
    var bytes: Int64
    var sha256: String
}

/// The checkpoint file as written: versioned, and sealed with a SHA-256 of its content so that an edit or
/// a torn write is recognised rather than trusted.
struct CheckpointFile<Payload: Codable & Sendable>: Codable {
    /// Version 3 added the range's first frame and time origin (a render of frames N…M); version 2 files are
    /// renders from frame 0 and read as such. Version 4 added open segments and pending frames (one encoder
    /// across checkpoints).
    static var currentVersion: Int { 4 }
    static var readableVersions: ClosedRange<Int> { 2...4 }
    var format = "dreamvideo checkpoint"
    var version = currentVersion
    var pipeline: String
    /// The settings that determine the frames, as text by key; a resume must match them.
    var settings: [String: String]
    /// The first frame of the rendered range (nil in version 2: frame 0).
    var firstFrame: Int?
    /// The job-timeline time of that frame (nil in version 2: 0).
    var ptsOrigin: Int64?
    var nextFrame: Int
    var timeBase: TimeBase
    var segments: [SegmentRecord]
    /// The frames after the segments' last, up to `nextFrame` (nil before version 4: none).
    var pending: [PendingFrame]? = nil
    var images: [String: StoredFile]
    var payload: Payload
    /// The build and kernels that made the frames so far (`DreamVideoInfo.engineBuild`; nil: a build before it was
    /// recorded).
    var engine: String? = nil
}

struct SealedCheckpoint<Payload: Codable & Sendable>: Codable {
    var checkpoint: CheckpointFile<Payload>
    var sha256: String

    static func canonical(_ c: CheckpointFile<Payload>) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return try e.encode(c)
    }

    init(_ c: CheckpointFile<Payload>) throws {
        checkpoint = c
        sha256 = SHA256.hex(of: try SealedCheckpoint.canonical(c))
    }

    func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try e.encode(self)
    }

    /// Reads and checks a checkpoint file; the error says what is wrong with it.
    static func read(_ path: String) throws(CheckpointDamage) -> CheckpointFile<Payload> {
        guard let data = FileManager.default.contents(atPath: path) else { throw CheckpointDamage("cannot be read") }
        guard data.count < 64 << 20 else { throw CheckpointDamage("is too large (\(data.count) bytes)") }
        guard let header = try? JSONDecoder().decode(CheckpointHeader.self, from: data) else { throw CheckpointDamage("is not a dreamvideo checkpoint (not valid JSON)") }
        guard header.checkpoint.format == "dreamvideo checkpoint" else { throw CheckpointDamage("is not a dreamvideo checkpoint") }
        guard let version = header.checkpoint.version, CheckpointFile<Payload>.readableVersions.contains(version) else {
            let r = CheckpointFile<Payload>.readableVersions
            throw CheckpointDamage("has version \(header.checkpoint.version.map(String.init) ?? "?"), this dreamvideo reads versions \(r.lowerBound)…\(r.upperBound)")
        }
        let sealed: SealedCheckpoint
        do { sealed = try JSONDecoder().decode(SealedCheckpoint.self, from: data) } catch {
            throw CheckpointDamage("is malformed (\(error))")
        }
        guard let canon = try? canonical(sealed.checkpoint), SHA256.hex(of: canon) == sealed.sha256 else {
            throw CheckpointDamage("fails its checksum (edited or damaged)")
        }
        let c = sealed.checkpoint
        // Structure: segments contiguous from the range's first frame, covering exactly the frames before nextFrame.
        let first = c.firstFrame ?? 0
        guard first >= 0, first <= 100_000_000 else { throw CheckpointDamage("has a first frame out of range") }
        var next = first
        for s in c.segments {
            guard s.firstFrame == next, s.frames > 0, s.frames <= 1_000_000, WorkFolder.isOurs(s.file), !s.file.contains("/") else {
                throw CheckpointDamage("lists segments that do not follow each other")
            }
            next += s.frames  // ≤ 10⁶ frames a segment: cannot overflow
        }
        // Only the last segment can have been open, and pending frames follow it.
        guard c.segments.dropLast().allSatisfy({ $0.open != true }) else { throw CheckpointDamage("lists an open segment before others") }
        let pending = c.pending ?? []
        guard pending.count <= 100_000, next + pending.count == c.nextFrame, c.nextFrame >= first else {
            throw CheckpointDamage("frame count does not match its segments")
        }
        guard c.images.values.allSatisfy({ WorkFolder.isOurs($0.file) && !$0.file.contains("/") }),
              pending.allSatisfy({ WorkFolder.isOurs($0.file) && !$0.file.contains("/") }) else {
            throw CheckpointDamage("names files that are not dreamvideo's")
        }
        return c
    }
}

/// Why a checkpoint cannot be used.
struct CheckpointDamage: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The first fields of a checkpoint file, read before trusting the rest.
private struct CheckpointHeader: Decodable {
    struct Version: Decodable { var format: String?; var version: Int? }
    var checkpoint: Version
}

extension ZoomJob {
    /// Checks a zoom checkpoint file the way a resume does (size, header, version, seal, segment structure,
    /// file names) without opening its work folder; the error says what is wrong with it.
    public static func validateCheckpointFile(_ path: String) throws { _ = try SealedCheckpoint<ZoomFrameMaker.Payload>.read(path) }
}

extension RenderJob {
    /// The settings saved in the newest checkpoint of `output` that reads and checks the way a resume reads it
    /// (nil: none does).
    static func checkpointedSettings(of output: String) -> [String: String]? {
        WorkFolder.checkpointNames.lazy.compactMap { name -> [String: String]? in
            let path = WorkFolder.path(for: output) + "/" + name
            switch Self.kind {
            case .zoom: return (try? SealedCheckpoint<ZoomFrameMaker.Payload>.read(path))?.settings
            case .redream: return (try? SealedCheckpoint<RedreamFrameMaker.Payload>.read(path))?.settings
            case .image: return nil  // pictures have no checkpoints
            }
        }.first
    }
}

extension RedreamJob {
    /// Checks a re-dream checkpoint file the way a resume does; see `ZoomJob.validateCheckpointFile`.
    public static func validateCheckpointFile(_ path: String) throws { _ = try SealedCheckpoint<RedreamFrameMaker.Payload>.read(path) }
}
