import DreamEngine
import ModelImport
import Foundation
import Testing

/// A small graph with fan-out, a residual Add and a Concat, viewed as one layer for gradient checks.
struct GraphAsLayer: Layer {
    let graph: Graph
    let target: Int
    var kind: String { "graph" }
    func outputShape(_ inputs: [Shape]) throws(EngineError) -> Shape {
        try graph.shapes(height: inputs[0].h, width: inputs[0].w)[target]
    }
    func forward(_ inputs: [Tensor], options: EngineOptions) -> Tensor { try! graph.forward(inputs[0], upTo: target, options: options).output(target) }
    func backward(_ inputs: [Tensor], output: Tensor, gradOutput: consuming Tensor, options: EngineOptions) -> [Tensor] {
        let acts = try! graph.forward(inputs[0], upTo: target, options: options)
        return [graph.backward(acts, seeds: [target: gradOutput], options: options)]
    }
}

@Suite("Graph")
struct GraphTests {
    func smallGraph() throws -> Graph {
        var rng = SeededGenerator(seed: 9)
        func w(_ n: Int) -> [Float] { (0..<n).map { _ in rng.gaussian() * 0.4 } }
        var g = Graph()
        try g.add("a", Conv2D(inChannels: 3, outChannels: 4, kernel: 3, padding: .symmetric(1), weight: w(108)), inputs: [Graph.inputName])
        try g.add("b", Conv2D(inChannels: 4, outChannels: 4, kernel: 1, weight: w(16)), inputs: ["a"])
        try g.add("c", Conv2D(inChannels: 4, outChannels: 4, kernel: 3, padding: .same, groups: 4, weight: w(36)), inputs: ["a"])
        try g.add("sum", Add(), inputs: ["b", "c", "a"])
        try g.add("cat", Concat(), inputs: ["sum", "a"])
        try g.add("pool", MaxPool2D(kernel: 2, stride: 2, ceilMode: true))
        try g.add("unused", Conv2D(inChannels: 8, outChannels: 2, kernel: 1, weight: w(16)))
        return g
    }

    @Test func fanOutGradientsAreSummed() throws {
        let g = try smallGraph()
        var rng = SeededGenerator(seed: 4)
        var x = GradientChecker.random(Shape(3, 7, 6), &rng, scale: 20)
        for i in 0..<x.count { x.data[i] += 128 }
        // The graph up to "cat" is linear, so a large step is exact and keeps float rounding small.
        var c = GradientChecker(); c.h = 1
        try c.check(GraphAsLayer(graph: g, target: try g.nodeIndex("cat")), inputs: [x])
    }

    @Test func forwardStopsAtTheDeepestNeededNode() throws {
        let g = try smallGraph()
        let acts = try g.forward(Tensor(repeating: 100, shape: Shape(3, 8, 8)), upTo: try g.nodeIndex("sum"))
        #expect(acts.outputs[try g.nodeIndex("sum")] != nil)
        #expect(acts.outputs[try g.nodeIndex("pool")] == nil)
        #expect(acts.outputs[try g.nodeIndex("unused")] == nil)
    }

    @Test func unknownLayersSuggestNearestNames() throws {
        let g = try smallGraph()
        #expect(throws: EngineError.unknownLayer(name: "sun", suggestions: ["sum", "a", "b"])) { try g.nodeIndex("sun") }
        let msg = EngineError.unknownLayer(name: "blocks.100", suggestions: ["blocks.10"]).description
        #expect(msg.contains("blocks.10"))
    }

}

