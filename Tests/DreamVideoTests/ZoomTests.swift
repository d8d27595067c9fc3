import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import Testing

func tempDir(_ tag: String) throws -> String {
    let p = FileManager.default.temporaryDirectory.appendingPathComponent("dv-\(tag)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
    return p
}

@Suite("Zoom pipeline", .serialized)
struct ZoomPipelineTests {
    static let network = try! Network(definition: GoogLeNet.definition, weights: .synthetic())

    func settings(frames: Int = 9) -> ZoomSettings {
        ZoomSettings(model: "googlenet",
                     dream: DreamSettings(layers: [LayerWeight("inception3a")], iterations: 2, octaves: 1, octaveScale: 1.4, step: 2),
                     transform: FrameTransform(zoom: 1.05, rotate: 1, dx: 0.5, dy: 0), frames: frames, fps: FrameRate(30000, 1001),
                     size: FrameSize(width: 96, height: 64), seed: 7, encoder: EncoderSettings(crf: 18, preset: "ultrafast"), input: "noise")
    }

    func seedImage() -> Tensor {
        var rng = SeededGenerator(seed: 99)
        var t = Tensor(zeros: Shape(3, 64, 96))
        for i in 0..<t.count { t.data[i] = 128 + 30 * rng.gaussian() }
        return t
    }

    func pngs(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) where f.hasSuffix(".png") {
            out[f] = FileManager.default.contents(atPath: dir + "/" + f)
        }
        return out
    }

    @Test func interruptedAndResumedRenderMatchesAnUninterruptedOne() throws {
        let dir = try tempDir("zoom")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Reference: one go.
        let full = try ZoomRenderer(settings: settings(), network: Self.network, output: dir + "/full.mp4", framesDir: dir + "/full", checkpointEvery: 3)
        let stats = try full.run(seedImage: seedImage(), shouldStop: { false })
        #expect(stats.frames == 9)
        #expect(!FileManager.default.fileExists(atPath: ZoomRenderer.workFolder(for: dir + "/full.mp4")))

        // Interrupted after frame 5 (between checkpoints), then resumed.
        var count = 0
        let part = try ZoomRenderer(settings: settings(), network: Self.network, output: dir + "/resumed.mp4", framesDir: dir + "/resumed", checkpointEvery: 3)
        do {
            _ = try part.run(seedImage: seedImage(), shouldStop: { count += 1; return count == 5 })
            Issue.record("expected an interruption")
        } catch let e as DreamVideoError {
            guard case .interrupted(let msg) = e else { throw e }
            #expect(msg.contains("--resume"))
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/resumed.mp4"), "an unfinished render must not claim the final name")
        let partial = ZoomRenderer.partialPath(for: dir + "/resumed.mp4")
        #expect(try VideoReader(path: partial).readAll().count == 5, "the partial file plays what exists")
        // Resuming with different settings is refused.
        var other = settings(); other.dream.iterations = 3
        let wrong = try ZoomRenderer(settings: other, network: Self.network, output: dir + "/resumed.mp4", checkpointEvery: 3)
        #expect(throws: DreamVideoError.self) { try wrong.run(seedImage: seedImage(), resume: true, shouldStop: { false }) }
        // Starting afresh without --overwrite is refused too.
        #expect(throws: DreamVideoError.self) { try part.run(seedImage: seedImage(), shouldStop: { false }) }

        let resumed = try ZoomRenderer(settings: settings(), network: Self.network, output: dir + "/resumed.mp4", framesDir: dir + "/resumed", checkpointEvery: 3)
        let s2 = try resumed.run(seedImage: seedImage(), resume: true, shouldStop: { false })
        #expect(s2.frames == 4)
        #expect(try pngs(dir + "/full") == pngs(dir + "/resumed"), "dreamed frames must be identical")
        #expect(try pngs(dir + "/full").count == 9)
        let a = try VideoReader(path: dir + "/full.mp4").readAll(), b = try VideoReader(path: dir + "/resumed.mp4").readAll()
        #expect(a.count == 9 && b.count == 9)
        for (x, y) in zip(a, b) {
            let d = Double(zip(x.pixels, y.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(x.pixels.count)
            // Same pictures, encoded once in one segment and once in two: only codec noise differs.
            #expect(d < 6, "decoded frames differ by \(d)")
        }
        #expect(!FileManager.default.fileExists(atPath: partial))
    }

    @Test func crashLosesAtMostTheFramesSinceTheLastCheckpoint() throws {
        let dir = try tempDir("crash")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        struct Crash: Error {}
        let out = dir + "/c.mp4"
        let r = try ZoomRenderer(settings: settings(), network: Self.network, output: out, framesDir: dir + "/c", checkpointEvery: 2)
        var frames = 0
        r.onFrame = { _, _, _ in frames += 1 }
        // A failure after frame 5 (frames 0-3 checkpointed, frame 4 in an open segment).
        var count = 0
        #expect(throws: Crash.self) {
            _ = try r.run(seedImage: self.seedImage(), shouldStop: { count += 1; if count == 5 { throw Crash() }; return false })
        }
        let cp = try JSONDecoder().decode(ZoomCheckpoint.self, from: Data(contentsOf: URL(fileURLWithPath: ZoomRenderer.workFolder(for: out) + "/checkpoint.json")))
        #expect(cp.nextFrame == 4)
        let resumed = try ZoomRenderer(settings: settings(), network: Self.network, output: out, framesDir: dir + "/c", checkpointEvery: 2)
        _ = try resumed.run(seedImage: seedImage(), resume: true, shouldStop: { false })
        #expect(try VideoReader(path: out).readAll().count == 9)
        let full = try ZoomRenderer(settings: settings(), network: Self.network, output: dir + "/f.mp4", framesDir: dir + "/f", checkpointEvery: 100)
        _ = try full.run(seedImage: seedImage(), shouldStop: { false })
        #expect(try pngs(dir + "/c") == pngs(dir + "/f"))
    }

    @Test func oneFrameVideoAndExistingOutputs() throws {
        let dir = try tempDir("one")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/one.mp4"
        _ = try ZoomRenderer(settings: settings(frames: 1), network: Self.network, output: out).run(seedImage: seedImage(), shouldStop: { false })
        #expect(try VideoReader(path: out).readAll().count == 1)
        #expect(throws: DreamVideoError.self) {
            try ZoomRenderer(settings: settings(frames: 1), network: Self.network, output: out).run(seedImage: seedImage(), shouldStop: { false })
        }
        _ = try ZoomRenderer(settings: settings(frames: 2), network: Self.network, output: out).run(seedImage: seedImage(), overwrite: true, shouldStop: { false })
        #expect(try VideoReader(path: out).readAll().count == 2)
    }

    @Test func invalidSettings() throws {
        var s = settings(); s.transform.zoom = 0
        #expect(throws: DreamVideoError.self) { try s.validate() }
        s = settings(); s.frames = 0
        #expect(throws: DreamVideoError.self) { try s.validate() }
        s = settings(); s.size = FrameSize(width: 95, height: 64)
        #expect(throws: DreamVideoError.self) { try s.validate() }
        #expect(throws: (any Error).self) { try FrameSize(parsing: "0x0") }
        #expect(throws: (any Error).self) { try FrameSize(parsing: "100000x10") }
        #expect(throws: (any Error).self) { try FrameSize(parsing: "12by4") }
    }
}
