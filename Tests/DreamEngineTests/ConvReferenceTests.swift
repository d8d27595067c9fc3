import Foundation
import DreamEngine
import Testing

/// A plain nested-loop convolution, the reference the fast paths are checked against.
func referenceConv(_ x: Tensor, _ c: Conv2D) -> Tensor {
    let s = x.shape
    let p = c.pads(h: s.h, w: s.w)
    let os = try! c.outputShape([s])
    let cig = c.inChannels / c.groups, cog = c.outChannels / c.groups
    var out = Tensor(zeros: os)
    for o in 0..<c.outChannels {
        let g = o / cog
        for oy in 0..<os.h {
            for ox in 0..<os.w {
                var acc = Double(c.bias[o])
                for i in 0..<cig {
                    for ky in 0..<c.kernel.h {
                        for kx in 0..<c.kernel.w {
                            let iy = oy * c.stride.h - p.top + ky * c.dilation.h
                            let ix = ox * c.stride.w - p.left + kx * c.dilation.w
                            guard iy >= 0, iy < s.h, ix >= 0, ix < s.w else { continue }
                            let wv = c.weight[((o * cig + i) * c.kernel.h + ky) * c.kernel.w + kx]
                            acc += Double(wv) * Double(x[g * cig + i, iy, ix])
                        }
                    }
                }
                var v = Float(acc)
                switch c.activation {
                case .none: break
                case .relu: v = max(v, 0)
                case .relu6: v = min(max(v, 0), 6)
                }
                out[o, oy, ox] = v
            }
        }
    }
    return out
}

/// The input gradient of `c` at `x` for the output gradient `g`, by nested loops over the forward's taps
/// (the activation's derivative read off the forward output `y`).
func referenceConvInputGradient(_ x: Tensor, _ c: Conv2D, output y: Tensor, gradOutput g: Tensor) -> Tensor {
    let s = x.shape, os = y.shape
    let p = c.pads(h: s.h, w: s.w)
    let cig = c.inChannels / c.groups, cog = c.outChannels / c.groups
    var acc = [Double](repeating: 0, count: x.count)
    for o in 0..<c.outChannels {
        let grp = o / cog
        for oy in 0..<os.h {
            for ox in 0..<os.w {
                let v = y[o, oy, ox]
                let pass: Bool
                switch c.activation {
                case .none: pass = true
                case .relu: pass = v > 0
                case .relu6: pass = v > 0 && v < 6
                }
                guard pass else { continue }
                let go = Double(g[o, oy, ox])
                for i in 0..<cig {
                    for ky in 0..<c.kernel.h {
                        for kx in 0..<c.kernel.w {
                            let iy = oy * c.stride.h - p.top + ky * c.dilation.h
                            let ix = ox * c.stride.w - p.left + kx * c.dilation.w
                            guard iy >= 0, iy < s.h, ix >= 0, ix < s.w else { continue }
                            let wv = c.weight[((o * cig + i) * c.kernel.h + ky) * c.kernel.w + kx]
                            acc[((grp * cig + i) * s.h + iy) * s.w + ix] += Double(wv) * go
                        }
                    }
                }
            }
        }
    }
    var out = Tensor(zeros: s)
    for i in 0..<acc.count { out.data[i] = Float(acc[i]) }
    return out
}

