/// How strongly a layer responds to a picture, for choosing layers and channels.
public struct LayerStatistics: Sendable {
    public var layer: String
    /// Output shape for the whole picture.
    public var shape: Shape
    public var mean: Double
    public var max: Float
    /// Mean activation of each channel.
    public var channelMeans: [Double]
    /// The objective (over all layers of the dreamer) and the L2 norm of its gradient w.r.t. the RGB 0–255 picture.
    public var objective: Double
    public var gradientNorm: Double
}

extension Dreamer {
    /// Statistics of the first objective layer for `x`, computed in tiles like a dream step (memory
    /// stays bounded for any picture size), without jitter.
    public func inspect(_ x: Tensor) throws(EngineError) -> LayerStatistics {
        let s = x.shape
        let node = targets[0].index
        let full = try network.graph.shapes(height: s.h, width: s.w)[node]
        let tiles = self.tiles(height: s.h, width: s.w)
        var sums = [Double](repeating: 0, count: full.c)
        var count = 0
        var peak = -Float.infinity
        var objective = 0.0, gradSquares = 0.0
        for t in tiles {
            let part = tiles.count == 1 ? x : ImageOps.crop(x, y: t.y, x: t.x, height: t.height, width: t.width)
            let acts = try network.graph.forward(part, upTo: node, options: network.options)
            let a = acts.output(node)
            for c in 0..<a.shape.c { sums[c] += a.channels(c..<(c + 1)).sum() }
            count += a.shape.plane
            peak = Swift.max(peak, a.max())
            let (v, g) = try objectiveAndGradient(part)
            objective += v * Double(part.shape.plane) / Double(s.plane)
            gradSquares += g.sumOfSquares()
        }
        let means = sums.map { $0 / Double(Swift.max(1, count)) }
        return LayerStatistics(layer: settings.layers[0].name, shape: full, mean: means.reduce(0, +) / Double(Swift.max(1, means.count)),
                               max: peak, channelMeans: means, objective: objective, gradientNorm: gradSquares.squareRoot())
    }
}
