import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import Testing

@Suite("Batch renders", .serialized)
struct BatchTests {
    /// Three jobs on the synthetic model; the second's input is not a picture (it fails when its turn comes).
    func batchText(_ dir: String, extra: String = "") -> String {
        let common = """
            model: googlenet
            layer: inception3a
            iterations: 1
            octaves: 1
        """
        return """
        # a night of renders
        jobs:
          - kind: zoom
            input: noise
            output: out/a.mp4
            size: 96x64
            frames: 8
            checkpoint-every: 2
            encoder-preset: ultrafast
        \(common)
          - kind: image
            input: junk.png
            output: out/b.png
        \(common)
          - kind: redream
            input: pan.mp4
            output: out/c.mp4
            checkpoint-every: 2
        \(common)
        \(extra)
        """
    }

    func setUp(_ tag: String) throws -> String {
        let dir = try tempDir(tag)
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        try writePan(dir + "/pan.mp4", frames: 10)
        try Data("not a picture".utf8).write(to: URL(fileURLWithPath: dir + "/junk.png"))
        try batchText(dir).write(toFile: dir + "/night.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    @Test func keepsGoingPastAFailedJobThenSkipsAndResumes() throws {
        let dir = try setUp("batch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let batch = try BatchFile.load(path: dir + "/night.yaml")
        #expect(batch.items.count == 3)
        // First run: stopped during job 3 (after 3 of its frames).
        var frames = 0
        let runner = BatchRunner(batch: batch, store: syntheticStore)
        let first = try runner.run(observer: { i, _ in
            var o = RenderObserver()
            o.frame = { _ in if i == 2 { frames += 1 } }
            return o
        }, shouldStop: { frames >= 3 })
        #expect(first.map(\.status.word) == ["done", "FAILED", "interrupted"])
        if case .failed(let m) = first[1].status { #expect(m.contains("junk.png"), "\(m)") }
        #expect(FileManager.default.fileExists(atPath: dir + "/out/a.mp4") && !FileManager.default.fileExists(atPath: dir + "/out/c.mp4"))
        // Second run: job 1 skipped, job 2 fails again, job 3 resumes where it stopped.
        let second = try BatchRunner(batch: try BatchFile.load(path: dir + "/night.yaml"), store: syntheticStore)
            .run(observer: { _, _ in RenderObserver() }, shouldStop: { false })
        #expect(second.map(\.status.word) == ["skipped (done earlier)", "FAILED", "done"])
        #expect(second[2].frames == 6, "the stop checkpointed 4 frames; the rest is rendered now: \(second[2].frames)")
        #expect(try VideoReader(path: dir + "/out/c.mp4").readAll().count == 10)
        // A changed job is rendered again, over its own earlier output.
        try batchText(dir).replacingOccurrences(of: "frames: 8", with: "frames: 6").write(toFile: dir + "/night.yaml", atomically: true, encoding: .utf8)
        let third = try BatchRunner(batch: try BatchFile.load(path: dir + "/night.yaml"), store: syntheticStore)
            .run(observer: { _, _ in RenderObserver() }, shouldStop: { false })
        #expect(third.map(\.status.word) == ["done", "FAILED", "skipped (done earlier)"])
        #expect(try VideoReader(path: dir + "/out/a.mp4").readAll().count == 6)
    }

    /// An interrupted job whose settings changed since (the batch file was edited, or a new version changed a default)
    /// keeps its checkpointed frames: the job fails alone, naming what changed, until the batch runs with --overwrite.
    @Test func anInterruptedJobOfOtherSettingsIsKeptUntilOverwriteIsAsked() throws {
        let dir = try setUp("batch-kept")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var frames = 0
        let first = try BatchRunner(batch: try BatchFile.load(path: dir + "/night.yaml"), store: syntheticStore).run(observer: { i, _ in
            var o = RenderObserver()
            o.frame = { _ in if i == 0 { frames += 1 } }
            return o
        }, shouldStop: { frames >= 5 })
        #expect(first[0].status.word == "interrupted")
        let folder = dir + "/out/a.mp4.dreamvideo"
        #expect(FileManager.default.fileExists(atPath: folder + "/checkpoint.json"))
        try batchText(dir).replacingOccurrences(of: "frames: 8", with: "frames: 6").write(toFile: dir + "/night.yaml", atomically: true, encoding: .utf8)
        let second = try BatchRunner(batch: try BatchFile.load(path: dir + "/night.yaml"), store: syntheticStore)
            .run(observer: { _, _ in RenderObserver() }, shouldStop: { false })
        guard case .failed(let m) = second[0].status else { Issue.record("the changed job ran: \(second[0].status.word)"); return }
        #expect(m.contains("interrupted render of this job is kept") && m.contains("but frames was 8, now 6; set") && m.contains("--overwrite"), "only what changed: \(m)")
        #expect(FileManager.default.fileExists(atPath: folder + "/checkpoint.json"), "the checkpoint is still there")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out/a.mp4"))
        let third = try BatchRunner(batch: try BatchFile.load(path: dir + "/night.yaml"), store: syntheticStore, overwrite: true)
            .run(observer: { _, _ in RenderObserver() }, shouldStop: { false })
        #expect(third[0].status.word == "done")
        #expect(try VideoReader(path: dir + "/out/a.mp4").readAll().count == 6)
    }

    @Test func outputsItDidNotMakeAreRefused() throws {
        let dir = try setUp("batch-own")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("mine".utf8).write(to: URL(fileURLWithPath: dir + "/out/a.mp4"))
        let r = try BatchRunner(batch: try BatchFile.load(path: dir + "/night.yaml"), store: syntheticStore)
            .run(observer: { _, _ in RenderObserver() }, shouldStop: { false })
        #expect(r[0].status.word == "FAILED")
        #expect(FileManager.default.contents(atPath: dir + "/out/a.mp4") == Data("mine".utf8))
    }

    @Test func badBatchFilesAreRefusedBeforeAnythingRuns() throws {
        let dir = try setUp("batch-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func refused(_ text: String, _ fragment: String) throws {
            try text.write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
            do { _ = try BatchFile.load(path: dir + "/bad.yaml"); Issue.record("accepted: \(text)") } catch {
                #expect("\(error)".contains(fragment), "\(error)")
            }
        }
        try refused("", "empty")
        try refused("jobs: []\n", "no jobs")
        try refused("jobz:\n  - kind: zoom\n", "unknown key 'jobz' (did you mean jobs?)")
        try refused(batchText(dir).replacingOccurrences(of: "output: out/b.png", with: "output: out/a.mp4"), "writes out/a.mp4, as job 1 does")
        try refused(batchText(dir).replacingOccurrences(of: "frames: 8", with: "frames: 0"), "bad.yaml:7: frames must be 1…1000000, got '0'")
        try refused(batchText(dir).replacingOccurrences(of: "kind: image", with: "kind: gif"), "kind must be image, zoom or redream")
        try refused("jobs:\n  - kind: zoom\n    input: noise\n", "needs an output")
        do { _ = try BatchFile.load(path: dir + "/missing.yaml"); Issue.record("accepted") } catch { #expect("\(error)".contains("no such batch file")) }
    }

    /// Every job is checked before the first runs: a bad last job stops the batch before the good first one writes.
    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func aBadJobStopsTheBatchBeforeAnythingIsWritten() throws {
        let dir = try tempDir("batch-first")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        try """
        jobs:
          - kind: image
            input: noise
            size: 64x64
            output: out/good.png
            iterations: 1
            octaves: 1
          - kind: zoom
            input: noise
            output: out/bad.mp4
            size: 64x64
            frames: 0
        """.write(toFile: dir + "/b.yaml", atomically: true, encoding: .utf8)
        try CLI.expectFailure(["batch", dir + "/b.yaml"], ["b.yaml:12: frames must be 1…1000000"], status: 64)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/out").isEmpty, "job 1 did not run")
        // The same batch made good runs job 1.
        try String(contentsOfFile: dir + "/b.yaml", encoding: .utf8).replacingOccurrences(of: "frames: 0", with: "frames: 1")
            .write(toFile: dir + "/b.yaml", atomically: true, encoding: .utf8)
        #expect(try CLI.run(["batch", dir + "/b.yaml", "-q"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir + "/out/good.png"))
    }

    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func batchThroughTheCommandLine() throws {
        let dir = try tempDir("batch-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        jobs:
          - kind: zoom
            input: \(CLI.root)/samples/chelsea.png
            output: one.mp4
            size: 128x96
            frames: 3
            iterations: 1
            octaves: 1
          - kind: image
            input: nothing-here.png
            output: two.png
        """.write(toFile: dir + "/b.yaml", atomically: true, encoding: .utf8)
        try Data("not a picture".utf8).write(to: URL(fileURLWithPath: dir + "/nothing-here.png"))
        let r = try CLI.run(["batch", dir + "/b.yaml"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stdout.contains("done") && r.stdout.contains("FAILED") && r.stdout.contains("one.mp4"), "\(r.stdout)")
        #expect(r.stderr.contains("1 of 2 jobs failed"), "\(r.stderr)")
        let again = try CLI.run(["batch", dir + "/b.yaml"])
        #expect(again.stdout.contains("skipped (done earlier)"), "\(again.stdout)")
    }
}

@Suite("Layer contact sheet")
struct SweepTests {
    @Test func oneLabelledTilePerLayer() throws {
        var sweep = LayerSweep(input: "noise", model: "googlenet", layers: ["inception3a", "inception3b", "inception4a"])
        sweep.maxSide = 96; sweep.iterations = 1; sweep.octaves = 1
        var seen: [String] = []
        let sheet = try sweep.render(store: syntheticStore) { _, _, name in seen.append(name) }
        #expect(seen == ["inception3a", "inception3b", "inception4a"])
        // 2×2 grid of 96-px tiles with two label lines (scale 1: 11 px each) and 8-px gaps.
        #expect(sheet.width == 2 * (96 + 8) + 8)
        #expect(sheet.height == 2 * (96 + 2 * 11 + 4 + 8) + 8)
        // Label text is drawn under the first tile.
        var lit = 0
        for y in (8 + 96)..<(8 + 96 + 26) { for x in 8..<(8 + 96) where sheet.pixels[(y * sheet.width + x) * 3] > 200 { lit += 1 } }
        #expect(lit > 40, "label pixels: \(lit)")
        #expect(throws: DreamVideoError.self) { try LayerSweep(input: "noise", model: "googlenet", layers: ["inception9z"]).chosenLayers() }
        #expect(try LayerSweep(input: "noise", model: "efficientnet-lite0").chosenLayers().contains("blocks.10"))
    }
}