@Suite("Fast convolution vs nested-loop reference")
struct ConvReferenceTests {
    @Test(arguments: [
        // cin, cout, k, stride, pad(-1 = SAME), dilation, groups, h, w
        (3, 8, 3, 1, 1, 1, 1, 13, 17), (8, 16, 1, 1, 0, 1, 1, 9, 11), (6, 6, 3, 2, -1, 1, 6, 12, 15),
        (6, 6, 5, 1, -1, 1, 6, 10, 9), (4, 6, 3, 1, 2, 2, 2, 11, 10), (3, 16, 3, 2, -1, 1, 1, 16, 16),
        (5, 7, 5, 2, -1, 1, 1, 21, 18), (16, 16, 3, 1, 1, 1, 1, 40, 33),
    ])
    func matchesReference(_ a: (Int, Int, Int, Int, Int, Int, Int, Int, Int)) throws {
        let (cin, cout, k, s, pad, d, g, h, w) = a
        var rng = SeededGenerator(seed: UInt64(cin * 131 + k * 7 + h))
        let weights = (0..<(cout * cin / g * k * k)).map { _ in rng.gaussian() }
        let bias = (0..<cout).map { _ in rng.gaussian() }
        for act in [Activation.none, .relu6] {
            let c = try Conv2D(inChannels: cin, outChannels: cout, kernel: k, stride: s,
                               padding: pad < 0 ? .same : .symmetric(pad), dilation: d, groups: g,
                               activation: act, weight: weights, bias: bias)
            let x = GradientChecker.random(Shape(cin, h, w), &rng)
            let fast = c.forward([x]), ref = referenceConv(x, c)
            #expect(fast.shape == ref.shape)
            // Relative to the output's scale: the Winograd path (16×16 case) rounds differently from direct sums.
            let err = zip(fast.data, ref.data).map { abs($0 - $1) }.max() ?? 0
            let scale = max(1, ref.data.map(abs).max() ?? 1)
            #expect(err / scale < 1e-4, "max error \(err) at scale \(scale)")
        }
    }

    /// `c` on a random input of `shape`, forward and input gradient (for a random output gradient) against the nested
    /// loops, each to 1e-4 of the reference's scale; returns the input, output, output gradient and input gradient.
    func expectForwardAndBackwardMatchReference(_ c: Conv2D, _ shape: Shape, _ rng: inout SeededGenerator, _ what: String)
        -> (x: Tensor, y: Tensor, g: Tensor, gin: Tensor) {
        let x = GradientChecker.random(shape, &rng)
        let y = c.forward([x]), ref = referenceConv(x, c)
        #expect(y.shape == ref.shape)
        let err = zip(y.data, ref.data).map { abs($0 - $1) }.max() ?? 1
        #expect(err < 1e-4 * max(1, ref.data.map(abs).max() ?? 1), "forward, \(what): \(err)")
        let g = GradientChecker.random(y.shape, &rng)
        let gin = c.backward([x], output: y, gradOutput: g)[0]
        let gref = referenceConvInputGradient(x, c, output: y, gradOutput: g)
        #expect(gin.shape == x.shape)
        let gerr = zip(gin.data, gref.data).map { abs($0 - $1) }.max() ?? 1
        #expect(gerr < 1e-4 * max(1, gref.data.map(abs).max() ?? 1), "backward, \(what): \(gerr)")
        return (x, y, g, gin)
    }

    /// The depthwise kernels (3×3 and 5×5, strides 1 and 2, even and odd sizes, SAME padding that is uneven for stride 2,
    /// symmetric padding, fused ReLU6) forward and backward against nested loops, at widths that use the 32-wide body,
    /// the 16-wide step and the scalar tail, and both parities of the left padding.
    @Test(arguments: [
        // k, stride, pad (-1 = SAME), h, w
        (3, 1, -1, 19, 70), (3, 2, -1, 20, 75), (3, 2, -1, 21, 70), (5, 1, -1, 13, 53), (5, 2, -1, 18, 81),
        (5, 2, -1, 17, 66), (3, 2, 1, 16, 67), (5, 2, 1, 15, 40), (3, 1, 1, 9, 33), (5, 2, 2, 12, 97),
    ])
    func depthwiseMatchesReference(_ a: (Int, Int, Int, Int, Int)) throws {
        let (k, s, pad, h, w) = a
        let channels = 5
        var rng = SeededGenerator(seed: UInt64(k * 1000 + s * 100 + h * 7 + w))
        let weights = (0..<(channels * k * k)).map { _ in rng.gaussian() * 0.4 }
        let bias = (0..<channels).map { _ in rng.gaussian() + 1 }
        for act in [Activation.none, .relu6] {
            let c = try Conv2D(inChannels: channels, outChannels: channels, kernel: k, stride: s,
                               padding: pad < 0 ? .same : .symmetric(pad), groups: channels,
                               activation: act, weight: weights, bias: bias)
            _ = expectForwardAndBackwardMatchReference(c, Shape(channels, h, w), &rng, "k \(k) s \(s) pad \(pad) \(h)×\(w)")
        }
    }

