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
        var y = inputs[0]
        for t in inputs.dropFirst() { y.add(t) }
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
        let x = inputs[0], p = x.shape.plane
        var y = Tensor(zeros: x.shape)
        for c in 0..<3 {
            let src = order[c] * p, dst = c * p, m = mean[c], s = scale[c]
            for i in 0..<p { y.data[dst + i] = (x.data[src + i] - m) * s }
        }
        return y
    }

    public func backward(_ inputs: [Tensor], output: Tensor, gradOutput: consuming Tensor, options o: EngineOptions) -> [Tensor] {
        let p = output.shape.plane
        var g = Tensor(zeros: output.shape)
        for c in 0..<3 {
            let src = c * p, dst = order[c] * p, s = scale[c]
            for i in 0..<p { g.data[dst + i] += gradOutput.data[src + i] * s }
        }
        return [g]
    }
}
