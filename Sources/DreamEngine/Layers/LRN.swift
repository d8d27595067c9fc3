import Foundation

/// Local response normalisation across channels (GoogLeNet, AlexNet), PyTorch's definition:
/// y_c = x_c / (k + α/n · Σ_{c' ∈ window(c)} x_{c'}²)^β with window c−⌊n/2⌋ … c+⌊(n−1)/2⌋.
public struct LRN: Layer {
    public let size: Int, alpha: Float, beta: Float, k: Float
    public init(size: Int = 5, alpha: Float = 1e-4, beta: Float = 0.75, k: Float = 1) {
        self.size = size; self.alpha = alpha; self.beta = beta; self.k = k
    }
    public var kind: String { "lrn" }

    public func outputShape(_ inputs: [Shape]) throws(EngineError) -> Shape {
        guard inputs.count == 1 else { throw .shapeMismatch("lrn takes one input") }
        return inputs[0]
    }

    private func window(_ c: Int, _ channels: Int) -> Range<Int> {
        Swift.max(0, c - size / 2)..<Swift.min(channels, c + (size - 1) / 2 + 1)
    }

    /// s[c, i] = k + α/n · Σ x²  (the denominator before the power)
    private func scale(_ x: Tensor, threads: Int) -> [Float] {
        let s = x.shape
        var sq = [Float](repeating: 0, count: s.count)
        var out = [Float](repeating: 0, count: s.count)
        let a = alpha / Float(size)
        x.data.withUnsafeBufferPointer { xp in
            sq.withUnsafeMutableBufferPointer { qp in
                for i in 0..<xp.count { qp[i] = xp[i] * xp[i] }
            }
        }
        sq.withUnsafeBufferPointer { qp in
            out.withUnsafeMutableBufferPointer { op in
                let qb = qp.baseAddress!, ob = op.baseAddress!
                parallelFor(s.c, minPerThread: 4, threads: threads) { c in
                    let o = ob + c * s.plane
                    for i in 0..<s.plane { o[i] = 0 }
                    for j in window(c, s.c) {
                        let q = qb + j * s.plane
                        for i in 0..<s.plane { o[i] += q[i] }
                    }
                    for i in 0..<s.plane { o[i] = k + a * o[i] }
                }
            }
        }
        return out
    }

    public func forward(_ inputs: [Tensor], options o: EngineOptions) -> Tensor {
        let x = inputs[0]
        let s = scale(x, threads: o.threads)
        var y = x
        for i in 0..<y.count { y.data[i] = x.data[i] * powf(s[i], -beta) }
        return y
    }

    public func backward(_ inputs: [Tensor], output: Tensor, gradOutput: consuming Tensor, options o: EngineOptions) -> [Tensor] {
        let x = inputs[0], sh = x.shape
        let s = scale(x, threads: o.threads)
        let g = gradOutput.data
        // t[c,i] = g·x·s^(−β−1), summed over the windows that contain each channel.
        var t = [Float](repeating: 0, count: sh.count)
        for i in 0..<sh.count { t[i] = g[i] * x.data[i] * powf(s[i], -beta - 1) }
        var gin = Tensor(zeros: sh)
        let coef = 2 * alpha * beta / Float(size)
        for c in 0..<sh.c {
            // channel j's value enters the window of channel c when j ∈ window(c); equivalently c ∈ window⁻¹(j)
            let cs = Swift.max(0, c - (size - 1) / 2)..<Swift.min(sh.c, c + size / 2 + 1)
            for i in 0..<sh.plane {
                let idx = c * sh.plane + i
                var acc: Float = 0
                for cc in cs { acc += t[cc * sh.plane + i] }
                gin.data[idx] = g[idx] * powf(s[idx], -beta) - coef * x.data[idx] * acc
            }
        }
        return [gin]
    }
}