    /// Convolutions with few inputs per output (a first layer on the RGB picture) run on the panel path: forward and
    /// backward against nested loops, at sizes whose panels cross output rows; strides 1 and 2, dilation, fused ReLU6.
    /// The input gradient is bit-identical on one thread and two (the bands and the order of the sums do not
    /// depend on the thread count).
    @Test(arguments: [
        // cin, cout, k, stride, pad (-1 = SAME), dilation, h, w
        (3, 32, 3, 2, -1, 1, 33, 150), (3, 8, 3, 1, 1, 1, 20, 70), (2, 5, 5, 2, 2, 1, 17, 81), (3, 6, 7, 2, 3, 1, 21, 90),
        (2, 4, 3, 1, 2, 2, 15, 40), (3, 16, 3, 2, -1, 1, 64, 64), (4, 3, 3, 3, 1, 1, 19, 37),
    ])
    func smallConvolutionsMatchReference(_ a: (Int, Int, Int, Int, Int, Int, Int, Int)) throws {
        let (cin, cout, k, s, pad, d, h, w) = a
        var rng = SeededGenerator(seed: UInt64(cin * 977 + cout * 31 + k * 7 + h + w))
        let weights = (0..<(cout * cin * k * k)).map { _ in rng.gaussian() * 0.3 }
        let bias = (0..<cout).map { _ in rng.gaussian() + 1 }
        for act in [Activation.none, .relu6] {
            let c = try Conv2D(inChannels: cin, outChannels: cout, kernel: k, stride: s,
                               padding: pad < 0 ? .same : .symmetric(pad), dilation: d, activation: act, weight: weights, bias: bias)
            #expect(c.usesPanels)
            let (x, y, g, gin) = expectForwardAndBackwardMatchReference(c, Shape(cin, h, w), &rng, "\(a)")
            var one = EngineOptions()
            one.threads = 1
            #expect(c.backward([x], output: y, gradOutput: g, options: one)[0].data == gin.data, "one thread against two \(a)")
        }
    }

