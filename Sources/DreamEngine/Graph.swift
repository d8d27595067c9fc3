import Dispatch
import Foundation

/// A directed acyclic graph of named layers, stored in topological order.
///
/// The graph's single input is the node named `input` (an RGB 0–255 image).
/// `forward` runs only as far as the deepest node the caller asks for; `backward` walks the
/// same nodes in reverse, summing gradients where a node feeds several others.
public struct Graph: Sendable {
    public struct Node: Sendable {
        public let name: String
        public let layer: any Layer
        public let inputs: [Int]
        /// Whether `dreamvideo models layers` lists it (internal steps such as a block's
        /// expand conv are hidden unless asked for).
        public let isPublic: Bool
    }

    public static let inputName = "input"
    public private(set) var nodes: [Node] = []
    private var index: [String: Int] = [Graph.inputName: -1]

    public init() {}

    /// Appends a node fed by the named nodes (default: the previous node).
    @discardableResult
    public mutating func add(_ name: String, _ layer: any Layer, inputs: [String]? = nil, isPublic: Bool = true) throws(EngineError) -> String {
        guard index[name] == nil else { throw .invalidArgument("duplicate layer name '\(name)'") }
        let from: [Int]
        if let inputs {
            var ids: [Int] = []
            for n in inputs {
                guard let i = index[n] else { throw .unknownLayer(name: n, suggestions: []) }
                ids.append(i)
            }
            from = ids
        } else {
            from = [nodes.count - 1]
        }
        index[name] = nodes.count
        nodes.append(Node(name: name, layer: layer, inputs: from, isPublic: isPublic))
        return name
    }

    public var lastName: String { nodes.last?.name ?? Graph.inputName }

    public func nodeIndex(_ name: String) throws(EngineError) -> Int {
        guard let i = index[name], i >= 0 else {
            throw .unknownLayer(name: name, suggestions: Graph.nearest(name, in: nodes.filter(\.isPublic).map(\.name)))
        }
        return i
    }

    public var layerNames: [String] { nodes.map(\.name) }

    /// Output shapes of every node for an input of size h×w.
    public func shapes(height: Int, width: Int) throws(EngineError) -> [Shape] {
        var out: [Shape] = []
        let input = Shape(3, height, width)
        for node in nodes {
            let ins = node.inputs.map { $0 < 0 ? input : out[$0] }
            out.append(try node.layer.outputShape(ins))
        }
        return out
    }

    /// Multiply–accumulates of a forward pass up to and including node `last`.
    public func macs(height: Int, width: Int, upTo last: Int) throws(EngineError) -> Int {
        let s = try shapes(height: height, width: width)
        let input = Shape(3, height, width)
        var total = 0
        for i in 0...last {
            total += nodes[i].layer.macs(nodes[i].inputs.map { $0 < 0 ? input : s[$0] })
        }
        return total
    }

    /// The activations of one forward pass, kept for the backward pass.
    public struct Activations: Sendable {
        public let input: Tensor
        public var outputs: [Tensor?]
        public let last: Int
        public func output(_ i: Int) -> Tensor { i < 0 ? input : outputs[i]! }
    }

    /// Runs the nodes 0…`last` on `input`.
    public func forward(_ input: Tensor, upTo last: Int, options: EngineOptions = EngineOptions()) throws(EngineError) -> Activations {
        _ = try shapes(height: input.shape.h, width: input.shape.w)  // validate once, before any kernel runs
        // The heap must keep freed feature maps before the first pass, whether or not a layer calls OpenBLAS
        // (efficientnet-lite0 no longer does: returned to the kernel, every map was page-faulted back, 1.6× slower).
        BLAS.configure()
        var acts = Activations(input: input, outputs: Array(repeating: nil, count: nodes.count), last: last)
        for i in 0...last {
            let node = nodes[i]
            let t = options.profiler != nil ? DispatchTime.now().uptimeNanoseconds : 0
            acts.outputs[i] = node.layer.forward(node.inputs.map { acts.output($0) }, options: options)
            if let p = options.profiler { Graph.record(node, forward: true, since: t, into: p, options) }
        }
        return acts
    }

    /// Back-propagates `seeds` (gradients w.r.t. some node outputs) to the input image.
    public func backward(_ acts: Activations, seeds: [Int: Tensor], options: EngineOptions = EngineOptions()) -> Tensor {
        var grads: [Tensor?] = Array(repeating: nil, count: nodes.count)
        for (i, g) in seeds { grads[i] = g }
        var inputGrad = Tensor(zeros: acts.input.shape)
        var i = acts.last
        while i >= 0 {
            defer { i -= 1 }
            guard let g = grads[i].take() else { continue }
            let node = nodes[i]
            // `g` is the only reference to this gradient: the layer may reuse its storage.
            let t = options.profiler != nil ? DispatchTime.now().uptimeNanoseconds : 0
            let gins = node.layer.backward(node.inputs.map { acts.output($0) }, output: acts.output(i), gradOutput: consume g, options: options)
            if let p = options.profiler { Graph.record(node, forward: false, since: t, into: p, options) }
            for (src, gi) in zip(node.inputs, gins) {
                if src < 0 {
                    inputGrad.add(gi)
                } else if grads[src] == nil {
                    grads[src] = gi
                } else {
                    grads[src]!.add(gi)
                }
            }
        }
        return inputGrad
    }

    // MARK: profiling (for dreamvideo-bench --profile)

    static func record(_ node: Node, forward: Bool, since t: UInt64, into profiler: LayerProfiler, _ options: EngineOptions) {
        let ms = Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6
        var key = node.layer.kind
        if let c = node.layer as? Conv2D {
            key += " \(c.kernel.h)x\(c.kernel.w)/\(c.stride.h)" + (c.activeWinograd(options) != nil ? " winograd" : "")
            if ProcessInfo.processInfo.environment["DREAMVIDEO_PROFILE_DETAIL"] != nil { key += " \(c.inChannels)→\(c.outChannels)" }
        } else if let f = node.layer as? ExpandDepthwise {
            key += " \(f.depthwise.kernel.h)x\(f.depthwise.kernel.w)/\(f.depthwise.stride.h)"
            if ProcessInfo.processInfo.environment["DREAMVIDEO_PROFILE_DETAIL"] != nil { key += " \(f.expand.inChannels)→\(f.expand.outChannels)" }
        }
        profiler.record(key, forward: forward, milliseconds: ms)
    }

    /// Names closest to `name` by edit distance, for "did you mean" messages.
    public static func nearest(_ name: String, in names: [String], count: Int = 3) -> [String] {
        let scored: [(name: String, d: Int)] = names.map { ($0, editDistance(name.lowercased(), $0.lowercased())) }
        let sorted = scored.sorted { (l, r) -> Bool in l.d != r.d ? l.d < r.d : l.name < r.name }
        return sorted.prefix(count).map { $0.name }
    }
}

/// The Levenshtein distance between two strings (insertions, deletions and substitutions of characters).
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    for i in 1...a.count {
        var cur = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count { cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)) }
        prev = cur
    }
    return prev[b.count]
}
