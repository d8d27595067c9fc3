import DreamEngine
import Foundation
import Testing

/// A tiny network with a "classifier": conv → relu → conv → global pool → 1×1 conv (logits).
func tinyNetwork() throws -> Network {
    let def = ModelDefinition(
        name: "tiny", summary: "test", logits: "fc", suggestedLayers: [], tileSize: 512,
        build: { (w: WeightStore) throws(EngineError) -> Graph in
            var g = Graph()
            try g.conv("a", w, weightKey: "a.w", biasKey: "a.b", in: 3, out: 8, kernel: 3, padding: .symmetric(1), activation: .relu, inputs: [Graph.inputName])
            try g.conv("b", w, weightKey: "b.w", biasKey: "b.b", in: 8, out: 6, kernel: 3, padding: .symmetric(1), activation: .none)
            try g.add("pool", AvgPool2D.global)
            try g.conv("fc", w, weightKey: "fc.w", biasKey: "fc.b", in: 6, out: 4, kernel: 1, activation: .none)
            return g
        })
    return try Network(definition: def, weights: .synthetic(seed: 11))
}

/// Central differences of the dreamer's objective with respect to input pixels. The tolerance covers
/// float32 rounding of the objective; `allowedFailures` covers objectives that are only piecewise smooth
/// (a step may cross to another piece).
func checkObjectiveGradient(_ dreamer: Dreamer, _ x: Tensor, coordinates: Int = 40, h: Float = 0.05, allowedFailures: Int = 0,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
    let (value, g) = try dreamer.objectiveAndGradient(x)
    var rng = SeededGenerator(seed: 3)
    var failures: [String] = []
    for _ in 0..<coordinates {
        let i = rng.int(in: 0...(x.count - 1))
        var p = x, m = x
        p.data[i] += h; m.data[i] -= h
        let fd = (try dreamer.objectiveAndGradient(p).0 - dreamer.objectiveAndGradient(m).0) / Double(2 * h)
        let err = abs(fd - Double(g.data[i]))
        if err > 1e-4 + 2e-2 * abs(fd) + 2e-7 * abs(value) / Double(h) { failures.append("pixel \(i): analytic \(g.data[i]), numeric \(fd)") }
    }
    #expect(failures.count <= allowedFailures, "\(failures.count) of \(coordinates) coordinates differ: \(failures.prefix(4))", sourceLocation: sourceLocation)
}

@Suite("Objectives: channels, classes, guides")
struct ObjectiveTests {
    func input(_ seed: UInt64 = 5) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        var t = Tensor(zeros: Shape(3, 12, 12))
        for i in 0..<t.count { t.data[i] = 128 + 40 * rng.gaussian() }
        return t
    }

    @Test func channelObjectiveGradientMatchesFiniteDifferences() throws {
        let net = try tinyNetwork()
        let d = try Dreamer(network: net, settings: DreamSettings(layers: [LayerWeight("b", channels: [1, 4])], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1))
        let x = input()
        // The value is 0.5·mean over the chosen channels of act².
        let acts = try net.graph.forward(x, upTo: try net.graph.nodeIndex("b"))
        let b = acts.output(try net.graph.nodeIndex("b"))
        var expected = 0.0
        for c in [1, 4] { for i in 0..<b.shape.plane { let v = Double(b.data[c * b.shape.plane + i]); expected += 0.5 * v * v } }
        expected /= Double(2 * b.shape.plane)
        #expect(abs(try d.objectiveAndGradient(x).0 - expected) < 1e-6 * max(1, expected))
        try checkObjectiveGradient(d, x)
        // Other channels get no gradient at the layer: the whole-layer objective differs.
        let whole = try Dreamer(network: net, settings: DreamSettings(layers: [LayerWeight("b")], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1))
        #expect(try whole.objectiveAndGradient(x).1.data != d.objectiveAndGradient(x).1.data)
        #expect(throws: EngineError.self) {
            try Dreamer(network: net, settings: DreamSettings(layers: [LayerWeight("b", channels: [6])], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1))
        }
    }

    @Test func classObjectiveIsTheLogitAndItsGradient() throws {
        let net = try tinyNetwork()
        let d = try Dreamer(network: net, settings: DreamSettings(layers: [LayerWeight("fc", channels: [2], kind: .mean)], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1))
        let x = input(8)
        let fc = try net.graph.nodeIndex("fc")
        let logit = try net.graph.forward(x, upTo: fc).output(fc).data[2]
        #expect(abs(try d.objectiveAndGradient(x).0 - Double(logit)) < 1e-5)
        try checkObjectiveGradient(d, x)
        // A few steps raise it.
        var y = x
        var rng = SeededGenerator(seed: 1)
        let before = try d.objectiveAndGradient(y).0
        for _ in 0..<5 { try d.step(&y, rng: &rng) }
        #expect(try d.objectiveAndGradient(y).0 > before)
    }

    @Test func guideObjectiveGradientMatchesFiniteDifferences() throws {
        let net = try tinyNetwork()
        var rng = SeededGenerator(seed: 21)
        var guide = Tensor(zeros: Shape(3, 16, 18))
        for i in 0..<guide.count { guide.data[i] = 128 + 50 * rng.gaussian() }
        let d = try Dreamer(network: net, settings: DreamSettings(layers: [LayerWeight("b", kind: .guide)], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1),
                            guide: guide)
        // The objective is piecewise linear (a max over guide features): small steps stay on one piece.
        try checkObjectiveGradient(d, input(9), allowedFailures: 4)
        // With channels, both sides use only them.
        let dc = try Dreamer(network: net, settings: DreamSettings(layers: [LayerWeight("b", channels: [0, 3], kind: .guide)], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1),
                             guide: guide)
        try checkObjectiveGradient(dc, input(10), allowedFailures: 4)
        #expect(throws: EngineError.self) {
            try Dreamer(network: net, settings: DreamSettings(layers: [LayerWeight("b", kind: .guide)], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1))
        }
    }
}

