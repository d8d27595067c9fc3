/// EfficientNet-Lite0 (ImageNet), the TF-Lite checkpoint converted to PyTorch names.
/// No squeeze-excitation, ReLU6 everywhere, TF "SAME" padding, batch norm eps 1e-3,
/// input (RGB − 127) / 128.
public enum EfficientNetLite0 {
    /// (kernel, stride, expand ratio, in, out) for each of the 16 MBConv blocks.
    static let blocks: [(k: Int, s: Int, e: Int, cin: Int, cout: Int)] = [
        (3, 1, 1, 32, 16),
        (3, 2, 6, 16, 24), (3, 1, 6, 24, 24),
        (5, 2, 6, 24, 40), (5, 1, 6, 40, 40),
        (3, 2, 6, 40, 80), (3, 1, 6, 80, 80), (3, 1, 6, 80, 80),
        (5, 1, 6, 80, 112), (5, 1, 6, 112, 112), (5, 1, 6, 112, 112),
        (5, 2, 6, 112, 192), (5, 1, 6, 192, 192), (5, 1, 6, 192, 192), (5, 1, 6, 192, 192),
        (3, 1, 6, 192, 320),
    ]

    public static let definition = ModelDefinition(
        name: "efficientnet-lite0",
        summary: "EfficientNet-Lite0 (ImageNet, 4.7M params): fast; eyes, fur and animal faces at blocks 9–11, swirls earlier",
        logits: "fc",
        suggestedLayers: ["blocks.4", "blocks.7", "blocks.10", "blocks.13"],
        tileSize: 1024,  // activations are small: 3840×2160 in 1024-px tiles stays under 1.5 GiB
        build: build)

    @Sendable static func build(_ w: WeightStore) throws(EngineError) -> Graph { try build(w, fused: true) }

    /// The graph; with `fused`, the early blocks' expansion and depthwise convolution are one layer (`ExpandDepthwise`,
    /// the same values without the wide map in memory), else two (the reference the fused graph is tested against).
    public static func build(_ w: WeightStore, fused: Bool) throws(EngineError) -> Graph {
        var g = Graph()
        let eps: Float = 1e-3
        try g.add("preprocess", Preprocess(mean: [127, 127, 127], scale: [1 / 128, 1 / 128, 1 / 128]), inputs: [Graph.inputName], isPublic: false)
        try g.conv("stem", w, weightKey: "_conv_stem.weight", bn: "_bn0", bnEps: eps, in: 3, out: 32, kernel: 3, stride: 2,
                   padding: .same, activation: .relu6)
        for (i, b) in blocks.enumerated() {
            let p = "_blocks.\(i)."
            let blockInput = g.lastName
            let mid = b.cin * b.e
            let expand = b.e == 1 ? nil : try Graph.convLayer(w, weightKey: p + "_expand_conv.weight", bn: p + "_bn0", bnEps: eps,
                                                              in: b.cin, out: mid, kernel: 1, activation: .relu6)
            let depthwise = try Graph.convLayer(w, weightKey: p + "_depthwise_conv.weight", bn: p + "_bn1", bnEps: eps, in: mid, out: mid,
                                                kernel: b.k, stride: b.s, padding: .same, groups: mid, activation: .relu6)
            // The blocks whose expansion reads at most 24 channels are fused: their wide maps are the biggest, and
            // making a band of one again in the backward pass costs 16–24 multiply-adds a value. The deeper blocks'
            // would cost 40–192, more than reading the map (720p zoom frame: the 112 → 672 blocks 50 ms slower fused).
            if let expand, fused && b.cin <= 24 {
                try g.add("blocks.\(i).depthwise", ExpandDepthwise(expand: expand, depthwise: depthwise), isPublic: false)
            } else {
                if let expand { try g.add("blocks.\(i).expand", expand, isPublic: false) }
                try g.add("blocks.\(i).depthwise", depthwise, isPublic: false)
            }
            let residual = b.s == 1 && b.cin == b.cout
            try g.conv(residual ? "blocks.\(i).project" : "blocks.\(i)", w, weightKey: p + "_project_conv.weight",
                       bn: p + "_bn2", bnEps: eps, in: mid, out: b.cout, kernel: 1, activation: .none, isPublic: !residual)
            if residual {
                try g.add("blocks.\(i)", Add(), inputs: ["blocks.\(i).project", blockInput])
            }
        }
        try g.conv("head", w, weightKey: "_conv_head.weight", bn: "_bn1", bnEps: eps, in: 320, out: 1280, kernel: 1, activation: .relu6)
        try g.add("pool", AvgPool2D.global, isPublic: false)
        try g.conv("fc", w, weightKey: "_fc.weight", biasKey: "_fc.bias", in: 1280, out: 1000, kernel: 1, activation: .none)
        return g
    }
}