    /// 1×1 convolutions on the micro-kernels, including the wide panels used when K is small (several 64- or 32-column
    /// panels packed together, output rows eight at a time across them): K from 5 to 112, row counts that are not a
    /// multiple of the row group, planes that end in a partial panel and a partial wide panel. Forward and backward
    /// against the nested loops; one thread, two threads, AVX2 and AVX-512 give the same bits.
    @Test(arguments: [
        // cin, cout, h, w
        (16, 96, 37, 53), (24, 13, 41, 67), (5, 21, 9, 300), (40, 36, 23, 29), (112, 20, 17, 19), (96, 16, 31, 45),
    ])
    func pointwiseMatchesReference(_ a: (Int, Int, Int, Int)) throws {
        let (cin, cout, h, w) = a
        var rng = SeededGenerator(seed: UInt64(cin * 613 + cout * 17 + h + w))
        let weights = (0..<(cout * cin)).map { _ in rng.gaussian() * 0.4 }
        let bias = (0..<cout).map { _ in rng.gaussian() + 1 }
        for act in [Activation.none, .relu6] {
            let c = try Conv2D(inChannels: cin, outChannels: cout, kernel: 1, activation: act, weight: weights, bias: bias)
            let (x, y, g, gin) = expectForwardAndBackwardMatchReference(c, Shape(cin, h, w), &rng, "\(a) \(act)")
            for (threads, avx512) in [(1, true), (2, true), (1, false), (2, false)] {
                var o = EngineOptions()
                o.threads = threads
                o.avx512 = avx512
                #expect(c.forward([x], options: o).data == y.data, "forward, \(threads) threads, avx512 \(avx512), \(a)")
                #expect(c.backward([x], output: y, gradOutput: g, options: o)[0].data == gin.data,
                        "backward, \(threads) threads, avx512 \(avx512), \(a)")
            }
        }
    }

    @Test func bandedIm2colMatchesUnbanded() throws {
        var rng = SeededGenerator(seed: 5)
        let c = try Conv2D(inChannels: 4, outChannels: 5, kernel: 3, stride: 1, padding: .symmetric(1),
                           weight: (0..<180).map { _ in rng.gaussian() })
        let x = GradientChecker.random(Shape(4, 23, 19), &rng)
        var plain = EngineOptions()
        plain.pointwiseKernel = false  // im2col, not the panel path
        let whole = c.forward([x], options: plain)
        let gWhole = c.backward([x], output: whole, gradOutput: whole, options: plain)[0]
        var small = plain
        small.maxColumnFloats = 36 * 19 * 2  // two output rows per band
        let banded = c.forward([x], options: small)
        let gBanded = c.backward([x], output: banded, gradOutput: banded, options: small)[0]
        #expect(zip(whole.data, banded.data).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(zip(gWhole.data, gBanded.data).allSatisfy { abs($0 - $1) < 1e-4 })
    }

    @Test func samePaddingPutsTheOddPixelBottomRight() throws {
        let c = try Conv2D(inChannels: 1, outChannels: 1, kernel: 3, stride: 2, padding: .same, weight: [Float](repeating: 1, count: 9))
        let p = c.pads(h: 8, w: 8)
        #expect(p.top == 0 && p.left == 0 && p.bottom == 1 && p.right == 1)
        let p5 = try Conv2D(inChannels: 1, outChannels: 1, kernel: 5, stride: 2, padding: .same, weight: [Float](repeating: 1, count: 25)).pads(h: 8, w: 9)
        #expect(p5.top == 1 && p5.bottom == 2 && p5.left == 2 && p5.right == 2)
        #expect(try c.outputShape([Shape(1, 8, 9)]) == Shape(1, 4, 5))
    }

    @Test func badWeightsAreRejected() {
        #expect(throws: EngineError.self) { try Conv2D(inChannels: 3, outChannels: 4, kernel: 3, weight: [1, 2, 3]) }
        #expect(throws: EngineError.self) { try Conv2D(inChannels: 3, outChannels: 4, kernel: 3, groups: 2, weight: []) }
    }
}

