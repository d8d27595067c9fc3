import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import Testing

@Suite("Dream control", .serialized)
struct ControlTests {
    /// Mean and standard deviation of Rec. 601 luminance, and mean chroma magnitude.
    func stats(_ x: Tensor) -> (mean: Double, std: Double, chroma: Double) {
        let p = x.shape.plane
        var ys: [Double] = [], c = 0.0
        for i in 0..<p {
            let r = Double(x.data[i]), g = Double(x.data[p + i]), b = Double(x.data[2 * p + i])
            ys.append(0.299 * r + 0.587 * g + 0.114 * b)
            let cb = -0.168736 * r - 0.331264 * g + 0.5 * b, cr = 0.5 * r - 0.418688 * g - 0.081312 * b
            c += (cb * cb + cr * cr).squareRoot()
        }
        let m = ys.reduce(0, +) / Double(p)
        return (m, (ys.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(p)).squareRoot(), c / Double(p))
    }

    /// The zoom's feedback regularisers do what they say, on the start picture of a frame.
    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func zoomFeedbackRenormalisesAndDamps() throws {
        let h = 48, w = 64, p = h * w
        var seed = Tensor(zeros: Shape(3, h, w)), previous = seed
        var rng = SeededGenerator(seed: 3)
        for i in 0..<p {
            let n = rng.gaussian(), m = rng.gaussian()
            seed.data[i] = 100 + 25 * n; seed.data[p + i] = 100 + 25 * n; seed.data[2 * p + i] = 110 + 25 * n   // dull
            previous.data[i] = 170 + 40 * m; previous.data[p + i] = 120 + 10 * m; previous.data[2 * p + i] = 60 + 20 * m  // bright, saturated
        }
        let network = try ModelStore().load("efficientnet-lite0")
        func start(_ values: [String: SettingValue]) throws -> Tensor {
            var api = values
            api["zoom"] = .number(1); api["size"] = .text("\(w)x\(h)")
            let settings = try JobSettings.resolve(kind: .zoom, sources: [.api(api)]).settings
            return try ZoomFrameMaker(settings: settings, network: network, seed: seed).start(1, previous: previous)
        }
        let s = stats(seed), before = stats(previous)
        let full = stats(try start(["renormalize": .number(1), "detail-damping": .number(0)]))
        #expect(abs(full.mean - s.mean) < 0.5 && abs(full.std - s.std) < 0.5 && abs(full.chroma - s.chroma) < 1,
                "renormalize 1 takes the seed's statistics: \(full) vs \(s)")
        let half = stats(try start(["renormalize": .number(0.5), "detail-damping": .number(0)]))
        #expect(abs(half.mean - (s.mean + before.mean) / 2) < 1, "renormalize 0.5 goes halfway: \(half.mean)")
        let none = try start(["renormalize": .number(0), "detail-damping": .number(0)])
        #expect(abs(stats(none).mean - before.mean) < 0.5, "off changes nothing but the warp")
        // Detail damping removes pixel-level texture: the mean squared difference between neighbours drops.
        func roughness(_ x: Tensor) -> Double {
            var acc = 0.0
            for y in 0..<h { for i in 1..<w { let d = Double(x.data[y * w + i] - x.data[y * w + i - 1]); acc += d * d } }
            return acc
        }
        let damped = try start(["renormalize": .number(0), "detail-damping": .number(1)])
        #expect(roughness(damped) < 0.5 * roughness(none), "detail damping 1 smooths: \(roughness(damped)) vs \(roughness(none))")
    }

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
        // Histogram mode moves the colours onto the start's: mean and covariance of the three channels together.
        let hist = try dream("histogram", "hist.png")
        func moments(_ t: Tensor) -> [Double] {
            let p = t.shape.plane
            var m = [0.0, 0.0, 0.0], c = [Double](repeating: 0, count: 9)
            for i in 0..<p { for a in 0..<3 { m[a] += Double(t.data[a * p + i]) } }
            m = m.map { $0 / Double(p) }
            for i in 0..<p { for a in 0..<3 { for b in 0..<3 { c[a * 3 + b] += (Double(t.data[a * p + i]) - m[a]) * (Double(t.data[b * p + i]) - m[b]) } } }
            return m + c.map { (abs($0) / Double(p)).squareRoot() * ($0 < 0 ? -1 : 1) }
        }
        func distance(_ a: Tensor) -> Double { zip(moments(a), moments(start)).map { abs($0 - $1) }.reduce(0, +) }
        #expect(distance(hist) < 0.3 * distance(free), "colour moments off by \(distance(hist)) with histogram, \(distance(free)) without")
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
        try #require(CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)")
        try CLI.expectFailure(base + ["--guide", dir + "/tiny.png", "--max-side", "128"], ["tiny.png", "at least"], status: 1)
        try CLI.expectFailure(base + ["--keep-colors", "sepia"], ["--keep-colors must be none, luminance or histogram"], status: 64)
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
