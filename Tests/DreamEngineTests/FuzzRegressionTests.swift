import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import ModelImport
import Testing

/// Inputs that crashed a reader (found by the libFuzzer harnesses in Fuzz/ and by hand from what they hinted
/// at): each must now be refused with an error, never a trap, an overflow or a stack overflow.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    func fixtures(_ suffix: String) throws -> [URL] {
        let dir = try #require(Bundle.module.url(forResource: "fuzz", withExtension: nil, subdirectory: "Fixtures"))
        let all = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
        return all.filter { $0.lastPathComponent.hasSuffix(suffix) }.sorted { $0.path < $1.path }
    }

    @Test func safetensorsHeadersThatOverflow() throws {
        let files = try fixtures(".safetensors")
        #expect(files.count == 5)
        for f in files {
            #expect(throws: (any Error).self, "\(f.lastPathComponent)") { _ = try SafeTensors.decode(try Data(contentsOf: f), file: f.path) }
        }
    }

    @Test func torchPicklesThatOverflowOrNestTooDeeply() throws {
        let files = try fixtures(".pt")
        #expect(files.count == 15, "\(files.count) torch fixtures")
        #expect(files.contains { $0.lastPathComponent == "torch-ok.pt" })
        for f in files {
            if f.lastPathComponent == "torch-ok.pt" {
                #expect(try TorchCheckpoint.read(f)["w"]?.shape == [2, 2], "the control file still loads")
            } else {
                #expect(throws: (any Error).self, "\(f.lastPathComponent)") { _ = try TorchCheckpoint.read(f) }
            }
        }
    }

    /// A checkpoint sealed correctly (so only the frame-count guard stands between it and an overflow): the
    /// libFuzzer find, rebuilt for the current format.
    @Test func checkpointWithOverflowingFrameCounts() throws {
        let files = try fixtures(".json")
        #expect(files.count == 1)
        // The libFuzzer find itself (an older checkpoint version): replayed, it is refused, not a trap. The guard
        // itself is tested below on the same overflow sealed in the current format.
        for f in files {
            do { try ZoomJob.validateCheckpointFile(f.path); Issue.record("\(f.lastPathComponent) was accepted") } catch {
                #expect("\(error)".contains(f.lastPathComponent) || "\(error)".contains("checkpoint"), "\(error)")
            }
        }
        func sealed(_ segments: [[String: Any]], next: Int) throws -> String {
            let checkpoint: [String: Any] = [
                "format": "dreamvideo checkpoint", "version": 3, "pipeline": "zoom", "settings": [String: String](),
                "firstFrame": 0, "ptsOrigin": 0, "nextFrame": next, "timeBase": ["num": 1, "den": 30],
                "segments": segments, "images": [String: Any](), "payload": ["key": 0],
            ]
            let canonical = try JSONSerialization.data(withJSONObject: checkpoint, options: [.sortedKeys])
            let file = try JSONSerialization.data(withJSONObject: ["checkpoint": checkpoint, "sha256": SHA256.hex(of: canonical)], options: [.sortedKeys])
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("dv-cp-\(UUID().uuidString).json").path
            try file.write(to: URL(fileURLWithPath: path))
            return path
        }
        func segment(_ first: Int, _ frames: Int, _ name: String) -> [String: Any] {
            ["file": name, "firstFrame": first, "frames": frames, "offset": 0, "end": 0, "bytes": 0, "sha256": String(repeating: "0", count: 64)]
        }
        // The control: well sealed and well formed, it passes the file checks.
        let ok = try sealed([segment(0, 10, "segment-000000.mp4")], next: 10)
        defer { unlink(ok) }
        try ZoomJob.validateCheckpointFile(ok)
        // Frame counts whose sum overflows: refused by the guard (without it, the sum would trap).
        let bad = try sealed([segment(0, Int.max, "segment-000000.mp4"), segment(Int.max, 1, "segment-000001.mp4")], next: 0)
        defer { unlink(bad) }
        do { try ZoomJob.validateCheckpointFile(bad); Issue.record("accepted") } catch {
            #expect("\(error)".contains("segments that do not follow each other"), "\(error)")
        }
    }

    @Test func elementCountsAreChecked() {
        #expect(elementCount([2, 3, 4]) == 24)
        #expect(elementCount([]) == 1)
        #expect(elementCount([-1]) == nil)
        #expect(elementCount([1 << 62, 4]) == nil)
        #expect(elementCount([1 << 40]) == nil, "past the 2³¹ limit")
    }
}
