/// A standalone element-wise activation (ReLU or ReLU6). Convolutions usually fuse theirs instead.
public struct ActivationLayer: Layer {
    public let activation: Activation
    public init(_ activation: Activation) { self.activation = activation }
    public var kind: String { activation.rawValue }

    public func outputShape(_ inputs: [Shape]) throws(EngineError) -> Shape {
        guard inputs.count == 1 else { throw .shapeMismatch("\(kind) takes one input") }
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor], options o: EngineOptions) -> Tensor {
        var y = inputs[0]
        y.data.withUnsafeMutableBufferPointer { p in
            let b = p.baseAddress!
            parallelChunks(p.count, minChunk: 1 << 15, threads: o.threads) { r in activation.applyWithBias(b + r.lowerBound, r.count, bias: 0) }
        }
        return y
    }

    public func backward(_ inputs: [Tensor], output: Tensor, gradOutput: consuming Tensor, options o: EngineOptions) -> [Tensor] {
        var g = gradOutput
        g.data.withUnsafeMutableBufferPointer { gp in
            output.data.withUnsafeBufferPointer { yp in
                let gb = gp.baseAddress!, yb = yp.baseAddress!
                parallelChunks(gp.count, minChunk: 1 << 15, threads: o.threads) { r in
                    activation.maskGradientFast(gb + r.lowerBound, output: yb + r.lowerBound, r.count)
                }
            }
        }
        return [g]
    }
}
