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
        let tile = settings.tileSize > 0 ? settings.tileSize : network.definition.tileSize
        let s = x.shape
        let node = targets[0].index
        let full = try network.graph.shapes(height: s.h, width: s.w)[node]
        let ny = (s.h + tile - 1) / tile, nx = (s.w + tile - 1) / tile
        var sums = [Double](repeating: 0, count: full.c)
        var count = 0
        var peak = -Float.infinity
        var objective = 0.0, gradSquares = 0.0
        for ty in 0..<ny {
            let y0 = s.h * ty / ny, y1 = s.h * (ty + 1) / ny
            for tx in 0..<nx {
                let x0 = s.w * tx / nx, x1 = s.w * (tx + 1) / nx
                let part = ny * nx == 1 ? x : ImageOps.crop(x, y: y0, x: x0, height: y1 - y0, width: x1 - x0)
                let acts = try network.graph.forward(part, upTo: node, options: network.options)
                let a = acts.output(node)
                for c in 0..<a.shape.c { sums[c] += a.channels(c..<(c + 1)).sum() }
                count += a.shape.plane
                peak = Swift.max(peak, a.max())
                let (v, g) = try objectiveAndGradient(part)
                objective += v * Double(part.shape.plane) / Double(s.plane)
                gradSquares += g.sumOfSquares()
            }
        }
        let means = sums.map { $0 / Double(Swift.max(1, count)) }
        return LayerStatistics(layer: settings.layers[0].name, shape: full, mean: means.reduce(0, +) / Double(Swift.max(1, means.count)),
                               max: peak, channelMeans: means, objective: objective, gradientNorm: gradSquares.squareRoot())
    }
}
