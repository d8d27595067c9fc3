/// The 1000 ImageNet-1k class names in index order (`Resources/imagenet-labels.txt`, one per line;
/// data from pytorch/hub, BSD-3-Clause), embedded in the binary at build time.
public enum ImageNetLabels {
    public static let names: [String] = String(decoding: PackageResources.imagenet_labels_txt, as: UTF8.self)
        .split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
}