@Suite("GoogLeNet with synthetic weights")
struct GoogLeNetTests {
    @Test func shapesMatchTorchvision() throws {
        let net = try Network(definition: GoogLeNet.definition, weights: .synthetic())
        let s = try net.graph.shapes(height: 224, width: 224)
        func shape(_ n: String) throws -> Shape { s[try net.graph.nodeIndex(n)] }
        #expect(try shape("conv1") == Shape(64, 112, 112))
        #expect(try shape("maxpool1") == Shape(64, 56, 56))
        #expect(try shape("inception3a") == Shape(256, 28, 28))
        #expect(try shape("inception3b") == Shape(480, 28, 28))
        #expect(try shape("inception4c") == Shape(512, 14, 14))
        #expect(try shape("inception4e") == Shape(832, 14, 14))
        #expect(try shape("inception5b") == Shape(1024, 7, 7))
        #expect(try shape("fc") == Shape(1000, 1, 1))
    }

    @Test func gradientThroughInceptionMatchesFiniteDifferences() throws {
        let net = try Network(definition: GoogLeNet.definition, weights: .synthetic(seed: 3))
        let target = try net.graph.nodeIndex("inception3a")
        var rng = SeededGenerator(seed: 8)
        var x = GradientChecker.random(Shape(3, 40, 36), &rng, scale: 40)
        for i in 0..<x.count { x.data[i] += 128 }
        var c = GradientChecker(); c.h = 0.5; c.maxCoordinates = 12; c.relTolerance = 3e-2; c.absTolerance = 1e-2
        try c.check(GraphAsLayer(graph: net.graph, target: target), inputs: [x])
    }

    @Test func importRejectsIncompleteStateDicts() throws {
        let expected = GoogLeNet.expectedWeights()
        var arrays: [String: NamedArray] = [:]
        for (k, shape) in expected where k != "inception4c.branch2.1.conv.weight" {
            arrays[k] = NamedArray(shape: shape, values: [Float](repeating: 0.01, count: shape.reduce(1, *)))
        }
        #expect(throws: EngineError.self) { try Network(definition: GoogLeNet.definition, weights: WeightStore(arrays)) }
        arrays["inception4c.branch2.1.conv.weight"] = NamedArray(shape: [256, 128, 3, 3], values: [Float](repeating: 0.01, count: 256 * 128 * 9))
        _ = try Network(definition: GoogLeNet.definition, weights: WeightStore(arrays))
    }
}

@Suite("safetensors")
struct SafeTensorsTests {
    @Test func roundTripAndErrors() throws {
        let a = ["x": NamedArray(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]), "b": NamedArray(shape: [1], values: [-1.5])]
        let data = try SafeTensors.encode(a, metadata: ["k": "v"])
        let (back, meta) = try SafeTensors.decode(data)
        #expect(back["x"]?.values == [1, 2, 3, 4, 5, 6] && back["x"]?.shape == [2, 3])
        #expect(back["b"]?.values == [-1.5] && meta["k"] == "v")
        #expect(try SafeTensors.encode(a) == SafeTensors.encode(a))  // deterministic bytes
        #expect(throws: EngineError.self) { try SafeTensors.decode(data.prefix(20)) }
        #expect(throws: EngineError.self) { try SafeTensors.decode(Data("garbage file that is not safetensors".utf8)) }
        var truncated = data
        truncated.removeLast(4)
        #expect(throws: EngineError.self) { try SafeTensors.decode(truncated) }
    }
}

@Suite("Image operations")
struct ImageOpsTests {
    @Test func rollIsInvertible() {
        var rng = SeededGenerator(seed: 1)
        let x = GradientChecker.random(Shape(3, 5, 7), &rng)
        let r = ImageOps.roll(x, dy: 2, dx: -3)
        #expect(r[0, 2, 0] == x[0, 0, 3])
        #expect(ImageOps.roll(r, dy: -2, dx: 3).data == x.data)
    }

    @Test func resizeAndBlurKeepConstantsConstant() {
        let x = Tensor(repeating: 77, shape: Shape(3, 9, 13))
        #expect(ImageOps.resize(x, height: 20, width: 5).data.allSatisfy { abs($0 - 77) < 1e-4 })
        #expect(ImageOps.gaussianBlur(x, sigma: 1.3).data.allSatisfy { abs($0 - 77) < 1e-3 })
    }

