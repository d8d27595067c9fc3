/// One operation of a network: a forward pass and the gradient with respect to its inputs.
///
/// Layers are stateless values: `backward` receives the inputs and output of the matching
/// forward call from the graph, so one layer can serve several tiles or threads at once.
/// DeepDream never needs weight gradients, so there are none.
public protocol Layer: Sendable {
    /// A short kind name for listings ("conv", "relu", "maxpool", …).
    var kind: String { get }
    /// The output shape for the given input shapes, or an error if they do not fit.
    func outputShape(_ inputs: [Shape]) throws(EngineError) -> Shape
    /// Computes the output.
    func forward(_ inputs: [Tensor], options: EngineOptions) -> Tensor
    /// Gradients of the objective with respect to each input, given the gradient w.r.t. the output.
    func backward(_ inputs: [Tensor], output: Tensor, gradOutput: consuming Tensor, options: EngineOptions) -> [Tensor]
    /// Multiply–accumulates of one forward pass (for benchmarks).
    func macs(_ inputs: [Shape]) -> Int
}

public extension Layer {
    func macs(_ inputs: [Shape]) -> Int { 0 }
}

extension Layer {
    /// The output shape inside `forward`. `Graph.forward` checks every node's shapes before any layer
    /// runs, so a failure here is a programming error (calling a layer directly with wrong shapes).
    func checkedOutputShape(_ inputs: [Shape]) -> Shape {
        do { return try outputShape(inputs) } catch {
            preconditionFailure("\(kind).forward called with input shapes \(inputs): \(error)")
        }
    }
}

/// An activation fused into the layer that produces its input.
public enum Activation: String, Sendable, Codable {
    case none, relu, relu6

    /// Multiplies `g` by the activation's derivative, read off its output `y` (scalar; see `maskGradientFast`).
    @inline(__always) func maskGradient(_ g: UnsafeMutablePointer<Float>, output y: UnsafePointer<Float>, _ n: Int) {
        switch self {
        case .none: break
        case .relu: for i in 0..<n { g[i] = y[i] > 0 ? g[i] : 0 }
        case .relu6: for i in 0..<n { let v = y[i]; g[i] = (v > 0) && (v < 6) ? g[i] : 0 }
        }
    }
}

/// Errors the engine reports: shapes that do not fit, names that do not exist, bad weights.
public enum EngineError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(String)
    case unknownLayer(name: String, suggestions: [String])
    case badWeights(String)
    case invalidArgument(String)
    /// A value that must be finite is not (NaN or infinite activations, gradients or pixels).
    case numericalFailure(String)
    /// A dream stopped because `Dreamer.shouldCancel` said so (a render told to stop cannot wait for the frame).
    case cancelled

    public var description: String {
        switch self {
        case .shapeMismatch(let s): return "shape mismatch: \(s)"
        case .unknownLayer(let name, let suggestions):
            let hint = suggestions.isEmpty ? "" : "; nearest: \(suggestions.joined(separator: ", "))"
            return "unknown layer '\(name)'\(hint)"
        case .badWeights(let s): return "bad weights: \(s)"
        case .invalidArgument(let s): return s
        case .numericalFailure(let s): return s
        case .cancelled: return "the dream was stopped"
        }
    }
}