@Suite("Winograd F(4×4, 3×3)")
struct WinogradTests {
    /// Both ways through: runs of tiles kept in cache (whole rows, and runs of 32 with a shorter last one) and bands of
    /// tile rows.
    /// With the bias and activation applied as outputs are written, and the activation's mask as inputs are read.
    @Test(arguments: [(24, 16, 13, 17, Activation.relu), (8, 32, 4, 4, .none), (16, 8, 9, 6, .relu6),
                      (32, 32, 33, 31, .relu), (8, 8, 1, 5, .relu), (8, 16, 9, 150, .relu6)],
          ["runs", "runs of 32", "bands"])
    func forwardAndInputGradientMatchTheReference(_ a: (Int, Int, Int, Int, Activation), _ mode: String) throws {
        let (cin, cout, h, w, activation) = a
        var o = EngineOptions()
        o.threads = 2
        switch mode {
        case "runs of 32": o.winogradBlockFloats = 36 * (cin + cout) * 32  // the shortest run allowed
        case "bands": o.winogradBlockFloats = 0
        default: break
        }
        var rng = SeededGenerator(seed: UInt64(cin * 100 + h))
        let weights = (0..<(cout * cin * 9)).map { _ in rng.gaussian() }
        let bias = (0..<cout).map { _ in rng.gaussian() }
        let conv = try Conv2D(inChannels: cin, outChannels: cout, kernel: 3, padding: .symmetric(1), activation: activation,
                              weight: weights, bias: bias)
        let x = GradientChecker.random(Shape(cin, h, w), &rng, scale: 10)
        let y = conv.forward([x], options: o), ref = referenceConv(x, conv)
        let scale = ref.data.map(abs).max()!
        let err = zip(y.data, ref.data).map { abs($0 - $1) }.max()!
        #expect(err / scale < 1e-4, "forward max relative error \(err / scale)")

        // dL/dx for L = Σ y·g is the convolution of g ⊙ act'(y) with the kernels rotated 180° and channels swapped.
        let g = GradientChecker.random(y.shape, &rng)
        var masked = g
        for i in 0..<g.count {
            let yi = y.data[i]  // the mask the layer reads: its own output
            let passes = activation == .none || (yi > 0 && (activation == .relu || yi < 6))
            if !passes { masked.data[i] = 0 }
        }
        var rotated = [Float](repeating: 0, count: weights.count)
        for o in 0..<cout { for i in 0..<cin { for ky in 0..<3 { for kx in 0..<3 {
            rotated[((i * cout + o) * 3 + (2 - ky)) * 3 + (2 - kx)] = weights[((o * cin + i) * 3 + ky) * 3 + kx]
        } } } }
        let adjoint = try Conv2D(inChannels: cout, outChannels: cin, kernel: 3, padding: .symmetric(1), weight: rotated)
        let gin = conv.backward([x], output: y, gradOutput: g, options: o)[0], gref = referenceConv(masked, adjoint)
        let gscale = gref.data.map(abs).max()!
        #expect(gscale > 0, "the activation masked every gradient: nothing compared")
        let gerr = zip(gin.data, gref.data).map { abs($0 - $1) }.max()!
        #expect(gerr / gscale < 1e-4, "input gradient max relative error \(gerr / gscale)")

        // The same bits on one thread (a farm task's share of a node can be one core).
        var single = o; single.threads = 1
        let y1 = conv.forward([x], options: single), gin1 = conv.backward([x], output: y1, gradOutput: g, options: single)[0]
        #expect(y1.data.map(\.bitPattern) == y.data.map(\.bitPattern), "forward differs on one thread")
        #expect(gin1.data.map(\.bitPattern) == gin.data.map(\.bitPattern), "input gradient differs on one thread")
    }
}

@Suite("Max pooling")
struct MaxPoolTests {
    /// Nested loops: each window's first maximal input (row by row) gives the output and takes the gradient.
    static func reference(_ x: Tensor, _ p: MaxPool2D, gradOutput g: Tensor) -> (Tensor, Tensor) {
        let os = try! p.outputShape([x.shape])
        var out = Tensor(zeros: os), gin = Tensor(zeros: x.shape)
        for c in 0..<os.c { for oy in 0..<os.h { for ox in 0..<os.w {
            var best: (Int, Int)? = nil
            for y in max(0, oy * p.stride - p.padding)..<min(x.shape.h, oy * p.stride - p.padding + p.kernel) {
                for xx in max(0, ox * p.stride - p.padding)..<min(x.shape.w, ox * p.stride - p.padding + p.kernel) {
                    if best == nil || x[c, y, xx] > x[c, best!.0, best!.1] { best = (y, xx) }
                }
            }
            guard let (by, bx) = best else { continue }
            out[c, oy, ox] = x[c, by, bx]
            gin[c, by, bx] += g[c, oy, ox]
        } } }
        return (out, gin)
    }