    /// The blur against a nested-loop reference with reflected borders: a width that uses the 16-wide body, the
    /// scalar interior and both borders, a width narrower than the kernel, and sigmas of one and several pixels.
    @Test func blurMatchesReference() {
        var rng = SeededGenerator(seed: 21)
        for (h, w, sigma) in [(9, 53, Float(1)), (7, 40, 2.5), (5, 3, 1.5), (30, 17, 0.6)] {
            let x = GradientChecker.random(Shape(2, h, w), &rng, scale: 50)
            let radius = max(1, Int((3 * sigma).rounded(.up)))
            var k = (-radius...radius).map { exp(-Double($0 * $0) / (2 * Double(sigma * sigma))) }
            let total = k.reduce(0, +)
            k = k.map { $0 / total }
            func reflect(_ i: Int, _ n: Int) -> Int {
                if n == 1 { return 0 }
                var i = i
                while i < 0 || i >= n { i = i < 0 ? -i - 1 : 2 * n - i - 1 }
                return i
            }
            let y = ImageOps.gaussianBlur(x, sigma: sigma)
            var worst = 0.0
            for c in 0..<2 {
                for oy in 0..<h {
                    for ox in 0..<w {
                        var acc = 0.0
                        for dy in -radius...radius {
                            for dx in -radius...radius {
                                acc += k[dy + radius] * k[dx + radius] * Double(x[c, reflect(oy + dy, h), reflect(ox + dx, w)])
                            }
                        }
                        worst = max(worst, abs(acc - Double(y[c, oy, ox])))
                    }
                }
            }
            #expect(worst < 1e-3, "\(h)×\(w), sigma \(sigma): \(worst)")
        }
    }

    @Test func bilinearUpscaleOfARampIsARamp() {
        var x = Tensor(zeros: Shape(1, 1, 4))
        for i in 0..<4 { x.data[i] = Float(i) * 10 }
        let y = ImageOps.resize(x, height: 1, width: 8)
        // pixel-centre alignment: output x maps to input (x + 0.5)/2 − 0.5
        #expect(abs(y.data[2] - 7.5) < 1e-5 && abs(y.data[5] - 22.5) < 1e-5 && y.data[7] == 30 && y.data[0] == 0)
    }
}

@Suite("Warp borders")
struct WarpBorderTests {
    /// A 1-row ramp 0…7 read 3 px left of the picture (a shift right by 3): what fills the new columns.
    @Test func eachModeFillsTheNewAreaItsWay() throws {
        var x = Tensor(zeros: Shape(1, 1, 8))
        for i in 0..<8 { x.data[i] = Float(i * 10) }
        let shift = Affine2D(tx: -3)  // output pixel d reads the input at d − 3
        func row(_ m: ImageOps.BorderMode) -> [Float] { ImageOps.warp(x, sampling: shift, border: m).data.map { ($0 * 100).rounded() / 100 } }
        #expect(row(.replicate) == [0, 0, 0, 0, 10, 20, 30, 40])
        #expect(row(.reflect) == [20, 10, 0, 0, 10, 20, 30, 40], "mirrored at the edge (the edge pixel twice)")
        #expect(row(.wrap) == [50, 60, 70, 0, 10, 20, 30, 40], "tiled")
        // Far outside (a zoom out to a quarter): mirrored and tiled pictures are still read, never out of bounds.
        let far = Affine2D(a: 4, d: 4, tx: -12, ty: 0)
        for m in ImageOps.BorderMode.allCases {
            let out = ImageOps.warp(x, sampling: far, border: m)
            #expect(out.data.allSatisfy { $0.isFinite && $0 >= -10 && $0 <= 80 }, "\(m): \(out.data)")
        }
        // NaN or huge positions (a broken transform) stay in bounds too.
        for m in ImageOps.BorderMode.allCases {
            #expect(ImageOps.warp(x, sampling: Affine2D(tx: .nan), border: m).data.count == 8)
            #expect(ImageOps.warp(x, sampling: Affine2D(a: 1e30, tx: -1e30), border: m).data.count == 8)
        }
    }
}

