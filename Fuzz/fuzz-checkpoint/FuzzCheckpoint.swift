import DreamVideo
import Foundation
import FuzzSupport
import MediaIO

// Mirrors of the checkpoint file's Codable types (Sources/DreamVideo/Output/Checkpoint.swift), so that the
// harness can re-seal a mutated checkpoint: JSONEncoder with sorted keys gives the same canonical bytes
// for the same field names and types. Without this the SHA-256 seal stops every mutation before the
// structural checks.
struct TimeBaseM: Codable { var num: Int; var den: Int }
struct SegmentM: Codable { var file: String; var firstFrame: Int; var frames: Int; var offset: Int64; var end: Int64; var bytes: Int64; var sha256: String }
struct StoredM: Codable { var file: String; var bytes: Int64; var sha256: String }
struct RNGM: Codable { var state: UInt64 }
struct PayloadM: Codable {
    var rng: RNGM
    var firstPTS: Int64?, lastPTS: Int64?, cuts: Int?, freshStrength: Double?
}
struct FileM: Codable {
    var format: String, version: Int, pipeline: String, settings: [String: String], nextFrame: Int
    var timeBase: TimeBaseM, segments: [SegmentM], images: [String: StoredM], payload: PayloadM
}
struct SealedM: Codable { var checkpoint: FileM; var sha256: String }

/// ZoomJob/RedreamJob.validateCheckpointFile on the input as is, then (if it parses as a checkpoint)
/// on the same checkpoint with a correct seal.
@main enum FuzzCheckpoint {
    static func main() {
        Fuzz.main { bytes in
            let path = Fuzz.writeTempFile(bytes, suffix: ".json")
            try? ZoomJob.validateCheckpointFile(path)
            try? RedreamJob.validateCheckpointFile(path)
            guard var sealed = try? JSONDecoder().decode(SealedM.self, from: Data(bytes)) else { return }
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            guard let canonical = try? e.encode(sealed.checkpoint) else { return }
            sealed.sha256 = SHA256.hex(of: canonical)
            guard let resealed = try? e.encode(sealed) else { return }
            let path2 = resealed.withUnsafeBytes { Fuzz.writeTempFile($0, suffix: ".json") }
            try? ZoomJob.validateCheckpointFile(path2)
            try? RedreamJob.validateCheckpointFile(path2)
        }
    }
}
