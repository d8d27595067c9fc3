import DreamEngine
import Testing

/// Central-difference gradient checking for any layer (ggml's test-backend-ops approach):
/// loss = Σ output · R for a fixed random R, so dloss/doutput = R; the analytic input gradient
/// from `backward` is compared with (loss(x + h) − loss(x − h)) / 2h, accumulated in double
/// precision, on a capped number of coordinates.
struct GradientChecker {
    var h: Float = 1e-2
    var maxCoordinates = 60
    var absTolerance = 2e-3
    var relTolerance = 1e-2

    static func random(_ shape: Shape, _ rng: inout SeededGenerator, scale: Float = 1, awayFromZero: Float = 0) -> Tensor {
        var t = Tensor(zeros: shape)
        for i in 0..<t.count {
            var v = rng.gaussian() * scale
            if awayFromZero > 0 { v = (v >= 0 ? 1 : -1) * (abs(v) + awayFromZero) }
            t.data[i] = v
        }
        return t
    }

    static func loss(_ y: Tensor, _ r: Tensor) -> Double {
        var s = 0.0
        for i in 0..<y.count { s += Double(y.data[i]) * Double(r.data[i]) }
        return s
    }

    /// Returns the worst error found and checks every coordinate against the tolerances.
    @discardableResult
    func check(_ layer: any Layer, inputs: [Tensor], seed: UInt64 = 7, sourceLocation: SourceLocation = #_sourceLocation) throws -> Double {
        var rng = SeededGenerator(seed: seed)
        let y = layer.forward(inputs)
        let outShape = try layer.outputShape(inputs.map(\.shape))
        #expect(y.shape == outShape, sourceLocation: sourceLocation)
        let r = GradientChecker.random(y.shape, &rng)
        let grads = layer.backward(inputs, output: y, gradOutput: r)
        #expect(grads.count == inputs.count, sourceLocation: sourceLocation)
        var worst = 0.0
        for (k, x) in inputs.enumerated() {
            #expect(grads[k].shape == x.shape, sourceLocation: sourceLocation)
            let n = x.count
            let coords = n <= maxCoordinates ? Array(0..<n) : (0..<maxCoordinates).map { _ in rng.int(in: 0...(n - 1)) }
            for i in coords {
                var plus = inputs, minus = inputs
                plus[k].data[i] += h
                minus[k].data[i] -= h
                let numeric = (GradientChecker.loss(layer.forward(plus), r) - GradientChecker.loss(layer.forward(minus), r)) / Double(2 * h)
                let analytic = Double(grads[k].data[i])
                let err = abs(numeric - analytic)
                worst = max(worst, err / max(1, abs(numeric)))
                #expect(err <= absTolerance + relTolerance * abs(numeric),
                        "\(layer.kind) input \(k) coord \(i): analytic \(analytic) numeric \(numeric)", sourceLocation: sourceLocation)
            }
        }
        return worst
    }
}

@Suite("Layer backward vs finite differences")
struct LayerGradientTests {
    let checker = GradientChecker()

    func conv(_ cin: Int, _ cout: Int, k: Int, s: Int = 1, pad: Conv2D.Padding = .symmetric(0), d: Int = 1, g: Int = 1,
              act: Activation = .none, seed: UInt64 = 3) throws -> Conv2D {
        var rng = SeededGenerator(seed: seed)
        let w = (0..<(cout * cin / g * k * k)).map { _ in rng.gaussian() * 0.5 }
        let b = (0..<cout).map { _ in rng.gaussian() * 0.1 + (act == .none ? 0 : 0.3) }
        return try Conv2D(inChannels: cin, outChannels: cout, kernel: k, stride: s, padding: pad, dilation: d, groups: g,
                          activation: act, weight: w, bias: b)
    }