@Suite("Frame warp geometry")
struct WarpTests {
    /// A Gaussian blob centred at (x0, y0) on a dark background.
    func blob(_ w: Int, _ h: Int, _ x0: Float, _ y0: Float, sigma: Float = 2.5) -> Tensor {
        var t = Tensor(zeros: Shape(1, h, w))
        for y in 0..<h { for x in 0..<w {
            let d2 = (Float(x) - x0) * (Float(x) - x0) + (Float(y) - y0) * (Float(y) - y0)
            t[0, y, x] = 200 * Foundation.exp(-d2 / (2 * sigma * sigma))
        } }
        return t
    }

    func centroid(_ t: Tensor) -> (Float, Float) {
        var sx: Double = 0, sy: Double = 0, s: Double = 0
        for y in 0..<t.shape.h { for x in 0..<t.shape.w {
            let v = Double(max(0, t[0, y, x])); sx += v * Double(x); sy += v * Double(y); s += v
        } }
        return (Float(sx / s), Float(sy / s))
    }

    @Test func zoomMovesPointsAwayFromTheCentre() {
        let (w, h) = (81, 61)
        let c = (Float(w - 1) / 2, Float(h - 1) / 2)
        let x0: Float = 52.3, y0: Float = 20.6
        let out = ImageOps.warp(blob(w, h, x0, y0), FrameTransform(zoom: 1.25))
        let (cx, cy) = centroid(out)
        #expect(abs(cx - (c.0 + 1.25 * (x0 - c.0))) < 0.05, "x \(cx)")
        #expect(abs(cy - (c.1 + 1.25 * (y0 - c.1))) < 0.05, "y \(cy)")
    }

    @Test func rotationIsCounterClockwiseOnScreen() {
        let (w, h) = (81, 81)
        let c: Float = 40
        // A point right of centre, rotated 90° counter-clockwise on screen, ends up above the centre.
        let out = ImageOps.warp(blob(w, h, c + 20, c), FrameTransform(rotate: 90))
        let (cx, cy) = centroid(out)
        #expect(abs(cx - c) < 0.05 && abs(cy - (c - 20)) < 0.05, "(\(cx), \(cy))")
        let out2 = ImageOps.warp(blob(w, h, c + 15.5, c + 3.2), FrameTransform(rotate: 30))
        let th = Float.pi / 6
        let ex = c + 15.5 * cos(th) + 3.2 * sin(th), ey = c - 15.5 * sin(th) + 3.2 * cos(th)
        let (ax, ay) = centroid(out2)
        #expect(abs(ax - ex) < 0.05 && abs(ay - ey) < 0.05, "(\(ax), \(ay)) vs (\(ex), \(ey))")
    }

    @Test func subPixelTranslation() {
        let out = ImageOps.warp(blob(60, 50, 30, 25), FrameTransform(dx: 2.3, dy: -1.7))
        let (cx, cy) = centroid(out)
        #expect(abs(cx - 32.3) < 0.03 && abs(cy - 23.3) < 0.03, "(\(cx), \(cy))")
    }

