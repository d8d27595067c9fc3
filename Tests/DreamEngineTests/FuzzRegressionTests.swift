import DreamEngine
import DreamVideo
import Foundation
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
        for f in try fixtures(".pt") {
            if f.lastPathComponent == "torch-ok.pt" {
                #expect(try TorchCheckpoint.read(f)["w"]?.shape == [2, 2], "the control file still loads")
            } else {
                #expect(throws: (any Error).self, "\(f.lastPathComponent)") { _ = try TorchCheckpoint.read(f) }
            }
        }
    }

    @Test func checkpointWithOverflowingFrameCounts() throws {
        for f in try fixtures(".json") {
            #expect(throws: (any Error).self) { try ZoomJob.validateCheckpointFile(f.path) }
            #expect(throws: (any Error).self) { try RedreamJob.validateCheckpointFile(f.path) }
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