    func input(_ c: Int, _ h: Int, _ w: Int, seed: UInt64 = 11, awayFromZero: Float = 0) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return GradientChecker.random(Shape(c, h, w), &rng, awayFromZero: awayFromZero)
    }

    @Test func convolutionVariants() throws {
        try checker.check(conv(3, 4, k: 3, pad: .symmetric(1)), inputs: [input(3, 7, 6)])
        try checker.check(conv(3, 5, k: 3, s: 2, pad: .same), inputs: [input(3, 8, 9)])
        try checker.check(conv(2, 3, k: 5, s: 2, pad: .same), inputs: [input(2, 9, 7)])
        try checker.check(conv(2, 3, k: 3, pad: .symmetric(2), d: 2), inputs: [input(2, 7, 8)])
        try checker.check(conv(4, 6, k: 3, pad: .symmetric(1), g: 2), inputs: [input(4, 5, 6)])
        try checker.check(conv(4, 6, k: 1), inputs: [input(4, 5, 6)])
        try checker.check(conv(3, 2, k: 7, s: 2, pad: .symmetric(3)), inputs: [input(3, 11, 10)])
    }

    @Test func depthwiseConvolution() throws {
        try checker.check(conv(5, 5, k: 3, s: 1, pad: .same, g: 5), inputs: [input(5, 6, 7)])
        try checker.check(conv(4, 4, k: 3, s: 2, pad: .same, g: 4), inputs: [input(4, 8, 8)])
        try checker.check(conv(3, 3, k: 5, s: 2, pad: .same, g: 3), inputs: [input(3, 9, 11)])
        try checker.check(conv(3, 3, k: 5, s: 1, pad: .same, g: 3), inputs: [input(3, 6, 5)])
    }

    @Test func fusedActivations() throws {
        // Wider h would straddle the kinks; use a smaller step and inputs whose pre-activations avoid 0 and 6.
        var c = GradientChecker(); c.h = 1e-3; c.absTolerance = 5e-3
        try c.check(conv(3, 4, k: 3, pad: .symmetric(1), act: .relu), inputs: [input(3, 6, 6)])
        try c.check(conv(3, 3, k: 3, s: 2, pad: .same, g: 3, act: .relu6), inputs: [input(3, 8, 8)])
        try c.check(ActivationLayer(.relu), inputs: [input(2, 4, 5, awayFromZero: 0.05)])
        var x = input(2, 4, 5, awayFromZero: 0.05)
        for i in 0..<x.count { x.data[i] = x.data[i] * 4 + 3 }  // values around 0…6, some clipped
        for i in 0..<x.count where abs(x.data[i]) < 0.05 || abs(x.data[i] - 6) < 0.05 { x.data[i] += 0.2 }
        try c.check(ActivationLayer(.relu6), inputs: [x])
    }

    @Test func pooling() throws {
        // Values at least 0.05 apart (a shuffled ramp) so a ±h nudge never changes which input is the max.
        var rng = SeededGenerator(seed: 12)
        var x = Tensor(zeros: Shape(2, 7, 9))
        for (i, v) in (0..<x.count).shuffled(using: &rng).enumerated() { x.data[i] = Float(v) * 0.05 - 3 }
        try checker.check(MaxPool2D(kernel: 3, stride: 2, ceilMode: true), inputs: [x])
        try checker.check(MaxPool2D(kernel: 3, stride: 1, padding: 1, ceilMode: true), inputs: [x])
        try checker.check(MaxPool2D(kernel: 2, stride: 2, ceilMode: true), inputs: [x])
        try checker.check(AvgPool2D(kernel: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false), inputs: [x])
        try checker.check(AvgPool2D(kernel: 2, stride: 2), inputs: [x])
        try checker.check(AvgPool2D.global, inputs: [x])
    }

    @Test func localResponseNormalisation() throws {
        var c = GradientChecker(); c.h = 1e-2
        try c.check(LRN(size: 5, alpha: 0.5, beta: 0.75, k: 2), inputs: [input(7, 3, 4)])
        try c.check(LRN(size: 4, alpha: 1e-2, beta: 0.6, k: 1), inputs: [input(6, 2, 3)])
    }

    @Test func mergesAndPreprocessing() throws {
        try checker.check(Concat(), inputs: [input(2, 3, 4, seed: 1), input(3, 3, 4, seed: 2), input(1, 3, 4, seed: 3)])
        try checker.check(Add(), inputs: [input(2, 3, 4, seed: 1), input(2, 3, 4, seed: 2)])
        try checker.check(Preprocess(order: [2, 1, 0], mean: [10, 20, 30], scale: [0.5, 2, 1]), inputs: [input(3, 4, 5)])
    }

    /// Add on tensors big enough to be split over two threads, with three inputs: exactly (a + b) + c, element by element.
    @Test func addInParallelChunks() {
        let a = input(3, 200, 210, seed: 6), b = input(3, 200, 210, seed: 7), c = input(3, 200, 210, seed: 8)
        var o = EngineOptions()
        o.threads = 2
        let y = Add().forward([a, b, c], options: o)
        #expect(y.count == a.count && (0..<y.count).allSatisfy { y.data[$0] == (a.data[$0] + b.data[$0]) + c.data[$0] })
        #expect(Add().forward([a, b], options: o).data == zip(a.data, b.data).map { $0 + $1 })
    }

    /// Preprocessing on a picture big enough to be split into blocks over two threads (planes of 37 000 pixels: three
    /// blocks each, the last partial), against the formula element by element, channels reordered both ways.
    @Test func preprocessingInParallelBlocks() {
        let layer = Preprocess(order: [2, 0, 1], mean: [10, 20, 30], scale: [0.5, 2, 0.25])
        let x = input(3, 185, 200, seed: 4), p = 185 * 200
        var o = EngineOptions()
        o.threads = 2
        let y = layer.forward([x], options: o)
        let g = input(3, 185, 200, seed: 5)
        let gin = layer.backward([x], output: y, gradOutput: g, options: o)[0]
        for c in 0..<3 {
            for i in stride(from: 0, to: p, by: 7) {
                #expect(y.data[c * p + i] == (x.data[layer.order[c] * p + i] - layer.mean[c]) * layer.scale[c])
                #expect(gin.data[layer.order[c] * p + i] == g.data[c * p + i] * layer.scale[c])
            }
        }
    }
}

/// Layers called directly in tests run with the default engine options.
extension Layer {
    func forward(_ inputs: [Tensor]) -> Tensor { forward(inputs, options: EngineOptions()) }
    func backward(_ inputs: [Tensor], output: Tensor, gradOutput: Tensor) -> [Tensor] {
        backward(inputs, output: output, gradOutput: gradOutput, options: EngineOptions())
    }
}