@Suite("Colour and spectrum helpers")
struct ColorAndSpectrumTests {
    func photo() -> Tensor {
        var t = Tensor(zeros: Shape(3, 48, 64))
        for c in 0..<3 { for y in 0..<48 { for x in 0..<64 {
            t[c, y, x] = 128 + 90 * sin(Float(x) * 0.1 + Float(c) * 2) * cos(Float(y) * 0.13 - Float(c))
        } } }
        return t
    }

    @Test func keepingChromaChangesOnlyLightness() throws {
        let start = photo()
        var dream = start
        var rng = SeededGenerator(seed: 4)
        for i in 0..<dream.count { dream.data[i] = min(255, max(0, dream.data[i] + 40 * rng.gaussian())) }
        let kept = ImageOps.keepingChroma(dream, of: start)
        let p = start.shape.plane
        var chroma = 0.0, luma = 0.0, n = 0.0
        for i in 0..<p {
            func ycc(_ t: Tensor) -> (Float, Float, Float) {
                let r = t.data[i], g = t.data[p + i], b = t.data[2 * p + i]
                return (0.299 * r + 0.587 * g + 0.114 * b, -0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b)
            }
            let a = ycc(kept), s = ycc(start), d = ycc(dream)
            // Where nothing clips, the chroma is the start's and the lightness the dream's.
            if (0..<3).allSatisfy({ kept.data[$0 * p + i] > 0.5 && kept.data[$0 * p + i] < 254.5 }) {
                chroma += Double(abs(a.1 - s.1) + abs(a.2 - s.2)); luma += Double(abs(a.0 - d.0)); n += 1
            }
        }
        #expect(n > Double(p) / 2)
        #expect(chroma / n < 0.01 && luma / n < 0.01, "chroma off by \(chroma / n), lightness by \(luma / n)")
    }

    @Test func matchingHistogramsFollowsTheReference() throws {
        let reference = photo()
        var x = Tensor(zeros: Shape(3, 30, 40))
        var rng = SeededGenerator(seed: 6)
        for i in 0..<x.count { x.data[i] = min(255, max(0, 60 + 30 * rng.gaussian())) }
        let m = ImageOps.matchingHistograms(x, to: reference)
        // Kolmogorov–Smirnov distance between each channel's distribution and the reference's.
        for c in 0..<3 {
            func sorted(_ t: Tensor) -> [Float] { Array(t.data[(c * t.shape.plane)..<((c + 1) * t.shape.plane)]).sorted() }
            let a = sorted(m), b = sorted(reference)
            var ks: Double = 0
            for q in stride(from: 0.02, to: 0.99, by: 0.02) {
                let va = a[Int(q * Double(a.count))]
                let fb = Double(b.firstIndex { $0 > va } ?? b.count) / Double(b.count)
                ks = max(ks, abs(fb - q))
            }
            #expect(ks < 0.05, "channel \(c): KS distance \(ks)")
        }
    }

    /// 1/f^α noise: random phases, amplitude f^(−α/2), so the power falls as f^(−α).
    func pinkNoise(_ n: Int, alpha: Double, seed: UInt64) -> [Double] {
        var rng = SeededGenerator(seed: seed)
        var re = [Double](repeating: 0, count: n * n), im = re
        for y in 0..<n {
            for x in 0..<n {
                let fy = Double(y <= n / 2 ? y : y - n), fx = Double(x <= n / 2 ? x : x - n)
                let f = (fx * fx + fy * fy).squareRoot()
                guard f > 0 else { continue }
                let amp = pow(f, -alpha / 2), phase = Double.random(in: 0..<(2 * .pi), using: &rng)
                re[y * n + x] = amp * cos(phase); im[y * n + x] = amp * sin(phase)
            }
        }
        FFT.transform2D(&re, &im, size: n, inverse: true)
        return re
    }

    @Test(arguments: [1.5, 2.0, 2.5])
    func spectrumSlopeOfPowerLawNoise(_ alpha: Double) throws {
        let n = 256
        let noise = pinkNoise(n, alpha: alpha, seed: UInt64(alpha * 10))
        let slope = FFT.spectrumSlope(noise, size: n)
        #expect(abs(slope + alpha) < 0.1, "α \(alpha): slope \(slope)")
    }

    @Test func fftInvertsItself() {
        var re = (0..<64).map { sin(Double($0) * 0.3) + Double($0 % 7) }, im = [Double](repeating: 0, count: 64)
        let original = re
        FFT.transform(&re, &im)
        FFT.transform(&re, &im, inverse: true)
        #expect(zip(re, original).allSatisfy { abs($0 - $1) < 1e-9 } && im.allSatisfy { abs($0) < 1e-9 })
    }
}
