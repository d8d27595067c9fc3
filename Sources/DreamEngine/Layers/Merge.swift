/// Concatenation along channels (Inception modules).
public struct Concat: Layer {
    public init() {}
    public var kind: String { "concat" }

    public func outputShape(_ inputs: [Shape]) throws(EngineError) -> Shape {
        guard let first = inputs.first else { throw .shapeMismatch("concat needs inputs") }
        for s in inputs where s.h != first.h || s.w != first.w {
            throw .shapeMismatch("concat inputs differ in size: \(inputs)")
        }
        return Shape(inputs.reduce(0) { $0 + $1.c }, first.h, first.w)
    }

    public func forward(_ inputs: [Tensor], options o: EngineOptions) -> Tensor {
        let os = checkedOutputShape(inputs.map(\.shape))
        var data = [Float]()
        data.reserveCapacity(os.count)
        for t in inputs { data.append(contentsOf: t.data) }
        return Tensor(shape: os, data: data)
    }

    public func backward(_ inputs: [Tensor], output: Tensor, gradOutput: consuming Tensor, options o: EngineOptions) -> [Tensor] {
        var c0 = 0
        return inputs.map { t in
            defer { c0 += t.shape.c }
            return gradOutput.channels(c0..<(c0 + t.shape.c))
        }
    }
}

/// Element-wise sum of equally shaped inputs (residual connections).
public struct Add: Layer {
    public init() {}
    public var kind: String { "add" }

    public func outputShape(_ inputs: [Shape]) throws(EngineError) -> Shape {
        guard let first = inputs.first, inputs.allSatisfy({ $0 == first }) else {
            throw .shapeMismatch("add inputs differ: \(inputs)")
        }
        return first
    }

    public func forward(_ inputs: [Tensor], options o: EngineOptions) -> Tensor {
        // The first sum into a new tensor in one pass (`var y = inputs[0]; y.add(…)` copied inputs[0], which the
        // graph keeps, on one thread first).
        if inputs.count == 1 { return inputs[0] }
        var y = Tensor(uninitialized: inputs[0].shape)
        let n = y.count
        y.data.withUnsafeMutableBufferPointer { yp in
            inputs[0].data.withUnsafeBufferPointer { ap in
                inputs[1].data.withUnsafeBufferPointer { bp in
                    let yb = yp.baseAddress!, ab = ap.baseAddress!, bb = bp.baseAddress!
                    parallelChunks(n, minChunk: 1 << 16, threads: o.threads) { r in
                        sum(yb + r.lowerBound, ab + r.lowerBound, bb + r.lowerBound, r.count)
                    }
                }
            }
        }
        for t in inputs.dropFirst(2) { y.add(t) }
        return y
    }

    public func backward(_ inputs: [Tensor], output: Tensor, gradOutput: consuming Tensor, options o: EngineOptions) -> [Tensor] {
        Array(repeating: gradOutput, count: inputs.count)
    }
}

/// Per-model input preprocessing from RGB 0–255: y_c = (x_{order[c]} − mean_c) · scale_c.
/// Lives in the graph so that the dream always works on RGB pixels, whatever the model wants.
public struct Preprocess: Layer {
    public let order: [Int], mean: [Float], scale: [Float]
    public init(order: [Int] = [0, 1, 2], mean: [Float], scale: [Float]) {
        self.order = order; self.mean = mean; self.scale = scale
    }
    public var kind: String { "preprocess" }

    public func outputShape(_ inputs: [Shape]) throws(EngineError) -> Shape {
        guard inputs.count == 1, inputs[0].c == 3 else { throw .shapeMismatch("preprocess expects an RGB image, got \(inputs)") }
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor], options o: EngineOptions) -> Tensor {
        let x = inputs[0]
        var y = Tensor(uninitialized: x.shape)
        Self.map(x, into: &y, from: order, to: [0, 1, 2], offset: mean, scale: scale, threads: o.threads)
        return y
    }

    public func backward(_ inputs: [Tensor], output: Tensor, gradOutput: consuming Tensor, options o: EngineOptions) -> [Tensor] {
        var g = Tensor(uninitialized: output.shape)
        Self.map(gradOutput, into: &g, from: [0, 1, 2], to: order, offset: [0, 0, 0], scale: scale, threads: o.threads)
        return [g]
    }

    /// out[to[c]] = (x[from[c]] − offset[c]) · scale[c] for the three channels (`order` is a permutation, so every
    /// output plane is written once), in parallel blocks the compiler vectorises (it was a scalar loop through
    /// array subscripts: 3.9 + 3.1 ms of a 720p step).
    private static func map(_ x: Tensor, into out: inout Tensor, from: [Int], to: [Int], offset: [Float], scale: [Float], threads: Int) {
        let p = x.shape.plane, block = 16384
        let blocks = (p + block - 1) / block
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                let xb = xp.baseAddress!, ob = op.baseAddress!
                parallelFor(3 * blocks, minPerThread: 4, threads: threads) { i in
                    let c = i / blocks, lo = (i % blocks) * block, hi = Swift.min(p, lo + block)
                    let src = xb + from[c] * p, dst = ob + to[c] * p, m = offset[c], s = scale[c]
                    for j in lo..<hi { dst[j] = (src[j] - m) * s }
                }
            }
        }
    }
}
