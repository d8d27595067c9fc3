import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import Testing

@Suite("Dream control", .serialized)
struct ControlTests {
    @Test func classNamesAreMatchedLikeTheLabelList() throws {
        #expect(try ClassTerm(parsing: "tiger cat").index == 282)
        #expect(try ClassTerm(parsing: "Tiger Cat").index == 282)
        #expect(try ClassTerm(parsing: "282").index == 282)
        #expect(try ClassTerm(parsing: "espresso:2").weight == Schedule(2))
        #expect(try ClassTerm(parsing: "goldfis").index == 1, "a unique start of a name")
        #expect(try ClassTerm(parsing: "jelly").index == 107, "a unique start of a word")
        for (bad, fragment) in [("crane", "crane (134), crane (517)"), ("cat", "matches several classes"), ("1000", "not 0…999"), ("unicorn", "not an ImageNet class"), ("nan", "not an ImageNet class"), ("", "empty")] {
            do { _ = try ClassTerm(parsing: bad); Issue.record("\(bad) accepted") } catch { #expect(error.message.contains(fragment), "\(bad): \(error.message)") }
        }
        // Without layers, a class objective alone; with them, both.
        let only = try JobSettings.resolve(kind: .image, sources: [.api(["class": .text("tiger cat")])]).settings
        #expect(only.layers.isEmpty && only.frameSettings(at: 0).dream.layers == [LayerWeight("fc", channels: [282], kind: .mean)])
        let both = try JobSettings.resolve(kind: .image, sources: [.api(["class": .text("tiger cat"), "layer": .text("blocks.7")])]).settings
        #expect(both.frameSettings(at: 0).dream.layers.count == 2)
    }

    @Test func keepColorsHoldsTheStartsChroma() throws {
        let dir = try tempDir("keep")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/in.png"
        try ImageIO.write(texture(width: 96, height: 64).rgbImage(), to: input)
        func dream(_ keep: String, _ name: String) throws -> Tensor {
            let job = try ImageJob.resolve(input: input, output: dir + "/" + name, sources: [.api([
                "model": .text("googlenet"), "layer": .list([.text("inception3a")]), "iterations": .number(4), "octaves": .number(1),
                "step": .number(6), "keep-colors": .text(keep)])])
            _ = try job.run(store: syntheticStore)
            return Tensor(try ImageIO.read(dir + "/" + name))
        }
        let start = Tensor(try ImageIO.read(input))
        func chromaDistance(_ a: Tensor) -> Double {
            let p = a.shape.plane
            var d = 0.0
            for i in 0..<p {
                let f = { (t: Tensor) -> (Float, Float) in
                    let r = t.data[i], g = t.data[p + i], b = t.data[2 * p + i]
                    return (-0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b)
                }
                let x = f(a), y = f(start)
                d += Double(abs(x.0 - y.0) + abs(x.1 - y.1)) / 2
            }
            return d / Double(p)
        }
        let free = try dream("none", "free.png"), kept = try dream("luminance", "kept.png")
        #expect(chromaDistance(kept) < 1.5, "chroma moved \(chromaDistance(kept)) levels with --keep-colors luminance")
        #expect(chromaDistance(free) > 2 * chromaDistance(kept), "the dream moves chroma when nothing holds it: \(chromaDistance(free))")
        _ = try dream("histogram", "hist.png")
    }

    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func classObjectiveRaisesTheClassOnAPhoto() throws {
        let dir = try tempDir("class")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func probability(_ path: String) throws -> Double {
            try ModelCatalog.classify(path, model: "efficientnet-lite0", top: 1000).first { $0.index == 282 }!.probability
        }
        let before = try probability("samples/coffee.png".absolute)
        let job = try ImageJob.resolve(input: "samples/coffee.png".absolute, output: dir + "/cat.png", sources: [.api([
            "class": .text("tiger cat"), "max-side": .number(256), "iterations": .number(6), "octaves": .number(3)])])
        _ = try job.run()
        let after = try probability(dir + "/cat.png")
        #expect(after > 100 * before && after > 0.005, "tiger cat: \(before) → \(after)")
    }

    @Test func badControlInputsAreOneLine() throws {
        let dir = try tempDir("ctl-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/o.png"
        let base = ["image", "samples/chelsea.png", "-o", out]
        try CLI.expectFailure(base + ["--layer", "blocks.10[112]"], ["blocks.10 has 112 channels (0…111)"], status: 64)
        try CLI.expectFailure(base + ["--layer", "blocks.10[1,x]"], ["channel 'x'"], status: 64)
        try CLI.expectFailure(base + ["--class", "crane"], ["crane (134), crane (517)"], status: 64)
        try CLI.expectFailure(base + ["--class", "unicorn"], ["not an ImageNet class"], status: 64)
        try CLI.expectFailure(base + ["--class", "tiger cat", "--model", "vgg16-hed"], ["vgg16-hed has none"], status: 64)
        try CLI.expectFailure(base + ["--guide", dir + "/missing.png"], ["missing.png", "no such file"], status: 1)
        try "text".write(toFile: dir + "/g.png", atomically: true, encoding: .utf8)
        try CLI.expectFailure(base + ["--guide", dir + "/g.png"], ["g.png"], status: 1)
        try ImageIO.write(RGBImage(width: 12, height: 12, fill: (200, 100, 50)), to: dir + "/tiny.png")
        if CLI.installed("efficientnet-lite0") {
            try CLI.expectFailure(base + ["--guide", dir + "/tiny.png", "--max-side", "128"], ["tiny.png", "at least"], status: 1)
        }
        try CLI.expectFailure(base + ["--keep-colors", "sepia"], ["--keep-colors must be none, luminance or histogram"], status: 64)
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
