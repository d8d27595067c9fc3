/// GoogLeNet / Inception v1 (the original DeepDream network) in torchvision's layout:
/// BasicConv2d = conv (no bias) + batch norm (eps 1e-3) + ReLU; max-pools in ceil mode;
/// the "5×5" branch uses a 3×3 kernel as torchvision's does. No package ships its weights:
/// users supply a torchvision state dict (`dreamvideo models import googlenet FILE`).
/// Input: torchvision's `transform_input` folded in, i.e. (RGB − 127.5) / 127.5.
public enum GoogLeNet {
    /// (name, in, 1×1, 3×3 reduce, 3×3, "5×5" reduce, "5×5", pool proj)
    static let inceptions: [(String, Int, Int, Int, Int, Int, Int, Int)] = [
        ("inception3a", 192, 64, 96, 128, 16, 32, 32),
        ("inception3b", 256, 128, 128, 192, 32, 96, 64),
        ("inception4a", 480, 192, 96, 208, 16, 48, 64),
        ("inception4b", 512, 160, 112, 224, 24, 64, 64),
        ("inception4c", 512, 128, 128, 256, 24, 64, 64),
        ("inception4d", 512, 112, 144, 288, 32, 64, 64),
        ("inception4e", 528, 256, 160, 320, 32, 128, 128),
        ("inception5a", 832, 256, 160, 320, 32, 128, 128),
        ("inception5b", 832, 384, 192, 384, 48, 128, 128),
    ]

    public static let definition = ModelDefinition(
        name: "googlenet",
        summary: "GoogLeNet / Inception v1, the original DeepDream network (weights supplied by you: torchvision state dict)",
        logits: "fc",
        suggestedLayers: ["inception3b", "inception4c", "inception4e"],
        tileSize: 512,
        build: build)

    static func basic(_ g: inout Graph, _ w: WeightStore, _ name: String, key: String, cin: Int, cout: Int, k: Int,
                      stride: Int = 1, pad: Int = 0, inputs: [String]? = nil, isPublic: Bool = false) throws(EngineError) -> String {
        try g.conv(name, w, weightKey: key + ".conv.weight", bn: key + ".bn", bnEps: 1e-3, in: cin, out: cout, kernel: k,
                   stride: stride, padding: .symmetric(pad), activation: .relu, inputs: inputs, isPublic: isPublic)
    }

    @Sendable static func build(_ w: WeightStore) throws(EngineError) -> Graph {
        var g = Graph()
        try g.add("preprocess", Preprocess(mean: [127.5, 127.5, 127.5], scale: [1 / 127.5, 1 / 127.5, 1 / 127.5]),
                  inputs: [Graph.inputName], isPublic: false)
        _ = try basic(&g, w, "conv1", key: "conv1", cin: 3, cout: 64, k: 7, stride: 2, pad: 3, isPublic: true)
        try g.add("maxpool1", MaxPool2D(kernel: 3, stride: 2, ceilMode: true))
        _ = try basic(&g, w, "conv2", key: "conv2", cin: 64, cout: 64, k: 1, isPublic: true)
        _ = try basic(&g, w, "conv3", key: "conv3", cin: 64, cout: 192, k: 3, pad: 1, isPublic: true)
        try g.add("maxpool2", MaxPool2D(kernel: 3, stride: 2, ceilMode: true))
        for (name, cin, c1, r3, c3, r5, c5, pp) in inceptions {
            if name == "inception4a" { try g.add("maxpool3", MaxPool2D(kernel: 3, stride: 2, ceilMode: true)) }
            if name == "inception5a" { try g.add("maxpool4", MaxPool2D(kernel: 2, stride: 2, ceilMode: true)) }
            let x = g.lastName
            let b1 = try basic(&g, w, name + ".branch1", key: name + ".branch1", cin: cin, cout: c1, k: 1, inputs: [x])
            _ = try basic(&g, w, name + ".branch2.0", key: name + ".branch2.0", cin: cin, cout: r3, k: 1, inputs: [x])
            let b2 = try basic(&g, w, name + ".branch2.1", key: name + ".branch2.1", cin: r3, cout: c3, k: 3, pad: 1)
            _ = try basic(&g, w, name + ".branch3.0", key: name + ".branch3.0", cin: cin, cout: r5, k: 1, inputs: [x])
            let b3 = try basic(&g, w, name + ".branch3.1", key: name + ".branch3.1", cin: r5, cout: c5, k: 3, pad: 1)
            try g.add(name + ".branch4.0", MaxPool2D(kernel: 3, stride: 1, padding: 1, ceilMode: true), inputs: [x], isPublic: false)
            let b4 = try basic(&g, w, name + ".branch4.1", key: name + ".branch4.1", cin: cin, cout: pp, k: 1)
            try g.add(name, Concat(), inputs: [b1, b2, b3, b4])
        }
        try g.add("avgpool", AvgPool2D.global, isPublic: false)
        try g.conv("fc", w, weightKey: "fc.weight", biasKey: "fc.bias", in: 1024, out: 1000, kernel: 1, activation: .none)
        return g
    }

    /// Every weight name and shape the builder reads (for synthetic-weight tests and import checks).
    public static func expectedWeights() -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        func basic(_ key: String, _ cin: Int, _ cout: Int, _ k: Int) {
            out[key + ".conv.weight"] = [cout, cin, k, k]
            for s in ["weight", "bias", "running_mean", "running_var"] { out[key + ".bn." + s] = [cout] }
        }
        basic("conv1", 3, 64, 7); basic("conv2", 64, 64, 1); basic("conv3", 64, 192, 3)
        for (name, cin, c1, r3, c3, r5, c5, pp) in inceptions {
            basic(name + ".branch1", cin, c1, 1)
            basic(name + ".branch2.0", cin, r3, 1); basic(name + ".branch2.1", r3, c3, 3)
            basic(name + ".branch3.0", cin, r5, 1); basic(name + ".branch3.1", r5, c5, 3)
            basic(name + ".branch4.1", cin, pp, 1)
        }
        out["fc.weight"] = [1000, 1024]; out["fc.bias"] = [1000]
        return out
    }
}
