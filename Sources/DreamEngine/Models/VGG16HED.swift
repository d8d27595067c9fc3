/// The VGG16 convolutional trunk of the HED edge detector (fine-tuned from ImageNet VGG16).
/// Keras layer names; input BGR minus the Caffe ImageNet mean.
public enum VGG16HED {
    static let blocks: [[Int]] = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]

    public static let definition = ModelDefinition(
        name: "vgg16-hed",
        summary: "VGG16 trunk of the HED edge model (14.7M params): heavy; strong psychedelic textures, no objects",
        logits: nil,
        suggestedLayers: ["block3_conv3", "block4_conv3", "block5_conv3"],
        tileSize: 512,
        build: build)

    /// Weight names as stored: `blockN_convM.weight` (OIHW) and `.bias`.
    @Sendable static func build(_ w: WeightStore) throws(EngineError) -> Graph {
        var g = Graph()
        try g.add("preprocess", Preprocess(order: [2, 1, 0], mean: [104.00699, 116.66877, 122.67892], scale: [1, 1, 1]),
                  inputs: [Graph.inputName], isPublic: false)
        var cin = 3
        for (b, convs) in blocks.enumerated() {
            if b > 0 { try g.add("block\(b)_pool", MaxPool2D(kernel: 2, stride: 2, ceilMode: true)) }
            for (j, cout) in convs.enumerated() {
                let name = "block\(b + 1)_conv\(j + 1)"
                try g.conv(name, w, weightKey: name + ".weight", biasKey: name + ".bias", in: cin, out: cout, kernel: 3,
                           padding: .symmetric(1), activation: .relu)
                cin = cout
            }
        }
        return g
    }
}