    /// The 2×2 pools (VGG's) run 16 windows at a time: same values, same winners on ties, the same NaN rule, and the
    /// odd last row and column of ceil mode, as the nested loops; over two threads.
    @Test(arguments: [(3, 9, 37, true), (2, 8, 64, false), (8, 6, 70, true), (2, 7, 33, false), (1, 3, 3, true)])
    func twoByTwoMatchesTheReference(_ a: (Int, Int, Int, Bool)) throws {
        let (c, h, w, ceil) = a
        var rng = SeededGenerator(seed: UInt64(h * 100 + w))
        var x = Tensor(zeros: Shape(c, h, w))
        // Few distinct values, so most windows hold ties; a few NaNs.
        for i in 0..<x.count { x.data[i] = Float(Int(rng.next() % 5)) - 2 }
        for _ in 0..<3 { x.data[Int(rng.next() % UInt64(x.count))] = .nan }
        let pool = MaxPool2D(kernel: 2, stride: 2, ceilMode: ceil)
        var options = EngineOptions(); options.threads = 2
        let y = pool.forward([x], options: options)
        let g = GradientChecker.random(y.shape, &rng)
        let gin = pool.backward([x], output: y, gradOutput: g, options: options)[0]
        let (yRef, ginRef) = Self.reference(x, pool, gradOutput: g)
        #expect(y.shape == yRef.shape)
        let forwardDiffers = zip(y.data, yRef.data).filter { $0.bitPattern != $1.bitPattern }.count
        let gradientDiffers = zip(gin.data, ginRef.data).filter { $0 != $1 }.count
        #expect(forwardDiffers == 0, "\(forwardDiffers) of \(y.count) outputs differ")
        #expect(gradientDiffers == 0, "\(gradientDiffers) of \(gin.count) input gradients differ")
    }
}

/// The 1×1 kernels' activations cost next to nothing (one run, ratios only). Written after the AVX2 kernel's ReLU6
/// went through out-of-line generic `pointwiseMin`/`pointwiseMax` calls that made an AVX2 machine's EfficientNet
/// step 4.5 times slower (the AVX-512 kernels had been fixed for the same, so one machine never saw it).
@Suite("Activation cost in the 1×1 kernels")
struct PointwiseActivationCostTests {
    @Test(arguments: [false, true])
    func reluSixCostsLittleMoreThanNoActivation(avx512: Bool) throws {
        var rng = SeededGenerator(seed: 7)
        let (cin, cout, h, w) = (40, 240, 48, 64)
        let x = GradientChecker.random(Shape(cin, h, w), &rng, scale: 2)
        func layer(_ a: Activation) throws -> Conv2D {
            var r = SeededGenerator(seed: 3)
            return try Conv2D(inChannels: cin, outChannels: cout, kernel: 1, activation: a,
                              weight: (0..<(cin * cout)).map { _ in r.gaussian() * 0.3 }, bias: (0..<cout).map { _ in r.gaussian() })
        }
        var o = EngineOptions()
        o.threads = 1
        o.avx512 = avx512
        let plain = try layer(.none), six = try layer(.relu6)
        #expect(six.forward([x], options: o).data.allSatisfy { $0 >= 0 && $0 <= 6 })
        // Interleaved, best of many: another test's load slows both alike.
        var best = (plain: Double.infinity, six: Double.infinity)
        for _ in 0..<15 {
            for (k, l) in [plain, six].enumerated() {
                let t0 = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<4 { _ = l.forward([x], options: o) }
                let t = Double(DispatchTime.now().uptimeNanoseconds - t0)
                if k == 0 { best.plain = Swift.min(best.plain, t) } else { best.six = Swift.min(best.six, t) }
            }
        }
        #expect(best.six < 1.5 * best.plain, "ReLU6 \(best.six / 1e6) ms against no activation \(best.plain / 1e6) ms (avx512 \(avx512))")
    }
}

