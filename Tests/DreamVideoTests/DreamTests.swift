import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import ModelImport
import Testing

@Suite("Dreaming")
struct DreamTests {
    /// A small real-looking start image: the cat sample shrunk, or a pattern if samples are missing.
    func start(_ w: Int = 96, _ h: Int = 72) -> Tensor {
        var t = Tensor(zeros: Shape(3, h, w))
        for c in 0..<3 { for y in 0..<h { for x in 0..<w {
            t[c, y, x] = 128 + 80 * sin(Float(x) * 0.2 + Float(c)) * cos(Float(y) * 0.15)
        } } }
        return t
    }

    func syntheticDreamer(_ settings: DreamSettings) throws -> Dreamer {
        try Dreamer(network: Network(definition: GoogLeNet.definition, weights: .synthetic()), settings: settings)
    }

    @Test func sameSeedSameBytesDifferentSeedDifferent() throws {
        let s = DreamSettings(layers: [LayerWeight("inception3a")], iterations: 2, octaves: 2, octaveScale: 1.4, step: 2)
        let d = try syntheticDreamer(s)
        var r1 = SeededGenerator(seed: 42), r2 = SeededGenerator(seed: 42), r3 = SeededGenerator(seed: 43)
        let a = try d.dream(start(), rng: &r1), b = try d.dream(start(), rng: &r2), c = try d.dream(start(), rng: &r3)
        #expect(a.data == b.data)
        #expect(a.data != c.data)
        #expect(a.data != start().data)
        #expect(a.data.allSatisfy { $0 >= 0 && $0 <= 255 })
    }

    @Test func stepsIncreaseTheObjective() throws {
        let s = DreamSettings(layers: [LayerWeight("inception3a")], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1, jitter: 0)
        let d = try syntheticDreamer(s)
        var x = start()
        var rng = SeededGenerator(seed: 1)
        let before = try d.objectiveAndGradient(x).0
        for _ in 0..<5 { try d.step(&x, rng: &rng) }
        let after = try d.objectiveAndGradient(x).0
        #expect(after > before * 1.05, "objective \(before) → \(after)")
    }

    @Test func tilingBoundsTheWorkingSize() throws {
        var s = DreamSettings(layers: [LayerWeight("inception3a")], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1.5)
        s.tileSize = 64
        let d = try syntheticDreamer(s)
        var rng = SeededGenerator(seed: 3), rng2 = SeededGenerator(seed: 3)
        let big = start(150, 130)
        let out = try d.dream(big, rng: &rng)
        #expect(out.shape == big.shape && out.data != big.data)
        #expect(try d.dream(big, rng: &rng2).data == out.data)
    }

    @Test func octavePyramidStopsAtTheMinimumSize() throws {
        let s = DreamSettings(layers: [LayerWeight("inception4c")], iterations: 1, octaves: 8, octaveScale: 2, step: 1.5)
        let d = try syntheticDreamer(s)
        let sizes = d.octaveSizes(height: 300, width: 400)
        #expect(sizes.first! == (300, 400))
        #expect(sizes.allSatisfy { min($0.h, $0.w) >= d.minimumSide })
        #expect(sizes.count < 8)
    }

    @Test func invalidSettingsAreRejected() {
        var s = DreamSettings(layers: [LayerWeight("x")], iterations: 0, octaves: 1, octaveScale: 1.4, step: 1)
        #expect(throws: EngineError.self) { try s.validate() }
        s.iterations = 1; s.octaveScale = 1
        #expect(throws: EngineError.self) { try s.validate() }
        s.octaveScale = 1.4
        #expect(throws: EngineError.self) { try self.syntheticDreamer(s) }  // unknown layer "x"
    }
}

@Suite("Weight import")
struct WeightImportTests {
    @Test func brokenCheckpointsGiveClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dv-import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let junk = dir.appendingPathComponent("junk.pth")
        try Data((0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: junk)
        do { _ = try TorchCheckpoint.read(junk); Issue.record("junk accepted") } catch {
            #expect("\(error)".hasPrefix(junk.path))
        }
        let zip = dir.appendingPathComponent("new.pth")
        try Data([0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 0]).write(to: zip)
        do { _ = try TorchCheckpoint.read(zip); Issue.record("broken zip accepted") } catch {
            #expect("\(error)".hasPrefix(zip.path) && "\(error)".contains("zip"))
        }
        #expect(throws: (any Error).self) { try HDF5File(junk) }
        #expect(throws: (any Error).self) { try TorchCheckpoint.read(dir.appendingPathComponent("missing.pth")) }
    }

    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func installedWeightsTruncatedFailCleanly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dv-cut-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Data(contentsOf: ModelStore().weightsURL("efficientnet-lite0"))
        let cut = dir.appendingPathComponent("cut.safetensors")
        try data.prefix(data.count / 3).write(to: cut)
        #expect(throws: EngineError.self) { try SafeTensors.load(cut) }
    }
}