    @Test func turnedOntoALargerCanvasAndBack() {
        // 81×61 turned 45° counter-clockwise needs a 101×101 canvas to hold all of it.
        let b = blob(81, 61, 60.3, 14.8)
        let canvas = ImageOps.turned(b, degrees: 45, height: 101, width: 101)
        let th = Float.pi / 4, dx: Float = 60.3 - 40, dy: Float = 14.8 - 30
        let ex = 50 + dx * cos(th) + dy * sin(th), ey = 50 - dx * sin(th) + dy * cos(th)
        // Beyond the picture the canvas mirrors it, so the blob's mirror images are there too: look near the blob only.
        let x0 = Int(ex.rounded()) - 10, y0 = Int(ey.rounded()) - 10
        let (cx, cy) = centroid(ImageOps.crop(canvas, y: y0, x: x0, height: 21, width: 21))
        #expect(abs(Float(x0) + cx - ex) < 0.05 && abs(Float(y0) + cy - ey) < 0.05, "(\(Float(x0) + cx), \(Float(y0) + cy)) vs (\(ex), \(ey))")
        let back = ImageOps.turned(canvas, degrees: -45, height: 61, width: 81)
        let (bx, by) = centroid(back)
        #expect(abs(bx - 60.3) < 0.05 && abs(by - 14.8) < 0.05, "(\(bx), \(by))")
        var worst: Float = 0
        for i in 0..<b.count { worst = max(worst, abs(back.data[i] - b.data[i])) }
        #expect(worst < 2, "largest difference \(worst) of 200")  // two bicubic resamplings of a σ = 2.5 px blob
    }

    @Test func turnedMirrorsThePictureAsOftenAsTheCanvasNeeds() {
        // At 0° with whole-pixel margins every sample is a pixel of the picture (bicubic weights 0, 1, 0, 0), so the
        // canvas must be the picture mirrored at its edges, again and again: margins of 20 and 16 px around a 7×5
        // picture need up to three reflections, and a 1-px-wide picture repeats its one column.
        for (w, h) in [(7, 5), (1, 4)] {
            var x = Tensor(zeros: Shape(2, h, w))
            for i in 0..<x.count { x.data[i] = Float((i * 37) % 101) }
            let canvas = ImageOps.turned(x, degrees: 0, height: h + 32, width: w + 40)
            func mirror(_ i: Int, _ n: Int) -> Int {
                if n == 1 { return 0 }
                let m = ((i % (2 * n)) + 2 * n) % (2 * n)
                return m < n ? m : 2 * n - 1 - m
            }
            var wrong = 0
            for c in 0..<2 {
                for y in 0..<(h + 32) {
                    for i in 0..<(w + 40) where canvas[c, y, i] != x[c, mirror(y - 16, h), mirror(i - 20, w)] { wrong += 1 }
                }
            }
            #expect(wrong == 0, "\(w)×\(h): \(wrong) canvas pixels are not the mirrored picture's")
        }
    }

    @Test func identityIsExact() {
        let b = blob(20, 10, 5, 5)
        #expect(ImageOps.warp(b, FrameTransform()).data == b.data)
        // Integer translation with bicubic weights (0,1,0,0) is an exact shift.
        let s = ImageOps.warp(b, FrameTransform(dx: 2, dy: 1))
        #expect(abs(s[0, 6, 7] - b[0, 5, 5]) < 1e-4)
    }
}

@Suite("PyTorch checkpoints")
struct TorchCheckpointTests {
    /// Both fixtures were written by torch.save (2.x) from the same state dict:
    /// see the values below; `bn.num_batches_tracked` is int64 and must be skipped.
    @Test(arguments: ["tiny-zip", "tiny-legacy"])
    func readsBothFormats(_ name: String) throws {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "pt", subdirectory: "Fixtures"))
        let sd = try TorchCheckpoint.read(url)
        #expect(Set(sd.keys) == ["conv.weight", "conv.bias", "view.t", "view.slice", "half"])
        #expect(sd["conv.weight"]?.shape == [2, 3, 2, 2])
        #expect(sd["conv.weight"]?.values == (0..<24).map { Float($0) / 8 - 1 })
        #expect(sd["conv.bias"]?.values == [0.5, -2.25])
        // base = arange(12).reshape(3, 4): a transposed view and an offset slice.
        #expect(sd["view.t"]?.shape == [4, 3])
        #expect(sd["view.t"]?.values == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        #expect(sd["view.slice"]?.values == [5, 6, 9, 10])
        #expect(sd["half"]?.values == [1.5, 2.5])
    }
}

@Suite("OpenBLAS kernels")
struct BLASKernelTests {
    static let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
    static let avx2: Set<String> = ["sse3", "avx", "avx2", "fma"]