/// The fused expansion + depthwise layer of EfficientNet's blocks (`ExpandDepthwise`) against the two layers it replaces.
@Suite("Expansion and depthwise convolution in bands")
struct ExpandDepthwiseTests {
    static func layers(cin: Int, mid: Int, k: Int, s: Int, seed: UInt64, expandActivation: Activation = .relu6) throws -> (Conv2D, Conv2D) {
        var rng = SeededGenerator(seed: seed)
        // Biases around 1 and weights of ±0.5 put the ReLU6s' inputs on both sides of 0 and of 6.
        let e = try Conv2D(inChannels: cin, outChannels: mid, kernel: 1, activation: expandActivation,
                           weight: (0..<(mid * cin)).map { _ in rng.gaussian() * 0.7 }, bias: (0..<mid).map { _ in rng.gaussian() + 1 })
        let d = try Conv2D(inChannels: mid, outChannels: mid, kernel: k, stride: s, padding: .same, groups: mid, activation: .relu6,
                           weight: (0..<(mid * k * k)).map { _ in rng.gaussian() * 0.5 }, bias: (0..<mid).map { _ in rng.gaussian() + 1 })
        return (e, d)
    }

    /// Forward and input gradient are the two layers' to the bit, for bands of one row of the wide map up to the whole
    /// map (several rows with a partial last band, backward bands starting at odd rows), strides 1 and 2, 3×3 and 5×5,
    /// even and odd sizes (SAME padding uneven for stride 2), an expansion with ReLU6, ReLU or none, one thread and
    /// two, AVX2 and AVX-512, at widths that use the kernels' wide bodies and their tails.
    @Test(arguments: [
        // k, stride, h, w
        (3, 1, 19, 70), (3, 2, 20, 75), (3, 2, 21, 70), (5, 1, 13, 53), (5, 2, 18, 81), (5, 2, 17, 66), (3, 2, 7, 9), (5, 1, 5, 4),
        (3, 2, 2, 3), (5, 2, 1, 1),
    ])
    func bandsGiveTheTwoLayersValues(_ a: (Int, Int, Int, Int)) throws {
        let (k, s, h, w) = a
        let cin = 6, mid = 20
        for act in [Activation.relu6, .relu, .none] {
        let (e, d) = try ExpandDepthwiseTests.layers(cin: cin, mid: mid, k: k, s: s, seed: UInt64(k * 100 + s * 10 + h * w), expandActivation: act)
        var rng = SeededGenerator(seed: UInt64(h * 1000 + w))
        let x = GradientChecker.random(Shape(cin, h, w), &rng, scale: 2)
        let wide = e.forward([x])
        let zRef = d.forward([wide])
        let g = GradientChecker.random(zRef.shape, &rng)
        let ginRef = e.backward([x], output: wide, gradOutput: d.backward([wide], output: zRef, gradOutput: g)[0])[0]
        // Bands of 1 row, of 2 (backward) and 1–2 (forward), 3 (backward; starting at odd rows) and 2–5 (forward), all of
        // it; and the default least rows with tiny bands.
        for (bandFloats, least) in [(1, 1), (4 * mid * w, 1), (7 * mid * w, 1), (1 << 18, 1), (1, 4)] {
            for threads in [1, 2] {
                for avx512 in [false, true] {
                    var f = try ExpandDepthwise(expand: e, depthwise: d)
                    f.bandFloats = bandFloats
                    f.minimumRows = least
                    var o = EngineOptions()
                    o.threads = threads
                    o.avx512 = avx512
                    let what = "k \(k) s \(s) \(h)×\(w), \(act), bands of \(bandFloats) floats (\(least) rows at least), \(threads) thread(s), avx512 \(avx512)"
                    #expect(f.banded(o))
                    let z = f.forward([x], options: o)
                    #expect(z.shape == zRef.shape && z.data == zRef.data, "forward, \(what)")
                    let gin = f.backward([x], output: z, gradOutput: g, options: o)[0]
                    #expect(gin.shape == ginRef.shape && gin.data == ginRef.data, "input gradient, \(what)")
                }
            }
        }
        // Without the 1×1 kernel (the bench's --no-pointwise) the layer runs the two layers.
        var off = EngineOptions()
        off.pointwiseKernel = false
        let f = try ExpandDepthwise(expand: e, depthwise: d)
        let z = f.forward([x], options: off)
        let gin = f.backward([x], output: z, gradOutput: g, options: off)[0]
        let gRef = e.backward([x], output: e.forward([x], options: off), gradOutput: d.backward([e.forward([x], options: off)], output: d.forward([e.forward([x], options: off)], options: off), gradOutput: g, options: off)[0], options: off)[0]
        #expect(z.data == d.forward([e.forward([x], options: off)], options: off).data && gin.data == gRef.data, "unfused fallback \(a)")
        }
    }

