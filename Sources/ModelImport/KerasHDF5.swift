import Foundation
import CHDF5
import DreamEngine

/// Reads float32 datasets from an HDF5 file (Keras 3 `.weights.h5`) through libhdf5.
public final class HDF5File {
    private let id: hid_t
    public let path: String

    public init(_ url: URL) throws {
        path = url.path
        dv_h5_quiet()
        guard FileManager.default.isReadableFile(atPath: path) else { throw ImportError.unreadable(path, "no such file or not readable") }
        let f = H5Fopen(path, dv_h5f_acc_rdonly(), dv_h5p_default())
        guard f >= 0 else { dv_h5_clear_errors(); throw ImportError.invalidFile(path, "not an HDF5 file") }
        id = f
    }

    deinit { H5Fclose(id) }

    /// The dataset at `name` as float32 values with its shape.
    public func dataset(_ name: String) throws -> NamedArray {
        let d = H5Dopen2(id, name, dv_h5p_default())
        guard d >= 0 else { dv_h5_clear_errors(); throw ImportError.invalidFile(path, "dataset '\(name)' is missing") }
        defer { H5Dclose(d) }
        let space = H5Dget_space(d)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank >= 0 && rank <= 8 else { throw ImportError.invalidFile(path, "dataset '\(name)' has an invalid rank") }
        var dims = [hsize_t](repeating: 0, count: Swift.max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        let shape = dims.prefix(rank).map { Int($0) }
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        let status = values.withUnsafeMutableBytes { H5Dread(d, dv_h5t_native_float(), dv_h5s_all(), dv_h5s_all(), dv_h5p_default(), $0.baseAddress) }
        guard status >= 0 else { throw ImportError.invalidFile(path, "dataset '\(name)' could not be read as float32") }
        return NamedArray(shape: shape, values: values)
    }
}

/// Conversions from each model's source format to the safetensors layout its builder reads.
public enum WeightConversion {
    /// EfficientNet-Lite0: the legacy torch state dict, float tensors as they are.
    public static func efficientNetLite0(_ pth: URL) throws -> [String: NamedArray] {
        let arrays = try TorchCheckpoint.read(pth)
        guard arrays.count >= 200, arrays["_conv_stem.weight"] != nil else {
            throw ImportError.invalidFile(pth.path, "does not look like the EfficientNet-Lite0 state dict")
        }
        return arrays
    }

    /// VGG16 (HED): Keras kernels HWIO → OIHW, named `blockN_convM.weight/.bias`.
    public static func vgg16HED(_ h5: URL) throws -> [String: NamedArray] {
        let file = try HDF5File(h5)
        var out: [String: NamedArray] = [:]
        for (b, n) in [2, 2, 3, 3, 3].enumerated() {
            for j in 0..<n {
                let group = "block\(b + 1)/layers/conv2d\(j == 0 ? "" : "_\(j)")/vars/"
                let k = try file.dataset(group + "0"), bias = try file.dataset(group + "1")
                guard k.shape.count == 4, k.shape[0] == 3, k.shape[1] == 3 else {
                    throw ImportError.invalidFile(h5.path, "\(group)0 has shape \(k.shape), expected (3,3,Cin,Cout)")
                }
                let (kh, kw, ci, co) = (k.shape[0], k.shape[1], k.shape[2], k.shape[3])
                var w = [Float](repeating: 0, count: k.values.count)
                for y in 0..<kh { for x in 0..<kw { for i in 0..<ci { for o in 0..<co {
                    w[((o * ci + i) * kh + y) * kw + x] = k.values[((y * kw + x) * ci + i) * co + o]
                } } } }
                let name = "block\(b + 1)_conv\(j + 1)"
                out[name + ".weight"] = NamedArray(shape: [co, ci, kh, kw], values: w)
                out[name + ".bias"] = bias
            }
        }
        return out
    }
}