    @Test func aFallbackToOldKernelsIsReplacedByWhatTheCPUHas() {
        // Debian's OpenBLAS 0.3.21 on an Emerald Rapids Xeon (CPU model 207) reports "Prescott".
        #expect(BLASKernels.better(than: "Prescott", cpuFlags: Self.avx512) == "SkylakeX")
        #expect(BLASKernels.better(than: "Core2", cpuFlags: Self.avx2) == "Haswell")
        #expect(BLASKernels.better(than: "Sandybridge", cpuFlags: Self.avx2) == "Haswell")
        #expect(BLASKernels.better(than: "Haswell", cpuFlags: Self.avx512) == "SkylakeX")
    }

    @Test func rightKernelsAndOldCPUsAreLeftAlone() {
        for core in ["SkylakeX", "Cooperlake", "SapphireRapids"] { #expect(BLASKernels.better(than: core, cpuFlags: Self.avx512) == nil) }
        for core in ["Haswell", "Zen", "SkylakeX"] { #expect(BLASKernels.better(than: core, cpuFlags: Self.avx2) == nil) }
        #expect(BLASKernels.better(than: "Prescott", cpuFlags: ["sse3", "avx"]) == nil)  // nothing better to ask for
        #expect(BLASKernels.better(than: "Prescott", cpuFlags: []) == nil)               // no /proc/cpuinfo
        #expect(BLASKernels.better(than: "Prescott", cpuFlags: ["avx512f", "avx2"]) == nil)  // AVX-512 without BW/DQ/VL, no FMA
    }
}

@Suite("AVX-512 kernels")
struct AVX512KernelTests {
    /// The AVX-512 1×1 and depthwise kernels sum in the same order with the same fused multiply-adds as the AVX2
    /// ones: the dream's objective and input gradient are bit-identical either way (so renders do not depend on it).
    @Test(.enabled(if: CPUFeatures.avx512, "this CPU has no AVX-512: only the AVX2 kernels run here"))
    func theAVX512KernelsGiveTheAVX2KernelsResults() throws {
        var network = try Network(definition: EfficientNetLite0.definition, weights: .synthetic())
        var rng = SeededGenerator(seed: 4)
        var x = Tensor(repeating: 0, shape: Shape(3, 77, 101))   // odd sizes: partial panels on every layer
        for i in 0..<x.data.count { x.data[i] = Float.random(in: 0...255, using: &rng) }
        func run(_ wide: Bool) throws -> (Double, [Float]) {
            network.options.avx512 = wide
            let d = try Dreamer(network: network, settings: DreamSettings(layers: [LayerWeight("blocks.10")], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1))
            let (v, g) = try d.objectiveAndGradient(x)
            return (v, g.data)
        }
        let (v1, g1) = try run(true), (v0, g0) = try run(false)
        #expect(v1 == v0, "objective \(v1) against \(v0)")
        #expect(g1 == g0, "input gradients differ")
        #expect(g0.contains { $0 != 0 })
    }
}

@Suite("Elementwise helpers")
struct ClampTests {
    /// The picture's clamp after every step: NaN and anything below go to the lower bound, above to the upper,
    /// on the vectorised body and the tail alike (37 values: two 16-wide blocks and 5 more).
    @Test func clampMapsNaNAndInfinitiesIntoRange() {
        let specials: [Float] = [.nan, -.infinity, .infinity, -1, 0, 255, 256, 12.5, -0.0, 1e30, -1e30]
        var t = Tensor(repeating: 0, shape: Shape(1, 1, 37))
        for i in 0..<37 { t.data[i] = specials[i % specials.count] }
        t.clamp(0, 255)
        for i in 0..<37 {
            let v = specials[i % specials.count]
            let want: Float = v.isNaN ? 0 : Swift.min(Swift.max(v, 0), 255)
            #expect(t.data[i] == want, "index \(i): \(v) → \(t.data[i]), want \(want)")
        }
    }
}