    /// Only SAME padding is accepted (every output row's window must meet the input for the bands).
    @Test func otherPaddingIsRefused() throws {
        let e = try Conv2D(inChannels: 2, outChannels: 4, kernel: 1, activation: .relu6, weight: [Float](repeating: 0.1, count: 8), bias: [0, 0, 0, 0])
        let d = try Conv2D(inChannels: 4, outChannels: 4, kernel: 3, padding: .symmetric(4), groups: 4, activation: .relu6,
                           weight: [Float](repeating: 0.1, count: 36), bias: [0, 0, 0, 0])
        #expect(throws: EngineError.self) { try ExpandDepthwise(expand: e, depthwise: d) }
    }

    /// The input gradient against central differences (bands of two rows, so the check crosses band edges).
    @Test func gradientMatchesFiniteDifferences() throws {
        for (k, s, h, w) in [(3, 2, 9, 8), (5, 1, 7, 6)] {
            let (e, d) = try ExpandDepthwiseTests.layers(cin: 3, mid: 5, k: k, s: s, seed: 21)
            var f = try ExpandDepthwise(expand: e, depthwise: d)
            f.bandFloats = 2 * 5 * w
            f.minimumRows = 1
            var rng = SeededGenerator(seed: 5)
            let x = GradientChecker.random(Shape(3, h, w), &rng, scale: 0.5)
            var c = GradientChecker(); c.h = 1e-3; c.absTolerance = 5e-3; c.maxCoordinates = 80
            try c.check(f, inputs: [x])
        }
    }

    /// EfficientNet-Lite0 built with the fused layers and without: the same activations and input gradient to the bit,
    /// on a picture big enough for the early blocks to be made in several bands.
    @Test func efficientNetWithFusedBlocksIsTheSameNetwork() throws {
        let weights = WeightStore.synthetic(seed: 4)
        let fused = try EfficientNetLite0.build(weights, fused: true), plain = try EfficientNetLite0.build(weights, fused: false)
        #expect(fused.nodes.contains { $0.layer is ExpandDepthwise } && !plain.nodes.contains { $0.layer is ExpandDepthwise })
        var rng = SeededGenerator(seed: 9)
        var x = GradientChecker.random(Shape(3, 300, 310), &rng, scale: 40)
        for i in 0..<x.count { x.data[i] += 128 }
        // Blocks 1–3, whose expansions read 16–24 channels, are fused (the others' wide maps are smaller, and making a
        // wide map again from 40–192 channels in the backward pass would cost more than reading it).
        let fusedNames = fused.nodes.filter { $0.layer is ExpandDepthwise }.map(\.name)
        #expect(fusedNames == ["blocks.1.depthwise", "blocks.2.depthwise", "blocks.3.depthwise"], "fused: \(fusedNames)")
        for name in ["blocks.1", "blocks.4", "blocks.11", "blocks.15"] {
            let a = try fused.forward(x, upTo: try fused.nodeIndex(name)), b = try plain.forward(x, upTo: try plain.nodeIndex(name))
            let ya = a.output(try fused.nodeIndex(name)), yb = b.output(try plain.nodeIndex(name))
            #expect(ya.data == yb.data, "\(name) activations")
            let ga = fused.backward(a, seeds: [try fused.nodeIndex(name): ya]), gb = plain.backward(b, seeds: [try plain.nodeIndex(name): yb])
            #expect(ga.data == gb.data, "\(name) input gradient")
            #expect(ga.data.contains { $0 != 0 }, "\(name): the gradient reaches the picture")
        }
    }
}
